/* Last-change times: first-parent walks that answer a whole folder at once, memoized per (folder, commit that last changed it). */
#include "fs_internal.h"
#include "lastchange.h"

#include "array.h"
#include "cache.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a walk needs of a commit: kept so that a second walk parses nothing. */
struct fact {
	ug_oid oid, tree, parent;
	int64_t time;
	bool root;              /* no parent */
	bool graphed;           /* in the commit-graph, at pos */
	uint32_t pos;
	struct fact *next;
};

/* A change of one subfolder entry of a folder, going back in history: in
 * commit (at time) it differs from the first parent's, which holds old (or
 * no folder of that name when !present: it was created there, or commit is
 * the root commit). */
struct event {
	ug_oid commit, old;
	int64_t time;
	uint32_t next;          /* the same entry's next older event, or NONE */
	bool present;
};

#define NONE UINT32_MAX

/* A folder's answer, with its key and its place in the least-recently-used list. */
struct answer {
	struct lc_times pub;    /* first: lc_times pointers are answer pointers */
	ug_oid *at;             /* per entry: the commit that last changed it */
	struct event *ev;       /* every change of every subfolder entry, in order of recording */
	uint32_t *first;        /* per entry: its newest event (then ev[].next), or NONE */
	size_t nev;
	struct answer *base;    /* whose events continue the entries' own (a reference), or NULL */
	uint32_t *bmap;         /* with base: per entry, its entry there, or NONE */
	size_t depth;           /* bases below this one */
	int refs;               /* the cache's own reference counts too */
	bool cached;
	bool full;              /* ev lists every subfolder change (else none) */
	ug_oid commit;          /* the key: the commit where the folder last changed */
	char *path;
	uint64_t hash;
	size_t bytes;
	struct answer *hnext, *newer, *older;
};

#define ABUCKETS 4096
/* Bases an answer's events may continue in (a deeper one is copied). */
#define MAX_DEPTH 4

/* A walk's own delta-base cache (ug_odb_read_scan): big enough for a chain
 * of a large folder's versions, small enough to stay in pages already
 * touched. Measured on a 3,000-commit history, diff -rq of neighbours: a
 * 256 KiB cache took 65 ms of daemon CPU, sharing the 32 MiB one 110 ms.
 * At most an eighth of the share of times, so that a small memory= holds. */
#define SCAN_BASES ((size_t)512 << 10)

struct lastchange {
	pthread_mutex_t lock;
	struct fact **facts;
	size_t fbuckets, nfacts;
	struct answer *answers[ABUCKETS];
	struct answer *newest, *oldest;
	size_t bytes, limit;    /* facts and cached answers together */
};

static int scan_new(const struct lastchange *lc, ug_cache **out)
{
	size_t bytes = lc->limit / 8 < SCAN_BASES ? lc->limit / 8 : SCAN_BASES;

	return ug_cache_new(out, bytes, bytes / 2) ? UG_ENOMEM : 0;
}

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
	free(a->at);
	free(a->ev);
	free(a->first);
	free(a->bmap);
	free(a->path);
	free(a);
}

static void facts_clear(struct lastchange *lc)
{
	for (size_t i = 0; i < lc->fbuckets; i++) {
		for (struct fact *f = lc->facts[i], *next; f; f = next) {
			next = f->next;
			free(f);
		}
		lc->facts[i] = NULL;
	}
	lc->bytes -= lc->nfacts * sizeof(struct fact);
	lc->nfacts = 0;
}

static void drop(struct lastchange *lc, struct answer *a);

