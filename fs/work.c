/* The working view's overlay: pending changes in a real folder (upper) over the base commit's tree (lower). */
#include "fs_internal.h"
#include "work.h"

#include "array.h"
#include "error.h"
#include "fileio.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Layout under upper/: files and folders as the user made them, plus markers
 * (names starting with ".ugitfs-", which work/ never shows):
 *   DIR/.ugitfs-wh.NAME   NAME of the base tree is deleted here
 *   DIR/.ugitfs-wl.HASH   the same for a NAME too long for that; the file holds NAME
 *   DIR/.ugitfs-opaque    nothing of the base tree shows below DIR
 */
/*
 * Calls on upper/ by a path below it. A folder is reached one component at a
 * time from upper/ (or, for paths the kernel takes whole, with openat2 kept
 * beneath upper/), never through a symlink: the daemon runs as root and a
 * user makes symlinks in work/. Each call acts on the last component from its
 * folder's descriptor, so depth is not limited by PATH_MAX. Each returns what
 * the system call would (-1 with errno set on failure).
 */
static int walk_dir(int from, const char *dir, size_t len)
{
	int fd = from;

	while (len) {
		const char *slash = memchr(dir, '/', len);
		size_t n = slash ? (size_t)(slash - dir) : len;
		char name[NAME_MAX + 1];
		int next;

		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			next = -1;
		} else {
			memcpy(name, dir, n);
			name[n] = '\0';
			next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd != from) {
			int e = errno;

			close(fd);
			errno = e;
		}
		if (next < 0)
			return -1;
		fd = next;
		dir += n + (slash != NULL);
		len -= n + (slash != NULL);
	}
	return fd == from ? openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : fd;
}

/* A new descriptor of upper folder dir (its first len bytes; "" is upper/). */
static int open_dir(struct work *w, const char *dir, size_t len)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	char path[PATH_MAX];
	long fd;

	if (len && len < sizeof(path)) {
		memcpy(path, dir, len);
		path[len] = '\0';
		fd = syscall(SYS_openat2, w->upper_fd, path, &how, sizeof(how));
		if (fd >= 0 || (errno != ENOSYS && errno != EAGAIN && errno != EPERM))
			return (int)fd;
	}
	return walk_dir(w->upper_fd, dir, len);
}

/* The folder holding rel (a descriptor for the caller to close with
 * up_done) and rel's last component. */
static int up_parent(struct work *w, const char *rel, const char **name)
{
	const char *slash = strrchr(rel, '/');

	*name = slash ? slash + 1 : *rel ? rel : ".";
	if (strlen(*name) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return slash ? open_dir(w, rel, (size_t)(slash - rel)) : w->upper_fd;
}

static void up_done(struct work *w, int fd)
{
	int e = errno;

	if (fd >= 0 && fd != w->upper_fd)
		close(fd);
	errno = e;
}

int up_open(struct work *w, const char *rel, int flags, mode_t mode)
{
	const char *name;
	int dir = up_parent(w, rel, &name), fd;

	fd = dir < 0 ? -1 : openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	up_done(w, dir);
	return fd;
}

int up_stat(struct work *w, const char *rel, struct stat *st)
{
	const char *name;
	int dir = up_parent(w, rel, &name), ret;

	ret = dir < 0 ? -1 : fstatat(dir, name, st, AT_SYMLINK_NOFOLLOW);
	up_done(w, dir);
	return ret;
}

int up_unlink(struct work *w, const char *rel, int flags)
{
	const char *name;
	int dir = up_parent(w, rel, &name), ret;

	ret = dir < 0 ? -1 : unlinkat(dir, name, flags);
	up_done(w, dir);
	return ret;
}

int up_mkdir(struct work *w, const char *rel, mode_t mode)
{
	const char *name;
	int dir = up_parent(w, rel, &name), ret;

	ret = dir < 0 ? -1 : mkdirat(dir, name, mode);
	up_done(w, dir);
	return ret;
}

int up_symlink(struct work *w, const char *target, const char *rel)
{
	const char *name;
	int dir = up_parent(w, rel, &name), ret;

	ret = dir < 0 ? -1 : symlinkat(target, dir, name);
	up_done(w, dir);
	return ret;
}

ssize_t up_readlink(struct work *w, const char *rel, char *buf, size_t size)
{
	const char *name;
	int dir = up_parent(w, rel, &name);
	ssize_t ret = dir < 0 ? -1 : readlinkat(dir, name, buf, size);

	up_done(w, dir);
	return ret;
}

int up_utimens(struct work *w, const char *rel, const struct timespec ts[2])
{
	const char *name;
	int dir = up_parent(w, rel, &name), ret;

	ret = dir < 0 ? -1 : utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW);
	up_done(w, dir);
	return ret;
}

