/* Unit tests of a ugit repository built from byte vectors: objects, text trees, commits, refs, walks, and writing. */
#include "commit.h"
#include "error.h"
#include "log.h"
#include "odb.h"
#include "refs.h"
#include "repo.h"
#include "tap.h"
#include "tree.h"
#include "walk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char dir[64];
static int loglines;

static void capture(ug_log_level level, const char *line)
{
	(void)level;
	(void)line;
	loglines++;
}

static void path_of(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", dir, rel);
}

static void put_bytes(const char *rel, const void *data, size_t len)
{
	char path[512], *slash;
	FILE *f;

	path_of(path, sizeof(path), rel);
	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0777);
		*slash = '/';
	}
	f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static size_t get_bytes(const char *rel, char *buf, size_t n)
{
	char path[512];
	size_t got = 0;
	FILE *f;

	path_of(path, sizeof(path), rel);
	f = fopen(path, "rb");
	if (f) {
		got = fread(buf, 1, n, f);
		fclose(f);
	}
	return got;
}

/* Store "TYPE\0CONTENT" under .ugit/objects/<sha1 of those bytes>; hex gets the id. */
static void object(char *hex, const char *type, const char *content)
{
	char buf[4096], rel[128];
	size_t tl = strlen(type), cl = strlen(content);
	ug_oid oid;

	memcpy(buf, type, tl);
	buf[tl] = '\0';
	memcpy(buf + tl + 1, content, cl);
	ug_hash_buf(&oid, UG_HASH_SHA1, buf, tl + 1 + cl);
	ug_oid_tohex(hex, &oid, UG_HASH_SHA1);
	snprintf(rel, sizeof(rel), ".ugit/objects/%s", hex);
	put_bytes(rel, buf, tl + 1 + cl);
}

static ug_oid oid_of(const char *hex)
{
	ug_oid o;

	ug_oid_fromhex(&o, hex, 40, UG_HASH_SHA1);
	return o;
}

/* The repository's objects (hex ids) and the repository, shared by the cases in order. */
static char b1[41], b2[41], sub[41], root[41], c1[41], c2[41], c3[41], badtree[41];
static ug_repo *repo;

#define OID(hex) (&(ug_oid[]){ oid_of(hex) }[0])

