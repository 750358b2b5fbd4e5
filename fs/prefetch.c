/* Partial clones: a folder's missing objects fetched in one request, and a listed folder's subtree in the background. */
#include "fs_internal.h"
#include "work.h"

#include "array.h"
#include "error.h"
#include "log.h"
#include "promisor.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Folders whose entries are all present (a power of two; forgotten when 3/4 full). */
#define SEEN_SLOTS 16384
/* Folders waiting for the background walk of their subtree. */
#define QUEUE_MAX 256
/* The background budget per listed folder: objects fetched and trees visited,
 * so that listing the top of a monorepo does not download all of it. */
#define WALK_OBJECTS 20000
#define WALK_TREES 20000
/* Objects per background request: big enough that the cost of starting a
 * fetch is shared, small enough that the first folders arrive early. */
#define CHUNK 1000

struct prefetch {
	ug_promisor *promisor; /* borrowed from the repository */
	pthread_mutex_t lock;  /* everything below */
	pthread_cond_t cond;
	ug_oid *seen;          /* open addressing; the zero id marks an empty slot */
	size_t nseen;
	ug_oid queue[QUEUE_MAX];
	size_t qhead, qlen;
	_Atomic bool stop;     /* also read by walks without the lock */
	bool running;
	pthread_t thread;
};

/* A growing array of ids. */
struct oids {
	ug_oid *v;
	size_t n, cap;
};

static int oids_add(struct oids *a, const ug_oid *oid)
{
	ug_oid *v = ug_array_grow(a->v, &a->cap, a->n + 1, sizeof(*v), 64);

	if (!v)
		return UG_ENOMEM;
	a->v = v;
	a->v[a->n++] = *oid;
	return 0;
}

static size_t slot_of(const ug_oid *oid)
{
	uint64_t h;

	memcpy(&h, oid->id, sizeof(h));
	return (size_t)h & (SEEN_SLOTS - 1);
}

static bool is_empty(const ug_oid *oid)
{
	static const ug_oid zero;

	return !memcmp(oid->id, zero.id, sizeof(zero.id));
}

/* Under the lock. */
static bool seen_has(struct prefetch *p, const ug_oid *oid)
{
	for (size_t i = slot_of(oid);; i = (i + 1) & (SEEN_SLOTS - 1)) {
		if (ug_oid_equal(&p->seen[i], oid))
			return true;
		if (is_empty(&p->seen[i]))
			return false;
	}
}

/* Under the lock. */
static void seen_add(struct prefetch *p, const ug_oid *oid)
{
	size_t i;

	if (seen_has(p, oid))
		return;
	if (p->nseen >= SEEN_SLOTS / 4 * 3) {
		memset(p->seen, 0, SEEN_SLOTS * sizeof(*p->seen));
		p->nseen = 0;
	}
	for (i = slot_of(oid); !is_empty(&p->seen[i]); i = (i + 1) & (SEEN_SLOTS - 1))
		;
	p->seen[i] = *oid;
	p->nseen++;
}

