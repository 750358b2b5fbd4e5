/* Fuzz target: refs of both layouts: git's packed-refs and loose refs (direct and symbolic), and ugit's refs. */
#include "fuzz_util.h"

#include "error.h"
#include "refs.h"
#include "refs_backend.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where parts 1.. of the input go, in both layouts. */
static const char *const loose_names[] = {
	"HEAD", "refs/heads/main", "refs/tags/v1", "refs/heads/feature/x", "refs/remotes/origin/HEAD",
};
#define NLOOSE (sizeof(loose_names) / sizeof(loose_names[0]))

static void check_list(const ug_ref_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		FUZZ_CHECK(l->refs[i].name && !strncmp(l->refs[i].name, "refs/", 5));
		FUZZ_CHECK(i == 0 || strcmp(l->refs[i - 1].name, l->refs[i].name) < 0);
		FUZZ_CHECK(ug_refs_find(l->refs, l->count, l->refs[i].name) == &l->refs[i]);
	}
}

/* Every question a mount asks of a refdb. */
static void ask(ug_refdb *db)
{
	ug_ref_list list = { 0 };
	ug_ref ref;
	ug_oid oid;
	char *final = NULL;

	if (!ug_refs_list(db, "", &list)) {
		check_list(&list);
		for (size_t i = 0; i < list.count && i < 64; i++) {
			if (!ug_refs_read(db, list.refs[i].name, &ref))
				ug_ref_release(&ref);
			ug_refs_resolve(db, list.refs[i].name, &oid, NULL);
		}
		ug_ref_list_release(&list);
	}
	if (!ug_refs_list(db, "refs/heads/", &list)) {
		check_list(&list);
		ug_ref_list_release(&list);
	}
	for (size_t i = 0; i < NLOOSE; i++) {
		if (!ug_refs_read(db, loose_names[i], &ref))
			ug_ref_release(&ref);
	}
	ug_refs_resolve(db, "HEAD", &oid, &final);
	free(final);
}

/* The loose-ref parser alone, on the bytes as given. */
static void parse_loose(const fuzz_part *p, ug_hash_algo algo)
{
	ug_ref ref;

	if (!ug_refs__parse_loose("fuzz", "refs/heads/fuzz", (const char *)p->data, p->len, algo, &ref))
		ug_ref_release(&ref);
}

/*
 * Input: parts separated by FUZZ_SEP: a flags byte followed by packed-refs
 * (flags bit 0: SHA-256), then the loose refs HEAD, refs/heads/main, ... as
 * listed above (a missing part: no such file). Each loose part is also
 * written to the ugit repository's same name (values without newline there).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_part parts[1 + NLOOSE];
	char gitdir[PATH_MAX], ugitdir[PATH_MAX], rel[PATH_MAX];
	size_t n;
	ug_hash_algo algo;
	ug_refdb *db;

	fuzz_init();
	if (size < 1)
		return 0;
	algo = data[0] & 1 ? UG_HASH_SHA256 : UG_HASH_SHA1;
	n = fuzz_split(data + 1, size - 1, parts, 1 + NLOOSE);
	snprintf(gitdir, sizeof(gitdir), "%s/refs.git", fuzz_init());
	snprintf(ugitdir, sizeof(ugitdir), "%s/refs.ugit", fuzz_init());
	fuzz_put("refs.git/packed-refs", parts[0].data, parts[0].len);
	for (size_t i = 0; i < NLOOSE; i++) {
		size_t len = i + 1 < n ? parts[i + 1].len : SIZE_MAX;
		const void *bytes = i + 1 < n ? parts[i + 1].data : NULL;

		snprintf(rel, sizeof(rel), "refs.git/%s", loose_names[i]);
		fuzz_put(rel, bytes, len);
		snprintf(rel, sizeof(rel), "refs.ugit/%s", loose_names[i]);
		fuzz_put(rel, bytes, len);
		if (i + 1 < n)
			parse_loose(&parts[i + 1], algo);
	}
	/* New refdbs each time: the packed-refs snapshot must not come from the last input. */
	if (!ug_refdb_open_git(&db, gitdir, NULL, algo)) {
		ask(db);
		ug_refdb_free(db);
	}
	if (!ug_refdb_open_ugit(&db, ugitdir)) {
		ask(db);
		ug_refdb_free(db);
	}
	return 0;
}
