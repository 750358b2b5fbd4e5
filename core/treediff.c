/* Tree diffs: two trees walked side by side with an explicit stack, only into subtrees both have with other ids. */
#include "treediff.h"

#include "array.h"
#include "error.h"
#include "log.h"
#include "repo.h"
#include "tree.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static atomic_size_t budget = UG_TREEDIFF_BUDGET;

void ug_treediff_set_budget(size_t entries)
{
	atomic_store(&budget, entries);
}

/* A pair of subtrees still to compare. */
typedef struct {
	char *prefix; /* "" or "a/b/", owned */
	size_t depth;
	ug_oid old_oid, new_oid;
	bool has_old, has_new;
} job;

typedef struct {
	ug_treediff *diff;
	size_t alloc;
	job *jobs;
	size_t njobs, ajobs;
	ug_hash_algo algo;
	bool listing;          /* one root is absent: list every file of the other */
	size_t visited, budget; /* entries compared so far, and how many may be */
} walker;

void ug_treediff_free(ug_treediff *diff)
{
	if (!diff)
		return;
	for (size_t i = 0; i < diff->count; i++)
		free((char *)diff->deltas[i].path);
	free(diff->deltas);
	free(diff);
}

static char *join(const char *prefix, const char *name, size_t namelen, bool slash)
{
	size_t pl = strlen(prefix);
	char *p = malloc(pl + namelen + 2);

	if (!p)
		return NULL;
	memcpy(p, prefix, pl);
	memcpy(p + pl, name, namelen);
	if (slash)
		p[pl + namelen++] = '/';
	p[pl + namelen] = '\0';
	return p;
}

static int emit(walker *w, const char *prefix, const ug_tree_entry *o, const ug_tree_entry *n)
{
	const ug_tree_entry *e = o ? o : n;
	ug_delta *d = ug_array_grow(w->diff->deltas, &w->alloc, w->diff->count + 1, sizeof(*d), 32);

	if (!d)
		return ug_error(UG_ENOMEM, "out of memory");
	w->diff->deltas = d;
	d = &w->diff->deltas[w->diff->count];
	memset(d, 0, sizeof(*d));
	d->path = join(prefix, e->name, e->namelen, false);
	if (!d->path)
		return ug_error(UG_ENOMEM, "out of memory");
	if (o) {
		d->old_mode = o->mode;
		d->old_oid = o->oid;
	}
	if (n) {
		d->new_mode = n->mode;
		d->new_oid = n->oid;
	}
	if (!o)
		d->status = UG_DELTA_ADDED;
	else if (!n)
		d->status = UG_DELTA_DELETED;
	else if ((o->mode & 0170000) == (n->mode & 0170000))
		d->status = UG_DELTA_MODIFIED;
	else
		d->status = UG_DELTA_TYPECHANGE;
	w->diff->count++;
	return 0;
}

static int push(walker *w, const job *parent, const char *name, size_t namelen,
		const ug_oid *old_oid, const ug_oid *new_oid)
{
	char hex[UG_OID_MAXHEX + 1];
	job *j;

	if (parent->depth + 1 > UG_TREEDIFF_MAX_DEPTH)
		return ug_error(UG_ECORRUPT, "tree %s: folders nested over %d deep",
				ug_oid_tohex(hex, old_oid ? old_oid : new_oid, w->algo),
				UG_TREEDIFF_MAX_DEPTH);
	if (!(j = ug_array_grow(w->jobs, &w->ajobs, w->njobs + 1, sizeof(*j), 16)))
		return ug_error(UG_ENOMEM, "out of memory");
	w->jobs = j;
	j = &w->jobs[w->njobs];
	memset(j, 0, sizeof(*j));
	j->prefix = join(parent->prefix, name, namelen, true);
	if (!j->prefix)
		return ug_error(UG_ENOMEM, "out of memory");
	j->depth = parent->depth + 1;
	if (old_oid) {
		j->old_oid = *old_oid;
		j->has_old = true;
	}
	if (new_oid) {
		j->new_oid = *new_oid;
		j->has_new = true;
	}
	w->njobs++;
	return 0;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const ug_tree_entry *a = *(const ug_tree_entry *const *)pa;
	const ug_tree_entry *b = *(const ug_tree_entry *const *)pb;
	int c = memcmp(a->name, b->name, a->namelen < b->namelen ? a->namelen : b->namelen);

	if (c)
		return c;
	return a->namelen < b->namelen ? -1 : a->namelen > b->namelen;
}

