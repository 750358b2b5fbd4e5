/* Unit tests of tree editing: the ids written equal the trees git's index writes for the same files, and git fsck --strict passes. */
#include "error.h"
#include "odb.h"
#include "repo.h"
#include "tap.h"
#include "tree.h"
#include "treeedit.h"

#include "gitutil.h"
#include "treemodel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBLOBS 40

static char blobs[NBLOBS][65];
static uint64_t rng = 0xd1b54a32d192ed03ull;
static const char *repo_path, *tmp_path;

static unsigned rnd(unsigned n)
{
	return xorshift_below(&rng, n);
}

static ug_oid oid_of(ug_repo *repo, const char *hex)
{
	ug_oid o = { { 0 } };

	ug_oid_fromhex(&o, hex, strlen(hex), ug_repo_algo(repo));
	return o;
}

/* Apply one edit to the editor and the model alike. */
static int set(ug_treeedit *ed, model *m, const char *path, unsigned mode, const char *hex)
{
	ug_oid o;
	int err;

	ug_oid_fromhex(&o, hex, strlen(hex), ug_hash_hexsz(UG_HASH_SHA1) == strlen(hex) ? UG_HASH_SHA1 : UG_HASH_SHA256);
	err = ug_treeedit_set(ed, path, mode, &o);
	if (err)
		tap_diag("set %s: %s", path, ug_error_last());
	else
		model_set(m, path, mode, hex);
	return err;
}

static int rm(ug_treeedit *ed, model *m, const char *path)
{
	int err = ug_treeedit_remove(ed, path);

	if (err)
		tap_diag("remove %s: %s", path, ug_error_last());
	else
		model_remove(m, path);
	return err;
}

/* Write the editor's tree and compare it with the tree git's index makes of m. */
static bool same_as_git(ug_repo *repo, ug_treeedit *ed, const model *m, ug_oid *out)
{
	char hex[UG_OID_MAXHEX + 1], *want = model_tree(m, repo_path, tmp_path);
	ug_oid got;
	bool same;

	if (!want) {
		tap_diag("git could not build the expected tree");
		return false;
	}
	if (ug_treeedit_write(ed, &got)) {
		tap_diag("write: %s", ug_error_last());
		free(want);
		return false;
	}
	ug_oid_tohex(hex, &got, ug_repo_algo(repo));
	same = !strcmp(hex, want);
	if (!same)
		tap_diag("ugitfs wrote %s, git's index %s", hex, want);
	if (out)
		*out = got;
	free(want);
	return same;
}

static void base_model(model *m)
{
	char deep[256];

	deep_path(deep, sizeof(deep), 12);
	model_every_kind(m, blobs);
	model_set(m, "d/e/g/h", 0100644, blobs[7]);
	model_set(m, "a-b", 0100644, blobs[8]);
	model_set(m, "a0", 0100644, blobs[9]);
	model_set(m, "lone/only", 0100644, blobs[10]);
	model_set(m, "x/y/z/w", 0100644, blobs[11]);
	model_set(m, deep, 0100644, blobs[12]);
}

typedef struct {
	const char *what;
	const char *ops; /* "s PATH MODE BLOB" / "r PATH" separated by ';' */
} scenario;

