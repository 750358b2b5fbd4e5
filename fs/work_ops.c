/* The FUSE handlers of work/: ordinary file operations on the overlay, each replying exactly once. */
#include "work.h"

#include "error.h"
#include "fileio.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define WORK_TIMEOUT 1.0

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct work *work_of(fuse_req_t req)
{
	return fs_of(req)->work;
}

/* The path of a child: "PARENT/NAME" (malloc'ed), or NULL. */
static char *child_path(struct fs *fs, fuse_ino_t parent, const char *name)
{
	char *dir = node_path(fs, parent), *out = NULL;

	if (dir && asprintf(&out, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
		out = NULL;
	free(dir);
	return out;
}

/* rel made ready to change: copied into upper. */
static int prepare(struct work *w, const char *rel, struct wres *r)
{
	int err = work_resolve(w, rel, r);

	if (!err && r->where == W_NONE)
		err = -ENOENT;
	if (!err && r->where == W_LOWER)
		err = work_copy_up(w, rel, r);
	return err;
}

/* Where the file behind a node lives, for I/O: its upper path, or (unlinked
 * while the kernel still holds it) its orphan in the state folder. */
static char *orphan_name(fuse_ino_t ino)
{
	char *name;

	return asprintf(&name, "orphans/%llu", (unsigned long long)ino) < 0 ? NULL : name;
}

struct target {
	bool orphan; /* path is below the state folder (orphans/), else below upper/ */
	char *path;
};

/* The file behind a target, opened without following a symlink. */
static int target_open(struct work *w, const struct target *t, int flags)
{
	return t->orphan ? openat(w->state_fd, t->path, flags | O_NOFOLLOW | O_CLOEXEC) : up_open(w, t->path, flags, 0);
}

/* A base file unlinked while its node lives is kept as orphans/<ino>.lower,
 * naming its blob ("MODE HEX"); it becomes orphans/<ino> when written. */
static char *lower_orphan_name(fuse_ino_t ino)
{
	char *name;

	return asprintf(&name, "orphans/%llu.lower", (unsigned long long)ino) < 0 ? NULL : name;
}

/* The kernel forgot ino: an orphan's file goes with its node. */
void work_forget(struct fs *fs, fuse_ino_t ino, uint64_t n)
{
	char *name, *lower;

	if (!node_forget(fs, ino, n) || !fs->work)
		return;
	name = orphan_name(ino);
	lower = lower_orphan_name(ino);
	if (name)
		unlinkat(fs->work->state_fd, name, 0);
	if (lower)
		unlinkat(fs->work->state_fd, lower, 0);
	free(name);
	free(lower);
}

static void orphan_lower(struct fs *fs, fuse_ino_t parent, const char *name, const struct wres *r)
{
	struct work *w = fs->work;
	fuse_ino_t ino = node_find(fs, parent, name);
	char *path = ino ? lower_orphan_name(ino) : NULL, hex[UG_OID_MAXHEX + 1], line[UG_OID_MAXHEX + 16];
	int fd = path ? openat(w->state_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	int n = snprintf(line, sizeof(line), "%o %s\n", (unsigned)r->mode, ug_oid_tohex(hex, &r->oid, fs->algo));

	if (fd >= 0 && ug_fileio_write_all(fd, line, (size_t)n) == 0)
		node_detach(fs, parent, name, true);
	if (fd >= 0)
		close(fd);
	free(path);
}

/* The blob of a lower orphan as a real orphan file, to be changed. */
static int orphan_copy(struct work *w, const char *path, struct wres *r)
{
	ug_object *obj;
	char *tmp;
	int err = ug_odb_read(&obj, ug_repo_odb(w->fs->repo), &r->oid), fd;

	if (err)
		return -ugfs_errno(err);
	err = asprintf(&tmp, "%s.tmp", path) < 0 ? -ENOMEM : 0;
	fd = err ? -1 : openat(w->state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			       r->mode == UG_MODE_EXEC ? 0755 : 0644);
	if (!err && fd < 0)
		err = -errno;
	if (!err && ug_fileio_write_all(fd, obj->data, obj->size) < 0)
		err = -EIO;
	if (fd >= 0)
		close(fd);
	if (!err && renameat(w->state_fd, tmp, w->state_fd, path))
		err = -errno;
	if (!err)
		err = fstatat(w->state_fd, path, &r->st, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
	if (!err)
		r->where = W_UPPER;
	ug_object_free(obj);
	if (err && tmp)
		unlinkat(w->state_fd, tmp, 0);
	free(tmp);
	return err;
}

/* What an orphan node shows: its file, or the blob a lower orphan names (with
 * change, copied into its file first). */
static int orphan_target(struct work *w, fuse_ino_t ino, bool change, struct target *t, struct wres *r)
{
	char *lower = lower_orphan_name(ino), line[UG_OID_MAXHEX + 16];
	int fd, err = -ENOENT;
	ssize_t n = -1;
	unsigned mode;

	t->path = orphan_name(ino);
	if (t->path && fstatat(w->state_fd, t->path, &r->st, AT_SYMLINK_NOFOLLOW) == 0) {
		r->where = W_UPPER;
		err = 0;
	} else if (t->path && lower && (fd = openat(w->state_fd, lower, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		n = read(fd, line, sizeof(line) - 1);
		close(fd);
	}
	if (err && n > 0) {
		line[n] = '\0';
		if (sscanf(line, "%o", &mode) == 1 && strchr(line, ' ') &&
		    ug_oid_fromhex(&r->oid, strchr(line, ' ') + 1, w->fs->hexsz, w->fs->algo) == 0) {
			r->where = W_LOWER;
			r->lower_has = true;
			r->mode = mode;
			pthread_mutex_lock(&w->copy_lock);
			err = change ? orphan_copy(w, t->path, r) : 0;
			pthread_mutex_unlock(&w->copy_lock);
		}
	}
	free(lower);
	if (err) {
		free(t->path);
		t->path = NULL;
	}
	return err;
}

/* Keep an upper file that is being unlinked (or replaced) while its node
 * lives: the kernel may still read or write it through an open descriptor. */
static void orphan(struct fs *fs, fuse_ino_t parent, const char *name, const char *rel)
{
	struct work *w = fs->work;
	fuse_ino_t ino = node_find(fs, parent, name);
	char *to = ino ? orphan_name(ino) : NULL;

	if (to && up_rename(w, rel, w->state_fd, to) == 0)
		node_detach(fs, parent, name, true);
	else
		up_unlink(w, rel, 0);
	free(to);
}

/* The file to act on for node ino: 0, or -errno. With change, a base file is copied up first. */
static int node_target(struct fs *fs, fuse_ino_t ino, bool change, struct target *t, struct wres *r)
{
	struct work *w = fs->work;
	int err;

	t->path = node_path(fs, ino);
	t->orphan = !t->path;
	memset(r, 0, sizeof(*r));
	if (!t->path)
		return orphan_target(w, ino, change, t, r);
	err = change ? prepare(w, t->path, r) : work_resolve(w, t->path, r);
	if (!err && r->where == W_NONE)
		err = -ENOENT;
	if (err) {
		free(t->path);
		t->path = NULL;
	}
	return err;
}

/* Reply with the entry for child rel of parent (the caller holds the lock shared). */
static void reply_child(fuse_req_t req, fuse_ino_t parent, const char *name, const char *rel,
			struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *dir = node_get(fs, parent), *n;
	struct fuse_entry_param e = { 0 };
	struct child c = { .name = name, .kind = K_WNODE };
	struct wres r;
	int err = dir ? work_resolve(fs->work, rel, &r) : -ESTALE;

	if (!err && r.where == W_NONE)
		err = -ENOENT;
	if (!err)
		err = work_stat(fs->work, &r, &e.attr);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	n = node_child(fs, dir, &c);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	e.ino = n->ino;
	e.attr.st_ino = n->ino;
	e.attr_timeout = e.entry_timeout = WORK_TIMEOUT;
	if (fi ? fuse_reply_create(req, &e, fi) : fuse_reply_entry(req, &e))
		work_forget(fs, n->ino, 1);
}

static void wop_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct work *w = work_of(req);
	char *rel;

	if (strlen(name) > NAME_MAX || work_is_reserved(name)) {
		fuse_reply_err(req, strlen(name) > NAME_MAX ? ENAMETOOLONG : ENOENT);
		return;
	}
	rel = child_path(fs_of(req), parent, name);
	if (!rel) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_rwlock_rdlock(&w->lock);
	reply_child(req, parent, name, rel, NULL);
	pthread_rwlock_unlock(&w->lock);
	free(rel);
}

static int stat_ino(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct target t;
	struct wres r;
	int err = node_target(fs, ino, false, &t, &r);

	if (!err)
		err = work_stat(fs->work, &r, st);
	if (!err && t.orphan)
		st->st_nlink = 0; /* unlinked: only open descriptors hold it */
	free(t.path);
	st->st_ino = ino;
	return err;
}

static void wop_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct work *w = work_of(req);
	struct stat st;
	int err;

	pthread_rwlock_rdlock(&w->lock);
	(void)fi;
	err = stat_ino(fs_of(req), ino, &st);
	pthread_rwlock_unlock(&w->lock);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, WORK_TIMEOUT);
}

enum fd_op { FD_CHMOD, FD_TRUNCATE };

/* chmod or truncate on a descriptor of the target (a path could lead through a symlink). */
static int fd_call(struct work *w, const struct target *t, int flags, enum fd_op op, const struct stat *attr)
{
	int fd = target_open(w, t, flags), err;

	if (fd < 0)
		return -errno;
	err = op == FD_CHMOD ? fchmod(fd, attr->st_mode & 07777) : ftruncate(fd, attr->st_size);
	err = err ? -errno : 0;
	close(fd);
	return err;
}

static int do_setattr(struct fs *fs, fuse_ino_t ino, struct stat *attr, int set)
{
	struct target t;
	struct wres r;
	bool link;
	int err;

	if (((set & FUSE_SET_ATTR_UID) && attr->st_uid != fs->uid) ||
	    ((set & FUSE_SET_ATTR_GID) && attr->st_gid != fs->gid))
		return -EPERM; /* git records no owners */
	err = node_target(fs, ino, true, &t, &r);
	if (err)
		return err;
	link = r.where == W_UPPER ? S_ISLNK(r.st.st_mode) : r.mode == UG_MODE_LINK;
	if ((set & FUSE_SET_ATTR_MODE) && !link) /* a symlink has no mode of its own */
		err = fd_call(fs->work, &t, O_RDONLY | O_NONBLOCK, FD_CHMOD, attr);
	if (!err && (set & FUSE_SET_ATTR_SIZE))
		err = fd_call(fs->work, &t, O_WRONLY, FD_TRUNCATE, attr);
	if (!err && (set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (set & FUSE_SET_ATTR_ATIME)
			ts[0] = (set & FUSE_SET_ATTR_ATIME_NOW) ? (struct timespec){ .tv_nsec = UTIME_NOW } : attr->st_atim;
		if (set & FUSE_SET_ATTR_MTIME)
			ts[1] = (set & FUSE_SET_ATTR_MTIME_NOW) ? (struct timespec){ .tv_nsec = UTIME_NOW } : attr->st_mtim;
		err = (t.orphan ? utimensat(fs->work->state_fd, t.path, ts, AT_SYMLINK_NOFOLLOW)
				: up_utimens(fs->work, t.path, ts))
			      ? -errno
			      : 0;
	}
	free(t.path);
	return err;
}

static void wop_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct work *w = work_of(req);
	struct stat st;
	int err;

	(void)fi;
	pthread_rwlock_rdlock(&w->lock);
	err = do_setattr(fs_of(req), ino, attr, to_set);
	if (!err)
		err = stat_ino(fs_of(req), ino, &st);
	pthread_rwlock_unlock(&w->lock);
	work_touch(w);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, WORK_TIMEOUT);
}

static void wop_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct work *w = work_of(req);
	char *rel = node_path(fs_of(req), ino);
	char buf[4096];
	struct wres r;
	int err = rel ? 0 : -ENOENT;

	pthread_rwlock_rdlock(&w->lock);
	if (!err)
		err = work_resolve(w, rel, &r);
	if (!err && r.where == W_UPPER) {
		ssize_t n = up_readlink(w, rel, buf, sizeof(buf) - 1);

		err = n < 0 ? -errno : 0;
		if (n >= 0)
			buf[n] = '\0';
	} else if (!err && r.where == W_LOWER && r.mode == UG_MODE_LINK) {
		ug_object *obj;
		int e = ug_odb_read(&obj, ug_repo_odb(w->fs->repo), &r.oid);

		err = e ? -ugfs_errno(e) : obj->size == 0 || obj->size >= sizeof(buf) || memchr(obj->data, 0, obj->size) ? -EIO : 0;
		if (!e && !err) {
			memcpy(buf, obj->data, obj->size);
			buf[obj->size] = '\0';
		}
		if (!e)
			ug_object_free(obj);
	} else if (!err) {
		err = r.where == W_NONE ? -ENOENT : -EINVAL;
	}
	pthread_rwlock_unlock(&w->lock);
	free(rel);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_readlink(req, buf);
}

/* The common start of creating name in parent: the path, free of anything in the way. */
static int new_entry(fuse_req_t req, fuse_ino_t parent, const char *name, char **rel)
{
	struct work *w = work_of(req);
	struct wres r;
	char *dir;
	int err;

	*rel = NULL;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	if (work_is_reserved(name))
		return -EINVAL; /* the overlay's own markers */
	dir = node_path(fs_of(req), parent);
	if (!dir)
		return -ENOENT;
	err = work_resolve(w, dir, &r);
	if (!err && !work_is_dir(&r))
		err = r.where == W_NONE ? -ENOENT : -ENOTDIR;
	if (!err && r.where == W_LOWER && r.mode == UG_MODE_GITLINK)
		err = -EPERM;
	free(dir);
	if (!err)
		*rel = child_path(fs_of(req), parent, name);
	if (!err && !*rel)
		err = -ENOMEM;
	if (!err)
		err = work_resolve(w, *rel, &r);
	if (!err && r.where != W_NONE)
		err = -EEXIST;
	if (!err)
		err = work_ensure_parent(w, *rel);
	if (err) {
		free(*rel);
		*rel = NULL;
	}
	return err;
}

enum make { MAKE_DIR, MAKE_FILE, MAKE_LINK };

/* Make rel in upper: a folder or an empty file with exactly mode (the
 * caller's umask applied already, the daemon's own undone), or a symlink. */
static int make_upper(struct work *w, const char *rel, enum make what, mode_t mode, const char *link)
{
	int fd, err;

	if (what == MAKE_LINK)
		return up_symlink(w, link, rel) ? -errno : 0;
	if (what == MAKE_DIR && up_mkdir(w, rel, mode))
		return -errno;
	fd = what == MAKE_DIR ? up_open(w, rel, O_RDONLY | O_DIRECTORY, 0)
			      : up_open(w, rel, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, mode) ? -errno : 0;
	close(fd);
	return err;
}

/* Create name in parent (a folder, an empty file, a symlink to link) and reply
 * with its entry; with fi, as a reply to create. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, enum make what, mode_t mode,
		       const char *link, struct fuse_file_info *fi)
{
	struct work *w = work_of(req);
	char *rel;
	int err;

	pthread_rwlock_rdlock(&w->lock);
	err = new_entry(req, parent, name, &rel);
	if (!err)
		err = make_upper(w, rel, what, mode & ~fuse_req_ctx(req)->umask & 07777, link);
	/* a base entry of that name was deleted: a new folder must not show what it held */
	if (!err && work_unwhiteout(w, rel) && what == MAKE_DIR)
		err = work_set_opaque(w, rel);
	if (err) {
		fuse_reply_err(req, -err);
	} else {
		if (fi)
			fi->fh = 0;
		reply_child(req, parent, name, rel, fi);
	}
	pthread_rwlock_unlock(&w->lock);
	work_touch(w);
	free(rel);
}

