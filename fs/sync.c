/* Syncs of the working view: the pending changes as a list, a commit of them, status, following the branch. */
#include "work.h"

#include "array.h"
#include "error.h"
#include "ignore.h"
#include "log.h"
#include "treediff.h"
#include "treeedit.h"
#include "walk.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* One pending change: A(dded), M(odified) or D(eleted), with the new mode and id for A and M. */
struct change {
	char status;
	char *path;
	uint32_t mode;
	ug_oid oid;
};

struct changes {
	struct change *v;
	size_t count, cap;
	struct wlist same; /* upper files equal to the base entry they shadow: copies to drop */
};

static void changes_release(struct changes *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->v[i].path);
	free(c->v);
	wlist_release(&c->same);
	memset(c, 0, sizeof(*c));
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

static int add_change(struct changes *c, char status, const char *path, uint32_t mode, const ug_oid *oid)
{
	struct change *v = ug_array_grow(c->v, &c->cap, c->count + 1, sizeof(*v), 64);

	if (!v)
		return -ENOMEM;
	c->v = v;
	c->v[c->count].path = strdup(path);
	if (!c->v[c->count].path)
		return -ENOMEM;
	c->v[c->count].status = status;
	c->v[c->count].mode = mode;
	c->v[c->count].oid = oid ? *oid : (ug_oid){ { 0 } };
	c->count++;
	return 0;
}

/* Base files hidden by a whiteout or an opaque folder: path -> (mode, id), by hash. */
struct gone {
	struct change *slots;
	size_t cap, count;
};

static int gone_put(struct gone *g, const char *path, uint32_t mode, const ug_oid *oid)
{
	if (2 * (g->count + 1) > g->cap) {
		struct gone bigger = { .cap = g->cap ? 2 * g->cap : 256 };

		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (!bigger.slots)
			return -ENOMEM;
		for (size_t i = 0; i < g->cap; i++) {
			if (g->slots[i].path) {
				size_t j = str_hash(g->slots[i].path, 0) & (bigger.cap - 1);

				while (bigger.slots[j].path)
					j = (j + 1) & (bigger.cap - 1);
				bigger.slots[j] = g->slots[i];
			}
		}
		bigger.count = g->count;
		free(g->slots);
		*g = bigger;
	}
	size_t j = str_hash(path, 0) & (g->cap - 1);

	while (g->slots[j].path) {
		if (!strcmp(g->slots[j].path, path))
			return 0;
		j = (j + 1) & (g->cap - 1);
	}
	g->slots[j].path = strdup(path);
	if (!g->slots[j].path)
		return -ENOMEM;
	g->slots[j].status = 'D';
	g->slots[j].mode = mode;
	g->slots[j].oid = *oid;
	g->count++;
	return 0;
}

static struct change *gone_get(struct gone *g, const char *path)
{
	if (!g->cap)
		return NULL;
	for (size_t j = str_hash(path, 0) & (g->cap - 1); g->slots[j].path; j = (j + 1) & (g->cap - 1))
		if (!strcmp(g->slots[j].path, path))
			return &g->slots[j];
	return NULL;
}

static void gone_release(struct gone *g)
{
	for (size_t i = 0; i < g->cap; i++)
		free(g->slots[i].path);
	free(g->slots);
	memset(g, 0, sizeof(*g));
}

/* Every file of base entry (mode, oid) at path: one, or all below a folder. */
static int hide_base(struct work *w, struct gone *g, const char *path, uint32_t mode, const ug_oid *oid)
{
	ug_treediff *d;
	int err;

	if (mode != UG_MODE_TREE)
		return gone_put(g, path, mode, oid);
	err = ugfs_err(ug_treediff_trees(&d, w->fs->repo, oid, NULL));
	for (size_t i = 0; !err && i < d->count; i++) {
		char *full;

		if (asprintf(&full, "%s/%s", path, d->deltas[i].path) < 0) {
			err = -ENOMEM;
			break;
		}
		err = gone_put(g, full, d->deltas[i].old_mode, &d->deltas[i].old_oid);
		free(full);
	}
	if (d)
		ug_treediff_free(d);
	return err;
}