static const scenario scenarios[] = {
	{ "no edit", "" },
	{ "a new file at the top", "s new 100644 20" },
	{ "a new file in new folders", "s n/m/o.txt 100644 21" },
	{ "a file in an existing folder", "s d/e/new 100644 22" },
	{ "content change deep down", "s l0/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/leaf 100644 23" },
	{ "executable bit", "s exe 100644 1" },
	{ "a symlink and a submodule", "s d/ln 120000 24;s d/sm 160000 25" },
	{ "a file replaced by a folder", "s a.txt/inside 100644 26" },
	{ "a file replaced by a deep folder", "s a.txt/i/j/k 100644 26" },
	{ "a folder replaced by a file", "s d 100644 27" },
	{ "a folder replaced by a symlink", "s d/e 120000 27" },
	{ "a file removed", "r d/x" },
	{ "a folder removed", "r d/e" },
	{ "the last file of a folder removed", "r lone/only" },
	{ "the last file of nested folders removed", "r x/y/z/w" },
	{ "nested folders emptied by removals", "r d/e/f;r d/e/g/h" },
	{ "an absent path removed", "r nothing;r d/nothing;r nothing/at/all" },
	{ "a path under a file removed", "r a.txt/q" },
	{ "the same path twice: the last wins", "s twice 100644 28;s twice 100755 29" },
	{ "set then removed", "s gone/soon 100644 30;r gone/soon" },
	{ "removed then set", "r d;s d/back 100644 31" },
	{ "a folder filled then replaced", "s f/a 100644 32;s f/b/c 100644 33;s f 100644 34" },
	{ "everything removed", "r a.txt;r exe;r link;r sub;r d;r a-b;r a0;r lone;r x;r l0" },
	{ "names that sort around folders", "s d.txt 100644 35;s d-x 100644 35;s d0 100644 35;s d/0 100644 36" },
	{ "a new folder emptied again", "s e/f/g 100644 37;r e/f" },
};

/* Run the ';'-separated ops of a scenario on ed and m. */
static int run_ops(ug_treeedit *ed, model *m, const char *ops)
{
	char *copy = strdup(ops), *save = NULL;
	int err = 0;

	for (char *op = strtok_r(copy, ";", &save); op && !err; op = strtok_r(NULL, ";", &save)) {
		char path[128];
		unsigned mode, blob;

		if (sscanf(op, "s %127s %o %u", path, &mode, &blob) == 3)
			err = set(ed, m, path, mode, blobs[blob]);
		else if (sscanf(op, "r %127s", path) == 1)
			err = rm(ed, m, path);
		else
			err = -1;
	}
	free(copy);
	return err;
}

/* The git repository of one object format and its base tree, shared by the cases in order. */
static struct fixture {
	const char *name;
	char *path, *base_hex;
	ug_repo *repo;
	model bm;
	ug_oid base;
} fx;

static void fixture_free(void)
{
	ug_repo_free(fx.repo);
	model_free(&fx.bm);
	free(fx.base_hex);
	free(fx.path);
	memset(&fx, 0, sizeof(fx));
}

/* The fixture of the case before, for format name; false (the case failed) when there is none. */
static bool have_fixture(const char *name)
{
	return ok(fx.repo && !strcmp(fx.name, name), "%s: the repository and base tree of the first case", name);
}

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static const char *scenario_name(size_t i)
{
	return scenarios[i].what;
}

static void scenario_run(size_t i)
{
	ug_treeedit *ed = NULL;
	model m;
	bool good;

	if (!have_fixture("sha1"))
		return;
	model_copy(&m, &fx.bm);
	good = !ug_treeedit_new(&ed, fx.repo, &fx.base) && !run_ops(ed, &m, scenarios[i].ops) &&
	       same_as_git(fx.repo, ed, &m, NULL);
	ok(good, "%s", scenarios[i].what);
	ug_treeedit_free(ed);
	model_free(&m);
}

/* A whole tree put at a path (mode UG_MODE_TREE), and edits inside it after. */
static void subtree(void)
{
	ug_repo *repo = fx.repo;
	const ug_oid *base = &fx.base;
	const model *bm = &fx.bm;
	ug_treeedit *ed = NULL;
	ug_tree *root = NULL;
	const ug_tree_entry *d;
	model m;
	bool good;

	if (!have_fixture("sha1"))
		return;
	model_copy(&m, bm);
	good = !ug_tree_lookup(&root, repo, base) && (d = ug_tree_find(root, "d", 1)) &&
	       !ug_treeedit_new(&ed, repo, base) && !ug_treeedit_set(ed, "copy/of/d", UG_MODE_TREE, &d->oid);
	for (size_t i = 0; good && i < bm->n; i++) {
		char p[256];

		if (strncmp(bm->v[i].path, "d/", 2))
			continue;
		snprintf(p, sizeof(p), "copy/of/%s", bm->v[i].path);
		model_set(&m, p, bm->v[i].mode, bm->v[i].id);
	}
	ok(good && same_as_git(repo, ed, &m, NULL), "a subtree put at a new path keeps its id");
	good = !run_ops(ed, &m, "s copy/of/d/e/f 100755 6;r copy/of/d/x");
	ok(good && same_as_git(repo, ed, &m, NULL), "edits inside it load it (and the editor is reusable after a write)");
	ug_treeedit_free(ed);
	ug_tree_free(root);
	model_free(&m);
}