static void wop_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_entry(req, parent, name, MAKE_DIR, mode, NULL, NULL);
}

static void wop_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)rdev;
	if (!S_ISREG(mode))
		fuse_reply_err(req, EPERM); /* git stores no devices, fifos or sockets */
	else
		make_entry(req, parent, name, MAKE_FILE, mode, NULL, NULL);
}

static void wop_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	make_entry(req, parent, name, MAKE_LINK, 0, link, NULL);
}

static void wop_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EPERM); /* git has no hard links */
}

/* Remove rel, name in parent (a file when dir is false, an empty folder when true). */
static int remove_entry(struct fs *fs, fuse_ino_t parent, const char *name, const char *rel, bool dir)
{
	struct work *w = fs->work;
	struct wres r;
	int err = work_resolve(w, rel, &r);

	if (!err && r.where == W_NONE)
		err = -ENOENT;
	if (!err && work_is_dir(&r) != dir)
		err = dir ? -ENOTDIR : -EISDIR;
	if (!err && dir) {
		struct wlist l;

		err = work_list(w, rel, &r, &l);
		if (!err) {
			err = l.count ? -ENOTEMPTY : 0;
			wlist_release(&l);
		}
		if (!err && r.where == W_UPPER)
			err = work_remove_upper_dir(w, rel);
	} else if (!err && r.where == W_UPPER) {
		orphan(fs, parent, name, rel);
	} else if (!err) {
		orphan_lower(fs, parent, name, &r);
	}
	if (!err && r.lower_has)
		err = work_whiteout(w, rel);
	return err;
}

