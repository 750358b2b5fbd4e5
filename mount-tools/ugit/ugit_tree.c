/* ugit: trees as flat path maps, writing trees from the index, and the files of the working tree. */
#include "ugit_internal.h"

#include "fileio.h"
#include "log.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hostile trees may nest a subtree many times over: bounds on the walk. */
#define MAX_DEPTH 1024
#define MAX_PATHS (16u << 20)

static bool is_ugit_name(const char *name, size_t len)
{
	return len == 5 && !strncasecmp(name, ".ugit", 5);
}

bool ugit_path_ignored(const char *path)
{
	for (const char *s = path;;) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);
		if (is_ugit_name(s, len))
			return true;
		if (!slash)
			return false;
		s = slash + 1;
	}
}

bool ugit_path_ok(const char *path)
{
	if (!*path)
		return false;
	for (const char *s = path;;) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);
		if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.') ||
		    is_ugit_name(s, len))
			return false;
		if (!slash)
			return true;
		s = slash + 1;
	}
}

typedef struct {
	ug_tree *t;
	size_t i;
	char *prefix; /* "" or "dir/" */
} frame;

int ugit_tree_flatten(ugit_ctx *c, const ug_oid *tree, ugit_pmap *out)
{
	if (!tree)
		return 0;
	frame *st = ugit_xmalloc(sizeof(frame) * MAX_DEPTH);
	size_t depth = 0, paths = 0;
	int rc = ug_tree_lookup(&st[0].t, c->repo, tree);
	if (rc < 0)
		goto done;
	st[0].i = 0;
	st[0].prefix = ugit_xstrdup("");
	depth = 1;
	while (depth) {
		frame *f = &st[depth - 1];
		if (f->i == f->t->count) {
			ug_tree_free(f->t);
			free(f->prefix);
			depth--;
			continue;
		}
		const ug_tree_entry *e = &f->t->entries[f->i++];
		char hex[UG_OID_MAXHEX + 1];
		if (is_ugit_name(e->name, e->namelen)) {
			ug_log(UG_LOG_WARNING, "tree %s: entry %s ignored", ug_oid_tohex(hex, &f->t->oid, c->algo),
			       e->name);
			continue;
		}
		if (ug_tree_find(f->t, e->name, e->namelen) != e) {
			rc = ug_error(UG_ECORRUPT, "tree %s: two entries named %s",
				      ug_oid_tohex(hex, &f->t->oid, c->algo), e->name);
			break;
		}
		if (++paths > MAX_PATHS) {
			rc = ug_error(UG_ECORRUPT, "tree %s: more than %u paths",
				      ug_oid_tohex(hex, tree, c->algo), MAX_PATHS);
			break;
		}
		char *path = ugit_fmt("%s%s", f->prefix, e->name);
		if (e->mode == UG_MODE_TREE) {
			if (depth == MAX_DEPTH) {
				rc = ug_error(UG_ECORRUPT, "tree %s: nested deeper than %d",
					      ug_oid_tohex(hex, tree, c->algo), MAX_DEPTH);
				free(path);
				break;
			}
			frame *sub = &st[depth];
			rc = ug_tree_lookup(&sub->t, c->repo, &e->oid);
			if (rc < 0) {
				free(path);
				break;
			}
			sub->i = 0;
			sub->prefix = ugit_fmt("%s/", path);
			depth++;
		} else if (e->mode != UG_MODE_GITLINK) {
			/* a submodule's commit is no blob of this repository: skipped */
			ugit_pmap_set(out, path, &e->oid);
		}
		free(path);
	}
done:
	while (depth) {
		ug_tree_free(st[depth - 1].t);
		free(st[depth - 1].prefix);
		depth--;
	}
	free(st);
	return rc;
}

int ugit_commit_flatten(ugit_ctx *c, const ug_oid *commit, ugit_pmap *out)
{
	if (!commit)
		return 0;
	ug_commit *cm;
	int rc = ug_commit_lookup(&cm, c->repo, commit);
	if (rc < 0)
		return rc;
	rc = ugit_tree_flatten(c, &cm->tree, out);
	ug_commit_free(cm);
	return rc;
}

/* Component-wise order, so each folder's paths come together and in name order. */
static int cmp_paths(const void *pa, const void *pb)
{
	const unsigned char *a = *(const unsigned char *const *)pa;
	const unsigned char *b = *(const unsigned char *const *)pb;
	for (;; a++, b++) {
		int ka = *a == '\0' ? -1 : *a == '/' ? 0 : *a + 1;
		int kb = *b == '\0' ? -1 : *b == '/' ? 0 : *b + 1;
		if (ka != kb)
			return ka < kb ? -1 : 1;
		if (ka < 0)
			return 0;
	}
}

