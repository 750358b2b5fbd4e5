/* Unit tests of gitignore matching: every answer compared with `git check-ignore --no-index -v` on a real repository. */
#include "error.h"
#include "ignore.h"
#include "repo.h"
#include "tap.h"

#include "gitutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *path;
	bool dir;
} qpath;

typedef struct {
	qpath *v;
	size_t n, alloc;
} qlist;

static void qadd(qlist *q, const char *path, bool dir)
{
	if (q->n == q->alloc) {
		q->alloc = q->alloc ? q->alloc * 2 : 64;
		q->v = realloc(q->v, q->alloc * sizeof(*q->v));
		if (!q->v)
			abort();
	}
	q->v[q->n].path = strdup(path);
	q->v[q->n].dir = dir;
	q->n++;
}

static void qfree(qlist *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->v[i].path);
	free(q->v);
}

/* Create the queried paths in the working tree, so that git sees folders as
 * folders (a missing path is no folder to git: files may stay virtual). */
static int materialize(const char *repo, const qlist *q, bool files)
{
	char *p;
	int err = 0;

	for (size_t i = 0; i < q->n && !err; i++) {
		if (!q->v[i].dir && !files)
			continue;
		if (asprintf(&p, "%s/%s", repo, q->v[i].path) < 0)
			return -1;
		err = q->v[i].dir ? mkdirs(p, 1) : write_file(p, "x", 1);
		free(p);
	}
	return err;
}

typedef struct {
	char *source, *line, *pattern, *path;
} answer;

/* git's answers for every path of q, in order (-z output: 4 fields per path). */
static answer *ask_git(const char *tmp, const char *repo, const qlist *q, char **out_buf)
{
	char *list, *buf, *p;
	size_t len = 0, blen;
	answer *a;
	FILE *f;

	if (asprintf(&list, "%s/paths", tmp) < 0 || !(f = fopen(list, "wb")))
		return NULL;
	for (size_t i = 0; i < q->n; i++)
		fwrite(q->v[i].path, 1, strlen(q->v[i].path) + 1, f);
	fclose(f);
	/* exit status 1 only means "nothing ignored" */
	buf = sh_out(&blen, "cd '%s' && git check-ignore --no-index -v -n -z --stdin < '%s'; test $? -le 1",
		     repo, list);
	free(list);
	if (!buf)
		return NULL;
	a = calloc(q->n ? q->n : 1, sizeof(*a));
	p = buf;
	for (size_t i = 0; i < q->n; i++) {
		char **fields[4] = { &a[i].source, &a[i].line, &a[i].pattern, &a[i].path };

		for (int k = 0; k < 4; k++) {
			if (len >= blen) {
				free(a);
				free(buf);
				return NULL;
			}
			*fields[k] = p;
			len += strlen(p) + 1;
			p = buf + len;
		}
	}
	*out_buf = buf;
	return a;
}

/* Compare ug_ignore with git on every path of q; count and show disagreements. */
static size_t compare(const char *tmp, const char *repo, const ug_ignore *ig, const qlist *q,
		      const char *global_path, size_t *checked)
{
	char *buf = NULL;
	answer *a = ask_git(tmp, repo, q, &buf);
	size_t bad = 0;

	if (!a) {
		tap_diag("git check-ignore failed");
		return q->n ? q->n : 1;
	}
	for (size_t i = 0; i < q->n; i++) {
		ug_ignore_rule r;
		int m = ug_ignore_explain(ig, q->v[i].path, q->v[i].dir, &r);
		bool git_matched = a[i].source[0] != '\0', same;
		int plain = ug_ignore_match(ig, q->v[i].path, q->v[i].dir);

		if (strcmp(a[i].path, q->v[i].path)) {
			tap_diag("git answered for '%s' instead of '%s'", a[i].path, q->v[i].path);
			bad++;
			continue;
		}
		same = (m == 1) == git_matched;
		if (same && git_matched) {
			const char *src = r.source;
			bool src_ok;

			if (strlen(src) > 13 && !strcmp(src + strlen(src) - 13, "/info/exclude"))
				src_ok = !strcmp(a[i].source, ".git/info/exclude");
			else if (global_path && !strcmp(src, global_path))
				src_ok = !strcmp(a[i].source, global_path);
			else if (strlen(src) > strlen(a[i].source) + 1 && src[0] == '/')
				/* an absolute name for a relative one git shows as configured */
				src_ok = !strcmp(src + strlen(src) - strlen(a[i].source), a[i].source) &&
					 src[strlen(src) - strlen(a[i].source) - 1] == '/';
			else
				src_ok = !strcmp(a[i].source, src);
			same = src_ok && (size_t)atol(a[i].line) == r.line && !strcmp(a[i].pattern, r.pattern);
		}
		/* match agrees with explain */
		if (plain != (m == 1 && !r.negative))
			same = false;
		if (!same) {
			if (bad < 25)
				tap_diag("%s%s: git says '%s:%s:%s', ugitfs says %s '%s:%zu:%s'", q->v[i].path,
					 q->v[i].dir ? "/" : "", a[i].source, a[i].line, a[i].pattern,
					 m == 1 ? "matched" : "nothing", m == 1 ? r.source : "",
					 m == 1 ? r.line : 0, m == 1 ? r.pattern : "");
			bad++;
		}
	}
	*checked += q->n;
	free(a);
	free(buf);
	return bad;
}

