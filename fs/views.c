/* What each kind of node shows: its attributes, children, listing, link target and extended attributes. */
#include "fs_internal.h"
#include "lastchange.h"
#include "work.h"

#include "array.h"
#include "error.h"
#include "log.h"
#include "tag.h"
#include "walk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XATTR_PREFIX "user.ugit."

/* A stable inode number for an object: equal content, equal number, so tools
 * can recognise an unchanged file or folder across snapshots. The top bit
 * keeps these apart from the small numbers of the other nodes. */
static ino_t object_ino(const ug_oid *oid, uint32_t salt)
{
	uint64_t h;

	memcpy(&h, oid->id, sizeof(h));
	h ^= (uint64_t)salt * 0x9e3779b97f4a7c15ULL;
	return (ino_t)(h | (1ULL << 63));
}

static bool is_snapshot(enum kind k)
{
	return k == K_COMMIT || k == K_TREE || k == K_BLOB || k == K_LINK || k == K_GITLINK;
}

static void set_times(struct stat *st, int64_t t)
{
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)t;
}

/* Link targets: "../" once per folder between the mount root and the link. */
static int commit_target(struct fs *fs, const ug_oid *oid, unsigned depth, char *buf, size_t size)
{
	char hex[UG_OID_MAXHEX + 1];
	size_t n = 0;

	for (unsigned i = 0; i < depth; i++) {
		if (n + 3 >= size)
			return -ENAMETOOLONG;
		memcpy(buf + n, "../", 3);
		n += 3;
	}
	if (snprintf(buf + n, size - n, "commits/%s", ug_oid_tohex(hex, oid, fs->algo)) >= (int)(size - n))
		return -ENAMETOOLONG;
	return 0;
}

/* The ref list and prefix a K_REFDIR of namespace ns shows. */
static const ug_ref_list *ns_list(const struct refsnap *s, enum ns ns, const char **prefix)
{
	*prefix = ns == NS_TAGS ? "refs/tags/" : "refs/heads/";
	return ns == NS_TAGS ? &s->tags : &s->heads;
}

static unsigned slashes(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '/';
	return n;
}

static int link_commit(struct fs *fs, const struct node *n, ug_oid *out);

/* A link to a commit carries the commit's committer time; one that resolves
 * to nothing readable shows when the refs were loaded. */
static int64_t link_time(struct fs *fs, const struct node *n)
{
	ug_oid oid;
	int64_t t;

	if (link_commit(fs, n, &oid) == 0 && lastchange_commit_time(fs, &oid, &t) == 0)
		return t;
	struct refsnap *s = refsnap_get(fs);

	t = s->loaded;
	refsnap_put(fs, s);
	return t;
}