/* The bytes of upper entry rel (a file or a symlink's target), mapped or read. */
struct content {
	void *data;
	size_t len;
	bool mapped;
};

static int read_upper(struct work *w, const char *rel, const struct stat *st, struct content *c)
{
	memset(c, 0, sizeof(*c));
	if (S_ISLNK(st->st_mode)) {
		c->data = malloc((size_t)st->st_size + 1);
		if (!c->data)
			return -ENOMEM;
		ssize_t n = up_readlink(w, rel, c->data, (size_t)st->st_size + 1);

		if (n < 0 || n > st->st_size)
			return ugfs_err(ug_error_os(UG_ERROR, "%s: cannot read the link", rel));
		c->len = (size_t)n;
		return 0;
	}
	int fd = up_open(w, rel, O_RDONLY, 0);
	struct stat fst;

	if (fd < 0 || fstat(fd, &fst)) {
		if (fd >= 0)
			close(fd);
		return ugfs_err(ug_error_os(UG_ERROR, "work/%s: cannot open", rel));
	}
	c->len = (size_t)fst.st_size;
	if (c->len) {
		c->data = mmap(NULL, c->len, PROT_READ, MAP_PRIVATE, fd, 0);
		c->mapped = c->data != MAP_FAILED;
		if (!c->mapped) {
			c->data = NULL;
			close(fd);
			return ugfs_err(ug_error_os(UG_ERROR, "work/%s: cannot read", rel));
		}
	}
	close(fd);
	return 0;
}

static void content_release(struct content *c)
{
	if (c->mapped)
		munmap(c->data, c->len);
	else
		free(c->data);
}

/* The blob id of upper entry rel; written to the repository when store. */
static int upper_blob(struct work *w, const char *rel, const struct stat *st, bool store, ug_oid *oid)
{
	struct content c;
	ug_odb *odb = ug_repo_odb(w->fs->repo);
	int err = read_upper(w, rel, st, &c);

	if (!err)
		err = ugfs_err(store ? ug_odb_write(odb, oid, UG_OBJ_BLOB, c.data, c.len)
				     : ug_odb_hash(odb, oid, UG_OBJ_BLOB, c.data, c.len));
	content_release(&c);
	return err;
}

/* The rules of folder rel's .gitignore as work/ shows it, added to ig. */
static void add_gitignore(struct work *w, ug_ignore *ig, const char *rel)
{
	char *path;
	struct wres r;

	if (asprintf(&path, "%s%s.gitignore", rel, *rel ? "/" : "") < 0)
		return;
	if (work_resolve(w, path, &r) == 0) {
		if (r.where == W_UPPER && S_ISREG(r.st.st_mode)) {
			struct content c;

			if (read_upper(w, path, &r.st, &c) == 0)
				ug_ignore_add_file(ig, rel, c.data, c.len);
			content_release(&c);
		} else if (r.where == W_LOWER && r.mode != UG_MODE_TREE) {
			ug_object *obj;

			if (ug_odb_read(&obj, ug_repo_odb(w->fs->repo), &r.oid) == 0) {
				ug_ignore_add_file(ig, rel, (const char *)obj->data, obj->size);
				ug_object_free(obj);
			}
		}
	}
	free(path);
}

static uint32_t upper_mode(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return UG_MODE_LINK;
	return (st->st_mode & S_IXUSR) ? UG_MODE_EXEC : UG_MODE_BLOB;
}

/* What compute_changes carries from folder to folder. */
struct scan {
	struct changes *out;
	struct gone gone; /* base files hidden so far, by whiteouts and opaque folders */
	ug_ignore *ig;
	bool store;
};