/* Read a .gitignore of the working tree and add it for folder dir. */
static int add_gitignore(ug_ignore *ig, const char *repo, const char *dir)
{
	char *path, *buf;
	size_t len;
	int err;

	if (asprintf(&path, "%s/%s%s.gitignore", repo, dir, *dir ? "/" : "") < 0)
		return -1;
	buf = sh_out(&len, "cat '%s'", path);
	free(path);
	if (!buf)
		return -1;
	err = ug_ignore_add_file(ig, dir, buf, len);
	free(buf);
	return err;
}

static int put(const char *repo, const char *rel, const char *text, size_t len)
{
	char *p;
	int err;

	if (asprintf(&p, "%s/%s", repo, rel) < 0)
		return -1;
	err = write_file(p, text, len);
	free(p);
	return err;
}

#define PUT(repo, rel, lit) put((repo), (rel), (lit), sizeof(lit) - 1)

static const char root_rules[] =
	"# a comment\n"
	"\n"
	"*.o\n"
	"!keep.o\n"
	"build/\n"
	"/rootonly\n"
	"doc/*.txt\n"
	"**/logs\n"
	"tmp/**\n"
	"a/**/z\n"
	"\\#hash\n"
	"\\!bang\n"
	"trail   \n"
	"esc\\ \n"
	"*.[ch]x\n"
	"[!a-c]?.q\n"
	"x[[:digit:]]y\n"
	"deep/**/*.log\n"
	"crlf\r\n"
	"tab\t\n"
	"nul\0ignored-rest\n"
	"cache/\n"
	"!cache/keep\n"
	"foo**/bar\n"
	"ab**cd\n"
	"q/*/r\n"
	"sp\\ ace\n"
	"[\n"
	"un[closed\n"
	"back\\\n"
	"[[:bogus:]]\n"
	"m[]]n\n"
	"r[a-]s\n"
	"/\n"
	"!\n"
	"   \n"
	"nolast";

static const char sub_rules[] =
	"!*.o\n"
	"local\n"
	"/anch\n"
	"*.txt\n"
	"!important.txt\n"
	"inner/deeper/\n"
	"x/y\n";

static const char inner_rules[] =
	"*.o\n"
	"!sub-keep\n"
	"!/build\n";

static const char info_rules[] =
	"excluded-by-info\n"
	"*.txt\n"
	"!readme.txt   \n"
	"infodir/\n";

static const char global_rules[] =
	"\xef\xbb\xbfglobal-only\n"
	"readme.txt\n"
	"*.bak\n"
	"important.txt\n";