typedef struct {
	char *name; /* owned; NULL for the root */
	ug_tree_entry *e;
	char **names; /* owned copies backing e[].name */
	size_t n, cap;
} level;

static void level_add(level *l, uint32_t mode, const ug_oid *oid, const char *name, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->e = ugit_xrealloc(l->e, l->cap * sizeof(*l->e));
		l->names = ugit_xrealloc(l->names, l->cap * sizeof(char *));
	}
	char *copy = ugit_xmalloc(len + 1);
	memcpy(copy, name, len);
	copy[len] = '\0';
	l->names[l->n] = copy;
	l->e[l->n].mode = mode;
	l->e[l->n].oid = *oid;
	l->e[l->n].name = copy;
	l->e[l->n].namelen = len;
	l->n++;
}

static void level_release(level *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->e);
	free(l->name);
	memset(l, 0, sizeof(*l));
}

/* The path of entry i of the folder lv[d] ("" names the folder itself), with newlines
 * shown as \n so that an error stays one line; malloc'ed. */
static char *level_path(const level *lv, size_t d, const ug_tree_entry *e)
{
	size_t n = 1;
	for (size_t k = 1; k <= d; k++)
		n += 2 * strlen(lv[k].name) + 1;
	n += e ? 2 * e->namelen : 0;
	char *path = ugit_xmalloc(n), *w = path;
	for (size_t k = 1; k <= d + 1; k++) {
		const char *name = k <= d ? lv[k].name : e ? e->name : NULL;
		size_t len = k <= d ? strlen(name) : e ? e->namelen : 0;
		if (!name)
			break;
		if (w != path)
			*w++ = '/';
		for (size_t i = 0; i < len; i++) {
			if (name[i] == '\n') {
				*w++ = '\\';
				*w++ = 'n';
			} else {
				*w++ = name[i];
			}
		}
	}
	*w = '\0';
	return path;
}

/* Store the folder lv[d] as a tree. A name ugit's line-based trees cannot hold, or
 * a file and a folder of one name, is refused naming the whole path. */
static int level_write(ugit_ctx *c, const level *lv, size_t d, ug_oid *out)
{
	const level *l = &lv[d];
	for (size_t i = 0; i < l->n; i++) {
		if (memchr(l->e[i].name, '\n', l->e[i].namelen)) {
			char *path = level_path(lv, d, &l->e[i]);
			int rc = ug_error(UG_EINVALID, "cannot store '%s': a name in a ugit tree cannot hold a newline",
					  path);
			free(path);
			return rc;
		}
	}
	int rc = ug_tree_create(c->repo, out, l->e, l->n);
	if (rc != UG_EINVALID)
		return rc;
	/* the index holds unique paths, so a repeated name is a file beside a folder of that name */
	for (size_t i = 0; i < l->n; i++) {
		for (size_t j = i + 1; j < l->n; j++) {
			if (l->e[i].namelen != l->e[j].namelen || memcmp(l->e[i].name, l->e[j].name, l->e[i].namelen))
				continue;
			char *path = level_path(lv, d, &l->e[i]);
			rc = ug_error(UG_EINVALID, "the index holds both a file and a folder named '%s'", path);
			free(path);
			return rc;
		}
	}
	char why[256], *path = level_path(lv, d, NULL);
	snprintf(why, sizeof(why), "%s", ug_error_last());
	rc = ug_error(UG_EINVALID, "in '%s': %s", *path ? path : ".", why);
	free(path);
	return rc;
}

