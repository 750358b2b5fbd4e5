/* ugit: the commands on the index and the working tree (init, add, commit, status, diff, checkout, merge). */
#include "ugit_internal.h"

#include "fileio.h"
#include "tag.h"
#include "tree.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *action_name(const ug_oid *from, const ug_oid *to)
{
	return !from ? "new file" : !to ? "deleted" : "modified";
}

int ugit_cmd_init(ugit_ctx *c, ugit_args *a)
{
	(void)c;
	(void)a;
	struct stat st;
	if (lstat(".ugit", &st) == 0)
		return ugit_fail("./.ugit already exists");
	if (mkdir(".ugit", 0777) < 0)
		return ugit_fail("cannot make ./.ugit: %s", strerror(errno));
	if (mkdir(".ugit/objects", 0777) < 0) {
		int e = errno;
		rmdir(".ugit");
		return ugit_fail("cannot make ./.ugit/objects: %s", strerror(e));
	}
	static const char head[] = "ref: refs/heads/master";
	if (ugit_repo_file_write(".ugit/HEAD", head, sizeof(head) - 1) < 0) {
		rmdir(".ugit/objects");
		rmdir(".ugit");
		return ugit_fail("%s", ug_error_last());
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return ugit_fail("cannot tell the current folder: %s", strerror(errno));
	printf("Initialized empty ugit repository in %s/./.ugit\n", cwd);
	return 0;
}

/* The tree of HEAD as a map; an unborn HEAD is empty. *head (may be NULL)
 * gets HEAD's commit, zero when unborn. */
static int head_map(ugit_ctx *c, ugit_pmap *out, ug_oid *head)
{
	ug_oid oid;
	char *final = NULL;
	int rc = ugit_head(c, &oid, &final);
	free(final);
	if (rc == UG_ENOTFOUND) {
		if (head)
			memset(head, 0, sizeof(*head));
		return 0;
	}
	if (rc < 0)
		return rc;
	if (head)
		*head = oid;
	return ugit_commit_flatten(c, &oid, out);
}

int ugit_cmd_write_tree(ugit_ctx *c, ugit_args *a)
{
	(void)a;
	ugit_pmap index;
	ugit_pmap_init(&index);
	ug_oid oid;
	int rc = 0;
	if (ugit_index_read(c, &index) < 0 || ugit_tree_write(c, &index, &oid) < 0) {
		rc = ugit_fail("%s", ug_error_last());
	} else {
		char hex[UG_OID_MAXHEX + 1];
		printf("%s\n", ug_oid_tohex(hex, &oid, c->algo));
	}
	ugit_pmap_release(&index);
	return rc;
}

int ugit_cmd_read_tree(ugit_ctx *c, ugit_args *a)
{
	ug_oid oid, tree;
	ug_otype type;
	if (ugit_rev(c, a->pos[0], &oid) < 0 || ug_tag_peel(c->repo, &oid, &tree, &type) < 0)
		return ugit_fail("%s", ug_error_last());
	if (type == UG_OBJ_COMMIT) { /* a commit stands for its tree, as in git */
		ug_commit *cm;
		if (ug_commit_lookup(&cm, c->repo, &tree) < 0)
			return ugit_fail("%s", ug_error_last());
		tree = cm->tree;
		ug_commit_free(cm);
	} else if (type != UG_OBJ_TREE) {
		return ugit_fail("'%s' is a %s, not a tree", a->pos[0], ug_otype_name(type));
	}
	ugit_pmap index;
	ugit_pmap_init(&index);
	int rc = 0;
	if (ugit_tree_flatten(c, &tree, &index) < 0 || ugit_index_write(c, &index) < 0)
		rc = ugit_fail("%s", ug_error_last());
	ugit_pmap_release(&index);
	return rc;
}

int ugit_cmd_commit(ugit_ctx *c, ugit_args *a)
{
	ugit_pmap index;
	ugit_pmap_init(&index);
	ug_oid tree, parents[2], oid;
	size_t np = 0;
	char *final = NULL;
	int rc = ugit_index_read(c, &index);
	if (rc == 0)
		rc = ugit_tree_write(c, &index, &tree);
	ugit_pmap_release(&index);
	if (rc < 0)
		return ugit_fail("%s", ug_error_last());

	ug_oid old;
	rc = ugit_head(c, &old, &final);
	if (rc == 0)
		parents[np++] = old;
	else if (rc == UG_ENOTFOUND)
		memset(&old, 0, sizeof(old));
	else {
		free(final);
		return ugit_fail("%s", ug_error_last());
	}
	bool merging = false;
	rc = ugit_merge_head(c, &parents[np]);
	if (rc == 0) {
		np++;
		merging = true;
	} else if (rc != UG_ENOTFOUND) {
		free(final);
		return ugit_fail("%s", ug_error_last());
	}
	const char *ident = ugit_ident(c);
	rc = ug_commit_create(c->repo, &oid, &tree, parents, np, ident, ident, a->message);
	if (rc < 0) {
		free(final);
		return ugit_fail_core("cannot write the commit");
	}
	/* the commit is stored; only now does the branch move */
	char *msg = ugit_fmt("commit%s: %.60s", merging ? " (merge)" : np ? "" : " (initial)", a->message);
	for (char *s = msg; *s; s++)
		if (*s == '\n')
			*s = ' ';
	rc = ug_refs_update(c->refs, final, &oid, &old, ident, msg);
	free(msg);
	if (rc < 0) {
		rc = ugit_fail_core("cannot move %s", final);
		free(final);
		return rc;
	}
	free(final);
	if (merging) {
		char *path = ugit_fmt("%s/MERGE_HEAD", c->gitdir);
		if (unlink(path) < 0 && errno != ENOENT)
			rc = ugit_fail("cannot remove %s: %s", path, strerror(errno));
		free(path);
	}
	char hex[UG_OID_MAXHEX + 1];
	printf("%s\n", ug_oid_tohex(hex, &oid, c->algo));
	return rc;
}

int ugit_cmd_status(ugit_ctx *c, ugit_args *a)
{
	(void)a;
	ug_ref head = {0};
	if (ug_refs_read(c->refs, "HEAD", &head) < 0)
		return ugit_fail("%s", ug_error_last());
	ugit_pmap h, index, work;
	ugit_pmap_init(&h);
	ugit_pmap_init(&index);
	ugit_pmap_init(&work);
	ug_oid hoid, mh;
	int rc = 0;
	if (head_map(c, &h, &hoid) < 0 || ugit_index_read(c, &index) < 0 ||
	    ugit_worktree_scan(c, "", false, &work) < 0) {
		rc = ugit_fail("%s", ug_error_last());
		goto out;
	}
	char hex[UG_OID_MAXHEX + 1];
	if (head.target)
		printf("On branch %s\n", !strncmp(head.target, "refs/heads/", 11) ? head.target + 11
										: head.target);
	else
		printf("HEAD detached at %.10s\n", ug_oid_tohex(hex, &hoid, c->algo));
	if (ugit_merge_head(c, &mh) == 0)
		printf("Merging with %.10s\n", ug_oid_tohex(hex, &mh, c->algo));

	const ugit_pmap *pairs[2][2] = {{&h, &index}, {&index, &work}};
	static const char *const titles[2] = {"Changes to be committed", "Changes not staged for commit"};
	for (int k = 0; k < 2; k++) {
		printf("\n%s:\n\n", titles[k]);
		ugit_pmap all;
		ugit_pmap_init(&all);
		ugit_pmap_union(&all, pairs[k], 2);
		for (size_t i = 0; i < all.n; i++) {
			const ug_oid *from = ugit_pmap_get(pairs[k][0], all.v[i].path);
			const ug_oid *to = ugit_pmap_get(pairs[k][1], all.v[i].path);
			if (!ugit_oid_same(from, to))
				printf("%12s: %s\n", action_name(from, to), all.v[i].path);
		}
		ugit_pmap_release(&all);
	}
out:
	ug_ref_release(&head);
	ugit_pmap_release(&h);
	ugit_pmap_release(&index);
	ugit_pmap_release(&work);
	return rc;
}

int ugit_cmd_diff(ugit_ctx *c, ugit_args *a)
{
	ugit_pmap from, to;
	ugit_pmap_init(&from);
	ugit_pmap_init(&to);
	int rc = 0;
	bool from_work = false, to_work = false;
	ug_oid oid;
	if (a->npos == 2) {
		if (a->cached) {
			rc = ugit_usage(c);
			goto out;
		}
		ug_oid x;
		if (ugit_rev_commit(c, a->pos[0], &oid) < 0 || ugit_rev_commit(c, a->pos[1], &x) < 0 ||
		    ugit_commit_flatten(c, &oid, &from) < 0 || ugit_commit_flatten(c, &x, &to) < 0) {
			rc = ugit_fail("%s", ug_error_last());
			goto out;
		}
	} else {
		if (!c->is_ugit) {
			rc = ugit_fail("diff needs a ugit repository unless it is given two commits");
			goto out;
		}
		int r = 0;
		if (a->npos == 1) {
			r = ugit_rev_commit(c, a->pos[0], &oid);
			if (r == 0)
				r = ugit_commit_flatten(c, &oid, &from);
		}
		if (r == 0 && a->cached) {
			r = ugit_index_read(c, &to);
			if (r == 0 && a->npos == 0)
				r = head_map(c, &from, NULL);
		} else if (r == 0) {
			to_work = true;
			r = ugit_worktree_scan(c, "", false, &to);
			if (r == 0 && a->npos == 0)
				r = ugit_index_read(c, &from);
		}
		if (r < 0) {
			rc = ugit_fail("%s", ug_error_last());
			goto out;
		}
	}
	if (ugit_diff_maps(c, &from, &to, to_work, from_work) < 0)
		rc = ugit_fail("%s", ug_error_last());
out:
	ugit_pmap_release(&from);
	ugit_pmap_release(&to);
	return rc;
}

/* ---- add ---- */

/* A path given on the command line, relative to the top of the working tree
 * ("" for the top itself); NULL when it points outside. Lexical, as Python's
 * os.path.relpath. */
static char *normalize(const char *arg)
{
	char cwd[PATH_MAX];
	const char *p = arg;
	if (arg[0] == '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		size_t n = strlen(cwd);
		if (strncmp(arg, cwd, n) || (arg[n] != '/' && arg[n] != '\0'))
			return NULL;
		p = arg + n;
	}
	char *out = ugit_xmalloc(strlen(p) + 1);
	size_t len = 0;
	while (*p) {
		while (*p == '/')
			p++;
		const char *end = strchr(p, '/');
		size_t k = end ? (size_t)(end - p) : strlen(p);
		if (k == 0)
			break;
		if (k == 1 && p[0] == '.') {
			/* nothing */
		} else if (k == 2 && p[0] == '.' && p[1] == '.') {
			if (len == 0) {
				free(out);
				return NULL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the slash */
		} else {
			if (len)
				out[len++] = '/';
			memcpy(out + len, p, k);
			len += k;
		}
		p += k;
	}
	out[len] = '\0';
	return out;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return n == 0 || (!strncmp(path, dir, n) && path[n] == '/');
}

/* Does a parent folder of path lie behind a symbolic link (outside the tree)? */
static bool beyond_link(const char *path)
{
	char *p = ugit_xstrdup(path);
	bool link = false;
	for (char *s = strchr(p, '/'); s && !link; s = strchr(s + 1, '/')) {
		struct stat st;
		*s = '\0';
		link = lstat(p, &st) == 0 && !S_ISDIR(st.st_mode);
		*s = '/';
	}
	free(p);
	return link;
}

static int add_one(ugit_ctx *c, ugit_pmap *index, const char *arg)
{
	char *rel = normalize(arg);
	if (!rel)
		return ugit_fail("'%s' is outside the repository", arg);
	int rc = 0;
	struct stat st;
	if (*rel && !ugit_path_ok(rel)) {
		rc = ugit_fail("'%s' cannot be stored: .ugit is ignored", arg);
	} else if (beyond_link(rel)) {
		rc = ugit_fail("'%s' is beyond a symbolic link", arg);
	} else if (*rel && lstat(rel, &st) == 0 && !S_ISDIR(st.st_mode)) {
		unsigned char *buf;
		size_t len;
		ug_oid oid;
		if (stat(rel, &st) < 0 || !S_ISREG(st.st_mode))
			rc = ugit_fail("'%s' is not a regular file", arg);
		else if (ugit_file_read(rel, &buf, &len) < 0)
			rc = ugit_fail("%s", ug_error_last());
		else {
			if (ug_odb_write(c->odb, &oid, UG_OBJ_BLOB, buf, len) < 0)
				rc = ugit_fail_core("cannot store %s", rel);
			else
				ugit_pmap_set(index, rel, &oid);
			free(buf);
		}
	} else if (!*rel || (lstat(rel, &st) == 0 && S_ISDIR(st.st_mode))) {
		ugit_pmap work;
		ugit_pmap_init(&work);
		if (ugit_worktree_scan(c, rel, true, &work) < 0) {
			rc = ugit_fail("%s", ug_error_last());
		} else {
			for (size_t i = 0; i < work.n; i++)
				ugit_pmap_set(index, work.v[i].path, &work.v[i].oid);
			/* files gone from the folder leave the index, as git add does */
			for (size_t i = 0; i < index->n; i++)
				if (index->v[i].live && under(index->v[i].path, rel) &&
				    !ugit_pmap_get(&work, index->v[i].path))
					ugit_pmap_del(index, index->v[i].path);
		}
		ugit_pmap_release(&work);
	} else {
		/* gone from the working tree: its removal is what gets staged */
		bool any = ugit_pmap_del(index, rel);
		for (size_t i = 0; i < index->n; i++)
			if (index->v[i].live && under(index->v[i].path, rel)) {
				ugit_pmap_del(index, index->v[i].path);
				any = true;
			}
		if (!any)
			rc = ugit_fail("'%s' matches no file", arg);
	}
	free(rel);
	return rc;
}

int ugit_cmd_add(ugit_ctx *c, ugit_args *a)
{
	ugit_pmap index;
	ugit_pmap_init(&index);
	int rc = 0;
	if (ugit_index_read(c, &index) < 0)
		rc = ugit_fail("%s", ug_error_last());
	for (int i = 0; i < a->npos && rc == 0; i++)
		rc = add_one(c, &index, a->pos[i]);
	if (rc == 0 && ugit_index_write(c, &index) < 0)
		rc = ugit_fail("%s", ug_error_last());
	ugit_pmap_release(&index);
	return rc;
}

/* ---- moving the working tree from one tree to another, never losing work ---- */

/* A walk for first_blocker: the folders still to look into, and what it found. */
typedef struct {
	const ugit_pmap *removals;
	const char *dir; /* the folder being read */
	char **todo;
	size_t n, cap;
	char *found;
} blocker_walk;

static int blocker_entry(void *arg, int dirfd, const char *name, unsigned char type)
{
	blocker_walk *b = arg;
	(void)dirfd;
	(void)type;
	char *p = ugit_fmt("%s/%s", b->dir, name);
	struct stat st;
	if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (b->n == b->cap) {
			b->cap *= 2;
			b->todo = ugit_xrealloc(b->todo, b->cap * sizeof(char *));
		}
		b->todo[b->n++] = p;
	} else if (!ugit_pmap_get(b->removals, p)) {
		b->found = p;
		return 1;
	} else {
		free(p);
	}
	return 0;
}

/* The first file under dir (a real folder) that is not about to be removed. */
static char *first_blocker(const char *dir, const ugit_pmap *removals)
{
	blocker_walk b = {.removals = removals, .todo = ugit_xmalloc(sizeof(char *)), .n = 1, .cap = 1};
	b.todo[0] = ugit_xstrdup(dir);
	while (b.n && !b.found) {
		char *d = b.todo[--b.n];
		b.dir = d;
		/* a folder that cannot be read blocks as a whole */
		if (ug_fileio_dir_each(d, blocker_entry, &b) < 0) {
			b.found = d;
			break;
		}
		free(d);
	}
	while (b.n)
		free(b.todo[--b.n]);
	free(b.todo);
	return b.found;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	return r < 0 && errno != ENOENT ? -1 : 0;
}

/* Remove a folder and everything in it (only what the checks allowed, or --force). */
static int remove_all(const char *path)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return ug_error_os(UG_ERROR, "cannot remove %s", path);
	return 0;
}

