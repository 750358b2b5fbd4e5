/* Shared helpers of the libFuzzer targets: the scratch folder, splitting, files and repositories. */
#include "fuzz_util.h"

#include "error.h"
#include "log.h"
#include "zinflate.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Objects larger than this are refused: well under -rss_limit_mb, far over any seed. */
#define FUZZ_MAX_OBJECT (64u << 20)

static char root[PATH_MAX];
static int own_root; /* made by us: removed at exit */

static void quiet(ug_log_level level, const char *line)
{
	(void)level;
	(void)line;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	if (own_root)
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fuzz harness: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

static void mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		die("path too long", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			die("cannot make", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		die("cannot make", tmp);
}

const char *fuzz_init(void)
{
	const char *env = getenv("UGITFS_FUZZ_TMP");

	if (root[0])
		return root;
	ug_log_set_sink(quiet);
	ug_zinflate_set_max_size(FUZZ_MAX_OBJECT);
	if (env && *env) {
		snprintf(root, sizeof(root), "%s/%d", env, (int)getpid());
	} else {
		snprintf(root, sizeof(root), "/dev/shm/ugitfs-fuzz-%d", (int)getpid());
		own_root = 1;
		atexit(cleanup);
	}
	mkdirs(root);
	return root;
}

size_t fuzz_split(const uint8_t *data, size_t size, fuzz_part *parts, size_t max)
{
	size_t n = 0, seplen = strlen(FUZZ_SEP);

	while (n + 1 < max) {
		const uint8_t *sep = memmem(data, size, FUZZ_SEP, seplen);

		if (!sep)
			break;
		parts[n].data = data;
		parts[n++].len = (size_t)(sep - data);
		size -= (size_t)(sep - data) + seplen;
		data = sep + seplen;
	}
	parts[n].data = data;
	parts[n++].len = size;
	return n;
}

void fuzz_put(const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX], *slash;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", fuzz_init(), rel) >= (int)sizeof(path))
		die("path too long", rel);
	if (len == SIZE_MAX) {
		if (unlink(path) < 0 && errno != ENOENT)
			die("cannot remove", path);
		return;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdirs(path);
	*slash = '/';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot create", path);
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, (const char *)data + done, len - done);

		if (w <= 0)
			die("cannot write", path);
		done += (size_t)w;
	}
	close(fd);
}

char *fuzz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

static ug_repo *open_repo(const char *rel)
{
	char path[PATH_MAX];
	ug_repo *repo;

	snprintf(path, sizeof(path), "%s/%s", fuzz_init(), rel);
	if (ug_repo_open(&repo, path)) {
		fprintf(stderr, "fuzz harness: cannot open %s: %s\n", path, ug_error_last());
		abort();
	}
	return repo;
}

ug_repo *fuzz_ugit_repo(void)
{
	static ug_repo *repo;

	if (!repo) {
		fuzz_put("ugit/.ugit/HEAD", "ref: refs/heads/master", 22);
		fuzz_put("ugit/.ugit/refs/heads/.keep", "", 0);
		fuzz_put("ugit/.ugit/objects/.keep", "", 0);
		repo = open_repo("ugit");
	}
	return repo;
}

ug_repo *fuzz_sha256_repo(void)
{
	static const char config[] = "[core]\n\trepositoryformatversion = 1\n\tbare = true\n"
				     "[extensions]\n\tobjectformat = sha256\n";
	static ug_repo *repo;

	if (!repo) {
		fuzz_put("sha256.git/HEAD", "ref: refs/heads/main\n", 21);
		fuzz_put("sha256.git/config", config, sizeof(config) - 1);
		fuzz_put("sha256.git/refs/heads/.keep", "", 0);
		fuzz_put("sha256.git/objects/info/.keep", "", 0);
		fuzz_put("sha256.git/objects/pack/.keep", "", 0);
		repo = open_repo("sha256.git");
	}
	return repo;
}

ug_repo *fuzz_format_repo(uint8_t format)
{
	ug_repo *repos[3] = { NULL, fuzz_sha256_repo(), fuzz_ugit_repo() };

	return repos[format % 3];
}
