/* The types and sizes of objects asked lately, by id: a fixed table, thread-safe. */
#ifndef UG_HEADCACHE_H
#define UG_HEADCACHE_H

#include "odb.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * A listing asks for the size of every file it shows, and for a deltified
 * blob that means inflating the start of its delta; neighbour snapshots
 * share most of their files. Ids are content: what is kept stays true. The
 * table is direct-mapped (a newer id takes an older one's slot): as many
 * slots, a power of two, as fit in the bytes it is given (at least one),
 * taken on its first put.
 */
typedef struct ug_headcache ug_headcache;

int ug_headcache_new(ug_headcache **out, size_t bytes);
/* Fit the table in bytes from now on; what it kept is forgotten if its size changes. */
void ug_headcache_set_bytes(ug_headcache *c, size_t bytes);
void ug_headcache_free(ug_headcache *c);
bool ug_headcache_get(ug_headcache *c, const ug_oid *oid, ug_otype *type, size_t *size);
void ug_headcache_put(ug_headcache *c, const ug_oid *oid, ug_otype type, size_t size);

#endif
