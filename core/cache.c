/* Reference-counted objects, and the LRU cache (hash table plus list, one mutex) that shares them. */
#include "cache.h"

#include "error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct object {
	ug_object pub; /* first: a ug_object * is a struct object * */
	atomic_size_t refs;
	unsigned char *buf;
};

ug_object *ug_object_new(const ug_oid *oid, ug_otype type, unsigned char *data, size_t size)
{
	struct object *o = malloc(sizeof(*o));

	if (!o) {
		free(data);
		return NULL;
	}
	memset(&o->pub, 0, sizeof(o->pub));
	if (oid)
		o->pub.oid = *oid;
	o->pub.type = type;
	o->pub.size = size;
	o->pub.data = data;
	o->buf = data;
	atomic_init(&o->refs, 1);
	return &o->pub;
}

void ug_object_free(ug_object *obj)
{
	struct object *o = (struct object *)obj;

	if (!o)
		return;
	if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
		free(o->buf);
		free(o);
	}
}

ug_object *ug_object_dup(ug_object *obj)
{
	struct object *o = (struct object *)obj;

	if (o)
		atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return obj;
}

unsigned char *ug_object_take_data(ug_object *obj)
{
	struct object *o = (struct object *)obj;
	unsigned char *data;

	/* Sole owner: nobody else can take a reference any more, so steal the buffer. */
	if (atomic_load_explicit(&o->refs, memory_order_acquire) == 1) {
		data = o->buf;
		free(o);
		return data;
	}
	data = malloc(obj->size + 1);
	if (data) {
		memcpy(data, obj->data, obj->size);
		data[obj->size] = '\0';
	} else {
		ug_error(UG_ENOMEM, "cannot allocate %zu bytes for an object", obj->size + 1);
	}
	ug_object_free(obj);
	return data;
}

/* What an entry costs besides its data: node, object, malloc slack. */
#define ENTRY_OVERHEAD (sizeof(struct node) + sizeof(struct object) + 32)

struct node {
	ug_oid key;
	ug_object *obj;
	size_t charge;
	struct node *hnext;      /* hash chain */
	struct node *prev, *next; /* LRU list, most recent after the sentinel */
};

struct ug_cache {
	pthread_mutex_t lock;
	struct node **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, bytes, limit, max_entry;
	uint64_t hits, misses;
	struct node lru; /* sentinel */
	uint64_t *ghosts; /* fingerprints of keys offered once (ug_cache_put_again), or NULL */
	size_t nghosts;   /* a power of two */
};

/* Ghost slots: one per KiB of the limit, within these bounds. */
#define GHOSTS_MIN 256
#define GHOSTS_MAX 16384

static size_t hash_key(const ug_oid *key)
{
	uint64_t a, b;

	/* Ids are uniform already; other keys put their fields in the first 16 bytes. */
	memcpy(&a, key->id, 8);
	memcpy(&b, key->id + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ull;
	a ^= a >> 29;
	a *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(a ^ (a >> 32));
}

int ug_cache_new(ug_cache **out, size_t limit, size_t max_entry)
{
	ug_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return ug_error(UG_ENOMEM, "cannot allocate a cache");
	c->nbuckets = 1024;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets || pthread_mutex_init(&c->lock, NULL)) {
		free(c->buckets);
		free(c);
		return ug_error(UG_ENOMEM, "cannot allocate a cache");
	}
	c->limit = limit;
	c->max_entry = max_entry;
	c->lru.prev = c->lru.next = &c->lru;
	*out = c;
	return 0;
}

