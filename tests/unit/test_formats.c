/* Unit tests of the object formats: trees, commits and tags from byte vectors, and writing them checked by git. */
#include "commit.h"
#include "error.h"
#include "log.h"
#include "odb.h"
#include "repo.h"
#include "tag.h"
#include "gitutil.h"
#include "logcapture.h"
#include "tap.h"
#include "tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void plain_tree(void)
{
	bytes b = { .len = 0 };
	ug_tree *t;
	const ug_tree_entry *e;

	ENTRY(&b, "100644", "a", 1);
	ENTRY(&b, "100755", "b", 2);
	ENTRY(&b, "120000", "l", 3);
	ENTRY(&b, "40000", "d", 4);
	ENTRY(&b, "160000", "sub", 5);
	require_int(parse_tree(&t, &b), 0, "a plain tree parses");
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
}

/* legacy modes are canonicalized as git's canon_mode does */
static void legacy_modes(void)
{
	bytes b = { .len = 0 };
	ug_tree *t;

	ENTRY(&b, "100664", "g1", 1);
	ENTRY(&b, "100775", "g2", 1);
	ENTRY(&b, "0100644", "g3", 1);
	ENTRY(&b, "100600", "g4", 1);
	ENTRY(&b, "040755", "g5", 1);
	ENTRY(&b, "120777", "g6", 1);
	ENTRY(&b, "160644", "g7", 1);
	require_int(parse_tree(&t, &b), 0, "legacy modes parse");
	ok(t->count == 7 && t->entries[0].mode == UG_MODE_BLOB && t->entries[1].mode == UG_MODE_EXEC &&
		   t->entries[2].mode == UG_MODE_BLOB && t->entries[3].mode == UG_MODE_BLOB &&
		   t->entries[4].mode == UG_MODE_TREE && t->entries[5].mode == UG_MODE_LINK &&
		   t->entries[6].mode == UG_MODE_GITLINK,
	   "100664->100644, 100775->100755, 0100644, 100600, 040755->40000, 120777, 160644");
	ug_tree_free(t);
}

static void empty_tree(void)
{
	bytes b = { .len = 0 };
	ug_tree *t;

	require_int(parse_tree(&t, &b), 0, "the empty tree parses");
	ok(t->count == 0 && !find(t, "x"), "and is empty");
	ug_tree_free(t);
}

static const char *const hostile_names[] = { ".", "..", ".git", ".GIT", ".gIt", "a/b", "/", "" };
#define NHOSTILE (sizeof(hostile_names) / sizeof(*hostile_names))

/* hostile names: hidden, one log line each naming the tree */
static void hostile_names_hidden(void)
{
	bytes b = { .len = 0 };
	ug_tree *t;

	ENTRY(&b, "100644", "good", 9);
	for (size_t i = 0; i < NHOSTILE; i++)
		ENTRY(&b, "100644", hostile_names[i], 1);
	ENTRY(&b, "40000", "zz", 9);
	log_reset();
	require_int(parse_tree(&t, &b), 0, "a tree with hostile names parses");
	is_int((long long)t->count, 2, "only the good entries are shown");
	is_int((long long)t->hidden, (long long)NHOSTILE, "every hostile entry is counted as hidden");
	is_int(loglines, (int)NHOSTILE, "one log line per hidden entry");
	ok(strstr(logbuf, tree_hex) != NULL, "the log names the tree");
	ok(find(t, "good") && find(t, "zz") && !find(t, "..") && !find(t, ".git") && !find(t, ".GIT"),
	   "hidden names cannot be found");
	ok(!strcmp(t->entries[0].name, "good") && !strcmp(t->entries[1].name, "zz"),
	   "stored order kept");
	ug_tree_free(t);
}

static const char *hostile_name(size_t i)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "'%s'", hostile_names[i]);
	return buf;
}

static void name_refused(size_t i)
{
	ok(!ug_tree_name_ok(hostile_names[i], strlen(hostile_names[i])), "name '%s' is refused", hostile_names[i]);
}

static void names_fine(void)
{
	ok(ug_tree_name_ok(".gitignore", 10) && ug_tree_name_ok("...", 3) && ug_tree_name_ok(".g", 2),
	   ".gitignore, ... and .g are fine");
	ok(!ug_tree_name_ok("a\0b", 3), "a NUL inside a name is refused");
}

