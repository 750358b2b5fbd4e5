/* Unit tests of tree diffs: every diff compared with `git diff-tree -r -t --no-renames` on trees git built. */
#include "error.h"
#include "odb.h"
#include "repo.h"
#include "tap.h"
#include "tree.h"
#include "treediff.h"

#include "gitutil.h"
#include "treemodel.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NBLOBS 40

static char blobs[NBLOBS][65];
static uint64_t rng = 0x2545f4914f6cdd1dull;

static unsigned rnd(unsigned n)
{
	return xorshift_below(&rng, n);
}

/* Our diff in git's raw -z form: ":OLDMODE NEWMODE OLD NEW S\0PATH\0"... */
static char *raw(ug_treediff *d, ug_hash_algo algo, size_t *len)
{
	size_t alloc = 64, n = 0;
	char *out = malloc(alloc);

	for (size_t i = 0; i < d->count; i++) {
		const ug_delta *x = &d->deltas[i];
		char oh[UG_OID_MAXHEX + 1], nh[UG_OID_MAXHEX + 1];
		size_t need = strlen(x->path) + 2 * UG_OID_MAXHEX + 40;

		if (n + need > alloc) {
			while (n + need > alloc)
				alloc *= 2;
			out = realloc(out, alloc);
		}
		n += (size_t)sprintf(out + n, ":%06o %06o %s %s %c", x->old_mode, x->new_mode,
				     ug_oid_tohex(oh, &x->old_oid, algo), ug_oid_tohex(nh, &x->new_oid, algo),
				     (char)x->status) + 1;
		n += (size_t)sprintf(out + n, "%s", x->path) + 1;
	}
	*len = n;
	return out;
}

/* Show the first difference of two NUL-separated listings. */
static void show_diff(const char *a, size_t al, const char *b, size_t bl)
{
	size_t i = 0, j = 0;

	while (i < al && j < bl) {
		if (strcmp(a + i, b + j)) {
			tap_diag("git: '%s'  ugitfs: '%s'", a + i, b + j);
			return;
		}
		i += strlen(a + i) + 1;
		j += strlen(b + j) + 1;
	}
	tap_diag("git has %zu more bytes, ugitfs %zu", al - i, bl - j);
}

/* Our diff of a and b ("" for the empty tree, given as NULL or as the zero id). */
static char *ours(ug_repo *repo, const char *a, const char *b, size_t *len)
{
	ug_hash_algo algo = ug_repo_algo(repo);
	ug_oid oa = { { 0 } }, ob = { { 0 } };
	ug_treediff *d = NULL;
	char *out;

	if ((*a && ug_oid_fromhex(&oa, a, strlen(a), algo)) || (*b && ug_oid_fromhex(&ob, b, strlen(b), algo)))
		return NULL;
	if (ug_treediff_trees(&d, repo, *a ? &oa : NULL, &ob)) {
		tap_diag("treediff: %s", ug_error_last());
		return NULL;
	}
	out = raw(d, algo, len);
	ug_treediff_free(d);
	return out;
}

/*
 * What ug_treediff_trees must give, from git's `diff-tree -r -t` records (a
 * folder's own record before what it holds): with both trees given, a folder
 * only one side has stays one record and what it holds goes; records of
 * folders both sides have go. With one tree empty every file is listed and no
 * folder. Returns a new buffer of *outlen bytes.
 */
static char *collapse(const char *git, size_t len, bool both, size_t *outlen)
{
	char *out = malloc(len + 1), skip[4096] = "";
	size_t n = 0, skiplen = 0;

	for (size_t i = 0; i < len;) {
		const char *rec = git + i, *path = rec + strlen(rec) + 1;
		size_t reclen = strlen(rec) + 1 + strlen(path) + 1;
		bool old_tree = !strncmp(rec, ":040000", 7), new_tree = !strncmp(rec + 8, "040000", 6);
		bool one_sided = (old_tree && !strncmp(rec + 8, "000000", 6)) ||
				 (new_tree && !strncmp(rec, ":000000", 7));

		i += reclen;
		if (skiplen && !strncmp(path, skip, skiplen))
			continue; /* inside a one-sided folder */
		skiplen = 0;
		if ((old_tree || new_tree) && (!both || !one_sided))
			continue;
		if (one_sided && (old_tree || new_tree)) {
			skiplen = (size_t)snprintf(skip, sizeof(skip), "%s/", path);
		}
		memcpy(out + n, rec, reclen);
		n += reclen;
	}
	*outlen = n;
	return out;
}

