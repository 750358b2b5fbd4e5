/* Reference-counted objects and a thread-safe, memory-capped LRU cache of them. */
#ifndef UG_CACHE_H
#define UG_CACHE_H

#include "odb.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A new object holding data (malloc'ed, size+1 bytes, data[size] == 0); the
 * object owns data from now on, and on failure data is freed. oid may be NULL
 * (all zero). One reference, dropped with ug_object_free(). NULL on ENOMEM.
 */
ug_object *ug_object_new(const ug_oid *oid, ug_otype type, unsigned char *data, size_t size);

/*
 * Drop the caller's reference and return the data as a malloc'ed buffer the
 * caller owns: the object's own buffer when this was the last reference, a
 * copy otherwise. NULL (reference still dropped) on ENOMEM.
 */
unsigned char *ug_object_take_data(ug_object *obj);

/*
 * A least-recently-used cache of objects under a byte limit. Keys are
 * UG_OID_MAXRAW bytes: an object id, or any other fixed-size key built the
 * same way (the delta-base cache keys by pack and offset). Every function is
 * thread-safe.
 */
typedef struct ug_cache ug_cache;

/* max_entry: objects larger than this are never kept. */
int ug_cache_new(ug_cache **out, size_t limit, size_t max_entry);
void ug_cache_free(ug_cache *cache);
/* Change the limits, evicting at once what no longer fits. */
void ug_cache_set_limit(ug_cache *cache, size_t limit, size_t max_entry);

/* A new reference to the object under key (ug_object_free), or NULL. */
ug_object *ug_cache_get(ug_cache *cache, const ug_oid *key);
/* As ug_cache_get, but neither counted in the statistics nor made recent:
 * for existence and header checks. */
ug_object *ug_cache_peek(ug_cache *cache, const ug_oid *key);
/* Keep obj under key if it fits (the cache takes its own reference; the
 * caller keeps its one). A key already present keeps its object. */
void ug_cache_put(ug_cache *cache, const ug_oid *key, ug_object *obj);
/*
 * As ug_cache_put, but obj is kept only when key was offered before and is
 * still among the recent first offers (a small table, one per cache): what
 * is made once and never again (a scan of many blobs, the deltas of a chain
 * read once) then neither evicts what is reused nor fills memory, whose
 * first touch costs a page fault, and a second offer still keeps it.
 */
void ug_cache_put_again(ug_cache *cache, const ug_oid *key, ug_object *obj);

typedef struct {
	size_t bytes, limit, count;
	uint64_t hits, misses;
} ug_cache_stats;
void ug_cache_get_stats(ug_cache *cache, ug_cache_stats *out);

#endif