/* The entries of tree by name (bytewise), whatever order they were stored in. */
static int sorted_entries(const ug_tree *tree, const ug_tree_entry ***out)
{
	size_t n = tree ? tree->count : 0;

	*out = malloc((n ? n : 1) * sizeof(**out));
	if (!*out)
		return ug_error(UG_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		(*out)[i] = &tree->entries[i];
	qsort(*out, n, sizeof(**out), cmp_entry);
	return 0;
}

static bool is_tree(const ug_tree_entry *e)
{
	return e->mode == UG_MODE_TREE;
}

/* An entry only one side has: a file is one delta; a folder is one delta
 * too (not read: what it holds is data-controlled, a few trees can name
 * millions of paths), unless this diff lists every file of one tree. */
static int one_side(walker *w, const job *j, const ug_tree_entry *o, const ug_tree_entry *n)
{
	const ug_tree_entry *e = o ? o : n;

	if (!is_tree(e) || !w->listing)
		return emit(w, j->prefix, o, n);
	return push(w, j, e->name, e->namelen, o ? &o->oid : NULL, n ? &n->oid : NULL);
}

/* Logged here, once per diff: the caller only sees a failure, and this is
 * what a hostile tree looks like from outside. */
static int over_budget(walker *w)
{
	ug_error(UG_ENOMEM, "tree diff over its budget of %zu entries (%zu changes so far): "
		 "one subtree named many times over?", w->budget, w->diff->count);
	ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	return UG_ENOMEM;
}

/* Compare the two trees of j: emit the changed files, push the changed subtrees. */
static int step(walker *w, ug_repo *repo, const job *j)
{
	ug_tree *ot = NULL, *nt = NULL;
	const ug_tree_entry **ov = NULL, **nv = NULL;
	size_t oi = 0, ni = 0, on, nn;
	int err;

	if ((j->has_old && (err = ug_tree_lookup(&ot, repo, &j->old_oid))) ||
	    (j->has_new && (err = ug_tree_lookup(&nt, repo, &j->new_oid))) ||
	    (err = sorted_entries(ot, &ov)) || (err = sorted_entries(nt, &nv)))
		goto out;
	on = ot ? ot->count : 0;
	nn = nt ? nt->count : 0;
	while (!err && (oi < on || ni < nn)) {
		const ug_tree_entry *o = oi < on ? ov[oi] : NULL, *n = ni < nn ? nv[ni] : NULL;
		int c = !o ? 1 : !n ? -1 : cmp_entry(&o, &n);

		if (++w->visited > w->budget) {
			err = over_budget(w);
			break;
		}
		if (c < 0) {
			oi++;
			err = one_side(w, j, o, NULL);
		} else if (c > 0) {
			ni++;
			err = one_side(w, j, NULL, n);
		} else {
			oi++;
			ni++;
			if (is_tree(o) && is_tree(n)) {
				if (!ug_oid_equal(&o->oid, &n->oid))
					err = push(w, j, o->name, o->namelen, &o->oid, &n->oid);
			} else if (is_tree(o) || is_tree(n)) {
				/* a folder replaced by a file, or a file by a folder: the file
				 * sorts first (git's order, a folder's name ends in "/") */
				if (!(err = one_side(w, j, is_tree(o) ? NULL : o, is_tree(o) ? n : NULL)))
					err = one_side(w, j, is_tree(o) ? o : NULL, is_tree(o) ? NULL : n);
			} else if (o->mode != n->mode || !ug_oid_equal(&o->oid, &n->oid)) {
				err = emit(w, j->prefix, o, n);
			}
		}
	}
out:
	free(ov);
	free(nv);
	ug_tree_free(ot);
	ug_tree_free(nt);
	return err;
}

/* By path, bytewise, a folder's path as if it ended in "/": git's order. */
static int cmp_delta(const void *pa, const void *pb)
{
	const ug_delta *a = pa, *b = pb;
	const unsigned char *x = (const unsigned char *)a->path, *y = (const unsigned char *)b->path;
	bool xt = (a->old_mode ? a->old_mode : a->new_mode) == UG_MODE_TREE;
	bool yt = (b->old_mode ? b->old_mode : b->new_mode) == UG_MODE_TREE;

	while (*x && *x == *y) {
		x++;
		y++;
	}
	return (int)(*x ? *x : xt ? '/' : 0) - (int)(*y ? *y : yt ? '/' : 0);
}

int ug_treediff_trees(ug_treediff **out, ug_repo *repo, const ug_oid *old_tree, const ug_oid *new_tree)
{
	walker w = { 0 };
	job root = { 0 };
	int err = 0;

	*out = NULL;
	w.algo = ug_repo_algo(repo);
	w.budget = atomic_load(&budget);
	w.diff = calloc(1, sizeof(*w.diff));
	root.prefix = strdup("");
	if (!w.diff || !root.prefix) {
		free(w.diff);
		free(root.prefix);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	root.has_old = old_tree && !ug_oid_iszero(old_tree);
	root.has_new = new_tree && !ug_oid_iszero(new_tree);
	if (root.has_old)
		root.old_oid = *old_tree;
	if (root.has_new)
		root.new_oid = *new_tree;
	w.listing = !root.has_old || !root.has_new;
	if (!(root.has_old && root.has_new && ug_oid_equal(&root.old_oid, &root.new_oid)))
		err = step(&w, repo, &root);
	free(root.prefix);
	while (!err && w.njobs) {
		job j = w.jobs[--w.njobs];

		err = step(&w, repo, &j);
		free(j.prefix);
	}
	for (size_t i = 0; i < w.njobs; i++)
		free(w.jobs[i].prefix);
	free(w.jobs);
	if (err) {
		ug_treediff_free(w.diff);
		return err;
	}
	if (w.diff->count)
		qsort(w.diff->deltas, w.diff->count, sizeof(*w.diff->deltas), cmp_delta);
	*out = w.diff;
	return 0;
}