/* Whiteout of name in folder dir: the base file(s) there are deleted, if the base shows them. */
static int scan_whiteout(struct work *w, struct scan *s, const char *dir, const struct wres *r, const char *name)
{
	const ug_tree *t;
	const ug_tree_entry *e;
	uint32_t mode = 0;
	ug_oid oid;
	char *path;
	int err;

	if (!r->below || treecache_get(w->fs, &r->below_tree, &t))
		return 0;
	e = ug_tree_find(t, name, strlen(name));
	if (e) {
		mode = e->mode;
		oid = e->oid;
	}
	treecache_put(w->fs, t);
	if (!e)
		return 0;
	path = work_join(dir, name);
	err = path ? hide_base(w, &s->gone, path, mode, &oid) : -ENOMEM;
	free(path);
	return err;
}

/* One upper entry: a change, an unchanged copy, ignored, or a folder to walk (or not). */
static int scan_entry(struct work *w, struct scan *s, const char *path, struct wentry *entry)
{
	struct change *was;
	struct wres r;
	uint32_t mode;
	ug_oid oid;
	int err;

	if (work_resolve(w, path, &r) || r.where != W_UPPER) {
		entry->type = DT_UNKNOWN;
		return 0;
	}
	if (S_ISDIR(r.st.st_mode)) {
		/* an ignored folder with nothing tracked below is not walked */
		if (!r.below && ug_ignore_match(s->ig, path, true) == 1)
			entry->type = DT_UNKNOWN;
		return 0;
	}
	if (!S_ISREG(r.st.st_mode) && !S_ISLNK(r.st.st_mode))
		return 0;
	mode = upper_mode(&r.st);
	was = gone_get(&s->gone, path);
	if (!was && !r.lower_has && ug_ignore_match(s->ig, path, false) == 1)
		return 0; /* untracked and ignored: stays in work/, not committed */
	err = upper_blob(w, path, &r.st, s->store, &oid);
	if (err)
		return err;
	if (was) {
		was->status = 0; /* present again: not deleted */
		if (was->mode != mode || !ug_oid_equal(&was->oid, &oid))
			return add_change(s->out, 'M', path, mode, &oid);
		return 0;
	}
	if (!r.lower_has)
		return add_change(s->out, 'A', path, mode, &oid);
	if (r.mode != mode || !ug_oid_equal(&r.oid, &oid))
		return add_change(s->out, 'M', path, mode, &oid);
	return wlist_add(&s->out->same, path, DT_REG) ? -ENOMEM : 0;
}

static int scan_folder(struct work *w, const char *dir, struct wlist *entries, void *arg)
{
	struct scan *s = arg;
	struct wres r;
	int err = work_resolve(w, dir, &r) ? -EIO : 0;

	if (err || r.where != W_UPPER)
		return err;
	add_gitignore(w, s->ig, dir);
	/* an opaque folder hides its base content */
	if (r.lower_has && r.mode == UG_MODE_TREE && !r.below)
		err = hide_base(w, &s->gone, dir, UG_MODE_TREE, &r.oid);
	/* whiteouts first: the folder's entries are judged knowing them */
	for (size_t i = 0; !err && i < entries->count; i++)
		if (work_is_reserved(entries->v[i].name)) {
			char *name = work_whiteout_name(w, dir, entries->v[i].name);

			err = name ? scan_whiteout(w, s, dir, &r, name) : 0;
			free(name);
		}
	for (size_t i = 0; !err && i < entries->count; i++) {
		char *path;

		if (work_is_reserved(entries->v[i].name))
			continue;
		path = work_join(dir, entries->v[i].name);
		err = path ? scan_entry(w, s, path, &entries->v[i]) : -ENOMEM;
		free(path);
	}
	return err;
}