void lastchange_free(struct lastchange *lc)
{
	if (!lc)
		return;
	facts_clear(lc);
	while (lc->newest)
		drop(lc, lc->newest);
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

/* The commit where the snapshot's root tree last changed: the first one, from
 * commit down its first parents, whose tree differs from its parent's (or the
 * root commit). */
static int root_change(struct fs *fs, const ug_oid *commit, struct fact *out)
{
	struct fact p;
	struct cycle cy = { *commit, 1, 0 };
	int err = fact_get(fs, commit, out);

	while (!err && !out->root) {
		err = fact_get(fs, &out->parent, &p);
		if (err || !ug_oid_equal(&p.tree, &out->tree))
			break;
		*out = p;
		err = cycle_step(&cy, &out->oid);
	}
	return err;
}

int lastchange_root_time(struct fs *fs, const ug_oid *commit, int64_t *out)
{
	struct fact f;
	int err = root_change(fs, commit, &f);

	if (!err)
		*out = f.time;
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

/* Drop a reference, lc->lock held: the last one frees the answer and drops
 * its base's. */
static void answer_unref(struct answer *a)
{
	while (a && --a->refs == 0) {
		struct answer *base = a->base;

		answer_free(a);
		a = base;
	}
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
	answer_unref(a);
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
	a->bytes = sizeof(*a) + strlen(a->path) + 1 + a->pub.count * (sizeof(int64_t) + sizeof(ug_oid)) +
		   a->nev * sizeof(struct event) + (a->first ? a->pub.count * sizeof(uint32_t) : 0) +
		   (a->base ? a->pub.count * sizeof(uint32_t) + a->base->bytes : 0);
	pthread_mutex_lock(&lc->lock);
	for (twin = lc->answers[a->hash & (ABUCKETS - 1)]; twin; twin = twin->hnext)
		if (twin->hash == a->hash && ug_oid_equal(&twin->commit, &a->commit) && !strcmp(twin->path, a->path))
			break;
	if (twin && !twin->full && a->full) {
		drop(lc, twin); /* the answer that also serves subfolders replaces it */
		twin = NULL;
	}
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

	if (!a)
		return;
	pthread_mutex_lock(&lc->lock);
	answer_unref(a);
	pthread_mutex_unlock(&lc->lock);
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

/* One folder's walk in progress: the entries not yet settled, and the
 * subfolder entries whose history is still being recorded (live). */
struct pending {
	const ug_tree *tree;    /* the folder in the snapshot */
	struct answer *a;
	size_t *todo;           /* indices of unsettled entries */
	size_t ntodo;
	bool folder_known;
	size_t *live;           /* indices of subfolder entries still present */
	ug_oid *liveid;         /* per entry index: its id at the step reached */
	size_t nlive, capev;
	size_t maxev;           /* events one answer may record: its share of the cap */
	bool want;              /* the live entries' histories are wanted whole (else kept if had) */
	bool lost;              /* not wanted, and part of them was not recorded */
	uint32_t *last;         /* per entry: its oldest event so far, or NONE */
	uint32_t *pmode;        /* per entry: its mode in the parent's folder (0: absent) */
	ug_oid *pid;            /* and its id there */
	ug_cache *bases;        /* the walk's delta bases */
	unsigned char *raw;     /* the stored bytes of the version reached (rawid), or NULL */
	size_t rawlen;
	ug_oid rawid;
	struct change *changes; /* what a step's side-by-side comparison told */
	size_t nchanges, capchanges;
};

/* An entry of the folder whose version differs in a parent commit: its mode
 * there (0: absent) and id. */
struct change {
	size_t x;
	uint32_t mode;
	ug_oid oid;
};

static bool pending_done(const struct pending *w)
{
	return !w->ntodo && w->folder_known && (!w->want || !w->nlive);
}

static void settle(struct pending *w, size_t i, const struct fact *when)
{
	w->a->pub.times[i] = when->time;
	w->a->at[i] = when->oid;
}

static int record(struct pending *w, size_t i, const struct fact *when, const ug_tree_entry *old)
{
	struct answer *a = w->a;
	struct event *ev;

	if (!w->lost && a->nev >= w->maxev) {
		/* many subfolders changed in many commits (or one subtree named many
		 * times over): the folder's entries show its own time instead */
		if (w->want)
			return ug_error(UG_ENOMEM, "folder %s: history over its budget of %zu subfolder changes",
					*a->path ? a->path : "/", w->maxev);
		w->lost = true; /* not wanted: given up */
	}
	if (w->lost)
		return 0;
	if (!(ev = ug_array_grow(a->ev, &w->capev, a->nev + 1, sizeof(*ev), 16)))
		return UG_ENOMEM;
	a->ev = ev;
	ev = &a->ev[a->nev];
	ev->commit = when->oid;
	ev->time = when->time;
	ev->next = NONE;
	ev->present = old != NULL;
	if (old)
		ev->old = old->oid;
	else
		memset(&ev->old, 0, sizeof(ev->old));
	if (w->last[i] == NONE)
		a->first[i] = (uint32_t)a->nev;
	else
		a->ev[w->last[i]].next = (uint32_t)a->nev;
	w->last[i] = (uint32_t)a->nev++;
	return 0;
}

static int settle_all(struct pending *w, const struct fact *when)
{
	int err = 0;

	for (size_t i = 0; i < w->ntodo; i++)
		settle(w, w->todo[i], when);
	w->ntodo = 0;
	if (!w->folder_known)
		w->a->pub.folder = when->time;
	w->folder_known = true;
	for (size_t i = 0; !err && i < w->nlive; i++)
		err = record(w, w->live[i], when, NULL);
	w->nlive = 0;
	return err;
}

/* The folder differs between a commit (when) and its first parent, whose
 * entries are in w->pmode and w->pid: the entries that differ changed at
 * when, and the live subfolder entries that differ get an event. */
static int settle_against(struct pending *w, const struct fact *when)
{
	size_t kept = 0;
	int err = 0;

	for (size_t i = 0; i < w->ntodo; i++) {
		size_t x = w->todo[i];
		const ug_tree_entry *e = &w->tree->entries[x];

		if (w->pmode[x] == e->mode && ug_oid_equal(&w->pid[x], &e->oid))
			w->todo[kept++] = x;
		else
			settle(w, x, when);
	}
	w->ntodo = kept;
	kept = 0;
	for (size_t i = 0; !err && i < w->nlive; i++) {
		size_t x = w->live[i];
		ug_tree_entry old = { .mode = UG_MODE_TREE, .oid = w->pid[x] };
		bool present = w->pmode[x] == UG_MODE_TREE;

		if (present && ug_oid_equal(&w->pid[x], &w->liveid[x])) {
			w->live[kept++] = x;
			continue;
		}
		err = record(w, x, when, present ? &old : NULL);
		if (present) {
			w->liveid[x] = w->pid[x];
			w->live[kept++] = x;
		}
	}
	w->nlive = kept;
	if (!w->folder_known)
		w->a->pub.folder = when->time;
	w->folder_known = true;
	return err;
}

/*
 * The stored bytes of tree oid, read past the caches with a walk's delta
 * bases (a walk reads each version once, and keeping them would crowd out
 * what the views read again): *data is malloc'ed. false, *data NULL, when
 * they are no git tree, and in a ugit repository or with verify, where only
 * the parser reads (and checks) trees.
 */
static bool tree_bytes(struct fs *fs, ug_cache *bases, const ug_oid *oid, unsigned char **data, size_t *size)
{
	ug_otype type = UG_OBJ_BAD;

	*data = NULL;
	*size = 0;
	if (ug_repo_format(fs->repo) == UG_FORMAT_UGIT || fs->opts.verify)
		return false;
	if (!ug_odb_read_scan(ug_repo_odb(fs->repo), bases, oid, &type, data, size) && type == UG_OBJ_TREE)
		return true;
	free(*data);
	*data = NULL;
	return false;
}

/*
 * Fill w->pmode and w->pid from a git tree's stored bytes, without parsing it
 * into the tree cache: a history walk reads every version of a folder once,
 * and parsing each (and keeping it) cost more than the comparison. false when
 * anything is unusual (an odd entry, a repeated name): the caller then uses
 * the parser, which says what is wrong.
 */
static bool scan_raw(const struct pending *w, const unsigned char *data, size_t len, ug_hash_algo algo)
{
	size_t pos = 0, hint = 0;
	ug_tree_entry raw;
	int r;

	memset(w->pmode, 0, (w->tree->count ? w->tree->count : 1) * sizeof(*w->pmode));

	while ((r = ug_tree_next_raw(data, len, &pos, algo, &raw)) == 0) {
		/* versions of a folder mostly hold the same names in the same order */
		const ug_tree_entry *e = hint < w->tree->count ? &w->tree->entries[hint] : NULL;

		if (!e || e->namelen != raw.namelen || memcmp(e->name, raw.name, e->namelen))
			e = ug_tree_find(w->tree, raw.name, raw.namelen);
		if (e) {
			size_t x = (size_t)(e - w->tree->entries);

			hint = x + 1;
			if (w->pmode[x])
				return false;
			w->pmode[x] = raw.mode;
			w->pid[x] = raw.oid;
		}
	}
	return r == 1;
}

/* ug_tree_raw_changes' callback: note an entry of the folder that differs. */
static int note_change(void *ctx, const ug_tree_entry *now, const ug_tree_entry *old)
{
	struct pending *w = ctx;
	const ug_tree_entry *e = ug_tree_find(w->tree, now->name, now->namelen);
	struct change *c;

	if (!e) /* a name the parser hides, or a version's own */
		return 0;
	if (!(c = ug_array_grow(w->changes, &w->capchanges, w->nchanges + 1, sizeof(*c), 16)))
		return UG_ENOMEM;
	w->changes = c;
	w->changes[w->nchanges++] = (struct change){ (size_t)(e - w->tree->entries), old ? old->mode : 0,
						     old ? old->oid : (ug_oid){ { 0 } } };
	return 0;
}

/* Where x is in the list l of n entries, or NULL. */
static size_t *listed(size_t *l, size_t n, size_t x)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] == x)
			return &l[i];
	return NULL;
}