static void do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct work *w = work_of(req);
	char *rel = work_is_reserved(name) ? NULL : child_path(fs_of(req), parent, name);
	int err = rel ? 0 : -ENOENT;

	pthread_rwlock_rdlock(&w->lock);
	if (!err)
		err = remove_entry(fs_of(req), parent, name, rel, dir);
	if (!err)
		node_detach(fs_of(req), parent, name, false);
	pthread_rwlock_unlock(&w->lock);
	work_touch(w);
	free(rel);
	fuse_reply_err(req, -err);
}

static void wop_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, false);
}

static void wop_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, true);
}

/* A folder that is to be replaced must show nothing. */
static int check_empty(struct work *w, const char *rel, const struct wres *r)
{
	struct wlist l;
	int err = work_list(w, rel, r, &l);

	if (!err) {
		err = l.count ? -ENOTEMPTY : 0;
		wlist_release(&l);
	}
	return err;
}

/* Keep the upper file that a rename is about to replace while its node lives:
 * a second name in orphans/ made before the rename, so that to never shows
 * without a file. Where no link can be made, it is moved there as by unlink. */
static void orphan_replaced(struct fs *fs, fuse_ino_t parent, const char *name, const char *rel)
{
	struct work *w = fs->work;
	fuse_ino_t ino = node_find(fs, parent, name);
	char *to = ino ? orphan_name(ino) : NULL;

	if (to)
		unlinkat(w->state_fd, to, 0); /* a leftover of an earlier node of that number */
	if (to && up_link(w, rel, w->state_fd, to) == 0)
		node_detach(fs, parent, name, true);
	else if (to)
		orphan(fs, parent, name, rel);
	free(to);
}