/*
 * The pending changes: upper/ against the base, folder by folder from the
 * top. A whiteout or an opaque folder hides base files (each a deletion unless
 * upper has it again); an upper file is added, modified or unchanged. Untracked
 * files that the ignore rules exclude are left out, and so are empty folders.
 * With store, the blobs are written to the repository on the way.
 */
static int compute_changes(struct work *w, bool store, struct changes *out)
{
	struct scan s = { .out = out, .store = store };
	int err;

	memset(out, 0, sizeof(*out));
	err = ugfs_err(ug_ignore_new(&s.ig, w->fs->repo));
	if (!err)
		err = work_walk(w, scan_folder, &s);
	for (size_t i = 0; !err && i < s.gone.cap; i++)
		if (s.gone.slots[i].path && s.gone.slots[i].status == 'D')
			err = add_change(out, 'D', s.gone.slots[i].path, 0, NULL);
	gone_release(&s.gone);
	ug_ignore_free(s.ig);
	if (err)
		changes_release(out);
	else if (out->count)
		qsort(out->v, out->count, sizeof(*out->v), cmp_change);
	return err;
}

/* Text growing as needed; NULL data after a failed allocation. */
struct text {
	char *data;
	size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->data && n >= 0 && t->len + (size_t)n + 1 > t->cap) {
		char *d = realloc(t->data, t->cap = 2 * t->cap + (size_t)n + 1);

		if (!d)
			free(t->data);
		t->data = d;
	}
	if (!t->data || n < 0)
		return;
	va_start(ap, fmt);
	t->len += (size_t)vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
}

/* A message naming the changed paths: a subject with the first few, a body with all. */
static char *default_message(const struct changes *c)
{
	struct text t = { .data = malloc(256), .cap = 256 };
	size_t shown = 0;

	text_add(&t, "ugitfs: ");
	for (; shown < c->count && t.len + strlen(c->v[shown].path) < 72; shown++)
		text_add(&t, "%s%s", shown ? ", " : "", c->v[shown].path);
	if (!shown)
		text_add(&t, "%s", c->v[shown++].path);
	if (shown < c->count)
		text_add(&t, " and %zu more", c->count - shown);
	text_add(&t, "\n\nChanged in work/:\n");
	for (size_t i = 0; i < c->count; i++)
		text_add(&t, "  %c %s\n", c->v[i].status, c->v[i].path);
	return t.data;
}

/* The tree of base_tree with the changes applied (the blobs are written already). */
static int apply_changes(struct work *w, const ug_oid *tree, const struct changes *c, ug_oid *out)
{
	ug_treeedit *ed;
	int err = ug_treeedit_new(&ed, w->fs->repo, tree);

	for (size_t i = 0; !err && i < c->count; i++)
		err = c->v[i].status == 'D' ? ug_treeedit_remove(ed, c->v[i].path)
					    : ug_treeedit_set(ed, c->v[i].path, c->v[i].mode, &c->v[i].oid);
	if (!err)
		err = ug_treeedit_write(ed, out);
	ug_treeedit_free(ed);
	return ugfs_err(err);
}

/* Do the paths the branch changed meet ours (equal, or one inside the other)? */
static bool overlap(const ug_treediff *theirs, const struct changes *ours)
{
	for (size_t i = 0; i < theirs->count; i++) {
		const char *a = theirs->deltas[i].path;
		size_t al = strlen(a);

		for (size_t j = 0; j < ours->count; j++) {
			const char *b = ours->v[j].path;
			size_t bl = strlen(b), n = al < bl ? al : bl;

			if (!strncmp(a, b, n) && (al == bl || (al < bl ? b[al] : a[bl]) == '/'))
				return true;
		}
	}
	return false;
}

static int make_commit(struct work *w, const ug_oid *tree, const ug_oid *parent, const char *message, ug_oid *out)
{
	return ugfs_err(ug_commit_create(w->fs->repo, out, tree, parent, ug_oid_iszero(parent) ? 0 : 1, w->ident,
					 w->ident, message));
}