/* Remove x from the list l of *n entries, if there. */
static bool unlist(size_t *l, size_t *n, size_t x)
{
	size_t *at = listed(l, *n, x);

	if (at)
		*at = l[--*n];
	return at != NULL;
}

/* As settle_against, from the entries told to differ (w->changes): every
 * other entry is the same in the parent, as it is in the version reached. */
static int settle_listed(struct pending *w, const struct fact *when)
{
	int err = 0;

	for (size_t i = 0; !err && i < w->nchanges; i++) {
		const struct change *c = &w->changes[i];
		ug_tree_entry old = { .mode = UG_MODE_TREE, .oid = c->oid };
		bool present = c->mode == UG_MODE_TREE;

		if (unlist(w->todo, &w->ntodo, c->x))
			settle(w, c->x, when);
		if (present ? !listed(w->live, w->nlive, c->x) || ug_oid_equal(&c->oid, &w->liveid[c->x])
			    : !unlist(w->live, &w->nlive, c->x))
			continue; /* not live, or the same folder */
		if (present)
			w->liveid[c->x] = c->oid;
		err = record(w, c->x, when, present ? &old : NULL);
	}
	if (!w->folder_known)
		w->a->pub.folder = when->time;
	w->folder_known = true;
	return err;
}

/* The stored bytes of the folder's version now, as the walk last read them
 * or read again; false when they cannot be had. */
static bool raw_now(struct fs *fs, struct pending *w, const ug_oid *now)
{
	if (w->raw && ug_oid_equal(&w->rawid, now))
		return true;
	free(w->raw);
	if (!tree_bytes(fs, w->bases, now, &w->raw, &w->rawlen))
		return false;
	w->rawid = *now;
	return true;
}

/*
 * The folder differs between a commit (when), where it is now, and its first
 * parent, where it is ptree: compare the two versions' stored bytes side by
 * side (1), else read ptree's entries into w->pmode and w->pid from its
 * stored bytes (0), else -1 (the parser has to read them, and say what is odd).
 */
static int compare_raw(struct fs *fs, struct pending *w, const ug_oid *now, const ug_oid *ptree)
{
	ug_odb *odb = ug_repo_odb(fs->repo);
	unsigned char *data;
	size_t size;
	int how = -1;

	if (!tree_bytes(fs, w->bases, ptree, &data, &size))
		return -1;
	w->nchanges = 0;
	if (raw_now(fs, w, now) &&
	    !ug_tree_raw_changes(w->raw, w->rawlen, data, size, ug_odb_algo(odb), note_change, w))
		how = 1;
	else if (scan_raw(w, data, size, ug_odb_algo(odb)))
		how = 0;
	free(w->raw);
	w->raw = data;
	w->rawlen = size;
	w->rawid = *ptree;
	return how;
}

/* The folder differs between a commit (when), where its version is now, and
 * its first parent, where it is ptree: settle against ptree's entries. */
static int settle_changed(struct fs *fs, struct pending *w, const ug_oid *now, const ug_oid *ptree,
			  const struct fact *when)
{
	ug_odb *odb = ug_repo_odb(fs->repo);
	ug_object *obj = NULL;
	const ug_tree *pt;
	int how = compare_raw(fs, w, now, ptree);
	int err;

	if (how == 1)
		return settle_listed(w, when);
	/* with verify, through the object cache: the read checks the id */
	if (how < 0 && fs->opts.verify && ug_repo_format(fs->repo) != UG_FORMAT_UGIT &&
	    !ug_odb_read(&obj, odb, ptree) && obj->type == UG_OBJ_TREE &&
	    scan_raw(w, obj->data, obj->size, ug_odb_algo(odb)))
		how = 0;
	ug_object_free(obj);
	if (how < 0) {
		memset(w->pmode, 0, (w->tree->count ? w->tree->count : 1) * sizeof(*w->pmode));
		err = treecache_get(fs, ptree, &pt);
		if (err)
			return err;
		for (size_t x = 0; x < w->tree->count; x++) {
			const ug_tree_entry *e = &w->tree->entries[x];
			const ug_tree_entry *pe = ug_tree_find(pt, e->name, e->namelen);

			if (pe) {
				w->pmode[x] = pe->mode;
				w->pid[x] = pe->oid;
			}
		}
		treecache_put(fs, pt);
	}
	return settle_against(w, when);
}