/* duplicates: the first one wins */
static void duplicates(void)
{
	bytes b = { .len = 0 };
	ug_tree *t;

	ENTRY(&b, "100644", "dup", 1);
	ENTRY(&b, "100644", "other", 2);
	ENTRY(&b, "100755", "dup", 3);
	ENTRY(&b, "40000", "dup", 4);
	log_reset();
	require_int(parse_tree(&t, &b), 0, "a tree with duplicates parses");
	ok(t->count == 2 && t->hidden == 2, "duplicates hidden");
	ok(find(t, "dup") && find(t, "dup")->oid.id[0] == 1 && find(t, "dup")->mode == UG_MODE_BLOB,
	   "the first of the duplicates is kept");
	is_int(loglines, 2, "one log line per duplicate");
	ok(strstr(logbuf, tree_hex) && strstr(logbuf, "dup"), "the log names the tree and the entry");
	ug_tree_free(t);
}

/* A mode's row name: "mode 'M'". */
static const char *mode_name(const char *mode)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "mode '%s'", mode);
	return buf;
}

/* an octal mode of no type git knows: that entry is hidden, the rest read */
static const char *const unknown_modes[] = { "0", "170000", "777777", "30000" };
#define NUNKNOWN_MODES (sizeof(unknown_modes) / sizeof(*unknown_modes))

static const char *unknown_mode_name(size_t i)
{
	return mode_name(unknown_modes[i]);
}

static void unknown_mode(size_t i)
{
	bytes b = { .len = 0 };
	ug_tree *t = NULL;

	ENTRY(&b, "100644", "fine", 1);
	ENTRY(&b, unknown_modes[i], "x", 2);
	ENTRY(&b, "40000", "zz", 3);
	log_reset();
	require_int(parse_tree(&t, &b), 0, "mode '%s': the tree parses", unknown_modes[i]);
	ok(t && t->count == 2 && t->hidden == 1 && find(t, "fine") && find(t, "zz") && !find(t, "x"),
	   "mode '%s': that entry is hidden, the others shown", unknown_modes[i]);
	ok(loglines == 1 && strstr(logbuf, tree_hex) && strstr(logbuf, "'x'"),
	   "mode '%s': one log line names the tree and the entry", unknown_modes[i]);
	ug_tree_free(t);
}

/* malformed: the whole tree is corrupt, the message names it */
static const char *const bad_modes[] = { "10064x", "12345670", "" };
#define NBAD_MODES (sizeof(bad_modes) / sizeof(*bad_modes))

static const char *bad_mode_name(size_t i)
{
	return mode_name(bad_modes[i]);
}

static void malformed_mode(size_t i)
{
	bytes b = { .len = 0 };
	ug_tree *t;

	ENTRY(&b, "100644", "fine", 1);
	ENTRY(&b, bad_modes[i], "x", 1);
	ok(parse_tree(&t, &b) == UG_ECORRUPT && !t && strstr(ug_error_last(), tree_hex),
	   "mode '%s' is corrupt (%s)", bad_modes[i], ug_error_last());
}

static void malformed_trees(void)
{
	bytes b = { .len = 0 };
	ug_tree *t;

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
}

/* a large tree: lookups through the index */
static void large_tree(void)
{
	static bytes big;
	char name[32];
	int all = 1;
	ug_tree *t;

	big.len = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "f%05d", (i * 7919) % 2000);
		ENTRY(&big, "100644", name, (unsigned char)i);
	}
	require_int(parse_tree(&t, &big), 0, "2000 entries parse");
	for (int i = 0; i < 2000 && all; i++) {
		snprintf(name, sizeof(name), "f%05d", (i * 7919) % 2000);
		all = find(t, name) == &t->entries[i];
	}
	ok(all, "every one of 2000 entries is found by name");
	ug_tree_free(t);
}

/* The raw step through a tree's bytes gives what the parser gives, and refuses what it refuses. */
static void tree_raw_steps(void)
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

/* --- two versions of a folder side by side --- */

/* One entry of a model version: name index into NAMES, a folder or a file, its id's fill byte. */
struct ventry {
	int name;
	bool tree;
	unsigned char fill;
};

static const char *const NAMES[] = { "a", "a-b", "a.c", "a0", "ab", "b", "d", "d.x", "dd", "e", "zz" };
#define NNAMES (sizeof(NAMES) / sizeof(NAMES[0]))

static int ventry_cmp(const void *pa, const void *pb)
{
	const struct ventry *a = pa, *b = pb;
	ug_tree_entry x = { .name = NAMES[a->name], .namelen = strlen(NAMES[a->name]),
			    .mode = a->tree ? UG_MODE_TREE : UG_MODE_BLOB };
	ug_tree_entry y = { .name = NAMES[b->name], .namelen = strlen(NAMES[b->name]),
			    .mode = b->tree ? UG_MODE_TREE : UG_MODE_BLOB };

	return ug_tree_entry_cmp(&x, &y);
}