/* The checks of a rename from (rf) to to (rt), before anything changes. */
static int rename_check(struct work *w, const char *from, const char *to, const struct wres *rf,
			const struct wres *rt, unsigned flags)
{
	size_t flen = strlen(from);
	bool isdir = work_is_dir(rf);

	if (isdir && !strncmp(to, from, flen) && to[flen] == '/')
		return -EINVAL; /* a folder into itself */
	if (rt->where != W_NONE && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (rt->where != W_NONE && work_is_dir(rt) != isdir)
		return isdir ? -ENOTDIR : -EISDIR;
	if (rt->where != W_NONE && isdir)
		return check_empty(w, to, rt);
	return 0;
}

/*
 * The steps of a rename. A kill of the daemon may stop it between any two,
 * so each leaves work/ showing the tree before the rename or after it, and
 * the one step from one to the other is the renameat of upper/:
 *  1. from is copied into upper (a folder whole): work/ shows the same.
 *  2. Markers that only take effect once from moves: from's whiteout (an
 *     upper entry shows over a whiteout of its own name), and, where to
 *     hides a base folder, from made opaque (everything it shows is in
 *     upper already). A folder being replaced gets its own whiteout (same
 *     reason) and loses its markers, so that renameat can replace it.
 *  3. renameat: from gone, to showing what from showed.
 *  4. Tidying that changes nothing shown: to's whiteout goes (to is opaque).
 */
static int rename_steps(struct fs *fs, const char *from, const char *to, fuse_ino_t newparent,
			const char *newname, const struct wres *rf, const struct wres *rt)
{
	struct work *w = fs->work;
	bool isdir = work_is_dir(rf);
	bool hide = isdir && (rt->lower_has || work_has_whiteout(w, to)); /* a base folder at to stays hidden */
	int err = isdir ? work_materialize(w, from) : work_copy_up(w, from, rf);

	work_test_point(w, "rename-copied");
	if (!err)
		err = work_ensure_parent(w, to);
	if (!err && hide)
		err = work_set_opaque(w, from);
	if (!err && rf->lower_has)
		err = work_whiteout(w, from);
	if (!err && isdir && rt->where == W_UPPER && rt->lower_has)
		err = work_whiteout(w, to);
	if (!err && isdir && rt->where == W_UPPER)
		err = work_clear_markers(w, to);
	if (!err && !isdir && rt->where == W_UPPER)
		orphan_replaced(fs, newparent, newname, to); /* the file replaced may still be open */
	else if (!err && !isdir && rt->where == W_LOWER)
		orphan_lower(fs, newparent, newname, rt);
	work_test_point(w, "rename-prepared");
	if (!err && up_rename(w, from, -1, to))
		err = -errno;
	if (err)
		return err;
	work_test_point(w, "rename-moved");
	if (hide)
		err = work_set_opaque(w, to); /* there already: this notes the marker at its new place */
	work_unwhiteout(w, to);
	work_test_point(w, "rename-done");
	return err;
}

static int do_rename(struct fs *fs, const char *from, const char *to, fuse_ino_t newparent, const char *newname,
		     unsigned flags)
{
	struct work *w = fs->work;
	struct wres rf, rt;
	int err;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE and whiteouts: not supported */
	err = work_resolve(w, from, &rf);
	if (!err && rf.where == W_NONE)
		err = -ENOENT;
	if (!err)
		err = work_resolve(w, to, &rt);
	if (err)
		return err;
	if (!strcmp(from, to))
		return 0;
	err = rename_check(w, from, to, &rf, &rt, flags);
	return err ? err : rename_steps(fs, from, to, newparent, newname, &rf, &rt);
}

static void wop_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname, unsigned int flags)
{
	struct fs *fs = fs_of(req);
	struct work *w = fs->work;
	char *from = NULL, *to = NULL;
	int err = 0;

	struct node *dest = node_get(fs, newparent);

	if (strlen(newname) > NAME_MAX)
		err = -ENAMETOOLONG;
	else if (work_is_reserved(name) || work_is_reserved(newname))
		err = work_is_reserved(name) ? -ENOENT : -EINVAL;
	if (!err && (!dest || (dest->kind != K_WORK && dest->kind != K_WNODE)))
		err = -EROFS; /* out of work/: into a read-only view */
	if (!err) {
		from = child_path(fs, parent, name);
		to = child_path(fs, newparent, newname);
		err = from && to ? 0 : -ENOENT;
	}
	pthread_rwlock_rdlock(&w->lock);
	if (!err)
		err = do_rename(fs, from, to, newparent, newname, flags);
	if (!err)
		err = node_move(fs, parent, name, newparent, newname);
	pthread_rwlock_unlock(&w->lock);
	work_touch(w);
	free(from);
	free(to);
	fuse_reply_err(req, -err);
}