/* One entry's events, newest first, through an answer and its bases. */
struct history {
	const struct answer *a;
	size_t i;
	uint32_t e;
};

static void history_start(struct history *h, const struct answer *a, size_t i)
{
	h->a = a;
	h->i = i;
	h->e = a->first[i];
}

static const struct event *history_next(struct history *h)
{
	const struct event *ev;

	while (h->e == NONE) {
		if (!h->a->base || h->a->bmap[h->i] == NONE)
			return NULL;
		h->i = h->a->bmap[h->i];
		h->a = h->a->base;
		h->e = h->a->first[h->i];
	}
	ev = &h->a->ev[h->e];
	h->e = ev->next;
	return ev;
}

/* Record the events of o's entry j (through its bases) as w's entry x's. */
static int copy_events(struct pending *w, size_t x, const struct answer *o, size_t j)
{
	struct history h;
	const struct event *ev;
	int err = 0;

	for (history_start(&h, o, j); !err && (ev = history_next(&h));) {
		struct fact when = { .oid = ev->commit, .time = ev->time };
		ug_tree_entry old = { .mode = UG_MODE_TREE, .oid = ev->old };

		err = record(w, x, &when, ev->present ? &old : NULL);
	}
	return err;
}

/*
 * The live subfolder entries' older events are those of o (whose tree is
 * ot) for the same names: o becomes w's base, or when o's own bases are deep
 * already, its events are copied.
 */
static int take_events(struct lastchange *lc, struct pending *w, struct answer *o, const ug_tree *ot)
{
	struct answer *a = w->a;
	int err = 0;

	if (o->depth < MAX_DEPTH) {
		if (!(a->bmap = malloc((a->pub.count ? a->pub.count : 1) * sizeof(*a->bmap))))
			return UG_ENOMEM;
		memset(a->bmap, 0xff, a->pub.count * sizeof(*a->bmap)); /* NONE */
		pthread_mutex_lock(&lc->lock);
		o->refs++;
		pthread_mutex_unlock(&lc->lock);
		a->base = o;
		a->depth = o->depth + 1;
	}
	for (size_t i = 0; !err && i < w->nlive; i++) {
		const ug_tree_entry *e = &w->tree->entries[w->live[i]];
		const ug_tree_entry *oe = ug_tree_find(ot, e->name, e->namelen);

		if (oe && a->base)
			a->bmap[w->live[i]] = (uint32_t)(oe - ot->entries);
		else if (oe)
			err = copy_events(w, w->live[i], o, (size_t)(oe - ot->entries));
	}
	return err;
}

/* The folder's tree parsed: the shared one when a view parsed it already (a
 * snapshot's), else read past the caches (an older version, walked once);
 * *own is then the caller's to free. */
static int folder_tree(struct fs *fs, ug_cache *bases, const ug_oid *oid, const ug_tree **t, ug_tree **own)
{
	unsigned char *data;
	size_t size;

	*own = NULL;
	if ((*t = treecache_peek(fs, oid)))
		return 0;
	if (tree_bytes(fs, bases, oid, &data, &size) && !ug_tree_parse(own, fs->repo, oid, data, size)) {
		free(data);
		*t = *own;
		return 0;
	}
	free(data);
	return treecache_get(fs, oid, t); /* which says what is wrong */
}

/*
 * The folder's version v was made at commit k: when that version's answer is
 * cached (with subfolder events, if w records them), every entry still
 * unsettled is the same there and takes its time, and every live subfolder
 * entry its older events; the walk is then over. Else nothing changes.
 */
static int take_older(struct fs *fs, const struct walkpath *wp, struct pending *w, const ug_oid *k,
		      const ug_oid *v, bool *done)
{
	struct answer *o = answer_find(fs->changes, k, wp->path);
	const ug_tree *ot = NULL;
	ug_tree *own = NULL;
	int err = 0;

	*done = false;
	if (!o || !ug_oid_equal(&o->pub.tree, v) || (w->want && w->nlive && !o->full) ||
	    folder_tree(fs, w->bases, v, &ot, &own)) {
		lastchange_put(fs, o ? &o->pub : NULL);
		return 0;
	}
	for (size_t i = 0; i < w->ntodo; i++) {
		const ug_tree_entry *e = &w->tree->entries[w->todo[i]];
		const ug_tree_entry *oe = ug_tree_find(ot, e->name, e->namelen);
		size_t j = oe ? (size_t)(oe - ot->entries) : o->pub.count;

		if (j >= o->pub.count) /* only forged answers: keep walking */
			goto out;
	}
	for (size_t i = 0; i < w->ntodo; i++) {
		const ug_tree_entry *e = &w->tree->entries[w->todo[i]];
		size_t j = (size_t)(ug_tree_find(ot, e->name, e->namelen) - ot->entries);

		w->a->pub.times[w->todo[i]] = o->pub.times[j];
		w->a->at[w->todo[i]] = o->at[j];
	}
	if (w->nlive && !w->lost && o->full)
		err = take_events(fs->changes, w, o, ot);
	else if (w->nlive)
		w->lost = true;
	if (!w->folder_known)
		w->a->pub.folder = o->pub.folder;
	w->ntodo = w->nlive = 0;
	w->folder_known = *done = true;
out:
	if (own)
		ug_tree_free(own);
	else
		treecache_put(fs, ot);
	lastchange_put(fs, &o->pub);
	return err;
}

/* Does the commit-graph's changed-path filter rule out any change below
 * path between f and its first parent? */
