/* Last-change times: first-parent walks that answer a whole folder at once, memoized per (commit, folder). */
#include "fs_internal.h"
#include "lastchange.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The files a commit changed against its first parent, sorted: computed once
 * per commit and shared by the walks of every folder. */
struct changes {
	int refs;               /* under the cache's lock; the fact table holds one */
	bool many;              /* over MAX_CHANGES: not listed, compare trees instead */
	size_t count, bytes;
	char **paths;
};

#define MAX_CHANGES 4096

/* What a walk needs of a commit: kept so that a second walk parses nothing. */
struct fact {
	ug_oid oid, tree, parent;
	int64_t time;
	bool root;              /* no parent */
	bool graphed;           /* in the commit-graph, at pos */
	uint32_t pos;
	struct changes *changes; /* in the table only (never in copies): NULL until asked for */
	struct fact *next;
};

/* A folder's answer, with its key and its place in the least-recently-used list. */
struct answer {
	struct lc_times pub;    /* first: lc_times pointers are answer pointers */
	int refs;               /* the cache's own reference counts too */
	bool cached;
	ug_oid commit;
	char *path;
	uint64_t hash;
	size_t bytes;
	struct answer *hnext, *newer, *older;
};

#define ABUCKETS 4096

struct lastchange {
	pthread_mutex_t lock;
	struct fact **facts;
	size_t fbuckets, nfacts;
	struct answer *answers[ABUCKETS];
	struct answer *newest, *oldest;
	size_t bytes, limit;    /* facts and cached answers together */
};

int lastchange_new(struct lastchange **out, size_t limit)
{
	struct lastchange *lc = calloc(1, sizeof(*lc));

	if (!lc || !(lc->facts = calloc(4096, sizeof(*lc->facts)))) {
		free(lc);
		return UG_ENOMEM;
	}
	pthread_mutex_init(&lc->lock, NULL);
	lc->fbuckets = 4096;
	lc->limit = limit;
	*out = lc;
	return 0;
}

static void answer_free(struct answer *a)
{
	free(a->pub.times);
	free(a->path);
	free(a);
}

static void changes_free(struct changes *c)
{
	for (size_t i = 0; c && i < c->count; i++)
		free(c->paths[i]);
	if (c)
		free(c->paths);
	free(c);
}

static void facts_clear(struct lastchange *lc)
{
	for (size_t i = 0; i < lc->fbuckets; i++) {
		for (struct fact *f = lc->facts[i], *next; f; f = next) {
			next = f->next;
			if (f->changes) {
				lc->bytes -= f->changes->bytes;
				if (--f->changes->refs == 0)
					changes_free(f->changes);
			}
			free(f);
		}
		lc->facts[i] = NULL;
	}
	lc->bytes -= lc->nfacts * sizeof(struct fact);
	lc->nfacts = 0;
}

void lastchange_free(struct lastchange *lc)
{
	if (!lc)
		return;
	facts_clear(lc);
	for (struct answer *a = lc->newest, *next; a; a = next) {
		next = a->older;
		answer_free(a);
	}
	free(lc->facts);
	pthread_mutex_destroy(&lc->lock);
	free(lc);
}

static size_t oid_slot(const ug_oid *oid, size_t buckets)
{
	uint64_t h;

	memcpy(&h, oid->id, sizeof(h));
	return (size_t)(h & (buckets - 1));
}

/* Double the fact buckets; on allocation failure keep the long chains. */
static void facts_grow(struct lastchange *lc)
{
	size_t n = lc->fbuckets * 2;
	struct fact **t = calloc(n, sizeof(*t));

	if (!t)
		return;
	for (size_t i = 0; i < lc->fbuckets; i++) {
		for (struct fact *f = lc->facts[i], *next; f; f = next) {
			next = f->next;
			f->next = t[oid_slot(&f->oid, n)];
			t[oid_slot(&f->oid, n)] = f;
		}
	}
	free(lc->facts);
	lc->facts = t;
	lc->fbuckets = n;
}

static void evict(struct lastchange *lc);

