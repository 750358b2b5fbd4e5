/* Unit tests of the object formats: trees, commits and tags from byte vectors, and writing them checked by git. */
#include "commit.h"
#include "error.h"
#include "log.h"
#include "odb.h"
#include "repo.h"
#include "tag.h"
#include "gitutil.h"
#include "tap.h"
#include "tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- captured log lines --- */
static char logbuf[16384];
static int loglines;

static void capture(ug_log_level level, const char *line)
{
	size_t l = strlen(logbuf);

	(void)level;
	loglines++;
	snprintf(logbuf + l, sizeof(logbuf) - l, "%s\n", line);
}

static void log_reset(void)
{
	logbuf[0] = '\0';
	loglines = 0;
}

/* --- building binary trees byte by byte --- */
typedef struct {
	unsigned char buf[1 << 17];
	size_t len;
} bytes;

static void add(bytes *b, const void *p, size_t n)
{
	if (b->len + n <= sizeof(b->buf)) {
		memcpy(b->buf + b->len, p, n);
		b->len += n;
	}
}

/* "MODE SP NAME NUL" then 20 raw bytes, all equal to fill */
static void entry(bytes *b, const char *mode, const char *name, size_t namelen, unsigned char fill)
{
	unsigned char id[20];

	memset(id, fill, sizeof(id));
	add(b, mode, strlen(mode));
	add(b, " ", 1);
	add(b, name, namelen);
	add(b, "", 1);
	add(b, id, sizeof(id));
}

#define ENTRY(b, mode, name, fill) entry((b), (mode), (name), strlen(name), (fill))

static const char *tree_hex = "1234567890123456789012345678901234567890";

static ug_oid tree_id(void)
{
	ug_oid oid;

	ug_oid_fromhex(&oid, tree_hex, 40, UG_HASH_SHA1);
	return oid;
}

static int parse_tree(ug_tree **t, const bytes *b)
{
	ug_oid oid = tree_id();

	return ug_tree_parse(t, NULL, &oid, b->buf, b->len);
}

static const ug_tree_entry *find(const ug_tree *t, const char *name)
{
	return ug_tree_find(t, name, strlen(name));
}

