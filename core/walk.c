/* History walks: the first-parent chain, and an incremental breadth-first walk over reachable commits. */
#include "walk.h"

#include "commit.h"
#include "error.h"
#include "log.h"
#include "repo.h"
#include "tag.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A set of ids: open addressing, linear probing, at most half full. */
typedef struct {
	ug_oid *slots;
	bool *used;
	size_t cap, count; /* cap is a power of two */
} oidset;

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

static void set_free(oidset *s)
{
	free(s->slots);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

static int set_grow(oidset *s)
{
	oidset n = { NULL, NULL, s->cap ? s->cap * 2 : 1024, 0 };

	n.slots = malloc(n.cap * sizeof(*n.slots));
	n.used = calloc(n.cap, sizeof(*n.used));
	if (!n.slots || !n.used) {
		set_free(&n);
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
	set_free(s);
	*s = n;
	return 0;
}

/* 1 if added, 0 if it was there, UG_ENOMEM. */
static int set_add(oidset *s, const ug_oid *oid)
{
	size_t j;
	int err;

	if (2 * (s->count + 1) > s->cap && (err = set_grow(s)))
		return err;
	for (j = slot_of(oid, s->cap); s->used[j]; j = (j + 1) & (s->cap - 1))
		if (ug_oid_equal(&s->slots[j], oid))
			return 0;
	s->slots[j] = *oid;
	s->used[j] = true;
	s->count++;
	return 1;
}

int ug_walk_first_parent(struct ug_repo *repo, const ug_oid *tip, ug_oid **chain, size_t *count)
{
	char hex[UG_OID_MAXHEX + 1];
	oidset seen = { 0 };
	ug_oid *list = NULL, cur = *tip;
	size_t n = 0, alloc = 0;
	int err;

	*chain = NULL;
	*count = 0;
	for (;;) {
		ug_commit *c;

		if ((err = set_add(&seen, &cur)) <= 0) {
			if (!err)
				err = ug_error(UG_ECORRUPT, "commit %s: the first-parent chain loops back to it",
					       ug_oid_tohex(hex, &cur, ug_repo_algo(repo)));
			break;
		}
		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			ug_oid *p = realloc(list, na * sizeof(*p));

			if (!p) {
				err = ug_error(UG_ENOMEM, "out of memory");
				break;
			}
			list = p;
			alloc = na;
		}
		list[n++] = cur;
		if ((err = ug_commit_lookup(&c, repo, &cur)))
			break;
		if (c->nparents == 0) {
			ug_commit_free(c);
			break;
		}
		cur = c->parents[0];
		ug_commit_free(c);
	}
	set_free(&seen);
	if (err) {
		free(list);
		return err;
	}
	*chain = list;
	*count = n;
	return 0;
}

struct ug_walk {
	struct ug_repo *repo;
	const ug_commitgraph *graph; /* parents without parsing, when set */
	oidset seen;    /* every id ever queued */
	ug_oid *queue;  /* a ring: tips go in at the front, parents at the back */
	size_t head, len, cap;
};

int ug_walk_new(ug_walk **out, struct ug_repo *repo)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return ug_error(UG_ENOMEM, "out of memory");
	(*out)->repo = repo;
	return 0;
}

void ug_walk_free(ug_walk *w)
{
	if (!w)
		return;
	set_free(&w->seen);
	free(w->queue);
	free(w);
}

static int queue_grow(ug_walk *w)
{
	size_t nc = w->cap ? w->cap * 2 : 256;
	ug_oid *q = malloc(nc * sizeof(*q));

	if (!q)
		return ug_error(UG_ENOMEM, "out of memory");
	for (size_t i = 0; i < w->len; i++)
		q[i] = w->queue[(w->head + i) % w->cap];
	free(w->queue);
	w->queue = q;
	w->cap = nc;
	w->head = 0;
	return 0;
}

static int enqueue(ug_walk *w, const ug_oid *oid, bool front)
{
	int err;

	if ((err = set_add(&w->seen, oid)) <= 0)
		return err; /* 0: seen already */
	if (w->len == w->cap && (err = queue_grow(w)))
		return err;
	if (front) {
		w->head = (w->head + w->cap - 1) % w->cap;
		w->queue[w->head] = *oid;
	} else {
		w->queue[(w->head + w->len) % w->cap] = *oid;
	}
	w->len++;
	return 0;
}

int ug_walk_push(ug_walk *w, const ug_oid *oid)
{
	ug_otype type;
	ug_oid peeled;
	int err = ug_tag_peel(w->repo, oid, &peeled, &type);

	if (err == UG_ENOMEM)
		return err;
	if (err) {
		char hex[UG_OID_MAXHEX + 1];

		ug_log(UG_LOG_WARNING, "walk: skipping tip %s: %s",
		       ug_oid_tohex(hex, oid, ug_repo_algo(w->repo)), ug_error_last());
		return 0;
	}
	if (type != UG_OBJ_COMMIT)
		return 0;
	return enqueue(w, &peeled, true);
}

void ug_walk_use_graph(ug_walk *w, const ug_commitgraph *graph)
{
	w->graph = graph;
}

/* Queue the parents the commit-graph knows; UG_ENOTFOUND if it does not know cur. */
static int graph_parents(ug_walk *w, const ug_oid *cur)
{
	ug_graph_commit gc;
	ug_oid *parents;
	size_t n;
	int err = w->graph ? ug_commitgraph_lookup(w->graph, cur, &gc) : UG_ENOTFOUND;

	if (!err)
		err = ug_commitgraph_parents(w->graph, gc.pos, &parents, &n);
	if (err)
		return err == UG_ENOMEM ? err : UG_ENOTFOUND;
	for (size_t i = 0; i < n && !err; i++)
		err = enqueue(w, &parents[i], false);
	free(parents);
	return err;
}

int ug_walk_next(ug_walk *w, ug_oid *out)
{
	while (w->len > 0) {
		ug_oid cur = w->queue[w->head];
		ug_commit *c;
		int err;

		w->head = (w->head + 1) % w->cap;
		w->len--;
		err = graph_parents(w, &cur);
		if (err != UG_ENOTFOUND) {
			if (!err)
				*out = cur;
			return err;
		}
		err = ug_commit_lookup(&c, w->repo, &cur);
		if (err == UG_ENOMEM)
			return err;
		if (err) {
			char hex[UG_OID_MAXHEX + 1];

			ug_log(UG_LOG_WARNING, "walk: skipping commit %s: %s",
			       ug_oid_tohex(hex, &cur, ug_repo_algo(w->repo)), ug_error_last());
			continue;
		}
		for (size_t i = 0; i < c->nparents && !err; i++)
			err = enqueue(w, &c->parents[i], false);
		ug_commit_free(c);
		if (err)
			return err;
		*out = cur;
		return 0;
	}
	return ug_error(UG_ENOTFOUND, "walk: no more commits");
}