/* Only reached when the kernel cannot skip opens: a change copies the file up, nothing is kept. */
static void wop_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct work *w = work_of(req);
	bool change = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	struct target t;
	struct wres r;
	int err;

	pthread_rwlock_rdlock(&w->lock);
	err = node_target(fs_of(req), ino, change, &t, &r);
	if (!err && work_is_dir(&r))
		err = -EISDIR;
	pthread_rwlock_unlock(&w->lock);
	free(t.path);
	fi->fh = 0;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_open(req, fi);
}

static void wop_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	make_entry(req, parent, name, MAKE_FILE, mode, NULL, fi);
}

static void wop_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct work *w = fs->work;
	struct target t;
	struct wres r;
	ug_otype type;
	size_t total = 0;
	int err, fd = -1;

	(void)fi;
	pthread_rwlock_rdlock(&w->lock);
	err = node_target(fs, ino, false, &t, &r);
	if (!err && r.where == W_LOWER)
		err = -ugfs_errno(ug_odb_read_header(ug_repo_odb(fs->repo), &r.oid, &type, &total));
	else if (!err && (fd = target_open(w, &t, O_RDONLY)) < 0)
		err = -errno;
	pthread_rwlock_unlock(&w->lock);
	free(t.path);
	if (err) {
		fuse_reply_err(req, -err);
	} else if (fd < 0) {
		/* a base file: as in a snapshot (the blob is immutable, no lock needed) */
		blob_reply(req, fs, &r.oid, total, size, off);
	} else {
		struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = fd;
		buf.buf[0].pos = off;
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
	}
	if (fd >= 0)
		close(fd);
}