/* The facts of a commit, from the cache or read and kept (copied to *out). */
static int fact_get(struct fs *fs, const ug_oid *oid, struct fact *out)
{
	struct lastchange *lc = fs->changes;
	struct fact *f;
	ug_graph_commit gc;
	ug_commit *c;
	int err;

	pthread_mutex_lock(&lc->lock);
	for (f = lc->facts[oid_slot(oid, lc->fbuckets)]; f; f = f->next) {
		if (ug_oid_equal(&f->oid, oid)) {
			*out = *f;
			out->changes = NULL;
			pthread_mutex_unlock(&lc->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&lc->lock);
	memset(out, 0, sizeof(*out));
	out->oid = *oid;
	if (fs->graph && ug_commitgraph_lookup(fs->graph, oid, &gc) == 0) {
		out->tree = gc.tree;
		out->time = gc.time;
		out->root = gc.nparents == 0;
		out->parent = gc.parent;
		out->graphed = true;
		out->pos = gc.pos;
	} else {
		err = ug_commit_lookup(&c, fs->repo, oid);
		if (err)
			return err;
		out->tree = c->tree;
		out->time = c->time;
		out->root = c->nparents == 0;
		if (c->nparents)
			out->parent = c->parents[0];
		ug_commit_free(c);
	}
	f = malloc(sizeof(*f));
	if (!f)
		return 0; /* answered, just not kept */
	*f = *out;
	pthread_mutex_lock(&lc->lock);
	f->next = lc->facts[oid_slot(oid, lc->fbuckets)];
	lc->facts[oid_slot(oid, lc->fbuckets)] = f;
	lc->nfacts++;
	lc->bytes += sizeof(*f);
	if (lc->nfacts > lc->fbuckets)
		facts_grow(lc);
	evict(lc);
	pthread_mutex_unlock(&lc->lock);
	return 0;
}

static struct fact *fact_find(struct lastchange *lc, const ug_oid *oid)
{
	struct fact *f = lc->facts[oid_slot(oid, lc->fbuckets)];

	while (f && !ug_oid_equal(&f->oid, oid))
		f = f->next;
	return f;
}

/* A pair of trees still to compare (either side may be absent) under prefix. */
struct cjob {
	ug_oid a, b;            /* new, old */
	bool has_a, has_b;
	char *prefix;           /* "" or "dir/sub/" */
};

struct clist {
	struct cjob *jobs;
	size_t njobs, capjobs, budget;
	struct changes *c;
	size_t cap;
};

static int add_path(struct clist *l, const char *prefix, const ug_tree_entry *e)
{
	char *p;

	if (l->c->count >= MAX_CHANGES) {
		l->c->many = true;
		return 0;
	}
	if (l->c->count == l->cap) {
		size_t n = l->cap ? 2 * l->cap : 16;
		char **m = realloc(l->c->paths, n * sizeof(*m));

		if (!m)
			return UG_ENOMEM;
		l->c->paths = m;
		l->cap = n;
	}
	if (asprintf(&p, "%s%s", prefix, e->name) < 0)
		return UG_ENOMEM;
	l->c->paths[l->c->count++] = p;
	l->c->bytes += strlen(p) + 1 + sizeof(char *);
	return 0;
}

static int add_job(struct clist *l, const char *prefix, const ug_tree_entry *a, const ug_tree_entry *b)
{
	struct cjob *j;

	if (l->njobs == l->capjobs) {
		size_t n = l->capjobs ? 2 * l->capjobs : 16;
		struct cjob *m = realloc(l->jobs, n * sizeof(*m));

		if (!m)
			return UG_ENOMEM;
		l->jobs = m;
		l->capjobs = n;
	}
	j = &l->jobs[l->njobs];
	memset(j, 0, sizeof(*j));
	if (asprintf(&j->prefix, "%s%s/", prefix, (a ? a : b)->name) < 0)
		return UG_ENOMEM;
	j->has_a = a != NULL;
	j->has_b = b != NULL;
	if (a)
		j->a = a->oid;
	if (b)
		j->b = b->oid;
	l->njobs++;
	return 0;
}

/* One side's entry e against the other side's entry o (NULL: absent): files
 * that differ are listed, folders that differ are queued. new_side: e is new. */
static int compare_entry(struct clist *l, const char *prefix, const ug_tree_entry *e, const ug_tree_entry *o,
			 bool new_side)
{
	bool et = e->mode == UG_MODE_TREE, ot = o && o->mode == UG_MODE_TREE;
	int err = 0;

	if (o && o->mode == e->mode && ug_oid_equal(&o->oid, &e->oid))
		return 0;
	if (et)
		err = add_job(l, prefix, new_side ? e : (ot ? o : NULL), new_side ? (ot ? o : NULL) : e);
	else
		err = add_path(l, prefix, e);
	/* a file against a folder: the folder's side is queued from its own side */
	return err;
}

/* Compare one queued pair: every entry of each side against the other's. */
static int compare_job(struct fs *fs, struct clist *l, struct cjob *j)
{
	const ug_tree *a = NULL, *b = NULL;
	int err = 0;

	if (j->has_a)
		err = treecache_get(fs, &j->a, &a);
	if (!err && j->has_b)
		err = treecache_get(fs, &j->b, &b);
	for (size_t i = 0; !err && a && i < a->count && !l->c->many; i++) {
		const ug_tree_entry *e = &a->entries[i];

		err = compare_entry(l, j->prefix, e, b ? ug_tree_find(b, e->name, e->namelen) : NULL, true);
	}
	for (size_t i = 0; !err && b && i < b->count && !l->c->many; i++) {
		const ug_tree_entry *e = &b->entries[i];
		const ug_tree_entry *o = a ? ug_tree_find(a, e->name, e->namelen) : NULL;

		/* pairs both sides share were handled from the new side, except a folder
		 * on this side facing a file there */
		if (!o || (e->mode == UG_MODE_TREE && o->mode != UG_MODE_TREE))
			err = compare_entry(l, j->prefix, e, o && o->mode == UG_MODE_TREE ? o : NULL, false);
	}
	if (a)
		treecache_put(fs, a);
	if (b)
		treecache_put(fs, b);
	return err;
}

/* The files that differ between two root trees, through the tree cache; a
 * diff over MAX_CHANGES files (or as many folders) stops and is marked many. */
static int list_changes(struct fs *fs, const ug_oid *new_root, const ug_oid *old_root, struct changes *c)
{
	struct clist l = { 0 };
	int err = 0;

	l.c = c;
	l.jobs = calloc(1, sizeof(*l.jobs));
	if (!l.jobs || !(l.jobs[0].prefix = strdup("")))
		err = UG_ENOMEM;
	l.capjobs = l.njobs = 1;
	if (!err) {
		l.jobs[0].a = *new_root;
		l.jobs[0].b = *old_root;
		l.jobs[0].has_a = l.jobs[0].has_b = true;
	}
	while (!err && l.njobs && !c->many) {
		struct cjob j = l.jobs[--l.njobs];

		if (++l.budget > MAX_CHANGES)
			c->many = true;
		else
			err = compare_job(fs, &l, &j);
		free(j.prefix);
	}
	for (size_t i = 0; l.jobs && i < l.njobs; i++)
		free(l.jobs[i].prefix);
	free(l.jobs);
	return err;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files f changed against its first parent p, listed from a tree diff,
 * or marked many; *out holds a reference (changes_put). Core codes. */
static int changes_get(struct fs *fs, const struct fact *f, const struct fact *p, struct changes **out)
{
	struct lastchange *lc = fs->changes;
	struct changes *c;
	struct fact *t;
	int err;

	pthread_mutex_lock(&lc->lock);
	t = fact_find(lc, &f->oid);
	if (t && t->changes) {
		t->changes->refs++;
		*out = t->changes;
		pthread_mutex_unlock(&lc->lock);
		return 0;
	}
	pthread_mutex_unlock(&lc->lock);
	c = calloc(1, sizeof(*c));
	err = c ? list_changes(fs, &f->tree, &p->tree, c) : UG_ENOMEM;
	if (err) {
		changes_free(c);
		return err;
	}
	if (c->count)
		qsort(c->paths, c->count, sizeof(*c->paths), path_cmp);
	c->bytes += sizeof(*c);
	c->refs = 1;
	pthread_mutex_lock(&lc->lock);
	t = fact_find(lc, &f->oid);
	if (t && !t->changes) {
		t->changes = c;
		c->refs++;
		lc->bytes += c->bytes;
		evict(lc);
	}
	pthread_mutex_unlock(&lc->lock);
	*out = c;
	return 0;
}

static void changes_put(struct fs *fs, struct changes *c)
{
	bool last;

	if (!c)
		return;
	pthread_mutex_lock(&fs->changes->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&fs->changes->lock);
	if (last)
		changes_free(c);
}

/* Did the commit change key (a file, or anything below the folder key)? */
static bool touched(const struct changes *c, const char *key, size_t len)
{
	size_t lo = 0, hi = c->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(c->paths[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->count && !strncmp(c->paths[lo], key, len); lo++)
		if (c->paths[lo][len] == '\0' || c->paths[lo][len] == '/')
			return true;
	return false;
}

int lastchange_commit_time(struct fs *fs, const ug_oid *commit, int64_t *out)
{
	struct fact f;
	int err = fact_get(fs, commit, &f);

	if (!err)
		*out = f.time;
	return err;
}

/* Brent's cycle check over a first-parent walk: a chain that comes back to a
 * commit it passed (possible only in forged bytes) would walk forever. */
struct cycle {
	ug_oid mark;
	size_t power, steps;
};

static int cycle_step(struct cycle *cy, const ug_oid *now)
{
	if (ug_oid_equal(&cy->mark, now))
		return ug_error(UG_ECORRUPT, "a first-parent history loops");
	if (++cy->steps == cy->power) {
		cy->mark = *now;
		cy->power *= 2;
		cy->steps = 0;
	}
	return 0;
}

int lastchange_root_time(struct fs *fs, const ug_oid *commit, int64_t *out)
{
	struct fact cur, p;
	struct cycle cy = { *commit, 1, 0 };
	int err = fact_get(fs, commit, &cur);

	while (!err && !cur.root) {
		err = fact_get(fs, &cur.parent, &p);
		if (err || !ug_oid_equal(&p.tree, &cur.tree))
			break;
		cur = p;
		err = cycle_step(&cy, &cur.oid);
	}
	if (!err)
		*out = cur.time;
	return err;
}

/* --- the answers' cache ------------------------------------------------------ */

static void unlink_lru(struct lastchange *lc, struct answer *a)
{
	*(a->newer ? &a->newer->older : &lc->newest) = a->older;
	*(a->older ? &a->older->newer : &lc->oldest) = a->newer;
	a->newer = a->older = NULL;
}

static void push_lru(struct lastchange *lc, struct answer *a)
{
	a->older = lc->newest;
	a->newer = NULL;
	if (lc->newest)
		lc->newest->newer = a;
	lc->newest = a;
	if (!lc->oldest)
		lc->oldest = a;
}

static void drop(struct lastchange *lc, struct answer *a)
{
	struct answer **p = &lc->answers[a->hash & (ABUCKETS - 1)];

	while (*p != a)
		p = &(*p)->hnext;
	*p = a->hnext;
	unlink_lru(lc, a);
	lc->bytes -= a->bytes;
	a->cached = false;
	if (--a->refs == 0)
		answer_free(a);
}

/* Within the budget: answers go least recently used first; if facts alone
 * exceed it, they are forgotten all at once (they are cheap to read again). */
static void evict(struct lastchange *lc)
{
	while (lc->bytes > lc->limit && lc->oldest)
		drop(lc, lc->oldest);
	if (lc->bytes > lc->limit)
		facts_clear(lc);
}

static uint64_t key_hash(const ug_oid *commit, const char *path)
{
	uint64_t h;

	memcpy(&h, commit->id, sizeof(h));
	return str_hash(path, h);
}

/* A new reference to the cached answer for (commit, path), or NULL. */
static struct answer *answer_find(struct lastchange *lc, const ug_oid *commit, const char *path)
{
	uint64_t h = key_hash(commit, path);
	struct answer *a;

	pthread_mutex_lock(&lc->lock);
	for (a = lc->answers[h & (ABUCKETS - 1)]; a; a = a->hnext)
		if (a->hash == h && ug_oid_equal(&a->commit, commit) && !strcmp(a->path, path))
			break;
	if (a) {
		a->refs++;
		unlink_lru(lc, a);
		push_lru(lc, a);
	}
	pthread_mutex_unlock(&lc->lock);
	return a;
}

/* Keep a (the caller's reference stays the caller's); a twin computed by
 * another thread meanwhile wins and a stays private. */
static void answer_keep(struct lastchange *lc, struct answer *a)
{
	struct answer *twin;

	a->hash = key_hash(&a->commit, a->path);
	a->bytes = sizeof(*a) + strlen(a->path) + 1 + a->pub.count * sizeof(int64_t);
	pthread_mutex_lock(&lc->lock);
	for (twin = lc->answers[a->hash & (ABUCKETS - 1)]; twin; twin = twin->hnext)
		if (twin->hash == a->hash && ug_oid_equal(&twin->commit, &a->commit) && !strcmp(twin->path, a->path))
			break;
	if (!twin && a->bytes <= lc->limit / 2) {
		a->hnext = lc->answers[a->hash & (ABUCKETS - 1)];
		lc->answers[a->hash & (ABUCKETS - 1)] = a;
		push_lru(lc, a);
		a->refs++;
		a->cached = true;
		lc->bytes += a->bytes;
		evict(lc);
	}
	pthread_mutex_unlock(&lc->lock);
}

void lastchange_put(struct fs *fs, const struct lc_times *t)
{
	struct lastchange *lc = fs->changes;
	struct answer *a = (struct answer *)t;
	bool last;

	if (!a)
		return;
	pthread_mutex_lock(&lc->lock);
	last = --a->refs == 0;
	pthread_mutex_unlock(&lc->lock);
	if (last)
		answer_free(a);
}

/* --- the walk -------------------------------------------------------------- */

/* A folder's path cut into components. */
struct walkpath {
	const char *path;
	size_t d;               /* components */
	const char **name;
	size_t *len;
};

static int walkpath_init(struct walkpath *wp, const char *path)
{
	size_t max = strlen(path) / 2 + 1;

	memset(wp, 0, sizeof(*wp));
	wp->path = path;
	wp->name = malloc(max * sizeof(*wp->name));
	wp->len = malloc(max * sizeof(*wp->len));
	if (!wp->name || !wp->len) {
		free(wp->name);
		free(wp->len);
		return UG_ENOMEM;
	}
	for (const char *p = path; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		wp->name[wp->d] = p;
		wp->len[wp->d++] = n;
		p += n + (slash != NULL);
	}
	return 0;
}

static void walkpath_release(struct walkpath *wp)
{
	free(wp->name);
	free(wp->len);
}

/* The tree ids along the path in a commit whose root tree is root: ids[0..d].
 * prev holds them in a neighbour commit: once a tree on the way is the same,
 * the rest is too. UG_ENOTFOUND when the path is no folder there. */
static int resolve(struct fs *fs, const struct walkpath *wp, const ug_oid *root, ug_oid *ids, const ug_oid *prev)
{
	ids[0] = *root;
	for (size_t k = 0; k < wp->d; k++) {
		const ug_tree *t;
		const ug_tree_entry *e;
		int err;

		if (prev && ug_oid_equal(&ids[k], &prev[k])) {
			memcpy(ids + k + 1, prev + k + 1, (wp->d - k) * sizeof(*ids));
			return 0;
		}
		err = treecache_get(fs, &ids[k], &t);
		if (err)
			return err;
		e = ug_tree_find(t, wp->name[k], wp->len[k]);
		if (e && e->mode == UG_MODE_TREE)
			ids[k + 1] = e->oid;
		treecache_put(fs, t);
		if (!e || e->mode != UG_MODE_TREE)
			return UG_ENOTFOUND;
	}
	return 0;
}

/* One folder's walk in progress: the entries not yet settled. */
struct pending {
	const ug_tree *tree;    /* the folder in the snapshot */
	struct answer *a;
	size_t *todo;           /* indices of unsettled entries */
	size_t ntodo;
	bool folder_known;
};

static void settle_all(struct pending *w, int64_t when)
{
	for (size_t i = 0; i < w->ntodo; i++)
		w->a->pub.times[w->todo[i]] = when;
	w->ntodo = 0;
	if (!w->folder_known)
		w->a->pub.folder = when;
	w->folder_known = true;
}

/* The folder differs between a commit (at when) and its first parent, whose
 * folder is ptree: the entries that differ changed at when. */
static int settle_changed(struct fs *fs, struct pending *w, const ug_oid *ptree, int64_t when)
{
	const ug_tree *pt;
	size_t kept = 0;
	int err = treecache_get(fs, ptree, &pt);

	if (err)
		return err;
	for (size_t i = 0; i < w->ntodo; i++) {
		const ug_tree_entry *e = &w->tree->entries[w->todo[i]];
		const ug_tree_entry *pe = ug_tree_find(pt, e->name, e->namelen);

		if (pe && pe->mode == e->mode && ug_oid_equal(&pe->oid, &e->oid))
			w->todo[kept++] = w->todo[i];
		else
			w->a->pub.times[w->todo[i]] = when;
	}
	w->ntodo = kept;
	treecache_put(fs, pt);
	if (!w->folder_known)
		w->a->pub.folder = when;
	w->folder_known = true;
	return 0;
}

/* A cached answer m for an older commit on the walk, whose entries not yet
 * settled are unchanged since: theirs are ours. false if m cannot tell. */
static bool settle_from(struct fs *fs, struct pending *w, const struct answer *m)
{
	const ug_tree *mt = w->tree;
	bool same = ug_oid_equal(&m->pub.tree, &w->tree->oid);
	size_t *at = malloc((w->ntodo ? w->ntodo : 1) * sizeof(*at));

	if (!at || (!same && treecache_get(fs, &m->pub.tree, &mt))) {
		free(at);
		return false;
	}
	for (size_t i = 0; i < w->ntodo; i++) {
		const ug_tree_entry *e = &w->tree->entries[w->todo[i]];
		const ug_tree_entry *me = same ? e : ug_tree_find(mt, e->name, e->namelen);

		if (!me || (size_t)(me - mt->entries) >= m->pub.count) {
			if (!same)
				treecache_put(fs, mt);
			free(at);
			return false;
		}
		at[i] = (size_t)(me - mt->entries);
	}
	for (size_t i = 0; i < w->ntodo; i++)
		w->a->pub.times[w->todo[i]] = m->pub.times[at[i]];
	w->ntodo = 0;
	if (!w->folder_known)
		w->a->pub.folder = m->pub.folder;
	w->folder_known = true;
	if (!same)
		treecache_put(fs, mt);
	free(at);
	return true;
}

/* Does the commit-graph's changed-path filter rule out any change below
 * path between f and its first parent? */
static bool untouched(struct fs *fs, const struct fact *f, const char *path)
{
	return f->graphed && *path && !ug_commitgraph_maybe_changed(fs->graph, f->pos, path, strlen(path));
}

/* One step with the commit's list of changed files: false if the folder at
 * path did not change; else it settles what changed. key: a buffer for paths. */
static int settle_listed(struct pending *w, const struct changes *ch, const char *path, int64_t when,
			 char **key, size_t *cap, bool *changed)
{
	size_t plen = strlen(path);

	*changed = touched(ch, path, plen);
	if (!*changed)
		return 0;
	if (!w->folder_known)
		w->a->pub.folder = when;
	w->folder_known = true;
	for (size_t i = 0, kept = 0, n = w->ntodo; i < n; i++) {
		const ug_tree_entry *e = &w->tree->entries[w->todo[i]];

		if (plen + e->namelen + 2 > *cap) {
			char *k = realloc(*key, plen + e->namelen + 64);

			if (!k)
				return UG_ENOMEM;
			*key = k;
			*cap = plen + e->namelen + 64;
		}
		memcpy(*key, path, plen);
		(*key)[plen] = '/';
		memcpy(*key + plen + 1, e->name, e->namelen + 1);
		if (touched(ch, *key, plen + 1 + e->namelen))
			w->a->pub.times[w->todo[i]] = when;
		else
			w->todo[kept++] = w->todo[i];
		if (i + 1 == n)
			w->ntodo = kept;
	}
	return 0;
}

/* Walk first parents from the snapshot until every entry is settled, or an
 * older commit's cached answer settles the rest. ids: 2 * (d + 1) ids. */
static int walk(struct fs *fs, const struct walkpath *wp, struct fact cur, struct pending *w, ug_oid *ids)
{
	ug_oid *pids = ids + wp->d + 1;
	struct cycle cy = { cur.oid, 1, 0 };
	int err = resolve(fs, wp, &cur.tree, ids, NULL);
	bool ids_valid = true; /* ids resolve the path in cur */
	char *key = NULL;
	size_t cap = 0;

	for (size_t steps = 0; !err && (w->ntodo || !w->folder_known); steps++) {
		struct answer *m = steps ? answer_find(fs->changes, &cur.oid, wp->path) : NULL;
		struct fact p;
		ug_oid *swap;
		bool done = m && settle_from(fs, w, m);

		lastchange_put(fs, m ? &m->pub : NULL);
		if (done)
			break;
		if (cur.root) {
			settle_all(w, cur.time);
			break;
		}
		err = fact_get(fs, &cur.parent, &p);
		if (!err && untouched(fs, &cur, wp->path)) {
			/* the folder is the same in the parent: ids stay a valid resolution */
			cur = p;
			err = cycle_step(&cy, &cur.oid);
			continue;
		}
		if (!err && wp->d > 0) {
			/* below the root, one list of changed files per commit serves every folder */
			struct changes *ch = NULL;
			bool changed = false;

			err = changes_get(fs, &cur, &p, &ch);
			if (!err && !ch->many) {
				err = settle_listed(w, ch, wp->path, cur.time, &key, &cap, &changed);
				changes_put(fs, ch);
				ids_valid = ids_valid && !changed;
				cur = p;
				if (!err)
					err = cycle_step(&cy, &cur.oid);
				continue;
			}
			changes_put(fs, ch);
		}
		if (!err && !ids_valid)
			err = resolve(fs, wp, &cur.tree, ids, NULL);
		ids_valid = true;
		if (!err)
			err = resolve(fs, wp, &p.tree, pids, ids);
		if (err == UG_ENOTFOUND) { /* created here */
			settle_all(w, cur.time);
			err = 0;
			break;
		}
		if (!err && !ug_oid_equal(&pids[wp->d], &ids[wp->d]))
			err = settle_changed(fs, w, &pids[wp->d], cur.time);
		cur = p;
		swap = ids;
		ids = pids;
		pids = swap;
		if (!err)
			err = cycle_step(&cy, &cur.oid);
	}
	free(key);
	return err;
}

/* The answer for the folder at wp in commit, whose tree is tree; *out has one reference. */
static int compute(struct fs *fs, const struct walkpath *wp, const ug_oid *commit, const ug_oid *tree,
		   struct answer **out)
{
	struct pending w = { 0 };
	struct answer *a = calloc(1, sizeof(*a));
	ug_oid *ids = malloc(2 * (wp->d + 1) * sizeof(*ids));
	struct fact cur;
	int err = a && ids ? treecache_get(fs, tree, &w.tree) : UG_ENOMEM;

	if (!err) {
		a->refs = 1;
		a->commit = *commit;
		a->pub.tree = *tree;
		a->pub.count = w.tree->count;
		a->pub.times = calloc(w.tree->count ? w.tree->count : 1, sizeof(int64_t));
		a->path = strdup(wp->path);
		w.todo = malloc((w.tree->count ? w.tree->count : 1) * sizeof(*w.todo));
		w.a = a;
		if (!a->pub.times || !a->path || !w.todo)
			err = UG_ENOMEM;
	}
	for (size_t i = 0; !err && i < w.tree->count; i++)
		w.todo[w.ntodo++] = i;
	if (!err)
		err = fact_get(fs, commit, &cur);
	if (!err)
		err = walk(fs, wp, cur, &w, ids);
	if (w.tree)
		treecache_put(fs, w.tree);
	free(w.todo);
	free(ids);
	if (err && a)
		answer_free(a);
	else
		*out = a;
	return err;
}

/* A diff opens a folder in two adjacent snapshots: answering the first
 * parent's folder first makes the child's walk one step long. */
static void prime_parent(struct fs *fs, const struct walkpath *wp, const ug_oid *commit, const ug_oid *tree)
{
	struct fact f, p;
	struct answer *a;
	ug_oid *ids = malloc((wp->d + 1) * sizeof(*ids));

	if (ids && !fact_get(fs, commit, &f) && !f.root && !fact_get(fs, &f.parent, &p) &&
	    !resolve(fs, wp, &p.tree, ids, NULL) && !ug_oid_equal(&ids[wp->d], tree)) {
		a = answer_find(fs->changes, &p.oid, wp->path);
		if (!a && !compute(fs, wp, &p.oid, &ids[wp->d], &a))
			answer_keep(fs->changes, a);
		lastchange_put(fs, a ? &a->pub : NULL);
	}
	free(ids);
}

int lastchange_folder(struct fs *fs, const ug_oid *commit, const char *path, const ug_oid *tree,
		      const struct lc_times **out)
{
	struct answer *a = answer_find(fs->changes, commit, path);
	struct walkpath wp;
	int err;

	if (a) {
		*out = &a->pub;
		return 0;
	}
	err = walkpath_init(&wp, path);
	if (err)
		return err;
	prime_parent(fs, &wp, commit, tree);
	err = compute(fs, &wp, commit, tree, &a);
	if (!err) {
		answer_keep(fs->changes, a);
		*out = &a->pub;
	}
	walkpath_release(&wp);
	return err;
}

/* --- versions of one file ----------------------------------------------------- */

/* What a file path holds in one commit: present or not, and its mode and id. */
struct held {
	bool present;
	uint32_t mode;
	ug_oid oid;
	ug_oid *ids;            /* the folder's tree ids along the path (d + 1), or none */
	bool folder;            /* ids are valid: the folder exists */
};

/* The entry at wp/name in commit; prev (the neighbour's) lets equal trees skip lookups. */
static int held_at(struct fs *fs, const struct walkpath *wp, const char *name, const ug_oid *commit,
		   struct held *h, const struct held *prev)
{
	struct fact f;
	const ug_tree *t;
	const ug_tree_entry *e;
	int err = fact_get(fs, commit, &f);

	h->present = h->folder = false;
	if (!err)
		err = resolve(fs, wp, &f.tree, h->ids, prev && prev->folder ? prev->ids : NULL);
	if (err == UG_ENOTFOUND)
		return 0;
	if (err)
		return err;
	h->folder = true;
	if (prev && prev->folder && ug_oid_equal(&prev->ids[wp->d], &h->ids[wp->d])) {
		h->present = prev->present;
		h->mode = prev->mode;
		h->oid = prev->oid;
		return 0;
	}
	err = treecache_get(fs, &h->ids[wp->d], &t);
	if (err)
		return err;
	e = ug_tree_find(t, name, strlen(name));
	if (e) {
		h->present = true;
		h->mode = e->mode;
		h->oid = e->oid;
	}
	treecache_put(fs, t);
	return 0;
}

/* The same as the commit before (the filter said so): ids included. */
static void held_copy(struct held *to, const struct held *from, size_t d)
{
	to->present = from->present;
	to->mode = from->mode;
	to->oid = from->oid;
	to->folder = from->folder;
	memcpy(to->ids, from->ids, (d + 1) * sizeof(*to->ids));
}

static bool held_differ(const struct held *a, const struct held *b)
{
	return a->present != b->present ||
	       (a->present && (a->mode != b->mode || !ug_oid_equal(&a->oid, &b->oid)));
}

/* Split "a/b/name" into the folder's walkpath (over a copy in *buf) and name. */
static int split_file(const char *path, char **buf, struct walkpath *wp, const char **name)
{
	char *slash;
	int err;

	*buf = strdup(path);
	if (!*buf)
		return UG_ENOMEM;
	slash = strrchr(*buf, '/');
	*name = slash ? slash + 1 : *buf;
	if (slash)
		*slash = '\0';
	err = walkpath_init(wp, slash ? *buf : "");
	if (err)
		free(*buf);
	return err;
}

int lastchange_versions(struct fs *fs, const struct loglist *l, const char *path, size_t **out, size_t *count)
{
	struct walkpath wp;
	struct held h[2] = { 0 };
	const char *name;
	char *buf;
	size_t n = 0;
	int err = split_file(path, &buf, &wp, &name);

	if (err)
		return err;
	*out = malloc((l->count ? l->count : 1) * sizeof(**out));
	h[0].ids = malloc(2 * (wp.d + 1) * sizeof(ug_oid));
	h[1].ids = h[0].ids ? h[0].ids + wp.d + 1 : NULL;
	if (!*out || !h[0].ids)
		err = UG_ENOMEM;
	for (size_t i = 0; !err && i < l->count; i++) {
		struct held *now = &h[i & 1], *prev = i ? &h[(i - 1) & 1] : NULL;
		struct fact f;

		if (prev && !fact_get(fs, &l->oids[i], &f) && untouched(fs, &f, path)) {
			held_copy(now, prev, wp.d);
			continue;
		}
		err = held_at(fs, &wp, name, &l->oids[i], now, prev);
		if (!err && now->present && (!prev || held_differ(now, prev)))
			(*out)[n++] = i;
	}
	free(h[0].ids);
	walkpath_release(&wp);
	free(buf);
	if (err) {
		free(*out);
		*out = NULL;
	}
	*count = n;
	return err;
}

int lastchange_version_at(struct fs *fs, const struct loglist *l, size_t i, const char *path, bool *changed)
{
	struct walkpath wp;
	struct held h[2] = { 0 };
	const char *name;
	char *buf;
	struct fact f;
	int err = split_file(path, &buf, &wp, &name);

	if (err)
		return err;
	if (i > 0 && !fact_get(fs, &l->oids[i], &f) && untouched(fs, &f, path)) {
		*changed = false;
		walkpath_release(&wp);
		free(buf);
		return 0;
	}
	h[0].ids = malloc(2 * (wp.d + 1) * sizeof(ug_oid));
	h[1].ids = h[0].ids ? h[0].ids + wp.d + 1 : NULL;
	err = h[0].ids ? held_at(fs, &wp, name, &l->oids[i], &h[0], NULL) : UG_ENOMEM;
	if (!err && i > 0)
		err = held_at(fs, &wp, name, &l->oids[i - 1], &h[1], NULL);
	if (!err)
		*changed = h[0].present && (i == 0 || held_differ(&h[0], &h[1]));
	free(h[0].ids);
	walkpath_release(&wp);
	free(buf);
	return err;
}
