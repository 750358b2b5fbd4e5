/* The git files refs backend: loose refs, a cached packed-refs (with peeled lines), reflogs. */
#include "refs.h"

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "refs_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* packed-refs is read whole; beyond this it is refused as hostile. */
#define MAX_PACKED_REFS (1u << 30)

/* One parsed packed-refs file, shared by readers while the cache holds it. */
typedef struct {
	unsigned refcount; /* under the refdb's mutex */
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	ug_ref *refs; /* sorted by name, unique */
	size_t count;
} packed_snap;

typedef struct {
	ug_refdb base;
	char *gitdir, *commondir, *packed_path;
	pthread_mutex_t mutex; /* guards cache and every snapshot's refcount */
	packed_snap *cache;
} git_refdb;

static void snap_free(packed_snap *s)
{
	for (size_t i = 0; i < s->count; i++)
		ug_ref_release(&s->refs[i]);
	free(s->refs);
	free(s);
}

static void snap_drop(git_refdb *db, packed_snap *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&db->mutex);
	last = --s->refcount == 0;
	pthread_mutex_unlock(&db->mutex);
	if (last)
		snap_free(s);
}

/* Parse the whole packed-refs text. A malformed line is skipped with a log
 * line; git would refuse the file, but one bad line must not hide every ref. */
static int parse_packed(packed_snap *s, const char *path, const char *buf, size_t len,
			ug_hash_algo algo)
{
	size_t hexsz = ug_hash_hexsz(algo), pos = 0;
	ug_ref_list list = { NULL, 0 };
	ug_ref *last = NULL;
	int lineno = 0, err = 0;

	while (pos < len && !err) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		ug_ref ref;

		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll == 0)
			continue;
		if (line[0] == '#') {
			continue; /* the header's traits: see below */
		}
		if (line[0] == '^') {
			if (!last || last->peeled_known || ll != hexsz + 1 ||
			    ug_oid_fromhex(&last->peeled, line + 1, hexsz, algo)) {
				ug_log(UG_LOG_WARNING, "%s:%d: skipping a bad peeled line", path, lineno);
				continue;
			}
			last->peeled_known = true;
			continue;
		}
		last = NULL;
		memset(&ref, 0, sizeof(ref));
		if (ll < hexsz + 2 || line[hexsz] != ' ' ||
		    ug_oid_fromhex(&ref.oid, line, hexsz, algo) ||
		    memchr(line + hexsz + 1, '\0', ll - hexsz - 1)) {
			ug_log(UG_LOG_WARNING, "%s:%d: skipping a malformed line", path, lineno);
			continue;
		}
		ref.name = strndup(line + hexsz + 1, ll - hexsz - 1);
		if (!ref.name) {
			err = ug_error(UG_ENOMEM, "out of memory");
			break;
		}
		if (strncmp(ref.name, "refs/", 5) || !ug_refname_valid(ref.name)) {
			ug_log(UG_LOG_WARNING, "%s:%d: skipping a ref with an invalid name", path, lineno);
			ug_ref_release(&ref);
			continue;
		}
		if ((err = ug_refs__list_push(&list, &ref))) {
			ug_ref_release(&ref);
			break;
		}
		last = &list.refs[list.count - 1];
	}
	if (err) {
		ug_ref_list_release(&list);
		return err;
	}
	/* The "peeled" and "fully-peeled" traits claim that a ref without a "^"
	 * line is no tag, but files exist where an annotated tag lacks its line
	 * (other writers than git): such refs stay not peeled_known, and whoever
	 * needs the peeled object reads it, as git's own peeling does. */
	ug_refs__list_sort(&list);
	/* Duplicates (impossible from git): keep one, the first after sorting. */
	if (list.count > 1) {
		size_t out = 1;

		for (size_t i = 1; i < list.count; i++) {
			if (!strcmp(list.refs[i].name, list.refs[out - 1].name)) {
				ug_log(UG_LOG_WARNING, "%s: duplicate ref %s", path, list.refs[i].name);
				ug_ref_release(&list.refs[i]);
				continue;
			}
			list.refs[out++] = list.refs[i];
		}
		list.count = out;
	}
	s->refs = list.refs;
	s->count = list.count;
	return 0;
}