static void bad_paths_and_modes(void)
{
	static const char *const bad[] = {
		"", "/a", "a/", "a//b", ".git/x", "a/.GIT", "a/../b", "./a", "..", "d/.",
	};
	ug_repo *repo = fx.repo;
	const ug_oid *base = &fx.base;
	ug_treeedit *ed = NULL;
	ug_oid o, after;
	size_t refused = 0;

	if (!have_fixture("sha1"))
		return;
	o = oid_of(repo, blobs[0]);
	require(!ug_treeedit_new(&ed, repo, base), "an editor");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		refused += ug_treeedit_set(ed, bad[i], UG_MODE_BLOB, &o) == UG_EINVALID;
		refused += ug_treeedit_remove(ed, bad[i]) == UG_EINVALID;
	}
	is_int((long long)refused, (long long)(2 * sizeof(bad) / sizeof(bad[0])), "bad paths are refused");
	is_int(ug_treeedit_set(ed, "f", 0100664, &o), UG_EINVALID, "a mode that is not git's is refused");
	is_int(ug_treeedit_set(ed, "f", 0, &o), UG_EINVALID, "mode 0 is refused");
	ok(!ug_treeedit_write(ed, &after) && ug_oid_equal(&after, base), "refused edits change nothing");
	ug_treeedit_free(ed);
}

static void blob_base(void)
{
	ug_treeedit *ed = NULL;
	ug_oid o, before;

	if (!have_fixture("sha1"))
		return;
	o = oid_of(fx.repo, blobs[0]);
	ug_oid_fromhex(&before, blobs[0], strlen(blobs[0]), ug_repo_algo(fx.repo));
	require(!ug_treeedit_new(&ed, fx.repo, &before), "an editor whose base is a blob");
	is_int(ug_treeedit_set(ed, "x", UG_MODE_BLOB, &o), UG_ECORRUPT, "the first edit reports it corrupt");
	ug_treeedit_free(ed);
}

/* a base whose folder "ghost" names a tree object that is not there */
static void missing_subtree(void)
{
	ug_repo *repo = fx.repo;
	ug_treeedit *ed = NULL;
	ug_oid before, after;

	if (!have_fixture("sha1"))
		return;
	ug_oid_fromhex(&before, blobs[0], strlen(blobs[0]), ug_repo_algo(repo));
	{
		size_t hexsz = ug_hash_hexsz(ug_repo_algo(repo)), len;
		char *ghost = sh_out(&len, "cd '%s' && printf '040000 tree %.*s\tghost\n100644 blob %s\tfile\n'"
				     " | git mktree --missing", repo_path, (int)hexsz,
				     "1234567890123456789012345678901234567890123456789012345678901234", blobs[0]);
		ug_oid g = ghost ? oid_of(repo, strtok(ghost, "\n")) : before, zero = { { 0 } };

		if (!ok(ghost && !ug_treeedit_new(&ed, repo, &g), "a base with a missing subtree")) {
			ug_treeedit_free(ed);
			free(ghost);
			return;
		}
		is_int(ug_treeedit_remove(ed, "ghost/x"), UG_ENOTFOUND, "removing inside it reports the missing tree");
		is_int(ug_treeedit_remove(ed, "file/x"), 0, "removing under a file is still no error");
		is_int(ug_treeedit_set(ed, "z", UG_MODE_BLOB, &zero), UG_EINVALID, "a zero id is refused");
		is_int(ug_treeedit_set(ed, "z", UG_MODE_BLOB, NULL), UG_EINVALID, "no id is refused");
		ok(!ug_treeedit_remove(ed, "ghost") && !ug_treeedit_write(ed, &after) && !ug_oid_equal(&after, &g),
		   "the missing folder can be removed whole without reading it");
		ug_treeedit_free(ed);
		free(ghost);
	}
}