/* A random version: each name present or not, a folder or a file, with a fill of 1..3. */
static size_t random_version(struct ventry *v, unsigned *seed)
{
	size_t n = 0;

	for (int i = 0; i < (int)NNAMES; i++)
		if (rand_r(seed) % 3)
			v[n++] = (struct ventry){ i, rand_r(seed) % 2, (unsigned char)(1 + rand_r(seed) % 3) };
	qsort(v, n, sizeof(*v), ventry_cmp);
	return n;
}

/* The next version back: each entry kept as it is mostly, else changed, dropped, or turned. */
static size_t older_version(const struct ventry *now, size_t n, struct ventry *v, unsigned *seed)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		int roll = rand_r(seed) % 8;

		if (roll == 0)
			continue;
		v[m] = now[i];
		if (roll == 1)
			v[m].fill = (unsigned char)(4 + rand_r(seed) % 3);
		if (roll == 2)
			v[m].tree = !v[m].tree;
		m++;
	}
	if (rand_r(seed) % 2)
		v[m++] = (struct ventry){ rand_r(seed) % (int)NNAMES, false, 9 };
	qsort(v, m, sizeof(*v), ventry_cmp);
	for (size_t i = 1; i < m; i++) /* an added name equal to a kept one: drop it */
		if (!ventry_cmp(&v[i - 1], &v[i]))
			memmove(&v[i], &v[i + 1], (m-- - i - 1) * sizeof(*v)), i--;
	return m;
}

static void serialize(bytes *b, const struct ventry *v, size_t n)
{
	b->len = 0;
	for (size_t i = 0; i < n; i++)
		ENTRY(b, v[i].tree ? "40000" : "100644", NAMES[v[i].name], v[i].fill);
}

/* What the walk was told: "name:fill-or-absent," per entry. */
static int tell(void *ctx, const ug_tree_entry *now, const ug_tree_entry *old)
{
	char *out = ctx;

	sprintf(out + strlen(out), "%.*s%s:%d,", (int)now->namelen, now->name, now->mode == UG_MODE_TREE ? "/" : "",
		old ? old->oid.id[0] : 0);
	return 0;
}

/* The same by the model: each entry of now that older lacks (by name and kind) or holds otherwise. */
static void expected(char *out, const struct ventry *now, size_t n, const struct ventry *old, size_t m)
{
	*out = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct ventry *o = NULL;

		for (size_t j = 0; j < m && !o; j++)
			if (!ventry_cmp(&now[i], &old[j]))
				o = &old[j];
		if (!o || o->fill != now[i].fill)
			sprintf(out + strlen(out), "%s%s:%d,", NAMES[now[i].name], now[i].tree ? "/" : "",
				o ? o->fill : 0);
	}
}

/* Side by side, 2000 random pairs of versions tell exactly the entries the model says differ. */
static void raw_changes_model(void)
{
	static bytes a, b;
	struct ventry now[NNAMES], old[NNAMES + 1];
	char got[512], want[512];
	unsigned seed = 7;
	int bad = 0;

	for (int round = 0; round < 2000; round++) {
		size_t n = random_version(now, &seed), m = older_version(now, n, old, &seed);
		int r;

		serialize(&a, now, n);
		serialize(&b, old, m);
		got[0] = '\0';
		expected(want, now, n, old, m);
		r = ug_tree_raw_changes(a.buf, a.len, b.buf, b.len, UG_HASH_SHA1, tell, got);
		if ((r || strcmp(got, want)) && bad++ < 3)
			tap_diag("round %d: %d, told %s, the model says %s", round, r, got, want);
	}
	is_int(bad, 0, "rounds where the walk and the model disagree");
}

static int stop_at_first(void *ctx, const ug_tree_entry *now, const ug_tree_entry *old)
{
	(void)ctx, (void)now, (void)old;
	return 42;
}

/* Cut or unsorted versions are corrupt; the caller's own result ends the walk. */
static void raw_changes_refused(void)
{
	static bytes a, b;
	char got[256] = "";

	ENTRY(&a, "100644", "a", 1);
	ENTRY(&a, "100644", "b", 1);
	ENTRY(&b, "100644", "a", 1);
	ENTRY(&b, "100644", "b", 2);
	is_int(ug_tree_raw_changes(a.buf, a.len, b.buf, b.len, UG_HASH_SHA1, stop_at_first, NULL), 42,
	       "the callback's result is the walk's");
	is_int(ug_tree_raw_changes(a.buf, a.len - 1, b.buf, b.len, UG_HASH_SHA1, tell, got), UG_ECORRUPT,
	       "a newer version cut short");
	is_int(ug_tree_raw_changes(a.buf, a.len, b.buf, b.len - 1, UG_HASH_SHA1, tell, got), UG_ECORRUPT,
	       "an older version cut short");
	a.len = 0;
	ENTRY(&a, "100644", "c", 1);
	ENTRY(&a, "100644", "b", 3);
	is_int(ug_tree_raw_changes(a.buf, a.len, b.buf, b.len, UG_HASH_SHA1, tell, got), UG_ECORRUPT,
	       "names out of order where the versions differ");
	a.len = 0;
	ENTRY(&a, "100664", "a", 1);
	ENTRY(&a, "100644", "b", 2);
	got[0] = '\0';
	is_int(ug_tree_raw_changes(a.buf, a.len, b.buf, b.len, UG_HASH_SHA1, tell, got), 0, "a legacy mode");
	is_int(strlen(got), 0, "is the same entry as its canonical mode: %s", got);
}