static const char *const fixed_paths[] = {
	/* "/" at the end: a folder */
	"x.o", "keep.o", "sub/x.o", "sub/keep.o", "sub/inner/x.o", "sub/inner/keep.o",
	"sub/inner/sub-keep", "build/", "build/x.c", "src/build/", "src/build/y", "buildfile",
	"rootonly", "sub/rootonly", "doc/a.txt", "doc/sub/a.txt", "sub/doc/a.txt",
	"logs/", "sub/logs", "a/logs/", "a/b/logs", "tmp/", "tmp/f", "tmp/a/b", "tmpx",
	"a/z", "a/b/z", "a/b/c/z", "az", "#hash", "!bang", "trail", "trail ", "esc ", "esc",
	"f.cx", "f.hx", "f.dx", "d1.q", "a1.q", "x1y", "xay", "deep/a.log", "deep/x/y/a.log",
	"crlf", "tab\t", "tab", "nul", "cache/", "cache/keep", "cache/other", "foo/bar", "foox/y/bar",
	"abxcd", "abx/ycd", "q/z/r", "q/z/w/r", "sp ace", "[", "un[closed", "back\\", "m]n", "r-s",
	"ras", "nolast", "sub/local", "sub/inner/local", "sub/anch", "sub/x/anch", "anch",
	"sub/a.txt", "sub/important.txt", "important.txt", "readme.txt", "sub/readme.txt",
	"excluded-by-info", "sub/excluded-by-info", "global-only", "x.bak", "infodir/", "infodir/f",
	"sub/inner/deeper/", "sub/inner/deeper/f", "sub/x/y", "x/y", "sub/inner/build/",
	"sub/inner/build/f", "other/", "other/file",
};

static const char *tmp_path;

/* The repository of the fixed rules, its paths and rules, shared by the cases in order. */
static struct fixed {
	char *repo, *global, *home;
	ug_ignore *ig;
	ug_repo *r;
	qlist q;
} fx;

static void fixed_free(void)
{
	ug_ignore_free(fx.ig);
	ug_repo_free(fx.r);
	qfree(&fx.q);
	free(fx.repo);
	free(fx.home);
	free(fx.global);
	memset(&fx, 0, sizeof(fx));
}

/* The fixed rules' repository of the first case; false (the case failed) when there is none. */
static bool have_fixed(void)
{
	return ok(fx.ig != NULL, "the rules of the first case");
}

static void fixed_setup(void)
{
	const char *tmp = tmp_path;

	require(asprintf(&fx.repo, "%s/repo", tmp) >= 0 && asprintf(&fx.home, "%s/home", tmp) >= 0 &&
			asprintf(&fx.global, "%s/home/global-ignore", tmp) >= 0,
		"paths");
	require(sh("git init -q '%s' && git -C '%s' config core.excludesFile '~/global-ignore'", fx.repo,
		   fx.repo) == 0, "git init with core.excludesFile = ~/global-ignore");
	PUT(fx.repo, ".gitignore", root_rules);
	PUT(fx.repo, "sub/.gitignore", sub_rules);
	PUT(fx.repo, "sub/inner/.gitignore", inner_rules);
	PUT(fx.repo, ".git/info/exclude", info_rules);
	PUT(fx.home, "global-ignore", global_rules);
	for (size_t i = 0; i < sizeof(fixed_paths) / sizeof(fixed_paths[0]); i++) {
		char *p = strdup(fixed_paths[i]);
		size_t n = strlen(p);
		bool dir = n && p[n - 1] == '/';

		if (dir)
			p[n - 1] = '\0';
		qadd(&fx.q, p, dir);
		free(p);
	}
	require(materialize(fx.repo, &fx.q, true) == 0, "working tree made");
	require(ug_repo_open(&fx.r, fx.repo) == 0, "repository opens: %s", ug_error_last());
	if (!ok(ug_ignore_new(&fx.ig, fx.r) == 0, "rules of info/exclude and core.excludesFile load: %s",
		ug_error_last())) {
		fx.ig = NULL;
		return;
	}
	if (!ok(add_gitignore(fx.ig, fx.repo, "") == 0 && add_gitignore(fx.ig, fx.repo, "sub") == 0 &&
			add_gitignore(fx.ig, fx.repo, "sub/inner") == 0,
		".gitignore files added")) {
		ug_ignore_free(fx.ig);
		fx.ig = NULL;
	}
}

static void fixed_agrees(void)
{
	size_t checked = 0, bad;

	if (!have_fixed())
		return;
	bad = compare(tmp_path, fx.repo, fx.ig, &fx.q, fx.global, &checked);
	ok(bad == 0, "fixed rules: ugitfs agrees with git check-ignore on %zu of %zu paths",
	   checked - bad, checked);
}

