/* ugit: the commands on the index and the working tree (init, add, commit, status, diff, checkout, merge). */
#include "ugit_internal.h"

#include "tag.h"
#include "tree.h"

#include <dirent.h>
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

/* The first file under dir (a real folder) that is not about to be removed. */
static char *first_blocker(const char *dir, const ugit_pmap *removals)
{
	char **todo = ugit_xmalloc(sizeof(char *));
	size_t n = 1, cap = 1;
	todo[0] = ugit_xstrdup(dir);
	char *found = NULL;
	while (n && !found) {
		char *d = todo[--n];
		DIR *dh = opendir(d);
		if (!dh) {
			found = d;
			break;
		}
		struct dirent *de;
		while (!found && (de = readdir(dh))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *p = ugit_fmt("%s/%s", d, de->d_name);
			struct stat st;
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
				if (n == cap) {
					cap *= 2;
					todo = ugit_xrealloc(todo, cap * sizeof(char *));
				}
				todo[n++] = p;
			} else if (!ugit_pmap_get(removals, p)) {
				found = p;
			} else {
				free(p);
			}
		}
		closedir(dh);
		if (found != d)
			free(d);
	}
	while (n)
		free(todo[--n]);
	free(todo);
	return found;
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
 * Make the working tree and the index go from tree F to tree T (maps), given
 * the index I and the working files W. A path that the move changes may be
 * touched only when nothing would be lost: its staged and working versions
 * are F's, T's, or absent. Untracked files in the way refuse too. force
 * overrides and resets every tracked path to T. Nothing is changed until
 * every path has been checked. *newI gets the index to write.
 */
