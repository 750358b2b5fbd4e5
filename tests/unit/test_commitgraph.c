/* Tests of core/commitgraph.c against graphs written by git: lookups, parents, generations, filters, chains, damage. */
#include "tap.h"
#include "gitutil.h"

#include "commitgraph.h"
#include "error.h"
#include "log.h"
#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_lines;

static void count_log(ug_log_level level, const char *line)
{
	(void)level;
	if (strstr(line, "commit-graph"))
		log_lines++;
}

/* A history with merges, an octopus merge (extra edges), a commit touching
 * 600 files (a filter too large to keep), and a non-ASCII path. */
static int make_history(const char *repo)
{
	return sh("set -e; git init -q -b main '%s'; cd '%s';"
		  "c() { GIT_COMMITTER_DATE=\"$((1700000000 + $1)) +0000\" git commit -q --allow-empty -m \"$2\"; };"
		  "mkdir -p a/b d; echo 1 > a/b/f; echo 1 > top; git add -A; c 1 root;"
		  "for i in 2 3 4 5 6 7 8 9; do echo $i > a/b/f$i; git add -A; c $i \"f$i\"; done;"
		  "git checkout -q -b s1; echo s1 > d/s1; git add -A; c 10 s1;"
		  "git checkout -q main; git checkout -q -b s2; mkdir -p d; echo s2 > d/s2; git add -A; c 11 s2;"
		  "git checkout -q main; git checkout -q -b s3; echo s3 > top; git add -A; c 12 s3;"
		  "git checkout -q main; GIT_COMMITTER_DATE=\"1700000013 +0000\" git merge -q --no-ff -m octopus s1 s2 s3 >/dev/null;"
		  "mkdir many; for i in $(seq 600); do echo $i > many/$i; done; git add -A; c 14 many;"
		  "printf x > \"d/$(printf '\\303\\251').txt\"; git add -A; c 15 accent;"
		  "c 16 empty; echo 2 > a/b/f; git add -A; c 17 last",
		  repo, repo);
}

/* One line of `git log --all --format='%%H %%T %%ct %%P'`: check it against the graph. */
static bool same_commit(const ug_commitgraph *g, const char *line, ug_graph_commit *got)
{
	char hex[4][41];
	long long ct;
	int n = sscanf(line, "%40s %40s %lld %40s", hex[0], hex[1], &ct, hex[2]);
	ug_oid oid, want, *parents = NULL;
	size_t np = 0, wantp = 0;
	const char *p = line;
	bool same;

	if (n < 3 || ug_oid_fromhex(&oid, hex[0], 40, UG_HASH_SHA1) ||
	    ug_commitgraph_lookup(g, &oid, got) || ug_commitgraph_parents(g, got->pos, &parents, &np))
		return false;
	ug_oid_fromhex(&want, hex[1], 40, UG_HASH_SHA1);
	same = ug_oid_equal(&want, &got->tree) && got->time == ct;
	for (int field = 0; field < 3; field++)
		p = strchr(p, ' ') + 1;
	while (*p && *p != '\n') {
		ug_oid par;

		same = same && wantp < np && !ug_oid_fromhex(&par, p, 40, UG_HASH_SHA1) &&
		       ug_oid_equal(&par, &parents[wantp]);
		wantp++;
		p += p[40] == ' ' ? 41 : 40;
	}
	same = same && wantp == np && np == got->nparents && (!np || ug_oid_equal(&got->parent, &parents[0]));
	free(parents);
	return same;
}

/* Every commit of every ref: trees, times and parents as git prints them;
 * generations one more than the highest parent's. */