static bool same_file(const packed_snap *s, bool exists, const struct stat *st)
{
	if (!s || s->exists != exists)
		return false;
	if (!exists)
		return true;
	return s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
	       s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Open packed-refs and fstat the opened file (the bytes read then belong to
 * the identity cached: git replaces packed-refs by rename, so a new file has
 * a new inode). *fd is -1 when there is none. */
static int open_packed(git_refdb *db, int *fd, struct stat *st)
{
	int err;

	*fd = open(db->packed_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0 && errno != ENOENT && errno != ENOTDIR)
		return ug_error_os(UG_ERROR, "%s", db->packed_path);
	if (*fd >= 0 && fstat(*fd, st) < 0) {
		err = ug_error_os(UG_ERROR, "%s", db->packed_path);
		close(*fd);
		*fd = -1;
		return err;
	}
	return 0;
}

/* The cached snapshot as a new reference when it is of this file, else NULL. */
static packed_snap *cached_snap(git_refdb *db, bool exists, const struct stat *st)
{
	packed_snap *s = NULL;

	pthread_mutex_lock(&db->mutex);
	if (same_file(db->cache, exists, st)) {
		s = db->cache;
		s->refcount++;
	}
	pthread_mutex_unlock(&db->mutex);
	return s;
}

/* A new snapshot (one reference, not published) of the open file fd, or of
 * no file (fd -1: no packed refs). */
static int load_snap(git_refdb *db, int fd, const struct stat *st, packed_snap **out)
{
	packed_snap *s = calloc(1, sizeof(*s));
	char *buf = NULL;
	size_t got;
	int err = 0;

	*out = NULL;
	if (!s)
		return ug_error(UG_ENOMEM, "out of memory");
	s->refcount = 1;
	s->exists = fd >= 0;
	if (s->exists && (!S_ISREG(st->st_mode) || (uint64_t)st->st_size > MAX_PACKED_REFS)) {
		err = ug_error(UG_ECORRUPT, "%s: not a packed-refs file", db->packed_path);
	} else if (s->exists) {
		s->dev = st->st_dev;
		s->ino = st->st_ino;
		s->size = st->st_size;
		s->mtime = st->st_mtim;
		err = ug_fileio_read_fd(fd, db->packed_path, (size_t)st->st_size, &buf, &got);
		if (!err)
			err = parse_packed(s, db->packed_path, buf, got, db->base.algo);
	}
	free(buf);
	if (err) {
		snap_free(s); /* never published */
		return err;
	}
	*out = s;
	return 0;
}

/* Make s the cached snapshot; a concurrent loader may have done the same, the later wins. */
static void publish_snap(git_refdb *db, packed_snap *s)
{
	packed_snap *old;
	bool old_last;

	pthread_mutex_lock(&db->mutex);
	old = db->cache;
	db->cache = s;
	s->refcount++; /* the cache's reference */
	old_last = old && --old->refcount == 0;
	pthread_mutex_unlock(&db->mutex);
	if (old_last)
		snap_free(old);
}

/* The current packed-refs, parsed once per (inode, size, mtime). *out is a
 * reference: snap_drop it. */
static int get_packed(git_refdb *db, packed_snap **out)
{
	struct stat st;
	packed_snap *s;
	int fd, err;

	*out = NULL;
	if ((err = open_packed(db, &fd, &st)))
		return err;
	if (!(s = cached_snap(db, fd >= 0, &st)) && !(err = load_snap(db, fd, &st, &s)))
		publish_snap(db, s);
	if (fd >= 0)
		close(fd);
	*out = s;
	return err;
}

static int copy_ref(ug_ref *out, const ug_ref *in)
{
	*out = *in;
	out->name = strdup(in->name);
	out->target = in->target ? strdup(in->target) : NULL;
	if (!out->name || (in->target && !out->target)) {
		ug_ref_release(out);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	return 0;
}

/* HEAD, pseudorefs and the per-worktree namespaces live in gitdir; the rest
 * in commondir (gitrepository-layout). */
static const char *dir_for(const git_refdb *db, const char *name)
{
	static const char *const per_worktree[] = { "refs/bisect/", "refs/worktree/", "refs/rewritten/" };

	if (strncmp(name, "refs/", 5))
		return db->gitdir;
	for (size_t i = 0; i < sizeof(per_worktree) / sizeof(*per_worktree); i++)
		if (!strncmp(name, per_worktree[i], strlen(per_worktree[i])))
			return db->gitdir;
	return db->commondir;
}

static char *path_of(const char *dir, const char *sub, const char *name)
{
	size_t dl = strlen(dir), sl = sub ? strlen(sub) : 0, nl = strlen(name);
	char *p = malloc(dl + sl + nl + 3);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	if (sl) {
		memcpy(p + dl + 1, sub, sl);
		p[dl + 1 + sl] = '/';
		sl++;
	}
	memcpy(p + dl + 1 + sl, name, nl + 1);
	return p;
}

static char *git_loose_path(ug_refdb *base, const char *name)
{
	return path_of(dir_for((git_refdb *)base, name), NULL, name);
}

static int git_read(ug_refdb *base, const char *name, ug_ref *out)
{
	git_refdb *db = (git_refdb *)base;
	packed_snap *s;
	const ug_ref *p;
	int err = ug_refs__read_loose(base, name, out);

	if (err != UG_ENOTFOUND || strncmp(name, "refs/", 5))
		return err;
	if ((err = get_packed(db, &s)))
		return err;
	p = ug_refs_find(s->refs, s->count, name);
	err = p ? copy_ref(out, p) : ug_error(UG_ENOTFOUND, "ref %s not found", name);
	snap_drop(db, s);
	return err;
}

static int git_list(ug_refdb *base, const char *prefix, ug_ref_list *out)
{
	git_refdb *db = (git_refdb *)base;
	size_t nloose, plen = strlen(prefix);
	packed_snap *s;
	int err;

	/* Per-worktree refs of a linked worktree (refs/bisect/...) are not listed. */
	if ((err = ug_refs__walk(db->commondir, prefix, base->algo, out)))
		goto fail;
	ug_refs__list_sort(out);
	if ((err = get_packed(db, &s)))
		goto fail;
	nloose = out->count;
	for (size_t i = ug_refs_lower_bound(s->refs, s->count, prefix); i < s->count; i++) {
		const ug_ref *p = &s->refs[i];
		ug_ref copy;

		if (strncmp(p->name, prefix, plen))
			break; /* sorted: no later name has the prefix */
		if (ug_refs_find(out->refs, nloose, p->name))
			continue; /* a loose ref overrides the packed one */
		if ((err = copy_ref(&copy, p)) || (err = ug_refs__list_push(out, &copy))) {
			ug_ref_release(&copy);
			snap_drop(db, s);
			goto fail;
		}
	}
	snap_drop(db, s);
	ug_refs__list_sort(out);
	return 0;
fail:
	ug_ref_list_release(out);
	return err;
}

/* Is there a ref "a/b" when creating "a", or "a" when creating "a/b"? Only
 * packed refs need the check: loose ones collide in the file system. */
static int check_df_conflict(git_refdb *db, const char *name)
{
	packed_snap *s;
	size_t nl = strlen(name), i;
	char *probe;
	int err = 0;

	if (strncmp(name, "refs/", 5))
		return 0;
	if ((err = get_packed(db, &s)))
		return err;
	probe = malloc(nl + 2);
	if (!probe) {
		snap_drop(db, s);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	memcpy(probe, name, nl);
	probe[nl] = '/';
	probe[nl + 1] = '\0';
	i = ug_refs_lower_bound(s->refs, s->count, probe);
	if (i < s->count && !strncmp(s->refs[i].name, probe, nl + 1))
		err = ug_error(UG_ECONFLICT, "cannot create %s: %s exists", name, s->refs[i].name);
	for (size_t j = 5; !err && j < nl; j++) {
		if (name[j] != '/')
			continue;
		probe[j] = '\0';
		if (ug_refs_find(s->refs, s->count, probe))
			err = ug_error(UG_ECONFLICT, "cannot create %s: %s exists", name, probe);
		probe[j] = '/';
	}
	free(probe);
	snap_drop(db, s);
	return err;
}

/* The reflog message as git stores it: whitespace runs become one space,
 * none at either end. Newly malloc'ed. */
static char *clean_msg(const char *msg)
{
	size_t len = msg ? strlen(msg) : 0, o = 0;
	char *out = malloc(len + 1);
	bool space = true;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];
		bool s = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';

		if (s && space)
			continue;
		space = s;
		out[o++] = s ? ' ' : (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

static int append_reflog(const char *path, const char *line, size_t len)
{
	int fd, err = 0;

	if ((err = ug_fileio_mkdir_parents(path, 0777)))
		return err;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0 && errno == EISDIR && rmdir(path) == 0) /* an empty leftover directory */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return ug_error_os(UG_ERROR, "%s", path);
	if (ug_fileio_write_all(fd, line, len) < 0)
		err = ug_error_os(UG_ERROR, "write %s", path);
	if (!err && fdatasync(fd) < 0)
		err = ug_error_os(UG_ERROR, "fsync %s", path);
	if (close(fd) < 0 && !err)
		err = ug_error_os(UG_ERROR, "close %s", path);
	return err;
}

/* "OLD NEW Name <email> EPOCH +HHMM\tMSG\n" to logs/NAME, and to logs/HEAD
 * when HEAD is a symbolic ref to NAME (git logs a branch move made through
 * HEAD in both). */
static int write_reflogs(git_refdb *db, const char *name, const ug_oid *old,
			 const ug_oid *new, const char *ident, const char *msg)
{
	char oldhex[UG_OID_MAXHEX + 1], newhex[UG_OID_MAXHEX + 1], *line = NULL, *cmsg, *path;
	time_t now = time(NULL);
	struct tm tm;
	long off;
	ug_ref head;
	int err, len;

	if (!localtime_r(&now, &tm))
		memset(&tm, 0, sizeof(tm));
	off = tm.tm_gmtoff / 60;
	cmsg = clean_msg(msg);
	if (!cmsg)
		return ug_error(UG_ENOMEM, "out of memory");
	len = asprintf(&line, "%s %s %s %lld %c%02ld%02ld%s%s\n", ug_oid_tohex(oldhex, old, db->base.algo),
		       ug_oid_tohex(newhex, new, db->base.algo), ident ? ident : "ugitfs <ugitfs@localhost>",
		       (long long)now, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60,
		       *cmsg ? "\t" : "", cmsg);
	free(cmsg);
	if (len < 0)
		return ug_error(UG_ENOMEM, "out of memory");
	path = path_of(dir_for(db, name), "logs", name);
	err = path ? append_reflog(path, line, (size_t)len) : ug_error(UG_ENOMEM, "out of memory");
	free(path);
	if (!err && strcmp(name, "HEAD") && !git_read(&db->base, "HEAD", &head)) {
		if (head.target && !strcmp(head.target, name)) {
			path = path_of(db->gitdir, "logs", "HEAD");
			err = path ? append_reflog(path, line, (size_t)len) : ug_error(UG_ENOMEM, "out of memory");
			free(path);
		}
		ug_ref_release(&head);
	}
	free(line);
	return err;
}

static int git_write(ug_refdb *base, const char *name, const ug_oid *oid, const char *target,
		     const ug_oid *old_oid, const char *ident, const char *msg)
{
	git_refdb *db = (git_refdb *)base;
	ug_reflock lk;
	ug_ref cur;
	ug_oid zero = { { 0 } };
	int err, cur_err;

	if ((err = ug_refs__lock_checked(base, &lk, name, old_oid, &cur, &cur_err)))
		return err;
	if (cur_err == UG_ENOTFOUND && (err = check_df_conflict(db, name)))
		goto out;
	if ((err = ug_refs__lock_write_value(&lk, oid, target, base->algo, true)))
		goto out;
	if (!target && (err = write_reflogs(db, name, !cur_err && !cur.target ? &cur.oid : &zero,
					    oid, ident, msg)))
		goto out;
	err = ug_refs__lock_commit(&lk);
out:
	ug_ref_release(&cur);
	ug_refs__lock_release(&lk);
	return err;
}

static char **git_watch_roots(ug_refdb *base)
{
	git_refdb *db = (git_refdb *)base;
	char **v = calloc(4, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	v[n++] = strdup(db->gitdir);
	if (strcmp(db->gitdir, db->commondir))
		v[n++] = strdup(db->commondir);
	v[n++] = path_of(db->commondir, NULL, "refs");
	for (size_t i = 0; i < n; i++) {
		if (!v[i]) {
			ug_strv_free(v);
			return NULL;
		}
	}
	return v;
}

static void git_free(ug_refdb *base)
{
	git_refdb *db = (git_refdb *)base;

	if (db->cache)
		snap_free(db->cache);
	pthread_mutex_destroy(&db->mutex);
	free(db->gitdir);
	free(db->commondir);
	free(db->packed_path);
	free(db);
}

static const ug_refdb_ops git_ops = {
	.kind = "git",
	.loose_path = git_loose_path,
	.read = git_read,
	.list = git_list,
	.write = git_write,
	.remove = ug_refs__remove_loose, /* the loose file only: a packed copy stays */
	.watch_roots = git_watch_roots,
	.free = git_free,
};

int ug_refdb_open_git(ug_refdb **out, const char *gitdir, const char *commondir, ug_hash_algo algo)
{
	git_refdb *db = calloc(1, sizeof(*db));

	*out = NULL;
	if (!db)
		return ug_error(UG_ENOMEM, "out of memory");
	db->base.ops = &git_ops;
	db->base.algo = algo;
	pthread_mutex_init(&db->mutex, NULL);
	db->gitdir = strdup(gitdir);
	db->commondir = strdup(commondir ? commondir : gitdir);
	db->packed_path = db->commondir ? path_of(db->commondir, NULL, "packed-refs") : NULL;
	if (!db->gitdir || !db->commondir || !db->packed_path) {
		git_free(&db->base);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	*out = &db->base;
	return 0;
}