static int move_tree(ugit_ctx *c, const ugit_pmap *F, const ugit_pmap *T, const ugit_pmap *I,
		     const ugit_pmap *W, bool force, const char *verb, ugit_pmap *newI)
{
	static const ug_oid zero;
	ugit_pmap all, removals, writes;
	ugit_pmap_init(&all);
	ugit_pmap_init(&removals);
	ugit_pmap_init(&writes);
	const ugit_pmap *maps[] = {F, T, I};
	ugit_pmap_union(&all, maps, force ? 3 : 2);
	int rc = 0;

	for (size_t k = 0; k < all.n && rc == 0; k++) {
		const char *p = all.v[k].path;
		const ug_oid *f = ugit_pmap_get(F, p), *t = ugit_pmap_get(T, p);
		const ug_oid *i = ugit_pmap_get(I, p), *w = ugit_pmap_get(W, p);
		bool changed = !ugit_oid_same(f, t) ||
			       (force && (!ugit_oid_same(i, t) || !ugit_oid_same(w, t)));
		if (!changed)
			continue;
		if (!force) {
			bool ok_i = !i || ugit_oid_same(i, f) || ugit_oid_same(i, t);
			bool ok_w = !w || ugit_oid_same(w, f) || ugit_oid_same(w, t);
			if (!ok_i || !ok_w) {
				if (!f && !i)
					rc = refuse(verb, "overwrite the untracked file", p, " (move it away");
				else if (!t)
					rc = refuse(verb, "remove", p, ", which has uncommitted changes (commit them");
				else
					rc = refuse(verb, "overwrite", p,
						    ", which has uncommitted changes (commit them");
				break;
			}
		}
		if (t)
			ugit_pmap_set(&writes, p, t);
		else if (f || i)
			ugit_pmap_set(&removals, p, &zero);
	}

	/* things in the way of the files to write */
	for (size_t k = 0; k < writes.n && rc == 0; k++) {
		const char *p = writes.v[k].path;
		char *q = ugit_xstrdup(p);
		for (char *s = strchr(q, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
			*s = '\0';
			struct stat st;
			if (lstat(q, &st) < 0)
				break;
			if (!S_ISDIR(st.st_mode) && !ugit_pmap_get(&removals, q) && !force)
				rc = refuse(verb, "overwrite the untracked file", q, " (move it away");
			*s = '/';
		}
		struct stat st;
		if (rc == 0 && !force && lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *b = first_blocker(p, &removals);
			if (b)
				rc = refuse(verb, "overwrite the untracked file", b, " (move it away");
			free(b);
		}
		free(q);
	}

	/* now act: removals first, so folders can take the place of files */
	for (size_t k = 0; k < removals.n && rc == 0; k++)
		if (removals.v[k].live && ugit_pmap_get(W, removals.v[k].path) &&
		    ugit_pmap_get(F, removals.v[k].path))
			rc = ugit_work_remove(removals.v[k].path);
	for (size_t k = 0; k < removals.n && rc == 0; k++)
		if (removals.v[k].live && force) /* tracked only in the index */
			rc = ugit_work_remove(removals.v[k].path);
	for (size_t k = 0; k < writes.n && rc == 0; k++) {
		const char *p = writes.v[k].path;
		const ug_oid *t = &writes.v[k].oid;
		char *q = ugit_xstrdup(p);
		for (char *s = strchr(q, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
			*s = '\0';
			struct stat st;
			if (lstat(q, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(q) < 0)
				rc = ug_error_os(UG_ERROR, "cannot remove %s", q);
			*s = '/';
		}
		free(q);
		struct stat st;
		bool is_dir = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
		if (rc == 0 && is_dir)
			rc = remove_all(p);
		if (rc == 0 && (is_dir || !ugit_oid_same(ugit_pmap_get(W, p), t))) {
			unsigned char *buf;
			size_t len;
			rc = ugit_blob_read(c, t, &buf, &len);
			if (rc == 0) {
				rc = ugit_work_write(p, buf, len);
				free(buf);
			}
		}
	}

	/* the new index: T's order, carrying what the move left alone */
	for (size_t k = 0; k < T->n && rc == 0; k++) {
		if (!T->v[k].live)
			continue;
		const char *p = T->v[k].path;
		const ug_oid *f = ugit_pmap_get(F, p), *i = ugit_pmap_get(I, p);
		if (force || !ugit_oid_same(f, &T->v[k].oid))
			ugit_pmap_set(newI, p, &T->v[k].oid);
		else if (i)
			ugit_pmap_set(newI, p, i);
	}
	for (size_t k = 0; k < I->n && rc == 0 && !force; k++)
		if (I->v[k].live && !ugit_pmap_get(T, I->v[k].path) && !ugit_pmap_get(F, I->v[k].path))
			ugit_pmap_set(newI, I->v[k].path, &I->v[k].oid);

	ugit_pmap_release(&all);
	ugit_pmap_release(&removals);
	ugit_pmap_release(&writes);
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

int ugit_cmd_merge(ugit_ctx *c, ugit_args *a)
{
	ug_oid head, other, base;
	char *final = NULL;
	char hex[UG_OID_MAXHEX + 1];
	bool merging = false;
	int rc = ugit_rev_commit(c, a->pos[0], &other);
	if (rc == 0)
		rc = merge_in_progress(c, &merging);
	if (rc < 0)
		return ugit_fail("%s", ug_error_last());
	if (merging)
		return ugit_fail("a merge is in progress (MERGE_HEAD): commit it first");
	rc = ugit_head(c, &head, &final);
	if (rc == UG_ENOTFOUND) {
		free(final);
		return ugit_fail("HEAD has no commit to merge into");
	}
	if (rc < 0) {
		free(final);
		return ugit_fail("%s", ug_error_last());
	}
	rc = ugit_merge_base(c, &other, &head, &base);
	if (rc == UG_ENOTFOUND) {
		free(final);
		return ugit_fail("refusing to merge unrelated histories (no common ancestor)");
	}
	if (rc < 0) {
		free(final);
		return ugit_fail("%s", ug_error_last());
	}
	if (ug_oid_equal(&base, &other)) {
		free(final);
		printf("Already up to date.\n");
		return 0;
	}
	if (ug_oid_equal(&base, &head)) {
		rc = switch_to(c, &other, NULL, a->force, "merge");
		if (rc == 0) {
			char *msg = ugit_fmt("merge %s: Fast-forward", ug_oid_tohex(hex, &other, c->algo));
			rc = ug_refs_update(c->refs, final, &other, &head, ugit_ident(c), msg);
			free(msg);
		}
		free(final);
		if (rc < 0)
			return ugit_fail("%s", ug_error_last());
		printf("Fast-forward merge, no need to commit\n");
		return 0;
	}
	free(final);

	ugit_pmap B, H, M, R, I, conflicts;
	ugit_pmap_init(&conflicts);
	ugit_pmap_init(&B);
	ugit_pmap_init(&H);
	ugit_pmap_init(&M);
	ugit_pmap_init(&R);
	ugit_pmap_init(&I);
	rc = ugit_commit_flatten(c, &base, &B);
	if (rc == 0)
		rc = ugit_commit_flatten(c, &head, &H);
	if (rc == 0)
		rc = ugit_commit_flatten(c, &other, &M);
	if (rc == 0)
		rc = ugit_index_read(c, &I);
	if (rc == 0 && !a->force) {
		/* the merge result becomes the index: staged work must be committed first */
		ugit_pmap all;
		ugit_pmap_init(&all);
		const ugit_pmap *maps[] = {&H, &I};
		ugit_pmap_union(&all, maps, 2);
		for (size_t k = 0; k < all.n && rc == 0; k++)
			if (!ugit_oid_same(ugit_pmap_get(&H, all.v[k].path), ugit_pmap_get(&I, all.v[k].path)))
				rc = ug_error(UG_ECONFLICT,
					      "merge: '%s' has staged changes; commit them first, or use --force",
					      all.v[k].path);
		ugit_pmap_release(&all);
	}
	if (rc == 0)
		rc = merge_maps(c, &B, &H, &M, &R, &conflicts);
	if (rc == 0)
		rc = switch_to(c, NULL, &R, a->force, "merge");
	if (rc == 0) {
		/* the working tree and index hold the merge; MERGE_HEAD comes last */
		char *path = ugit_fmt("%s/MERGE_HEAD", c->gitdir);
		ug_oid_tohex(hex, &other, c->algo);
		rc = ugit_repo_file_write(path, hex, strlen(hex));
		free(path);
	}
	ugit_pmap_release(&B);
	ugit_pmap_release(&H);
	ugit_pmap_release(&M);
	ugit_pmap_release(&R);
	ugit_pmap_release(&I);
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