/* rename from (below upper/) to to_dir/to_name, or with to_dir -1, to the upper path to. */
int up_rename(struct work *w, const char *from, int to_dir, const char *to)
{
	const char *fname, *tname = to;
	int fdir = up_parent(w, from, &fname), tdir = to_dir < 0 && fdir >= 0 ? up_parent(w, to, &tname) : to_dir;
	int ret = fdir < 0 || tdir < 0 ? -1 : renameat(fdir, fname, tdir, tname);

	if (to_dir < 0)
		up_done(w, tdir);
	up_done(w, fdir);
	return ret;
}

/* A second name for from (below upper/) at to_dir/to; the last component is not followed. */
int up_link(struct work *w, const char *from, int to_dir, const char *to)
{
	const char *fname;
	int fdir = up_parent(w, from, &fname), ret = fdir < 0 ? -1 : linkat(fdir, fname, to_dir, to, 0);

	up_done(w, fdir);
	return ret;
}

DIR *up_opendir(struct work *w, const char *rel)
{
	int fd = open_dir(w, rel, strlen(rel));
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (fd >= 0 && !d)
		up_done(w, fd);
	return d;
}

/* "DIR/PREFIXNAME" for the entry rel ("DIR/NAME"), or for rel itself as a folder when name is NULL. */
static char *marker_path(const char *rel, const char *prefix, bool inside)
{
	const char *slash = strrchr(rel, '/');
	char *out;

	if (inside)
		return asprintf(&out, "%s%s%s", rel, *rel ? "/" : "", prefix) < 0 ? NULL : out;
	if (slash)
		return asprintf(&out, "%.*s/%s%s", (int)(slash - rel), rel, prefix, slash + 1) < 0 ? NULL : out;
	return asprintf(&out, "%s%s", prefix, rel) < 0 ? NULL : out;
}

static bool exists_at(struct work *w, const char *path)
{
	struct stat st;

	return up_stat(w, path, &st) == 0;
}

static bool marker(struct work *w, const char *rel, const char *prefix, bool inside)
{
	char *p = marker_path(rel, prefix, inside);
	bool found = p && exists_at(w, p);

	free(p);
	return found;
}

static char *whiteout_path(const char *rel, bool *is_long);

static bool whiteout_at(struct work *w, const char *rel)
{
	bool is_long;
	char *p = whiteout_path(rel, &is_long);
	bool found = p && exists_at(w, p);

	free(p);
	return found;
}

bool work_is_reserved(const char *name)
{
	return !strncmp(name, WORK_MARK, sizeof(WORK_MARK) - 1);
}

/* Find rel in the base tree: 1 found, 0 absent, or -errno. */
static int lower_find(struct work *w, const char *rel, uint32_t *mode, ug_oid *oid)
{
	ug_oid tree = w->base_tree;
	const char *p = rel;

	if (ug_oid_iszero(&tree))
		return 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		const ug_tree *t;
		const ug_tree_entry *e;
		int err = treecache_get(w->fs, &tree, &t);

		if (err)
			return -ugfs_errno(err);
		e = ug_tree_find(t, p, len);
		if (e) {
			*mode = e->mode;
			*oid = e->oid;
		}
		treecache_put(w->fs, t);
		if (!e)
			return 0;
		if (!slash)
			return 1;
		if (*mode != UG_MODE_TREE)
			return 0;
		tree = *oid;
		p = slash + 1;
	}
}

/* Folders of upper/ that hold markers, so that looking for markers costs
 * nothing elsewhere. All markers are made through work/, so the set is exact
 * after the scan at start (work_rescan_marks). */
static size_t mark_slot(size_t cap, const char *s)
{
	return (size_t)(str_hash(s, 0) & (cap - 1));
}

static bool marked_locked(struct work *w, const char *dir, size_t len)
{
	char *key;
	bool found = false;

	if (!w->nmarked)
		return false;
	key = strndup(dir, len);
	if (!key)
		return true; /* when in doubt, look */
	for (size_t j = mark_slot(w->capmarked, key); w->marked[j]; j = (j + 1) & (w->capmarked - 1))
		if (!strcmp(w->marked[j], key)) {
			found = true;
			break;
		}
	free(key);
	return found;
}