/* Remove upper files that equal what the base has at their path (copied up,
 * then left unchanged), as compute_changes found them. Done before the base
 * changes: kept, such a copy would hide the new base's version of the file and
 * undo it at the next sync. */
static void drop_unchanged(struct work *w, const struct changes *c)
{
	for (size_t i = 0; i < c->same.count; i++)
		up_unlink(w, c->same.v[i].name, 0);
}

/*
 * After a sync, upper/ is tidied in an order that keeps work/ showing the
 * same at every instant, so that a kill anywhere loses nothing: the new base
 * is recorded first, then the markers go (an opaque folder holds in upper
 * everything it shows, and the new base holds the same files), then the
 * upper copies of committed files, then empty folders the base has. The
 * `syncing` state file stays until the end, so that a start after a kill
 * finishes the work (work_tidy). Each step may be repeated.
 */
struct tidy {
	struct wlist dirs; /* the folders of upper/, parents first */
	bool first;        /* nothing removed yet in this step (for the test hooks) */
};

/* One removal done in a step of a tidy: the test hook acts after the first. */
static void tidy_removed(struct work *w, struct tidy *t, const char *step)
{
	if (t->first) {
		t->first = false;
		work_test_point(w, step);
	}
}

/* tidy_upper's visitor: markers go (the base now says what they said); folders are listed. */
static int tidy_folder(struct work *w, const char *dir, struct wlist *entries, void *arg)
{
	struct tidy *t = arg;

	for (size_t i = 0; i < entries->count; i++) {
		if (work_is_reserved(entries->v[i].name)) {
			char *path = work_join(dir, entries->v[i].name);

			if (path && up_unlink(w, path, 0) == 0)
				tidy_removed(w, t, "tidy-marker");
			free(path);
		}
	}
	return *dir && wlist_add(&t->dirs, dir, DT_DIR) ? -ENOMEM : 0;
}

/* Remove from upper what the new base now holds, so upper keeps only what is
 * still pending (and what is never committed: ignored files, empty folders).
 * c: the changes just committed (their upper files now equal the base). */
static void tidy_upper(struct work *w, const struct changes *c)
{
	struct tidy t = { .first = true };

	work_walk(w, tidy_folder, &t);
	work_rescan_marks(w);
	t.first = true;
	for (size_t i = 0; i < c->count; i++)
		if (c->v[i].status != 'D' && up_unlink(w, c->v[i].path, 0) == 0)
			tidy_removed(w, &t, "tidy-file");
	/* Empty folders the base has go, deepest first (the base shows them); others
	 * stay: not committed, but kept. */
	t.first = true;
	for (size_t i = t.dirs.count; i-- > 0;) {
		struct wres r;

		if (work_resolve(w, t.dirs.v[i].name, &r) == 0 && r.lower_has && r.mode == UG_MODE_TREE &&
		    up_unlink(w, t.dirs.v[i].name, AT_REMOVEDIR) == 0)
			tidy_removed(w, &t, "tidy-folder");
	}
	wlist_release(&t.dirs);
}

void work_tidy(struct work *w)
{
	tidy_upper(w, &(struct changes){ 0 });
}

/* A conflict branch name that does not exist yet. */
static char *conflict_ref(struct work *w)
{
	char stamp[32], *name = NULL;
	time_t now = time(NULL);
	struct tm tm;
	ug_oid tmp;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (int i = 1; i < 100; i++) {
		free(name);
		if (asprintf(&name, "refs/heads/ugitfs/conflict/%s/%s%s%.0d", w->branch, stamp, i > 1 ? "-" : "",
			     i > 1 ? i : 0) < 0)
			return NULL;
		if (ug_refs_resolve(ug_repo_refdb(w->fs->repo), name, &tmp, NULL) == UG_ENOTFOUND)
			return name;
	}
	free(name);
	return NULL;
}

