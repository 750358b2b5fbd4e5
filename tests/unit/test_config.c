/* Unit tests of the git config reader: syntax vectors, booleans, integers, errors, and git config as the oracle. */
#include "config.h"
#include "error.h"
#include "tap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static ug_config *parse(const char *text, int *err)
{
	ug_config *cfg;

	ug_config_new(&cfg);
	*err = ug_config_add_buf(cfg, text, strlen(text), "test.cfg");
	return cfg;
}

/* Is key's value exactly want (NULL: set without "=")? */
static int value_is(ug_config *cfg, const char *key, const char *want)
{
	const char *v = "unset";

	if (ug_config_get(cfg, key, &v))
		return 0;
	if (!want || !v)
		return !want && !v;
	return !strcmp(v, want);
}

static const char vectors[] =
	"# a comment\n"
	"; another\n"
	"[core]\n"
	"\trepositoryformatversion = 0\n"
	"\tBare = false\n"
	"[remote \"Origin\"]\n"
	"\turl = https://example.com/x.git ; trailing comment\n"
	"[branch.Main]\n"
	"\tremote = origin\n"
	"[quote]\n"
	"\ta = \"  spaced  \"\n"
	"\tb = x \"y # z\" ; comment\n"
	"\tc = one   two   \n"
	"\td = tab\\there\n"
	"\te = back\\\\slash\n"
	"\tf = say \\\"hi\\\"\n"
	"\tg = one \\\n"
	"  two\n"
	"\th = \"semi;colon\"#c\n"
	"\tempty =\n"
	"\tflag\n"
	"[sec \"sub \\\"q\\\" \\\\x\"]\n"
	"\tkey = v\n"
	"[dup]\n"
	"\tk = first\n"
	"[DUP]\n"
	"\tK = last\n"
	"[include]\n"
	"\tpath = elsewhere\n";

/* Compare our value of key with `git config -f FILE --get KEY`. */
static int git_agrees(ug_config *cfg, const char *file, const char *key)
{
	char cmd[512], out[512];
	const char *v;
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "git config -f '%s' --get '%s'", file, key);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	n = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0'; /* git prints one newline after the value */
	if (ug_config_get(cfg, key, &v))
		return 0;
	return !strcmp(v ? v : "", out);
}