void view_stat(struct fs *fs, const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_nlink = 1; /* for folders too: "unknown", so find does not guess from it */
	st->st_blksize = 65536;
	st->st_ino = n->ino;
	set_times(st, fs->mount_time);

	if (n->kind == K_WORK && fs->work) {
		work_stat_top(fs->work, st);
		st->st_ino = n->ino;
		return;
	}
	switch (n->kind) {
	case K_ROOT:
	case K_COMMITS:
	case K_WORK:
	case K_WNODE: /* work/ answers for itself (work_ops.c); never reached */
		st->st_mode = S_IFDIR | 0555;
		break;
	case K_REFDIR:
	case K_LOGBRANCH:
	case K_VBRANCH:
	case K_VTREE:
	case K_VFILE: {
		struct refsnap *s = refsnap_get(fs);

		st->st_mode = S_IFDIR | 0555;
		set_times(st, s->loaded);
		refsnap_put(fs, s);
		break;
	}
	case K_HEAD:
	case K_REFLINK:
	case K_ABBREV:
	case K_LOGENTRY:
	case K_VENTRY: {
		char target[4096];

		st->st_mode = S_IFLNK | 0777;
		if (view_readlink(fs, n, target, sizeof(target)) == 0)
			st->st_size = (off_t)strlen(target);
		set_times(st, n->kind == K_LOGENTRY || n->kind == K_VENTRY ? n->time : link_time(fs, n));
		break;
	}
	case K_COMMIT:
		st->st_mode = S_IFDIR | 0555;
		st->st_ino = object_ino(&n->oid, 1);
		set_times(st, n->time);
		break;
	case K_TREE:
	case K_GITLINK:
		st->st_mode = S_IFDIR | 0555;
		st->st_ino = object_ino(&n->oid, n->mode);
		set_times(st, n->time);
		break;
	case K_BLOB:
		st->st_mode = S_IFREG | (n->mode == UG_MODE_EXEC ? 0555 : 0444);
		st->st_ino = object_ino(&n->oid, n->mode);
		st->st_size = (off_t)n->size;
		set_times(st, n->time);
		break;
	case K_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_ino = object_ino(&n->oid, n->mode);
		st->st_size = (off_t)n->size;
		set_times(st, n->time);
		break;
	case K_NKINDS:
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

/* A snapshot entry as a child: sizes come from object headers, never from inflating. */
static int entry_child(struct fs *fs, const ug_tree_entry *e, int64_t time, struct child *c)
{
	ug_otype type;
	size_t size = 0;
	int err;

	memset(c, 0, sizeof(*c));
	c->name = e->name;
	c->mode = e->mode;
	c->oid = e->oid;
	c->time = time;
	switch (e->mode) {
	case UG_MODE_TREE:
		c->kind = K_TREE;
		return 0;
	case UG_MODE_GITLINK:
		c->kind = K_GITLINK;
		return 0;
	case UG_MODE_LINK:
		c->kind = K_LINK;
		break;
	default:
		c->kind = K_BLOB;
		break;
	}
	err = ug_odb_read_header(ug_repo_odb(fs->repo), &e->oid, &type, &size);
	if (err == UG_ENOTFOUND) /* listed by its tree, so its absence is damage, not a miss */
		return ug_error(UG_ECORRUPT, "object %s (entry '%s') is missing",
				ug_oid_tohex((char[UG_OID_MAXHEX + 1]){ 0 }, &e->oid, fs->algo), e->name);
	if (err)
		return err;
	if (type != UG_OBJ_BLOB)
		return ug_error(UG_ECORRUPT, "object %s in tree is a %s, not a blob",
				ug_oid_tohex((char[UG_OID_MAXHEX + 1]){ 0 }, &e->oid, fs->algo),
				ug_otype_name(type) ? ug_otype_name(type) : "bad object");
	if (size == 0) {
		/* No read ever reaches an empty file: check the object is sound now. */
		ug_object *obj;

		err = ug_odb_read(&obj, ug_repo_odb(fs->repo), &e->oid);
		if (err)
			return err;
		ug_object_free(obj);
	}
	c->size = size;
	return 0;
}

/* A commit as the child commits/HEX. */
static int commit_child(struct fs *fs, const ug_oid *oid, struct child *c)
{
	ug_commit *commit;
	int err = ug_commit_lookup(&commit, fs->repo, oid);

	if (err)
		return err;
	memset(c, 0, sizeof(*c));
	c->kind = K_COMMIT;
	c->oid = *oid;
	c->tree = commit->tree;
	c->time = commit->time;
	c->mode = UG_MODE_TREE;
	ug_commit_free(commit);
	/* a history that cannot be walked shows the commit's own time (logged once) */
	if (!fs->opts.mtime_commit && (err = lastchange_root_time(fs, oid, &c->time)))
		ugfs_errno(err);
	return 0;
}

/* The last-change times of a snapshot folder's entries; *out stays NULL with
 * -o mtime=commit (every entry has the folder's time) or when the history
 * cannot be walked (logged: the entries show the folder's time). */
static void folder_times(struct fs *fs, const struct node *dir, const ug_tree *tree, const struct lc_times **out)
{
	int err;

	*out = NULL;
	if (fs->opts.mtime_commit || !dir->path)
		return;
	err = lastchange_folder(fs, &dir->snap, dir->path, &tree->oid, out);
	if (err == UG_ENOMEM)
		ug_log(UG_LOG_WARNING, "%s", ug_error_last()); /* a budget: the entries show the folder's time */
	else if (err)
		ugfs_errno(err);
	if (err)
		*out = NULL;
}

/* A subfolder of a snapshot folder was listed: its siblings' times may be
 * found in the background (push_times decides). */
static void times_ahead(struct fs *fs, const struct node *dir)
{
	const struct node *parent = node_get(fs, dir->parent);

	if (fs->opts.mtime_commit || !parent || !parent->path || (parent->kind != K_TREE && parent->kind != K_COMMIT))
		return;
	push_times(fs, parent->ino, &dir->snap, parent->path, parent->kind == K_COMMIT ? &parent->tree : &parent->oid);
}

static int64_t entry_time(const struct lc_times *t, const ug_tree *tree, const ug_tree_entry *e, int64_t dflt)
{
	size_t i = (size_t)(e - tree->entries);

	return t && i < t->count ? t->times[i] : dflt;
}

static const struct {
	const char *name;
	enum kind kind;
	enum ns ns;
} top[] = {
	{ "HEAD", K_HEAD, 0 },	    { "branches", K_REFDIR, NS_HEADS }, { "tags", K_REFDIR, NS_TAGS },
	{ "commits", K_COMMITS, 0 }, { "log", K_REFDIR, NS_LOG },	 { "versions", K_REFDIR, NS_VERSIONS },
	{ "work", K_WORK, 0 },
};

static size_t top_count(struct fs *fs)
{
	/* with -o ro (or a detached HEAD and no branch=) there is no working view */
	return sizeof(top) / sizeof(top[0]) - (fs->work ? 0 : 1);
}

static void top_child(size_t i, struct child *c)
{
	memset(c, 0, sizeof(*c));
	c->name = top[i].name;
	c->kind = top[i].kind;
	c->ns = top[i].ns;
	c->ref = "";
}

/* What a branch is in each namespace's folder. */
static enum kind branch_kind(enum ns ns)
{
	return ns == NS_LOG ? K_LOGBRANCH : ns == NS_VERSIONS ? K_VBRANCH : K_REFLINK;
}

/* Fill c's name and ref for the component name[0..len) below ref folder dir:
 * one allocation holds "NAME\0REF\0"; a folder's ref ends with "/". */
static int named_child(struct child *c, const struct node *dir, const char *name, size_t len)
{
	size_t rlen = strlen(dir->ref);
	bool folder = c->kind == K_REFDIR;
	char *buf = malloc(2 * len + rlen + 3);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, name, len);
	buf[len] = '\0';
	sprintf(buf + len + 1, "%s%.*s%s", dir->ref, (int)len, name, folder ? "/" : "");
	c->owned = buf;
	c->name = buf;
	c->ref = buf + len + 1;
	c->ns = dir->ns;
	if (!folder)
		c->depth = 1 + slashes(c->ref) + (dir->ns == NS_LOG || dir->ns == NS_VERSIONS);
	return 0;
}

/* A ref folder's child: name is one path component below dir->ref. */
static int refdir_lookup(struct fs *fs, const struct node *dir, const char *name, struct child *c)
{
	struct refsnap *s = refsnap_get(fs);
	const char *prefix;
	const ug_ref_list *l = ns_list(s, dir->ns, &prefix);
	size_t plen = strlen(prefix), rlen = strlen(dir->ref), nlen = strlen(name);
	char *full = malloc(plen + rlen + nlen + 2);
	const ug_ref *ref;
	int err = -ENOENT;

	memset(c, 0, sizeof(*c));
	if (!full) {
		refsnap_put(fs, s);
		return -ENOMEM;
	}
	sprintf(full, "%s%s%s", prefix, dir->ref, name);
	ref = ug_refs_find(l->refs, l->count, full);
	if (ref) {
		ug_oid peeled;

		/* a tag of a tree or a blob, or an unreadable one, is not shown */
		if (dir->ns != NS_TAGS || !refsnap_peel(fs, ref, &peeled)) {
			c->kind = branch_kind(dir->ns);
			err = named_child(c, dir, name, nlen);
		}
	} else {
		size_t i;

		strcat(full, "/");
		i = ug_refs_lower_bound(l->refs, l->count, full);
		if (i < l->count && !strncmp(l->refs[i].name, full, strlen(full))) {
			c->kind = K_REFDIR;
			err = named_child(c, dir, name, nlen);
		}
	}
	free(full);
	refsnap_put(fs, s);
	return err;
}

/* The current tip of a branch (short name), from the snapshot. */
static int branch_tip(struct fs *fs, const char *branch, ug_oid *tip)
{
	struct refsnap *s = refsnap_get(fs);
	char *full = malloc(strlen(branch) + sizeof("refs/heads/"));
	const ug_ref *ref = NULL;

	if (full) {
		sprintf(full, "refs/heads/%s", branch);
		ref = ug_refs_find(s->heads.refs, s->heads.count, full);
		if (ref)
			*tip = ref->oid;
	}
	free(full);
	refsnap_put(fs, s);
	return full ? (ref ? 0 : -ENOENT) : -ENOMEM;
}

static int logbranch_lookup(struct fs *fs, const struct node *dir, const char *name, struct child *c)
{
	const struct loglist *l;
	ug_oid tip;
	char *end;
	unsigned long long pos;
	int err = branch_tip(fs, dir->ref, &tip);

	if (err)
		return err;
	pos = strtoull(name, &end, 10);
	if (end == name || *end != '_' || pos == 0)
		return -ENOENT;
	err = logcache_get(fs, &tip, &l);
	if (err)
		return -ugfs_errno(err);
	err = -ENOENT;
	if (pos <= l->count && !strcmp(l->names[pos - 1], name)) {
		ug_commit *commit;

		memset(c, 0, sizeof(*c));
		c->name = name;
		c->kind = K_LOGENTRY;
		c->oid = l->oids[pos - 1];
		c->depth = dir->depth;
		err = ug_commit_lookup(&commit, fs->repo, &c->oid);
		if (!err) {
			c->time = commit->time;
			ug_commit_free(commit);
		}
		err = err ? -ugfs_errno(err) : 0;
	}
	logcache_put(fs, l);
	return err;
}

/* --- versions/ -------------------------------------------------------------- */

/* The tree a versions/ folder shows: the branch tip's root, or its own. */
static int vtree_get(struct fs *fs, const struct node *dir, const ug_tree **out)
{
	ug_commit *commit;
	ug_oid tip;
	int err;

	if (dir->kind == K_VTREE)
		return -ugfs_errno(treecache_get(fs, &dir->oid, out));
	err = branch_tip(fs, dir->ref, &tip);
	if (err)
		return err;
	err = ug_commit_lookup(&commit, fs->repo, &tip);
	if (!err) {
		err = treecache_get(fs, &commit->tree, out);
		ug_commit_free(commit);
	}
	return -ugfs_errno(err);
}

/* A tree entry of a versions/ folder: folders stay folders, anything else is a folder of versions. */
static void vchild(const struct node *dir, const ug_tree_entry *e, struct child *c)
{
	memset(c, 0, sizeof(*c));
	c->name = e->name;
	c->kind = e->mode == UG_MODE_TREE ? K_VTREE : K_VFILE;
	c->oid = e->oid;
	c->mode = e->mode;
	c->ref = dir->ref;
	c->depth = dir->depth + 1;
}

static int vtree_lookup(struct fs *fs, const struct node *dir, const char *name, struct child *c)
{
	const ug_tree *tree;
	const ug_tree_entry *e;
	int err = vtree_get(fs, dir, &tree);

	if (err)
		return err;
	e = ug_tree_find(tree, name, strlen(name));
	if (e) {
		vchild(dir, e, c);
		c->name = name; /* the tree's storage is released below */
	}
	treecache_put(fs, tree);
	return e ? 0 : -ENOENT;
}

/* The branch's log for a versions/ file folder; release with logcache_put. */
static int vfile_log(struct fs *fs, const struct node *dir, const struct loglist **out)
{
	ug_oid tip;
	int err = branch_tip(fs, dir->ref, &tip);

	return err ? err : -ugfs_errno(logcache_get(fs, &tip, out));
}

static void ventry(const struct node *dir, const struct loglist *l, size_t i, struct child *c)
{
	memset(c, 0, sizeof(*c));
	c->name = l->names[i];
	c->kind = K_VENTRY;
	c->oid = l->oids[i];
	c->time = l->times[i];
	c->depth = dir->depth;
}

static int vfile_lookup(struct fs *fs, const struct node *dir, const char *name, struct child *c)
{
	const struct loglist *l;
	char *end;
	unsigned long long pos = strtoull(name, &end, 10);
	bool changed = false;
	int err;

	if (end == name || *end != '_' || pos == 0)
		return -ENOENT;
	err = vfile_log(fs, dir, &l);
	if (err)
		return err;
	err = -ENOENT;
	if (pos <= l->count && !strcmp(l->names[pos - 1], name)) {
		err = lastchange_version_at(fs, l, pos - 1, dir->path, &changed);
		err = err ? -ugfs_errno(err) : changed ? 0 : -ENOENT;
		if (!err) {
			ventry(dir, l, pos - 1, c);
			c->name = name;
		}
	}
	logcache_put(fs, l);
	return err;
}

static int commits_lookup(struct fs *fs, const char *name, struct child *c)
{
	size_t len = strlen(name);
	ug_oid oid;
	ug_otype type;
	size_t size;
	int err;

	if (len < 4 || len > fs->hexsz || !ug_is_hex(name, len))
		return -ENOENT;
	if (len == fs->hexsz && ug_oid_fromhex(&oid, name, len, fs->algo) == 0) {
		char canon[UG_OID_MAXHEX + 1];

		if (strcmp(ug_oid_tohex(canon, &oid, fs->algo), name))
			goto abbrev; /* upper case: a link to the canonical name */
		/* A partial clone has every commit: a name that is none is never
		 * fetched (asking the remote for any name typed would be slow, and a
		 * refusal would hold back real fetches). */
		if (!ug_odb_exists(ug_repo_odb(fs->repo), &oid))
			return -ENOENT;
		err = ug_odb_read_header(ug_repo_odb(fs->repo), &oid, &type, &size);
		if (!err && type != UG_OBJ_COMMIT)
			return -ENOENT;
		if (!err)
			err = commit_child(fs, &oid, c);
		if (!err)
			c->name = name;
		return err ? -ugfs_errno(err) : 0;
	}
abbrev:
	err = ug_odb_resolve_prefix(ug_repo_odb(fs->repo), name, len, &oid);
	if (!err)
		err = ug_odb_read_header(ug_repo_odb(fs->repo), &oid, &type, &size);
	if (err == UG_EAMBIGUOUS || err == UG_EINVALID || (!err && type != UG_OBJ_COMMIT))
		return -ENOENT;
	if (err)
		return -ugfs_errno(err);
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->kind = K_ABBREV;
	c->oid = oid;
	return 0;
}

int view_lookup(struct fs *fs, struct node *dir, const char *name, struct child *c)
{
	memset(c, 0, sizeof(*c));
	switch (dir->kind) {
	case K_ROOT:
		for (size_t i = 0; i < top_count(fs); i++) {
			if (!strcmp(top[i].name, name)) {
				top_child(i, c);
				return 0;
			}
		}
		return -ENOENT;
	case K_REFDIR:
		return refdir_lookup(fs, dir, name, c);
	case K_LOGBRANCH:
		return logbranch_lookup(fs, dir, name, c);
	case K_VBRANCH:
	case K_VTREE:
		return vtree_lookup(fs, dir, name, c);
	case K_VFILE:
		return vfile_lookup(fs, dir, name, c);
	case K_COMMITS:
		return commits_lookup(fs, name, c);
	case K_COMMIT:
	case K_TREE: {
		const ug_tree *tree;
		const ug_tree_entry *e;
		int err = treecache_get(fs, dir->kind == K_COMMIT ? &dir->tree : &dir->oid, &tree);

		if (err)
			return -ugfs_errno(err);
		prefetch_folder(fs, tree); /* a partial clone: this folder's objects in one request */
		e = ug_tree_find(tree, name, strlen(name));
		if (e) {
			const struct lc_times *t;

			folder_times(fs, dir, tree, &t);
			err = entry_child(fs, e, entry_time(t, tree, e, dir->time), c);
			lastchange_put(fs, t);
		} else {
			err = UG_ENOTFOUND;
		}
		if (!err)
			c->name = name; /* the tree's storage is released below */
		treecache_put(fs, tree);
		return err ? -ugfs_errno(err) : 0;
	}
	case K_GITLINK:
	case K_WORK:
		return -ENOENT;
	default:
		return -ENOTDIR;
	}
}

/* Listings: each folder kind produces its children by index. */
struct listing {
	enum kind kind;
	/* K_COMMIT, K_TREE */
	const ug_tree *tree;
	int64_t time;
	const struct lc_times *times; /* NULL: every entry has time */
	/* K_REFDIR: children computed at open */
	struct child *kids;
	size_t nkids;
	/* K_LOGBRANCH, K_VFILE */
	const struct loglist *log;
	unsigned depth;
	/* K_VBRANCH, K_VTREE, K_VFILE: the folder; K_VFILE: its versions (indices into log) */
	const struct node *dir;
	size_t *versions, nversions;
	/* K_COMMITS: a walk, restarted only when asked to go further back than
	 * the last entry (the one that did not fit in the kernel's last buffer) */
	ug_walk *walk;
	size_t pos;          /* entries produced so far */
	ug_oid last;         /* entry pos - 1 */
	char hex[UG_OID_MAXHEX + 1];
};

static int add_kid(struct listing *l, size_t *cap, const struct child *c)
{
	struct child *k = ug_array_grow(l->kids, cap, l->nkids + 1, sizeof(*k), 16);

	if (!k)
		return -ENOMEM;
	l->kids = k;
	l->kids[l->nkids++] = *c;
	return 0;
}

static int refdir_list(struct fs *fs, const struct node *dir, struct listing *l)
{
	struct refsnap *s = refsnap_get(fs);
	const char *prefix;
	const ug_ref_list *refs = ns_list(s, dir->ns, &prefix);
	size_t plen = strlen(prefix), rlen = strlen(dir->ref), cap = 0;
	char *full = malloc(plen + rlen + 1);
	const char *last_dir = NULL;
	size_t last_dir_len = 0;
	int err = 0;

	if (!full) {
		refsnap_put(fs, s);
		return -ENOMEM;
	}
	sprintf(full, "%s%s", prefix, dir->ref);
	for (size_t i = ug_refs_lower_bound(refs->refs, refs->count, full); i < refs->count && !err; i++) {
		const ug_ref *r = &refs->refs[i];
		const char *rest = r->name + plen + rlen, *slash;
		struct child c = { 0 };
		ug_oid peeled;

		if (strncmp(r->name, full, plen + rlen))
			break;
		slash = strchr(rest, '/');
		if (slash) {
			/* a folder: list it once (the refs are sorted, so its refs are adjacent) */
			if (last_dir && last_dir_len == (size_t)(slash - rest) && !strncmp(last_dir, rest, last_dir_len))
				continue;
			last_dir = rest;
			last_dir_len = (size_t)(slash - rest);
			c.kind = K_REFDIR;
		} else {
			if (dir->ns == NS_TAGS && refsnap_peel(fs, r, &peeled))
				continue;
			c.kind = branch_kind(dir->ns);
		}
		err = named_child(&c, dir, rest, slash ? (size_t)(slash - rest) : strlen(rest));
		if (err)
			break;
		err = add_kid(l, &cap, &c);
		if (err)
			child_release(&c);
	}
	free(full);
	refsnap_put(fs, s);
	return err;
}

int view_list(struct fs *fs, struct node *dir, struct listing **out)
{
	struct listing *l = calloc(1, sizeof(*l));
	int err = 0;

	if (!l)
		return -ENOMEM;
	l->kind = dir->kind;
	switch (dir->kind) {
	case K_ROOT: {
		size_t cap = 0;

		for (size_t i = 0; i < top_count(fs) && !err; i++) {
			struct child c;

			top_child(i, &c);
			err = add_kid(l, &cap, &c);
		}
		break;
	}
	case K_REFDIR:
		err = refdir_list(fs, dir, l);
		break;
	case K_LOGBRANCH: {
		ug_oid tip;

		err = branch_tip(fs, dir->ref, &tip);
		if (!err)
			err = -ugfs_errno(logcache_get(fs, &tip, &l->log));
		l->depth = dir->depth;
		break;
	}
	case K_VBRANCH:
	case K_VTREE:
		err = vtree_get(fs, dir, &l->tree);
		l->dir = dir;
		break;
	case K_VFILE:
		err = vfile_log(fs, dir, &l->log);
		if (!err)
			err = -ugfs_errno(lastchange_versions(fs, l->log, dir->path, &l->versions, &l->nversions));
		l->dir = dir;
		break;
	case K_COMMITS:
		break; /* the walk starts at the first read */
	case K_COMMIT:
	case K_TREE:
		err = -ugfs_errno(treecache_get(fs, dir->kind == K_COMMIT ? &dir->tree : &dir->oid, &l->tree));
		if (!err)
			prefetch_folder(fs, l->tree);
		l->time = dir->time;
		if (!err)
			folder_times(fs, dir, l->tree, &l->times);
		if (!err && dir->kind == K_TREE)
			times_ahead(fs, dir);
		break;
	case K_GITLINK:
	case K_WORK:
		break;
	default:
		err = -ENOTDIR;
	}
	if (err) {
		listing_free(fs, l);
		return err;
	}
	*out = l;
	return 0;
}

void listing_free(struct fs *fs, struct listing *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nkids; i++)
		child_release(&l->kids[i]);
	free(l->kids);
	lastchange_put(fs, l->times);
	treecache_put(fs, l->tree);
	logcache_put(fs, l->log);
	ug_walk_free(l->walk);
	free(l->versions);
	free(l);
}