static bool untouched(struct fs *fs, const struct fact *f, const char *path)
{
	return f->graphed && *path && !ug_commitgraph_maybe_changed(fs->graph, f->pos, path, strlen(path));
}

/*
 * Does the commit-graph's changed-path filter rule out a change of each of
 * the few entries still unsettled (and no subfolder history is wanted)?
 * Then the subfolders' histories kept on the way are given up. key: a
 * buffer for paths.
 */
static bool entries_untouched(struct fs *fs, const struct fact *f, const struct walkpath *wp,
			      struct pending *w, char **key, size_t *cap)
{
	size_t plen = strlen(wp->path);

	if (!f->graphed || (w->want && w->nlive) || !w->folder_known || w->ntodo > 8)
		return false;
	for (size_t i = 0; i < w->ntodo; i++) {
		const ug_tree_entry *e = &w->tree->entries[w->todo[i]];
		size_t n = plen + (plen > 0) + e->namelen;

		if (n + 1 > *cap) {
			char *k = realloc(*key, n + 64);

			if (!k)
				return false;
			*key = k;
			*cap = n + 64;
		}
		memcpy(*key, wp->path, plen);
		(*key)[plen] = '/';
		memcpy(*key + plen + (plen > 0), e->name, e->namelen);
		(*key)[n] = '\0';
		if (ug_commitgraph_maybe_changed(fs->graph, f->pos, *key, n))
			return false;
	}
	w->lost |= w->nlive > 0;
	return true;
}

/*
 * Walk first parents from cur until every entry is settled and every
 * subfolder entry's history recorded: at each step the folder's tree id here
 * and in the parent (one cached lookup per path component, fewer when a tree
 * on the way is the same), and the entries compared only where the folder
 * changed. Bounded by the history's length (a loop is caught). ids: 2 * (d + 1).
 */
static int walk(struct fs *fs, const struct walkpath *wp, struct fact cur, struct pending *w, ug_oid *ids)
{
	ug_oid *pids = ids + wp->d + 1;
	struct cycle cy = { cur.oid, 1, 0 };
	int err = resolve(fs, wp, &cur.tree, ids, NULL);
	char *key = NULL;
	size_t cap = 0;

	while (!err && !pending_done(w)) {
		struct fact p;
		ug_oid *swap;

		if (cur.root) {
			err = settle_all(w, &cur);
			break;
		}
		err = fact_get(fs, &cur.parent, &p);
		/* a skipped step leaves ids resolving the folder in a newer commit: still
		 * right where the parent's folder has the same id (same entries) */
		if (!err && !untouched(fs, &cur, wp->path) && !entries_untouched(fs, &cur, wp, w, &key, &cap)) {
			err = resolve(fs, wp, &p.tree, pids, ids);
			if (err == UG_ENOTFOUND) { /* created here */
				err = settle_all(w, &cur);
				break;
			}
			if (!err && !ug_oid_equal(&pids[wp->d], &ids[wp->d])) {
				bool done;

				err = take_older(fs, wp, w, &cur.oid, &ids[wp->d], &done);
				if (!err && !done)
					err = settle_changed(fs, w, &ids[wp->d], &pids[wp->d], &cur);
			}
			swap = ids;
			ids = pids;
			pids = swap;
		}
		/* else the folder is the same in the parent: ids stay a valid resolution */
		cur = p;
		if (!err)
			err = cycle_step(&cy, &cur.oid);
	}
	free(key);
	return err;
}

/* The same from the parent folder's events for this folder (h, newest
 * first): only the commits that changed it are visited. */
static int replay(struct fs *fs, const struct walkpath *wp, struct history h, struct pending *w)
{
	const struct event *ev, *prev = NULL;
	int err = 0;

	while (!err && !pending_done(w) && (ev = history_next(&h))) {
		struct fact when = { .oid = ev->commit, .time = ev->time };
		bool done = false;

		/* the version made at ev is the one prev replaced */
		if (prev && (err = take_older(fs, wp, w, &ev->commit, &prev->old, &done)))
			break;
		if (done)
			break;
		if (!ev->present)
			return settle_all(w, &when);
		err = settle_changed(fs, w, prev ? &prev->old : &w->tree->oid, &ev->old, &when);
		prev = ev;
	}
	/* every recorded history ends with a creation or the root commit */
	return err || pending_done(w) ? err : ug_error(UG_ECORRUPT, "a folder's recorded history is cut short");
}

static int pending_init(struct pending *w, struct answer *a, const ug_tree *tree, bool events)
{
	size_t n = tree->count ? tree->count : 1;

	w->tree = tree;
	w->a = a;
	a->pub.tree = tree->oid;
	a->pub.count = tree->count;
	a->pub.times = calloc(n, sizeof(int64_t));
	a->at = calloc(n, sizeof(*a->at));
	w->todo = malloc(n * sizeof(*w->todo));
	w->live = malloc(n * sizeof(*w->live));
	w->liveid = malloc(n * sizeof(*w->liveid));
	w->pmode = malloc(n * sizeof(*w->pmode));
	w->pid = malloc(n * sizeof(*w->pid));
	if (!a->pub.times || !a->at || !w->todo || !w->live || !w->liveid || !w->pmode || !w->pid)
		return UG_ENOMEM;
	/* subfolders' histories are kept also when not wanted: a walk that goes
	 * back to the folder's creation anyway (the root's) has them for free */
	w->want = events;
	a->first = malloc(n * sizeof(*a->first));
	w->last = malloc(n * sizeof(*w->last));
	if (!a->first || !w->last)
		return UG_ENOMEM;
	memset(a->first, 0xff, n * sizeof(*a->first)); /* NONE */
	memset(w->last, 0xff, n * sizeof(*w->last));
	for (size_t i = 0; i < tree->count; i++) {
		w->todo[w->ntodo++] = i;
		if (tree->entries[i].mode == UG_MODE_TREE) {
			w->live[w->nlive++] = i;
			w->liveid[i] = tree->entries[i].oid;
		}
	}
	return 0;
}