/* Every blob, tree and the commit of the pending changes, written and made
 * durable at once, before any ref names them. 1: nothing pending. */
static int write_commit(struct work *w, const char *message, struct changes *c, char **msg, ug_oid *commit)
{
	ug_odb *odb = ug_repo_odb(w->fs->repo);
	ug_oid tree;
	int err = ugfs_err(ug_odb_batch_begin(odb)), done;

	if (!err)
		err = compute_changes(w, true, c);
	if (!err && c->count) {
		*msg = message ? strdup(message) : default_message(c);
		err = *msg ? apply_changes(w, &w->base_tree, c, &tree) : -ENOMEM;
		if (!err)
			err = make_commit(w, &tree, &w->base, *msg, commit);
	}
	done = ugfs_err(ug_odb_batch_end(odb));
	if (!err)
		err = done;
	return err ? err : c->count == 0;
}

/* The branch moved to tip and touched none of our paths: commit on top of it. */
static int commit_on_top(struct work *w, const ug_commit *t, const ug_oid *tip, const struct changes *c,
			 const char *msg, const char *reflog, ug_oid *commit)
{
	ug_oid tree;
	int err = apply_changes(w, &t->tree, c, &tree);

	if (!err)
		err = make_commit(w, &tree, tip, msg, commit);
	if (!err)
		err = work_state_save_oid(w, "syncing", commit);
	if (!err)
		err = ugfs_err(ug_refs_update(ug_repo_refdb(w->fs->repo), w->target_ref, commit, tip, w->ident, reflog));
	if (!err)
		ug_log(UG_LOG_INFO, "%s moved: the sync went on top of it", w->target_ref);
	return err;
}

/* The branch moved and touched our paths: the commit goes to a new conflict
 * branch, which becomes the target. The `target` file is written first: a
 * start after a kill then finds the branch (or, if it was not made, ignores
 * the file). */
static int commit_to_conflict(struct work *w, const ug_oid *commit, const char *reflog, const char *where)
{
	static const ug_oid none;
	char *conflict = conflict_ref(w);
	int err = conflict ? work_state_write(w, "target", conflict + strlen("refs/heads/")) : -ENOMEM;

	if (!err)
		err = ugfs_err(ug_refs_update(ug_repo_refdb(w->fs->repo), conflict, commit, &none, w->ident, reflog));
	if (err && conflict)
		work_state_remove(w, "target");
	if (!err && where)
		ug_log(UG_LOG_WARNING, "%s is checked out in %s: the sync went to branch %s; %s is unchanged",
		       w->target_ref + strlen("refs/heads/"), where, conflict + strlen("refs/heads/"),
		       w->target_ref + strlen("refs/heads/"));
	else if (!err)
		ug_log(UG_LOG_WARNING,
		       "%s moved and touched the same paths: the sync went to branch %s; "
		       "%s is unchanged (merge the two to resolve)",
		       w->target_ref + strlen("refs/heads/"), conflict + strlen("refs/heads/"),
		       w->target_ref + strlen("refs/heads/"));
	if (!err) {
		free(w->target_ref);
		w->target_ref = conflict;
		conflict = NULL;
	}
	free(conflict);
	return err;
}

/* Move the target ref to commit (or, if the branch moved, to one made on top
 * of it or onto a conflict branch); *commit is what the ref names after. */