/*
 * Every ordered pair of trees, diffed by one `git diff-tree --stdin`: it prints
 * "A B\n" before each non-empty diff, then ":..."-records of two NUL-ended
 * fields each.
 */
static void run_pairs(ug_repo *repo, const char *path, const char *tmp, char **trees, size_t nt,
		      const char *empty_hex, const char *what)
{
	size_t bad = 0, total = nt * nt, glen, pos = 0, pair = 0;
	char *list, *git, (*want)[2 * UG_OID_MAXHEX + 2] = calloc(total, sizeof(*want));
	FILE *f;

	if (asprintf(&list, "%s/pairs", tmp) < 0 || !(f = fopen(list, "w")))
		return;
	for (size_t i = 0; i < nt; i++)
		for (size_t j = 0; j < nt; j++) {
			snprintf(want[i * nt + j], sizeof(want[0]), "%s %s", *trees[i] ? trees[i] : empty_hex,
				 *trees[j] ? trees[j] : empty_hex);
			fprintf(f, "%s\n", want[i * nt + j]);
		}
	fclose(f);
	git = sh_out(&glen, "cd '%s' && git diff-tree --stdin -r -t --no-renames -z < '%s'", path, list);
	free(list);
	ok(git != NULL, "%s: git diff-tree --stdin runs", what);
	while (git && pair < total) {
		size_t start, end, olen = 0;
		char *o;

		/* this pair's part of git's output: empty unless its header is next */
		start = end = pos;
		if (pos < glen && git[pos] != ':' && !strncmp(git + pos, want[pair], strlen(want[pair])) &&
		    git[pos + strlen(want[pair])] == '\n') {
			start = end = pos + strlen(want[pair]) + 1;
			while (end < glen && git[end] == ':') {
				end += strlen(git + end) + 1;
				end += strlen(git + end) + 1;
			}
			pos = end;
		}
		o = ours(repo, trees[pair / nt], trees[pair % nt], &olen);
		size_t wlen;
		char *w = collapse(git + start, end - start, *trees[pair / nt] && *trees[pair % nt], &wlen);

		if (!o || olen != wlen || memcmp(o, w, olen)) {
			tap_diag("%s: diff %zu -> %zu differs", what, pair / nt, pair % nt);
			if (o)
				show_diff(w, wlen, o, olen);
			bad++;
		}
		free(w);
		free(o);
		pair++;
	}
	ok(git && pos == glen, "%s: all of git's output was used", what);
	ok(bad == 0, "%s: %zu of %zu diffs agree with git diff-tree", what, total - bad, total);
	free(git);
	free(want);
}

static const char *const names[] = { "a", "b", "a.b", "a-b", "a0", "ab", "c" };

static void random_path(char *out, size_t outsz)
{
	unsigned depth = 1 + rnd(3);
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < depth; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%s%s", i ? "/" : "",
				      names[rnd(sizeof(names) / sizeof(names[0]))]);
}

static unsigned random_mode(void)
{
	static const unsigned modes[] = { 0100644, 0100644, 0100644, 0100755, 0120000, 0160000 };

	return modes[rnd(sizeof(modes) / sizeof(modes[0]))];
}

/* Two hand-made trees covering every kind of change. */
static void handmade(model *m1, model *m2)
{
	char deep[256];

	deep_path(deep, sizeof(deep), 20);
	model_every_kind(m1, blobs);
	model_set(m1, "d/e/g", 0100644, blobs[6]);
	model_set(m1, "f", 0100644, blobs[7]);
	model_set(m1, "a-b", 0100644, blobs[8]);
	model_set(m1, "a0", 0100644, blobs[9]);
	model_set(m1, "same/x", 0100644, blobs[10]);
	model_set(m1, "tolink", 0100644, blobs[11]);
	model_set(m1, deep, 0100644, blobs[12]);

	model_copy(m2, m1);
	model_set(m2, "a.txt", 0100644, blobs[13]);       /* content */
	model_set(m2, "exe", 0100644, blobs[1]);          /* executable bit only */
	model_set(m2, "link", 0100644, blobs[2]);         /* symlink to file */
	model_set(m2, "sub", 0160000, blobs[14]);         /* submodule moves */
	model_remove(m2, "d/x");                          /* deletion */
	model_set(m2, "d/e", 0100644, blobs[15]);         /* folder replaced by a file */
	model_set(m2, "f/inside", 0100644, blobs[16]);    /* file replaced by a folder */
	model_set(m2, "new/deeper/file", 0100755, blobs[17]); /* addition with folders */
	model_set(m2, "tolink", 0120000, blobs[11]);      /* file to symlink, same blob */
	model_set(m2, deep, 0100644, blobs[18]);          /* deep change */
}

