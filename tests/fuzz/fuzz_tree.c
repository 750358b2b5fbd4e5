/* Fuzz target: tree parsing in git's binary format (SHA-1 and SHA-256) and ugit's text lines, the raw step through git trees, and two versions side by side. */
#include "fuzz_util.h"

#include "error.h"
#include "tree.h"

#include <string.h>

/* The raw step through git tree bytes stays inside them and always moves on. */
static void raw_steps(const uint8_t *data, size_t size, ug_hash_algo algo)
{
	size_t pos = 0, last;
	ug_tree_entry e;

	do {
		last = pos;
	} while (ug_tree_next_raw(data, size, &pos, algo, &e) == 0 && pos > last && pos <= size);
	FUZZ_CHECK(pos <= size);
}

/* What the side-by-side walk tells lies in the newer version, named up to its NUL. */
struct told {
	const uint8_t *newer;
	size_t len;
};

static int check_told(void *ctx, const ug_tree_entry *now, const ug_tree_entry *old)
{
	const struct told *t = ctx;

	FUZZ_CHECK((const uint8_t *)now->name >= t->newer && (const uint8_t *)now->name + now->namelen < t->newer + t->len);
	FUZZ_CHECK(now->name[now->namelen] == '\0');
	FUZZ_CHECK(!old || ug_tree_entry_cmp(now, old) == 0);
	return 0;
}

/* The input's two halves side by side, and one half with itself (nothing differs). */
static void side_by_side(const uint8_t *data, size_t size, ug_hash_algo algo)
{
	size_t half = size / 2;
	struct told t = { data, half };
	int err = ug_tree_raw_changes(data, half, data + half, size - half, algo, check_told, &t);

	FUZZ_CHECK(err == 0 || err == UG_ECORRUPT);
	err = ug_tree_raw_changes(data, half, data, half, algo, check_told, &t);
	FUZZ_CHECK(err == 0 || err == UG_ECORRUPT);
}

/*
 * Input: one byte choosing the format (0 git SHA-1, 1 git SHA-256, 2 ugit,
 * modulo 3), then the tree's content. Every entry returned must pass the
 * name checks, and must be found again by its name.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ug_tree *tree;
	ug_oid oid;
	int err;

	fuzz_init();
	if (size < 1)
		return 0;
	memset(&oid, 0x5a, sizeof(oid));
	if (data[0] % 3 != 2) {
		raw_steps(data + 1, size - 1, data[0] % 3 ? UG_HASH_SHA256 : UG_HASH_SHA1);
		side_by_side(data + 1, size - 1, data[0] % 3 ? UG_HASH_SHA256 : UG_HASH_SHA1);
	}
	err = ug_tree_parse(&tree, fuzz_format_repo(data[0]), &oid, data + 1, size - 1);
	if (err) {
		FUZZ_CHECK(err == UG_ECORRUPT || err == UG_ENOMEM);
		return 0;
	}
	for (size_t i = 0; i < tree->count; i++) {
		const ug_tree_entry *e = &tree->entries[i];
		const ug_tree_entry *f;

		FUZZ_CHECK(ug_tree_name_ok(e->name, e->namelen));
		FUZZ_CHECK(strlen(e->name) == e->namelen);
		FUZZ_CHECK(ug_mode_type(e->mode) != UG_OBJ_BAD);
		f = ug_tree_find(tree, e->name, e->namelen);
		FUZZ_CHECK(f && f->namelen == e->namelen && !memcmp(f->name, e->name, e->namelen));
	}
	ug_tree_find(tree, "a", 1);
	ug_tree_free(tree);
	return 0;
}