/* The vectors parsed; NULL (and the case failed) when they do not parse. Free with ug_config_free. */
static ug_config *vectors_cfg(void)
{
	ug_config *cfg;
	int err;

	cfg = parse(vectors, &err);
	if (err) {
		is_int(err, 0, "the vectors parse: %s", ug_error_last());
		ug_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void plain_values(void)
{
	ug_config *cfg;
	int err;

	cfg = parse(vectors, &err);
	if (is_int(err, 0, "the vectors parse")) {
		ok(value_is(cfg, "core.repositoryformatversion", "0"), "plain value");
		ok(value_is(cfg, "core.bare", "false") && value_is(cfg, "CORE.BARE", "false"),
		   "section and key names are case-insensitive");
	}
	ug_config_free(cfg);
}

static void subsections(void)
{
	ug_config *cfg = vectors_cfg();
	const char *v;

	if (!cfg)
		return;
	ok(value_is(cfg, "remote.Origin.url", "https://example.com/x.git"), "subsection, comment stripped");
	is_int(ug_config_get(cfg, "remote.origin.url", &v), UG_ENOTFOUND, "subsections compare exactly");
	ok(value_is(cfg, "branch.main.remote", "origin"), "old [a.B] syntax lowercases the subsection");
	ok(value_is(cfg, "sec.sub \"q\" \\x.key", "v"), "escapes in a subsection");
	ug_config_free(cfg);
}

static void quotes_and_escapes(void)
{
	ug_config *cfg = vectors_cfg();

	if (!cfg)
		return;
	ok(value_is(cfg, "quote.a", "  spaced  "), "spaces inside quotes kept");
	ok(value_is(cfg, "quote.b", "x y # z"), "comment characters inside quotes kept");
	ok(value_is(cfg, "quote.c", "one   two"), "inner spaces kept, trailing ones dropped");
	ok(value_is(cfg, "quote.d", "tab\there"), "\\t escape");
	ok(value_is(cfg, "quote.e", "back\\slash"), "\\\\ escape");
	ok(value_is(cfg, "quote.f", "say \"hi\""), "\\\" escape");
	ok(value_is(cfg, "quote.g", "one   two"), "backslash-newline continues the value");
	ok(value_is(cfg, "quote.h", "semi;colon"), "quoted ; then a comment");
	ug_config_free(cfg);
}

static void empty_and_no_value(void)
{
	ug_config *cfg = vectors_cfg();

	if (!cfg)
		return;
	ok(value_is(cfg, "quote.empty", ""), "empty value");
	ok(value_is(cfg, "quote.flag", NULL), "key without = has no value");
	ug_config_free(cfg);
}

static void last_wins_includes_kept(void)
{
	ug_config *cfg = vectors_cfg();
	const char *v;

	if (!cfg)
		return;
	ok(value_is(cfg, "dup.k", "last"), "the last value wins");
	ok(value_is(cfg, "include.path", "elsewhere"), "includes are kept as plain keys, not followed");
	is_int(ug_config_get(cfg, "nodot", &v), UG_EINVALID, "a key without a section is refused");
	ug_config_free(cfg);
}

static void bools_of_vectors(void)
{
	ug_config *cfg = vectors_cfg();
	bool b = false;

	if (!cfg)
		return;
	is_int(ug_config_get_bool(cfg, "quote.flag", &b), 0, "bool of a bare key");
	ok(b, "a bare key is true");
	ug_config_get_bool(cfg, "quote.empty", &b);
	ok(!b, "an empty value is false");
	ug_config_get_bool(cfg, "core.bare", &b);
	ok(!b, "false is false");
	ug_config_free(cfg);
}

/* The vectors written to a temporary file (path is a "/tmp/ugcfg-XXXXXX" to fill); 0 or -1. */
static int vectors_file(char *path)
{
	int fd = mkstemp(path);
	bool wrote = fd >= 0 && write(fd, vectors, sizeof(vectors) - 1) == (ssize_t)sizeof(vectors) - 1;

	if (fd >= 0)
		close(fd);
	return ok(wrote, "wrote the vectors to a file") ? 0 : -1;
}

/* the same file through git */
static const char *const git_keys[] = { "core.bare", "remote.Origin.url", "branch.main.remote",
	"quote.a", "quote.b", "quote.c", "quote.d", "quote.e", "quote.f", "quote.g",
	"quote.h", "quote.empty", "sec.sub \"q\" \\x.key", "dup.k" };
#define NGIT_KEYS (sizeof(git_keys) / sizeof(*git_keys))

static const char *git_key(size_t i)
{
	return git_keys[i];
}

static void git_agrees_on_key(size_t i)
{
	char path[] = "/tmp/ugcfg-XXXXXX";
	ug_config *cfg = vectors_cfg();

	if (!cfg)
		return;
	if (vectors_file(path) == 0)
		ok(git_agrees(cfg, path, git_keys[i]), "git config agrees on %s", git_keys[i]);
	unlink(path);
	ug_config_free(cfg);
}

static void from_a_file(void)
{
	char path[] = "/tmp/ugcfg-XXXXXX";
	ug_config *cfg;

	ug_config_new(&cfg);
	if (vectors_file(path) == 0 &&
	    is_int(ug_config_add_file(cfg, path), 0, "the same text parses from a file"))
		ok(value_is(cfg, "quote.g", "one   two"), "file values match");
	unlink(path);
	is_int(ug_config_add_file(cfg, "/nonexistent/ugitfs/config"), 0, "a missing file adds nothing");
	ug_config_free(cfg);
}

/* git reads a config as a stream: /dev/null is empty, a folder is no config */
static void dev_null_and_folder(void)
{
	ug_config *cfg = vectors_cfg();

	if (!cfg)
		return;
	is_int(ug_config_add_file(cfg, "/dev/null"), 0, "/dev/null reads as an empty config");
	ok(value_is(cfg, "quote.g", "one   two"), "and adds nothing");
	is_int(ug_config_add_file(cfg, "/"), UG_ECORRUPT, "a folder is not a config file");
	ug_config_free(cfg);
}

/* a FIFO is read to its end */
static void fifo(void)
{
	char fifo[] = "/tmp/ugitfs-config-fifo-XXXXXX";
	int tmp = mkstemp(fifo);
	ug_config *cfg;
	pid_t pid;

	close(tmp);
	unlink(fifo);
	require(!mkfifo(fifo, 0600), "made a FIFO");
	pid = fork();
	if (pid == 0) {
		int w = open(fifo, O_WRONLY);

		_exit(w >= 0 && write(w, "[fifo]\n k = v\n", 14) == 14 ? 0 : 1);
	}
	ug_config_new(&cfg);
	is_int(ug_config_add_file(cfg, fifo), 0, "a FIFO reads as a stream");
	waitpid(pid, NULL, 0);
	ok(value_is(cfg, "fifo.k", "v"), "with its values");
	unlink(fifo);
	ug_config_free(cfg);
}

static const char bool_int_vectors[] =
	"[b]\n t1 = yes\n t2 = On\n t3 = 1\n t4 = TRUE\n t5 = 2\n"
	" f1 = no\n f2 = off\n f3 = 0\n f4 = False\n bad = maybe\n"
	"[i]\n k = 10k\n m = 2m\n g = 1g\n neg = -5\n hex = 0x10\n bad = 12q\n";

/* The boolean keys of bool_int_vectors: b.t1 to b.t5 true, b.f1 to b.f4 false. */
static const char *const bool_keys[] = { "b.t1", "b.t2", "b.t3", "b.t4", "b.t5", "b.f1", "b.f2", "b.f3", "b.f4" };
#define NBOOL_KEYS (sizeof(bool_keys) / sizeof(*bool_keys))

static const char *bool_key(size_t i)
{
	return bool_keys[i];
}

static void boolean(size_t i)
{
	bool want = bool_keys[i][2] == 't', b = !want;
	ug_config *cfg;
	int err;

	cfg = parse(bool_int_vectors, &err);
	if (is_int(err, 0, "bool and int vectors parse"))
		ok(!ug_config_get_bool(cfg, bool_keys[i], &b) && b == want, "%s is %s", bool_keys[i],
		   want ? "true" : "false");
	ug_config_free(cfg);
}

static void bad_booleans(void)
{
	ug_config *cfg;
	bool b;
	int err;

	cfg = parse(bool_int_vectors, &err);
	if (is_int(err, 0, "bool and int vectors parse")) {
		is_int(ug_config_get_bool(cfg, "b.bad", &b), UG_EINVALID, "a non-boolean is refused");
		is_int(ug_config_get_bool(cfg, "b.missing", &b), UG_ENOTFOUND, "a missing bool");
	}
	ug_config_free(cfg);
}

static void integers(void)
{
	ug_config *cfg;
	int64_t n;
	int err;

	cfg = parse(bool_int_vectors, &err);
	if (err) {
		is_int(err, 0, "bool and int vectors parse");
		goto out;
	}
	ok(!ug_config_get_int(cfg, "i.k", &n) && n == 10240, "k suffix");
	ok(!ug_config_get_int(cfg, "i.m", &n) && n == 2 * 1024 * 1024, "m suffix");
	ok(!ug_config_get_int(cfg, "i.g", &n) && n == 1024LL * 1024 * 1024, "g suffix");
	ok(!ug_config_get_int(cfg, "i.neg", &n) && n == -5, "negative");
	ok(!ug_config_get_int(cfg, "i.hex", &n) && n == 16, "hex");
	is_int(ug_config_get_int(cfg, "i.bad", &n), UG_EINVALID, "a bad integer is refused");
out:
	ug_config_free(cfg);
}

/* CRLF line ends and a missing final newline */
static void crlf(void)
{
	ug_config *cfg;
	int err;

	cfg = parse("[a]\r\n\tx = 1\r\n\ty = \"two\"\r\n\tz = 3", &err);
	if (is_int(err, 0, "CRLF text parses"))
		ok(value_is(cfg, "a.x", "1") && value_is(cfg, "a.y", "two") && value_is(cfg, "a.z", "3"),
		   "CRLF values have no CR, and the last line needs no newline");
	ug_config_free(cfg);
}

static void backslash_at_end(void)
{
	ug_config *cfg;
	int err;

	cfg = parse("[a]\nk = v\\", &err);
	ok(!err && value_is(cfg, "a.k", "v"), "a backslash at the very end continues to nothing, as in git");
	ug_config_free(cfg);
}

/* malformed: ECORRUPT naming the origin and line */
static const struct {
	const char *text, *where, *what;
} malformed[] = {
	{ "[core\n", "test.cfg:1", "unterminated section" },
	{ "[ok]\n\n[sec \"sub\n", "test.cfg:3", "unterminated subsection" },
	{ "[sec \"sub\" ]\n", "test.cfg:1", "junk after a subsection" },
	{ "[a]\nk = \"open\n", "test.cfg:2", "unterminated quote" },
	{ "[a]\nx = 1\nk = bad\\q\n", "test.cfg:3", "unknown escape" },
	{ "k = v\n", "test.cfg:1", "key before any section" },
	{ "[a]\n1k = v\n", "test.cfg:2", "key starting with a digit" },
	{ "[a]\nk_x = v\n", "test.cfg:2", "bad character in a key" },
	{ "[a b]\n", "test.cfg:1", "subsection without quotes" },
	{ "[]\n", "test.cfg:1", "empty section" },
	{ "[a]\nflag ; c\n", "test.cfg:2", "a comment after a key without =" },
};
#define NMALFORMED (sizeof(malformed) / sizeof(*malformed))

static const char *malformed_name(size_t i)
{
	return malformed[i].what;
}

static void malformed_row(size_t i)
{
	ug_config *cfg;
	int err;

	cfg = parse(malformed[i].text, &err);
	ok(err == UG_ECORRUPT && strstr(ug_error_last(), malformed[i].where),
	   "%s: corrupt at %s (%s)", malformed[i].what, malformed[i].where, ug_error_last());
	ug_config_free(cfg);
}

static const struct tap_case cases[] = {
	TAP_CASE("config: plain values, names case-insensitive", plain_values),
	TAP_CASE("config: subsections compare exactly, old [a.B] syntax, escapes in them", subsections),
	TAP_CASE("config: quotes, escapes and continued lines in values", quotes_and_escapes),
	TAP_CASE("config: an empty value, a key without =", empty_and_no_value),
	TAP_CASE("config: the last value wins, includes are plain keys, a key needs a section", last_wins_includes_kept),
	TAP_CASE("config: booleans of a bare key, an empty value, false", bools_of_vectors),
	TAP_ROWS("config: git config agrees on", git_agrees_on_key, NGIT_KEYS, git_key),
	TAP_CASE("config: the same text from a file, a missing file adds nothing", from_a_file),
	TAP_CASE("config: /dev/null is an empty config, a folder is none", dev_null_and_folder),
	TAP_CASE("config: a FIFO is read as a stream", fifo),
	TAP_ROWS("config: git's spelling of a boolean", boolean, NBOOL_KEYS, bool_key),
	TAP_CASE("config: a non-boolean is refused, a missing one not found", bad_booleans),
	TAP_CASE("config: integers with k, m, g suffixes, negative and hex", integers),
	TAP_CASE("config: CRLF line ends and no final newline", crlf),
	TAP_CASE("config: a backslash at the very end continues to nothing", backslash_at_end),
	TAP_ROWS("config: corrupt, naming file and line", malformed_row, NMALFORMED, malformed_name),
};

int main(void)
{
	return TAP_RUN(cases);
}
