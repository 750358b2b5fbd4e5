/* Parsed trees shared between FUSE threads, least recently used first out, within a byte budget. */
#include "fs_internal.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

struct tentry {
	ug_oid oid;
	ug_tree *tree;
	size_t bytes;
	int refs;
	struct tentry *prev, *next; /* LRU list, most recent first */
	struct tentry *hnext;
};

struct treecache {
	pthread_mutex_t lock;
	struct tentry **table;
	size_t buckets, count, bytes, limit;
	struct tentry *head, *tail;
};

#define BUCKETS 4096

int treecache_new(struct treecache **out, size_t limit)
{
	struct treecache *tc = calloc(1, sizeof(*tc));

	if (!tc || !(tc->table = calloc(BUCKETS, sizeof(*tc->table)))) {
		free(tc);
		return UG_ENOMEM;
	}
	pthread_mutex_init(&tc->lock, NULL);
	tc->buckets = BUCKETS;
	tc->limit = limit;
	*out = tc;
	return 0;
}

void treecache_free(struct treecache *tc)
{
	if (!tc)
		return;
	for (struct tentry *e = tc->head, *next; e; e = next) {
		next = e->next;
		ug_tree_free(e->tree);
		free(e);
	}
	pthread_mutex_destroy(&tc->lock);
	free(tc->table);
	free(tc);
}

static size_t slot(const struct treecache *tc, const ug_oid *oid)
{
	uint64_t h;

	memcpy(&h, oid->id, sizeof(h));
	return h & (tc->buckets - 1);
}

static struct tentry *find(struct treecache *tc, const ug_oid *oid)
{
	for (struct tentry *e = tc->table[slot(tc, oid)]; e; e = e->hnext)
		if (ug_oid_equal(&e->oid, oid))
			return e;
	return NULL;
}

static void lru_unlink(struct treecache *tc, struct tentry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		tc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		tc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_front(struct treecache *tc, struct tentry *e)
{
	e->next = tc->head;
	e->prev = NULL;
	if (tc->head)
		tc->head->prev = e;
	tc->head = e;
	if (!tc->tail)
		tc->tail = e;
}

static void drop(struct treecache *tc, struct tentry *e)
{
	struct tentry **p = &tc->table[slot(tc, &e->oid)];

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	lru_unlink(tc, e);
	tc->count--;
	tc->bytes -= e->bytes;
	ug_tree_free(e->tree);
	free(e);
}

/* Evict unused entries from the cold end until within the budget. */
static void trim(struct treecache *tc)
{
	struct tentry *e = tc->tail;

	while (e && tc->bytes > tc->limit) {
		struct tentry *prev = e->prev;

		if (e->refs == 0)
			drop(tc, e);
		e = prev;
	}
}

static size_t tree_bytes(const ug_tree *t)
{
	size_t names = 0;

	for (size_t i = 0; i < t->count; i++)
		names += t->entries[i].namelen + 1;
	return sizeof(*t) + t->count * (sizeof(ug_tree_entry) + sizeof(uint32_t)) + names + 64;
}

const ug_tree *treecache_peek(struct fs *fs, const ug_oid *oid)
{
	struct treecache *tc = fs->trees;
	struct tentry *e;

	pthread_mutex_lock(&tc->lock);
	e = find(tc, oid);
	if (e) {
		e->refs++;
		lru_unlink(tc, e);
		lru_front(tc, e);
	}
	pthread_mutex_unlock(&tc->lock);
	return e ? e->tree : NULL;
}

int treecache_get(struct fs *fs, const ug_oid *oid, const ug_tree **out)
{
	struct treecache *tc = fs->trees;
	struct tentry *e, *e2;
	ug_tree *tree;
	int err;

	if ((*out = treecache_peek(fs, oid)))
		return 0;

	/* Parse without the lock: other threads keep going meanwhile. */
	err = ug_tree_lookup(&tree, fs->repo, oid);
	if (err)
		return err;
	e = calloc(1, sizeof(*e));
	if (!e) {
		ug_tree_free(tree);
		return UG_ENOMEM;
	}
	e->oid = *oid;
	e->tree = tree;
	e->bytes = tree_bytes(tree);
	e->refs = 1;

	pthread_mutex_lock(&tc->lock);
	e2 = find(tc, oid);
	if (e2) { /* another thread parsed it first */
		e2->refs++;
		*out = e2->tree;
		pthread_mutex_unlock(&tc->lock);
		ug_tree_free(tree);
		free(e);
		return 0;
	}
	e->hnext = tc->table[slot(tc, oid)];
	tc->table[slot(tc, oid)] = e;
	lru_front(tc, e);
	tc->count++;
	tc->bytes += e->bytes;
	trim(tc);
	*out = tree;
	pthread_mutex_unlock(&tc->lock);
	return 0;
}

void treecache_put(struct fs *fs, const ug_tree *tree)
{
	struct treecache *tc = fs->trees;
	struct tentry *e;

	if (!tree)
		return;
	pthread_mutex_lock(&tc->lock);
	e = find(tc, &tree->oid);
	if (e && e->tree == tree) {
		e->refs--;
		trim(tc);
	}
	pthread_mutex_unlock(&tc->lock);
}