static void test_git_trees(void)
{
	bytes b = { .len = 0 };
	ug_tree *t;
	const ug_tree_entry *e;

	ENTRY(&b, "100644", "a", 1);
	ENTRY(&b, "100755", "b", 2);
	ENTRY(&b, "120000", "l", 3);
	ENTRY(&b, "40000", "d", 4);
	ENTRY(&b, "160000", "sub", 5);
	is_int(parse_tree(&t, &b), 0, "a plain tree parses");
	is_int((long long)t->count, 5, "five entries");
	ok(t->entries[0].mode == UG_MODE_BLOB && t->entries[1].mode == UG_MODE_EXEC &&
		   t->entries[2].mode == UG_MODE_LINK && t->entries[3].mode == UG_MODE_TREE &&
		   t->entries[4].mode == UG_MODE_GITLINK,
	   "modes in stored order");
	e = find(t, "d");
	ok(e && e->oid.id[0] == 4 && e->oid.id[19] == 4 && e->oid.id[20] == 0, "find d, with its id");
	ok(find(t, "sub") && !find(t, "su") && !find(t, "subx") && !find(t, ""), "find is exact");
	ok(!strcmp(t->entries[4].name, "sub") && t->entries[4].namelen == 3, "names are NUL-terminated");
	is_int(ug_mode_type(UG_MODE_GITLINK), UG_OBJ_COMMIT, "a gitlink is a commit");
	is_int(ug_mode_type(UG_MODE_LINK), UG_OBJ_BLOB, "a link is a blob");
	is_int(ug_mode_type(UG_MODE_TREE), UG_OBJ_TREE, "a tree is a tree");
	ug_tree_free(t);

	/* legacy modes are canonicalized as git's canon_mode does */
	b.len = 0;
	ENTRY(&b, "100664", "g1", 1);
	ENTRY(&b, "100775", "g2", 1);
	ENTRY(&b, "0100644", "g3", 1);
	ENTRY(&b, "100600", "g4", 1);
	ENTRY(&b, "040755", "g5", 1);
	ENTRY(&b, "120777", "g6", 1);
	ENTRY(&b, "160644", "g7", 1);
	is_int(parse_tree(&t, &b), 0, "legacy modes parse");
	ok(t->count == 7 && t->entries[0].mode == UG_MODE_BLOB && t->entries[1].mode == UG_MODE_EXEC &&
		   t->entries[2].mode == UG_MODE_BLOB && t->entries[3].mode == UG_MODE_BLOB &&
		   t->entries[4].mode == UG_MODE_TREE && t->entries[5].mode == UG_MODE_LINK &&
		   t->entries[6].mode == UG_MODE_GITLINK,
	   "100664->100644, 100775->100755, 0100644, 100600, 040755->40000, 120777, 160644");
	ug_tree_free(t);

	/* empty tree */
	b.len = 0;
	is_int(parse_tree(&t, &b), 0, "the empty tree parses");
	ok(t->count == 0 && !find(t, "x"), "and is empty");
	ug_tree_free(t);

	/* hostile names: hidden, one log line each naming the tree */
	{
		static const char *const names[] = { ".", "..", ".git", ".GIT", ".gIt", "a/b", "/", "" };
		size_t n = sizeof(names) / sizeof(*names);

		b.len = 0;
		ENTRY(&b, "100644", "good", 9);
		for (size_t i = 0; i < n; i++)
			ENTRY(&b, "100644", names[i], 1);
		ENTRY(&b, "40000", "zz", 9);
		log_reset();
		is_int(parse_tree(&t, &b), 0, "a tree with hostile names parses");
		is_int((long long)t->count, 2, "only the good entries are shown");
		is_int((long long)t->hidden, (long long)n, "every hostile entry is counted as hidden");
		is_int(loglines, (int)n, "one log line per hidden entry");
		ok(strstr(logbuf, tree_hex) != NULL, "the log names the tree");
		ok(find(t, "good") && find(t, "zz") && !find(t, "..") && !find(t, ".git") && !find(t, ".GIT"),
		   "hidden names cannot be found");
		ok(!strcmp(t->entries[0].name, "good") && !strcmp(t->entries[1].name, "zz"),
		   "stored order kept");
		ug_tree_free(t);
		for (size_t i = 0; i < n; i++)
			ok(!ug_tree_name_ok(names[i], strlen(names[i])), "name '%s' is refused", names[i]);
		ok(ug_tree_name_ok(".gitignore", 10) && ug_tree_name_ok("...", 3) && ug_tree_name_ok(".g", 2),
		   ".gitignore, ... and .g are fine");
		ok(!ug_tree_name_ok("a\0b", 3), "a NUL inside a name is refused");
	}

	/* duplicates: the first one wins */
	b.len = 0;
	ENTRY(&b, "100644", "dup", 1);
	ENTRY(&b, "100644", "other", 2);
	ENTRY(&b, "100755", "dup", 3);
	ENTRY(&b, "40000", "dup", 4);
	log_reset();
	is_int(parse_tree(&t, &b), 0, "a tree with duplicates parses");
	ok(t->count == 2 && t->hidden == 2, "duplicates hidden");
	ok(find(t, "dup") && find(t, "dup")->oid.id[0] == 1 && find(t, "dup")->mode == UG_MODE_BLOB,
	   "the first of the duplicates is kept");
	is_int(loglines, 2, "one log line per duplicate");
	ok(strstr(logbuf, tree_hex) && strstr(logbuf, "dup"), "the log names the tree and the entry");
	ug_tree_free(t);

	/* an octal mode of no type git knows: that entry is hidden, the rest read */
	{
		static const char *const unknown[] = { "0", "170000", "777777", "30000" };

		for (size_t i = 0; i < sizeof(unknown) / sizeof(*unknown); i++) {
			b.len = 0;
			ENTRY(&b, "100644", "fine", 1);
			ENTRY(&b, unknown[i], "x", 2);
			ENTRY(&b, "40000", "zz", 3);
			log_reset();
			is_int(parse_tree(&t, &b), 0, "mode '%s': the tree parses", unknown[i]);
			ok(t && t->count == 2 && t->hidden == 1 && find(t, "fine") && find(t, "zz") &&
				   !find(t, "x"),
			   "mode '%s': that entry is hidden, the others shown", unknown[i]);
			ok(loglines == 1 && strstr(logbuf, tree_hex) && strstr(logbuf, "'x'"),
			   "mode '%s': one log line names the tree and the entry", unknown[i]);
			ug_tree_free(t);
		}
	}

	/* malformed: the whole tree is corrupt, the message names it */
	{
		static const char *const bad_modes[] = { "10064x", "12345670", "" };

		for (size_t i = 0; i < sizeof(bad_modes) / sizeof(*bad_modes); i++) {
			b.len = 0;
			ENTRY(&b, "100644", "fine", 1);
			ENTRY(&b, bad_modes[i], "x", 1);
			ok(parse_tree(&t, &b) == UG_ECORRUPT && !t && strstr(ug_error_last(), tree_hex),
			   "mode '%s' is corrupt (%s)", bad_modes[i], ug_error_last());
		}
	}
	b.len = 0;
	ENTRY(&b, "100644", "a", 1);
	b.len -= 10;
	ok(parse_tree(&t, &b) == UG_ECORRUPT && strstr(ug_error_last(), "truncated"),
	   "a truncated id is corrupt (%s)", ug_error_last());
	{
		ug_oid self = tree_id();

		b.len = 0;
		ENTRY(&b, "100644", "f", 1);
		add(&b, "40000 again", 12);
		add(&b, self.id, 20);
		ok(parse_tree(&t, &b) == UG_ECORRUPT && strstr(ug_error_last(), "itself"),
		   "a tree that contains itself is corrupt (%s)", ug_error_last());
	}
	b.len = 0;
	add(&b, "100644 name-without-nul", 23);
	ok(parse_tree(&t, &b) == UG_ECORRUPT, "a name without NUL is corrupt");
	b.len = 0;
	add(&b, "100644", 6);
	ok(parse_tree(&t, &b) == UG_ECORRUPT, "a mode without a name is corrupt");
	{
		unsigned char one = '1';

		ok(ug_tree_parse(&t, NULL, NULL, &one, 1) == UG_ECORRUPT, "one byte is corrupt");
	}

	/* a large tree: lookups through the index */
	{
		static bytes big;
		char name[32];
		int all = 1;

		big.len = 0;
		for (int i = 0; i < 2000; i++) {
			snprintf(name, sizeof(name), "f%05d", (i * 7919) % 2000);
			ENTRY(&big, "100644", name, (unsigned char)i);
		}
		is_int(parse_tree(&t, &big), 0, "2000 entries parse");
		for (int i = 0; i < 2000 && all; i++) {
			snprintf(name, sizeof(name), "f%05d", (i * 7919) % 2000);
			all = find(t, name) == &t->entries[i];
		}
		ok(all, "every one of 2000 entries is found by name");
		ug_tree_free(t);
	}
}