/* One object format's repository and the trees git built in it, shared by the cases in order. */
static struct fixture {
	const char *name;
	char *path, *empty_hex, **trees;
	const char *tmp;
	size_t nt;
	ug_repo *repo;
} fx;
static const char *tmp_path;

static void fixture_free(void)
{
	for (size_t i = 0; i < fx.nt; i++)
		free(fx.trees[i]);
	free(fx.trees);
	ug_repo_free(fx.repo);
	free(fx.empty_hex);
	free(fx.path);
	memset(&fx, 0, sizeof(fx));
}

/* The fixture of the first case, for format name; false (the case failed) when there is none. */
static bool have_fixture(const char *name)
{
	return ok(fx.repo && fx.trees && !strcmp(fx.name, name), "%s: the repository and trees of the first case",
		  name);
}

/* Only subtrees whose ids differ are read. */
static void pruning(void)
{
	ug_repo *repo = fx.repo;
	const char *path = fx.path, *tmp = fx.tmp;
	model m1 = { 0 }, m2;
	char p[64], *t1, *t2;
	ug_odb_stats before, after;
	ug_treediff *d = NULL;
	ug_oid a, b;

	if (!have_fixture("sha1"))
		return;
	for (int i = 0; i < 50; i++)
		for (int k = 0; k < 4; k++) {
			snprintf(p, sizeof(p), "dir%02d/sub/f%d", i, k);
			model_set(&m1, p, 0100644, blobs[(i + k) % NBLOBS]);
		}
	model_copy(&m2, &m1);
	model_set(&m2, "dir17/sub/f2", 0100644, blobs[39]);
	t1 = model_tree(&m1, path, tmp);
	t2 = model_tree(&m2, path, tmp);
	if (!ok(t1 && t2, "two trees of 200 files in 50 folders"))
		goto out;
	ug_oid_fromhex(&a, t1, strlen(t1), ug_repo_algo(repo));
	ug_oid_fromhex(&b, t2, strlen(t2), ug_repo_algo(repo));
	ug_odb_get_stats(ug_repo_odb(repo), &before);
	ok(ug_treediff_trees(&d, repo, &a, &b) == 0 && d->count == 1 && !strcmp(d->deltas[0].path, "dir17/sub/f2"),
	   "one change found");
	ug_odb_get_stats(ug_repo_odb(repo), &after);
	ok(after.hits + after.misses - before.hits - before.misses <= 6,
	   "only the 3 changed levels of each side were read (%llu reads)",
	   (unsigned long long)(after.hits + after.misses - before.hits - before.misses));
	ug_treediff_free(d);
out:
	model_free(&m1);
	model_free(&m2);
	free(t1);
	free(t2);
}

/* Append one whole (undeltified) object to a pack being built in *buf. */
static int pack_put(unsigned char **buf, size_t *len, size_t *alloc, ug_otype type, const void *data,
		    size_t size)
{
	uLongf zlen = compressBound((uLong)size);
	size_t need = *len + 16 + zlen, n = size;
	unsigned char *p;

	if (need > *alloc) {
		while (need > *alloc)
			*alloc *= 2;
		if (!(p = realloc(*buf, *alloc)))
			return -1;
		*buf = p;
	}
	p = *buf + *len;
	/* type and size: 4 bits of size, then 7 bits a byte */
	*p = (unsigned char)((type << 4) | (n & 0x0f));
	n >>= 4;
	while (n) {
		*p++ |= 0x80;
		*p = (unsigned char)(n & 0x7f);
		n >>= 7;
	}
	p++;
	if (compress2(p, &zlen, data, (uLong)size, 1) != Z_OK)
		return -1;
	*len = (size_t)(p - *buf) + zlen;
	return 0;
}

