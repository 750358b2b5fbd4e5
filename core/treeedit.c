/* Tree editing: folders load lazily along edited paths; writing walks the changed ones with an explicit stack. */
#include "treeedit.h"

#include "array.h"
#include "error.h"
#include "repo.h"
#include "tree.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct node node;

struct node {
	uint32_t mode;
	ug_oid oid;     /* a file's id; a folder's id while it is not dirty */
	bool loaded;    /* folder: kids hold its entries */
	bool dirty;     /* folder: kids differ from what oid names */
	node **kids;    /* folder: sorted by name, bytewise */
	size_t nkids, akids;
	node *next;     /* only while freeing: a stack without allocation */
	size_t namelen;
	char name[];    /* NUL-terminated */
};

struct ug_treeedit {
	ug_repo *repo;
	node *root;
};

static node *node_new(const char *name, size_t namelen, uint32_t mode, const ug_oid *oid)
{
	node *n = calloc(1, sizeof(*n) + namelen + 1);

	if (!n)
		return NULL;
	n->mode = mode;
	if (oid)
		n->oid = *oid;
	n->namelen = namelen;
	memcpy(n->name, name, namelen);
	n->name[namelen] = '\0';
	return n;
}

/* Free n and everything below it, without recursion or allocation. */
static void node_free(node *n)
{
	if (n)
		n->next = NULL;
	while (n) {
		node *cur = n;

		n = cur->next;
		for (size_t i = 0; i < cur->nkids; i++) {
			cur->kids[i]->next = n;
			n = cur->kids[i];
		}
		free(cur->kids);
		free(cur);
	}
}

void ug_treeedit_free(ug_treeedit *ed)
{
	if (!ed)
		return;
	node_free(ed->root);
	free(ed);
}