static void wop_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct work *w = fs->work;
	struct target t;
	struct wres r;
	ssize_t n = -1;
	int err, fd = -1;

	(void)fi;
	pthread_rwlock_rdlock(&w->lock);
	err = node_target(fs, ino, true, &t, &r);
	if (!err && (fd = target_open(w, &t, O_WRONLY)) < 0)
		err = -errno;
	if (!err && (n = pwrite(fd, buf, size, off)) < 0)
		err = -errno;
	pthread_rwlock_unlock(&w->lock);
	if (fd >= 0)
		close(fd);
	free(t.path);
	work_touch(w);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, (size_t)n);
}

static void wop_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fuse_reply_err(req, 0);
}

/* fsync of anything in work/ is a sync: the pending changes become a commit. */
static void wop_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct work *w = work_of(req);
	ug_oid commit;
	char *why = NULL;
	int err;

	(void)ino, (void)datasync, (void)fi;
	err = work_sync(w, NULL, &commit, &why);
	if (err < 0) {
		ug_log(UG_LOG_ERROR, "sync on fsync failed: %s", why ? why : strerror(-err));
		fuse_reply_err(req, err == -ENOSPC ? ENOSPC : EIO);
	} else {
		fuse_reply_err(req, 0);
	}
	free(why);
}

