/* References: the public API over the backend vtable, ref name rules, and the loose-file helpers both backends share. */
#include "refs.h"

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "refs_backend.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* git's SYMREF_MAXDEPTH: HEAD -> a -> b ... at most this many symbolic hops. */
#define SYMREF_MAXDEPTH 5
/* A loose ref is one id or one name; anything bigger is not a ref. */
#define MAX_LOOSE_REF 65536

void ug_ref_release(ug_ref *ref)
{
	if (!ref)
		return;
	free(ref->name);
	free(ref->target);
	memset(ref, 0, sizeof(*ref));
}

void ug_ref_list_release(ug_ref_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		ug_ref_release(&list->refs[i]);
	free(list->refs);
	list->refs = NULL;
	list->count = 0;
}

size_t ug_refs_lower_bound(const ug_ref *refs, size_t count, const char *name)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(refs[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const ug_ref *ug_refs_find(const ug_ref *refs, size_t count, const char *name)
{
	size_t i = ug_refs_lower_bound(refs, count, name);

	return i < count && !strcmp(refs[i].name, name) ? &refs[i] : NULL;
}

void ug_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void ug_refdb_free(ug_refdb *db)
{
	if (db)
		db->ops->free(db);
}

/* check-ref-format, one component: not empty, no leading '.', no ".lock" end. */
static bool component_ok(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.')
		return false;
	if (len >= 5 && !memcmp(s + len - 5, ".lock", 5))
		return false;
	return true;
}

bool ug_refname_valid(const char *name)
{
	size_t len, start = 0;
	bool slash = false;

	if (!name)
		return false;
	if (!strcmp(name, "HEAD"))
		return true;
	len = strlen(name);
	if (len == 0 || !strcmp(name, "@") || name[len - 1] == '.' || name[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c))
			return false;
		if (c == '.' && name[i + 1] == '.')
			return false;
		if (c == '@' && name[i + 1] == '{')
			return false;
		if (c == '/') {
			if (!component_ok(name + start, i - start))
				return false;
			start = i + 1;
			slash = true;
		}
	}
	/* One-level names ("main") are not full names. */
	return slash && component_ok(name + start, len - start);
}

bool ug_refs__name_readable(const char *name)
{
	size_t i;

	if (!strncmp(name, "refs/", 5))
		return ug_refname_valid(name);
	/* HEAD and pseudorefs: capitals and underscores only, like git's refname_is_safe. */
	for (i = 0; name[i]; i++)
		if (!isupper((unsigned char)name[i]) && name[i] != '_')
			return false;
	return i > 0;
}

int ug_refs_read(ug_refdb *db, const char *name, ug_ref *out)
{
	memset(out, 0, sizeof(*out));
	if (!name || !ug_refs__name_readable(name))
		return ug_error(UG_EINVALID, "invalid ref name '%s'", name ? name : "(null)");
	return db->ops->read(db, name, out);
}

int ug_refs_resolve(ug_refdb *db, const char *name, ug_oid *out, char **final)
{
	ug_ref ref;
	char *cur;
	int err;

	if (final)
		*final = NULL;
	cur = strdup(name);
	if (!cur)
		return ug_error(UG_ENOMEM, "out of memory");
	for (int hops = 0;; hops++) {
		err = ug_refs_read(db, cur, &ref);
		if (err == UG_ENOTFOUND) {
			/* an unborn branch: the caller may still want its name */
			if (final)
				*final = cur;
			else
				free(cur);
			return ug_error(UG_ENOTFOUND, "ref %s not found", name);
		}
		if (err) {
			free(cur);
			return err;
		}
		if (!ref.target) {
			*out = ref.oid;
			ug_ref_release(&ref);
			if (final)
				*final = cur;
			else
				free(cur);
			return 0;
		}
		if (hops == SYMREF_MAXDEPTH) {
			ug_ref_release(&ref);
			free(cur);
			return ug_error(UG_ECORRUPT, "ref %s: symbolic refs loop or nest deeper than %d",
					name, SYMREF_MAXDEPTH);
		}
		free(cur);
		cur = ref.target;
		ref.target = NULL;
		ug_ref_release(&ref);
	}
}

int ug_refs_list(ug_refdb *db, const char *prefix, ug_ref_list *out)
{
	out->refs = NULL;
	out->count = 0;
	return db->ops->list(db, prefix ? prefix : "", out);
}

/* Names ugitfs may write: refs/... and HEAD. */
static bool writable_name(const char *name)
{
	return name && ug_refname_valid(name) && (!strncmp(name, "refs/", 5) || !strcmp(name, "HEAD"));
}

int ug_refs_update(ug_refdb *db, const char *name, const ug_oid *new_oid,
		   const ug_oid *old_oid, const char *ident, const char *reflog_msg)
{
	if (!writable_name(name))
		return ug_error(UG_EINVALID, "invalid ref name '%s'", name ? name : "(null)");
	if (!new_oid || ug_oid_iszero(new_oid))
		return ug_error(UG_EINVALID, "%s: refusing to store a zero id", name);
	return db->ops->write(db, name, new_oid, NULL, old_oid, ident, reflog_msg);
}

int ug_refs_set_symbolic(ug_refdb *db, const char *name, const char *target)
{
	if (!writable_name(name))
		return ug_error(UG_EINVALID, "invalid ref name '%s'", name ? name : "(null)");
	if (!target || strncmp(target, "refs/", 5) || !ug_refname_valid(target))
		return ug_error(UG_EINVALID, "%s: invalid symbolic target '%s'", name,
				target ? target : "(null)");
	return db->ops->write(db, name, NULL, target, NULL, NULL, NULL);
}

int ug_refs_delete(ug_refdb *db, const char *name, const ug_oid *old_oid)
{
	if (!writable_name(name))
		return ug_error(UG_EINVALID, "invalid ref name '%s'", name ? name : "(null)");
	return db->ops->remove(db, name, old_oid);
}

char **ug_refdb_watch_roots(ug_refdb *db)
{
	return db->ops->watch_roots(db);
}

/* --- helpers shared by the backends --- */

int ug_refs__read_file(const char *path, char **buf, size_t *len)
{
	int err = ug_fileio_read(path, MAX_LOOSE_REF, buf, len);

	return err == UG_EINVALID ? ug_error(UG_ECORRUPT, "%s: not a ref file", path) : err;
}

int ug_refs__parse_loose(const char *path, const char *name, const char *buf, size_t len,
			 ug_hash_algo algo, ug_ref *out)
{
	size_t hexsz = ug_hash_hexsz(algo);

	memset(out, 0, sizeof(*out));
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	if (len >= 4 && !memcmp(buf, "ref:", 4)) {
		size_t i = 4;

		while (i < len && isspace((unsigned char)buf[i]))
			i++;
		if (memchr(buf + i, '\0', len - i))
			return ug_error(UG_ECORRUPT, "%s: bad symbolic ref", path);
		out->target = strndup(buf + i, len - i);
		if (!out->target)
			return ug_error(UG_ENOMEM, "out of memory");
		if (!ug_refs__name_readable(out->target)) {
			ug_ref_release(out);
			return ug_error(UG_ECORRUPT, "%s: symbolic ref to an invalid name", path);
		}
	} else {
		/* git takes the id and ignores whatever follows a space */
		if (len < hexsz || ug_oid_fromhex(&out->oid, buf, hexsz, algo) ||
		    (len > hexsz && !isspace((unsigned char)buf[hexsz])))
			return ug_error(UG_ECORRUPT, "%s: not a ref (no %s id)", path,
					ug_hash_name(algo));
	}
	out->name = strdup(name);
	if (!out->name) {
		ug_ref_release(out);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	return 0;
}

int ug_refs__read_loose(ug_refdb *db, const char *name, ug_ref *out)
{
	char *path = db->ops->loose_path(db, name), *buf;
	size_t len;
	int err;

	if (!path)
		return ug_error(UG_ENOMEM, "out of memory");
	err = ug_refs__read_file(path, &buf, &len);
	if (!err) {
		err = ug_refs__parse_loose(path, name, buf, len, db->algo, out);
		free(buf);
	}
	free(path);
	return err;
}

int ug_refs__list_push(ug_ref_list *list, ug_ref *ref)
{
	size_t n = list->count;

	/* The capacity is implied by count: 16, then doubling at each power of two. */
	if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
		ug_ref *p = realloc(list->refs, (n ? 2 * n : 16) * sizeof(*p));

		if (!p)
			return ug_error(UG_ENOMEM, "out of memory");
		list->refs = p;
	}
	list->refs[list->count++] = *ref;
	memset(ref, 0, sizeof(*ref));
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const ug_ref *)a)->name, ((const ug_ref *)b)->name);
}