/* Might folder dir (the first len bytes) hold markers? */
static bool marked(struct work *w, const char *dir, size_t len)
{
	bool found;

	pthread_mutex_lock(&w->mark_lock);
	found = marked_locked(w, dir, len);
	pthread_mutex_unlock(&w->mark_lock);
	return found;
}

static void mark(struct work *w, const char *dir, size_t len)
{
	pthread_mutex_lock(&w->mark_lock);
	if (!marked_locked(w, dir, len)) {
		if (2 * (w->nmarked + 1) > w->capmarked) {
			size_t cap = w->capmarked ? 2 * w->capmarked : 64;
			char **v = calloc(cap, sizeof(*v));

			if (!v)
				goto out;
			for (size_t i = 0; i < w->capmarked; i++) {
				if (w->marked[i]) {
					size_t j = mark_slot(cap, w->marked[i]);

					while (v[j])
						j = (j + 1) & (cap - 1);
					v[j] = w->marked[i];
				}
			}
			free(w->marked);
			w->marked = v;
			w->capmarked = cap;
		}
		char *key = strndup(dir, len);

		if (key) {
			size_t j = mark_slot(w->capmarked, key);

			while (w->marked[j])
				j = (j + 1) & (w->capmarked - 1);
			w->marked[j] = key;
			w->nmarked++;
		}
	}
out:
	pthread_mutex_unlock(&w->mark_lock);
}

static size_t parent_len(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash ? (size_t)(slash - rel) : 0;
}

static int mark_folder(struct work *w, const char *dir, struct wlist *entries, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < entries->count; i++) {
		if (work_is_reserved(entries->v[i].name)) {
			mark(w, dir, strlen(dir));
			break;
		}
	}
	return 0;
}

int work_rescan_marks(struct work *w)
{
	pthread_mutex_lock(&w->mark_lock);
	for (size_t i = 0; i < w->capmarked; i++)
		free(w->marked[i]);
	free(w->marked);
	w->marked = NULL;
	w->nmarked = w->capmarked = 0;
	pthread_mutex_unlock(&w->mark_lock);
	return work_walk(w, mark_folder, NULL);
}

void work_free_marks(struct work *w)
{
	for (size_t i = 0; i < w->capmarked; i++)
		free(w->marked[i]);
	free(w->marked);
	w->marked = NULL;
}