int ug_treeedit_new(ug_treeedit **out, ug_repo *repo, const ug_oid *base_tree)
{
	ug_treeedit *ed = calloc(1, sizeof(*ed));

	*out = NULL;
	if (!ed)
		return ug_error(UG_ENOMEM, "out of memory");
	ed->repo = repo;
	ed->root = node_new("", 0, UG_MODE_TREE, NULL);
	if (!ed->root) {
		free(ed);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	if (base_tree && !ug_oid_iszero(base_tree)) {
		ed->root->oid = *base_tree;
	} else {
		/* nothing to read; written as the empty tree unless edited */
		ed->root->loaded = true;
		ed->root->dirty = true;
	}
	*out = ed;
	return 0;
}

static int cmp_name(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* Index of name among dir's kids, or -(insertion point) - 1. */
static long find_kid(const node *dir, const char *name, size_t namelen)
{
	size_t lo = 0, hi = dir->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_name(dir->kids[mid]->name, dir->kids[mid]->namelen, name, namelen);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static int insert_kid(node *dir, size_t at, node *kid)
{
	node **p = ug_array_grow(dir->kids, &dir->akids, dir->nkids + 1, sizeof(*p), 8);

	if (!p)
		return ug_error(UG_ENOMEM, "out of memory");
	dir->kids = p;
	memmove(dir->kids + at + 1, dir->kids + at, (dir->nkids - at) * sizeof(*dir->kids));
	dir->kids[at] = kid;
	dir->nkids++;
	return 0;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const ug_tree_entry *a = *(const ug_tree_entry *const *)pa;
	const ug_tree_entry *b = *(const ug_tree_entry *const *)pb;

	return cmp_name(a->name, a->namelen, b->name, b->namelen);
}

/* Read a folder's entries into kids (once). */
static int load(ug_treeedit *ed, node *dir)
{
	const ug_tree_entry **sorted = NULL;
	ug_tree *tree;
	int err;

	if (dir->loaded)
		return 0;
	if ((err = ug_tree_lookup(&tree, ed->repo, &dir->oid)))
		return err;
	sorted = malloc((tree->count ? tree->count : 1) * sizeof(*sorted));
	dir->kids = malloc((tree->count ? tree->count : 1) * sizeof(*dir->kids));
	if (!sorted || !dir->kids) {
		err = ug_error(UG_ENOMEM, "out of memory");
		goto out;
	}
	dir->akids = tree->count ? tree->count : 1;
	for (size_t i = 0; i < tree->count; i++)
		sorted[i] = &tree->entries[i];
	qsort(sorted, tree->count, sizeof(*sorted), cmp_entry);
	for (size_t i = 0; i < tree->count; i++) {
		node *k = node_new(sorted[i]->name, sorted[i]->namelen, sorted[i]->mode, &sorted[i]->oid);

		if (!k) {
			err = ug_error(UG_ENOMEM, "out of memory");
			goto out;
		}
		dir->kids[dir->nkids++] = k;
	}
	dir->loaded = true;
out:
	if (err) {
		for (size_t i = 0; i < dir->nkids; i++)
			node_free(dir->kids[i]);
		free(dir->kids);
		dir->kids = NULL;
		dir->nkids = dir->akids = 0;
	}
	free(sorted);
	ug_tree_free(tree);
	return err;
}

static bool mode_ok(uint32_t mode)
{
	return mode == UG_MODE_TREE || mode == UG_MODE_BLOB || mode == UG_MODE_EXEC ||
	       mode == UG_MODE_LINK || mode == UG_MODE_GITLINK;
}

/* Check path and count its names. */
static int check_path(ug_treeedit *ed, const char *path, size_t *count)
{
	bool ugit = ug_repo_format(ed->repo) == UG_FORMAT_UGIT;
	const char *s = path;

	*count = 0;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (!ug_tree_name_ok(s, len) || (ugit && memchr(s, '\n', len)))
			return ug_error(UG_EINVALID, "cannot edit the path '%s'", path);
		(*count)++;
		if (!e)
			return 0;
		s = e + 1;
	}
}

/*
 * Walk to the folder holding the last name of path, loading folders on the
 * way; *chain gets every folder from the root down (malloc'ed, *depth of
 * them). With create, missing folders are made and files in the way
 * replaced; without, a missing folder ends the walk, returning 1 (errors of
 * the repository, a missing tree object too, are negative).
 */
static int walk(ug_treeedit *ed, const char *path, size_t count, bool create, node ***chain,
		size_t *depth, const char **last)
{
	node *dir = ed->root;
	const char *s = path;
	int err = 0;

	*depth = 0;
	*chain = malloc(count * sizeof(**chain));
	if (!*chain)
		return ug_error(UG_ENOMEM, "out of memory");
	(*chain)[(*depth)++] = dir;
	for (size_t i = 0; i + 1 < count; i++) {
		const char *e = strchr(s, '/');
		size_t len = (size_t)(e - s);
		long at;

		if ((err = load(ed, dir)))
			return err;
		at = find_kid(dir, s, len);
		if (at >= 0 && dir->kids[at]->mode == UG_MODE_TREE) {
			dir = dir->kids[at];
		} else if (!create) {
			return 1;
		} else {
			node *k = node_new(s, len, UG_MODE_TREE, NULL);

			if (!k)
				return ug_error(UG_ENOMEM, "out of memory");
			k->loaded = true;
			k->dirty = true;
			if (at >= 0) {
				node_free(dir->kids[at]); /* a file where a folder must go */
				dir->kids[at] = k;
			} else if ((err = insert_kid(dir, (size_t)(-at - 1), k))) {
				node_free(k);
				return err;
			}
			dir->dirty = true;
			dir = k;
		}
		(*chain)[(*depth)++] = dir;
		s = e + 1;
	}
	*last = s;
	return load(ed, dir);
}

int ug_treeedit_set(ug_treeedit *ed, const char *path, uint32_t mode, const ug_oid *oid)
{
	node **chain = NULL, *dir, *k;
	const char *name;
	size_t count, depth;
	long at;
	int err;

	if (!mode_ok(mode))
		return ug_error(UG_EINVALID, "%s: bad mode %o", path, mode);
	if (!oid || ug_oid_iszero(oid))
		return ug_error(UG_EINVALID, "%s: no object id", path);
	if (mode == UG_MODE_GITLINK && ug_repo_format(ed->repo) == UG_FORMAT_UGIT)
		return ug_error(UG_EINVALID, "%s: a ugit tree cannot hold a submodule", path);
	if ((err = check_path(ed, path, &count)) ||
	    (err = walk(ed, path, count, true, &chain, &depth, &name)))
		goto out;
	dir = chain[depth - 1];
	k = node_new(name, strlen(name), mode, oid);
	if (!k) {
		err = ug_error(UG_ENOMEM, "out of memory");
		goto out;
	}
	at = find_kid(dir, name, strlen(name));
	if (at >= 0) {
		node_free(dir->kids[at]);
		dir->kids[at] = k;
	} else if ((err = insert_kid(dir, (size_t)(-at - 1), k))) {
		node_free(k);
		goto out;
	}
	for (size_t i = 0; i < depth; i++)
		chain[i]->dirty = true;
out:
	free(chain);
	return err;
}

int ug_treeedit_remove(ug_treeedit *ed, const char *path)
{
	node **chain = NULL, *dir;
	const char *name;
	size_t count, depth;
	long at;
	int err;

	if ((err = check_path(ed, path, &count)) ||
	    (err = walk(ed, path, count, false, &chain, &depth, &name)))
		goto out; /* 1: a folder on the way is missing, nothing to remove */
	dir = chain[depth - 1];
	at = find_kid(dir, name, strlen(name));
	if (at >= 0) {
		node_free(dir->kids[at]);
		memmove(dir->kids + at, dir->kids + at + 1, (dir->nkids - (size_t)at - 1) * sizeof(*dir->kids));
		dir->nkids--;
		for (size_t i = 0; i < depth; i++)
			chain[i]->dirty = true;
	}
out:
	free(chain);
	return err > 0 ? 0 : err;
}

/* Write one dirty folder whose dirty subfolders are done: drop those left
 * empty (git keeps no empty tree), then store the entries, unless nothing is
 * left of a folder that is not the root: it stays dirty and empty, for its
 * parent to drop. */
static int write_dir(ug_treeedit *ed, node *dir)
{
	ug_tree_entry *entries;
	size_t n = 0, kept = 0;
	int err;

	for (size_t i = 0; i < dir->nkids; i++) {
		node *k = dir->kids[i];

		if (k->mode == UG_MODE_TREE && k->dirty && k->nkids == 0) {
			node_free(k); /* left empty by the edits */
			continue;
		}
		dir->kids[kept++] = k;
	}
	dir->nkids = kept;
	if (!kept && dir != ed->root)
		return 0;
	entries = malloc((kept ? kept : 1) * sizeof(*entries));
	if (!entries)
		return ug_error(UG_ENOMEM, "out of memory");
	for (size_t i = 0; i < kept; i++) {
		node *k = dir->kids[i];

		entries[n].mode = k->mode;
		entries[n].oid = k->oid;
		entries[n].name = k->name;
		entries[n].namelen = k->namelen;
		n++;
	}
	err = ug_tree_create(ed->repo, &dir->oid, entries, n);
	free(entries);
	if (!err)
		dir->dirty = false;
	return err;
}

typedef struct {
	node *dir;
	size_t next; /* the next kid to look at */
} frame;

int ug_treeedit_write(ug_treeedit *ed, ug_oid *out)
{
	frame *stack = NULL;
	size_t depth = 0, alloc = 0;
	int err = 0;

	if (!ed->root->dirty) {
		*out = ed->root->oid;
		return 0;
	}
	if (!(stack = ug_array_grow(NULL, &alloc, 1, sizeof(*stack), 16)))
		return ug_error(UG_ENOMEM, "out of memory");
	stack[depth++] = (frame){ ed->root, 0 };
	while (depth && !err) {
		frame *f = &stack[depth - 1], *p;
		node *k = NULL;

		/* post-order: every dirty subfolder first */
		while (f->next < f->dir->nkids && !k) {
			node *c = f->dir->kids[f->next++];

			if (c->mode == UG_MODE_TREE && c->dirty)
				k = c;
		}
		if (!k) {
			err = write_dir(ed, f->dir);
			depth--;
			continue;
		}
		if (!(p = ug_array_grow(stack, &alloc, depth + 1, sizeof(*p), 16))) {
			err = ug_error(UG_ENOMEM, "out of memory");
			break;
		}
		stack = p;
		stack[depth++] = (frame){ k, 0 };
	}
	free(stack);
	if (!err)
		*out = ed->root->oid;
	return err;
}