static int publish(struct work *w, const struct changes *c, const char *msg, const char *reflog, ug_oid *commit)
{
	char *where = NULL;
	/* A branch some worktree checked out since the mount is not moved under
	 * that checkout: the sync goes to a conflict branch instead. */
	bool taken = ug_repo_checked_out(w->fs->repo, w->target_ref, &where) == 0;
	int err = work_state_save_oid(w, "syncing", commit);

	work_test_point(w, "syncing-saved");
	if (!err)
		err = taken ? -EBUSY
			    : ugfs_err(ug_refs_update(ug_repo_refdb(w->fs->repo), w->target_ref, commit, &w->base,
						      w->ident, reflog));
	/* -EBUSY: the ref moved meanwhile (the core's UG_ECONFLICT) */
	for (int tries = 0; err == -EBUSY && tries < 5; tries++) {
		ug_commit *t = NULL;
		ug_treediff *theirs = NULL;
		ug_oid tip;

		err = work_tip(w, w->target_ref, &tip);
		if (!err && !ug_oid_iszero(&tip))
			err = ugfs_err(ug_commit_lookup(&t, w->fs->repo, &tip));
		/* A diff that cannot be made (a tree bomb meets its budget, logged
		 * there) cannot tell the paths apart: a conflict, not a refused sync. */
		if (!err && t)
			ug_treediff_trees(&theirs, w->fs->repo, &w->base_tree, &t->tree);
		if (!err && t && theirs && !taken && !overlap(theirs, c))
			err = commit_on_top(w, t, &tip, c, msg, reflog, commit);
		else if (!err)
			err = commit_to_conflict(w, commit, reflog, taken ? where : NULL);
		ug_treediff_free(theirs);
		ug_commit_free(t);
	}
	free(where);
	return err;
}

/* After the ref moved: the new base, then upper/ tidied (see struct tidy). */
static int finish(struct work *w, const struct changes *c, const ug_oid *commit)
{
	int err;

	work_test_point(w, "ref-moved");
	drop_unchanged(w, c);
	work_test_point(w, "unchanged-dropped");
	err = work_set_base(w, commit);
	if (err)
		return err;
	work_test_point(w, "base-saved");
	tidy_upper(w, c);
	work_test_point(w, "tidied");
	work_state_remove(w, "syncing");
	work_test_point(w, "synced");
	return 0;
}

static int sync_locked(struct work *w, const char *message, ug_oid *out, char **why)
{
	struct changes c = { 0 };
	ug_oid commit;
	char *msg = NULL, *reflog = NULL;
	int err = write_commit(w, message, &c, &msg, &commit);

	if (err == 1) {
		changes_release(&c);
		return 1;
	}
	work_test_point(w, "objects-written");
	if (!err && asprintf(&reflog, "commit (ugitfs): %.*s", (int)strcspn(msg, "\n"), msg) < 0) {
		reflog = NULL;
		err = -ENOMEM;
	}
	/* From here on a kill must not lose the link between the commit and upper. */
	if (!err)
		err = publish(w, &c, msg, reflog, &commit);
	if (!err)
		err = finish(w, &c, &commit);
	if (!err)
		*out = commit;
	else
		*why = strdup(ug_error_last());
	changes_release(&c);
	free(msg);
	free(reflog);
	return err < 0 ? err : err ? -EIO : 0;
}

int work_sync(struct work *w, const char *message, ug_oid *commit, char **why)
{
	bool was_changed;
	int err;

	*why = NULL;
	pthread_rwlock_wrlock(&w->lock);
	/* Cleared under the lock, before the changes are read: a change made
	 * after this point (its handler waits for the lock) triggers the next
	 * autosync, whenever it lands. */
	pthread_mutex_lock(&w->timer_lock);
	was_changed = w->changed;
	w->changed = false;
	pthread_mutex_unlock(&w->timer_lock);
	err = sync_locked(w, message, commit, why);
	pthread_rwlock_unlock(&w->lock);
	work_test_point(w, "unlocked");
	if (err == 0) {
		char hex[UG_OID_MAXHEX + 1];

		ug_log(UG_LOG_INFO, "sync: committed %s on %s", ug_oid_tohex(hex, commit, w->fs->algo),
		       w->target_ref + strlen("refs/heads/"));
		work_invalidate(w);
	}
	if (err < 0 && was_changed)
		work_touch(w); /* failed: the changes still wait */
	return err;
}