/* the walker's variant agrees when no parent is excluded */
static void match_entry_agrees(void)
{
	size_t bad = 0;

	if (!have_fixed())
		return;
	for (size_t i = 0; i < fx.q.n; i++) {
		bool parent_ignored = false;
		char *p = strdup(fx.q.v[i].path);

		for (char *s = p; *s; s++) {
			if (*s != '/')
				continue;
			*s = '\0';
			parent_ignored |= ug_ignore_match(fx.ig, p, true) == 1;
			*s = '/';
		}
		if (!parent_ignored &&
		    ug_ignore_match_entry(fx.ig, fx.q.v[i].path, fx.q.v[i].dir) !=
			    ug_ignore_match(fx.ig, fx.q.v[i].path, fx.q.v[i].dir))
			bad++;
		free(p);
	}
	ok(bad == 0, "ug_ignore_match_entry agrees below folders that are not excluded");
}

static void top_never_ignored(void)
{
	if (have_fixed())
		is_int(ug_ignore_match(fx.ig, "", true), 0, "the top itself is never ignored");
}

/* A file over the size limit adds nothing. */
static void file_over_limit(void)
{
	if (have_fixed())
		is_int(ug_ignore_add_file(fx.ig, "big", "x", (size_t)101 << 20), UG_EINVALID,
		       "a .gitignore over 100 MiB is refused");
}

/* Where core.excludesFile is looked for: its default under $XDG_CONFIG_HOME
 * or ~/.config, and a relative name taken from the working tree. */
static void excludes_file(size_t c)
{
	static const char *const cases[][2] = {
		/* repo name, its setup (run in the repo) */
		{ "xdg", "mkdir -p \"$XDG_CONFIG_HOME/git\" && printf 'xdg-only\\n' > \"$XDG_CONFIG_HOME/git/ignore\"" },
		{ "dotconfig", "mkdir -p \"$HOME/.config/git\" && printf 'dotconfig-only\\n' > \"$HOME/.config/git/ignore\"" },
		{ "relative", "git config core.excludesFile rel-ignore && printf 'rel-only\\n' > rel-ignore" },
	};
	static const char *const names[] = { "xdg-only", "dotconfig-only", "rel-only", "other" };
	const char *tmp = tmp_path;

	{
		char *repo, *xdg;
		ug_repo *r = NULL;
		ug_ignore *ig = NULL;
		qlist q = { 0 };
		size_t checked = 0, bad = 1;

		require(asprintf(&repo, "%s/%s", tmp, cases[c][0]) >= 0 && asprintf(&xdg, "%s/xdg", tmp) >= 0,
			"paths");
		if (c == 0)
			setenv("XDG_CONFIG_HOME", xdg, 1);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			qadd(&q, names[i], false);
		if (!sh("git init -q '%s' && cd '%s' && %s", repo, repo, cases[c][1]) && !ug_repo_open(&r, repo) &&
		    !ug_ignore_new(&ig, r)) {
			bad = compare(tmp, repo, ig, &q, NULL, &checked);
			bad += ug_ignore_match(ig, names[c], false) != 1;
		}
		ok(bad == 0, "core.excludesFile: %s", cases[c][0]);
		unsetenv("XDG_CONFIG_HOME");
		ug_ignore_free(ig);
		ug_repo_free(r);
		qfree(&q);
		free(repo);
		free(xdg);
	}
}

static void excludes_file_xdg(void)
{
	excludes_file(0);
}

static void excludes_file_dotconfig(void)
{
	excludes_file(1);
}

static void excludes_file_relative(void)
{
	excludes_file(2);
}

/* ---- random patterns ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	return xorshift_below(&rng, n);
}

static const char *const pieces[] = {
	"a", "b", "ab", "c", ".c", "*", "*", "**", "**", "?", "/", "/", "/", "[ab]", "[!a]",
	"[^b]", "[a-c]", "[]a]", "[[:alpha:]]", "[[:digit:]x]", "[[:punct:]]", "\\a", "\\*",
	"x", "***", "[a-]", "[", "\\", "[*]", "[[]", "[\\]]", "*.c", "**/", "/**", "/**/",
	"\\/", "**\\/", "[\\-]", "[a\\-c]", "[*-b]", "[!]]", "[[:alpha:]-z]", "a**", "**a",
	"[[:alpha:]", "[[:x]", "[]-b]", "[!-]",
};

