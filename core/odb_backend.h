/* Private to the object store: the built-in backends and what they borrow from the odb. */
#ifndef UG_ODB_BACKEND_H
#define UG_ODB_BACKEND_H

#include "cache.h"
#include "odb.h"
#include "pack.h"

#include <sys/types.h>

/* Every .idx in objects_dir/pack, read-only. res (copied; what it points to
 * outlives the backend) gives the packs their REF_DELTA bases stored
 * elsewhere and the delta-base cache. */
int ug_odb_pack_new(ug_odb_backend **out, const char *objects_dir, ug_hash_algo algo,
		    const ug_pack_resolver *res);
/* objects_dir/xx/yyyy..., zlib "TYPE SIZE\0CONTENT"; writable. */
int ug_odb_loose_new(ug_odb_backend **out, const char *objects_dir, ug_hash_algo algo);
/* objects_dir/<hex>, plain "TYPE\0CONTENT"; writable; SHA-1 of the file's bytes. */
int ug_odb_ugit_new(ug_odb_backend **out, const char *objects_dir);

/* This thread's batch (ug_odb_batch_begin): a descriptor of the objects
 * folder while a batch is open, -1 otherwise. The writable backends skip
 * their fsyncs meanwhile (ug_fileio_write_durable with sync false). */
void ug_odb_loose_batch(int fd);
/* Start (true) or end a burst of abbreviated-id lookups on this thread: see
 * ug_odb_prefix_burst. Either way, what an earlier burst kept is freed. */
void ug_odb_loose_burst(bool on);
int ug_odb_loose_batch_fd(void);
/* This thread's delta-base cache for pack reads during ug_odb_read_scan
 * (NULL again after it): it stands in for the resolver's. */
void ug_odb_pack_scan(ug_cache *bases);

#endif
