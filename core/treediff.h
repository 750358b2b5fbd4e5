/* The changes between two trees, as `git diff-tree -r --no-renames` lists them. */
#ifndef UG_TREEDIFF_H
#define UG_TREEDIFF_H

#include "oid.h"

#include <stddef.h>
#include <stdint.h>

struct ug_repo;

typedef enum {
	UG_DELTA_ADDED = 'A',
	UG_DELTA_DELETED = 'D',
	UG_DELTA_MODIFIED = 'M',    /* same kind, other content or executable bit */
	UG_DELTA_TYPECHANGE = 'T',  /* file, symlink and submodule replace each other */
} ug_delta_status;

typedef struct {
	const char *path;       /* full, "/"-separated; borrowed from the diff */
	ug_delta_status status;
	uint32_t old_mode, new_mode; /* UG_MODE_*; 0 on the side where it is absent */
	ug_oid old_oid, new_oid;     /* zero on the side where it is absent */
} ug_delta;

typedef struct {
	ug_delta *deltas; /* sorted as git does: by path, a folder's as if it ended in "/" */
	size_t count;
} ug_treediff;

/*
 * Diff two trees. Either id may be NULL or zero: the empty tree, and then
 * every file of the other is listed. With both given, files, symlinks and
 * submodules that differ are listed, and a folder only one side has is one
 * delta of mode UG_MODE_TREE on that side (its content is not read: a few
 * hostile trees can name millions of paths); a file replaced by a folder is
 * a deletion of the file and an addition of the folder. Subtrees with equal
 * ids are not read; subtrees are walked with an explicit stack, at most
 * UG_TREEDIFF_MAX_DEPTH deep (deeper is UG_ECORRUPT naming the tree).
 * Comparing more entries than the budget (ug_treediff_set_budget) is
 * UG_ENOMEM with a message saying so, also logged (once). *out:
 * ug_treediff_free.
 */
#define UG_TREEDIFF_MAX_DEPTH 4096
int ug_treediff_trees(ug_treediff **out, struct ug_repo *repo, const ug_oid *old_tree,
		      const ug_oid *new_tree);

/* The most tree entries one diff compares (default UG_TREEDIFF_BUDGET); set
 * before threads start. The memory of a diff grows with what it compares. */
#define UG_TREEDIFF_BUDGET ((size_t)1 << 20)
void ug_treediff_set_budget(size_t entries);
void ug_treediff_free(ug_treediff *diff);

#endif
