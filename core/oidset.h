/* A set of object ids: open addressing, linear probing, at most half full. */
#ifndef UG_OIDSET_H
#define UG_OIDSET_H

#include "oid.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * A set starts zeroed (ug_oidset s = { 0 }) and owns its memory:
 * ug_oidset_release frees it. Thread safety: none; a set belongs to one
 * thread at a time (lookups alone may share it).
 */
typedef struct {
	ug_oid *slots;
	bool *used;
	size_t cap, count; /* cap is 0 or a power of two; count ids are in */
} ug_oidset;

/* Free what the set holds and zero it (it may be used again); NULL is a no-op. */
void ug_oidset_release(ug_oidset *s);

/* Add oid: 1 if added, 0 if it was in already, UG_ENOMEM (the set unchanged). */
int ug_oidset_add(ug_oidset *s, const ug_oid *oid);

/* Whether oid is in the set. */
bool ug_oidset_contains(const ug_oidset *s, const ug_oid *oid);

#endif
