/* Fuzz target: git's commit-graph, a lone file or a chain of up to three, parsed from memory. */
#include "fuzz_util.h"

#include "commitgraph.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FILES 3

/* Every question a mount asks of a loaded graph, on ids and positions taken
 * from the input: answers must stay within the graph. */
static void ask(const ug_commitgraph *g, const uint8_t *data, size_t size, size_t hashsz)
{
	uint64_t count = ug_commitgraph_count(g);

	for (size_t off = 0; off + hashsz <= size && off < 64 * hashsz; off += hashsz) {
		ug_graph_commit c;
		ug_oid oid, *parents = NULL;
		size_t n = 0;

		memset(&oid, 0, sizeof(oid));
		memcpy(oid.id, data + off, hashsz);
		if (ug_commitgraph_lookup(g, &oid, &c))
			continue;
		FUZZ_CHECK(c.pos < count);
		if (ug_commitgraph_parents(g, c.pos, &parents, &n) == 0) {
			FUZZ_CHECK(n == c.nparents);
			free(parents);
		}
		ug_commitgraph_maybe_changed(g, c.pos, "a/b", 3);
		ug_commitgraph_maybe_changed(g, c.pos, "", 0);
	}
}

/* Input: one byte choosing the hash (even SHA-1, odd SHA-256), then the
 * files of the chain, base first, separated by FUZZ_SEP. Ids for the
 * questions are read from the files themselves. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_part parts[MAX_FILES];
	const unsigned char *files[MAX_FILES];
	size_t lens[MAX_FILES], n;
	ug_hash_algo algo;
	ug_commitgraph *g;
	int err;

	fuzz_init();
	if (size < 1)
		return 0;
	algo = data[0] & 1 ? UG_HASH_SHA256 : UG_HASH_SHA1;
	n = fuzz_split(data + 1, size - 1, parts, MAX_FILES);
	for (size_t i = 0; i < n; i++) {
		files[i] = parts[i].data;
		lens[i] = parts[i].len;
	}
	err = ug_commitgraph_parse(&g, algo, files, lens, n);
	if (err) {
		FUZZ_CHECK(err == UG_ECORRUPT || err == UG_ENOMEM);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		ask(g, parts[i].data, parts[i].len, ug_hash_rawsz(algo));
	ug_commitgraph_free(g);
	return 0;
}