static void unlink_node(ug_cache *c, struct node *n)
{
	struct node **pp = &c->buckets[hash_key(&n->key) & (c->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	c->count--;
	c->bytes -= n->charge;
}

/* Evict from the cold end until the cache fits; returns the evicted nodes
 * chained through hnext, to be freed after the lock is dropped. */
static struct node *evict(ug_cache *c)
{
	struct node *gone = NULL;

	while (c->bytes > c->limit && c->lru.prev != &c->lru) {
		struct node *n = c->lru.prev;

		unlink_node(c, n);
		n->hnext = gone;
		gone = n;
	}
	return gone;
}

static void free_nodes(struct node *n)
{
	while (n) {
		struct node *next = n->hnext;

		ug_object_free(n->obj);
		free(n);
		n = next;
	}
}

void ug_cache_free(ug_cache *c)
{
	if (!c)
		return;
	c->limit = 0;
	free_nodes(evict(c));
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c->ghosts);
	free(c);
}

void ug_cache_set_limit(ug_cache *c, size_t limit, size_t max_entry)
{
	struct node *gone;

	pthread_mutex_lock(&c->lock);
	c->limit = limit;
	c->max_entry = max_entry;
	gone = evict(c);
	pthread_mutex_unlock(&c->lock);
	free_nodes(gone);
}

static struct node *find(ug_cache *c, const ug_oid *key)
{
	struct node *n = c->buckets[hash_key(key) & (c->nbuckets - 1)];

	while (n && memcmp(n->key.id, key->id, sizeof(key->id)))
		n = n->hnext;
	return n;
}

static void to_front(ug_cache *c, struct node *n)
{
	n->prev = &c->lru;
	n->next = c->lru.next;
	c->lru.next->prev = n;
	c->lru.next = n;
}

ug_object *ug_cache_get(ug_cache *c, const ug_oid *key)
{
	ug_object *obj = NULL;
	struct node *n;

	pthread_mutex_lock(&c->lock);
	n = find(c, key);
	if (n) {
		n->prev->next = n->next;
		n->next->prev = n->prev;
		to_front(c, n);
		obj = ug_object_dup(n->obj);
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return obj;
}

ug_object *ug_cache_peek(ug_cache *c, const ug_oid *key)
{
	ug_object *obj = NULL;
	struct node *n;

	pthread_mutex_lock(&c->lock);
	n = find(c, key);
	if (n)
		obj = ug_object_dup(n->obj);
	pthread_mutex_unlock(&c->lock);
	return obj;
}

/* Double the table when chains grow; failure just keeps the longer chains. */
static void grow(ug_cache *c)
{
	size_t nb = c->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct node *n = c->buckets[i];

		while (n) {
			struct node *next = n->hnext;
			size_t h = hash_key(&n->key) & (nb - 1);

			n->hnext = b[h];
			b[h] = n;
			n = next;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

void ug_cache_put(ug_cache *c, const ug_oid *key, ug_object *obj)
{
	size_t charge = obj->size + ENTRY_OVERHEAD;
	struct node *n, *gone;
	size_t h;

	if (obj->size > c->max_entry || charge > c->limit)
		return;
	n = malloc(sizeof(*n));
	if (!n)
		return; /* a cache may always decline */
	n->key = *key;
	n->obj = ug_object_dup(obj);
	n->charge = charge;
	pthread_mutex_lock(&c->lock);
	if (charge > c->limit || obj->size > c->max_entry || find(c, key)) {
		pthread_mutex_unlock(&c->lock);
		n->hnext = NULL;
		free_nodes(n);
		return;
	}
	if (c->count >= c->nbuckets)
		grow(c);
	h = hash_key(key) & (c->nbuckets - 1);
	n->hnext = c->buckets[h];
	c->buckets[h] = n;
	to_front(c, n);
	c->count++;
	c->bytes += charge;
	gone = evict(c);
	pthread_mutex_unlock(&c->lock);
	free_nodes(gone);
}

/* Was key offered before (and remembered)? Else remember it now. Locked. */
static bool offered_before(ug_cache *c, const ug_oid *key)
{
	uint64_t h = hash_key(key), fp = h | 1; /* 0 marks an empty slot */
	uint64_t *g;

	if (!c->ghosts) {
		size_t n = GHOSTS_MIN;

		while (n < GHOSTS_MAX && n < c->limit / 1024)
			n *= 2;
		if (!(c->ghosts = calloc(n, sizeof(*c->ghosts))))
			return true; /* no table: keep as ug_cache_put would */
		c->nghosts = n;
	}
	g = &c->ghosts[h & (c->nghosts - 1)];
	if (*g == fp)
		return true;
	*g = fp;
	return false;
}

void ug_cache_put_again(ug_cache *c, const ug_oid *key, ug_object *obj)
{
	bool again;

	pthread_mutex_lock(&c->lock);
	again = offered_before(c, key);
	pthread_mutex_unlock(&c->lock);
	if (again)
		ug_cache_put(c, key, obj);
}

void ug_cache_get_stats(ug_cache *c, ug_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	out->bytes = c->bytes;
	out->limit = c->limit;
	out->count = c->count;
	out->hits = c->hits;
	out->misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}