static void signed_merge_commit(void)
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

	require_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)c2, sizeof(c2) - 1), 0,
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
}

static void root_commit(void)
{
	ug_commit *c;
	size_t slen;

	{
		static const char root[] =
			"tree 1111111111111111111111111111111111111111\n"
			"author A <a@b> 1 +0000\n"
			"committer B <b@c> 2 +0000\n"
			"\n"
			"one line";

		require_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)root, sizeof(root) - 1), 0,
			    "a root commit parses");
		ok(c->nparents == 0 && c->parents == NULL && c->time == 2, "no parents");
		ug_commit_subject(c, &slen);
		ok(slen == 8 && !strcmp(c->message, "one line"), "a message without a newline");
		ug_commit_free(c);
	}
}

static void commit_without_message(void)
{
	ug_commit *c;

	{
		static const char nomsg[] =
			"tree 1111111111111111111111111111111111111111\n"
			"author A <a@b> 1 +0000\n"
			"committer B <b@c> 5 +0000\n";

		require_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)nomsg, sizeof(nomsg) - 1), 0,
			    "a commit without a blank line parses (git reads it)");
		ok(c->message_len == 0 && !strcmp(c->message, "") && c->time == 5, "empty message");
		ug_commit_free(c);
	}
}

static void message_with_nul(void)
{
	ug_commit *c;

	{
		static const char nul[] =
			"tree 1111111111111111111111111111111111111111\n"
			"committer B <b@c> 5 +0000\n\nab\0cd";

		require_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)nul, sizeof(nul) - 1), 0,
			    "a message with a NUL parses");
		ok(c->message_len == 5 && !memcmp(c->message, "ab\0cd", 6), "message_len counts past the NUL");
		ug_commit_free(c);
	}
}

static void broken_date(void)
{
	ug_commit *c;

	{
		static const char baddate[] =
			"tree 1111111111111111111111111111111111111111\n"
			"author A <a@b>\n"
			"committer B <b@c> soon\n\nx\n";

		require_int(ug_commit_parse(&c, NULL, NULL, (const unsigned char *)baddate, sizeof(baddate) - 1), 0,
			    "a commit with a broken date parses");
		ok(c->time == 0 && c->tz_minutes == 0, "at time 0, as git shows it");
		ug_commit_free(c);
	}
}

static const struct {
	const char *text, *what;
} bad_commits[] = {
	{ "", "empty" },
	{ "tree 11111111111111111111", "a short tree id" },
	{ "tree 1111111111111111111111111111111111111111", "a tree line without newline" },
	{ "tree 111111111111111111111111111111111111111x\n", "a tree id not hex" },
	{ "tree  1111111111111111111111111111111111111111\n", "two spaces after tree" },
	{ "parent 1111111111111111111111111111111111111111\n", "no tree line" },
	{ "tree 1111111111111111111111111111111111111111\nparent 22222\n", "a short parent id" },
	{ "tree 1111111111111111111111111111111111111111\nparent 2222222222222222222222222222222222222222",
	  "a parent line without newline" },
};
#define NBAD_COMMITS (sizeof(bad_commits) / sizeof(*bad_commits))

static const char *bad_commit_name(size_t i)
{
	return bad_commits[i].what;
}

static void bad_commit(size_t i)
{
	ug_oid oid = tree_id();
	ug_commit *c;

	ok(ug_commit_parse(&c, NULL, &oid, (const unsigned char *)bad_commits[i].text, strlen(bad_commits[i].text)) ==
			   UG_ECORRUPT &&
		   !c && strstr(ug_error_last(), tree_hex),
	   "truncated or bad commit %zu is corrupt, naming it (%s)", i, ug_error_last());
}

static void idents(void)
{
	int64_t t;
	int tz;

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

static void annotated_tag(void)
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

	require_int(ug_tag_parse(&t, NULL, (const unsigned char *)tag, sizeof(tag) - 1, UG_HASH_SHA1), 0,
		    "an annotated tag parses");
	ok(t->target.id[0] == 0x11 && t->target_type == UG_OBJ_COMMIT, "target and type");
	ok(!strcmp(t->name, "v1.0") && !strcmp(t->tagger, "T Agger <t@example.com> 1700000000 +0000"),
	   "name and tagger");
	ok(!strcmp(t->message, "Release 1.0\n-----BEGIN PGP SIGNATURE-----\n"), "message");
	ug_tag_free(t);
}