/*
 * A chain of folders deeper than the limit is refused, not recursed. The
 * chain goes into one pack that git index-pack checks and stores (thousands
 * of loose objects are slow to make and remove).
 */
static void depth_limit(void)
{
	ug_repo *repo = fx.repo;
	const char *path = fx.path, *tmp = fx.tmp;
	size_t len = 12, alloc = 1 << 16, count = UG_TREEDIFF_MAX_DEPTH + 3;
	unsigned char *pack = malloc(alloc), entry[64];
	ug_treediff *d = NULL;
	ug_oid cur, top, below;
	char *file;
	FILE *f;
	int err = 0;

	if (!have_fixture("sha1")) {
		free(pack);
		return;
	}
	/* a blob, the tree holding it as "leaf", then MAX_DEPTH + 1 trees "d" */
	memcpy(pack, "PACK\0\0\0\2", 8);
	for (int i = 0; i < 4; i++)
		pack[8 + i] = (unsigned char)(count >> (24 - 8 * i));
	err |= pack_put(&pack, &len, &alloc, UG_OBJ_BLOB, "x\n", 2);
	ug_hash_object(&cur, UG_HASH_SHA1, UG_OBJ_BLOB, "x\n", 2);
	memcpy(entry, "100644 leaf", 12);
	memcpy(entry + 12, cur.id, 20);
	err |= pack_put(&pack, &len, &alloc, UG_OBJ_TREE, entry, 32);
	ug_hash_object(&cur, UG_HASH_SHA1, UG_OBJ_TREE, entry, 32);
	for (int level = 1; level <= UG_TREEDIFF_MAX_DEPTH + 1; level++) {
		memcpy(entry, "40000 d", 8);
		memcpy(entry + 8, cur.id, 20);
		err |= pack_put(&pack, &len, &alloc, UG_OBJ_TREE, entry, 28);
		ug_hash_object(&cur, UG_HASH_SHA1, UG_OBJ_TREE, entry, 28);
		if (level == UG_TREEDIFF_MAX_DEPTH)
			below = cur; /* MAX_DEPTH folders above the leaf's tree */
	}
	top = cur;
	/* the trailer: the pack's own SHA-1 */
	if (len + 20 > alloc && !(pack = realloc(pack, alloc = len + 20))) {
		ok(0, "memory for the pack");
		return;
	}
	ug_hash_buf(&cur, UG_HASH_SHA1, pack, len);
	memcpy(pack + len, cur.id, 20);
	len += 20;
	if (asprintf(&file, "%s/deep.pack", tmp) < 0 || !(f = fopen(file, "wb"))) {
		ok(0, "%s/deep.pack written", tmp);
		free(pack);
		return;
	}
	err |= fwrite(pack, 1, len, f) != len;
	err |= fclose(f);
	free(pack);
	err = err || sh("cd '%s' && git index-pack --stdin < '%s' >/dev/null", path, file) != 0;
	free(file);
	require(!err, "a chain of %d folders, packed and accepted by git index-pack", UG_TREEDIFF_MAX_DEPTH + 1);
	ug_odb_refresh(ug_repo_odb(repo));
	err = ug_treediff_trees(&d, repo, NULL, &below);
	ok(!err && d && d->count == 1 && strlen(d->deltas[0].path) == 2 * UG_TREEDIFF_MAX_DEPTH + 4,
	   "%d folders deep: diffed", UG_TREEDIFF_MAX_DEPTH);
	ug_treediff_free(d);
	d = NULL;
	is_int(ug_treediff_trees(&d, repo, &top, NULL), UG_ECORRUPT, "one more: refused as corrupt");
	ok(d == NULL, "no result on failure");
	ok(!strncmp(ug_error_last(), "tree ", 5), "the message names the tree: %s", ug_error_last());
}

/* a tree id that names a blob */
static void blob_as_tree(void)
{
	ug_treediff *d = NULL;
	ug_oid top;

	if (!have_fixture("sha1"))
		return;
	ug_oid_fromhex(&top, blobs[0], strlen(blobs[0]), ug_repo_algo(fx.repo));
	is_int(ug_treediff_trees(&d, fx.repo, NULL, &top), UG_ECORRUPT, "a blob given as a tree: corrupt");
}