static int refuse(const char *verb, const char *what, const char *path, const char *why)
{
	return ug_error(UG_ECONFLICT, "%s would %s '%s'%s, or use --force)", verb, what, path, why);
}

/*
 * A move of the working tree and the index from tree F to tree T (maps), given
 * the index I and the working files W. A path that the move changes may be
 * touched only when nothing would be lost: its staged and working versions
 * are F's, T's, or absent. Untracked files in the way refuse too. force
 * overrides and resets every tracked path to T. Nothing is changed until
 * every path has been checked.
 */
typedef struct {
	const ugit_pmap *F, *T, *I, *W; /* borrowed */
	bool force;
	const char *verb; /* the command, for refusals */
	ugit_pmap removals; /* paths to remove (the ids are zero) */
	ugit_pmap writes;   /* paths to write, with T's ids */
} tree_move;

/* A changed path whose staged or working version is neither F's, T's nor absent refuses. */
static int check_kept(const tree_move *mv, const char *p, const ug_oid *f, const ug_oid *t)
{
	const ug_oid *i = ugit_pmap_get(mv->I, p), *w = ugit_pmap_get(mv->W, p);
	bool ok_i = !i || ugit_oid_same(i, f) || ugit_oid_same(i, t);
	bool ok_w = !w || ugit_oid_same(w, f) || ugit_oid_same(w, t);
	if (ok_i && ok_w)
		return 0;
	if (!f && !i)
		return refuse(mv->verb, "overwrite the untracked file", p, " (move it away");
	if (!t)
		return refuse(mv->verb, "remove", p, ", which has uncommitted changes (commit them");
	return refuse(mv->verb, "overwrite", p, ", which has uncommitted changes (commit them");
}

