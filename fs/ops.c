/* The FUSE low-level handlers: each replies exactly once, dispatching on the node's kind. */
#include "fs_internal.h"
#include "work.h"

#include "error.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Nodes whose content can never change are cached by the kernel for a day;
 * ref-dependent ones for a second, and invalidated at once by the watcher. */
static double timeout(enum kind k)
{
	switch (k) {
	case K_HEAD:
	case K_REFDIR:
	case K_REFLINK:
	case K_LOGBRANCH:
	case K_ABBREV:
	case K_VBRANCH:
	case K_VTREE:
	case K_VFILE:
	case K_VENTRY:
	case K_WORK:
	case K_WNODE:
		return 1.0;
	default:
		return 86400.0;
	}
}

static bool immutable(enum kind k)
{
	return k == K_COMMIT || k == K_TREE || k == K_GITLINK || k == K_BLOB;
}

static bool is_dir(enum kind k)
{
	return k == K_ROOT || k == K_REFDIR || k == K_COMMITS || k == K_COMMIT || k == K_LOGBRANCH ||
	       k == K_TREE || k == K_GITLINK || k == K_WORK || k == K_VBRANCH || k == K_VTREE || k == K_VFILE;
}

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void fill_entry(struct fs *fs, const struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	view_stat(fs, n, &e->attr);
	e->attr_timeout = e->entry_timeout = timeout(n->kind);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* No open, release or flush round trips: a file the kernel has cached
	 * then costs no request at all (they dominate the time of tar or cp). */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
		fs->no_open = true;
		/* O_TRUNC must then come as a setattr: with atomic truncation the
		 * kernel leaves it to an open it never sends. */
		conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	}
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* work/ applies the caller's umask itself (fuse_req_ctx), exactly once */
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	conn->max_readahead = 1 << 20;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir = node_get(fs, parent), *n;
	struct fuse_entry_param e;
	struct child c;
	int err;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (!is_dir(dir->kind)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	err = view_lookup(fs, dir, name, &c);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	n = node_child(fs, dir, &c);
	child_release(&c);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fill_entry(fs, n, &e);
	if (fuse_reply_entry(req, &e))
		node_forget(fs, n->ino, 1); /* the kernel never got it */
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	work_forget(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		work_forget(fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	struct stat st;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	view_stat(fs, n, &st);
	fuse_reply_attr(req, &st, timeout(n->kind));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	char buf[4096];
	int err;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	err = view_readlink(fs, n, buf, sizeof(buf));
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_readlink(req, buf);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	struct listing *l;
	int err;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (!is_dir(n->kind)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	err = view_list(fs, n, &l);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)l;
	if (immutable(n->kind)) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	if (fuse_reply_open(req, fi))
		listing_free(fs, l);
}

/* A stand-in attribute for a plain readdir entry (only inode and type are used). */
static void child_type(struct fs *fs, const struct child *c, struct stat *st)
{
	struct node tmp = { 0 };

	tmp.kind = c->kind;
	tmp.mode = c->mode;
	tmp.oid = c->oid;
	tmp.time = c->time;
	tmp.size = c->size;
	if (c->kind == K_COMMIT || c->kind == K_TREE || c->kind == K_BLOB || c->kind == K_LINK ||
	    c->kind == K_GITLINK) {
		view_stat(fs, &tmp, st);
	} else {
		memset(st, 0, sizeof(*st));
		st->st_mode = is_dir(c->kind) ? S_IFDIR : S_IFLNK;
		st->st_ino = 2; /* not a snapshot object: no stable number to give */
	}
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = fs_of(req);
	struct listing *l = (struct listing *)(uintptr_t)fi->fh;
	struct node *dir = node_get(fs, ino);
	char *buf;
	size_t used = 0;
	int err = 0;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off;; i++) {
		struct fuse_entry_param e = { 0 };
		struct child c = { 0 };
		const char *name;
		struct node *n = NULL;
		size_t need;

		if (i < 2) {
			name = i == 0 ? "." : "..";
			view_stat(fs, dir, &e.attr);
		} else {
			int r = listing_at(fs, l, (size_t)(i - 2), &c);

			if (r == 1)
				break;
			if (r < 0) {
				err = -r;
				break;
			}
			name = c.name;
		}
		need = plus ? fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0)
			    : fuse_add_direntry(req, NULL, 0, name, NULL, 0);
		if (used + need > size)
			break;
		if (i >= 2 && plus && (c.broken || (c.kind == K_COMMIT && ino == INO_COMMITS))) {
			/* Names only: commits/ lists every commit without creating
			 * nodes, and an unreadable entry fails at its own lookup. */
			child_type(fs, &c, &e.attr);
			e.attr.st_mode = S_IFDIR | 0555;
		} else if (i >= 2 && plus) {
			n = node_child(fs, dir, &c);
			if (!n) {
				err = ENOMEM;
				break;
			}
			fill_entry(fs, n, &e);
		} else if (i >= 2) {
			child_type(fs, &c, &e.attr);
		}
		if (plus)
			used += fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1);
		else
			used += fuse_add_direntry(req, buf + used, size - used, name, &e.attr, i + 1);
	}
	/* Entries already placed are delivered; an error shows only when nothing was. */
	if (err && used == 0) {
		ug_log(UG_LOG_ERROR, "listing %s: %s", dir->name, strerror(err));
		fuse_reply_err(req, err);
	} else {
		fuse_reply_buf(req, buf, used);
	}
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	listing_free(fs_of(req), (struct listing *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* Only reached when the kernel cannot skip opens: nothing to keep per open file. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_get(fs_of(req), ino);

	if (!n) {
		fuse_reply_err(req, ESTALE);
	} else if (is_dir(n->kind)) {
		fuse_reply_err(req, EISDIR);
	} else if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
	} else {
		fi->fh = 0;
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
	}
}