static void wop_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct work *w = work_of(req);
	char *rel = node_path(fs_of(req), ino);
	struct wlist *l = calloc(1, sizeof(*l));
	struct wres r;
	int err = rel && l ? 0 : -ENOMEM;

	pthread_rwlock_rdlock(&w->lock);
	if (!err)
		err = work_resolve(w, rel, &r);
	if (!err && !work_is_dir(&r))
		err = r.where == W_NONE ? -ENOENT : -ENOTDIR;
	if (!err)
		err = work_list(w, rel, &r, l);
	pthread_rwlock_unlock(&w->lock);
	free(rel);
	if (err) {
		free(l);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)l;
	if (fuse_reply_open(req, fi)) {
		wlist_release(l);
		free(l);
	}
}

/* A number for a listed name (the node may not exist yet): stable, never 0. */
static ino_t name_ino(const char *name)
{
	return (ino_t)((str_hash(name, 0) >> 1) | 1);
}

/* Names only: with readdirplus too (no node is made; the kernel looks each up). */
static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi, bool plus)
{
	struct wlist *l = (struct wlist *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off; i < (off_t)l->count + 2; i++) {
		struct fuse_entry_param e = { 0 };
		const char *name = i == 0 ? "." : i == 1 ? ".." : l->v[i - 2].name;
		size_t need;

		e.attr.st_mode = i < 2 ? S_IFDIR : (mode_t)DTTOIF(l->v[i - 2].type);
		e.attr.st_ino = name_ino(name); /* readdir(3) skips entries numbered 0 */
		need = plus ? fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0)
			    : fuse_add_direntry(req, NULL, 0, name, NULL, 0);
		if (used + need > size)
			break;
		used += plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1)
			     : fuse_add_direntry(req, buf + used, size - used, name, &e.attr, i + 1);
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void wop_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, false);
}

static void wop_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, true);
}

static void wop_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct wlist *l = (struct wlist *)(uintptr_t)fi->fh;

	(void)ino;
	wlist_release(l);
	free(l);
	fuse_reply_err(req, 0);
}

static void wop_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;

	(void)ino;
	if (fstatvfs(work_of(req)->upper_fd, &st))
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &st);
}

static void wop_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino, (void)name, (void)size;
	fuse_reply_err(req, ENODATA);
}

static void wop_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static void wop_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
			 int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, ENOTSUP); /* git records no extended attributes */
}

static void wop_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, ENODATA);
}

const struct fuse_lowlevel_ops work_ops = {
	.lookup = wop_lookup,
	.getattr = wop_getattr,
	.setattr = wop_setattr,
	.readlink = wop_readlink,
	.mknod = wop_mknod,
	.mkdir = wop_mkdir,
	.unlink = wop_unlink,
	.rmdir = wop_rmdir,
	.symlink = wop_symlink,
	.rename = wop_rename,
	.link = wop_link,
	.open = wop_open,
	.read = wop_read,
	.write = wop_write,
	.release = wop_release,
	.fsync = wop_fsync,
	.opendir = wop_opendir,
	.readdir = wop_readdir,
	.readdirplus = wop_readdirplus,
	.releasedir = wop_releasedir,
	.fsyncdir = wop_fsync,
	.statfs = wop_statfs,
	.create = wop_create,
	.getxattr = wop_getxattr,
	.listxattr = wop_listxattr,
	.setxattr = wop_setxattr,
	.removexattr = wop_removexattr,
};
