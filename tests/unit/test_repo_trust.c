/* Unit tests of what a repository's own files say about history and checkouts: shallow and worktree HEADs, hostile bytes included. */
#include "commit.h"
#include "error.h"
#include "log.h"
#include "repo.h"
#include "tap.h"

#include "gitutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static ug_repo *repo; /* shared by the cases of one repository, in order */
static int loglines;

static void capture(ug_log_level level, const char *line)
{
	(void)level;
	(void)line;
	loglines++;
}

static void put(const char *rel, const char *bytes, size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, bytes, len) != (ssize_t)len)
		tap_diag("cannot write %s", path);
	if (fd >= 0)
		close(fd);
}

static size_t parents_of(ug_repo *repo, const char *hex)
{
	ug_commit *c = NULL;
	ug_oid oid;
	size_t n = (size_t)-1;

	if (!ug_oid_fromhex(&oid, hex, 40, UG_HASH_SHA1) && !ug_commit_lookup(&c, repo, &oid))
		n = c->nparents;
	ug_commit_free(c);
	return n;
}

static char c1[41], c2[41], c3[41]; /* the shallow repository's commits, oldest first */

/* CRLF, a malformed line, a line too long, and no final newline */
static void shallow_damaged_opens(void)
{
	char buf[256];
	int n;

	sh("cd '%s' && git init -q -b main r && cd r && for i in 1 2 3; do echo $i >f; git add f; "
	   "git commit -qm c$i; done", dir);
	snprintf(c1, sizeof(c1), "%s", sh_str("git -C '%s/r' rev-parse HEAD~2", dir));
	snprintf(c2, sizeof(c2), "%s", sh_str("git -C '%s/r' rev-parse HEAD~1", dir));
	snprintf(c3, sizeof(c3), "%s", sh_str("git -C '%s/r' rev-parse HEAD", dir));
	n = snprintf(buf, sizeof(buf), "%s\r\nnot an id\n%sff\n%s", c2, c1, c1);
	put("r/.git/shallow", buf, (size_t)n);
	loglines = 0;
	require_int(ug_repo_open(&repo, sh_str("echo '%s/r'", dir)), 0,
		    "a repository with a damaged shallow file opens");
	is_int(loglines, 1, "one log line for its bad lines");
}

static void shallow_boundaries(void)
{
	require(repo, "the repository of the case before");
	is_int((long long)parents_of(repo, c3), 1, "a commit above the boundary keeps its parent");
	is_int((long long)parents_of(repo, c2), 0, "a boundary commit (CRLF line) has no parents");
	is_int((long long)parents_of(repo, c1), 0, "so has the one on the last line without a newline");
}

static void shallow_refresh(void)
{
	require(repo, "the repository of the case before");
	is_int(ug_repo_refresh_shallow(repo), 0, "an unchanged file is not read again");
	put("r/.git/shallow", "", 0);
	sh("touch -d '2001-01-01' '%s/r/.git/shallow'", dir);
	is_int(ug_repo_refresh_shallow(repo), 1, "a rewritten shallow file is read again");
	is_int((long long)parents_of(repo, c2), 1, "and the parents come back");
	sh("rm '%s/r/.git/shallow'", dir);
	ug_repo_free(repo);
	repo = NULL;
}

static void checked_out_worktrees(void)
{
	char *where = NULL, wt[4096];

	sh("cd '%s' && git init -q -b main c && cd c && git commit -q --allow-empty -m one && "
	   "git branch side && git branch other && git worktree add -q ../linked side", dir);
	snprintf(wt, sizeof(wt), "%s/c", dir);
	require_int(ug_repo_open(&repo, wt), 0, "open a repository with a linked worktree");
	ok(!ug_repo_checked_out(repo, "refs/heads/main", &where) && !strcmp(where, wt),
	   "main is checked out in the main worktree");
	free(where);
	where = NULL;
	ok(!ug_repo_checked_out(repo, "refs/heads/side", &where) && strstr(where, "/linked") &&
		   !strstr(where, ".git"),
	   "side in the linked one, named by its path");
	free(where);
	where = NULL;
	is_int(ug_repo_checked_out(repo, "refs/heads/other", &where), UG_ENOTFOUND, "other nowhere");
}