/* The first read of a second file of a folder sends its other small files ahead. */
static void push_parent(struct fs *fs, const struct node *n)
{
	const struct node *dir = node_get(fs, n->parent);

	if (dir && (dir->kind == K_TREE || dir->kind == K_COMMIT))
		push_folder(fs, dir->ino, n->ino, dir->kind == K_COMMIT ? &dir->tree : &dir->oid);
}

/* Reads are by node: the blob is inflated once and held while it is read,
 * or, when it is big and stored whole, streamed in bounded memory. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);

	(void)fi;
	if (!n || n->kind != K_BLOB) {
		fuse_reply_err(req, n ? EINVAL : ESTALE);
		return;
	}
	blob_reply(req, fs, &n->oid, n->size, size, off);
	if (off == 0)
		push_parent(fs, n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st = { 0 };

	(void)ino;
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_namemax = 255;
	fuse_reply_statfs(req, &st);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	char *value = NULL;
	size_t len = 0;
	int err;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	err = view_xattr_get(fs, n, name, &value, &len);
	if (err)
		fuse_reply_err(req, -err);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
	free(value);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	char *buf = NULL;
	size_t len = 0;
	int err;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	err = view_xattr_list(fs, n, buf, size, &len);
	if (err)
		fuse_reply_err(req, -err);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

/* Every change to a read-only path is EROFS. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino, (void)buf, (void)size, (void)off, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino, (void)datasync, (void)fi;
	fuse_reply_err(req, 0); /* nothing of a read-only file is pending */
}

static const struct fuse_lowlevel_ops ro_ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.write = op_write,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fsync = op_fsync,
	.fsyncdir = op_fsync,
};

/* Two rooms: the read-only views, and work/. A request goes to the room of the node it names. */
static const struct fuse_lowlevel_ops *room(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct node *n = fs->work ? node_get(fs, ino) : NULL;

	return n && (n->kind == K_WORK || n->kind == K_WNODE) ? &work_ops : &ro_ops;
}