/* Folders and files under each random case's folder. */
static const char *const fuzz_dirs[] = {
	"a", "b", "ab", "x", "a/b", "a/a", "b/a", "a/b/c", "x/x",
};
static const char *const fuzz_files[] = { "c", "a.c", "ba", "x", "*", "[b]", "b", "a", "-", "a]" };

static bool is_fuzz_dir(const char *rel)
{
	for (size_t i = 0; i < sizeof(fuzz_dirs) / sizeof(fuzz_dirs[0]); i++)
		if (!strcmp(rel, fuzz_dirs[i]))
			return true;
	return false;
}

static void random_pattern(char *out, size_t outsz)
{
	size_t n = 0;
	unsigned k = 1 + rnd(4);

	out[0] = '\0';
	if (rnd(6) == 0)
		n += (size_t)snprintf(out + n, outsz - n, "!");
	if (rnd(6) == 0)
		n += (size_t)snprintf(out + n, outsz - n, "/");
	while (k--)
		n += (size_t)snprintf(out + n, outsz - n, "%s", pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
	if (rnd(6) == 0)
		snprintf(out + n, outsz - n, "/");
}

/* A new git repository tmp/name for generated rules, and an empty rule set in
 * *ig; the repository's path (malloc'ed), or NULL when the case failed. */
static char *rules_repo(const char *name, const char *what, ug_ignore **ig)
{
	char *repo;

	if (!ok(asprintf(&repo, "%s/%s", tmp_path, name) >= 0, "paths"))
		return NULL;
	if (!ok(sh("git init -q '%s'", repo) == 0, "git init (%s)", what) ||
	    !ok(ug_ignore_new(ig, NULL) == 0, "an empty rule set")) {
		free(repo);
		return NULL;
	}
	return repo;
}

static void random_rules(void)
{
	const char *tmp = tmp_path;
	unsigned cases = getenv("UG_TEST_CASES") ? (unsigned)atoi(getenv("UG_TEST_CASES")) : 150;
	char *repo, rules[512], pat[128], rel[256];
	ug_ignore *ig = NULL;
	qlist q = { 0 };
	size_t checked = 0, bad;

	repo = rules_repo("fuzz", "random patterns", &ig);
	if (!repo)
		return;
	for (unsigned c = 0; c < cases; c++) {
		size_t n = 0;
		unsigned lines = 1 + rnd(4);

		rules[0] = '\0';
		while (lines--) {
			random_pattern(pat, sizeof(pat));
			n += (size_t)snprintf(rules + n, sizeof(rules) - n, "%s\n", pat);
		}
		snprintf(rel, sizeof(rel), "f%03u/.gitignore", c);
		put(repo, rel, rules, n);
		snprintf(rel, sizeof(rel), "f%03u", c);
		if (ug_ignore_add_file(ig, rel, rules, n))
			tap_diag("add_file %s: %s", rel, ug_error_last());
		for (size_t d = 0; d < sizeof(fuzz_dirs) / sizeof(fuzz_dirs[0]); d++) {
			snprintf(rel, sizeof(rel), "f%03u/%s", c, fuzz_dirs[d]);
			qadd(&q, rel, true);
		}
		for (size_t d = 0; d <= sizeof(fuzz_dirs) / sizeof(fuzz_dirs[0]); d++) {
			const char *dir = d ? fuzz_dirs[d - 1] : "";

			for (size_t f = 0; f < sizeof(fuzz_files) / sizeof(fuzz_files[0]); f++) {
				char sub[128];

				snprintf(sub, sizeof(sub), "%s%s%s", dir, *dir ? "/" : "", fuzz_files[f]);
				if (is_fuzz_dir(sub))
					continue;
				snprintf(rel, sizeof(rel), "f%03u/%s", c, sub);
				qadd(&q, rel, false);
			}
		}
	}
	if (ok(materialize(repo, &q, false) == 0, "working tree made (%zu paths)", q.n)) {
		bad = compare(tmp, repo, ig, &q, NULL, &checked);
		ok(bad == 0, "%u random rule files: ugitfs agrees with git check-ignore on %zu of %zu paths",
		   cases, checked - bad, checked);
	}
	ug_ignore_free(ig);
	qfree(&q);
	free(repo);
}

/* Named classes and ranges over every byte a file name may hold. */
static void classes(void)
{
	const char *tmp = tmp_path;
	static const char *const classes[] = {
		"[[:alnum:]]", "[[:alpha:]]", "[[:blank:]]", "[[:cntrl:]]", "[[:digit:]]",
		"[[:graph:]]", "[[:lower:]]", "[[:print:]]", "[[:punct:]]", "[[:space:]]",
		"[[:upper:]]", "[[:xdigit:]]", "[\x80-\xff]", "[!a-z]", "[^[:alpha:]]", "?",
	};
	char *repo, rel[64], rules[64];
	ug_ignore *ig = NULL;
	qlist q = { 0 };
	size_t checked = 0, bad;

	repo = rules_repo("classes", "classes", &ig);
	if (!repo)
		return;
	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		int n = snprintf(rules, sizeof(rules), "k%s\n", classes[c]);

		snprintf(rel, sizeof(rel), "c%02zu/.gitignore", c);
		put(repo, rel, rules, (size_t)n);
		snprintf(rel, sizeof(rel), "c%02zu", c);
		ug_ignore_add_file(ig, rel, rules, (size_t)n);
		for (int b = 1; b < 256; b++) {
			if (b == '/')
				continue;
			snprintf(rel, sizeof(rel), "c%02zu/k%c", c, b);
			qadd(&q, rel, false);
		}
	}
	bad = compare(tmp, repo, ig, &q, NULL, &checked);
	ok(bad == 0, "character classes: ugitfs agrees with git on %zu of %zu names", checked - bad, checked);
	ug_ignore_free(ig);
	qfree(&q);
	free(repo);
}