/* The raw step through a tree's bytes gives what the parser gives, and refuses what it refuses. */
static void test_tree_raw_steps(void)
{
	bytes b = { .len = 0 };
	ug_tree_entry e;
	size_t pos = 0;

	ENTRY(&b, "100664", "a", 1);
	ENTRY(&b, "40000", "d", 4);
	ok(ug_tree_next_raw(b.buf, b.len, &pos, UG_HASH_SHA1, &e) == 0 && e.mode == UG_MODE_BLOB &&
	   e.namelen == 1 && !strcmp(e.name, "a") && e.oid.id[0] == 1 && e.oid.id[19] == 1,
	   "raw step: a legacy file mode reads as 100644, with its name and id");
	ok(ug_tree_next_raw(b.buf, b.len, &pos, UG_HASH_SHA1, &e) == 0 && e.mode == UG_MODE_TREE &&
	   !strcmp(e.name, "d") && e.oid.id[0] == 4, "raw step: the second entry");
	ok(ug_tree_next_raw(b.buf, b.len, &pos, UG_HASH_SHA1, &e) == 1 && pos == b.len, "raw step: then the end");
	pos = 0;
	ok(ug_tree_next_raw(b.buf, b.len - 1, &pos, UG_HASH_SHA1, &e) == 0 &&
	   ug_tree_next_raw(b.buf, b.len - 1, &pos, UG_HASH_SHA1, &e) == UG_ECORRUPT, "raw step: a cut id is corrupt");
	b.len = 0;
	ENTRY(&b, "777777", "x", 1);
	pos = 0;
	ok(ug_tree_next_raw(b.buf, b.len, &pos, UG_HASH_SHA1, &e) == UG_ECORRUPT, "raw step: an unknown mode is refused");
	b.len = 0;
	add(&b, "100644 noterminator", 19);
	pos = 0;
	ok(ug_tree_next_raw(b.buf, b.len, &pos, UG_HASH_SHA1, &e) == UG_ECORRUPT, "raw step: a name without NUL");
}