/* Start (or restart) the walk over every commit reachable from a ref or HEAD. */
static int walk_start(struct fs *fs, struct listing *l)
{
	ug_ref_list all = { 0 };
	ug_oid head;
	int err;

	ug_walk_free(l->walk);
	l->walk = NULL;
	l->pos = 0;
	err = ug_walk_new(&l->walk, fs->repo);
	if (err)
		return err;
	ug_walk_use_graph(l->walk, fs->graph);
	if (ug_refs_resolve(ug_repo_refdb(fs->repo), "HEAD", &head, NULL) == 0)
		ug_walk_push(l->walk, &head);
	err = ug_refs_list(ug_repo_refdb(fs->repo), "", &all);
	for (size_t i = 0; !err && i < all.count; i++)
		if (!all.refs[i].target)
			ug_walk_push(l->walk, &all.refs[i].oid);
	ug_ref_list_release(&all);
	return err;
}

int listing_at(struct fs *fs, struct listing *l, size_t i, struct child *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	switch (l->kind) {
	case K_ROOT:
	case K_REFDIR:
		if (i >= l->nkids)
			return 1;
		*c = l->kids[i];
		c->owned = NULL; /* still owned by the listing */
		return 0;
	case K_LOGBRANCH:
		if (!l->log || i >= l->log->count)
			return 1;
		c->name = l->log->names[i];
		c->kind = K_LOGENTRY;
		c->oid = l->log->oids[i];
		c->time = l->log->times[i];
		c->depth = l->depth;
		return 0;
	case K_COMMIT:
	case K_TREE:
		if (i >= l->tree->count)
			return 1;
		err = entry_child(fs, &l->tree->entries[i],
				  entry_time(l->times, l->tree, &l->tree->entries[i], l->time), c);
		if (err) {
			/* only this entry is affected: listed, and its lookup fails */
			ugfs_errno(err);
			c->broken = true;
		}
		return 0;
	case K_VBRANCH:
	case K_VTREE:
		if (i >= l->tree->count)
			return 1;
		vchild(l->dir, &l->tree->entries[i], c);
		return 0;
	case K_VFILE:
		if (i >= l->nversions)
			return 1;
		ventry(l->dir, l->log, l->versions[i], c);
		return 0;
	case K_COMMITS:
		if (!l->walk || i + 1 < l->pos) {
			err = walk_start(fs, l);
			if (err)
				return -ugfs_errno(err);
		}
		while (l->pos <= i) {
			err = ug_walk_next(l->walk, &l->last);
			if (err == UG_ENOTFOUND)
				return 1;
			if (err)
				return -ugfs_errno(err);
			l->pos++;
		}
		c->name = ug_oid_tohex(l->hex, &l->last, fs->algo);
		c->kind = K_COMMIT;
		c->oid = l->last;
		return 0;
	default:
		return 1;
	}
}

