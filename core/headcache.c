/* The types and sizes of objects asked lately: a direct-mapped table under one lock. */
#include "headcache.h"

#include "error.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct head {
	ug_oid oid;
	size_t size;
	ug_otype type; /* UG_OBJ_NONE (0): an empty slot */
};

struct ug_headcache {
	pthread_mutex_t lock;
	struct head *slots; /* NULL until the first put */
	size_t mask;
};

/* The mask of the most slots, a power of two, that fit in bytes (at least one). */
static size_t mask_for(size_t bytes)
{
	size_t n = 1;

	while (n <= bytes / sizeof(struct head) / 2)
		n *= 2;
	return n - 1;
}

int ug_headcache_new(ug_headcache **out, size_t bytes)
{
	ug_headcache *c = calloc(1, sizeof(*c));

	if (!c)
		return ug_error(UG_ENOMEM, "cannot allocate a table of object sizes");
	c->mask = mask_for(bytes);
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void ug_headcache_set_bytes(ug_headcache *c, size_t bytes)
{
	size_t mask = mask_for(bytes);

	pthread_mutex_lock(&c->lock);
	if (mask != c->mask) {
		free(c->slots); /* taken again at the next put */
		c->slots = NULL;
		c->mask = mask;
	}
	pthread_mutex_unlock(&c->lock);
}

void ug_headcache_free(ug_headcache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c);
}

/* Ids are uniform: their first bytes pick the slot. */
static size_t slot_of(const ug_headcache *c, const ug_oid *oid)
{
	uint64_t h;

	memcpy(&h, oid->id, sizeof(h));
	return (size_t)h & c->mask;
}

bool ug_headcache_get(ug_headcache *c, const ug_oid *oid, ug_otype *type, size_t *size)
{
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	if (c->slots) {
		const struct head *h = &c->slots[slot_of(c, oid)];

		hit = h->type != UG_OBJ_NONE && ug_oid_equal(&h->oid, oid);
		if (hit) {
			*type = h->type;
			*size = h->size;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void ug_headcache_put(ug_headcache *c, const ug_oid *oid, ug_otype type, size_t size)
{
	pthread_mutex_lock(&c->lock);
	if (!c->slots)
		c->slots = calloc(c->mask + 1, sizeof(*c->slots)); /* may fail: then nothing is kept */
	if (c->slots)
		c->slots[slot_of(c, oid)] = (struct head){ *oid, size, type };
	pthread_mutex_unlock(&c->lock);
}