static void d_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct fuse_lowlevel_ops *r = room(req, parent);

	if (r == &work_ops)
		prefetch_work(fs_of(req), parent); /* a partial clone: the folder's objects at once */
	r->lookup(req, parent, name);
}

static void d_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	room(req, ino)->getattr(req, ino, fi);
}

static void d_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	room(req, ino)->setattr(req, ino, attr, to_set, fi);
}

static void d_readlink(fuse_req_t req, fuse_ino_t ino)
{
	room(req, ino)->readlink(req, ino);
}

static void d_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	room(req, parent)->mknod(req, parent, name, mode, rdev);
}

static void d_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	room(req, parent)->mkdir(req, parent, name, mode);
}

static void d_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	room(req, parent)->unlink(req, parent, name);
}

static void d_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	room(req, parent)->rmdir(req, parent, name);
}

static void d_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	room(req, parent)->symlink(req, link, parent, name);
}

static void d_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	const struct fuse_lowlevel_ops *r = room(req, parent);

	if (r == &work_ops)
		prefetch_work_subtree(fs_of(req), parent, name); /* a folder moved is copied up */
	r->rename(req, parent, name, newparent, newname, flags);
}

static void d_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	room(req, newparent)->link(req, ino, newparent, newname);
}

static void d_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (fs_of(req)->no_open)
		fuse_reply_err(req, ENOSYS); /* the kernel stops asking: see op_init */
	else
		room(req, ino)->open(req, ino, fi);
}

static void d_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	room(req, ino)->read(req, ino, size, off, fi);
}

static void d_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	room(req, ino)->write(req, ino, buf, size, off, fi);
}

static void d_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	room(req, ino)->release(req, ino, fi);
}

static void d_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	room(req, ino)->fsync(req, ino, datasync, fi);
}

static void d_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *r = room(req, ino);

	if (r == &work_ops)
		prefetch_work(fs_of(req), ino);
	r->opendir(req, ino, fi);
}

static void d_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	room(req, ino)->readdir(req, ino, size, off, fi);
}

static void d_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	room(req, ino)->readdirplus(req, ino, size, off, fi);
}

static void d_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	room(req, ino)->releasedir(req, ino, fi);
}

static void d_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	room(req, ino)->fsyncdir(req, ino, datasync, fi);
}

static void d_statfs(fuse_req_t req, fuse_ino_t ino)
{
	room(req, ino)->statfs(req, ino);
}

static void d_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
		       int flags)
{
	room(req, ino)->setxattr(req, ino, name, value, size, flags);
}

static void d_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	room(req, ino)->getxattr(req, ino, name, size);
}

static void d_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	room(req, ino)->listxattr(req, ino, size);
}

static void d_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	room(req, ino)->removexattr(req, ino, name);
}

static void d_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	room(req, parent)->create(req, parent, name, mode, fi);
}

const struct fuse_lowlevel_ops ugfs_ops = {
	.init = op_init,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.lookup = d_lookup,
	.getattr = d_getattr,
	.setattr = d_setattr,
	.readlink = d_readlink,
	.mknod = d_mknod,
	.mkdir = d_mkdir,
	.unlink = d_unlink,
	.rmdir = d_rmdir,
	.symlink = d_symlink,
	.rename = d_rename,
	.link = d_link,
	.open = d_open,
	.read = d_read,
	.write = d_write,
	.release = d_release,
	.fsync = d_fsync,
	.opendir = d_opendir,
	.readdir = d_readdir,
	.readdirplus = d_readdirplus,
	.releasedir = d_releasedir,
	.fsyncdir = d_fsyncdir,
	.statfs = d_statfs,
	.setxattr = d_setxattr,
	.getxattr = d_getxattr,
	.listxattr = d_listxattr,
	.removexattr = d_removexattr,
	.create = d_create,
};