/* blob "blob\0hello\n": its id is the sha1 of exactly those bytes */
static void make_objects(void)
{
	char text[4096], rel[128], path[512];
	struct timeval tv[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	ug_oid want;

	object(b1, "blob", "hello\n");
	ug_hash_buf(&want, UG_HASH_SHA1, "blob\0hello\n", 11);
	ok(ug_oid_equal(&want, OID(b1)), "a ugit id hashes TYPE NUL CONTENT");
	object(b2, "blob", "world\n");
	snprintf(text, sizeof(text), "blob %s w.txt\n", b2);
	object(sub, "tree", text);
	snprintf(text, sizeof(text), "tree %s dir\nblob %s hello.txt\nblob %s has space.txt\nblob %s ..\n", sub, b1,
		 b2, b1);
	object(root, "tree", text);
	snprintf(text, sizeof(text), "tree %s\n\nfirst\n", root);
	object(c1, "commit", text);
	snprintf(text, sizeof(text), "tree %s\nparent %s\n\nsecond\n", sub, c1);
	object(c2, "commit", text);
	snprintf(text, sizeof(text), "tree %s\nparent %s\nparent %s\n\nmerge\n", root, c2, c1);
	object(c3, "commit", text);
	object(badtree, "tree", "blob 1234 short\n");
	put_bytes(".ugit/HEAD", "ref: refs/heads/master", 22);
	put_bytes(".ugit/refs/heads/master", c3, 40);
	put_bytes(".ugit/refs/tags/v1", c1, 40);
	put_bytes(".ugit/refs/remote/feat", c2, 40);
	snprintf(rel, sizeof(rel), ".ugit/objects/%s", c3);
	path_of(path, sizeof(path), rel);
	utimes(path, tv);
}

static void open_repo(void)
{
	int err = ug_repo_open(&repo, dir);

	if (!is_int(err, 0, "open the ugit repository (%s)", err ? ug_error_last() : "")) {
		repo = NULL;
		return;
	}
	ok(ug_repo_format(repo) == UG_FORMAT_UGIT && ug_repo_algo(repo) == UG_HASH_SHA1, "format ugit, sha1");
	ok(strstr(ug_repo_gitdir(repo), "/.ugit") && !strcmp(ug_repo_gitdir(repo), ug_repo_commondir(repo)),
	   "gitdir is .ugit");
	ok(ug_repo_workdir(repo) && !strstr(ug_repo_workdir(repo), ".ugit"), "the working tree is the directory");
}

static void blob_reads(void)
{
	ug_object *obj;

	require(repo, "the repository is open");
	ok(!ug_odb_read(&obj, ug_repo_odb(repo), OID(b1)) && obj->type == UG_OBJ_BLOB && obj->size == 6 &&
		   !memcmp(obj->data, "hello\n", 6),
	   "the blob reads back");
	ug_object_free(obj);
}

static void text_tree(void)
{
	const ug_tree_entry *e;
	ug_tree *t;

	require(repo, "the repository is open");
	loglines = 0;
	require_int(ug_tree_lookup(&t, repo, OID(root)), 0, "the text tree parses");
	e = ug_tree_find(t, "dir", 3);
	ok(t->count == 3 && t->hidden == 1 && loglines == 1, "'..' hidden with one log line");
	ok(e && e->mode == UG_MODE_TREE && ug_oid_equal(&e->oid, OID(sub)), "tree -> mode 40000");
	e = ug_tree_find(t, "hello.txt", 9);
	ok(e && e->mode == UG_MODE_BLOB, "blob -> mode 100644");
	ok(ug_tree_find(t, "has space.txt", 13) != NULL, "a name with a space");
	ug_tree_free(t);
}

static void bad_trees(void)
{
	ug_tree *t;

	require(repo, "the repository is open");
	is_int(ug_tree_lookup(&t, repo, OID(badtree)), UG_ECORRUPT, "a short id in a text tree is corrupt");
	ok(strstr(ug_error_last(), badtree) != NULL, "the message names the tree");
	is_int(ug_tree_lookup(&t, repo, OID(c1)), UG_ECORRUPT, "a commit is not a tree");
}

static void merge_commit(void)
{
	const char *s;
	ug_commit *c;
	size_t sl;

	require(repo, "the repository is open");
	require_int(ug_commit_lookup(&c, repo, OID(c3)), 0, "the merge commit parses");
	s = ug_commit_subject(c, &sl);
	ok(c->nparents == 2 && ug_oid_equal(&c->parents[0], OID(c2)) && ug_oid_equal(&c->parents[1], OID(c1)),
	   "two parents in order");
	ok(!strcmp(c->author, "") && !strcmp(c->committer, ""), "no author or committer");
	ok(c->time == 1600000000, "the time is the object file's mtime");
	ok(!strcmp(c->message, "merge\n") && sl == 5 && !memcmp(s, "merge", 5), "message and subject");
	ug_commit_free(c);
}

static const struct {
	const char *rev;
	const char *want;
} revs[] = { { "HEAD", "c3" }, { "@", "c3" }, { "master", "c3" }, { "refs/heads/master", "c3" },
	     { "heads/master", "c3" }, { "v1", "c1" }, { "feat", "c2" } };
#define NREVS (sizeof(revs) / sizeof(*revs))

static const char *rev_name(size_t i)
{
	return revs[i].rev;
}

static void revparse_name(size_t i)
{
	const char *want = !strcmp(revs[i].want, "c3") ? c3 : !strcmp(revs[i].want, "c2") ? c2 : c1;
	ug_oid o;

	require(repo, "the repository is open");
	ok(!ug_repo_revparse(repo, revs[i].rev, &o) && ug_oid_equal(&o, OID(want)), "revparse %s", revs[i].rev);
}

static void revparse_ids(void)
{
	char abbrev[8];
	ug_oid o;

	require(repo, "the repository is open");
	memcpy(abbrev, c2, 7);
	abbrev[7] = '\0';
	ok(!ug_repo_revparse(repo, abbrev, &o) && ug_oid_equal(&o, OID(c2)), "revparse an abbreviated id");
	ok(!ug_repo_revparse(repo, c1, &o) && ug_oid_equal(&o, OID(c1)), "revparse a full id");
}

static void revparse_bad(void)
{
	ug_oid o;

	require(repo, "the repository is open");
	is_int(ug_repo_revparse(repo, "nope", &o), UG_ENOTFOUND, "an unknown revision");
	put_bytes(".ugit/refs/heads/l1", "ref: refs/heads/l2", 18);
	put_bytes(".ugit/refs/heads/l2", "ref: refs/heads/l1", 18);
	is_int(ug_repo_revparse(repo, "l1", &o), UG_ECORRUPT, "a symbolic loop is corrupt, not unknown");
	ok(strstr(ug_error_last(), "refs/heads/l1") != NULL, "named (%s)", ug_error_last());
	is_int(ug_repo_revparse(repo, "", &o), UG_EINVALID, "an empty revision");
}

static void walks(void)
{
	ug_oid *chain, o = oid_of(c3);
	size_t n;
	ug_walk *w;
	int count = 0, again = 0;

	require(repo, "the repository is open");
	ok(!ug_walk_first_parent(repo, &o, &chain, &n) && n == 3 && ug_oid_equal(&chain[0], OID(c3)) &&
		   ug_oid_equal(&chain[1], OID(c2)) && ug_oid_equal(&chain[2], OID(c1)),
	   "first-parent chain c3 c2 c1");
	free(chain);
	ug_walk_new(&w, repo);
	ug_walk_push(w, &o);
	o = oid_of(c1);
	ug_walk_push(w, &o);
	o = oid_of(b1);
	is_int(ug_walk_push(w, &o), 0, "a blob tip is ignored");
	while (!ug_walk_next(w, &o)) {
		count++;
		if (count == 1)
			again = ug_oid_equal(&o, OID(c1));
	}
	ok(count == 3 && again, "the walk returns each commit once, the newest-pushed tip first");
	ug_walk_free(w);
}

/* forged bytes: ids are not checked on read, so a commit may name itself */
static void forged_loop(void)
{
	static const char fake[] = "0123456789abcdef0123456789abcdef01234567";
	static const char missing[] = "00000000000000000000000000000000000000aa";
	char bytes[256], rel[128];
	int len, count = 0;
	ug_oid *chain, o;
	size_t n;
	ug_walk *w;

	require(repo, "the repository is open");
	len = snprintf(bytes, sizeof(bytes), "commit%ctree %s\nparent %s\nparent %s\n\nloop\n", 0, root,
		       fake, missing);
	snprintf(rel, sizeof(rel), ".ugit/objects/%s", fake);
	put_bytes(rel, bytes, (size_t)len);
	o = oid_of(fake);
	is_int(ug_walk_first_parent(repo, &o, &chain, &n), UG_ECORRUPT, "a first-parent chain that loops");
	ok(strstr(ug_error_last(), fake) != NULL, "names the commit (%s)", ug_error_last());
	ug_walk_new(&w, repo);
	ug_walk_push(w, &o);
	loglines = 0;
	while (!ug_walk_next(w, &o))
		count++;
	ok(count == 1 && loglines == 1, "the walk returns the looping commit once and skips the missing parent");
	ug_walk_free(w);
	o = oid_of(missing);
	is_int(ug_walk_first_parent(repo, &o, &chain, &n), UG_ENOTFOUND, "a missing tip");
}

/* The tree written by write_tree: entries out of ugit's order. */
static bool write_tree(ug_oid *tree)
{
	ug_tree_entry e[3] = {
		{ UG_MODE_EXEC, oid_of(b2), "zz", 2 },
		{ UG_MODE_TREE, oid_of(sub), "a", 1 },
		{ UG_MODE_BLOB, oid_of(b1), "a.txt", 5 },
	};

	return is_int(ug_tree_create(repo, tree, e, 3), 0, "write a ugit tree");
}

/* The bytes of object oid's file, up to n. */
static size_t object_bytes(const ug_oid *oid, char *got, size_t n)
{
	char rel[128], hex[41];

	snprintf(rel, sizeof(rel), ".ugit/objects/%s", ug_oid_tohex(hex, oid, UG_HASH_SHA1));
	return get_bytes(rel, got, n);
}

static void write_text_tree(void)
{
	char want[512], got[512];
	ug_oid tree, h;
	size_t n;

	require(repo, "the repository is open");
	if (!write_tree(&tree))
		return;
	/* ugit sorts by name bytes: "a" < "a.txt" < "zz" */
	snprintf(want, sizeof(want), "tree%ctree %s a\nblob %s a.txt\nblob %s zz\n", 0, sub, b1, b2);
	n = object_bytes(&tree, got, sizeof(got));
	ok(n == 5 + strlen(want + 5) && !memcmp(got, want, n), "the tree file is ugit's text, sorted by name");
	ug_hash_buf(&h, UG_HASH_SHA1, got, n);
	ok(ug_oid_equal(&h, &tree), "its id is the sha1 of the file");
}

static void write_commit(void)
{
	char want[512], got[512], hex[41];
	ug_oid tree, commit, parents[2] = { oid_of(c3), oid_of(c1) };
	ug_commit *c;
	size_t n;
	int err;

	require(repo, "the repository is open");
	if (!write_tree(&tree))
		return;
	require_int(ug_commit_create(repo, &commit, &tree, parents, 2, NULL, NULL, "made here"), 0,
		    "write a ugit commit");
	n = object_bytes(&commit, got, sizeof(got));
	snprintf(want, sizeof(want), "commit%ctree %s\nparent %s\nparent %s\n\nmade here\n", 0,
		 ug_oid_tohex(hex, &tree, UG_HASH_SHA1), c3, c1);
	ok(n == 7 + strlen(want + 7) && !memcmp(got, want, n), "the commit file is ugit's layout");
	err = ug_commit_lookup(&c, repo, &commit);
	ok(!err && c->nparents == 2 && !strcmp(c->message, "made here\n") && c->time > 1600000000,
	   "and reads back");
	if (!err)
		ug_commit_free(c);
}

static void write_message_newline(void)
{
	char want[512], got[512], hex[41];
	ug_oid tree, commit;
	size_t n;

	require(repo, "the repository is open");
	if (!write_tree(&tree))
		return;
	require_int(ug_commit_create(repo, &commit, &tree, NULL, 0, NULL, NULL, "has newline\n"), 0,
		    "a message that ends with a newline");
	n = object_bytes(&commit, got, sizeof(got));
	snprintf(want, sizeof(want), "commit%ctree %s\n\nhas newline\n", 0, ug_oid_tohex(hex, &tree, UG_HASH_SHA1));
	ok(n == 7 + strlen(want + 7) && !memcmp(got, want, n), "gets no second newline");
}

static void write_refused(void)
{
	ug_tree_entry e[3] = {
		{ UG_MODE_GITLINK, oid_of(b2), "zz", 2 },
		{ UG_MODE_TREE, oid_of(sub), "a", 1 },
		{ UG_MODE_BLOB, oid_of(b1), "a.txt", 5 },
	};
	ug_oid tree;

	require(repo, "the repository is open");
	is_int(ug_tree_create(repo, &tree, e, 3), UG_EINVALID, "no submodules in ugit trees");
	e[0] = (ug_tree_entry){ UG_MODE_BLOB, oid_of(b1), "new\nline", 8 };
	is_int(ug_tree_create(repo, &tree, e, 1), UG_EINVALID, "no newlines in ugit names");
}

static void move_master(void)
{
	char got[512], hex[41];
	ug_oid tree, commit, o = oid_of(c3);
	size_t n;

	require(repo, "the repository is open");
	if (!write_tree(&tree))
		return;
	require_int(ug_commit_create(repo, &commit, &tree, &o, 1, NULL, NULL, "moved"), 0, "write a commit");
	is_int(ug_refs_update(ug_repo_refdb(repo), "refs/heads/master", &commit, &o, "T <t@e>", "sync"), 0,
	       "move master");
	n = get_bytes(".ugit/refs/heads/master", got, sizeof(got));
	ok(n == 40 && !memcmp(got, ug_oid_tohex(hex, &commit, UG_HASH_SHA1), 40), "40 hex digits, no newline");
	ok(!ug_repo_revparse(repo, "HEAD", &o) && ug_oid_equal(&o, &commit), "HEAD follows");
}

/* identity: the user's config, else login@host */
static void default_ident(void)
{
	char *id;

	require(repo, "the repository is open");
	id = ug_repo_default_ident(repo);
	ok(id && strchr(id, '<') && strchr(id, '@') && id[strlen(id) - 1] == '>', "a default ident (%s)",
	   id ? id : "NULL");
	free(id);
}

static void ident_from_config(void)
{
	static const char cfg[] = "[user]\n\tname = Ugit User\n\temail = <u@example.com>\n";
	char *id;

	ug_repo_free(repo);
	repo = NULL;
	put_bytes(".gitconfig", cfg, sizeof(cfg) - 1);
	require_int(ug_repo_open(&repo, dir), 0, "reopen with a global config");
	id = ug_repo_default_ident(repo);
	ok(id && !strcmp(id, "Ugit User <u@example.com>"), "ident from user.name and user.email (%s)",
	   id ? id : "NULL");
	free(id);
	ug_repo_free(repo);
	repo = NULL;
}

/* errors name the path and the cause */
static void open_errors(void)
{
	char path[512];
	ug_repo *r;

	path_of(path, sizeof(path), "missing");
	is_int(ug_repo_open(&r, path), UG_ENOTFOUND, "a missing path");
	ok(strstr(ug_error_last(), path) && strstr(ug_error_last(), "No such file or directory"),
	   "says so (%s)", ug_error_last());
	path_of(path, sizeof(path), ".ugit/refs");
	is_int(ug_repo_open(&r, path), UG_ENOTFOUND, "a plain directory");
	ok(strstr(ug_error_last(), path) && strstr(ug_error_last(), "not a git or ugit repository"),
	   "says so (%s)", ug_error_last());
}

static const struct tap_case cases[] = {
	TAP_CASE("ugit: an object's id hashes TYPE NUL CONTENT", make_objects),
	TAP_CASE("ugit: the repository opens, format ugit, gitdir .ugit", open_repo),
	TAP_CASE("ugit: a blob reads back", blob_reads),
	TAP_CASE("ugit: a text tree parses, '..' hidden with one log line", text_tree),
	TAP_CASE("ugit: a short id in a text tree is corrupt, a commit is no tree", bad_trees),
	TAP_CASE("ugit: a merge commit's parents, empty people, the file's mtime, message", merge_commit),
	TAP_ROWS("ugit: revparse of", revparse_name, NREVS, rev_name),
	TAP_CASE("ugit: revparse of abbreviated and full ids", revparse_ids),
	TAP_CASE("ugit: revparse of unknown, looping and empty revisions", revparse_bad),
	TAP_CASE("ugit: first-parent chains and walks", walks),
	TAP_CASE("ugit: a forged commit naming itself is a loop, walked once", forged_loop),
	TAP_CASE("ugit: a written tree is ugit's text, sorted by name", write_text_tree),
	TAP_CASE("ugit: a written commit is ugit's layout and reads back", write_commit),
	TAP_CASE("ugit: a message ending in a newline gets no second one", write_message_newline),
	TAP_CASE("ugit: no submodules or newlines in ugit trees", write_refused),
	TAP_CASE("ugit: a ref update writes 40 hex digits, HEAD follows", move_master),
	TAP_CASE("ugit: a default ident", default_ident),
	TAP_CASE("ugit: the ident from user.name and user.email", ident_from_config),
	TAP_CASE("ugit: open errors name the path and the cause", open_errors),
};

int main(void)
{
	char cmd[128];
	int status;

	ug_log_set_sink(capture);
	snprintf(dir, sizeof(dir), "/tmp/ugugit-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	setenv("HOME", dir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("GIT_CONFIG_GLOBAL");
	unsetenv("XDG_CONFIG_HOME");
	status = TAP_RUN(cases);
	ug_repo_free(repo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return status;
}
