/* The pack backend: every .idx in objects/pack, rescanned on refresh, shared with readers by reference counts. */
#include "odb_backend.h"

#include "array.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "pack.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One pack file name and its open pack (NULL when it would not open: not
 * retried, so the log says so once). */
struct packref {
	atomic_int refs;
	ug_pack *pack;
	char *name;
};

/*
 * A snapshot of the packs. Readers take a reference to the current list and
 * use its packs without a lock; refresh swaps in a new list and drops the
 * old one, so a deleted pack is unmapped only after its last reader is done.
 */
struct plist {
	atomic_int refs;
	size_t n;
	struct packref **v;
};

struct pack_backend {
	ug_odb_backend base;
	char *dir; /* objects/pack */
	ug_hash_algo algo;
	pthread_mutex_t lock;    /* guards list */
	pthread_mutex_t refresh; /* one rescan at a time */
	struct plist *list;
	atomic_size_t mru; /* index of the pack that answered last: consecutive reads cluster */
	ug_pack_resolver res; /* REF_DELTA bases elsewhere and the delta-base cache: the odb's */
};

static void packref_put(struct packref *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
		ug_pack_free(r->pack);
		free(r->name);
		free(r);
	}
}

static void plist_put(struct plist *l)
{
	if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
		for (size_t i = 0; i < l->n; i++)
			packref_put(l->v[i]);
		free(l->v);
		free(l);
	}
}

static struct plist *plist_get(struct pack_backend *pb)
{
	struct plist *l;