static void test_commits(void)
{
	static const char c2[] =
		"tree 1111111111111111111111111111111111111111\n"
		"parent 2222222222222222222222222222222222222222\n"
		"parent 3333333333333333333333333333333333333333\n"
		"author A U Thor <author@example.com> 1700000000 +0100\n"
		"committer C O Mitter <c@example.com> 1700000123 -0130\n"
		"gpgsig -----BEGIN PGP SIGNATURE-----\n"
		" \n"
		" author Fake <f@f> 1 +0000\n"
		" iQEzBAABCAAdFiEE\n"
		" -----END PGP SIGNATURE-----\n"
		"encoding UTF-8\n"
		"\n"
		"Subject line\n"
		"\n"
		"Body.\n";
	ug_commit *c;
	size_t slen;
	const char *s;
	int64_t t;
	int tz;

	is_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)c2, sizeof(c2) - 1), 0,
	       "a signed merge commit parses");
	ok(c->tree.id[0] == 0x11 && c->nparents == 2 && c->parents[0].id[0] == 0x22 &&
		   c->parents[1].id[19] == 0x33,
	   "tree and two parents");
	ok(!strcmp(c->author, "A U Thor <author@example.com> 1700000000 +0100"), "author as stored");
	ok(!strcmp(c->committer, "C O Mitter <c@example.com> 1700000123 -0130"),
	   "committer as stored, not the one inside the signature");
	ok(c->time == 1700000123 && c->tz_minutes == -90, "committer time and zone");
	ok(!strcmp(c->message, "Subject line\n\nBody.\n") && c->message_len == 20,
	   "the message follows the blank line after the signature");
	s = ug_commit_subject(c, &slen);
	ok(slen == 12 && !memcmp(s, "Subject line", 12), "subject");
	ug_commit_free(c);

	{
		static const char root[] =
			"tree 1111111111111111111111111111111111111111\n"
			"author A <a@b> 1 +0000\n"
			"committer B <b@c> 2 +0000\n"
			"\n"
			"one line";

		is_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)root, sizeof(root) - 1), 0,
		       "a root commit parses");
		ok(c->nparents == 0 && c->parents == NULL && c->time == 2, "no parents");
		s = ug_commit_subject(c, &slen);
		ok(slen == 8 && !strcmp(c->message, "one line"), "a message without a newline");
		ug_commit_free(c);
	}
	{
		static const char nomsg[] =
			"tree 1111111111111111111111111111111111111111\n"
			"author A <a@b> 1 +0000\n"
			"committer B <b@c> 5 +0000\n";

		is_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)nomsg, sizeof(nomsg) - 1), 0,
		       "a commit without a blank line parses (git reads it)");
		ok(c->message_len == 0 && !strcmp(c->message, "") && c->time == 5, "empty message");
		ug_commit_free(c);
	}
	{
		static const char nul[] =
			"tree 1111111111111111111111111111111111111111\n"
			"committer B <b@c> 5 +0000\n\nab\0cd";

		is_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)nul, sizeof(nul) - 1), 0,
		       "a message with a NUL parses");
		ok(c->message_len == 5 && !memcmp(c->message, "ab\0cd", 6), "message_len counts past the NUL");
		ug_commit_free(c);
	}
	{
		static const char baddate[] =
			"tree 1111111111111111111111111111111111111111\n"
			"author A <a@b>\n"
			"committer B <b@c> soon\n\nx\n";

		is_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)baddate, sizeof(baddate) - 1), 0,
		       "a commit with a broken date parses");
		ok(c->time == 0 && c->tz_minutes == 0, "at time 0, as git shows it");
		ug_commit_free(c);
	}
	{
		static const char *const bad[] = {
			"",
			"tree 11111111111111111111",
			"tree 1111111111111111111111111111111111111111",
			"tree 111111111111111111111111111111111111111x\n",
			"tree  1111111111111111111111111111111111111111\n",
			"parent 1111111111111111111111111111111111111111\n",
			"tree 1111111111111111111111111111111111111111\nparent 22222\n",
			"tree 1111111111111111111111111111111111111111\nparent 2222222222222222222222222222222222222222",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			ug_oid oid = tree_id();

			ok(ug_commit_parse(&c, NULL, &oid, (const unsigned char *)bad[i], strlen(bad[i])) ==
					   UG_ECORRUPT &&
				   !c && strstr(ug_error_last(), tree_hex),
			   "truncated or bad commit %zu is corrupt, naming it (%s)", i, ug_error_last());
		}
	}

	/* idents */
	ok(!ug_ident_parse_time("A <a@b> 1700000000 +0100", 24, &t, &tz) && t == 1700000000 && tz == 60,
	   "ident +0100");
	ok(!ug_ident_parse_time("A <a@b> 12 -0530", 16, &t, &tz) && t == 12 && tz == -330, "ident -0530");
	ok(!ug_ident_parse_time("A <a > b> 3 +0000", 17, &t, &tz) && t == 3, "the last '>' counts");
	is_int(ug_ident_parse_time("A <a@b> 12", 10, &t, &tz), UG_ECORRUPT, "no zone");
	is_int(ug_ident_parse_time("A <a@b> x +0000", 15, &t, &tz), UG_ECORRUPT, "no date");
	is_int(ug_ident_parse_time("A a@b 1 +0000", 13, &t, &tz), UG_ECORRUPT, "no '>'");
	is_int(ug_ident_parse_time("A <a> 1 +01", 11, &t, &tz), UG_ECORRUPT, "short zone");
	is_int(ug_ident_parse_time("A <a> 99999999999999999999999 +0000", 35, &t, &tz), UG_ECORRUPT,
	       "a date out of range");
	/* bounds: the length is respected, not the NUL */
	ok(!ug_ident_parse_time("A <a> 1 +0000 junk", 13, &t, &tz), "len stops before the junk");
}