static void empty_tree(void)
{
	ug_repo *repo = fx.repo;
	ug_treeedit *ed = NULL;
	ug_oid got, zero = { { 0 } };
	model m = { 0 };

	if (!have_fixture("sha1"))
		return;
	ok(!ug_treeedit_new(&ed, repo, NULL) && same_as_git(repo, ed, &m, NULL),
	   "no base and no edit: the empty tree");
	ug_treeedit_free(ed);
	ok(!ug_treeedit_new(&ed, repo, &zero) && !run_ops(ed, &m, "s a/b 100644 0;r a/b") &&
		   same_as_git(repo, ed, &m, &got),
	   "a zero base, a file added and removed: the empty tree");
	ug_treeedit_free(ed);
	model_free(&m);
}

/* Count the loose objects of the repository. */
static long loose_count(void)
{
	char *out = sh_out(NULL, "find '%s/.git/objects' -type f -path '*/objects/[0-9a-f][0-9a-f]/*' | wc -l", repo_path);
	long n = out ? atol(out) : -1;

	free(out);
	return n;
}

/* Only the trees along an edited path are written. */
static void writes_only_changes(void)
{
	ug_repo *repo = fx.repo;
	const ug_oid *base = &fx.base;
	ug_treeedit *ed = NULL;
	ug_oid o, got;
	long before = loose_count(), after;

	if (!have_fixture("sha1"))
		return;
	o = oid_of(repo, blobs[39]);
	require(!ug_treeedit_new(&ed, repo, base) && !ug_treeedit_set(ed, "d/e/g/h", UG_MODE_EXEC, &o) &&
			!ug_treeedit_write(ed, &got),
		"one file changed three folders deep");
	after = loose_count();
	is_int(after - before, 4, "four new trees: d/e/g, d/e, d and the top");
	ok(!ug_treeedit_write(ed, &o) && ug_oid_equal(&o, &got), "writing again gives the same id");
	is_int(loose_count() - after, 0, "and writes nothing");
	ug_treeedit_free(ed);
}

static const char *const rnames[] = { "a", "b", "a.b", "a-b", "a0", "ab", "c" };

/* Rounds of random edits, each round starting from the tree the last one wrote. */
static void random_edits(ug_repo *repo, const ug_oid *base, const model *bm, int rounds, const char *what)
{
	ug_oid cur = *base;
	model m;
	int bad = 0;

	model_copy(&m, bm);
	for (int r = 0; r < rounds; r++) {
		ug_treeedit *ed = NULL;
		unsigned ops = 1 + rnd(15);
		int err = ug_treeedit_new(&ed, repo, &cur);

		while (ops-- && !err) {
			char p[64];
			size_t n = 0;
			unsigned depth = 1 + rnd(3);

			for (unsigned i = 0; i < depth; i++)
				n += (size_t)snprintf(p + n, sizeof(p) - n, "%s%s", i ? "/" : "",
						      rnames[rnd(sizeof(rnames) / sizeof(rnames[0]))]);
			if (rnd(3) == 0) {
				err = rm(ed, &m, p);
			} else {
				static const unsigned modes[] = { 0100644, 0100644, 0100755, 0120000, 0160000 };

				err = set(ed, &m, p, modes[rnd(5)], blobs[rnd(NBLOBS)]);
			}
			/* sometimes write in the middle and go on */
			if (!err && rnd(8) == 0 && !same_as_git(repo, ed, &m, NULL))
				err = -1;
		}
		if (err || !same_as_git(repo, ed, &m, &cur)) {
			tap_diag("%s: round %d differs", what, r);
			bad++;
		}
		ug_treeedit_free(ed);
	}
	ok(bad == 0, "%s: %d rounds of random edits give git's trees", what, rounds);
	model_free(&m);
}