static void tag_without_tagger(void)
{
	ug_tag *t;

	{
		static const char old[] =
			"object 1111111111111111111111111111111111111111\ntype tree\ntag old\n\nno tagger\n";

		require_int(ug_tag_parse(&t, NULL, (const unsigned char *)old, sizeof(old) - 1, UG_HASH_SHA1), 0,
			    "a tag without tagger parses");
		ok(!strcmp(t->tagger, "") && t->target_type == UG_OBJ_TREE && !strcmp(t->message, "no tagger\n"),
		   "empty tagger");
		ug_tag_free(t);
	}
}

static const struct {
	const char *text, *what;
} bad_tags[] = {
	{ "", "empty" },
	{ "object 1111111111111111111111111111111111111111\n", "only an object line" },
	{ "object 11111111111111111111\ntype commit\ntag x\n\n", "a short object id" },
	{ "object 1111111111111111111111111111111111111111\ntype comet\ntag x\n\n", "an unknown type" },
	{ "object 1111111111111111111111111111111111111111\ntype commit\n\n", "no tag line" },
	{ "object 1111111111111111111111111111111111111111\ntype commit\ntag x", "a tag line without newline" },
	{ "type commit\nobject 1111111111111111111111111111111111111111\ntag x\n\n", "type before object" },
};
#define NBAD_TAGS (sizeof(bad_tags) / sizeof(*bad_tags))

static const char *bad_tag_name(size_t i)
{
	return bad_tags[i].what;
}

static void bad_tag(size_t i)
{
	ug_tag *t;

	is_int(ug_tag_parse(&t, NULL, (const unsigned char *)bad_tags[i].text, strlen(bad_tags[i].text), UG_HASH_SHA1),
	       UG_ECORRUPT, "bad tag %zu is corrupt", i);
}

/* --- writing, with git as the oracle --- */

static char tmpdir[64];

/* One object format's repository and what the cases wrote in it, in order. */
static struct written {
	const char *objfmt;
	char dir[128];
	ug_repo *repo;
	ug_hash_algo algo;
	ug_oid blob, exe, link, subtree, root, c1, c2, gitlink;
	ug_tree_entry e[6];
} w;

/* The repository of format objfmt made by git, w set for it; 0 or the case failed. */
static int write_start(const char *objfmt)
{
	int err;

	ug_repo_free(w.repo);
	memset(&w, 0, sizeof(w));
	w.objfmt = objfmt;
	snprintf(w.dir, sizeof(w.dir), "%s/%s", tmpdir, objfmt);
	if (sh("git init -q --object-format=%s '%s'", objfmt, w.dir)) {
		ok(0, "git init %s", objfmt);
		return -1;
	}
	err = ug_repo_open(&w.repo, w.dir);
	if (!is_int(err, 0, "open the %s repository (%s)", objfmt, err ? ug_error_last() : "")) {
		w.repo = NULL;
		return -1;
	}
	w.algo = ug_repo_algo(w.repo);
	is_int(w.algo, !strcmp(objfmt, "sha256") ? UG_HASH_SHA256 : UG_HASH_SHA1, "%s: object format", objfmt);
	return 0;
}

