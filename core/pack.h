/* Packfiles and their .idx (v1 and v2): lookup by id or prefix, and reading entries through delta chains. */
#ifndef UG_PACK_H
#define UG_PACK_H

#include "cache.h"
#include "oid.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * An open pack: the .idx and the .pack beside it, both mmap'ed and validated
 * at open. Immutable after ug_pack_open, so every function may be called from
 * many threads at once; the caller makes sure none is running at
 * ug_pack_free.
 */
typedef struct ug_pack ug_pack;

/* Delta chains longer than this are refused (git allows 4095), which also
 * ends REF_DELTA loops inside one pack. */
#define UG_PACK_MAX_CHAIN 10000

/* Open idx_path (".../pack-X.idx") and ".../pack-X.pack". UG_ENOTFOUND when
 * either file is missing, UG_ECORRUPT (naming the file) when malformed. */
int ug_pack_open(ug_pack **out, const char *idx_path, ug_hash_algo algo);
void ug_pack_free(ug_pack *pack);

/* The .pack path; borrowed for the pack's life. */
const char *ug_pack_path(const ug_pack *pack);
uint32_t ug_pack_count(const ug_pack *pack);

/* Offset of oid's entry, or UG_ENOTFOUND (without setting a message: a miss
 * in one pack is routine). */
int ug_pack_find(const ug_pack *pack, const ug_oid *oid, uint64_t *offset);
/* Merge the ids whose first len hex digits equal prefix's into found/count
 * (see ug_odb_backend.find_prefix), stopping at two distinct ones. */
void ug_pack_find_prefix(const ug_pack *pack, const ug_oid *prefix, size_t len, ug_oid *found,
			 int *count);

/*
 * What a pack reads from outside itself: REF_DELTA bases stored elsewhere
 * and the delta-base cache. Borrowed for the call; the resolver itself and
 * each member may be NULL (then such a base is missing, nothing is cached).
 */
typedef struct ug_pack_resolver {
	/*
	 * Read object oid from wherever it is stored: whole when data is not
	 * NULL (*data malloc'ed with *size+1 bytes, the last one NUL; the pack
	 * frees it), else only its type and size. UG_ENOTFOUND when it is
	 * nowhere. A base may be a delta in another pack read through this
	 * resolver again: read bounds that nesting (a loop ends in UG_ECORRUPT).
	 */
	int (*read)(void *ctx, const ug_oid *oid, ug_otype *type, unsigned char **data,
		    size_t *size);
	void *ctx;
	ug_cache *bases; /* the delta-base cache, keyed by pack and offset; may be shared */
	/* keep a base when it is made a second time (ug_cache_put_again), not
	 * the first: a chain read once then leaves no trace in a shared cache */
	bool bases_again;
} ug_pack_resolver;

/*
 * Read the entry at offset, resolving its delta chain: OFS_DELTA bases in
 * this pack, REF_DELTA bases in this pack first, else through res->read.
 * res->bases is used and filled. oid (may be NULL) only names the object in
 * messages. *data is malloc'ed with *size+1 bytes, the last one NUL; the
 * caller frees it.
 */
int ug_pack_read(ug_pack *pack, const ug_pack_resolver *res, uint64_t offset, const ug_oid *oid,
		 ug_otype *type, unsigned char **data, size_t *size);

/*
 * A stream over the entry at offset when it is stored whole (not a delta):
 * *out set, or NULL when it is a delta (read it whole then). The stream reads
 * the pack's mapping and gives back the pages it has passed, so memory stays
 * flat however big the entry. release(arg) is called when the stream is
 * freed (also when none is made): it keeps the pack mapped until then.
 */
typedef struct ug_zstream ug_zstream;
int ug_pack_stream(ug_pack *pack, uint64_t offset, const ug_oid *oid, ug_otype *type,
		   size_t *size, ug_zstream **out, void (*release)(void *arg), void *arg);

/* Type and size of the entry at offset, inflating at most a delta's first
 * bytes and walking the chain to the base for the type. */
int ug_pack_read_header(ug_pack *pack, const ug_pack_resolver *res, uint64_t offset,
			const ug_oid *oid, ug_otype *type, size_t *size);

#endif