/* A repository made by git with flags, its blobs and base tree: the fixture of the cases after. */
static void fixture_new(const char *name, const char *flags)
{
	char *path;

	fixture_free();
	if (asprintf(&path, "%s/%s", tmp_path, name) < 0)
		return;
	fx.name = name;
	fx.path = path;
	repo_path = path;
	require(sh("git init -q %s '%s'", flags, path) == 0, "%s: git init %s", name, flags);
	require(!make_blobs(path, tmp_path, name, NBLOBS, blobs), "%s: blobs", name);
	base_model(&fx.bm);
	fx.base_hex = model_tree(&fx.bm, path, tmp_path);
	if (!ok(fx.base_hex && !ug_repo_open(&fx.repo, path), "%s: a base tree by git, and the repository opens",
		name)) {
		ug_repo_free(fx.repo);
		fx.repo = NULL;
		return;
	}
	fx.base = oid_of(fx.repo, fx.base_hex);
}

static void fsck_passes(const char *name)
{
	if (!have_fixture(name))
		return;
	ok(sh("cd '%s' && git fsck --strict --no-dangling --no-progress >/dev/null 2>'%s/fsck.err'", fx.path,
	      tmp_path) == 0,
	   "%s: git fsck --strict passes", name);
}

static void sha1_fixture(void)
{
	fixture_new("sha1", "");
}

static void sha1_random(void)
{
	if (have_fixture("sha1"))
		random_edits(fx.repo, &fx.base, &fx.bm,
			     getenv("UG_TEST_ROUNDS") ? atoi(getenv("UG_TEST_ROUNDS")) : 24, "sha1");
}

static void sha1_fsck(void)
{
	fsck_passes("sha1");
}

static void sha256_fixture(void)
{
	fixture_new("sha256", "--object-format=sha256");
}

static void sha256_random(void)
{
	if (have_fixture("sha256"))
		random_edits(fx.repo, &fx.base, &fx.bm, 4, "sha256");
}

static void sha256_fsck(void)
{
	fsck_passes("sha256");
}