/* At the end of a walk: the subfolders' histories are whole (the answer is
 * full), or they are dropped. */
static void answer_close(struct answer *a, const struct pending *w)
{
	a->full = !w->nlive && !w->lost;
	if (!a->full) {
		free(a->ev);
		free(a->first);
		a->ev = NULL;
		a->first = NULL;
		a->nev = 0;
	}
}

/*
 * The answer for the folder at wp whose tree is tree, walked from the commit
 * start (where it last changed, or any commit holding it), or replayed from
 * the parent folder's events for it (pev; NULL: walk). *out has one
 * reference.
 */
static int compute(struct fs *fs, const struct walkpath *wp, const ug_oid *start, const ug_oid *tree,
		   bool events, const struct history *pev, struct answer **out)
{
	struct pending w = { 0 };
	struct answer *a = calloc(1, sizeof(*a));
	ug_oid *ids = malloc(2 * (wp->d + 1) * sizeof(*ids));
	const ug_tree *t = NULL;
	ug_tree *own = NULL;
	struct fact cur;
	int err = a && ids ? scan_new(fs->changes, &w.bases) : UG_ENOMEM;

	if (a)
		a->refs = 1;
	if (!err)
		err = folder_tree(fs, w.bases, tree, &t, &own);
	if (!err) {
		a->commit = *start;
		a->path = strdup(wp->path);
		err = a->path ? pending_init(&w, a, t, events) : UG_ENOMEM;
		w.maxev = fs->changes->limit / sizeof(struct event);
		if (w.maxev < 4096)
			w.maxev = 4096;
		if (w.maxev >= NONE)
			w.maxev = NONE - 1;
	}
	if (!err && pev)
		err = replay(fs, wp, *pev, &w);
	else if (!err && !(err = fact_get(fs, start, &cur)))
		err = walk(fs, wp, cur, &w, ids);
	if (!err)
		answer_close(a, &w);
	if (own)
		ug_tree_free(own);
	else
		treecache_put(fs, t);
	free(w.todo);
	free(w.live);
	free(w.liveid);
	free(w.pmode);
	free(w.pid);
	free(w.last);
	free(w.raw);
	free(w.changes);
	ug_cache_free(w.bases);
	free(ids);
	if (err)
		lastchange_put(fs, a ? &a->pub : NULL); /* and its base */
	else
		*out = a;
	return err;
}

/*
 * Before a folder's answer is computed, the answer of the version it replaced
 * (h: the parent's events for it, the first at start; none for the root):
 * a diff of neighbour snapshots asks for that one too, and the newer answer
 * then takes it over after one step instead of walking the same history a
 * second time. One level only; a failure here is the newer walk's to report.
 */
static void prime_older(struct fs *fs, const struct walkpath *sub, bool events, const ug_oid *start,
			const struct history *h)
{
	struct history rest = h ? *h : (struct history){ 0 }, next;
	const struct event *first = h ? history_next(&rest) : NULL, *second;
	struct answer *o;
	struct fact f, p;
	ug_oid at, tree;

	if (h) {
		next = rest;
		second = first ? history_next(&next) : NULL;
		if (!second || !first->present)
			return;
		at = second->commit;
		tree = first->old;
	} else {
		if (sub->d || fact_get(fs, start, &f) || f.root || fact_get(fs, &f.parent, &p) ||
		    root_change(fs, &p.oid, &f))
			return;
		at = f.oid;
		tree = f.tree;
	}
	o = answer_find(fs->changes, &at, sub->path);
	if (o && ug_oid_equal(&o->pub.tree, &tree) && (o->full || !events)) {
		lastchange_put(fs, &o->pub);
		return;
	}
	lastchange_put(fs, o ? &o->pub : NULL);
	if (!compute(fs, sub, &at, &tree, events, h ? &rest : NULL, &o)) {
		answer_keep(fs->changes, o);
		lastchange_put(fs, &o->pub);
	}
}

/* The cached answer for the folder (its first d components of wp) keyed by
 * the commit start where it last changed, or computed (from the events of
 * parent's entry i when parent is given) and kept. */
static int answer_get(struct fs *fs, const struct walkpath *wp, size_t d, const ug_oid *start,
		      const ug_oid *tree, const struct answer *parent, size_t i, struct answer **out)
{
	struct walkpath sub = *wp;
	size_t len = d ? (size_t)(wp->name[d - 1] + wp->len[d - 1] - wp->path) : 0;
	char *prefix = strndup(wp->path, len);
	struct history h, peek;
	bool had = false;
	int err = 0;

	if (!prefix)
		return UG_ENOMEM;
	sub.path = prefix;
	sub.d = d;
	*out = answer_find(fs->changes, start, prefix);
	if (*out && (!ug_oid_equal(&(*out)->pub.tree, tree) || (d < wp->d && !(*out)->full))) {
		lastchange_put(fs, &(*out)->pub);
		*out = NULL;
	}
	if (parent && parent->first) { /* full: it has events for i, else no history is kept */
		history_start(&h, parent, i);
		peek = h;
		had = history_next(&peek) != NULL;
	}
	if (!*out) {
		prime_older(fs, &sub, d < wp->d, start, had ? &h : NULL);
		err = compute(fs, &sub, start, tree, d < wp->d, had ? &h : NULL, out);
		if (!err)
			answer_keep(fs->changes, *out);
	}
	free(prefix);
	return err;
}

/*
 * From the root down, one folder at a time (no recursion): the root's answer
 * is keyed by the commit where the root last changed, and each folder's by the
 * commit where its parent's answer says it last changed. Nothing below a
 * folder changed between the snapshot and that commit, so every snapshot
 * holding the same version of a folder shares one answer, and the parent's
 * events for it list the only commits its own answer needs to look at.
 * The answers up to depth upto (at most wp->d; those above wp->d's folder
 * list their subfolders' changes). ids: d + 1.
 */