static bool is_seen(struct prefetch *p, const ug_oid *oid)
{
	bool r;

	pthread_mutex_lock(&p->lock);
	r = seen_has(p, oid);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* The entries of tree that are not here: blobs and symlinks, and folders too
 * (a tree:0 clone); trees into trees when want_trees, the rest into blobs. */
static int missing_entries(struct fs *fs, const ug_tree *tree, struct oids *trees, struct oids *blobs)
{
	ug_odb *odb = ug_repo_odb(fs->repo);
	int err = 0;

	for (size_t i = 0; i < tree->count && !err; i++) {
		const ug_tree_entry *e = &tree->entries[i];

		if (e->mode == UG_MODE_GITLINK || ug_odb_exists_local(odb, &e->oid))
			continue;
		err = oids_add(e->mode == UG_MODE_TREE && trees ? trees : blobs, &e->oid);
	}
	return err;
}

static void enqueue(struct prefetch *p, const ug_oid *oid)
{
	pthread_mutex_lock(&p->lock);
	if (p->running && p->qlen < QUEUE_MAX) {
		p->queue[(p->qhead + p->qlen++) % QUEUE_MAX] = *oid;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

/* The missing entries of one folder in one request; true when it was done now. */
static bool fetch_folder(struct fs *fs, const ug_tree *tree)
{
	struct prefetch *p = fs->prefetch;
	struct oids want = { 0 };
	int err;

	if (!p || is_seen(p, &tree->oid))
		return false;
	err = missing_entries(fs, tree, NULL, &want);
	if (!err && want.n)
		err = ug_promisor_fetch(p->promisor, want.v, want.n);
	free(want.v);
	if (err)
		return false; /* the reads that need them report it */
	pthread_mutex_lock(&p->lock);
	seen_add(p, &tree->oid);
	pthread_mutex_unlock(&p->lock);
	return true;
}

void prefetch_folder(struct fs *fs, const ug_tree *tree)
{
	bool folders = false;

	if (!fetch_folder(fs, tree))
		return;
	for (size_t i = 0; i < tree->count && !folders; i++)
		folders = tree->entries[i].mode == UG_MODE_TREE;
	if (folders)
		enqueue(fs->prefetch, &tree->oid);
}

/* Fetch what of want is still missing (another thread may have fetched it meanwhile). */
static int flush(struct fs *fs, struct prefetch *p, struct oids *want)
{
	ug_odb *odb = ug_repo_odb(fs->repo);
	size_t k = 0;
	int err = 0;

	for (size_t i = 0; i < want->n; i++)
		if (!ug_odb_exists_local(odb, &want->v[i]))
			want->v[k++] = want->v[i];
	if (k)
		err = ug_promisor_fetch(p->promisor, want->v, k);
	want->n = 0;
	return err;
}

/* Visit one tree of the walk: queue its folders, gather its missing objects. */
static int visit(struct fs *fs, struct prefetch *p, const ug_oid *oid, struct oids *trees, struct oids *want,
		 size_t *total)
{
	struct oids subtrees = { 0 };
	ug_tree *tree;
	int err = ug_tree_lookup(&tree, fs->repo, oid);

	if (err)
		return err;
	/* a tree:0 clone lacks the folders too: one request for those of this folder */
	err = missing_entries(fs, tree, &subtrees, want);
	if (!err && subtrees.n)
		err = ug_promisor_fetch(p->promisor, subtrees.v, subtrees.n);
	for (size_t i = 0; i < tree->count && !err && trees->n <= WALK_TREES; i++)
		if (tree->entries[i].mode == UG_MODE_TREE)
			err = oids_add(trees, &tree->entries[i].oid);
	*total += subtrees.n;
	free(subtrees.v);
	ug_tree_free(tree);
	if (!err && want->n >= CHUNK) {
		*total += want->n;
		err = flush(fs, p, want);
	}
	return err;
}

/* Fetch the missing objects below root, breadth first (nearest folders first),
 * within the budget. When all of it was done, its folders count as seen. */
static void walk(struct fs *fs, struct prefetch *p, const ug_oid *root)
{
	struct oids trees = { 0 }, want = { 0 };
	size_t total = 0, i;
	int err = oids_add(&trees, root);

	for (i = 0; !err && i < trees.n && !p->stop; i++) {
		if (trees.n > WALK_TREES || total + want.n > WALK_OBJECTS)
			break;
		if (i > 0 && is_seen(p, &trees.v[i]))
			continue;
		err = visit(fs, p, &trees.v[i], &trees, &want, &total);
	}
	if (!err)
		err = flush(fs, p, &want);
	if (!err && i == trees.n) {
		pthread_mutex_lock(&p->lock);
		for (size_t k = 0; k < trees.n; k++)
			seen_add(p, &trees.v[k]);
		pthread_mutex_unlock(&p->lock);
	}
	free(trees.v);
	free(want.v);
}

static void *worker(void *arg)
{
	struct fs *fs = arg;
	struct prefetch *p = fs->prefetch;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		ug_oid root;

		if (!p->qlen) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		root = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % QUEUE_MAX;
		p->qlen--;
		pthread_mutex_unlock(&p->lock);
		walk(fs, p, &root);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int prefetch_start(struct fs *fs)
{
	ug_promisor *promisor = ug_repo_promisor(fs->repo);
	struct prefetch *p;
	const char *filter;

	if (!promisor)
		return 0;
	ug_promisor_set_timeout(promisor, fs->opts.fetch_timeout);
	filter = ug_promisor_filter(promisor);
	ug_log(UG_LOG_INFO, "%s is a partial clone: missing objects are fetched from remote '%s'%s%s%s",
	       ug_repo_gitdir(fs->repo), ug_promisor_remote(promisor), *filter ? " (filter " : "", filter,
	       *filter ? ")" : "");
	p = calloc(1, sizeof(*p));
	if (!p || !(p->seen = calloc(SEEN_SLOTS, sizeof(*p->seen)))) {
		free(p);
		return ug_error(UG_ENOMEM, "cannot start prefetching: out of memory");
	}
	p->promisor = promisor;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	fs->prefetch = p;
	if (pthread_create(&p->thread, NULL, worker, fs) == 0)
		p->running = true;
	else
		ug_log(UG_LOG_WARNING, "no background prefetch: cannot start a thread");
	return 0;
}

void prefetch_stop(struct fs *fs)
{
	struct prefetch *p = fs->prefetch;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->running)
		pthread_join(p->thread, NULL);
	fs->prefetch = NULL;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->seen);
	free(p);
}

/* The base folder behind rel in work/ (or behind rel/name when name), if any. */
static bool work_below(struct fs *fs, fuse_ino_t dir, const char *name, ug_oid *tree)
{
	struct work *w = fs->work;
	struct wres r;
	bool below;
	char *rel = node_path(fs, dir), *full = NULL;

	if (!rel)
		return false;
	if (name && asprintf(&full, "%s%s%s", rel, *rel ? "/" : "", name) < 0) {
		free(rel);
		return false;
	}
	/* the lock only to read the overlay: a fetch must not hold back a sync */
	pthread_rwlock_rdlock(&w->lock);
	below = work_resolve(w, full ? full : rel, &r) == 0 && r.below;
	pthread_rwlock_unlock(&w->lock);
	free(rel);
	free(full);
	if (below)
		*tree = r.below_tree;
	return below;
}

void prefetch_work(struct fs *fs, fuse_ino_t dir)
{
	const ug_tree *tree;
	ug_oid oid;

	if (!fs->prefetch || !fs->work || !work_below(fs, dir, NULL, &oid) || treecache_get(fs, &oid, &tree))
		return;
	/* only this folder: what work/ does elsewhere reads nothing else of the base */
	fetch_folder(fs, tree);
	treecache_put(fs, tree);
}

void prefetch_work_subtree(struct fs *fs, fuse_ino_t dir, const char *name)
{
	ug_oid oid;

	if (fs->prefetch && fs->work && work_below(fs, dir, name, &oid))
		walk(fs, fs->prefetch, &oid);
}