void ug_refs__list_sort(ug_ref_list *list)
{
	if (list->count > 1)
		qsort(list->refs, list->count, sizeof(*list->refs), cmp_ref);
}

/* Could a ref inside directory dirname ("refs/heads/") start with prefix? */
static bool dir_may_match(const char *dirname, const char *prefix)
{
	size_t dl = strlen(dirname), pl = strlen(prefix);

	return !strncmp(dirname, prefix, dl < pl ? dl : pl);
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

typedef struct {
	char *path, *name; /* the directory and its ref name with a trailing '/' */
} pending_dir;

/* A walk of the loose refs: the folders still to read (a stack, no
 * recursion), the one being read, and where its refs go. */
typedef struct {
	pending_dir *stack;
	size_t depth, cap;
	pending_dir cur;
	const char *prefix;
	ug_hash_algo algo;
	ug_ref_list *list;
	int err; /* what stopped the walk: out of memory */
} ref_walk;

static int read_one(const char *path, const char *name, ug_hash_algo algo, ug_ref_list *list)
{
	char *buf;
	size_t len;
	ug_ref ref;
	int err;

	if (!ug_refname_valid(name)) {
		ug_log(UG_LOG_WARNING, "%s: skipping a ref with an invalid name", path);
		return 0;
	}
	err = ug_refs__read_file(path, &buf, &len);
	if (err == UG_ENOTFOUND)
		return 0; /* deleted while we walked */
	if (!err) {
		err = ug_refs__parse_loose(path, name, buf, len, algo, &ref);
		free(buf);
	}
	if (err == UG_ENOMEM)
		return err;
	if (err) {
		ug_log(UG_LOG_WARNING, "skipping ref %s: %s", name, ug_error_last());
		return 0;
	}
	err = ug_refs__list_push(list, &ref);
	if (err)
		ug_ref_release(&ref);
	return err;
}

/* Push a folder to read: path and name are the walk's now (freed on failure). */
static int push_dir(ref_walk *w, char *path, char *name)
{
	if (w->depth == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		pending_dir *p = realloc(w->stack, cap * sizeof(*p));

		if (!p) {
			free(path);
			free(name);
			return ug_error(UG_ENOMEM, "out of memory");
		}
		w->stack = p;
		w->cap = cap;
	}
	w->stack[w->depth].path = path;
	w->stack[w->depth++].name = name;
	return 0;
}

/* Push the deepest directory the prefix names ("refs/heads/" for
 * "refs/heads/fe"), else refs/; nothing when no ref under refs/ can match. */
static int push_start(ref_walk *w, const char *root)
{
	const char *prefix = w->prefix;
	char *start, *path = NULL;
	size_t len;

	if (!strncmp(prefix, "refs/", 5))
		len = (size_t)(strrchr(prefix, '/') - prefix) + 1;
	else if (!strncmp("refs/", prefix, strlen(prefix)))
		prefix = "refs/", len = 5;
	else
		return 0;
	if ((start = strndup(prefix, len))) {
		start[len - 1] = '\0';
		path = join(root, start);
		start[len - 1] = '/';
	}
	if (!path) {
		free(start);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	return push_dir(w, path, start);
}

/* Is the entry at path a directory? lstat where the file system does not
 * say: never follow a symlink into a directory loop. */
static bool entry_is_dir(const char *path, unsigned char type)
{
	struct stat st;

	if (type == DT_UNKNOWN)
		return !lstat(path, &st) && S_ISDIR(st.st_mode);
	return type == DT_DIR;
}

/* One entry of the folder read: a ref to read (a symlink only to a
 * regular file: one to a directory is not a ref, and not followed), a
 * folder to push when refs in it may match, or a lock file to skip. */
static int visit_ref(void *arg, int dirfd, const char *n, unsigned char type)
{
	ref_walk *w = arg;
	size_t nl = strlen(n);
	char *path, *name;
	struct stat st;

	(void)dirfd;
	if (nl >= 5 && !strcmp(n + nl - 5, ".lock")) {
		ug_log(UG_LOG_DEBUG, "%s%s: skipping a lock file", w->cur.name, n);
		return 0;
	}
	path = join(w->cur.path, n);
	name = malloc(strlen(w->cur.name) + nl + 2);
	if (!path || !name) {
		free(path);
		free(name);
		return w->err = ug_error(UG_ENOMEM, "out of memory");
	}
	strcpy(name, w->cur.name);
	strcat(name, n);
	if (entry_is_dir(path, type)) {
		strcat(name, "/");
		if (dir_may_match(name, w->prefix))
			return w->err = push_dir(w, path, name);
	} else if (!strncmp(name, w->prefix, strlen(w->prefix)) &&
		   (type != DT_LNK || (!stat(path, &st) && S_ISREG(st.st_mode)))) {
		w->err = read_one(path, name, w->algo, w->list);
	}
	free(path);
	free(name);
	return w->err;
}

/* Read folder w->cur; one that cannot be listed is skipped (with a log
 * line unless it is gone). Only running out of memory stops the walk. */
static int read_dir(ref_walk *w)
{
	int err = ug_fileio_dir_each(w->cur.path, visit_ref, w);

	if (w->err)
		return w->err;
	if (err && errno != ENOENT && errno != ENOTDIR)
		ug_log(UG_LOG_WARNING, "%s: cannot list refs: %s", w->cur.path, strerror(errno));
	return 0;
}

int ug_refs__walk(const char *root, const char *prefix, ug_hash_algo algo, ug_ref_list *list)
{
	ref_walk w = { .prefix = prefix, .algo = algo, .list = list };
	int err = push_start(&w, root);

	while (!err && w.depth > 0) {
		w.cur = w.stack[--w.depth];
		err = read_dir(&w);
		free(w.cur.path);
		free(w.cur.name);
	}
	while (w.depth > 0) {
		w.depth--;
		free(w.stack[w.depth].path);
		free(w.stack[w.depth].name);
	}
	free(w.stack);
	return err;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

int ug_refs__lock(ug_reflock *lk, const char *path)
{
	int err;

	memset(lk, 0, sizeof(*lk));
	lk->fd = -1;
	lk->path = strdup(path);
	lk->lockpath = malloc(strlen(path) + 6);
	if (!lk->path || !lk->lockpath) {
		ug_refs__lock_release(lk);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	strcpy(lk->lockpath, path);
	strcat(lk->lockpath, ".lock");
	if ((err = ug_fileio_mkdir_parents(path, 0777))) {
		ug_refs__lock_release(lk);
		return err;
	}
	lk->fd = open(lk->lockpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (lk->fd < 0) {
		if (errno == EEXIST)
			err = ug_error(UG_ECONFLICT, "%s: File exists (another process holds the ref lock)",
				       lk->lockpath);
		else if (errno == ENOTDIR)
			err = ug_error(UG_ECONFLICT, "%s: a ref is in the way of a directory", lk->lockpath);
		else
			err = ug_error_os(UG_ERROR, "%s", lk->lockpath);
		ug_refs__lock_release(lk);
		return err;
	}
	lk->held = true;
	/* A directory where the ref goes: git prunes empty ones; one holding
	 * refs (refs/heads/a/b when creating refs/heads/a) is a conflict. */
	if (is_dir(lk->path) && rmdir(lk->path) < 0) {
		err = ug_error(UG_ECONFLICT, "%s: a directory of refs is in the way", lk->path);
		ug_refs__lock_release(lk);
		return err;
	}
	return 0;
}

int ug_refs__lock_write(ug_reflock *lk, const char *content, size_t len)
{
	int err;

	if (ug_fileio_write_all(lk->fd, content, len) < 0)
		return ug_error_os(UG_ERROR, "write %s", lk->lockpath);
	if (fsync(lk->fd) < 0)
		return ug_error_os(UG_ERROR, "fsync %s", lk->lockpath);
	err = close(lk->fd);
	lk->fd = -1;
	if (err < 0)
		return ug_error_os(UG_ERROR, "close %s", lk->lockpath);
	return 0;
}

/* fsync the folder holding path: a rename or unlink in it lasts then. */
static int fsync_parent(const char *path)
{
	char *dir = strdup(path);
	int err;

	if (!dir)
		return ug_error(UG_ENOMEM, "out of memory");
	*strrchr(dir, '/') = '\0';
	err = ug_fileio_fsync_dir(dir);
	free(dir);
	return err;
}

int ug_refs__lock_commit(ug_reflock *lk)
{
	if (rename(lk->lockpath, lk->path) < 0) {
		/* an empty directory left where the ref goes (git prunes them) */
		if (errno != EISDIR || rmdir(lk->path) < 0 || rename(lk->lockpath, lk->path) < 0) {
			if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
				return ug_error(UG_ECONFLICT, "%s: a directory of refs is in the way",
						lk->path);
			return ug_error_os(UG_ERROR, "rename %s", lk->lockpath);
		}
	}
	lk->held = false;
	return fsync_parent(lk->path);
}

void ug_refs__lock_release(ug_reflock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);
	lk->fd = -1;
	if (lk->held)
		unlink(lk->lockpath);
	lk->held = false;
	free(lk->path);
	free(lk->lockpath);
	lk->path = lk->lockpath = NULL;
}

int ug_refs__check_old(const char *name, int cur_err, const ug_ref *cur,
		       const ug_oid *old_oid, ug_hash_algo algo)
{
	char want[UG_OID_MAXHEX + 1], have[UG_OID_MAXHEX + 1];

	if (!old_oid)
		return cur_err == UG_ENOTFOUND || cur_err == UG_ECORRUPT ? 0 : cur_err;
	if (cur_err && cur_err != UG_ENOTFOUND)
		return ug_error(UG_ECONFLICT, "%s: cannot check the current value", name);
	if (ug_oid_iszero(old_oid)) {
		if (cur_err == UG_ENOTFOUND)
			return 0;
		return ug_error(UG_ECONFLICT, "%s: already exists", name);
	}
	if (cur_err == UG_ENOTFOUND)
		return ug_error(UG_ECONFLICT, "%s: expected %s, but the ref does not exist", name,
				ug_oid_tohex(want, old_oid, algo));
	if (cur->target)
		return ug_error(UG_ECONFLICT, "%s: expected %s, but it is a symbolic ref to %s", name,
				ug_oid_tohex(want, old_oid, algo), cur->target);
	if (!ug_oid_equal(&cur->oid, old_oid))
		return ug_error(UG_ECONFLICT, "%s: expected %s, but it is %s", name,
				ug_oid_tohex(want, old_oid, algo), ug_oid_tohex(have, &cur->oid, algo));
	return 0;
}

int ug_refs__lock_checked(ug_refdb *db, ug_reflock *lk, const char *name, const ug_oid *old_oid,
			  ug_ref *cur, int *cur_err)
{
	char *path = db->ops->loose_path(db, name);
	ug_ref mine;
	int err, read_err;

	if (!cur)
		cur = &mine;
	memset(cur, 0, sizeof(*cur));
	if (!path)
		return ug_error(UG_ENOMEM, "out of memory");
	err = ug_refs__lock(lk, path);
	free(path);
	if (err)
		return err;
	/* under the lock: a writer that respects it cannot change the value now */
	if ((read_err = db->ops->read(db, name, cur)))
		memset(cur, 0, sizeof(*cur)); /* a failed read holds nothing */
	err = ug_refs__check_old(name, read_err, cur, old_oid, db->algo);
	if (cur_err)
		*cur_err = read_err;
	if (err || cur == &mine)
		ug_ref_release(cur);
	if (err)
		ug_refs__lock_release(lk);
	return err;
}

int ug_refs__lock_write_value(ug_reflock *lk, const ug_oid *oid, const char *target, ug_hash_algo algo,
			      bool newline)
{
	char hex[UG_OID_MAXHEX + 1], *content;
	const char *eol = newline ? "\n" : "";
	int len, err;

	if (target)
		len = asprintf(&content, "ref: %s%s", target, eol);
	else
		len = asprintf(&content, "%s%s", ug_oid_tohex(hex, oid, algo), eol);
	if (len < 0)
		return ug_error(UG_ENOMEM, "out of memory");
	err = ug_refs__lock_write(lk, content, (size_t)len);
	free(content);
	return err;
}

int ug_refs__remove_loose(ug_refdb *db, const char *name, const ug_oid *old_oid)
{
	ug_reflock lk;
	int err;

	if ((err = ug_refs__lock_checked(db, &lk, name, old_oid, NULL, NULL)))
		return err;
	if (unlink(lk.path) < 0 && errno != ENOENT)
		err = ug_error_os(UG_ERROR, "unlink %s", lk.path);
	if (!err)
		err = fsync_parent(lk.path);
	ug_refs__lock_release(&lk);
	return err;
}
