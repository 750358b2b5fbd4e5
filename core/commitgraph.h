/* git's commit-graph (a file or a chain): parents, root trees, times, generations and changed-path filters without inflating commits. */
#ifndef UG_COMMITGRAPH_H
#define UG_COMMITGRAPH_H

#include "oid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ug_repo;

/*
 * A loaded commit-graph: immutable after loading, so any number of threads
 * may read one at once. A graph is an accelerator, never a source of truth:
 * commits it lacks are read from objects, and a file that fails validation
 * (signature, version, hash, checksum, chunk bounds, fan-out order, sorted
 * ids, base chain) is not used at all.
 */
typedef struct ug_commitgraph ug_commitgraph;

/* What the graph knows of one commit. */
typedef struct {
	uint32_t pos;           /* position in the graph: for parents and filters */
	ug_oid tree;
	int64_t time;           /* committer time */
	uint32_t generation;    /* topological level (1 for a root), 0 if not computed */
	size_t nparents;
	ug_oid parent;          /* the first parent, when nparents > 0 */
} ug_graph_commit;

/*
 * Load the repository's graph: objects/info/commit-graphs/commit-graph-chain
 * if present, else objects/info/commit-graph. *out is NULL when there is
 * none, the repository is shallow or grafted (as git, which then ignores the
 * graph), or the graph is invalid (one log line names the file and the
 * cause). Returns 0 in all those cases; only UG_ENOMEM otherwise.
 * *out: ug_commitgraph_free.
 */
int ug_commitgraph_open(ug_commitgraph **out, struct ug_repo *repo);

/*
 * Parse a graph from memory: files[0] is the base of the chain (a lone file is
 * a chain of one). The buffers must outlive *out (they are not copied).
 * UG_ECORRUPT with the cause in the error message. Entry point for fuzzing.
 */
int ug_commitgraph_parse(ug_commitgraph **out, ug_hash_algo algo, const unsigned char *const *files,
			 const size_t *lens, size_t nfiles);
void ug_commitgraph_free(ug_commitgraph *g);

/* How many commits the graph holds. */
uint64_t ug_commitgraph_count(const ug_commitgraph *g);

/* Look a commit up: 0, UG_ENOTFOUND, or UG_ECORRUPT (a bad parent position). */
int ug_commitgraph_lookup(const ug_commitgraph *g, const ug_oid *oid, ug_graph_commit *out);

/* Every parent of the commit at pos, in order. *parents: malloc'ed. */
int ug_commitgraph_parents(const ug_commitgraph *g, uint32_t pos, ug_oid **parents, size_t *count);

/* Can the path (no leading or trailing "/") have changed between the commit
 * at pos and its first parent? false only when the commit's changed-path
 * filter rules it out; true when it may have, or when there is no filter. */
bool ug_commitgraph_maybe_changed(const ug_commitgraph *g, uint32_t pos, const char *path, size_t len);

/* Whether the graph carries changed-path filters (for every layer). */
bool ug_commitgraph_has_filters(const ug_commitgraph *g);

/* git's changed-path filter hash: murmur3 (32-bit) as git's filter version 1
 * (bytes read as signed char, as git did) or 2 (unsigned). */
uint32_t ug_murmur3(uint32_t seed, const unsigned char *data, size_t len, int version);

#endif