/* A ugit repository: text trees, no modes; read back what was written. */
static void ugit(void)
{
	const char *tmp = tmp_path;
	char *path, hex[3][41], want[512];
	ug_repo *repo = NULL;
	ug_treeedit *ed = NULL;
	ug_object *obj = NULL;
	ug_oid b[3], root, sub;
	ug_tree *t = NULL;
	bool good;

	if (asprintf(&path, "%s/ugit", tmp) < 0)
		return;
	ok(sh("mkdir -p '%s/.ugit/objects' '%s/.ugit/refs/heads' && echo x > '%s/.ugit/HEAD'", path, path,
	      path) == 0, "ugit: a repository");
	if (ug_repo_open(&repo, path)) {
		ok(0, "ugit: opens: %s", ug_error_last());
		free(path);
		return;
	}
	for (int i = 0; i < 3; i++) {
		char content[16];

		snprintf(content, sizeof(content), "ugit-%d\n", i);
		ug_odb_write(ug_repo_odb(repo), &b[i], UG_OBJ_BLOB, content, strlen(content));
		ug_oid_tohex(hex[i], &b[i], UG_HASH_SHA1);
	}
	good = !ug_treeedit_new(&ed, repo, NULL) && !ug_treeedit_set(ed, "top", UG_MODE_BLOB, &b[0]) &&
	       !ug_treeedit_set(ed, "dir/inner", UG_MODE_EXEC, &b[1]) &&
	       !ug_treeedit_set(ed, "dir/deeper/x", UG_MODE_BLOB, &b[2]) && !ug_treeedit_write(ed, &root);
	ok(good, "ugit: files written in new folders");
	ug_treeedit_free(ed);
	ed = NULL;
	good = good && !ug_tree_lookup(&t, repo, &root) && t->count == 2 && ug_tree_find(t, "dir", 3) &&
	       ug_tree_find(t, "dir", 3)->mode == UG_MODE_TREE;
	if (good)
		sub = ug_tree_find(t, "dir", 3)->oid;
	ug_tree_free(t);
	t = NULL;
	good = good && !ug_tree_lookup(&t, repo, &sub) && ug_tree_find(t, "deeper", 6) &&
	       !ug_odb_read(&obj, ug_repo_odb(repo), &sub);
	if (good) {
		char dh[41];

		snprintf(want, sizeof(want), "tree %s deeper\nblob %s inner\n",
			 ug_oid_tohex(dh, &ug_tree_find(t, "deeper", 6)->oid, UG_HASH_SHA1), hex[1]);
		good = obj->size == strlen(want) && !memcmp(obj->data, want, obj->size);
		if (!good)
			tap_diag("ugit tree: '%s'", (const char *)obj->data);
	}
	ug_object_free(obj);
	ug_tree_free(t);
	t = NULL;
	ok(good, "ugit: a text tree, the executable bit not kept");
	good = !ug_treeedit_new(&ed, repo, &root) && !ug_treeedit_set(ed, "top/now/a/folder", UG_MODE_BLOB, &b[2]) &&
	       !ug_treeedit_remove(ed, "dir/deeper/x") && !ug_treeedit_write(ed, &root) &&
	       !ug_tree_lookup(&t, repo, &root) && t->count == 2 && ug_tree_find(t, "top", 3)->mode == UG_MODE_TREE;
	ok(good, "ugit: a file replaced by a folder, a folder emptied and dropped");
	is_int(ug_treeedit_set(ed, "sm", UG_MODE_GITLINK, &b[0]), UG_EINVALID, "ugit: no submodules");
	is_int(ug_treeedit_set(ed, "new\nline", UG_MODE_BLOB, &b[0]), UG_EINVALID, "ugit: no newline in names");
	ug_tree_free(t);
	ug_treeedit_free(ed);
	ug_repo_free(repo);
	free(path);
}

static const struct tap_case cases[] = {
	TAP_CASE("treeedit (sha1): a base tree made by git", sha1_fixture),
	TAP_ROWS("treeedit (sha1): git's tree after", scenario_run, NSCENARIOS, scenario_name),
	TAP_CASE("treeedit (sha1): a subtree put at a new path keeps its id, edits inside it", subtree),
	TAP_CASE("treeedit (sha1): bad paths and modes are refused and change nothing", bad_paths_and_modes),
	TAP_CASE("treeedit (sha1): a blob as the base is corrupt at the first edit", blob_base),
	TAP_CASE("treeedit (sha1): a missing subtree is reported, removable whole; no zero ids", missing_subtree),
	TAP_CASE("treeedit (sha1): no base, or a zero one, gives the empty tree", empty_tree),
	TAP_CASE("treeedit (sha1): only the trees along an edited path are written", writes_only_changes),
	TAP_CASE("treeedit (sha1): random edits give git's trees", sha1_random),
	TAP_CASE("treeedit (sha1): git fsck --strict passes", sha1_fsck),
	TAP_CASE("treeedit (sha256): a base tree made by git", sha256_fixture),
	TAP_CASE("treeedit (sha256): random edits give git's trees", sha256_random),
	TAP_CASE("treeedit (sha256): git fsck --strict passes", sha256_fsck),
	TAP_CASE("treeedit (ugit): text trees without modes, replaced and emptied folders", ugit),
};

int main(void)
{
	/* UG_TEST_SEED and UG_TEST_ROUNDS explore further than the default run */
	return GIT_TEST_MAIN("treeedit", cases, &tmp_path, &rng, fixture_free);
}