/* The commit a link node points to (a tag peeled); 0 or a negative errno. */
static int link_commit(struct fs *fs, const struct node *n, ug_oid *out)
{
	struct refsnap *s;
	const char *prefix;
	const ug_ref_list *l;
	const ug_ref *ref = NULL;
	char *full;
	int err = -ENOENT;

	if (n->kind == K_LOGENTRY || n->kind == K_ABBREV || n->kind == K_VENTRY) {
		*out = n->oid;
		return 0;
	}
	s = refsnap_get(fs);
	if (n->kind == K_HEAD) {
		if (s->head_valid)
			*out = s->head_oid;
		err = s->head_valid ? 0 : -ENOENT;
		refsnap_put(fs, s);
		return err;
	}
	l = ns_list(s, n->ns, &prefix);
	full = malloc(strlen(prefix) + strlen(n->ref) + 1);
	if (full) {
		sprintf(full, "%s%s", prefix, n->ref);
		ref = ug_refs_find(l->refs, l->count, full);
		if (ref && n->ns == NS_TAGS) {
			int e = refsnap_peel(fs, ref, out);

			err = e ? -ugfs_errno(e) : 0;
		} else if (ref) {
			*out = ref->oid;
			err = 0;
		}
	} else {
		err = -ENOMEM;
	}
	free(full);
	refsnap_put(fs, s);
	return err;
}