/* Hostile rules stay cheap: long patterns, many stars, deep paths. */
static void hostile(void)
{
	ug_ignore *ig;
	char *rules, path[8192];
	size_t n = 0;

	require(ug_ignore_new(&ig, NULL) == 0, "an empty rule set");
	rules = malloc(300000);
	for (int i = 0; i < 60000; i++)
		n += (size_t)sprintf(rules + n, "*/");
	rules[n++] = 'z';
	rules[n++] = '\n';
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(rules + n, "?*");
	rules[n++] = '\n';
	n += (size_t)sprintf(rules + n, "a/**/**/**/**/**/**/**/**/**/**/**/**/**/**/b\n");
	ok(ug_ignore_add_file(ig, "", rules, n) == 0, "huge patterns are accepted");
	n = 0;
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(path + n, "a/");
	path[n++] = 'c';
	path[n] = '\0';
	is_int(ug_ignore_match(ig, path, false), 0, "a deep path against them: not ignored");
	path[n - 1] = 'b';
	is_int(ug_ignore_match(ig, path, false), 1, "the \"**\" chain matches a deep path");
	ug_ignore_free(ig);
	free(rules);
}

static const struct tap_case cases[] = {
	TAP_CASE("ignore: a repository with .gitignore files, info/exclude and core.excludesFile", fixed_setup),
	TAP_CASE("ignore: fixed rules agree with git check-ignore", fixed_agrees),
	TAP_CASE("ignore: the walker's variant agrees below folders not excluded", match_entry_agrees),
	TAP_CASE("ignore: the top itself is never ignored", top_never_ignored),
	TAP_CASE("ignore: a .gitignore over 100 MiB is refused", file_over_limit),
	TAP_CASE("ignore: core.excludesFile defaults under $XDG_CONFIG_HOME", excludes_file_xdg),
	TAP_CASE("ignore: core.excludesFile defaults under ~/.config", excludes_file_dotconfig),
	TAP_CASE("ignore: a relative core.excludesFile is taken from the working tree", excludes_file_relative),
	TAP_CASE("ignore: random rule files agree with git check-ignore", random_rules),
	TAP_CASE("ignore: character classes over every byte agree with git", classes),
	TAP_CASE("ignore: hostile rules stay cheap", hostile),
};

int main(void)
{
	/* UG_TEST_SEED and UG_TEST_CASES explore further than the default run */
	return GIT_TEST_MAIN("ignore", cases, &tmp_path, &rng, fixed_free);
}