int work_resolve(struct work *w, const char *rel, struct wres *r)
{
	bool lower_ok = true;
	int found = 0;

	memset(r, 0, sizeof(*r));
	if (up_stat(w, rel, &r->st) == 0)
		r->where = W_UPPER;
	else if (errno == ENOTDIR || errno == ELOOP)
		return 0; /* below an upper file or symlink: nothing */
	else if (errno == ENAMETOOLONG)
		return -ENAMETOOLONG;
	/* Folders on the way: a whiteout hides that base entry and all below it,
	 * an opaque folder the base below it. */
	for (const char *p = rel; *p && lower_ok;) {
		const char *slash = strchr(p, '/');
		size_t end = slash ? (size_t)(slash - rel) : strlen(rel), start = (size_t)(p - rel);
		char *entry;

		if (marked(w, rel, start ? start - 1 : 0)) {
			if (!(entry = strndup(rel, end)))
				return -ENOMEM;
			lower_ok = !whiteout_at(w, entry);
			if (lower_ok && slash && marked(w, rel, end))
				lower_ok = !marker(w, entry, WORK_OPAQUE, true);
			free(entry);
		} else if (slash && marked(w, rel, end)) {
			if (!(entry = strndup(rel, end)))
				return -ENOMEM;
			lower_ok = !marker(w, entry, WORK_OPAQUE, true);
			free(entry);
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	if (!*rel) {
		found = !ug_oid_iszero(&w->base_tree);
		r->mode = UG_MODE_TREE;
		r->oid = w->base_tree;
	} else if (lower_ok) {
		found = lower_find(w, rel, &r->mode, &r->oid);
		if (found < 0)
			return found;
	}
	r->lower_has = found > 0;
	if (r->where == W_NONE && r->lower_has)
		r->where = W_LOWER;
	if (r->lower_has && r->mode == UG_MODE_TREE &&
	    (r->where == W_LOWER ||
	     (S_ISDIR(r->st.st_mode) && !(marked(w, rel, strlen(rel)) && marker(w, rel, WORK_OPAQUE, true))))) {
		r->below = true;
		r->below_tree = r->oid;
	}
	if (!*rel && r->where == W_NONE)
		r->where = W_UPPER; /* the top always exists */
	return 0;
}

bool work_is_dir(const struct wres *r)
{
	if (r->where == W_UPPER)
		return S_ISDIR(r->st.st_mode);
	return r->where == W_LOWER && (r->mode == UG_MODE_TREE || r->mode == UG_MODE_GITLINK);
}

int work_stat(struct work *w, const struct wres *r, struct stat *st)
{
	if (r->where == W_UPPER) {
		*st = r->st;
		return 0;
	}
	if (r->where != W_LOWER)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_nlink = 1;
	st->st_uid = w->fs->uid;
	st->st_gid = w->fs->gid;
	st->st_blksize = 65536;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)w->base_time;
	switch (r->mode) {
	case UG_MODE_TREE:
	case UG_MODE_GITLINK:
		st->st_mode = S_IFDIR | 0755;
		return 0;
	default: {
		ug_otype type;
		size_t size;
		int err = ug_odb_read_header(ug_repo_odb(w->fs->repo), &r->oid, &type, &size);

		if (err)
			return -ugfs_errno(err == UG_ENOTFOUND ? UG_ECORRUPT : err);
		st->st_mode = r->mode == UG_MODE_LINK ? S_IFLNK | 0777 : S_IFREG | (r->mode == UG_MODE_EXEC ? 0755 : 0644);
		st->st_size = (off_t)size;
		st->st_blocks = (st->st_size + 511) / 512;
		return 0;
	}
	}
}

/* mkdir -p of rel's parent folders in upper, one component at a time, never
 * through a symlink. */
int work_ensure_parent(struct work *w, const char *rel)
{
	size_t len = parent_len(rel);
	int fd = len ? open_dir(w, rel, len) : -1, err = 0;

	if (!len || fd >= 0) { /* the common case: the folder is there */
		up_done(w, fd);
		return 0;
	}
	fd = w->upper_fd;
	for (const char *p = rel; p < rel + len && !err;) {
		const char *slash = memchr(p, '/', (size_t)(rel + len - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(rel + len - p);
		char name[NAME_MAX + 1];
		int next = -1;

		if (n > NAME_MAX) {
			err = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (mkdirat(fd, name, 0755) && errno != EEXIST)
			err = -errno;
		else if ((next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			err = errno == ELOOP ? -ENOTDIR : -errno;
		if (fd != w->upper_fd)
			close(fd);
		fd = next;
		p += n + 1;
	}
	if (fd >= 0 && fd != w->upper_fd)
		close(fd);
	return err;
}

/* Put a base entry into upper, so it can change. Folders become plain upper folders. */
int work_copy_up(struct work *w, const char *rel, const struct wres *r)
{
	ug_object *obj = NULL;
	char *tmp = NULL;
	int err = 0, fd;

	if (r->where == W_UPPER)
		return 0;
	if (r->where != W_LOWER)
		return -ENOENT;
	if (r->mode == UG_MODE_GITLINK)
		return -EPERM; /* a submodule's content is not ours to change */
	pthread_mutex_lock(&w->copy_lock);
	if (exists_at(w, rel))
		goto out; /* another thread was first */
	err = work_ensure_parent(w, rel);
	if (err)
		goto out;
	if (r->mode == UG_MODE_TREE) {
		if (up_mkdir(w, rel, 0755))
			err = -errno;
		goto out;
	}
	err = ug_odb_read(&obj, ug_repo_odb(w->fs->repo), &r->oid);
	if (err) {
		err = -ugfs_errno(err);
		goto out;
	}
	if (r->mode == UG_MODE_LINK) {
		char *target = strndup((const char *)obj->data, obj->size);

		if (!target)
			err = -ENOMEM;
		else if (up_symlink(w, target, rel))
			err = -errno;
		free(target);
		goto out;
	}
	/* A file: written whole under a temporary name, then renamed into place. */
	if (asprintf(&tmp, "%.*s%s%016llx", (int)parent_len(rel) + (strchr(rel, '/') != NULL), rel, WORK_TMP,
		     (unsigned long long)str_hash(rel, 0)) < 0)
		tmp = NULL;
	if (!tmp) {
		err = -ENOMEM;
		goto out;
	}
	fd = up_open(w, tmp, O_WRONLY | O_CREAT | O_TRUNC, r->mode == UG_MODE_EXEC ? 0755 : 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = ug_fileio_write_all(fd, obj->data, obj->size) ? -errno : 0;
	if (fchmod(fd, r->mode == UG_MODE_EXEC ? 0755 : 0644) && !err)
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && up_rename(w, tmp, -1, rel))
		err = -errno;
	if (err)
		up_unlink(w, tmp, 0);
out:
	pthread_mutex_unlock(&w->copy_lock);
	ug_object_free(obj);
	free(tmp);
	return err;
}

/* The whiteout of rel: "DIR/.ugitfs-wh.NAME", or when that name would be too
 * long, "DIR/.ugitfs-wl.HASH" (64 bits of NAME's hash) holding NAME. */
static char *whiteout_path(const char *rel, bool *is_long)
{
	const char *slash = strrchr(rel, '/'), *name = slash ? slash + 1 : rel;
	char *out;

	*is_long = strlen(name) + sizeof(WORK_WHITEOUT) - 1 > NAME_MAX;
	if (!*is_long)
		return marker_path(rel, WORK_WHITEOUT, false);
	if (asprintf(&out, "%.*s%s%s%016llx", (int)(name - rel), rel, WORK_WHITEOUT_LONG, "",
		     (unsigned long long)str_hash(name, 0)) < 0)
		return NULL;
	return out;
}

int work_whiteout(struct work *w, const char *rel)
{
	bool is_long;
	char *p = whiteout_path(rel, &is_long);
	const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	int err = p ? work_ensure_parent(w, rel) : -ENOMEM, fd;

	mark(w, rel, parent_len(rel));
	if (!err) {
		fd = up_open(w, p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			err = -errno;
		else if (is_long)
			err = ug_fileio_write_all(fd, name, strlen(name)) ? -errno : 0;
		if (fd >= 0)
			close(fd);
	}
	free(p);
	return err;
}

bool work_has_whiteout(struct work *w, const char *rel)
{
	return marked(w, rel, parent_len(rel)) && whiteout_at(w, rel);
}

bool work_unwhiteout(struct work *w, const char *rel)
{
	bool is_long;
	char *p = marked(w, rel, parent_len(rel)) ? whiteout_path(rel, &is_long) : NULL;
	bool had = p && up_unlink(w, p, 0) == 0;

	free(p);
	return had;
}

char *work_whiteout_name(struct work *w, const char *dir, const char *entry)
{
	char buf[NAME_MAX + 1], *path;
	ssize_t n = -1;
	int fd;

	if (!strncmp(entry, WORK_WHITEOUT, sizeof(WORK_WHITEOUT) - 1))
		return strdup(entry + sizeof(WORK_WHITEOUT) - 1);
	if (strncmp(entry, WORK_WHITEOUT_LONG, sizeof(WORK_WHITEOUT_LONG) - 1) || !(path = work_join(dir, entry)))
		return NULL;
	fd = up_open(w, path, O_RDONLY, 0);
	free(path);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	return n > 0 && n <= NAME_MAX ? strndup(buf, (size_t)n) : NULL;
}

int work_set_opaque(struct work *w, const char *rel)
{
	char *p = marker_path(rel, WORK_OPAQUE, true);

	mark(w, rel, strlen(rel));
	int fd = p ? up_open(w, p, O_WRONLY | O_CREAT, 0644) : -1;
	int err = fd < 0 ? (p ? -errno : -ENOMEM) : 0;

	if (fd >= 0)
		close(fd);
	free(p);
	return err;
}

DIR *work_opendir_at(int dirfd, const char *path)
{
	int fd = openat(dirfd, *path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (fd >= 0 && !d) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return d;
}

char *work_join(const char *dir, const char *name)
{
	char *path;

	return asprintf(&path, "%s%s%s", dir, *dir ? "/" : "", name) < 0 ? NULL : path;
}

/* Names, with d_type, in a growable array kept sorted for lookups. */
int wlist_add(struct wlist *l, const char *name, unsigned char type)
{
	struct wentry *v = ug_array_grow(l->v, &l->cap, l->count + 1, sizeof(*v), 32);

	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->count].name = strdup(name);
	if (!l->v[l->count].name)
		return -ENOMEM;
	l->v[l->count++].type = type;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct wentry *)a)->name, ((const struct wentry *)b)->name);
}

static bool has_name(const struct wlist *l, const char *name)
{
	struct wentry key = { .name = (char *)name };

	return l->count && bsearch(&key, l->v, l->count, sizeof(*l->v), cmp_entry);
}

void wlist_release(struct wlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static unsigned char mode_type(uint32_t mode)
{
	return mode == UG_MODE_TREE || mode == UG_MODE_GITLINK ? DT_DIR : mode == UG_MODE_LINK ? DT_LNK : DT_REG;
}

struct upper_read {
	struct work *w;
	const char *rel;
	struct wlist *shown, *gone;
};

/* One entry of an upper folder: a visible name, or a whiteout's. */
static int add_upper_entry(void *arg, int dirfd, const char *entry, unsigned char type)
{
	struct upper_read *u = arg;
	char *name;
	int err;

	(void)dirfd;
	if (!work_is_reserved(entry))
		return wlist_add(u->shown, entry, type);
	name = u->gone ? work_whiteout_name(u->w, u->rel, entry) : NULL;
	err = name ? wlist_add(u->gone, name, DT_UNKNOWN) : 0;
	free(name);
	return err;
}

/* Read upper folder rel: its visible names into shown, its whiteouts into gone. */
static int read_upper(struct work *w, const char *rel, struct wlist *shown, struct wlist *gone)
{
	struct upper_read u = { w, rel, shown, gone };
	DIR *d = up_opendir(w, rel);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	return ug_fileio_dir_read(d, add_upper_entry, &u);
}

int work_list(struct work *w, const char *rel, const struct wres *r, struct wlist *out)
{
	struct wlist gone = { 0 };
	size_t nupper;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (r->where == W_UPPER)
		err = read_upper(w, rel, out, &gone);
	nupper = out->count;
	if (!err && r->below) {
		const ug_tree *t;

		if (out->count)
			qsort(out->v, out->count, sizeof(*out->v), cmp_entry);
		if (gone.count)
			qsort(gone.v, gone.count, sizeof(*gone.v), cmp_entry);
		err = treecache_get(w->fs, &r->below_tree, &t);
		if (err) {
			err = -ugfs_errno(err);
		} else {
			for (size_t i = 0; i < t->count && !err; i++) {
				const ug_tree_entry *e = &t->entries[i];
				struct wlist upper_part = { .v = out->v, .count = nupper };

				if (!has_name(&upper_part, e->name) && !has_name(&gone, e->name))
					err = wlist_add(out, e->name, mode_type(e->mode));
			}
			treecache_put(w->fs, t);
		}
	}
	wlist_release(&gone);
	if (err)
		wlist_release(out);
	return err;
}

/* Only markers may be left in a folder that shows empty. */
static int clear_marker(void *arg, int dirfd, const char *name, unsigned char type)
{
	(void)arg;
	(void)type;
	if (!work_is_reserved(name))
		return -ENOTEMPTY;
	return unlinkat(dirfd, name, 0) ? -errno : 0;
}

int work_clear_markers(struct work *w, const char *rel)
{
	DIR *d = up_opendir(w, rel);

	if (!d)
		return -errno;
	return ug_fileio_dir_read(d, clear_marker, NULL);
}

int work_remove_upper_dir(struct work *w, const char *rel)
{
	int err = work_clear_markers(w, rel);

	if (err == -ENOENT)
		return 0;
	if (!err && up_unlink(w, rel, AT_REMOVEDIR))
		err = -errno;
	return err;
}

/* How many base entries a folder renamed in work/ may copy into upper: a few
 * small trees can name millions of paths. */
#define COPY_BUDGET 200000

/* Does base tree hold more than budget entries, at any depth? A stack of
 * tree ids, no recursion; it never holds more than budget ids. 1, 0 or -errno. */
static int tree_exceeds(struct work *w, const ug_oid *tree, size_t budget)
{
	ug_oid *stack = malloc(sizeof(*stack)), *s;
	size_t n = 1, cap = 1, seen = 0;
	int err = stack ? 0 : -ENOMEM;

	if (stack)
		stack[0] = *tree;
	while (!err && n && seen <= budget) {
		ug_oid oid = stack[--n];
		const ug_tree *t;

		if ((err = treecache_get(w->fs, &oid, &t))) {
			err = -ugfs_errno(err);
			break;
		}
		seen += t->count;
		for (size_t i = 0; i < t->count && !err && seen <= budget; i++) {
			if (t->entries[i].mode != UG_MODE_TREE)
				continue;
			if (!(s = ug_array_grow(stack, &cap, n + 1, sizeof(*s), 64))) {
				err = -ENOMEM;
				break;
			}
			stack = s;
			stack[n++] = t->entries[i].oid;
		}
		treecache_put(w->fs, t);
	}
	free(stack);
	return err ? err : seen > budget;
}

/* Copy up the entries folder dir shows from the base; its subfolders are added to dirs. */
static int copy_folder_up(struct work *w, const char *dir, struct wlist *dirs)
{
	struct wres r;
	struct wlist kids;
	int err = work_resolve(w, dir, &r);

	if (err || !r.below)
		return err;
	if ((err = work_list(w, dir, &r, &kids)))
		return err;
	for (size_t i = 0; i < kids.count && !err; i++) {
		char *child = work_join(dir, kids.v[i].name);
		struct wres cr;

		err = child ? work_resolve(w, child, &cr) : -ENOMEM;
		if (!err && cr.where == W_LOWER)
			err = work_copy_up(w, child, &cr);
		if (!err && work_is_dir(&cr))
			err = wlist_add(dirs, child, DT_DIR);
		free(child);
	}
	wlist_release(&kids);
	return err;
}

/*
 * Make upper alone hold everything folder rel shows (a folder about to be
 * renamed): first every base entry below it is copied up, folder by folder
 * from the top; only then is each folder marked opaque, since a folder marked
 * opaque hides from the copy the base entries still to be copied below it.
 * Refused with EXDEV (one log line) when the base folder is too large to copy.
 */
int work_materialize(struct work *w, const char *rel)
{
	struct wlist dirs = { 0 };
	struct wres r;
	int err = work_resolve(w, rel, &r);

	if (!err && r.below && (err = tree_exceeds(w, &r.below_tree, COPY_BUDGET)) == 1) {
		ug_log(UG_LOG_WARNING, "work/%s: too large to rename (over %d entries to copy); "
		       "nothing changed", rel, COPY_BUDGET);
		return -EXDEV;
	}
	if (!err)
		err = work_copy_up(w, rel, &r);
	if (!err)
		err = wlist_add(&dirs, rel, DT_DIR);
	for (size_t i = 0; i < dirs.count && !err; i++)
		err = copy_folder_up(w, dirs.v[i].name, &dirs);
	for (size_t i = 0; i < dirs.count && !err; i++)
		if ((err = work_resolve(w, dirs.v[i].name, &r)) == 0 && r.below)
			err = work_set_opaque(w, dirs.v[i].name);
	wlist_release(&dirs);
	return err;
}

void work_stat_top(struct work *w, struct stat *st)
{
	struct wres r;

	pthread_rwlock_rdlock(&w->lock);
	if (work_resolve(w, "", &r) || work_stat(w, &r, st)) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFDIR | 0755;
	}
	pthread_rwlock_unlock(&w->lock);
}

/* An entry with its type: a folder or not where the file system does not say. */
static int add_typed_entry(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct stat st;

	if (type == DT_UNKNOWN) /* some file systems do not say */
		type = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
	return wlist_add(arg, name, type);
}

int work_walk(struct work *w, work_visit visit, void *arg)
{
	struct wlist todo = { 0 };
	int err = wlist_add(&todo, "", DT_DIR);

	while (!err && todo.count) {
		char *dir = todo.v[--todo.count].name;
		struct wlist entries = { 0 };
		DIR *d = up_opendir(w, dir);

		if (!d && errno != ENOENT) /* a folder gone meanwhile has nothing to visit */
			err = ugfs_err(ug_error_os(UG_ERROR, "work/%s: cannot list", dir));
		if (d)
			err = ug_fileio_dir_read(d, add_typed_entry, &entries); /* closes d */
		if (!err && d)
			err = visit(w, dir, &entries, arg);
		for (size_t i = 0; !err && i < entries.count; i++) {
			char *sub;

			if (entries.v[i].type != DT_DIR || work_is_reserved(entries.v[i].name))
				continue;
			sub = work_join(dir, entries.v[i].name);
			err = sub && !wlist_add(&todo, sub, DT_DIR) ? 0 : -ENOMEM;
			free(sub);
		}
		wlist_release(&entries);
		free(dir);
	}
	wlist_release(&todo);
	return err;
}