static void check_commits(const ug_commitgraph *g, const char *repo, const char *what)
{
	char *out = sh_out(NULL, "git -C '%s' log --all --format='%%H %%T %%ct %%P'", repo), *line, *save;
	size_t n = 0, bad = 0, badgen = 0;

	for (line = out ? strtok_r(out, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		ug_graph_commit c;
		ug_oid *parents = NULL;
		size_t np = 0;
		uint32_t max = 0;

		n++;
		if (!same_commit(g, line, &c)) {
			tap_diag("differs: %s", line);
			bad++;
			continue;
		}
		ug_commitgraph_parents(g, c.pos, &parents, &np);
		for (size_t i = 0; i < np; i++) {
			ug_graph_commit pc;

			if (!ug_commitgraph_lookup(g, &parents[i], &pc) && pc.generation > max)
				max = pc.generation;
		}
		badgen += c.generation != max + 1;
		free(parents);
	}
	ok(out && n == 17 && bad == 0, "%s: %zu commits, %zu differ from git log", what, n, bad);
	is_int((long long)badgen, 0, "%s: generation numbers", what);
	is_int((long long)ug_commitgraph_count(g), 17, "%s: count", what);
	free(out);
}

/* The filters never rule out a path git says changed (nor its folders), and
 * do rule out some that did not change. */
static void check_filters(const ug_commitgraph *g, const char *repo, const char *what)
{
	char *out = sh_out(NULL, "git -C '%s' -c core.quotePath=false log --all --diff-merges=first-parent "
			   "--format='@%%H' --name-only", repo);
	char *all = sh_out(NULL, "git -C '%s' -c core.quotePath=false ls-tree -r --name-only main", repo);
	char *line, *save;
	ug_graph_commit c = { 0 };
	size_t missed = 0, checked = 0, ruled_out = 0;
	bool have = false;

	for (line = out ? strtok_r(out, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		ug_oid oid;

		if (line[0] == '@') {
			have = !ug_oid_fromhex(&oid, line + 1, 40, UG_HASH_SHA1) && !ug_commitgraph_lookup(g, &oid, &c) &&
			       c.nparents > 0;
			if (have && all) {
				/* top-level names the commit did not touch (a sample: "top" and "a") */
				ruled_out += !ug_commitgraph_maybe_changed(g, c.pos, "top", 3);
				ruled_out += !ug_commitgraph_maybe_changed(g, c.pos, "a/b", 3);
			}
			continue;
		}
		for (size_t len = strlen(line); have && len > 0; len--) {
			if (len == strlen(line) || line[len] == '/') {
				checked++;
				missed += !ug_commitgraph_maybe_changed(g, c.pos, line, len);
			}
		}
	}
	ok(checked > 600 && missed == 0, "%s: %zu changed paths, %zu ruled out wrongly", what, checked, missed);
	ok(ruled_out > 5, "%s: the filters rule out unchanged paths (%zu times)", what, ruled_out);
	free(out);
	free(all);
}

static ug_commitgraph *open_graph(const char *repo)
{
	ug_repo *r;
	ug_commitgraph *g = NULL;

	if (ug_repo_open(&r, repo))
		return NULL;
	if (ug_commitgraph_open(&g, r))
		g = NULL;
	ug_repo_free(r);
	return g;
}

static char tmp[4096], repo[4096]; /* the test's folder, and the repository in it */

static void murmur(void)
{
	const char *fox = "The quick brown fox jumps over the lazy dog";

	is_int(ug_murmur3(0, (const unsigned char *)fox, strlen(fox), 2), 0x2e4ff723, "murmur3 of the fox");
	is_int(ug_murmur3(0, (const unsigned char *)"", 0, 1), 0, "murmur3 of nothing");
	ok(ug_murmur3(7, (const unsigned char *)"ab/c", 4, 1) == ug_murmur3(7, (const unsigned char *)"ab/c", 4, 2),
	   "versions 1 and 2 agree on ASCII");
	ok(ug_murmur3(7, (const unsigned char *)"\xc3\xa9", 2, 1) != ug_murmur3(7, (const unsigned char *)"\xc3\xa9", 2, 2),
	   "version 1 reads bytes as signed, as git did");
}

static void no_graph(void)
{
	require(make_history(repo) == 0, "a history made by git");
	ok(open_graph(repo) == NULL, "no graph: none loaded");
}

static void plain_graph(void)
{
	ug_commitgraph *g;

	require(sh("git -C '%s' commit-graph write --reachable", repo) == 0, "git commit-graph write");
	g = open_graph(repo);
	require(g && !ug_commitgraph_has_filters(g), "a graph without filters");
	check_commits(g, repo, "plain");
	ug_commitgraph_free(g);
}

static void graph_with_filters(void)
{
	ug_commitgraph *g;

	require(sh("git -C '%s' commit-graph write --reachable --changed-paths", repo) == 0, "with --changed-paths");
	g = open_graph(repo);
	if (ok(g && ug_commitgraph_has_filters(g), "a graph with filters")) {
		check_commits(g, repo, "filters");
		check_filters(g, repo, "filters");
	}
	ug_commitgraph_free(g);
}

static void split_chain(void)
{
	ug_commitgraph *g;

	require(sh("cd '%s' && rm -f .git/objects/info/commit-graph && "
		   "git commit-graph write --split=no-merge --changed-paths --stdin-commits <<EOF\n$(git rev-parse main~5)\nEOF\n"
		   "git commit-graph write --reachable --split=no-merge --changed-paths", repo) == 0, "a split chain");
	ok(!strcmp(sh_str("wc -l < '%s/.git/objects/info/commit-graphs/commit-graph-chain'", repo), "2"),
	   "the chain has two graphs");
	g = open_graph(repo);
	require(g != NULL, "the chain loads");
	check_commits(g, repo, "chain");
	check_filters(g, repo, "chain");
	ug_commitgraph_free(g);
}

/* the chain's top file with one byte changed in its ids: checksum fails */
static void damaged_chain(void)
{
	require(sh("cd '%s/.git/objects/info/commit-graphs' && f=graph-$(tail -1 commit-graph-chain).graph && "
		   "chmod u+w $f && printf '\\377' | dd of=$f bs=1 seek=1200 conv=notrunc 2>/dev/null", repo) == 0,
		"damage the top graph");
	log_lines = 0;
	ok(open_graph(repo) == NULL, "a damaged chain is not used");
	is_int(log_lines, 1, "one log line says so");
}

static void shallow_ignored(void)
{
	require(sh("cd '%s' && rm -rf .git/objects/info/commit-graphs && git commit-graph write --reachable && "
		   "touch .git/shallow", repo) == 0, "a graph in a shallow repository");
	log_lines = 0;
	ok(open_graph(repo) == NULL && log_lines == 0, "ignored in a shallow repository, as git does");
}

/* Hostile bytes from memory: every truncation of a valid graph is refused, never read past. */
static void truncations(void)
{
	size_t len = 0;
	char *data = sh_out(&len, "cd '%s/repo' && rm -f .git/shallow && git commit-graph write --reachable "
			    "--changed-paths && cat .git/objects/info/commit-graph", tmp);
	size_t refused = 0, cuts = 0;

	ok(data && len > 1000, "a graph to cut");
	for (size_t cut = 0; data && cut < len; cut += 1 + cut / 16) {
		const unsigned char *files[1] = { (const unsigned char *)data };
		size_t lens[1] = { cut };
		ug_commitgraph *g;

		cuts++;
		refused += ug_commitgraph_parse(&g, UG_HASH_SHA1, files, lens, 1) == UG_ECORRUPT;
	}
	ok(data && cuts > 50 && refused == cuts, "every cut of the graph is refused (%zu of %zu)", refused, cuts);
	free(data);
}

static const struct tap_case cases[] = {
	TAP_CASE("murmur3: git's vectors, version 1 reads bytes as signed", murmur),
	TAP_CASE("commit-graph: none in a history made by git, none loaded", no_graph),
	TAP_CASE("commit-graph: a plain graph gives git log's commits and generations", plain_graph),
	TAP_CASE("commit-graph: a graph with filters never rules out a changed path", graph_with_filters),
	TAP_CASE("commit-graph: a split chain of two graphs loads, commits and filters", split_chain),
	TAP_CASE("commit-graph: a damaged chain is not used, one log line", damaged_chain),
	TAP_CASE("commit-graph: ignored in a shallow repository", shallow_ignored),
	TAP_CASE("commit-graph: every cut of a graph is refused", truncations),
};

int main(void)
{
	char *dir = tmpdir_new("commitgraph"), *home = NULL;
	int status;

	if (!dir || asprintf(&home, "%s/home", dir) < 0 || mkdirs(home, 1))
		return 1;
	snprintf(tmp, sizeof(tmp), "%s", dir);
	snprintf(repo, sizeof(repo), "%s/repo", dir);
	git_env_isolate(home);
	ug_log_set_sink(count_log);
	status = TAP_RUN(cases);
	rm_rf(dir);
	free(dir);
	free(home);
	return status;
}
