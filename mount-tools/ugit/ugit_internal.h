/* ugit: declarations shared by the modules of the ugit command (not a public API). */
#ifndef UGIT_INTERNAL_H
#define UGIT_INTERNAL_H

#include "commit.h"
#include "error.h"
#include "odb.h"
#include "oid.h"
#include "oidset.h"
#include "refs.h"
#include "repo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses: every error is one line on stderr. */
enum { UGIT_OK = 0, UGIT_FAIL = 1, UGIT_USAGE = 2 };

/* Options a command may accept (bits of ugit_cmd.opts). */
enum {
	OPT_MESSAGE = 1 << 0, /* -m, --message MSG */
	OPT_CACHED = 1 << 1,  /* --cached */
	OPT_FORCE = 1 << 2,   /* -f, --force */
	OPT_OUTPUT = 1 << 3,  /* -o, --output FILE */
};

typedef struct {
	char **pos; /* positional arguments, borrowed from argv */
	int npos;
	const char *message;
	const char *output;
	bool cached, force;
} ugit_args;

/* The repository of the current directory and what every command needs of it. */
typedef struct {
	ug_repo *repo; /* owned */
	ug_odb *odb;   /* borrowed from repo */
	ug_refdb *refs;
	ug_hash_algo algo;
	size_t hexsz;
	bool is_ugit;
	const char *gitdir; /* borrowed from repo */
	char *ident;        /* "Name <email>", made on first use (ugit_ident) */
	const char *cmd;    /* the command's name, for messages */
} ugit_ctx;