/* The blobs, the subtree and the root tree of six entries, written. */
static void write_trees(const char *objfmt)
{
	char hex[UG_OID_MAXHEX + 1], sub_hex[UG_OID_MAXHEX + 1], blob_hex[UG_OID_MAXHEX + 1];
	char exe_hex[UG_OID_MAXHEX + 1], link_hex[UG_OID_MAXHEX + 1], gl_hex[UG_OID_MAXHEX + 1];
	ug_odb *odb;
	ug_tree_entry sub_e[1];
	ug_tree *t;
	int err;

	if (write_start(objfmt))
		return;
	odb = ug_repo_odb(w.repo);
	require(!ug_odb_write(odb, &w.blob, UG_OBJ_BLOB, "hello\n", 6) &&
			!ug_odb_write(odb, &w.exe, UG_OBJ_BLOB, "#!/bin/sh\n", 10) &&
			!ug_odb_write(odb, &w.link, UG_OBJ_BLOB, "a.txt", 5),
		"%s: blobs written", objfmt);
	sub_e[0] = (ug_tree_entry){ UG_MODE_BLOB, w.blob, "inner", 5 };
	require_int(ug_tree_create(w.repo, &w.subtree, sub_e, 1), 0, "%s: subtree written", objfmt);
	memset(&w.gitlink, 0xab, sizeof(w.gitlink));
	if (w.algo == UG_HASH_SHA1)
		memset(w.gitlink.id + 20, 0, 12);
	/* git order: "a-b" < "a.txt" < "a/" (a tree sorts as if followed by '/') */
	w.e[0] = (ug_tree_entry){ UG_MODE_TREE, w.subtree, "a", 1 };
	w.e[1] = (ug_tree_entry){ UG_MODE_BLOB, w.blob, "a.txt", 5 };
	w.e[2] = (ug_tree_entry){ UG_MODE_EXEC, w.exe, "run", 3 };
	w.e[3] = (ug_tree_entry){ UG_MODE_LINK, w.link, "lnk", 3 };
	w.e[4] = (ug_tree_entry){ UG_MODE_BLOB, w.blob, "a-b", 3 };
	w.e[5] = (ug_tree_entry){ UG_MODE_GITLINK, w.gitlink, "mod", 3 };
	require_int(ug_tree_create(w.repo, &w.root, w.e, 6), 0, "%s: root tree written", objfmt);
	ug_oid_tohex(sub_hex, &w.subtree, w.algo);
	ug_oid_tohex(blob_hex, &w.blob, w.algo);
	ug_oid_tohex(exe_hex, &w.exe, w.algo);
	ug_oid_tohex(link_hex, &w.link, w.algo);
	ug_oid_tohex(gl_hex, &w.gitlink, w.algo);
	ok(!strcmp(sh_str("cd '%s' && printf '100644 blob %s\\ta.txt\\n040000 tree %s\\ta\\n"
			  "100755 blob %s\\trun\\n120000 blob %s\\tlnk\\n100644 blob %s\\ta-b\\n"
			  "160000 commit %s\\tmod\\n' | git mktree --missing",
			  w.dir, blob_hex, sub_hex, exe_hex, link_hex, blob_hex, gl_hex),
		   ug_oid_tohex(hex, &w.root, w.algo)),
	   "%s: the tree id equals git mktree's", objfmt);
	ok(!strcmp(sh_str("cd '%s' && git ls-tree %s | cut -f2 | tr '\\n' ' '", w.dir, hex),
		   "a-b a.txt a lnk mod run "),
	   "%s: entries in git's order", objfmt);
	ok(!strcmp(sh_str("cd '%s' && git cat-file -p %s | head -c 6", w.dir, hex), "100644"), "%s: cat-file",
	   objfmt);
	err = ug_tree_lookup(&t, w.repo, &w.root);
	ok(!err && t->count == 6 && ug_tree_find(t, "a", 1) &&
		   ug_tree_find(t, "a", 1)->mode == UG_MODE_TREE && ug_tree_find(t, "mod", 3)->mode == UG_MODE_GITLINK,
	   "%s: the written tree reads back", objfmt);
	if (!err)
		ug_tree_free(t);
}

/* refused entries */
static void write_refused_entries(const char *objfmt)
{
	ug_tree_entry e[6];
	ug_oid root;

	require(w.repo && !strcmp(w.objfmt, objfmt), "%s: the trees of the case before", objfmt);
	memcpy(e, w.e, sizeof(e));
	e[1].name = "a";
	e[1].namelen = 1;
	is_int(ug_tree_create(w.repo, &root, e, 2), UG_EINVALID, "%s: duplicate names refused", objfmt);
	e[1].name = ".GIT";
	e[1].namelen = 4;
	is_int(ug_tree_create(w.repo, &root, e, 2), UG_EINVALID, "%s: .GIT refused", objfmt);
	e[1].name = "x/y";
	e[1].namelen = 3;
	is_int(ug_tree_create(w.repo, &root, e, 2), UG_EINVALID, "%s: a slash refused", objfmt);
	e[1] = (ug_tree_entry){ 0100664, w.blob, "a.txt", 5 };
	is_int(ug_tree_create(w.repo, &root, e, 2), UG_EINVALID, "%s: a non-canonical mode refused", objfmt);
}

