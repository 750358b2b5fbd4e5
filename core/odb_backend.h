/* Private to the object store: the built-in backends and what they borrow from the odb. */
#ifndef UG_ODB_BACKEND_H
#define UG_ODB_BACKEND_H

#include "cache.h"
#include "odb.h"

#include <sys/types.h>

/* Every .idx in objects_dir/pack, read-only. */
int ug_odb_pack_new(ug_odb_backend **out, const char *objects_dir, ug_hash_algo algo);
/* objects_dir/xx/yyyy..., zlib "TYPE SIZE\0CONTENT"; writable. */
int ug_odb_loose_new(ug_odb_backend **out, const char *objects_dir, ug_hash_algo algo);
/* objects_dir/<hex>, plain "TYPE\0CONTENT"; writable; SHA-1 of the file's bytes. */
int ug_odb_ugit_new(ug_odb_backend **out, const char *objects_dir);

/* This thread's batch (ug_odb_batch_begin): a descriptor of the objects
 * folder while a batch is open, -1 otherwise. The writable backends skip
 * their fsyncs meanwhile (ug_fileio_write_durable with sync false). */
void ug_odb_loose_batch(int fd);
int ug_odb_loose_batch_fd(void);

/* The odb's delta-base cache (borrowed for the odb's life), or NULL without an odb. */
ug_cache *ug_odb_bases(ug_odb *odb);

/* As ug_odb_read_nested(), for the type and size only. */
int ug_odb_read_header_nested(ug_odb *odb, const ug_oid *oid, ug_otype *type, size_t *size);

/* How deep this thread is in ug_odb_read_nested(): 0 outside. Messages get
 * their object names at depth 0 only, so a chain does not repeat them. */
int ug_odb_nesting(void);

/* Put "PREFIX: " (printf format) before the message of the last error on
 * this thread and return code, so a low-level message gets the object's name. */
int ug_odb_error_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Merge one candidate match into a find_prefix result (counting distinct ids). */
void ug_odb_prefix_merge(ug_oid *found, int *count, const ug_oid *candidate);

#endif