/* Print "ugit: MESSAGE" on stderr and return UGIT_FAIL. */
int ugit_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As ugit_fail, with the core's last error message appended after ": ". */
int ugit_fail_core(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error of the current command: prints its usage line, returns UGIT_USAGE. */
int ugit_usage(const ugit_ctx *c);
const char *ugit_ident(ugit_ctx *c);

/* malloc'ed printf; NULL only when out of memory. */
char *ugit_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Abort on allocation failure: a command line tool has nothing better to do. */
void *ugit_xmalloc(size_t n);
void *ugit_xrealloc(void *p, size_t n);
char *ugit_xstrdup(const char *s);

/* ---- ordered path -> id maps (ugit_pmap.c) ---- */

/*
 * Keeps insertion order like a Python dict: setting an existing path keeps its
 * place, a new path goes last, deleting and re-adding moves it last. The index
 * and every tree listing are such maps, so outputs come in the order the
 * Python tool prints them.
 */
typedef struct {
	char *path; /* owned */
	ug_oid oid;
	bool live;
} ugit_pentry;

typedef struct {
	ugit_pentry *v; /* in insertion order; dead entries have live == false */
	size_t n, cap, live;
	uint32_t *slots; /* open addressing: 0 empty, UINT32_MAX deleted, else index + 1 */
	size_t nslots, used;
} ugit_pmap;

void ugit_pmap_init(ugit_pmap *m);
void ugit_pmap_release(ugit_pmap *m);
/* Borrowed pointer into m, valid until m changes; NULL when absent. */
const ug_oid *ugit_pmap_get(const ugit_pmap *m, const char *path);
/* Returns true if the path was already present (its value is replaced in place). */
bool ugit_pmap_set(ugit_pmap *m, const char *path, const ug_oid *oid);
bool ugit_pmap_del(ugit_pmap *m, const char *path);
/* Union of paths in first-seen order over maps (a Python compare_trees). */
void ugit_pmap_union(ugit_pmap *out, const ugit_pmap *const *maps, size_t nmaps);
/* Two optional ids are equal: both absent or both the same object. */
bool ugit_oid_same(const ug_oid *a, const ug_oid *b);

/* The JSON index of a ugit repository (.ugit/index); absent means empty. */
int ugit_index_read(ugit_ctx *c, ugit_pmap *out);
/* Write it whole (index.lock, fsync, rename); Python's json.dump bytes. */
int ugit_index_write(ugit_ctx *c, const ugit_pmap *index);
/* The JSON text of a map (for tests of the encoder through the command). */
char *ugit_index_encode(const ugit_pmap *m, ug_hash_algo algo, size_t *len);
int ugit_index_decode(ugit_ctx *c, const char *buf, size_t len, ugit_pmap *out);

/* ---- trees and the working tree (ugit_tree.c) ---- */

/* The blobs of a tree by path, in the order the Python tool's get_tree walks
 * (stored order, depth first). tree may be NULL for the empty tree. */
int ugit_tree_flatten(ugit_ctx *c, const ug_oid *tree, ugit_pmap *out);
/* The tree of a commit, then flattened; commit may be NULL (unborn HEAD). */
int ugit_commit_flatten(ugit_ctx *c, const ug_oid *commit, ugit_pmap *out);
/* Write the trees of a flat map (write-tree) and return the root's id. */
int ugit_tree_write(ugit_ctx *c, const ugit_pmap *index, ug_oid *out);
/* Every file of the working tree (ignoring .ugit) with the id its content
 * would have, in os.walk order with names sorted: files, then folders. dir
 * is "" for the whole tree. With store, the blobs are written (add). */
int ugit_worktree_scan(ugit_ctx *c, const char *dir, bool store, ugit_pmap *out);
/* Is this a path ugit may store (no empty, ".", "..", ".ugit" component)? */
bool ugit_path_ok(const char *path);
bool ugit_path_ignored(const char *path);

/* Whole file into a malloc'ed buffer (NUL-terminated, length in *len). */
int ugit_file_read(const char *path, unsigned char **buf, size_t *len);
/* Replace the working file path with these bytes (temp file and rename, so a
 * symbolic link in its place is replaced, never followed). Parents are made. */
int ugit_work_write(const char *path, const void *data, size_t len);
/* Remove a working file and then its parents while they are empty. */
int ugit_work_remove(const char *path);
/* Write a file in the repository durably: PATH.lock, fsync, rename, fsync dir. */
int ugit_repo_file_write(const char *path, const void *data, size_t len);

/* The content of a blob; *buf malloc'ed. */
int ugit_blob_read(ugit_ctx *c, const ug_oid *oid, unsigned char **buf, size_t *len);

/* ---- revisions and history (ugit_hist.c) ---- */

/* ugit's REV lookup: @ = HEAD, then NAME, refs/NAME, refs/tags/NAME,
 * refs/heads/NAME (refs/remotes/NAME in git), then a full or abbreviated id. */
int ugit_rev(ugit_ctx *c, const char *name, ug_oid *out);
/* As ugit_rev, then peeled to a commit (error if it is none). */
int ugit_rev_commit(ugit_ctx *c, const char *name, ug_oid *out);
/* MERGE_HEAD of the repository: 0 and *out, or UG_ENOTFOUND. */
int ugit_merge_head(ugit_ctx *c, ug_oid *out);
/* HEAD's commit (UG_ENOTFOUND when unborn) and the name of the ref that a
 * commit moves (malloc'ed: "refs/heads/B", or "HEAD" when detached). */
int ugit_head(ugit_ctx *c, ug_oid *out, char **final);
/* Is anc reachable from tip (tip itself included)? */
int ugit_is_ancestor(ugit_ctx *c, const ug_oid *anc, const ug_oid *tip, bool *result);
/* The best common ancestor; UG_ENOTFOUND when the histories are unrelated. */
int ugit_merge_base(ugit_ctx *c, const ug_oid *a, const ug_oid *b, ug_oid *out);

/* ---- object id sets and the Python walk (ugit_hist.c) ---- */

/* Add oid to the set (core's ug_oidset; ug_oidset_contains asks): true if
 * newly added. The zero id names no object and is never added; out of memory
 * exits as ugit_xmalloc does. */
bool ugit_seen_add(ug_oidset *s, const ug_oid *oid);

/*
 * The Python tool's iter_commits_and_parents: a deque from which the next
 * commit is taken at the front; its first parent goes to the front and the
 * other parents to the back, so the whole first-parent chain comes before any
 * second parent. The caller reads each commit and hands back its parents.
 */
typedef struct {
	ug_oid *q;
	size_t head, len, cap; /* ring buffer */
	ug_oidset seen;
} ugit_walk;

void ugit_walk_init(ugit_walk *w);
void ugit_walk_release(ugit_walk *w);
void ugit_walk_push(ugit_walk *w, const ug_oid *oid);
bool ugit_walk_next(ugit_walk *w, ug_oid *out);
void ugit_walk_parents(ugit_walk *w, const ug_oid *parents, size_t n);

/* ---- external tools (ugit_ext.c) ---- */

/* GNU diff of two blobs (either may be NULL: empty) labelled a/PATH, b/PATH,
 * written to stdout. A side may also be given as bytes (working files). */
typedef struct {
	const ug_oid *oid;         /* NULL: absent (empty file) unless data set */
	const unsigned char *data; /* bytes instead of an object */
	size_t len;
} ugit_side;
int ugit_diff_blobs(ugit_ctx *c, const ugit_side *from, const ugit_side *to, const char *path);
/* diff_trees: a diff per path whose ids differ, in compare_trees order. When
 * to_worktree, the to side's content is read from the working file. */
int ugit_diff_maps(ugit_ctx *c, const ugit_pmap *from, const ugit_pmap *to, bool to_worktree,
		   bool from_worktree);
/* diff3 -m of three blobs (NULL: empty) labelled HEAD, BASE, MERGE_HEAD.
 * *out is malloc'ed; *conflict says whether markers were written. */
int ugit_merge_blobs(ugit_ctx *c, const ug_oid *base, const ug_oid *head, const ug_oid *other,
		     unsigned char **out, size_t *len, bool *conflict);
/* Render DOT text into path with Graphviz (format from its .png/.svg suffix). */
int ugit_render_dot(const char *dot, size_t len, const char *path);

/* Print a commit as log does: "commit OID[ (REFS)]", a blank line, the
 * message indented as Python's textwrap.indent does, a blank line. */
void ugit_print_commit(ugit_ctx *c, const ug_commit *cm, const char *refs);

/* ---- commands ---- */

int ugit_cmd_init(ugit_ctx *c, ugit_args *a);
int ugit_cmd_hash_object(ugit_ctx *c, ugit_args *a);
int ugit_cmd_cat_file(ugit_ctx *c, ugit_args *a);
int ugit_cmd_write_tree(ugit_ctx *c, ugit_args *a);
int ugit_cmd_read_tree(ugit_ctx *c, ugit_args *a);
int ugit_cmd_commit(ugit_ctx *c, ugit_args *a);
int ugit_cmd_log(ugit_ctx *c, ugit_args *a);
int ugit_cmd_show(ugit_ctx *c, ugit_args *a);
int ugit_cmd_diff(ugit_ctx *c, ugit_args *a);
int ugit_cmd_checkout(ugit_ctx *c, ugit_args *a);
int ugit_cmd_tag(ugit_ctx *c, ugit_args *a);
int ugit_cmd_branch(ugit_ctx *c, ugit_args *a);
int ugit_cmd_k(ugit_ctx *c, ugit_args *a);
int ugit_cmd_status(ugit_ctx *c, ugit_args *a);
int ugit_cmd_reset(ugit_ctx *c, ugit_args *a);
int ugit_cmd_merge(ugit_ctx *c, ugit_args *a);
int ugit_cmd_merge_base(ugit_ctx *c, ugit_args *a);
int ugit_cmd_fetch(ugit_ctx *c, ugit_args *a);
int ugit_cmd_push(ugit_ctx *c, ugit_args *a);
int ugit_cmd_add(ugit_ctx *c, ugit_args *a);

#endif
