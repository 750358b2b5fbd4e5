/* History walks: the first-parent chain of a tip, and every commit reachable from a set of tips. */
#ifndef UG_WALK_H
#define UG_WALK_H

#include "commit.h"
#include "commitgraph.h"
#include "oid.h"

#include <stddef.h>

struct ug_repo;

/* Each commit of the first-parent chain from tip back to its root, tip first,
 * read once: visit gets it (borrowed, for the call) and ends the walk by
 * returning non-zero, which is then returned. A chain that revisits a commit
 * (impossible in git, possible in hostile bytes) is UG_ECORRUPT. */
typedef int (*ug_walk_visit)(void *arg, const ug_commit *c);
int ug_walk_first_parent_each(struct ug_repo *repo, const ug_oid *tip, ug_walk_visit visit, void *arg);

/* The same chain as ids: (*chain)[0] is tip. *chain is malloc'ed. */
int ug_walk_first_parent(struct ug_repo *repo, const ug_oid *tip, ug_oid **chain, size_t *count);

/*
 * An incremental walk over every commit reachable from the pushed tips, each
 * returned once, newest-pushed tips first, breadth-first. Memory grows with
 * the number of commits seen (an id each). Not thread-safe: one walker, one thread.
 */
typedef struct ug_walk ug_walk;
int ug_walk_new(ug_walk **out, struct ug_repo *repo);
void ug_walk_free(ug_walk *w);
/* Push a tip; tags are peeled, non-commits are ignored. */
int ug_walk_push(ug_walk *w, const ug_oid *oid);
/* Read parents from a commit-graph (borrowed; it must outlive the walk)
 * for the commits it holds, instead of parsing them. */
void ug_walk_use_graph(ug_walk *w, const ug_commitgraph *graph);
/* Next commit: 0 and *out set, UG_ENOTFOUND at the end. A commit that cannot
 * be read is logged and skipped (its parents are not walked). */
int ug_walk_next(ug_walk *w, ug_oid *out);

#endif