int view_readlink(struct fs *fs, const struct node *n, char *buf, size_t size)
{
	switch (n->kind) {
	case K_HEAD: {
		struct refsnap *s = refsnap_get(fs);
		int err = 0;

		if (s->head_target && !strncmp(s->head_target, "refs/heads/", 11)) {
			if (snprintf(buf, size, "branches/%s", s->head_target + 11) >= (int)size)
				err = -ENAMETOOLONG;
		} else if (s->head_valid) {
			err = commit_target(fs, &s->head_oid, 0, buf, size);
		} else {
			err = -ENOENT;
		}
		refsnap_put(fs, s);
		return err;
	}
	case K_REFLINK: {
		ug_oid target;
		int err = link_commit(fs, n, &target);

		return err ? err : commit_target(fs, &target, n->depth, buf, size);
	}
	case K_LOGENTRY:
		return commit_target(fs, &n->oid, n->depth, buf, size);
	case K_VENTRY: {
		int err = commit_target(fs, &n->oid, n->depth, buf, size);
		size_t len = err ? 0 : strlen(buf);

		if (!err && snprintf(buf + len, size - len, "/%s", n->path ? n->path : "") >= (int)(size - len))
			err = -ENAMETOOLONG;
		return err;
	}
	case K_ABBREV:
		if (size <= fs->hexsz)
			return -ENAMETOOLONG;
		ug_oid_tohex(buf, &n->oid, fs->algo);
		return 0;
	case K_LINK: {
		char hex[UG_OID_MAXHEX + 1];
		ug_object *obj;
		int err;

		/* The size from the object's header (n->size) first: a target of
		 * gigabytes is refused without reading it. */
		if (n->size == 0 || n->size >= size) {
			ug_log(UG_LOG_ERROR, "symlink %s: target of %llu bytes is empty or too long",
			       ug_oid_tohex(hex, &n->oid, fs->algo), (unsigned long long)n->size);
			return -EIO;
		}
		err = ug_odb_read(&obj, ug_repo_odb(fs->repo), &n->oid);
		if (err)
			return -ugfs_errno(err);
		if (obj->size == 0 || obj->size >= size || memchr(obj->data, '\0', obj->size)) {
			ug_log(UG_LOG_ERROR, "symlink %s: target is empty, too long or holds NUL",
			       ug_oid_tohex(hex, &n->oid, fs->algo));
			ug_object_free(obj);
			return -EIO;
		}
		memcpy(buf, obj->data, obj->size);
		buf[obj->size] = '\0';
		ug_object_free(obj);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* Extended attributes. Commit roots carry the commit's metadata; every
 * snapshot node carries its object id and git mode. */
enum xa { XA_COMMIT, XA_TREE, XA_PARENTS, XA_AUTHOR, XA_COMMITTER, XA_MESSAGE, XA_OID, XA_MODE, XA_N };

static const char *const xa_names[XA_N] = {
	[XA_COMMIT] = XATTR_PREFIX "commit",	   [XA_TREE] = XATTR_PREFIX "tree",
	[XA_PARENTS] = XATTR_PREFIX "parents",	   [XA_AUTHOR] = XATTR_PREFIX "author",
	[XA_COMMITTER] = XATTR_PREFIX "committer", [XA_MESSAGE] = XATTR_PREFIX "message",
	[XA_OID] = XATTR_PREFIX "oid",		   [XA_MODE] = XATTR_PREFIX "mode",
};

static bool xa_applies(const struct node *n, enum xa a)
{
	if (a <= XA_MESSAGE)
		return n->kind == K_COMMIT;
	/* Linux allows user.* attributes only on files and folders, not on symlinks */
	return is_snapshot(n->kind) && n->kind != K_LINK;
}

int view_xattr_list(struct fs *fs, const struct node *n, char *buf, size_t size, size_t *len)
{
	size_t total = 0;

	(void)fs;
	for (int a = 0; a < XA_N; a++) {
		size_t l;

		if (!xa_applies(n, (enum xa)a))
			continue;
		l = strlen(xa_names[a]) + 1;
		if (buf && total + l <= size)
			memcpy(buf + total, xa_names[a], l);
		total += l;
	}
	*len = total;
	return buf && size && total > size ? -ERANGE : 0;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int view_xattr_get(struct fs *fs, const struct node *n, const char *name, char **value, size_t *len)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_commit *c = NULL;
	enum xa a;
	int err;

	for (a = 0; a < XA_N; a++)
		if (!strcmp(name, xa_names[a]))
			break;
	if (a == XA_N || !xa_applies(n, a))
		return -ENODATA;
	*value = NULL;
	if (a == XA_OID) {
		*value = strdup(ug_oid_tohex(hex, n->kind == K_COMMIT ? &n->tree : &n->oid, fs->algo));
	} else if (a == XA_MODE) {
		*value = dup_printf("%o", n->kind == K_COMMIT ? UG_MODE_TREE : n->mode);
	} else {
		err = ug_commit_lookup(&c, fs->repo, &n->oid);
		if (err)
			return -ugfs_errno(err);
		switch (a) {
		case XA_COMMIT:
			*value = strdup(ug_oid_tohex(hex, &n->oid, fs->algo));
			break;
		case XA_TREE:
			*value = strdup(ug_oid_tohex(hex, &c->tree, fs->algo));
			break;
		case XA_PARENTS: {
			size_t cap = c->nparents * (fs->hexsz + 1) + 1, off = 0;

			*value = malloc(cap);
			if (*value) {
				(*value)[0] = '\0';
				for (size_t i = 0; i < c->nparents; i++)
					off += (size_t)sprintf(*value + off, "%s%s", i ? " " : "",
							       ug_oid_tohex(hex, &c->parents[i], fs->algo));
			}
			break;
		}
		case XA_AUTHOR:
			*value = strdup(c->author);
			break;
		case XA_COMMITTER:
			*value = strdup(c->committer);
			break;
		case XA_MESSAGE:
			*value = malloc(c->message_len + 1);
			if (*value)
				memcpy(*value, c->message, c->message_len + 1);
			*len = c->message_len;
			ug_commit_free(c);
			return *value ? 0 : -ENOMEM;
		default:
			break;
		}
		ug_commit_free(c);
	}
	if (!*value)
		return -ENOMEM;
	*len = strlen(*value);
	return 0;
}
