/* Small helpers for unit tests that use real git as the oracle: temp dirs, shell commands, files. */
#ifndef UG_TEST_GITUTIL_H
#define UG_TEST_GITUTIL_H

#include "fileio.h"
#include "tap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Keep git away from the user's and the system's config; fixed identities and
 * dates so that ids are reproducible. home becomes $HOME. */
static inline void git_env_isolate(const char *home)
{
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("GIT_CONFIG_GLOBAL");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
	unsetenv("GIT_OBJECT_DIRECTORY");
	setenv("GIT_AUTHOR_NAME", "A U Thor", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "C O Mitter", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	setenv("GIT_AUTHOR_DATE", "1700000000 +0000", 1);
	setenv("GIT_COMMITTER_DATE", "1700000000 +0000", 1);
}

/*
 * A scratch folder /tmp/NAME-XXXXXX made in dir (size bytes) that becomes
 * $HOME, with no system config and the identity "T <t@example.com>"; dates
 * stay the clock's. For tests whose ids need not be reproducible. 0, or -1
 * when the folder cannot be made.
 */
static inline int git_home_plain(char *dir, size_t size, const char *name)
{
	snprintf(dir, size, "/tmp/%s-XXXXXX", name);
	if (!mkdtemp(dir))
		return -1;
	setenv("HOME", dir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "T", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "T", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	unsetenv("GIT_DIR");
	return 0;
}

/* A new directory under $TMPDIR or /tmp; malloc'ed path, or NULL. */
static inline char *tmpdir_new(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p = NULL;

	if (!base || base[0] != '/' || strchr(base, '\''))
		base = "/tmp";
	if (asprintf(&p, "%s/ugitfs-%s-XXXXXX", base, tag) < 0)
		return NULL;
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* Run a shell command (printf format); its exit status, or -1. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int st, n;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	st = system(cmd);
	free(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Run a shell command and return its whole standard output (NUL-terminated,
 * *len bytes without the NUL), malloc'ed; NULL when it fails or exits non-zero. */
static inline char *sh_out(size_t *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline char *sh_out(size_t *len, const char *fmt, ...)
{
	char *cmd = NULL, *buf = NULL;
	size_t used = 0, alloc = 0;
	va_list ap;
	FILE *p;
	int n, st;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = popen(cmd, "r");
	free(cmd);
	if (!p)
		return NULL;
	for (;;) {
		size_t got;

		if (alloc - used < 4096) {
			char *nb = realloc(buf, alloc ? alloc * 2 : 8192);

			if (!nb) {
				free(buf);
				pclose(p);
				return NULL;
			}
			buf = nb;
			alloc = alloc ? alloc * 2 : 8192;
		}
		got = fread(buf + used, 1, alloc - used - 1, p);
		used += got;
		if (got == 0)
			break;
	}
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		free(buf);
		return NULL;
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
}

/* Run a shell command and return its output without trailing newlines, in a
 * static buffer valid until the next call ("" when it fails). Copy the result
 * before calling again: two calls in one expression share the buffer. */
static inline const char *sh_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *sh_str(const char *fmt, ...)
{
	static char out[8192];
	char *cmd = NULL, *got;
	size_t len = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if (n < 0)
		return out;
	got = sh_out(&len, "%s", cmd);
	free(cmd);
	if (!got)
		return out;
	while (len > 0 && got[len - 1] == '\n')
		len--;
	if (len >= sizeof(out))
		len = sizeof(out) - 1;
	memcpy(out, got, len);
	out[len] = '\0';
	free(got);
	return out;
}

/* mkdir -p of every folder of path (the last component too when is_dir). */
static inline int mkdirs(const char *path, int is_dir)
{
	return (is_dir ? ug_fileio_mkdirs(path, 0755) : ug_fileio_mkdir_parents(path, 0755)) ? -1 : 0;
}

/* Write a file, creating its folders. 0 or -1. */
static inline int write_file(const char *path, const void *data, size_t len)
{
	FILE *f;
	size_t n;

	if (mkdirs(path, 0))
		return -1;
	f = fopen(path, "wb");
	if (!f)
		return -1;
	n = fwrite(data, 1, len, f);
	if (fclose(f) || n != len)
		return -1;
	return 0;
}

static inline void rm_rf(const char *dir)
{
	if (dir && strstr(dir, "/ugitfs-") && !strchr(dir, '\''))
		sh("rm -rf '%s'", dir);
}

/* A reproducible random number below n (xorshift64); *state is never 0. */
static inline unsigned xorshift_below(uint64_t *state, unsigned n)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (unsigned)(*state % n);
}

/*
 * The main() of a test that checks random cases against git: a scratch folder
 * (ugitfs-TAG-..., in *tmp while the cases run) with the isolated $HOME in it,
 * *rng seeded from $UG_TEST_SEED when that is set, the cases run, then
 * release() and the folder removed. Returns the exit status.
 */
static inline int git_test_main(const char *tag, const struct tap_case *cases, size_t n, const char **tmp,
				uint64_t *rng, void (*release)(void))
{
	char *dir = tmpdir_new(tag), *home;
	int status;

	if (!dir || asprintf(&home, "%s/home", dir) < 0)
		return 1;
	*tmp = dir;
	git_env_isolate(home);
	if (getenv("UG_TEST_SEED"))
		*rng = strtoull(getenv("UG_TEST_SEED"), NULL, 0) | 1;
	status = tap_run(cases, n);
	release();
	rm_rf(dir);
	free(dir);
	free(home);
	return status;
}
#define GIT_TEST_MAIN(tag, cases, tmp, rng, release) \
	git_test_main((tag), (cases), sizeof(cases) / sizeof((cases)[0]), (tmp), (rng), (release))

#endif