int ugit_tree_write(ugit_ctx *c, const ugit_pmap *index, ug_oid *out)
{
	const char **paths = ugit_xmalloc(sizeof(char *) * (index->live + 1));
	size_t np = 0;
	for (size_t i = 0; i < index->n; i++)
		if (index->v[i].live)
			paths[np++] = index->v[i].path;
	qsort(paths, np, sizeof(char *), cmp_paths);

	/* levels[0] is the root; levels[1..d] the open folders of the current path */
	size_t maxlv = 2, d = 0;
	for (size_t i = 0; i < np; i++) {
		size_t k = 2;
		for (const char *s = paths[i]; *s; s++)
			k += *s == '/';
		if (k > maxlv)
			maxlv = k;
	}
	level *lv = ugit_xmalloc(sizeof(level) * maxlv);
	memset(lv, 0, sizeof(level) * maxlv);
	int rc = 0;
	ug_oid oid;
	for (size_t i = 0; i < np && rc == 0; i++) {
		const char *p = paths[i];
		/* how many open folders this path shares */
		size_t k = 0;
		const char *s = p;
		while (k < d) {
			const char *slash = strchr(s, '/');
			if (!slash || strlen(lv[k + 1].name) != (size_t)(slash - s) ||
			    memcmp(lv[k + 1].name, s, (size_t)(slash - s)))
				break;
			s = slash + 1;
			k++;
		}
		while (d > k && rc == 0) {
			rc = level_write(c, lv, d, &oid);
			if (rc == 0)
				level_add(&lv[d - 1], UG_MODE_TREE, &oid, lv[d].name, strlen(lv[d].name));
			level_release(&lv[d]);
			d--;
		}
		if (rc)
			break;
		for (const char *slash; (slash = strchr(s, '/')); s = slash + 1) {
			d++;
			lv[d].name = ugit_xmalloc((size_t)(slash - s) + 1);
			memcpy(lv[d].name, s, (size_t)(slash - s));
			lv[d].name[slash - s] = '\0';
		}
		level_add(&lv[d], UG_MODE_BLOB, ugit_pmap_get(index, p), s, strlen(s));
	}
	while (d > 0 && rc == 0) {
		rc = level_write(c, lv, d, &oid);
		if (rc == 0)
			level_add(&lv[d - 1], UG_MODE_TREE, &oid, lv[d].name, strlen(lv[d].name));
		level_release(&lv[d]);
		d--;
	}
	if (rc == 0)
		rc = level_write(c, lv, 0, out);
	for (size_t i = 0; i < maxlv; i++)
		level_release(&lv[i]);
	free(lv);
	free(paths);
	return rc;
}

/* ---- the working tree ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_push(char ***v, size_t *n, size_t *cap, char *s)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = ugit_xrealloc(*v, *cap * sizeof(char *));
	}
	(*v)[(*n)++] = s;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The files and folders of one folder of the working tree, as a walk gathers them. */
typedef struct {
	const char *dir; /* "" for the top */
	char **files, **dirs;
	size_t nf, cf, nd, cd;
} scan_dir;

static int scan_entry(void *arg, int dirfd, const char *name, unsigned char type)
{
	scan_dir *s = arg;
	(void)dirfd;
	(void)type;
	if (is_ugit_name(name, strlen(name)))
		return 0;
	char *path = *s->dir ? ugit_fmt("%s/%s", s->dir, name) : ugit_xstrdup(name);
	struct stat st;
	if (lstat(path, &st) < 0) {
		free(path);
		return 0; /* gone meanwhile */
	}
	if (S_ISDIR(st.st_mode))
		strv_push(&s->dirs, &s->nd, &s->cd, path);
	else if (S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && stat(path, &st) == 0 && S_ISREG(st.st_mode)))
		strv_push(&s->files, &s->nf, &s->cf, path); /* like Python's isfile() */
	else
		free(path);
	return 0;
}

int ugit_worktree_scan(ugit_ctx *c, const char *dir, bool store, ugit_pmap *out)
{
	/* The folders still to visit, as a stack (last pushed first). */
	char **todo = NULL;
	size_t ntodo = 0, captodo = 0;
	int rc = 0;
	strv_push(&todo, &ntodo, &captodo, ugit_xstrdup(dir));
	while (ntodo && rc == 0) {
		char *d = todo[--ntodo];
		scan_dir sd = {.dir = d};
		/* scan_entry never fails: an error is the folder's, errno as opendir left it */
		if (ug_fileio_dir_each(*d ? d : ".", scan_entry, &sd) < 0) {
			rc = ug_error_os(UG_ERROR, "cannot read the folder %s", *d ? d : ".");
			free(d);
			break;
		}
		char **files = sd.files, **dirs = sd.dirs;
		size_t nf = sd.nf, nd = sd.nd;
		free(d);
		if (nf)
			qsort(files, nf, sizeof(char *), cmp_names);
		if (nd)
			qsort(dirs, nd, sizeof(char *), cmp_names);
		for (size_t i = 0; i < nf && rc == 0; i++) {
			unsigned char *buf;
			size_t len;
			ug_oid oid;
			rc = ugit_file_read(files[i], &buf, &len);
			if (rc == UG_ENOTFOUND) {
				rc = 0;
				continue;
			}
			if (rc == 0)
				rc = store ? ug_odb_write(c->odb, &oid, UG_OBJ_BLOB, buf, len)
					   : ug_odb_hash(c->odb, &oid, UG_OBJ_BLOB, buf, len);
			if (rc == 0)
				ugit_pmap_set(out, files[i], &oid);
			free(buf);
		}
		for (size_t i = nd; i > 0; i--) {
			strv_push(&todo, &ntodo, &captodo, dirs[i - 1]);
			dirs[i - 1] = NULL;
		}
		strv_free(files, nf);
		strv_free(dirs, nd);
	}
	strv_free(todo, ntodo);
	return rc;
}