static int answer_chain(struct fs *fs, const struct walkpath *wp, size_t upto, const ug_oid *commit,
			ug_oid *ids, struct answer **out)
{
	struct answer *parent = NULL;
	struct fact f;
	ug_oid start;
	size_t i = 0;
	int err = root_change(fs, commit, &f);

	if (!err)
		err = resolve(fs, wp, &f.tree, ids, NULL);
	start = f.oid;
	*out = NULL;
	for (size_t k = 0; !err && k <= upto; k++) {
		const ug_tree *t;
		const ug_tree_entry *e;

		err = answer_get(fs, wp, k, &start, &ids[k], parent, i, out);
		lastchange_put(fs, parent ? &parent->pub : NULL);
		parent = *out;
		if (err || k == upto)
			break;
		err = treecache_get(fs, &ids[k], &t);
		if (err)
			break;
		e = ug_tree_find(t, wp->name[k], wp->len[k]);
		i = e ? (size_t)(e - t->entries) : 0;
		if (e && i < parent->pub.count)
			start = parent->at[i];
		else
			err = UG_ENOTFOUND;
		treecache_put(fs, t);
	}
	if (err && parent) {
		lastchange_put(fs, &parent->pub);
		*out = NULL;
	}
	return err;
}

int lastchange_folder(struct fs *fs, const ug_oid *commit, const char *path, const ug_oid *tree,
		      const struct lc_times **out)
{
	struct walkpath wp;
	struct answer *a = NULL;
	ug_oid *ids;
	int err = walkpath_init(&wp, path);

	if (err)
		return err;
	ids = malloc((wp.d + 1) * sizeof(*ids));
	err = ids ? answer_chain(fs, &wp, wp.d, commit, ids, &a) : UG_ENOMEM;
	if (!err && !ug_oid_equal(&a->pub.tree, tree)) {
		/* not the folder of that snapshot: answer it directly */
		lastchange_put(fs, &a->pub);
		a = NULL;
		err = UG_ENOTFOUND;
	}
	if (err == UG_ENOTFOUND) {
		err = compute(fs, &wp, commit, tree, false, NULL, &a);
		if (!err)
			answer_keep(fs->changes, a);
	}
	if (!err)
		*out = &a->pub;
	free(ids);
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

/* The entry name (len bytes) of the parsed tree folder, into h. */
static int held_parsed(struct fs *fs, const ug_oid *folder, const char *name, size_t len, struct held *h)
{
	const ug_tree *t;
	const ug_tree_entry *e;
	int err = treecache_get(fs, folder, &t);

	if (err)
		return err;
	e = ug_tree_find(t, name, len);
	h->present = e != NULL;
	if (e) {
		h->mode = e->mode;
		h->oid = e->oid;
	}
	treecache_put(fs, t);
	return 0;
}

/* The entry at wp/name in commit; prev (the neighbour's) lets equal trees skip lookups. */
static int held_at(struct fs *fs, const struct walkpath *wp, const char *name, const ug_oid *commit,
		   struct held *h, const struct held *prev)
{
	struct fact f;
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
	return held_parsed(fs, &h->ids[wp->d], name, strlen(name), h);
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

/* A version of a folder: made at commit, with tree id tree. */
struct fversion {
	ug_oid commit, tree;
};

static int fversion_add(struct fversion **v, size_t *n, size_t *cap, const ug_oid *commit, const ug_oid *tree)
{
	struct fversion *m = ug_array_grow(*v, cap, *n + 1, sizeof(*m), 64);

	if (!m)
		return UG_ENOMEM;
	*v = m;
	(*v)[*n].commit = *commit;
	(*v)[*n].tree = *tree;
	(*n)++;
	return 0;
}

/* The root's versions from tip down its first parents, newest first, the
 * last made by the root commit: the commits whose tree differs from their
 * first parent's (commit facts only). */
static int root_versions(struct fs *fs, const ug_oid *tip, struct fversion **v, size_t *n)
{
	struct fact cur, p;
	struct cycle cy = { *tip, 1, 0 };
	size_t cap = 0;
	int err = fact_get(fs, tip, &cur);

	while (!err) {
		if (cur.root)
			return fversion_add(v, n, &cap, &cur.oid, &cur.tree);
		err = fact_get(fs, &cur.parent, &p);
		if (!err && !ug_oid_equal(&p.tree, &cur.tree))
			err = fversion_add(v, n, &cap, &cur.oid, &cur.tree);
		cur = p;
		if (!err)
			err = cycle_step(&cy, &cur.oid);
	}
	return err;
}

/* A folder's versions from its parent folder's answer (its events for it),
 * newest first, the last one where it was created. UG_ENOTFOUND when that
 * answer does not list them (over its budget, or a history cut short). */
static int folder_versions(struct fs *fs, const struct walkpath *wp, const ug_oid *tip, struct fversion **v,
			   size_t *n)
{
	ug_oid *ids = malloc((wp->d + 1) * sizeof(*ids));
	struct answer *parent = NULL;
	const ug_tree *t = NULL;
	const ug_tree_entry *e = NULL;
	const struct event *ev, *prev = NULL;
	struct history h;
	size_t cap = 0;
	int err = ids ? answer_chain(fs, wp, wp->d - 1, tip, ids, &parent) : UG_ENOMEM;

	if (!err && !(err = treecache_get(fs, &ids[wp->d - 1], &t)))
		e = ug_tree_find(t, wp->name[wp->d - 1], wp->len[wp->d - 1]);
	if (!err && (!e || !parent->full))
		err = UG_ENOTFOUND;
	if (!err)
		history_start(&h, parent, (size_t)(e - t->entries));
	for (; !err && (ev = history_next(&h)); prev = ev)
		err = fversion_add(v, n, &cap, &ev->commit, prev ? &prev->old : &ids[wp->d]);
	if (!err && (!prev || prev->present)) /* the last one must be the creation */
		err = UG_ENOTFOUND;
	treecache_put(fs, t);
	lastchange_put(fs, parent ? &parent->pub : NULL);
	free(ids);
	return err;
}

/* The entry name of the tree folder, from its stored bytes (past the caches,
 * as a walk reads each version once), else from the parsed tree. */
static int entry_in(struct fs *fs, ug_cache *bases, const ug_oid *folder, const char *name, struct held *h)
{
	unsigned char *data;
	size_t size, pos = 0, len = strlen(name);
	ug_tree_entry raw;
	int r = -1;

	h->present = false;
	if (tree_bytes(fs, bases, folder, &data, &size)) {
		while ((r = ug_tree_next_raw(data, size, &pos, ug_odb_algo(ug_repo_odb(fs->repo)), &raw)) == 0) {
			if (raw.namelen == len && !memcmp(raw.name, name, len)) {
				h->present = true;
				h->mode = raw.mode;
				h->oid = raw.oid;
				break;
			}
		}
	}
	free(data);
	return r >= 0 ? 0 /* found, or scanned to a clean end */ : held_parsed(fs, folder, name, len, h);
}

/* Find commit in l below *j (searching down, as versions come newest first). */
static int index_of(const struct loglist *l, const ug_oid *commit, size_t *j, size_t *out)
{
	while (*j > 0) {
		if (ug_oid_equal(&l->oids[--*j], commit)) {
			*out = *j;
			return 0;
		}
	}
	return UG_ENOTFOUND;
}

/*
 * A file's versions from its folder's versions (vs, newest first): the
 * versions of the folder where the file is present and differs from the
 * version before, as indices into l (oldest first). UG_ENOTFOUND when a
 * commit is not on l.
 */
static int file_versions(struct fs *fs, const struct loglist *l, const struct fversion *vs, size_t nv,
			 const char *name, size_t *out, size_t *count)
{
	struct held now = { 0 }, older = { 0 };
	size_t j = l->count, n = 0;
	ug_cache *bases;
	int err = scan_new(fs->changes, &bases);

	for (size_t k = 0; !err && k < nv; k++) {
		err = entry_in(fs, bases, &vs[k].tree, name, k ? &older : &now);
		if (err || !k)
			continue;
		if (now.present && held_differ(&now, &older))
			err = index_of(l, &vs[k - 1].commit, &j, &out[n++]);
		now = older;
	}
	if (!err && nv && now.present)
		err = index_of(l, &vs[nv - 1].commit, &j, &out[n++]);
	for (size_t a = 0; !err && a < n / 2; a++) {
		size_t x = out[a];

		out[a] = out[n - 1 - a];
		out[n - 1 - a] = x;
	}
	ug_cache_free(bases);
	*count = n;
	return err;
}

/* Versions among l's commits [0, end), commit by commit (path's folder
 * resolved in each; a changed-path filter skips commits). */
static int walk_versions(struct fs *fs, const struct loglist *l, const struct walkpath *wp, const char *name,
			 const char *path, size_t end, size_t *out, size_t *count)
{
	struct held h[2] = { 0 };
	int err = 0;

	h[0].ids = malloc(2 * (wp->d + 1) * sizeof(ug_oid));
	h[1].ids = h[0].ids ? h[0].ids + wp->d + 1 : NULL;
	if (!h[0].ids)
		return UG_ENOMEM;
	for (size_t i = 0; !err && i < end; i++) {
		struct held *now = &h[i & 1], *prev = i ? &h[(i - 1) & 1] : NULL;
		struct fact f;

		if (prev && !fact_get(fs, &l->oids[i], &f) && untouched(fs, &f, path)) {
			held_copy(now, prev, wp->d);
			continue;
		}
		err = held_at(fs, wp, name, &l->oids[i], now, prev);
		if (!err && now->present && (!prev || held_differ(now, prev)))
			out[(*count)++] = i;
	}
	free(h[0].ids);
	return err;
}

/* Versions from the folder's own versions (root_versions, folder_versions)
 * where they reach: *from, the index in l of the folder's creation there (0:
 * the root commit); l's commits below it are the caller's to walk. */
static int event_versions(struct fs *fs, const struct loglist *l, const struct walkpath *wp, const char *name,
			  size_t *out, size_t *count, size_t *from)
{
	struct fversion *vs = NULL;
	size_t nv = 0;
	struct fact f;
	int err;

	*from = l->count;
	*count = 0;
	if (!l->count)
		return 0;
	err = wp->d ? folder_versions(fs, wp, &l->oids[l->count - 1], &vs, &nv)
		    : root_versions(fs, &l->oids[l->count - 1], &vs, &nv);
	if (!err)
		err = file_versions(fs, l, vs, nv, name, out, count);
	if (!err && nv && !(err = fact_get(fs, &vs[nv - 1].commit, &f))) {
		size_t j = l->count;

		if (f.root)
			*from = 0;
		else
			err = index_of(l, &vs[nv - 1].commit, &j, from);
	}
	free(vs);
	if (err)
		*count = 0;
	return err == UG_ENOTFOUND ? 0 : err;
}

int lastchange_versions(struct fs *fs, const struct loglist *l, const char *path, size_t **out, size_t *count)
{
	struct walkpath wp;
	const char *name;
	char *buf;
	size_t *ev = NULL, nev = 0, from = l->count, n = 0;
	int err = split_file(path, &buf, &wp, &name);

	if (err)
		return err;
	*out = malloc((l->count ? l->count : 1) * sizeof(**out));
	ev = malloc((l->count ? l->count : 1) * sizeof(*ev));
	err = *out && ev ? event_versions(fs, l, &wp, name, ev, &nev, &from) : UG_ENOMEM;
	if (!err)
		err = walk_versions(fs, l, &wp, name, path, from, *out, &n);
	if (!err) {
		memcpy(*out + n, ev, nev * sizeof(*ev));
		n += nev;
	}
	free(ev);
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