static const struct {
	const char *head;
	size_t len; /* 0: strlen */
	bool taken;
	const char *what;
} heads[] = {
	{ "ref: refs/heads/main\n", 0, true, "the usual HEAD" },
	{ "ref:refs/heads/main", 0, true, "no space, no newline" },
	{ "ref: \trefs/heads/main \n\n", 0, true, "spaces and blank lines around" },
	{ "ref: refs/heads/mainx\n", 0, false, "a longer name is another branch" },
	{ "ref: refs/heads/mai\n", 0, false, "a shorter one too" },
	{ "ref: refs/heads/main\0x\n", 23, false, "a NUL inside" },
	{ "0123456789012345678901234567890123456789\n", 0, false, "a detached HEAD" },
	{ "", 0, false, "an empty HEAD" },
	{ "ref: refs/heads/main\n<5000 bytes>", 0, false, "a HEAD over 4 KiB" },
};
#define NHEADS (sizeof(heads) / sizeof(*heads))

static const char *head_name(size_t i)
{
	return heads[i].what;
}

/* HEAD's bytes decide whether main is checked out there; the usual HEAD is put back after. */
static void checked_out_head(size_t i)
{
	const char *h = heads[i].head;
	size_t len = heads[i].len ? heads[i].len : strlen(h);
	char *where = NULL, big[6000];

	require(repo, "the repository of the case before");
	if (strstr(h, "<5000 bytes>")) { /* a valid start, then spaces past the limit */
		memset(big, ' ', sizeof(big));
		memcpy(big, h, 21);
		h = big;
		len = sizeof(big);
	}
	put("c/.git/HEAD", h, len);
	is_int(ug_repo_checked_out(repo, "refs/heads/main", &where) == 0, heads[i].taken, "%s", heads[i].what);
	free(where);
	put("c/.git/HEAD", "ref: refs/heads/main\n", 21);
}

static void checked_out_bare(void)
{
	char *where = NULL, wt[4096];

	snprintf(wt, sizeof(wt), "%s/c", dir);
	sh("git -C '%s/c' config core.bare true", dir);
	ug_repo_free(repo);
	repo = NULL;
	require_int(ug_repo_open(&repo, wt), 0, "open it again, now core.bare");
	is_int(ug_repo_checked_out(repo, "refs/heads/main", &where), UG_ENOTFOUND,
	       "a bare repository's HEAD is no checkout");
	where = NULL;
	ok(!ug_repo_checked_out(repo, "refs/heads/side", &where), "its linked worktrees still are");
	free(where);
	ug_repo_free(repo);
	repo = NULL;
}

static const struct tap_case cases[] = {
	TAP_CASE("shallow: a damaged shallow file opens, one log line for its bad lines", shallow_damaged_opens),
	TAP_CASE("shallow: boundary commits have no parents, those above keep theirs", shallow_boundaries),
	TAP_CASE("shallow: a rewritten shallow file is read again, an unchanged one not", shallow_refresh),
	TAP_CASE("checked out: a branch in the main or a linked worktree, named by its path", checked_out_worktrees),
	TAP_ROWS("checked out: HEAD's bytes decide, hostile ones included", checked_out_head, NHEADS, head_name),
	TAP_CASE("checked out: a bare repository's HEAD is no checkout, its worktrees are", checked_out_bare),
};

int main(void)
{
	int status;

	dir = tmpdir_new("repo-trust");
	if (!dir)
		return 1;
	git_env_isolate(dir);
	ug_log_set_sink(capture);
	status = TAP_RUN(cases);
	sh("rm -rf '%s'", dir);
	free(dir);
	return status;
}
