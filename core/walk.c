/* History walks: the first-parent chain, and an incremental breadth-first walk over reachable commits. */
#include "walk.h"

#include "array.h"
#include "commit.h"
#include "error.h"
#include "log.h"
#include "oidset.h"
#include "repo.h"
#include "tag.h"

#include <stdbool.h>
#include <stdlib.h>

int ug_walk_first_parent_each(struct ug_repo *repo, const ug_oid *tip, ug_walk_visit visit, void *arg)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_oidset seen = { 0 };
	ug_oid cur = *tip;
	bool more = true;
	int err = 0;

	while (!err && more) {
		ug_commit *c;
		int added = ug_oidset_add(&seen, &cur);

		if (added <= 0) {
			err = added ? added
				    : ug_error(UG_ECORRUPT, "commit %s: the first-parent chain loops back to it",
					       ug_oid_tohex(hex, &cur, ug_repo_algo(repo)));
			break;
		}
		if ((err = ug_commit_lookup(&c, repo, &cur)))
			break;
		err = visit(arg, c);
		more = c->nparents > 0;
		if (more)
			cur = c->parents[0];
		ug_commit_free(c);
	}
	ug_oidset_release(&seen);
	return err;
}

struct chain {
	ug_oid *list;
	size_t n, alloc;
};

static int add_to_chain(void *arg, const ug_commit *c)
{
	struct chain *ch = arg;
	ug_oid *p = ug_array_grow(ch->list, &ch->alloc, ch->n + 1, sizeof(*p), 64);

	if (!p)
		return ug_error(UG_ENOMEM, "out of memory");
	ch->list = p;
	ch->list[ch->n++] = c->oid;
	return 0;
}

int ug_walk_first_parent(struct ug_repo *repo, const ug_oid *tip, ug_oid **chain, size_t *count)
{
	struct chain ch = { 0 };
	int err = ug_walk_first_parent_each(repo, tip, add_to_chain, &ch);

	if (err) {
		free(ch.list);
		ch.list = NULL;
		ch.n = 0;
	}
	*chain = ch.list;
	*count = ch.n;
	return err;
}

struct ug_walk {
	struct ug_repo *repo;
	const ug_commitgraph *graph; /* parents without parsing, when set */
	ug_oidset seen;    /* every id ever queued */
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
	ug_oidset_release(&w->seen);
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

	if ((err = ug_oidset_add(&w->seen, oid)) <= 0)
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