int ugit_file_read(const char *path, unsigned char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ug_error_os(UG_ERROR, "cannot open %s", path);
	size_t cap = 8192, n = 0;
	unsigned char *p = ugit_xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			p = ugit_xrealloc(p, cap + 1);
		}
		ssize_t r = read(fd, p + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int rc = ug_error_os(UG_ERROR, "cannot read %s", path);
			close(fd);
			free(p);
			return rc == UG_ENOTFOUND ? UG_ERROR : rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

static mode_t file_mode(void)
{
	static int known;
	static mode_t mask;
	if (!known) {
		mask = umask(0);
		umask(mask);
		known = 1;
	}
	return 0666 & ~mask;
}

/* Make the parent folders of path. A non-folder in the way is an error: the
 * callers have checked (or, forced, removed) what stands there. */
static int make_parents(const char *path)
{
	char *p = ugit_xstrdup(path);
	int rc = 0;
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			rc = ug_error_os(UG_ERROR, "cannot make the folder %s", p);
			break;
		}
		struct stat st;
		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
			rc = ug_error(UG_ERROR, "%s is in the way of a folder", p);
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

int ugit_work_write(const char *path, const void *data, size_t len)
{
	int rc = make_parents(path);
	if (rc)
		return rc;
	const char *slash = strrchr(path, '/');
	char *tmp = slash ? ugit_fmt("%.*s/.ugit-write-XXXXXX", (int)(slash - path), path)
			  : ugit_xstrdup(".ugit-write-XXXXXX");
	int fd = mkstemp(tmp);
	if (fd < 0) {
		rc = ug_error_os(UG_ERROR, "cannot write %s", path);
		free(tmp);
		return rc;
	}
	if (fchmod(fd, file_mode()) < 0 || ug_fileio_write_all(fd, data, len) < 0) {
		rc = ug_error_os(UG_ERROR, "cannot write %s", path);
		close(fd);
		unlink(tmp);
		free(tmp);
		return rc;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		rc = ug_error_os(UG_ERROR, "cannot write %s", path);
		unlink(tmp);
	}
	free(tmp);
	return rc == UG_ENOTFOUND ? UG_ERROR : rc;
}

int ugit_work_remove(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return ug_error_os(UG_ERROR, "cannot remove %s", path);
	char *p = ugit_xstrdup(path);
	for (char *s = strrchr(p, '/'); s; s = strrchr(p, '/')) {
		*s = '\0';
		if (rmdir(p) < 0)
			break; /* not empty (or not ours to remove): stop */
	}
	free(p);
	return 0;
}

int ugit_repo_file_write(const char *path, const void *data, size_t len)
{
	char *lock = ugit_fmt("%s.lock", path);
	int rc = 0;
	int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		if (errno == EEXIST)
			rc = ug_error(UG_ECONFLICT, "%s exists: another ugit is running (or remove it)", lock);
		else
			rc = ug_error_os(UG_ERROR, "cannot create %s", lock);
		free(lock);
		return rc == UG_ENOTFOUND ? UG_ERROR : rc;
	}
	if (ug_fileio_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		rc = ug_error_os(UG_ERROR, "cannot write %s", lock);
		close(fd);
		unlink(lock);
		free(lock);
		return rc;
	}
	close(fd);
	if (rename(lock, path) < 0) {
		rc = ug_error_os(UG_ERROR, "cannot rename %s", lock);
		unlink(lock);
		free(lock);
		return rc;
	}
	free(lock);
	char *dir = ugit_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	/* the file is in place: a folder that cannot be synced fails nothing */
	(void)ug_fileio_fsync_dir(slash ? dir : ".");
	free(dir);
	return 0;
}

int ugit_blob_read(ugit_ctx *c, const ug_oid *oid, unsigned char **buf, size_t *len)
{
	ug_object *obj;
	int rc = ug_odb_read(&obj, c->odb, oid);
	if (rc < 0)
		return rc;
	if (obj->type != UG_OBJ_BLOB) {
		char hex[UG_OID_MAXHEX + 1];
		rc = ug_error(UG_ECORRUPT, "object %s is a %s, not a blob", ug_oid_tohex(hex, oid, c->algo),
			      ug_otype_name(obj->type));
		ug_object_free(obj);
		return rc;
	}
	*buf = ugit_xmalloc(obj->size + 1);
	memcpy(*buf, obj->data, obj->size);
	(*buf)[obj->size] = '\0';
	*len = obj->size;
	ug_object_free(obj);
	return 0;
}
