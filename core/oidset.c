/* A set of object ids: open addressing, linear probing, at most half full. */
#include "oidset.h"

#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first capacity: a walk sees many ids, a small set costs little. */
#define FIRST_CAP 1024

static size_t slot_of(const ug_oid *oid, size_t cap)
{
	uint64_t h;

	/* Ids are hashes already; mix anyway so crafted prefixes spread. */
	memcpy(&h, oid->id, sizeof(h));
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

void ug_oidset_release(ug_oidset *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

static int grow(ug_oidset *s)
{
	ug_oidset n = { NULL, NULL, s->cap ? s->cap * 2 : FIRST_CAP, 0 };

	n.slots = malloc(n.cap * sizeof(*n.slots));
	n.used = calloc(n.cap, sizeof(*n.used));
	if (!n.slots || !n.used) {
		ug_oidset_release(&n);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->used[i])
			continue;
		for (j = slot_of(&s->slots[i], n.cap); n.used[j]; j = (j + 1) & (n.cap - 1))
			;
		n.slots[j] = s->slots[i];
		n.used[j] = true;
		n.count++;
	}
	ug_oidset_release(s);
	*s = n;
	return 0;
}

int ug_oidset_add(ug_oidset *s, const ug_oid *oid)
{
	size_t j;
	int err;

	if (2 * (s->count + 1) > s->cap && (err = grow(s)))
		return err;
	for (j = slot_of(oid, s->cap); s->used[j]; j = (j + 1) & (s->cap - 1))
		if (ug_oid_equal(&s->slots[j], oid))
			return 0;
	s->slots[j] = *oid;
	s->used[j] = true;
	s->count++;
	return 1;
}

bool ug_oidset_contains(const ug_oidset *s, const ug_oid *oid)
{
	if (!s->count)
		return false;
	for (size_t j = slot_of(oid, s->cap); s->used[j]; j = (j + 1) & (s->cap - 1))
		if (ug_oid_equal(&s->slots[j], oid))
			return true;
	return false;
}