static void test_tags(void)
{
	static const char tag[] =
		"object 1111111111111111111111111111111111111111\n"
		"type commit\n"
		"tag v1.0\n"
		"tagger T Agger <t@example.com> 1700000000 +0000\n"
		"\n"
		"Release 1.0\n"
		"-----BEGIN PGP SIGNATURE-----\n";
	ug_tag *t;

	is_int(ug_tag_parse(&t, NULL, (const unsigned char *)tag, sizeof(tag) - 1, UG_HASH_SHA1), 0,
	       "an annotated tag parses");
	ok(t->target.id[0] == 0x11 && t->target_type == UG_OBJ_COMMIT, "target and type");
	ok(!strcmp(t->name, "v1.0") && !strcmp(t->tagger, "T Agger <t@example.com> 1700000000 +0000"),
	   "name and tagger");
	ok(!strcmp(t->message, "Release 1.0\n-----BEGIN PGP SIGNATURE-----\n"), "message");
	ug_tag_free(t);
	{
		static const char old[] =
			"object 1111111111111111111111111111111111111111\ntype tree\ntag old\n\nno tagger\n";

		is_int(ug_tag_parse(&t, NULL, (const unsigned char *)old, sizeof(old) - 1, UG_HASH_SHA1), 0,
		       "a tag without tagger parses");
		ok(!strcmp(t->tagger, "") && t->target_type == UG_OBJ_TREE && !strcmp(t->message, "no tagger\n"),
		   "empty tagger");
		ug_tag_free(t);
	}
	{
		static const char *const bad[] = {
			"",
			"object 1111111111111111111111111111111111111111\n",
			"object 11111111111111111111\ntype commit\ntag x\n\n",
			"object 1111111111111111111111111111111111111111\ntype comet\ntag x\n\n",
			"object 1111111111111111111111111111111111111111\ntype commit\n\n",
			"object 1111111111111111111111111111111111111111\ntype commit\ntag x",
			"type commit\nobject 1111111111111111111111111111111111111111\ntag x\n\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
			is_int(ug_tag_parse(&t, NULL, (const unsigned char *)bad[i], strlen(bad[i]), UG_HASH_SHA1),
			       UG_ECORRUPT, "bad tag %zu is corrupt", i);
	}
}

/* --- writing, with git as the oracle --- */

static char tmpdir[64];

static void test_write(const char *objfmt)
{
	char dir[128], hex[UG_OID_MAXHEX + 1], sub_hex[UG_OID_MAXHEX + 1];
	ug_repo *repo;
	ug_odb *odb;
	ug_oid blob, exe, link, subtree, root, c1, c2, gitlink;
	ug_tree_entry sub_e[1], e[6];
	ug_commit *c;
	ug_tree *t;
	ug_hash_algo algo;
	int err;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, objfmt);
	if (sh("git init -q --object-format=%s '%s'", objfmt, dir)) {
		ok(0, "git init %s", objfmt);
		return;
	}
	err = ug_repo_open(&repo, dir);
	is_int(err, 0, "open the %s repository (%s)", objfmt, err ? ug_error_last() : "");
	if (err)
		return;
	algo = ug_repo_algo(repo);
	is_int(algo, !strcmp(objfmt, "sha256") ? UG_HASH_SHA256 : UG_HASH_SHA1, "%s: object format", objfmt);
	odb = ug_repo_odb(repo);
	ok(!ug_odb_write(odb, &blob, UG_OBJ_BLOB, "hello\n", 6) &&
		   !ug_odb_write(odb, &exe, UG_OBJ_BLOB, "#!/bin/sh\n", 10) &&
		   !ug_odb_write(odb, &link, UG_OBJ_BLOB, "a.txt", 5),
	   "%s: blobs written", objfmt);

	sub_e[0] = (ug_tree_entry){ UG_MODE_BLOB, blob, "inner", 5 };
	is_int(ug_tree_create(repo, &subtree, sub_e, 1), 0, "%s: subtree written", objfmt);
	memset(&gitlink, 0xab, sizeof(gitlink));
	if (algo == UG_HASH_SHA1)
		memset(gitlink.id + 20, 0, 12);
	/* git order: "a-b" < "a.txt" < "a/" (a tree sorts as if followed by '/') */
	e[0] = (ug_tree_entry){ UG_MODE_TREE, subtree, "a", 1 };
	e[1] = (ug_tree_entry){ UG_MODE_BLOB, blob, "a.txt", 5 };
	e[2] = (ug_tree_entry){ UG_MODE_EXEC, exe, "run", 3 };
	e[3] = (ug_tree_entry){ UG_MODE_LINK, link, "lnk", 3 };
	e[4] = (ug_tree_entry){ UG_MODE_BLOB, blob, "a-b", 3 };
	e[5] = (ug_tree_entry){ UG_MODE_GITLINK, gitlink, "mod", 3 };
	is_int(ug_tree_create(repo, &root, e, 6), 0, "%s: root tree written", objfmt);
	ug_oid_tohex(sub_hex, &subtree, algo);
	{
		char blob_hex[UG_OID_MAXHEX + 1], exe_hex[UG_OID_MAXHEX + 1], link_hex[UG_OID_MAXHEX + 1];
		char gl_hex[UG_OID_MAXHEX + 1];

		ug_oid_tohex(blob_hex, &blob, algo);
		ug_oid_tohex(exe_hex, &exe, algo);
		ug_oid_tohex(link_hex, &link, algo);
		ug_oid_tohex(gl_hex, &gitlink, algo);
		ok(!strcmp(sh_str("cd '%s' && printf '100644 blob %s\\ta.txt\\n040000 tree %s\\ta\\n"
				  "100755 blob %s\\trun\\n120000 blob %s\\tlnk\\n100644 blob %s\\ta-b\\n"
				  "160000 commit %s\\tmod\\n' | git mktree --missing",
				  dir, blob_hex, sub_hex, exe_hex, link_hex, blob_hex, gl_hex),
			   ug_oid_tohex(hex, &root, algo)),
		   "%s: the tree id equals git mktree's", objfmt);
	}
	ok(!strcmp(sh_str("cd '%s' && git ls-tree %s | cut -f2 | tr '\\n' ' '", dir, hex),
		   "a-b a.txt a lnk mod run "),
	   "%s: entries in git's order", objfmt);
	ok(!strcmp(sh_str("cd '%s' && git cat-file -p %s | head -c 6", dir, hex), "100644"), "%s: cat-file",
	   objfmt);

	err = ug_tree_lookup(&t, repo, &root);
	ok(!err && t->count == 6 && ug_tree_find(t, "a", 1) &&
		   ug_tree_find(t, "a", 1)->mode == UG_MODE_TREE && ug_tree_find(t, "mod", 3)->mode == UG_MODE_GITLINK,
	   "%s: the written tree reads back", objfmt);
	if (!err)
		ug_tree_free(t);

	/* refused entries */
	e[1].name = "a";
	e[1].namelen = 1;
	is_int(ug_tree_create(repo, &root, e, 2), UG_EINVALID, "%s: duplicate names refused", objfmt);
	e[1].name = ".GIT";
	e[1].namelen = 4;
	is_int(ug_tree_create(repo, &root, e, 2), UG_EINVALID, "%s: .GIT refused", objfmt);
	e[1].name = "x/y";
	e[1].namelen = 3;
	is_int(ug_tree_create(repo, &root, e, 2), UG_EINVALID, "%s: a slash refused", objfmt);
	e[1] = (ug_tree_entry){ 0100664, blob, "a.txt", 5 };
	is_int(ug_tree_create(repo, &root, e, 2), UG_EINVALID, "%s: a non-canonical mode refused", objfmt);
	e[1] = (ug_tree_entry){ UG_MODE_BLOB, blob, "a.txt", 5 };
	ug_tree_create(repo, &root, e, 6);

	/* commits */
	is_int(ug_commit_create(repo, &c1, &root, NULL, 0, "A U Thor <a@example.com>",
				"C O Mitter <c@example.com>", "first\n\nbody"),
	       0, "%s: root commit written", objfmt);
	is_int(ug_commit_create(repo, &c2, &subtree, &c1, 1, "A U Thor <a@example.com>",
				"C O Mitter <c@example.com>", "second\n"),
	       0, "%s: child commit written", objfmt);
	is_int(ug_commit_create(repo, &c2, &blob, &c1, 1, "A <a@b>", "A <a@b>", "x"), UG_EINVALID,
	       "%s: a blob as the tree is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &subtree, &root, 1, "A <a@b>", "A <a@b>", "x"), UG_EINVALID,
	       "%s: a tree as a parent is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &subtree, NULL, 0, "A a@b", "A <a@b>", "x"), UG_EINVALID,
	       "%s: an ident without <email> is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &subtree, NULL, 0, "A <a@b>\nx", "A <a@b>", "x"), UG_EINVALID,
	       "%s: an ident with a newline is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &subtree, &c1, 1, "A U Thor <a@example.com>",
				"C O Mitter <c@example.com>", "second\n"),
	       0, "%s: child commit written again", objfmt);
	ok(!strcmp(sh_str("cd '%s' && git rev-parse %s^", dir, ug_oid_tohex(hex, &c2, algo)),
		   ug_oid_tohex(sub_hex, &c1, algo)),
	   "%s: git sees the parent", objfmt);
	ok(!strcmp(sh_str("cd '%s' && git log --format='%%an|%%ce|%%s|%%b' -1 %s", dir,
			  ug_oid_tohex(hex, &c1, algo)),
		   "A U Thor|c@example.com|first|body"),
	   "%s: git reads author, committer and message", objfmt);
	err = ug_commit_lookup(&c, repo, &c2);
	ok(!err && c->nparents == 1 && ug_oid_equal(&c->parents[0], &c1) && ug_oid_equal(&c->tree, &subtree) &&
		   !strncmp(c->author, "A U Thor <a@example.com> ", 25) && !strcmp(c->message, "second\n") &&
		   c->time > 1600000000,
	   "%s: the commit reads back", objfmt);
	if (!err)
		ug_commit_free(c);
	is_int(ug_commit_lookup(&c, repo, &root), UG_ECORRUPT, "%s: a tree is not a commit", objfmt);
	is_int(ug_tree_lookup(&t, repo, &c1), UG_ECORRUPT, "%s: a commit is not a tree", objfmt);

	/* the author date from the environment, raw form */
	setenv("GIT_AUTHOR_DATE", "@1234567890 -0700", 1);
	setenv("GIT_COMMITTER_DATE", "1234567999 +0530", 1);
	ok(!ug_commit_create(repo, &c2, &subtree, NULL, 0, "A <a@b>", "C <c@d>", "dated") &&
		   !ug_commit_lookup(&c, repo, &c2),
	   "%s: a dated commit", objfmt);
	ok(!strncmp(c->author, "A <a@b> 1234567890 -0700", 25) && c->time == 1234567999 && c->tz_minutes == 330,
	   "%s: GIT_AUTHOR_DATE and GIT_COMMITTER_DATE are used", objfmt);
	ug_commit_free(c);
	unsetenv("GIT_AUTHOR_DATE");
	unsetenv("GIT_COMMITTER_DATE");

	/* an annotated tag made by git, peeled by us */
	{
		ug_oid tag, peeled;
		ug_otype type;

		sh("cd '%s' && git tag -a -m t1 t1 %s && git -c advice.nestedTag=false tag -a -m t2 t2 t1", dir, ug_oid_tohex(hex, &c1, algo));
		ok(!ug_oid_fromhex(&tag, sh_str("cd '%s' && git rev-parse t2", dir), ug_hash_hexsz(algo), algo) &&
			   !ug_tag_peel(repo, &tag, &peeled, &type) && type == UG_OBJ_COMMIT &&
			   ug_oid_equal(&peeled, &c1),
		   "%s: a tag of a tag peels to the commit", objfmt);
		ok(!ug_tag_peel(repo, &root, &peeled, &type) && type == UG_OBJ_TREE && ug_oid_equal(&peeled, &root),
		   "%s: a tree peels to itself", objfmt);
	}
	sh("cd '%s' && git update-ref refs/heads/main %s", dir, ug_oid_tohex(hex, &c2, algo));
	sh("cd '%s' && git symbolic-ref HEAD refs/heads/main", dir);
	is_int(sh("cd '%s' && git fsck --strict --no-dangling >fsck.out 2>&1 || { cat fsck.out >&2; false; }",
		   dir),
	       0, "%s: git fsck --strict accepts what we wrote", objfmt);
	ug_repo_free(repo);
}

int main(void)
{
	ug_log_set_sink(capture);
	test_git_trees();
	test_tree_raw_steps();
	test_commits();
	test_tags();

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ugfmt-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	setenv("HOME", tmpdir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "T", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "T", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	unsetenv("GIT_DIR");
	test_write("sha1");
	test_write("sha256");
	sh("rm -rf '%s'", tmpdir);
	return done_testing();
}