/* A tree bomb: level 0 holds two files, each level above names the one below
 * twice ("a" and "b"), so levels trees hold 2^(levels+1) paths. */
static int bomb(ug_repo *repo, const char *leaf, int levels, ug_oid *out)
{
	ug_tree_entry e[2] = { { UG_MODE_BLOB, { { 0 } }, "a", 1 }, { UG_MODE_BLOB, { { 0 } }, "b", 1 } };
	int err;

	if ((err = ug_odb_write(ug_repo_odb(repo), &e[0].oid, UG_OBJ_BLOB, leaf, strlen(leaf))))
		return err;
	e[1].oid = e[0].oid;
	for (int level = 0; level < levels; level++) {
		if ((err = ug_tree_create(repo, out, e, 2)))
			return err;
		e[0].mode = e[1].mode = UG_MODE_TREE;
		e[0].oid = e[1].oid = *out;
	}
	return 0;
}

/* Two bombs differing at the leaf, and top trees without (old) and with (new) the first. */
static struct bombs {
	ug_oid small, big, other, top_old, top_new;
} bombs;

static bool make_bombs(ug_repo *repo)
{
	ug_tree_entry e[2] = { { UG_MODE_BLOB, { { 0 } }, "README", 6 }, { UG_MODE_TREE, { { 0 } }, "bomb", 4 } };

	if (!ok(bomb(repo, "x\n", 1, &bombs.small) == 0 && bomb(repo, "x\n", 40, &bombs.big) == 0 &&
			bomb(repo, "y\n", 40, &bombs.other) == 0,
		"bombs of 40 levels (2^41 paths each) written"))
		return false;
	ug_odb_write(ug_repo_odb(repo), &e[0].oid, UG_OBJ_BLOB, "hi\n", 3);
	e[1].oid = bombs.small;
	ug_tree_create(repo, &bombs.top_old, e, 1);
	e[1].oid = bombs.big;
	ug_tree_create(repo, &bombs.top_new, e, 2);
	return true;
}

/* A folder only one side has is one delta, not read. */
static void bomb_as_folder(void)
{
	ug_repo *repo = fx.repo;
	ug_odb_stats before, after;
	ug_treediff *d = NULL;

	if (!have_fixture("sha1") || !make_bombs(repo))
		return;
	ug_odb_get_stats(ug_repo_odb(repo), &before);
	is_int(ug_treediff_trees(&d, repo, &bombs.top_old, &bombs.top_new), 0, "a bomb arriving as a new folder: diffed");
	ug_odb_get_stats(ug_repo_odb(repo), &after);
	ok(d && d->count == 1 && !strcmp(d->deltas[0].path, "bomb") && d->deltas[0].new_mode == UG_MODE_TREE &&
		   d->deltas[0].status == UG_DELTA_ADDED && ug_oid_equal(&d->deltas[0].new_oid, &bombs.big),
	   "one delta: the folder, added");
	ok(after.hits + after.misses - before.hits - before.misses <= 2, "only the two roots were read");
	ug_treediff_free(d);
	d = NULL;
	is_int(ug_treediff_trees(&d, repo, &bombs.top_new, &bombs.top_old), 0, "and leaving: diffed");
	ok(d && d->count == 1 && d->deltas[0].status == UG_DELTA_DELETED && d->deltas[0].old_mode == UG_MODE_TREE,
	   "one delta: the folder, deleted");
	ug_treediff_free(d);
}

/* Expanding past the budget is refused with a message, whatever the trees name:
 * both sides have the bomb, different at the leaf, so every path differs. */
static void past_the_budget(void)
{
	ug_repo *repo = fx.repo;
	ug_treediff *d = NULL;

	if (!have_fixture("sha1") || !make_bombs(repo))
		return;
	ug_treediff_set_budget(5000);
	is_int(ug_treediff_trees(&d, repo, &bombs.big, &bombs.other), UG_ENOMEM, "two bombs differing at the leaf: refused");
	ok(d == NULL && strstr(ug_error_last(), "budget of 5000"), "with a message: %s", ug_error_last());
	is_int(ug_treediff_trees(&d, repo, NULL, &bombs.big), UG_ENOMEM, "listing a bomb: refused too");
	is_int(ug_treediff_trees(&d, repo, &bombs.top_old, &bombs.top_new), 0, "a small diff is still fine");
	ug_treediff_free(d);
	ug_treediff_set_budget(UG_TREEDIFF_BUDGET);
}