int work_status(struct work *w, char **text)
{
	struct changes c;
	size_t cap = 256, len = 0;
	char *out = malloc(cap);
	int err;

	if (!out)
		return -ENOMEM;
	pthread_rwlock_rdlock(&w->lock);
	err = compute_changes(w, false, &c);
	if (!err && strcmp(w->target_ref, w->branch_ref))
		len += (size_t)snprintf(out, cap, "## %s (%s moved: merge the two to resolve)\n",
					w->target_ref + strlen("refs/heads/"), w->branch);
	pthread_rwlock_unlock(&w->lock);
	for (size_t i = 0; !err && i < c.count; i++) {
		size_t need = strlen(c.v[i].path) + 8;

		if (len + need > cap) {
			char *o = realloc(out, cap = 2 * cap + need);

			if (!o) {
				err = -ENOMEM;
				break;
			}
			out = o;
		}
		len += (size_t)snprintf(out + len, cap - len, "%c  %s\n", c.v[i].status, c.v[i].path);
	}
	if (!err)
		changes_release(&c);
	if (err) {
		free(out);
		return err;
	}
	out[len] = '\0';
	*text = out;
	return 0;
}

/* The pending changes, for a decision: false when they cannot be listed (then
 * nothing may be assumed). Holds w->lock (either way). */
static bool list_changes(struct work *w, struct changes *c)
{
	if (compute_changes(w, false, c) == 0)
		return true;
	memset(c, 0, sizeof(*c));
	return false;
}

/* Does the history of tip contain commit? Looks at most this many commits back. */
static bool contains(struct work *w, const ug_oid *tip, const ug_oid *commit)
{
	ug_walk *walk;
	ug_oid oid;
	bool found = false;

	if (ug_walk_new(&walk, w->fs->repo))
		return false;
	ug_walk_push(walk, tip);
	for (int n = 0; !found && n < 100000 && ug_walk_next(walk, &oid) == 0; n++)
		found = ug_oid_equal(&oid, commit);
	ug_walk_free(walk);
	return found;
}

bool work_synced(struct work *w, const ug_oid *commit, const ug_oid *tip)
{
	return ug_oid_equal(commit, tip) || (!ug_oid_iszero(tip) && contains(w, tip, commit));
}

/* With nothing pending, work/ shows the branch's tip, and comes back from a
 * conflict branch once the branch contains it. Holds w->lock exclusive. */
bool work_follow(struct work *w)
{
	struct changes c;
	bool moved = false;
	ug_oid tip;

	if (!list_changes(w, &c) || c.count) {
		changes_release(&c);
		return false; /* pending changes (or in doubt): the base stays */
	}
	if (strcmp(w->target_ref, w->branch_ref) && work_tip(w, w->branch_ref, &tip) == 0 &&
	    !ug_oid_iszero(&tip) && contains(w, &tip, &w->base)) {
		ug_log(UG_LOG_INFO, "%s contains %s: work/ follows %s again", w->branch, w->target_ref, w->branch);
		free(w->target_ref);
		w->target_ref = strdup(w->branch_ref);
		work_state_remove(w, "target");
		if (!w->target_ref)
			goto out;
	}
	if (work_tip(w, w->target_ref, &tip) || ug_oid_equal(&tip, &w->base) ||
	    (!ug_oid_iszero(&tip) && !ug_odb_exists(ug_repo_odb(w->fs->repo), &tip)))
		goto out;
	/* Nothing is pending, so upper/ shows the base exactly: its markers and
	 * copies go before the base changes (kept, they would hide the branch's
	 * new commits, and a kill in between must not leave them behind). */
	drop_unchanged(w, &c);
	tidy_upper(w, &c);
	work_test_point(w, "follow-tidied");
	if (work_set_base(w, &tip))
		goto out;
	work_test_point(w, "follow-based");
	tidy_upper(w, &c);
	moved = true;
out:
	changes_release(&c);
	return moved;
}
