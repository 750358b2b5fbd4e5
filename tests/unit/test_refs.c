/* Unit tests of refs: loose and packed refs, symbolic chains, compare-and-swap updates, reflogs, and name rules against git. */
#include "error.h"
#include "log.h"
#include "oid.h"
#include "odb.h"
#include "refs.h"
#include "repo.h"
#include "gitutil.h"
#include "logcapture.h"
#include "tap.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

/* Write a file under dir, creating its directories. */
static void put(const char *rel, const char *content)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0777);
		*slash = '/';
	}
	f = fopen(path, "w");
	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

static const char *get(const char *rel)
{
	static char buf[4096];
	char path[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return f ? buf : NULL;
}

static bool exists(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

static ug_oid id(char c)
{
	char hex[41];
	ug_oid o;

	memset(hex, c, 40);
	hex[40] = '\0';
	ug_oid_fromhex(&o, hex, 40, UG_HASH_SHA1);
	return o;
}

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C "cccccccccccccccccccccccccccccccccccccccc"
#define D "dddddddddddddddddddddddddddddddddddddddd"
#define E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define T "1111111111111111111111111111111111111111"

static bool is_ref(ug_refdb *db, const char *name, char want)
{
	ug_ref r;
	bool same;

	if (ug_refs_read(db, name, &r))
		return false;
	same = !r.target && ug_oid_equal(&r.oid, &(ug_oid){ 0 }) == false;
	same = same && ug_oid_equal(&r.oid, &(ug_oid[]){ id(want) }[0]);
	ug_ref_release(&r);
	return same;
}

/* The git refdb over dir, opened by the first case, shared by the cases in order. */
static ug_refdb *gdb;

static void git_refdb_open(void)
{
	put("HEAD", "ref: refs/heads/main\n");
	put("packed-refs", "# pack-refs with: peeled fully-peeled sorted \n"
			   A " refs/heads/main\n"
			   B " refs/heads/old\n"
			   A " refs/tags/light\n"
			   T " refs/tags/v1\n"
			   "^" C "\n");
	put("refs/heads/main", D "\n");
	put("refs/heads/main.lock", D "\n");
	put("refs/heads/bad..name", D "\n");
	put("refs/heads/junk", "garbage\n");
	put("refs/heads/deep/er/x", A " trailing words are ignored by git\n");
	put("refs/heads/l1", "ref: refs/heads/l2\n");
	put("refs/heads/l2", "ref: refs/heads/l1");
	put("refs/heads/chain1", "ref: refs/heads/chain2\n");
	put("refs/heads/chain2", "ref: refs/heads/chain3\n");
	put("refs/heads/chain3", "ref: refs/heads/chain4\n");
	put("refs/heads/chain4", "ref: refs/heads/chain5\n");
	put("refs/heads/chain5", "ref: refs/heads/chain6\n");
	put("refs/heads/chain6", A "\n");
	put("refs/remotes/origin/HEAD", "ref: refs/heads/chain1\n");
	mkdir(strcat(strcpy((char[128]){ 0 }, dir), "/refs/tags"), 0777);
	if (!is_int(ug_refdb_open_git(&gdb, dir, dir, UG_HASH_SHA1), 0, "open a git refdb"))
		gdb = NULL;
}

/* The git refdb of the first case; false (the case failed) when it did not open. */
static bool have_gdb(void)
{
	return ok(gdb != NULL, "the git refdb of the first case");
}

static void reads(void)
{
	ug_refdb *db = gdb;
	ug_ref r;

	if (!have_gdb())
		return;
	ok(is_ref(db, "refs/heads/main", 'd'), "a loose ref overrides the packed one");
	ok(is_ref(db, "refs/heads/old", 'b'), "a packed-only ref");
	ok(!ug_refs_read(db, "refs/tags/v1", &r) && r.peeled_known && ug_oid_equal(&r.peeled, &(ug_oid[]){ id('c') }[0]),
	   "a peeled line gives the tag's target");
	ug_ref_release(&r);
	ok(!ug_refs_read(db, "refs/tags/light", &r) && !r.peeled_known,
	   "fully-peeled: a ref without a peeled line is left for the object to tell");
	ug_ref_release(&r);
	ok(!ug_refs_read(db, "HEAD", &r) && r.target && !strcmp(r.target, "refs/heads/main"), "HEAD is symbolic");
	ug_ref_release(&r);
	is_int(ug_refs_read(db, "refs/heads/nope", &r), UG_ENOTFOUND, "a missing ref");
	is_int(ug_refs_read(db, "refs/heads/../../config", &r), UG_EINVALID, "a name with .. is refused");
	is_int(ug_refs_read(db, "config", &r), UG_EINVALID, "a lowercase one-level name is refused");
	is_int(ug_refs_read(db, "refs/heads", &r), UG_ENOTFOUND, "a directory is not a ref");
}

static void resolve_head(void)
{
	ug_refdb *db = gdb;
	char *final;
	ug_oid o;

	if (!have_gdb())
		return;
	ok(!ug_refs_resolve(db, "HEAD", &o, &final) && ug_oid_equal(&o, &(ug_oid[]){ id('d') }[0]) &&
		   !strcmp(final, "refs/heads/main"),
	   "HEAD resolves through main");
	free(final);
}

static void list_all(void)
{
	ug_refdb *db = gdb;
	ug_ref_list l;

	if (!have_gdb())
		return;
	log_reset();
	require_int(ug_refs_list(db, "", &l), 0, "list all");
	{
		static const char *const want[] = { "refs/heads/chain1", "refs/heads/chain2", "refs/heads/chain3",
			"refs/heads/chain4", "refs/heads/chain5", "refs/heads/chain6", "refs/heads/deep/er/x",
			"refs/heads/l1", "refs/heads/l2", "refs/heads/main", "refs/heads/old",
			"refs/remotes/origin/HEAD", "refs/tags/light", "refs/tags/v1" };
		size_t n = sizeof(want) / sizeof(*want);
		bool same = l.count == n;

		for (size_t i = 0; same && i < n; i++)
			same = !strcmp(l.refs[i].name, want[i]);
		ok(same, "every ref once, sorted, no lock files, no invalid names (%zu refs)", l.count);
		if (!same)
			for (size_t i = 0; i < l.count; i++)
				tap_diag("%s", l.refs[i].name);
	}
	ok(loglines >= 2 && strstr(logbuf, "bad..name") && strstr(logbuf, "refs/heads/junk"),
	   "the invalid name and the corrupt ref were logged");
	ug_ref_list_release(&l);
}

static void list_prefixes(void)
{
	ug_refdb *db = gdb;
	ug_ref_list l;

	if (!have_gdb())
		return;
	is_int(ug_refs_list(db, "refs/heads/", &l), 0, "list branches");
	is_int((long long)l.count, 11, "eleven branches");
	ug_ref_list_release(&l);
	is_int(ug_refs_list(db, "refs/tags/v", &l), 0, "list a partial prefix");
	ok(l.count == 1 && !strcmp(l.refs[0].name, "refs/tags/v1") && l.refs[0].peeled_known,
	   "only refs/tags/v1, with its peeled id");
	ug_ref_list_release(&l);
	is_int(ug_refs_list(db, "refs/heads/ma", &l), 0, "list refs/heads/ma");
	ok(l.count == 1 && !strcmp(l.refs[0].name, "refs/heads/main") &&
		   ug_oid_equal(&l.refs[0].oid, &(ug_oid[]){ id('d') }[0]),
	   "the loose main, once");
	ug_ref_list_release(&l);
	is_int(ug_refs_list(db, "nothing/", &l), 0, "list a prefix outside refs/");
	ok(l.count == 0, "empty");
	ug_ref_list_release(&l);
}

static void symbolic_chains(void)
{
	ug_refdb *db = gdb;
	char *final;
	ug_oid o;

	if (!have_gdb())
		return;
	ok(!ug_refs_resolve(db, "refs/heads/chain1", &o, &final) && !strcmp(final, "refs/heads/chain6") &&
		   ug_oid_equal(&o, &(ug_oid[]){ id('a') }[0]),
	   "five symbolic hops resolve");
	free(final);
	is_int(ug_refs_resolve(db, "refs/remotes/origin/HEAD", &o, NULL), UG_ECORRUPT,
	       "six symbolic hops are too deep");
	is_int(ug_refs_resolve(db, "refs/heads/l1", &o, NULL), UG_ECORRUPT, "a symbolic loop is corrupt");
	ok(strstr(ug_error_last(), "refs/heads/l1") != NULL, "the message names the ref");
}

/* The reflog line: "OLD NEW Name <email> EPOCH +HHMM\tMSG\n" */
static bool reflog_line_ok(const char *line, const char *old, const char *new, const char *msg)
{
	char want[256];
	const char *p;
	size_t wl;

	snprintf(want, sizeof(want), "%s %s Tester <t@example.com> ", old, new);
	wl = strlen(want);
	if (strncmp(line, want, wl))
		return false;
	p = line + wl;
	if (strspn(p, "0123456789") < 9)
		return false;
	p += strspn(p, "0123456789");
	if (p[0] != ' ' || (p[1] != '+' && p[1] != '-') || strspn(p + 2, "0123456789") != 4 || p[6] != '\t')
		return false;
	p += 7;
	return !strncmp(p, msg, strlen(msg)) && p[strlen(msg)] == '\n' && p[strlen(msg) + 1] == '\0';
}

static void update_main(void)
{
	ug_refdb *db = gdb;
	ug_oid d = id('d'), e = id('e');
	const char *s;

	if (!have_gdb())
		return;
	sh("rm -f '%s/refs/heads/main.lock' '%s/refs/heads/bad..name' '%s/refs/heads/junk'", dir, dir, dir);
	is_int(ug_refs_update(db, "refs/heads/main", &e, &d, "Tester <t@example.com>", "commit: two\nlines"), 0,
	       "update main d -> e");
	s = get("refs/heads/main");
	ok(s && !strcmp(s, E "\n"), "the loose file holds e and a newline");
	s = get("logs/refs/heads/main");
	ok(s && reflog_line_ok(s, D, E, "commit: two lines"),
	   "the reflog line has git's format");
	s = get("logs/HEAD");
	ok(s && reflog_line_ok(s, D, E, "commit: two lines"),
	   "HEAD names main, so logs/HEAD has the line too");
	ok(!exists("refs/heads/main.lock"), "no lock left");
}

static void update_stale(void)
{
	ug_refdb *db = gdb;
	ug_oid a = id('a'), d = id('d'), zero = { { 0 } };

	if (!have_gdb())
		return;
	is_int(ug_refs_update(db, "refs/heads/main", &a, &d, "Tester <t@example.com>", "stale"), UG_ECONFLICT,
	       "a stale old value is refused");
	ok(strstr(ug_error_last(), "refs/heads/main") != NULL, "the conflict names the ref");
	ok(is_ref(db, "refs/heads/main", 'e') && !exists("refs/heads/main.lock"), "value kept, lock removed");
	is_int(ug_refs_update(db, "refs/heads/main", &a, &zero, "Tester <t@example.com>", "x"), UG_ECONFLICT,
	       "a zero old value means the ref must not exist");
}

static void update_create(void)
{
	ug_refdb *db = gdb;
	ug_oid a = id('a'), zero = { { 0 } };
	const char *s;

	if (!have_gdb())
		return;
	is_int(ug_refs_update(db, "refs/heads/new/branch", &a, &zero, "Tester <t@example.com>", "create"), 0,
	       "creating a ref in a new directory");
	ok(is_ref(db, "refs/heads/new/branch", 'a') && exists("logs/refs/heads/new/branch"), "created, with a reflog");
	s = get("logs/HEAD");
	ok(s && !strstr(s, "create"), "logs/HEAD untouched for another branch");
}

/* Updating name while lock (its lock file, under dir) is held: a conflict, the
 * lock left alone, the value (want) kept. Both backends. */
static void held_lock(ug_refdb *db, const char *name, const char *lock, char want)
{
	ug_oid a = id('a');

	put(lock, "");
	is_int(ug_refs_update(db, name, &a, NULL, "Tester <t@example.com>", "locked"), UG_ECONFLICT,
	       "a held lock is a conflict");
	ok(exists(lock) && is_ref(db, name, want), "someone else's lock is left alone, value kept");
	sh("rm -f '%s/%s'", dir, lock);
}

static void update_locked(void)
{
	if (have_gdb())
		held_lock(gdb, "refs/heads/main", "refs/heads/main.lock", 'e');
}

static void update_packed(void)
{
	ug_refdb *db = gdb;
	ug_oid a = id('a'), b = id('b');
	const char *s;

	if (!have_gdb())
		return;
	is_int(ug_refs_update(db, "refs/heads/old", &a, &b, "Tester <t@example.com>", "over packed"), 0,
	       "updating a packed-only ref");
	ok(is_ref(db, "refs/heads/old", 'a') && exists("refs/heads/old"), "the new loose ref overrides");
	s = get("logs/refs/heads/old");
	ok(s && reflog_line_ok(s, B, A, "over packed"), "old value from packed-refs");
}

static void update_df_conflicts(void)
{
	ug_refdb *db = gdb;
	ug_oid a = id('a');

	if (!have_gdb())
		return;
	is_int(ug_refs_update(db, "refs/heads/main/sub", &a, NULL, "Tester <t@example.com>", "df"), UG_ECONFLICT,
	       "a ref under an existing ref is refused");
	is_int(ug_refs_update(db, "refs/heads/new", &a, NULL, "Tester <t@example.com>", "df"), UG_ECONFLICT,
	       "a ref over a directory of refs is refused");
	is_int(ug_refs_update(db, "refs/tags/v1/x", &a, NULL, "Tester <t@example.com>", "df"), UG_ECONFLICT,
	       "a ref under a packed ref is refused");
	ok(!exists("refs/heads/new.lock") && !exists("refs/tags/v1/x.lock"), "no lock left by refusals");
}

static void update_invalid(void)
{
	ug_refdb *db = gdb;
	ug_oid a = id('a'), zero = { { 0 } };

	if (!have_gdb())
		return;
	is_int(ug_refs_update(db, "refs/heads/bad..name", &a, NULL, "T <t@e>", "x"), UG_EINVALID, "invalid name");
	is_int(ug_refs_update(db, "refs/heads/z", &zero, NULL, "T <t@e>", "x"), UG_EINVALID, "zero new value");
}

static void update_no_message(void)
{
	ug_refdb *db = gdb;
	ug_oid a = id('a'), zero = { { 0 } };
	const char *s;

	if (!have_gdb())
		return;
	is_int(ug_refs_update(db, "refs/heads/nomsg", &a, &zero, "Tester <t@example.com>", NULL), 0, "no message");
	s = get("logs/refs/heads/nomsg");
	ok(s && strchr(s, '\t') == NULL && s[strlen(s) - 1] == '\n',
	   "no message: no tab");
}

static void delete_ref(void)
{
	ug_refdb *db = gdb;
	ug_oid a = id('a'), b = id('b');

	if (!have_gdb())
		return;
	is_int(ug_refs_delete(db, "refs/heads/nomsg", &b), UG_ECONFLICT, "delete with a stale value");
	is_int(ug_refs_delete(db, "refs/heads/nomsg", &a), 0, "delete");
	ok(!exists("refs/heads/nomsg") && !exists("refs/heads/nomsg.lock"), "deleted");
}

static void set_symbolic(void)
{
	ug_refdb *db = gdb;
	const char *s;

	if (!have_gdb())
		return;
	is_int(ug_refs_set_symbolic(db, "HEAD", "refs/heads/old"), 0, "point HEAD elsewhere");
	s = get("HEAD");
	ok(s && !strcmp(s, "ref: refs/heads/old\n"), "HEAD file as git writes it");
	is_int(ug_refs_set_symbolic(db, "HEAD", "../x"), UG_EINVALID, "a bad target is refused");
	ug_refs_set_symbolic(db, "HEAD", "refs/heads/main");
}

static void git_watch_roots(void)
{
	char **roots;

	if (!have_gdb())
		return;
	roots = ug_refdb_watch_roots(gdb);
	ok(roots && !strcmp(roots[0], dir) && roots[1] && strstr(roots[1], "/refs") && !roots[2],
	   "git watch roots: gitdir and refs/");
	ug_strv_free(roots);
}

static const char *const refnames[] = {
	"refs/heads/main", "refs/heads/feature/x", "HEAD", "main", "refs/heads/a..b", "refs/heads/.hidden",
	"refs/heads/x.lock", "refs/heads/x.lock/y", "refs/heads/a/", "refs//heads", "/refs/heads/a",
	"refs/heads/a.", "refs/heads/a@{1}", "@", "refs/heads/@", "refs/heads/a b", "refs/heads/a~1",
	"refs/heads/a^", "refs/heads/a:b", "refs/heads/a?", "refs/heads/a*", "refs/heads/a[", "refs/heads/a\\b",
	"refs/heads/\x01", "refs/heads/\x7f", "refs/heads/caf\xc3\xa9", "refs/heads/a.b", "refs/heads/-dash",
	"refs/heads/a@b", "refs/heads/.", "refs/heads/..", "foo/bar", "refs/heads/a/.b", "refs/tags/v1.0",
	"refs/heads/x.lockx", "refs/heads/@{", "refs/heads/a{", "",
};
#define NREFNAMES (sizeof(refnames) / sizeof(*refnames))

/* Row i's name quoted, control bytes as \xNN, for a TAP line. */
static const char *refname_row(size_t i)
{
	static char buf[128];
	size_t n = 0;

	buf[n++] = '\'';
	for (const char *p = refnames[i]; *p && n < sizeof(buf) - 6; p++)
		n += (unsigned char)*p < 0x20 || *p == 0x7f ? (size_t)sprintf(buf + n, "\\x%02x", (unsigned char)*p)
							  : (size_t)sprintf(buf + n, "%c", *p);
	snprintf(buf + n, sizeof(buf) - n, "'");
	return buf;
}

static void refname_as_git(size_t i)
{
	bool git_ok;

	if (!strcmp(refnames[i], "HEAD")) {
		ok(ug_refname_valid("HEAD"), "HEAD is valid");
		return;
	}
	git_ok = sh("git check-ref-format '%s' 2>/dev/null", refnames[i]) == 0;
	ok(ug_refname_valid(refnames[i]) == git_ok, "check-ref-format agrees on '%s' (git: %s)", refnames[i],
	   git_ok ? "valid" : "invalid");
}

static void refname_null(void)
{
	ok(!ug_refname_valid(NULL), "NULL is invalid");
}

typedef struct {
	ug_refdb *db;
	int errors;
} reader_arg;

static void *reader(void *p)
{
	reader_arg *a = p;

	for (int i = 0; i < 300; i++) {
		ug_ref_list l;
		ug_ref r;

		if (ug_refs_list(a->db, "refs/tags/", &l) || l.count < 1)
			a->errors++;
		else
			ug_ref_list_release(&l);
		if (ug_refs_read(a->db, "refs/tags/v1", &r))
			a->errors++;
		else
			ug_ref_release(&r);
	}
	return NULL;
}

static void packed_rewritten(void)
{
	ug_refdb *db = gdb;
	ug_ref r;

	if (!have_gdb())
		return;
	/* replaced by rename, as git does: a new inode */
	put("packed-refs.new", "# pack-refs with: peeled fully-peeled sorted \n" C " refs/tags/v1\n");
	sh("mv '%s/packed-refs.new' '%s/packed-refs'", dir, dir);
	ok(!ug_refs_read(db, "refs/tags/v1", &r) && ug_oid_equal(&r.oid, &(ug_oid[]){ id('c') }[0]) &&
		   !r.peeled_known,
	   "a rewritten packed-refs is read again");
	ug_ref_release(&r);
	ok(ug_refs_read(db, "refs/tags/light", &r) == UG_ENOTFOUND, "and its dropped refs are gone");
}

static void packed_threads(void)
{
	ug_refdb *db = gdb;
	pthread_t th[4];
	reader_arg args[4];
	int errors = 0;

	if (!have_gdb())
		return;
	for (int i = 0; i < 4; i++) {
		args[i] = (reader_arg){ db, 0 };
		pthread_create(&th[i], NULL, reader, &args[i]);
	}
	for (int i = 0; i < 50; i++) {
		put("packed-refs.new", i % 2 ? "# pack-refs with: peeled \n" A " refs/tags/v1\n^" B "\n"
					     : C " refs/tags/v1\n" A " refs/tags/zz\n");
		sh("mv '%s/packed-refs.new' '%s/packed-refs'", dir, dir);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		errors += args[i].errors;
	}
	is_int(errors, 0, "four threads read while packed-refs is replaced 50 times");
}

/* malformed lines are skipped, not fatal */
static void packed_damaged(void)
{
	ug_refdb *db = gdb;
	ug_ref r;

	if (!have_gdb())
		return;
	loglines = 0;
	put("packed-refs", "# pack-refs with: peeled \n"
			   "nothex refs/heads/x\n"
			   A " refs/heads/ok\n"
			   "^" B "\n"
			   "^" C "\n"
			   A " refs/heads/bad..name\n"
			   A "\n"
			   B " refs/tags/t\n");
	sh("touch -d '2001-01-01' '%s/packed-refs'", dir);
	ok(!ug_refs_read(db, "refs/heads/ok", &r) && r.peeled_known && ug_oid_equal(&r.peeled, &(ug_oid[]){ id('b') }[0]),
	   "good lines of a damaged packed-refs are read");
	ug_ref_release(&r);
	ok(!ug_refs_read(db, "refs/tags/t", &r) && !r.peeled_known,
	   "the peeled trait does not make a tag without a ^ line peel to itself");
	ug_ref_release(&r);
	is_int(loglines, 4, "one log line per bad line");
	ug_refdb_free(gdb);
	gdb = NULL;
}

/* a linked worktree: HEAD in gitdir, the rest in commondir */
static void worktree_refdb(void)
{
	char wt[160], **roots;
	ug_refdb *db;

	snprintf(wt, sizeof(wt), "%s/worktrees/w", dir);
	put("worktrees/w/HEAD", "ref: refs/heads/old\n");
	require_int(ug_refdb_open_git(&db, wt, dir, UG_HASH_SHA1), 0, "open a worktree refdb");
	ok(is_ref(db, "refs/heads/old", 'a'), "shared refs from commondir");
	is_int(ug_refs_update(db, "refs/heads/old", &(ug_oid[]){ id('e') }[0], NULL, "Tester <t@example.com>",
			      "wt"),
	       0, "update through the worktree");
	ok(exists("worktrees/w/logs/HEAD") && exists("refs/heads/old"), "the worktree's logs/HEAD, common ref");
	roots = ug_refdb_watch_roots(db);
	ok(roots && !strcmp(roots[0], wt) && !strcmp(roots[1], dir) && strstr(roots[2], "/refs") && !roots[3],
	   "worktree watch roots: gitdir, commondir, refs/");
	ug_strv_free(roots);
	ug_refdb_free(db);
}

/* A repository made by git and its refdb, shared by the cases in order. */
static char gitrepo[128];
static ug_refdb *gitdb;

/* A repository made by git: our listing equals git show-ref -d. */
static void against_git_list(void)
{
	char *repo = gitrepo, gitdir[160], line[256], *ours = NULL;
	size_t ourslen = 0;
	ug_refdb *db;
	ug_ref_list l;
	FILE *f;

	snprintf(repo, sizeof(gitrepo), "%s/gitrepo", dir);
	snprintf(gitdir, sizeof(gitdir), "%s/.git", repo);
	if (sh("git init -q '%s' && cd '%s' && git commit -q --allow-empty -m one && git tag -a -m t v1 && "
		"git tag light && git branch side && git pack-refs --all && git commit -q --allow-empty -m two && "
		"git tag -a -m t2 v2 && git -c advice.nestedTag=false tag -a -m nested nested v2",
		repo, repo)) {
		ok(0, "git made a repository");
		return;
	}
	require_int(ug_refdb_open_git(&db, gitdir, gitdir, UG_HASH_SHA1), 0, "open git's refs");
	gitdb = db;
	require_int(ug_refs_list(db, "", &l), 0, "list git's refs");
	f = open_memstream(&ours, &ourslen);
	for (size_t i = 0; i < l.count; i++) {
		char hex[41];

		fprintf(f, "%s %s\n", ug_oid_tohex(hex, &l.refs[i].oid, UG_HASH_SHA1), l.refs[i].name);
		if (l.refs[i].peeled_known && !ug_oid_equal(&l.refs[i].peeled, &l.refs[i].oid))
			fprintf(f, "%s %s^{}\n", ug_oid_tohex(hex, &l.refs[i].peeled, UG_HASH_SHA1), l.refs[i].name);
	}
	fclose(f);
	if (ourslen && ours[ourslen - 1] == '\n')
		ours[--ourslen] = '\0';
	/* loose tags (v2, nested) have no peeled line from us; compare the packed ones fully */
	snprintf(line, sizeof(line), "cd '%s' && git show-ref -d | grep -v -e 'v2^{}' -e 'nested^{}'", repo);
	ok(!strcmp(ours, sh_str("%s", line)) || (tap_diag("ours:\n%s", ours), 0),
	   "ug_refs_list equals git show-ref -d");
	free(ours);
	ug_ref_list_release(&l);
}

/* Our updates beside git: git sees them, reads our reflog, fsck passes. */
static void against_git_update(void)
{
	const char *repo = gitrepo;
	ug_refdb *db = gitdb;
	ug_oid head, zero = { { 0 } };

	require(db, "git's refs of the case before");
	require(!ug_refs_resolve(db, "HEAD", &head, NULL), "resolve HEAD");
	is_int(ug_refs_update(db, "refs/heads/feature", &head, &zero, "Tester <t@example.com>", "branch: from ugitfs"),
	       0, "create a branch beside git");
	{
		char hex[41];

		ok(!strcmp(sh_str("cd '%s' && git rev-parse feature", repo), ug_oid_tohex(hex, &head, UG_HASH_SHA1)),
		   "git sees the branch");
	}
	ok(!strcmp(sh_str("cd '%s' && git reflog show --format=%%gs feature", repo), "branch: from ugitfs"),
	   "git reads our reflog");
	is_int(ug_refs_update(db, "refs/heads/side", &head, NULL, "Tester <t@example.com>", "move packed side"), 0,
	       "move a packed branch");
	{
		char hex[41];

		ok(!strcmp(sh_str("cd '%s' && git rev-parse side", repo), ug_oid_tohex(hex, &head, UG_HASH_SHA1)),
		   "git sees the moved packed branch");
	}
	is_int(sh("cd '%s' && git fsck --strict --no-dangling >../fsck.out 2>&1 || { cat ../fsck.out >&2; false; }",
		   repo),
	       0, "git fsck --strict after our updates");
	ug_refdb_free(db);
	gitdb = NULL;
}

static void ugit_refdb(void)
{
	char ud[128];
	ug_refdb *db;
	ug_oid a = id('a'), o;
	char *final;
	const char *s;
	char **roots;

	snprintf(ud, sizeof(ud), "%s/u/.ugit", dir);
	put("u/.ugit/HEAD", "ref: refs/heads/master");
	put("u/.ugit/refs/heads/master", B);
	put("u/.ugit/refs/tags/nl", C "\n");
	require_int(ug_refdb_open_ugit(&db, ud), 0, "open a ugit refdb");
	ok(!ug_refs_resolve(db, "HEAD", &o, &final) && !strcmp(final, "refs/heads/master") &&
		   ug_oid_equal(&o, &(ug_oid[]){ id('b') }[0]),
	   "symbolic HEAD without a newline");
	free(final);
	ok(is_ref(db, "refs/tags/nl", 'c'), "a value with a newline is tolerated");
	is_int(ug_refs_update(db, "refs/heads/master", &a, &(ug_oid[]){ id('b') }[0], "T <t@e>", "m"), 0,
	       "update a ugit ref");
	s = get("u/.ugit/refs/heads/master");
	ok(s && !strcmp(s, A), "written without a newline");
	ok(!exists("u/.ugit/logs"), "no reflog in ugit");
	is_int(ug_refs_set_symbolic(db, "HEAD", "refs/heads/other"), 0, "set HEAD");
	s = get("u/.ugit/HEAD");
	ok(s && !strcmp(s, "ref: refs/heads/other"), "HEAD without a newline");
	roots = ug_refdb_watch_roots(db);
	ok(roots && roots[0] && strstr(roots[0], "/u/.ugit") && roots[1] && strstr(roots[1], "/u/.ugit/refs") &&
		   !roots[2],
	   "ugit watch roots");
	ug_strv_free(roots);
	ug_refdb_free(db);
}

/* The ugit backend keeps git's update rules: compare-and-swap, locks, delete. */
static void ugit_refdb_rules(void)
{
	char ud[128];
	ug_refdb *db;
	ug_oid a = id('a'), b = id('b'), zero = { { 0 } };
	ug_ref r;
	const char *s;

	snprintf(ud, sizeof(ud), "%s/u2/.ugit", dir);
	put("u2/.ugit/refs/heads/master", B);
	require_int(ug_refdb_open_ugit(&db, ud), 0, "open a ugit refdb");
	is_int(ug_refs_update(db, "refs/heads/master", &b, &a, "T <t@e>", "m"), UG_ECONFLICT,
	       "a stale old value is refused");
	ok(!strcmp(ug_error_last(), "refs/heads/master: expected " A ", but it is " B), "the conflict, named");
	is_int(ug_refs_update(db, "refs/heads/master", &a, &zero, "T <t@e>", "m"), UG_ECONFLICT,
	       "a zero old value means the ref must not exist");
	ok(is_ref(db, "refs/heads/master", 'b') && !exists("u2/.ugit/refs/heads/master.lock"),
	   "value kept, lock removed");
	held_lock(db, "refs/heads/master", "u2/.ugit/refs/heads/master.lock", 'b');
	is_int(ug_refs_update(db, "refs/heads/new/branch", &a, &zero, "T <t@e>", "m"), 0,
	       "a ref created in a new directory");
	s = get("u2/.ugit/refs/heads/new/branch");
	ok(s && !strcmp(s, A), "created without a newline");
	is_int(ug_refs_delete(db, "refs/heads/master", &a), UG_ECONFLICT, "delete with a stale value");
	is_int(ug_refs_delete(db, "refs/heads/master", &b), 0, "delete");
	ok(!exists("u2/.ugit/refs/heads/master") && !exists("u2/.ugit/refs/heads/master.lock"), "deleted");
	is_int(ug_refs_read(db, "refs/heads/master", &r), UG_ENOTFOUND, "a deleted ref is not found");
	ok(!strcmp(ug_error_last(), "ref refs/heads/master not found"), "not found, named");
	ug_refdb_free(db);
}

/* ug_repo_open on every git layout, and revparse as git does it: the layouts' folder. */
static char base[128];
static bool layouts_made;

/* The layout at base/rel opened into *repo; false (the case failed) when it does not open. */
static bool open_layout(ug_repo **repo, const char *rel, const char *what)
{
	char path[256];
	int err;

	if (!ok(layouts_made, "the layouts of the first case"))
		return false;
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	err = ug_repo_open(repo, path);
	return is_int(err, 0, "%s%s%s", what, err ? ": " : "", err ? ug_error_last() : "");
}

static void layouts_make(void)
{
	snprintf(base, sizeof(base), "%s/layouts", dir);
	layouts_made = ok(sh("mkdir -p '%s' && cd '%s' && git init -q wt && cd wt && git commit -q --allow-empty -m one && "
			     "git branch -M main && git tag v1 && git branch feature && git worktree add -q ../linked feature && "
			     "git clone -q --bare . ../bare.git && cp -r ../bare.git ../noconfig.git && "
			     "rm ../noconfig.git/config && git init -q --bare --object-format=sha256 ../sha256.git",
			     base, base) == 0,
			  "git made the layouts");
}

static void layout_worktree(void)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_repo *repo;
	ug_oid o;

	if (!open_layout(&repo, "wt", "a working tree"))
		return;
	ok(strstr(ug_repo_gitdir(repo), "/wt/.git") && !strcmp(ug_repo_gitdir(repo), ug_repo_commondir(repo)) &&
		   strstr(ug_repo_workdir(repo), "/wt") && ug_repo_gitdir(repo)[0] == '/',
	   "gitdir wt/.git, workdir wt, absolute");
	ok(!ug_repo_revparse(repo, "main", &o) &&
		   !strcmp(ug_oid_tohex(hex, &o, UG_HASH_SHA1), sh_str("cd '%s/wt' && git rev-parse main", base)),
	   "revparse main");
	ug_repo_free(repo);
}

static void layout_dotgit(void)
{
	ug_repo *repo;

	if (!open_layout(&repo, "wt/.git", "a .git directory"))
		return;
	ok(ug_repo_workdir(repo) && strstr(ug_repo_workdir(repo), "/wt") && !strstr(ug_repo_workdir(repo), ".git"),
	   "its working tree is the parent");
	ug_repo_free(repo);
}

static void layout_linked(void)
{
	char *final = NULL;
	ug_repo *repo;
	ug_oid o;

	if (!open_layout(&repo, "linked", "a linked worktree (.git file)"))
		return;
	ok(strstr(ug_repo_gitdir(repo), "/wt/.git/worktrees/linked") &&
		   strstr(ug_repo_commondir(repo), "/wt/.git") && !strstr(ug_repo_commondir(repo), "worktrees"),
	   "gitdir in worktrees/, commondir the main .git");
	ok(!ug_refs_resolve(ug_repo_refdb(repo), "HEAD", &o, &final) && !strcmp(final, "refs/heads/feature"),
	   "the worktree's own HEAD");
	free(final);
	ok(!ug_repo_revparse(repo, "v1", &o) && ug_odb_exists(ug_repo_odb(repo), &o),
	   "shared refs and objects from the commondir");
	ug_repo_free(repo);
}

static void layout_bare(void)
{
	ug_repo *repo;
	ug_oid o;

	if (!open_layout(&repo, "bare.git", "a bare repository"))
		return;
	ok(!ug_repo_workdir(repo) && !ug_repo_revparse(repo, "HEAD", &o), "no working tree, HEAD resolves");
	ok(!ug_repo_revparse(repo, "refs/tags/v1", &o) && !ug_repo_revparse(repo, "tags/v1", &o),
	   "refs/tags/v1 and tags/v1 (packed by clone)");
	ug_repo_free(repo);
}

static void layout_noconfig(void)
{
	ug_repo *repo;

	if (open_layout(&repo, "noconfig.git", "a bare repository without config"))
		ug_repo_free(repo);
}

static void layout_sha256(void)
{
	ug_repo *repo;

	if (!open_layout(&repo, "sha256.git", "a sha256 repository"))
		return;
	is_int(ug_repo_algo(repo), UG_HASH_SHA256, "extensions.objectFormat = sha256");
	ug_repo_free(repo);
}

static void layout_relative_gitdir(void)
{
	ug_repo *repo;

	if (layouts_made)
		sh("cd '%s' && mkdir rel && printf 'gitdir: ../wt/.git\\n' > rel/.git", base);
	if (!open_layout(&repo, "rel", "a .git file with a relative gitdir"))
		return;
	ok(strstr(ug_repo_gitdir(repo), "/wt/.git") && strstr(ug_repo_workdir(repo), "/rel"),
	   "gitdir relative to the file, workdir the directory");
	ug_repo_free(repo);
}

static void layout_broken(void)
{
	char path[256];
	ug_repo *repo;

	require(layouts_made, "the layouts of the first case");
	sh("cd '%s' && mkdir broken && echo 'gitdir: nowhere' > broken/.git", base);
	snprintf(path, sizeof(path), "%s/broken", base);
	is_int(ug_repo_open(&repo, path), UG_ENOTFOUND, "a .git file to nowhere");
	ok(strstr(ug_error_last(), "broken/.git") != NULL, "names the .git file (%s)", ug_error_last());
}

static void layout_unknown_format(void)
{
	char path[256];
	ug_repo *repo;

	require(layouts_made, "the layouts of the first case");
	sh("cd '%s' && mkdir odd && echo '[core]' > odd/config && mkdir odd/objects odd/refs && "
	   "echo 'ref: refs/heads/main' > odd/HEAD && printf '[core]\\n\\trepositoryformatversion = 1\\n"
	   "[extensions]\\n\\tobjectformat = md5\\n' > odd/config",
	   base);
	snprintf(path, sizeof(path), "%s/odd", base);
	is_int(ug_repo_open(&repo, path), UG_ENOTFOUND, "an unknown object format is refused");
	ok(strstr(ug_error_last(), "md5") != NULL, "and named (%s)", ug_error_last());
}

static void layout_malformed_config(void)
{
	char path[256];
	ug_repo *repo;

	require(layouts_made, "the layouts of the first case");
	sh("cd '%s' && mkdir -p odd/objects odd/refs && echo 'ref: refs/heads/main' > odd/HEAD && "
	   "printf '[core\\n' > odd/config", base);
	snprintf(path, sizeof(path), "%s/odd", base);
	is_int(ug_repo_open(&repo, path), UG_ECORRUPT, "a malformed config is refused");
	ok(strstr(ug_error_last(), "odd/config:1") != NULL, "naming file and line (%s)", ug_error_last());
}

/* abbreviated ids: unique, ambiguous, and a ref that looks like hex */
static void abbreviations(void)
{
	char path[256], hex[UG_OID_MAXHEX + 1], prefix[5] = "", unique[8];
	const char *ids;
	ug_repo *repo;
	ug_oid o;

	require(layouts_made, "the layouts of the first case");
	snprintf(path, sizeof(path), "%s/wt", base);
	sh("cd '%s' && for i in $(seq 1 1500); do echo \"blob $i\" > b$i; done && "
	   "ls b* | git hash-object -w --stdin-paths >/dev/null; rm -f b*",
	   path);
	if (ug_repo_open(&repo, path)) {
		ok(0, "reopen wt: %s", ug_error_last());
		return;
	}
	ids = sh_str("cd '%s' && git cat-file --batch-all-objects --batch-check='%%(objectname)' | "
		     "cut -c1-4 | sort | uniq -d | head -1",
		     path);
	snprintf(prefix, sizeof(prefix), "%s", ids);
	ok(strlen(prefix) == 4, "found two objects sharing %s", prefix);
	is_int(ug_repo_revparse(repo, prefix, &o), UG_EAMBIGUOUS, "an ambiguous abbreviation");
	snprintf(unique, sizeof(unique), "%s", sh_str("cd '%s' && git rev-parse --short=7 main", path));
	ok(!ug_repo_revparse(repo, unique, &o) &&
		   !strcmp(ug_oid_tohex(hex, &o, UG_HASH_SHA1), sh_str("cd '%s' && git rev-parse main", path)),
	   "a unique abbreviation");
	sh("cd '%s' && git update-ref refs/heads/%s main", path, prefix);
	ok(!ug_repo_revparse(repo, prefix, &o) &&
		   !strcmp(ug_oid_tohex(hex, &o, UG_HASH_SHA1), sh_str("cd '%s' && git rev-parse main", path)),
	   "a branch named like an abbreviation wins, as in git");
	sh("cd '%s' && git remote add origin . && git update-ref refs/remotes/origin/main main && "
	   "git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main",
	   path);
	ok(!ug_repo_revparse(repo, "origin", &o) && !ug_repo_revparse(repo, "origin/main", &o),
	   "origin (refs/remotes/origin/HEAD) and origin/main");
	ug_repo_free(repo);
}

static const struct tap_case cases[] = {
	TAP_CASE("refs: a git refdb opens", git_refdb_open),
	TAP_CASE("refs: loose over packed, peeled lines, HEAD, missing and bad names", reads),
	TAP_CASE("refs: HEAD resolves through main", resolve_head),
	TAP_CASE("refs: listing gives every ref once, sorted, logging bad ones", list_all),
	TAP_CASE("refs: listing by prefix, partial and outside refs/", list_prefixes),
	TAP_CASE("refs: five symbolic hops resolve, six and loops are corrupt", symbolic_chains),
	TAP_CASE("update: compare-and-swap, git's reflog format, logs/HEAD, no lock left", update_main),
	TAP_CASE("update: a stale or zero old value is refused, the value kept", update_stale),
	TAP_CASE("update: a ref created in a new directory, with a reflog", update_create),
	TAP_CASE("update: a held lock is a conflict and left alone", update_locked),
	TAP_CASE("update: a packed-only ref gets a loose override, its old value logged", update_packed),
	TAP_CASE("update: refs under refs and over folders of refs are refused", update_df_conflicts),
	TAP_CASE("update: an invalid name or a zero new value is refused", update_invalid),
	TAP_CASE("update: no message, no tab in the reflog", update_no_message),
	TAP_CASE("delete: compare-and-swap, nothing left", delete_ref),
	TAP_CASE("symbolic: HEAD written as git writes it, bad targets refused", set_symbolic),
	TAP_CASE("refs: git watch roots are gitdir and refs/", git_watch_roots),
	TAP_CASE("packed-refs: a rewritten file is read again", packed_rewritten),
	TAP_CASE("packed-refs: threads read while it is replaced", packed_threads),
	TAP_CASE("packed-refs: good lines of a damaged file are read, bad ones logged", packed_damaged),
	TAP_CASE("refs: a linked worktree's HEAD in gitdir, the rest in commondir", worktree_refdb),
	TAP_ROWS("refs: git check-ref-format agrees on", refname_as_git, NREFNAMES, refname_row),
	TAP_CASE("refs: a NULL name is invalid", refname_null),
	TAP_CASE("refs: our listing equals git show-ref -d", against_git_list),
	TAP_CASE("refs: git sees our updates and reflogs, fsck passes", against_git_update),
	TAP_CASE("refs: a ugit refdb, no newlines, no reflogs", ugit_refdb),
	TAP_CASE("refs: a ugit refdb checks old values, honours locks, deletes", ugit_refdb_rules),
	TAP_CASE("layouts: git made them", layouts_make),
	TAP_CASE("layouts: a working tree", layout_worktree),
	TAP_CASE("layouts: a .git directory", layout_dotgit),
	TAP_CASE("layouts: a linked worktree", layout_linked),
	TAP_CASE("layouts: a bare repository", layout_bare),
	TAP_CASE("layouts: a bare repository without config", layout_noconfig),
	TAP_CASE("layouts: a sha256 repository", layout_sha256),
	TAP_CASE("layouts: a .git file with a relative gitdir", layout_relative_gitdir),
	TAP_CASE("layouts: a .git file to nowhere is not found, named", layout_broken),
	TAP_CASE("layouts: an unknown object format is refused, named", layout_unknown_format),
	TAP_CASE("layouts: a malformed config is refused, naming file and line", layout_malformed_config),
	TAP_CASE("revparse: abbreviations unique, ambiguous, and hex-like branch names", abbreviations),
};

int main(void)
{
	int status;

	ug_log_set_sink(log_capture);
	if (git_home_plain(dir, sizeof(dir), "ugrefs"))
		return 1;
	status = TAP_RUN(cases);
	ug_refdb_free(gdb);
	ug_refdb_free(gitdb);
	sh("rm -rf '%s'", dir);
	return status;
}