/* A repository made by git with init_flags, its blobs, and trees: empty, handmade, then nrandom states. */
static void fixture_new(const char *name, const char *init_flags, int nrandom)
{
	model m1 = { 0 }, m2 = { 0 }, r = { 0 };
	size_t len;
	char *path;

	fixture_free();
	if (asprintf(&path, "%s/%s", tmp_path, name) < 0)
		return;
	fx.name = name;
	fx.path = path;
	fx.tmp = tmp_path;
	require(sh("git init -q %s '%s'", init_flags, path) == 0, "%s: git init %s", name, init_flags);
	fx.empty_hex = sh_out(&len, "cd '%s' && git hash-object -t tree -w /dev/null", path);
	require(fx.empty_hex && !make_blobs(path, tmp_path, name, NBLOBS, blobs), "%s: blobs written", name);
	fx.empty_hex[strcspn(fx.empty_hex, "\n")] = '\0';
	require(ug_repo_open(&fx.repo, path) == 0, "%s: opens", name);
	fx.trees = calloc((size_t)nrandom + 3, sizeof(*fx.trees));
	handmade(&m1, &m2);
	fx.trees[fx.nt++] = strdup("");
	fx.trees[fx.nt++] = model_tree(&m1, path, tmp_path);
	fx.trees[fx.nt++] = model_tree(&m2, path, tmp_path);
	/* random states, each a few edits away from the previous one */
	for (int s = 0; s < nrandom; s++) {
		unsigned edits = 3 + rnd(10);

		while (edits--) {
			char p[64];

			random_path(p, sizeof(p));
			if (rnd(4) == 0)
				model_remove(&r, p);
			else
				model_set(&r, p, random_mode(), blobs[rnd(NBLOBS)]);
		}
		fx.trees[fx.nt++] = model_tree(&r, path, tmp_path);
	}
	model_free(&m1);
	model_free(&m2);
	model_free(&r);
	for (size_t i = 0; i < fx.nt; i++)
		if (!fx.trees[i]) {
			ok(0, "%s: tree %zu built by git", name, i);
			ug_repo_free(fx.repo);
			fx.repo = NULL;
			return;
		}
}

static void pairs(const char *name)
{
	if (have_fixture(name))
		run_pairs(fx.repo, fx.path, fx.tmp, fx.trees, fx.nt, fx.empty_hex, name);
}

static void sha1_fixture(void)
{
	fixture_new("sha1", "", getenv("UG_TEST_STATES") ? atoi(getenv("UG_TEST_STATES")) : 12);
}

static void sha1_pairs(void)
{
	pairs("sha1");
}

static void sha256_fixture(void)
{
	fixture_new("sha256", "--object-format=sha256", 4);
}

static void sha256_pairs(void)
{
	pairs("sha256");
}

static const struct tap_case cases[] = {
	TAP_CASE("treediff (sha1): a repository with trees made by git", sha1_fixture),
	TAP_CASE("treediff (sha1): every pair of trees diffs as git diff-tree does", sha1_pairs),
	TAP_CASE("treediff (sha1): only subtrees whose ids differ are read", pruning),
	TAP_CASE("treediff (sha1): a chain deeper than the limit is refused, not recursed", depth_limit),
	TAP_CASE("treediff (sha1): a blob given as a tree is corrupt", blob_as_tree),
	TAP_CASE("treediff (sha1): a tree bomb as a new or gone folder is one delta, not read", bomb_as_folder),
	TAP_CASE("treediff (sha1): diffs past the budget are refused with a message", past_the_budget),
	TAP_CASE("treediff (sha256): a repository with trees made by git", sha256_fixture),
	TAP_CASE("treediff (sha256): every pair of trees diffs as git diff-tree does", sha256_pairs),
};

int main(void)
{
	/* UG_TEST_SEED and UG_TEST_STATES explore further than the default run */
	return GIT_TEST_MAIN("treediff", cases, &tmp_path, &rng, fixture_free);
}