static void write_commits(const char *objfmt)
{
	char hex[UG_OID_MAXHEX + 1], hex2[UG_OID_MAXHEX + 1];
	ug_repo *repo = w.repo;
	ug_commit *c;
	int err;

	require(repo && !strcmp(w.objfmt, objfmt), "%s: the trees of the case before", objfmt);
	require_int(ug_commit_create(repo, &w.c1, &w.root, NULL, 0, "A U Thor <a@example.com>",
				     "C O Mitter <c@example.com>", "first\n\nbody"),
		    0, "%s: root commit written", objfmt);
	require_int(ug_commit_create(repo, &w.c2, &w.subtree, &w.c1, 1, "A U Thor <a@example.com>",
				     "C O Mitter <c@example.com>", "second\n"),
		    0, "%s: child commit written", objfmt);
	ok(!strcmp(sh_str("cd '%s' && git rev-parse %s^", w.dir, ug_oid_tohex(hex, &w.c2, w.algo)),
		   ug_oid_tohex(hex2, &w.c1, w.algo)),
	   "%s: git sees the parent", objfmt);
	ok(!strcmp(sh_str("cd '%s' && git log --format='%%an|%%ce|%%s|%%b' -1 %s", w.dir,
			  ug_oid_tohex(hex, &w.c1, w.algo)),
		   "A U Thor|c@example.com|first|body"),
	   "%s: git reads author, committer and message", objfmt);
	err = ug_commit_lookup(&c, repo, &w.c2);
	ok(!err && c->nparents == 1 && ug_oid_equal(&c->parents[0], &w.c1) && ug_oid_equal(&c->tree, &w.subtree) &&
		   !strncmp(c->author, "A U Thor <a@example.com> ", 25) && !strcmp(c->message, "second\n") &&
		   c->time > 1600000000,
	   "%s: the commit reads back", objfmt);
	if (!err)
		ug_commit_free(c);
}

static void write_refused_commits(const char *objfmt)
{
	ug_repo *repo = w.repo;
	ug_commit *c;
	ug_tree *t;
	ug_oid c2;

	require(repo && !strcmp(w.objfmt, objfmt), "%s: the trees of the case before", objfmt);
	is_int(ug_commit_create(repo, &c2, &w.blob, &w.c1, 1, "A <a@b>", "A <a@b>", "x"), UG_EINVALID,
	       "%s: a blob as the tree is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &w.subtree, &w.root, 1, "A <a@b>", "A <a@b>", "x"), UG_EINVALID,
	       "%s: a tree as a parent is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &w.subtree, NULL, 0, "A a@b", "A <a@b>", "x"), UG_EINVALID,
	       "%s: an ident without <email> is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &w.subtree, NULL, 0, "A <a@b>\nx", "A <a@b>", "x"), UG_EINVALID,
	       "%s: an ident with a newline is refused", objfmt);
	is_int(ug_commit_create(repo, &c2, &w.subtree, &w.c1, 1, "A U Thor <a@example.com>",
				"C O Mitter <c@example.com>", "second\n"),
	       0, "%s: child commit written again", objfmt);
	is_int(ug_commit_lookup(&c, repo, &w.root), UG_ECORRUPT, "%s: a tree is not a commit", objfmt);
	is_int(ug_tree_lookup(&t, repo, &w.c1), UG_ECORRUPT, "%s: a commit is not a tree", objfmt);
}

/* the author date from the environment, raw form */
static void write_dated(const char *objfmt)
{
	ug_commit *c;
	ug_oid c3;

	require(w.repo && !strcmp(w.objfmt, objfmt), "%s: the trees of the case before", objfmt);
	setenv("GIT_AUTHOR_DATE", "@1234567890 -0700", 1);
	setenv("GIT_COMMITTER_DATE", "1234567999 +0530", 1);
	if (ok(!ug_commit_create(w.repo, &c3, &w.subtree, NULL, 0, "A <a@b>", "C <c@d>", "dated") &&
		       !ug_commit_lookup(&c, w.repo, &c3),
	       "%s: a dated commit", objfmt)) {
		ok(!strncmp(c->author, "A <a@b> 1234567890 -0700", 25) && c->time == 1234567999 &&
			   c->tz_minutes == 330,
		   "%s: GIT_AUTHOR_DATE and GIT_COMMITTER_DATE are used", objfmt);
		ug_commit_free(c);
	}
	unsetenv("GIT_AUTHOR_DATE");
	unsetenv("GIT_COMMITTER_DATE");
}

/* an annotated tag made by git, peeled by us; then git fsck over all of it */
static void write_tags_fsck(const char *objfmt)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_oid tag, peeled;
	ug_otype type;

	require(w.repo && !strcmp(w.objfmt, objfmt), "%s: the trees of the case before", objfmt);
	sh("cd '%s' && git tag -a -m t1 t1 %s && git -c advice.nestedTag=false tag -a -m t2 t2 t1", w.dir,
	   ug_oid_tohex(hex, &w.c1, w.algo));
	ok(!ug_oid_fromhex(&tag, sh_str("cd '%s' && git rev-parse t2", w.dir), ug_hash_hexsz(w.algo), w.algo) &&
		   !ug_tag_peel(w.repo, &tag, &peeled, &type) && type == UG_OBJ_COMMIT &&
		   ug_oid_equal(&peeled, &w.c1),
	   "%s: a tag of a tag peels to the commit", objfmt);
	ok(!ug_tag_peel(w.repo, &w.root, &peeled, &type) && type == UG_OBJ_TREE && ug_oid_equal(&peeled, &w.root),
	   "%s: a tree peels to itself", objfmt);
	sh("cd '%s' && git update-ref refs/heads/main %s", w.dir, ug_oid_tohex(hex, &w.c2, w.algo));
	sh("cd '%s' && git symbolic-ref HEAD refs/heads/main", w.dir);
	is_int(sh("cd '%s' && git fsck --strict --no-dangling >fsck.out 2>&1 || { cat fsck.out >&2; false; }",
		  w.dir),
	       0, "%s: git fsck --strict accepts what we wrote", objfmt);
}