/* Which paths the move writes and which it removes, each checked. */
static int plan_move(tree_move *mv)
{
	static const ug_oid zero;
	ugit_pmap all;
	ugit_pmap_init(&all);
	const ugit_pmap *maps[] = {mv->F, mv->T, mv->I};
	ugit_pmap_union(&all, maps, mv->force ? 3 : 2);
	int rc = 0;
	for (size_t k = 0; k < all.n && rc == 0; k++) {
		const char *p = all.v[k].path;
		const ug_oid *f = ugit_pmap_get(mv->F, p), *t = ugit_pmap_get(mv->T, p);
		const ug_oid *i = ugit_pmap_get(mv->I, p), *w = ugit_pmap_get(mv->W, p);
		bool changed = !ugit_oid_same(f, t) ||
			       (mv->force && (!ugit_oid_same(i, t) || !ugit_oid_same(w, t)));
		if (!changed)
			continue;
		if (!mv->force && (rc = check_kept(mv, p, f, t)) != 0)
			break;
		if (t)
			ugit_pmap_set(&mv->writes, p, t);
		else if (f || i)
			ugit_pmap_set(&mv->removals, p, &zero);
	}
	ugit_pmap_release(&all);
	return rc;
}

/* An untracked file in the way of the file p: one of its parents, or in a folder at p. */
static int check_way(const tree_move *mv, const char *p)
{
	int rc = 0;
	char *q = ugit_xstrdup(p);
	for (char *s = strchr(q, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
		*s = '\0';
		struct stat st;
		if (lstat(q, &st) < 0)
			break;
		if (!S_ISDIR(st.st_mode) && !ugit_pmap_get(&mv->removals, q))
			rc = refuse(mv->verb, "overwrite the untracked file", q, " (move it away");
		*s = '/';
	}
	free(q);
	struct stat st;
	if (rc == 0 && lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *b = first_blocker(p, &mv->removals);
		if (b)
			rc = refuse(mv->verb, "overwrite the untracked file", b, " (move it away");
		free(b);
	}
	return rc;
}

/* Removals come first, so folders can take the place of files. */
static int remove_old(const tree_move *mv)
{
	const ugit_pmap *r = &mv->removals;
	int rc = 0;
	for (size_t k = 0; k < r->n && rc == 0; k++)
		if (r->v[k].live && ugit_pmap_get(mv->W, r->v[k].path) && ugit_pmap_get(mv->F, r->v[k].path))
			rc = ugit_work_remove(r->v[k].path);
	for (size_t k = 0; k < r->n && rc == 0; k++)
		if (r->v[k].live && mv->force) /* tracked only in the index */
			rc = ugit_work_remove(r->v[k].path);
	return rc;
}

/* Remove the files that stand where p's parent folders go. */
static int unlink_parents(const char *p)
{
	int rc = 0;
	char *q = ugit_xstrdup(p);
	for (char *s = strchr(q, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
		*s = '\0';
		struct stat st;
		if (lstat(q, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(q) < 0)
			rc = ug_error_os(UG_ERROR, "cannot remove %s", q);
		*s = '/';
	}
	free(q);
	return rc;
}

/* Write T's version of p, in place of a folder there, unless the working file has it. */
static int write_new(ugit_ctx *c, const tree_move *mv, const char *p, const ug_oid *t)
{
	int rc = unlink_parents(p);
	struct stat st;
	bool is_dir = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
	if (rc == 0 && is_dir)
		rc = remove_all(p);
	if (rc == 0 && (is_dir || !ugit_oid_same(ugit_pmap_get(mv->W, p), t))) {
		unsigned char *buf;
		size_t len;
		rc = ugit_blob_read(c, t, &buf, &len);
		if (rc == 0) {
			rc = ugit_work_write(p, buf, len);
			free(buf);
		}
	}
	return rc;
}

/* The new index: T's order, carrying what the move left alone. */
static void new_index(const tree_move *mv, ugit_pmap *newI)
{
	const ugit_pmap *F = mv->F, *T = mv->T, *I = mv->I;
	for (size_t k = 0; k < T->n; k++) {
		if (!T->v[k].live)
			continue;
		const char *p = T->v[k].path;
		const ug_oid *f = ugit_pmap_get(F, p), *i = ugit_pmap_get(I, p);
		if (mv->force || !ugit_oid_same(f, &T->v[k].oid))
			ugit_pmap_set(newI, p, &T->v[k].oid);
		else if (i)
			ugit_pmap_set(newI, p, i);
	}
	for (size_t k = 0; k < I->n && !mv->force; k++)
		if (I->v[k].live && !ugit_pmap_get(T, I->v[k].path) && !ugit_pmap_get(F, I->v[k].path))
			ugit_pmap_set(newI, I->v[k].path, &I->v[k].oid);
}

/* Move the working tree and the index from F to T (see tree_move); *newI gets the index to write. */
static int move_tree(ugit_ctx *c, const ugit_pmap *F, const ugit_pmap *T, const ugit_pmap *I,
		     const ugit_pmap *W, bool force, const char *verb, ugit_pmap *newI)
{
	tree_move mv = {.F = F, .T = T, .I = I, .W = W, .force = force, .verb = verb};
	ugit_pmap_init(&mv.removals);
	ugit_pmap_init(&mv.writes);
	int rc = plan_move(&mv);
	/* untracked files in the way refuse; force replaces them */
	for (size_t k = 0; k < mv.writes.n && rc == 0 && !force; k++)
		rc = check_way(&mv, mv.writes.v[k].path);
	/* now act */
	if (rc == 0)
		rc = remove_old(&mv);
	for (size_t k = 0; k < mv.writes.n && rc == 0; k++)
		rc = write_new(c, &mv, mv.writes.v[k].path, &mv.writes.v[k].oid);
	if (rc == 0)
		new_index(&mv, newI);
	ugit_pmap_release(&mv.removals);
	ugit_pmap_release(&mv.writes);
	return rc;
}

/* Load F (HEAD's tree), T, the index and the working files, move, write the index. */
static int switch_to(ugit_ctx *c, const ug_oid *target, const ugit_pmap *T_given, bool force,
		     const char *verb)
{
	ugit_pmap F, T, I, W, newI;
	ugit_pmap_init(&F);
	ugit_pmap_init(&T);
	ugit_pmap_init(&I);
	ugit_pmap_init(&W);
	ugit_pmap_init(&newI);
	int rc = head_map(c, &F, NULL);
	if (rc == 0 && !T_given)
		rc = ugit_commit_flatten(c, target, &T);
	if (rc == 0)
		rc = ugit_index_read(c, &I);
	if (rc == 0)
		rc = ugit_worktree_scan(c, "", false, &W);
	if (rc == 0)
		rc = move_tree(c, &F, T_given ? T_given : &T, &I, &W, force, verb, &newI);
	if (rc == 0)
		rc = ugit_index_write(c, &newI);
	ugit_pmap_release(&F);
	ugit_pmap_release(&T);
	ugit_pmap_release(&I);
	ugit_pmap_release(&W);
	ugit_pmap_release(&newI);
	return rc;
}

static int merge_in_progress(ugit_ctx *c, bool *yes)
{
	ug_oid mh;
	int rc = ugit_merge_head(c, &mh);
	*yes = rc == 0;
	return rc == UG_ENOTFOUND ? 0 : rc;
}

static int drop_merge_head(ugit_ctx *c)
{
	char *path = ugit_fmt("%s/MERGE_HEAD", c->gitdir);
	int rc = 0;
	if (unlink(path) < 0 && errno != ENOENT)
		rc = ug_error_os(UG_ERROR, "cannot remove %s", path);
	free(path);
	return rc;
}

int ugit_cmd_checkout(ugit_ctx *c, ugit_args *a)
{
	const char *name = a->pos[0];
	char *branch = ugit_fmt("refs/heads/%s", name);
	ug_oid oid;
	bool attach = false;
	int rc;
	bool merging = false;
	if (merge_in_progress(c, &merging) < 0) {
		rc = ugit_fail("%s", ug_error_last());
		goto out;
	}
	if (merging && !a->force) {
		rc = ugit_fail("a merge is in progress (MERGE_HEAD): commit it first, or use --force");
		goto out;
	}
	if (ug_refname_valid(branch)) {
		ug_ref ref = {0};
		rc = ug_refs_read(c->refs, branch, &ref);
		ug_ref_release(&ref);
		if (rc == 0 && ug_refs_resolve(c->refs, branch, &oid, NULL) == 0)
			attach = true;
	}
	if (!attach && ugit_rev_commit(c, name, &oid) < 0) {
		rc = ugit_fail("%s", ug_error_last());
		goto out;
	}
	rc = switch_to(c, &oid, NULL, a->force, "checkout");
	if (rc == 0 && merging)
		rc = drop_merge_head(c);
	if (rc < 0) {
		rc = ugit_fail("%s", ug_error_last());
		goto out;
	}
	/* the files and the index are in place; HEAD moves last */
	if (attach) {
		rc = ug_refs_set_symbolic(c->refs, "HEAD", branch);
	} else {
		char hex[UG_OID_MAXHEX + 1];
		char *msg = ugit_fmt("checkout: moving to %s", ug_oid_tohex(hex, &oid, c->algo));
		rc = ug_refs_update(c->refs, "HEAD", &oid, NULL, ugit_ident(c), msg);
		free(msg);
	}
	if (rc < 0)
		rc = ugit_fail_core("cannot move HEAD");
out:
	free(branch);
	return rc;
}

/* ---- merge ---- */

/* Three-way merge of maps, path by path, in compare_trees order. A side that
 * changed wins; both changed alike is no conflict; both changed differently
 * goes through diff3 (a missing side is an empty file). */
static int merge_maps(ugit_ctx *c, const ugit_pmap *B, const ugit_pmap *H, const ugit_pmap *M,
		      ugit_pmap *R, ugit_pmap *conflicts)
{
	ugit_pmap all;
	ugit_pmap_init(&all);
	const ugit_pmap *maps[] = {B, H, M};
	ugit_pmap_union(&all, maps, 3);
	int rc = 0;
	for (size_t k = 0; k < all.n && rc == 0; k++) {
		const char *p = all.v[k].path;
		const ug_oid *b = ugit_pmap_get(B, p), *h = ugit_pmap_get(H, p), *m = ugit_pmap_get(M, p);
		const ug_oid *r;
		ug_oid merged;
		if (ugit_oid_same(h, m) || ugit_oid_same(b, m)) {
			r = h;
		} else if (ugit_oid_same(b, h)) {
			r = m;
		} else {
			unsigned char *buf;
			size_t len;
			bool conflict = false;
			rc = ugit_merge_blobs(c, b, h, m, &buf, &len, &conflict);
			if (rc < 0) {
				char why[256];
				snprintf(why, sizeof(why), "%s", ug_error_last());
				rc = ug_error(rc, "merge: cannot merge '%s': %s", p, why);
				break;
			}
			rc = ug_odb_write(c->odb, &merged, UG_OBJ_BLOB, buf, len);
			free(buf);
			if (rc < 0)
				break;
			if (conflict)
				ugit_pmap_set(conflicts, p, &merged);
			r = &merged;
		}
		if (r)
			ugit_pmap_set(R, p, r);
	}
	ugit_pmap_release(&all);
	return rc;
}

/* The commits of a merge: HEAD's (*final gets the ref a commit moves, which
 * the caller frees), the other one, and their merge base. 0, or the exit
 * status of a failure already told. */
static int merge_ends(ugit_ctx *c, const char *rev, ug_oid *head, ug_oid *other, ug_oid *base,
		      char **final)
{
	bool merging = false;
	int rc = ugit_rev_commit(c, rev, other);
	if (rc == 0)
		rc = merge_in_progress(c, &merging);
	if (rc < 0)
		return ugit_fail("%s", ug_error_last());
	if (merging)
		return ugit_fail("a merge is in progress (MERGE_HEAD): commit it first");
	rc = ugit_head(c, head, final);
	if (rc == UG_ENOTFOUND)
		return ugit_fail("HEAD has no commit to merge into");
	if (rc < 0)
		return ugit_fail("%s", ug_error_last());
	rc = ugit_merge_base(c, other, head, base);
	if (rc == UG_ENOTFOUND)
		return ugit_fail("refusing to merge unrelated histories (no common ancestor)");
	if (rc < 0)
		return ugit_fail("%s", ug_error_last());
	return 0;
}

/* HEAD is the merge base: the working tree, then the ref final, move to other. */
static int fast_forward(ugit_ctx *c, const ug_oid *head, const ug_oid *other, const char *final,
			bool force)
{
	char hex[UG_OID_MAXHEX + 1];
	int rc = switch_to(c, other, NULL, force, "merge");
	if (rc == 0) {
		char *msg = ugit_fmt("merge %s: Fast-forward", ug_oid_tohex(hex, other, c->algo));
		rc = ug_refs_update(c->refs, final, other, head, ugit_ident(c), msg);
		free(msg);
	}
	if (rc < 0)
		return ugit_fail("%s", ug_error_last());
	printf("Fast-forward merge, no need to commit\n");
	return 0;
}

/* The merge result becomes the index: staged work must be committed first. */
static int check_staged(const ugit_pmap *H, const ugit_pmap *I)
{
	ugit_pmap all;
	ugit_pmap_init(&all);
	const ugit_pmap *maps[] = {H, I};
	ugit_pmap_union(&all, maps, 2);
	int rc = 0;
	for (size_t k = 0; k < all.n && rc == 0; k++)
		if (!ugit_oid_same(ugit_pmap_get(H, all.v[k].path), ugit_pmap_get(I, all.v[k].path)))
			rc = ug_error(UG_ECONFLICT,
				      "merge: '%s' has staged changes; commit them first, or use --force",
				      all.v[k].path);
	ugit_pmap_release(&all);
	return rc;
}

/* The three-way merge of base, head and other into the working tree and the
 * index; conflicts gets the paths merged with conflict markers. */
static int merge_trees(ugit_ctx *c, const ug_oid *base, const ug_oid *head, const ug_oid *other,
		       bool force, ugit_pmap *conflicts)
{
	ugit_pmap B, H, M, R, I;
	ugit_pmap_init(&B);
	ugit_pmap_init(&H);
	ugit_pmap_init(&M);
	ugit_pmap_init(&R);
	ugit_pmap_init(&I);
	int rc = ugit_commit_flatten(c, base, &B);
	if (rc == 0)
		rc = ugit_commit_flatten(c, head, &H);
	if (rc == 0)
		rc = ugit_commit_flatten(c, other, &M);
	if (rc == 0)
		rc = ugit_index_read(c, &I);
	if (rc == 0 && !force)
		rc = check_staged(&H, &I);
	if (rc == 0)
		rc = merge_maps(c, &B, &H, &M, &R, conflicts);
	if (rc == 0)
		rc = switch_to(c, NULL, &R, force, "merge");
	ugit_pmap_release(&B);
	ugit_pmap_release(&H);
	ugit_pmap_release(&M);
	ugit_pmap_release(&R);
	ugit_pmap_release(&I);
	return rc;
}

/* Merge other into HEAD's working tree and index, then name it in MERGE_HEAD for the commit. */
static int merge_three_way(ugit_ctx *c, const ug_oid *base, const ug_oid *head, const ug_oid *other,
			   bool force)
{
	ugit_pmap conflicts;
	ugit_pmap_init(&conflicts);
	int rc = merge_trees(c, base, head, other, force, &conflicts);
	if (rc == 0) {
		/* the working tree and index hold the merge; MERGE_HEAD comes last */
		char hex[UG_OID_MAXHEX + 1];
		char *path = ugit_fmt("%s/MERGE_HEAD", c->gitdir);
		ug_oid_tohex(hex, other, c->algo);
		rc = ugit_repo_file_write(path, hex, strlen(hex));
		free(path);
	}
	if (rc < 0) {
		ugit_pmap_release(&conflicts);
		return ugit_fail("%s", ug_error_last());
	}
	/* stdout stays the Python tool's two lines; conflicts are told on stderr */
	fflush(stdout);
	for (size_t k = 0; k < conflicts.n; k++)
		fprintf(stderr, "CONFLICT (content): Merge conflict in %s\n", conflicts.v[k].path);
	ugit_pmap_release(&conflicts);
	printf("Merged in working tree\nPlease commit\n");
	return 0;
}

/* Already merged, a fast-forward, or a three-way merge left for commit. */
int ugit_cmd_merge(ugit_ctx *c, ugit_args *a)
{
	ug_oid head, other, base;
	char *final = NULL;
	int rc = merge_ends(c, a->pos[0], &head, &other, &base, &final);
	if (rc == 0 && ug_oid_equal(&base, &other))
		printf("Already up to date.\n");
	else if (rc == 0 && ug_oid_equal(&base, &head))
		rc = fast_forward(c, &head, &other, final, a->force);
	else if (rc == 0)
		rc = merge_three_way(c, &base, &head, &other, a->force);
	free(final);
	return rc;
}