	pthread_mutex_lock(&pb->lock);
	l = pb->list;
	atomic_fetch_add(&l->refs, 1);
	pthread_mutex_unlock(&pb->lock);
	return l;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names gathered from a folder. */
struct names {
	char **v;
	size_t n, cap;
};

/* Keep an .idx name. */
static int add_idx(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct names *l = arg;
	size_t len = strlen(name);
	char **nv;

	(void)dirfd;
	(void)type;
	if (len < 5 || name[0] == '.' || strcmp(name + len - 4, ".idx"))
		return 0;
	if (!(nv = ug_array_grow(l->v, &l->cap, l->n + 1, sizeof(*nv), 16)))
		return UG_ENOMEM;
	l->v = nv;
	if (!(l->v[l->n] = strdup(name)))
		return UG_ENOMEM;
	l->n++;
	return 0;
}

/* The .idx names in dir, sorted; a missing directory has none. */
static int list_idx(const char *dir, char ***out, size_t *count)
{
	struct names l = { 0 };
	int err = ug_fileio_dir_each(dir, add_idx, &l);

	*out = NULL;
	*count = 0;
	if (err == UG_ENOTFOUND)
		return 0;
	if (err) {
		while (l.n)
			free(l.v[--l.n]);
		free(l.v);
		return err == UG_ENOMEM ? ug_error(UG_ENOMEM, "cannot list %s", dir) : err;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	*out = l.v;
	*count = l.n;
	return 0;
}

static struct packref *open_ref(struct pack_backend *pb, char *name)
{
	char path[PATH_MAX];
	struct packref *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	atomic_init(&r->refs, 1);
	r->name = name;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", pb->dir, name) >= sizeof(path))
		err = ug_error(UG_EINVALID, "%s/%s: path too long", pb->dir, name);
	else
		err = ug_pack_open(&r->pack, path, pb->algo);
	if (err == UG_ENOTFOUND) {
		/* The .pack is not there (yet): try again at the next refresh. */
		free(r);
		return NULL;
	}
	if (err)
		ug_log(UG_LOG_ERROR, "pack ignored: %s", ug_error_last());
	return r;
}

static int pack_refresh(ug_odb_backend *b)
{
	struct pack_backend *pb = (struct pack_backend *)b;
	struct plist *old, *nl;
	char **names;
	size_t count;
	int err;

	pthread_mutex_lock(&pb->refresh);
	if ((err = list_idx(pb->dir, &names, &count))) {
		pthread_mutex_unlock(&pb->refresh);
		return err;
	}
	old = pb->list; /* only refresh replaces it, and we hold the refresh lock */
	nl = calloc(1, sizeof(*nl));
	if (!nl || (count && !(nl->v = calloc(count, sizeof(*nl->v))))) {
		free(nl);
		for (size_t i = 0; i < count; i++)
			free(names[i]);
		free(names);
		pthread_mutex_unlock(&pb->refresh);
		return ug_error(UG_ENOMEM, "cannot list packs");
	}
	atomic_init(&nl->refs, 1);
	for (size_t i = 0; i < count; i++) {
		struct packref *r = NULL;

		for (size_t k = 0; old && k < old->n && !r; k++)
			if (!strcmp(old->v[k]->name, names[i]))
				r = old->v[k];
		if (r) {
			atomic_fetch_add(&r->refs, 1);
			free(names[i]);
		} else if (!(r = open_ref(pb, names[i]))) {
			free(names[i]);
			continue;
		}
		nl->v[nl->n++] = r;
	}
	free(names);
	pthread_mutex_lock(&pb->lock);
	pb->list = nl;
	pthread_mutex_unlock(&pb->lock);
	pthread_mutex_unlock(&pb->refresh);
	plist_put(old);
	return 0;
}

/* Find oid, trying the last pack that answered first. */
static ug_pack *locate(struct pack_backend *pb, struct plist *l, const ug_oid *oid, uint64_t *off,
		       int *err)
{
	size_t mru = atomic_load_explicit(&pb->mru, memory_order_relaxed);

	*err = UG_ENOTFOUND;
	for (size_t k = 0; k <= l->n; k++) {
		size_t i = k == 0 ? mru : k - 1;
		ug_pack *p;

		if (i >= l->n || (k > 0 && i == mru) || !(p = l->v[i]->pack))
			continue;
		*err = ug_pack_find(p, oid, off);
		if (*err == UG_ENOTFOUND)
			continue;
		if (i != mru)
			atomic_store_explicit(&pb->mru, i, memory_order_relaxed);
		return *err ? NULL : p;
	}
	return NULL;
}

/* The delta-base cache of this thread's scan (ug_odb_read_scan), or NULL. */
static _Thread_local ug_cache *scan_bases;

void ug_odb_pack_scan(ug_cache *bases)
{
	scan_bases = bases;
}

static int pack_read(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, unsigned char **data,
		     size_t *size)
{
	struct pack_backend *pb = (struct pack_backend *)b;
	struct plist *l = plist_get(pb);
	ug_pack_resolver res = pb->res;
	uint64_t off;
	int err;
	ug_pack *p = locate(pb, l, oid, &off, &err);

	if (scan_bases) { /* the scan's own: what it makes it reads next */
		res.bases = scan_bases;
		res.bases_again = false;
	}
	if (p)
		err = ug_pack_read(p, &res, off, oid, type, data, size);
	plist_put(l);
	return err;
}

static int pack_read_header(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, size_t *size)
{
	struct pack_backend *pb = (struct pack_backend *)b;
	struct plist *l = plist_get(pb);
	uint64_t off;
	int err;
	ug_pack *p = locate(pb, l, oid, &off, &err);

	if (p)
		err = ug_pack_read_header(p, &pb->res, off, oid, type, size);
	plist_put(l);
	return err;
}

static void packref_release(void *arg)
{
	packref_put(arg);
}

/* The stream keeps its pack mapped (a reference) until it is freed. */
static int pack_stream(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, size_t *size,
		       ug_zstream **out)
{
	struct pack_backend *pb = (struct pack_backend *)b;
	struct plist *l = plist_get(pb);
	struct packref *r = NULL;
	uint64_t off;
	int err;
	ug_pack *p = locate(pb, l, oid, &off, &err);

	*out = NULL;
	for (size_t i = 0; p && i < l->n && !r; i++)
		if (l->v[i]->pack == p)
			r = l->v[i];
	if (r) {
		atomic_fetch_add(&r->refs, 1);
		err = ug_pack_stream(p, off, oid, type, size, out, packref_release, r);
	}
	plist_put(l);
	return err;
}

static int pack_find_prefix(ug_odb_backend *b, const ug_oid *prefix, size_t len, ug_oid *found,
			    int *count)
{
	struct pack_backend *pb = (struct pack_backend *)b;
	struct plist *l = plist_get(pb);

	for (size_t i = 0; i < l->n && *count < 2; i++)
		if (l->v[i]->pack)
			ug_pack_find_prefix(l->v[i]->pack, prefix, len, found, count);
	plist_put(l);
	return 0;
}

static int pack_hash(ug_odb_backend *b, ug_oid *out, ug_otype type, const void *data, size_t len)
{
	return ug_hash_object(out, ((struct pack_backend *)b)->algo, type, data, len);
}

static void pack_free(ug_odb_backend *b)
{
	struct pack_backend *pb = (struct pack_backend *)b;

	plist_put(pb->list);
	pthread_mutex_destroy(&pb->lock);
	pthread_mutex_destroy(&pb->refresh);
	free(pb->dir);
	free(pb);
}

int ug_odb_pack_new(ug_odb_backend **out, const char *objects_dir, ug_hash_algo algo,
		    const ug_pack_resolver *res)
{
	struct pack_backend *pb = calloc(1, sizeof(*pb));
	int err;

	*out = NULL;
	if (!pb)
		return ug_error(UG_ENOMEM, "cannot allocate a pack backend");
	pb->list = calloc(1, sizeof(*pb->list));
	pb->dir = malloc(strlen(objects_dir) + sizeof("/pack"));
	if (!pb->list || !pb->dir) {
		free(pb->list);
		free(pb->dir);
		free(pb);
		return ug_error(UG_ENOMEM, "cannot allocate a pack backend");
	}
	sprintf(pb->dir, "%s/pack", objects_dir);
	atomic_init(&pb->list->refs, 1);
	atomic_init(&pb->mru, 0);
	pb->algo = algo;
	pb->res = *res;
	pthread_mutex_init(&pb->lock, NULL);
	pthread_mutex_init(&pb->refresh, NULL);
	pb->base.read = pack_read;
	pb->base.read_header = pack_read_header;
	pb->base.stream = pack_stream;
	pb->base.find_prefix = pack_find_prefix;
	pb->base.hash = pack_hash;
	pb->base.refresh = pack_refresh;
	pb->base.free = pack_free;
	if ((err = pack_refresh(&pb->base))) {
		pack_free(&pb->base);
		return err;
	}
	*out = &pb->base;
	return 0;
}