#define WRITE_CASES(fmt)                                                                 \
	static void write_trees_##fmt(void) { write_trees(#fmt); }                       \
	static void write_refused_entries_##fmt(void) { write_refused_entries(#fmt); }   \
	static void write_commits_##fmt(void) { write_commits(#fmt); }                   \
	static void write_refused_commits_##fmt(void) { write_refused_commits(#fmt); }   \
	static void write_dated_##fmt(void) { write_dated(#fmt); }                       \
	static void write_tags_fsck_##fmt(void) { write_tags_fsck(#fmt); }
WRITE_CASES(sha1)
WRITE_CASES(sha256)

#define WRITE_TABLE(fmt)                                                                                  \
	TAP_CASE("write (" #fmt "): trees equal git mktree's, in git's order, read back", write_trees_##fmt), \
	TAP_CASE("write (" #fmt "): duplicate, .GIT, slashed names and odd modes refused",                  \
		 write_refused_entries_##fmt),                                                             \
	TAP_CASE("write (" #fmt "): commits git reads, parent, author, message", write_commits_##fmt),       \
	TAP_CASE("write (" #fmt "): bad trees, parents and idents refused; a rewrite works",                \
		 write_refused_commits_##fmt),                                                             \
	TAP_CASE("write (" #fmt "): GIT_AUTHOR_DATE and GIT_COMMITTER_DATE are used", write_dated_##fmt),    \
	TAP_CASE("write (" #fmt "): git's tags peel; git fsck --strict accepts it all", write_tags_fsck_##fmt)

static const struct tap_case cases[] = {
	TAP_CASE("tree: a plain tree, its modes, exact finds, NUL-terminated names", plain_tree),
	TAP_CASE("tree: legacy modes are canonicalized as git does", legacy_modes),
	TAP_CASE("tree: the empty tree", empty_tree),
	TAP_CASE("tree: hostile names are hidden, one log line each naming the tree", hostile_names_hidden),
	TAP_ROWS("tree: a hostile name is refused", name_refused, NHOSTILE, hostile_name),
	TAP_CASE("tree: .gitignore, ... and .g are fine names, a NUL inside is not", names_fine),
	TAP_CASE("tree: of duplicates the first wins, the rest hidden and logged", duplicates),
	TAP_ROWS("tree: an unknown mode hides its entry only", unknown_mode, NUNKNOWN_MODES, unknown_mode_name),
	TAP_ROWS("tree: a malformed mode makes the tree corrupt, named", malformed_mode, NBAD_MODES, bad_mode_name),
	TAP_CASE("tree: a truncated id, itself inside, no NUL, no name, one byte are corrupt", malformed_trees),
	TAP_CASE("tree: 2000 entries found by name", large_tree),
	TAP_CASE("tree: the raw step gives what the parser gives, refuses what it refuses", tree_raw_steps),
	TAP_CASE("tree: two versions side by side tell what the model says differs", raw_changes_model),
	TAP_CASE("tree: side by side, cut or unsorted versions are corrupt", raw_changes_refused),
	TAP_CASE("commit: a signed merge, its people, time and message", signed_merge_commit),
	TAP_CASE("commit: a root commit, a message without a newline", root_commit),
	TAP_CASE("commit: no blank line, an empty message", commit_without_message),
	TAP_CASE("commit: a message with a NUL", message_with_nul),
	TAP_CASE("commit: a broken date is time 0", broken_date),
	TAP_ROWS("commit: corrupt, named", bad_commit, NBAD_COMMITS, bad_commit_name),
	TAP_CASE("ident: times and zones, the last '>', bad ones refused, len respected", idents),
	TAP_CASE("tag: an annotated tag, target, name, tagger, message", annotated_tag),
	TAP_CASE("tag: a tag without tagger", tag_without_tagger),
	TAP_ROWS("tag: corrupt", bad_tag, NBAD_TAGS, bad_tag_name),
	WRITE_TABLE(sha1),
	WRITE_TABLE(sha256),
};

int main(void)
{
	int status;

	ug_log_set_sink(log_capture);
	if (git_home_plain(tmpdir, sizeof(tmpdir), "ugfmt"))
		return 1;
	status = TAP_RUN(cases);
	ug_repo_free(w.repo);
	sh("rm -rf '%s'", tmpdir);
	return status;
}
