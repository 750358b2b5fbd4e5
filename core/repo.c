/* Opening repositories: git (working tree, .git dir or file, bare, linked worktree) and ugit; config, ident, revparse. */
#include "repo.h"

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "promisor.h"

#include <ctype.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ug_repo {
	ug_format format;
	ug_hash_algo algo;
	char *gitdir;    /* absolute */
	char *commondir; /* absolute; == gitdir except in linked worktrees */
	char *workdir;   /* absolute, or NULL when bare */
	ug_odb *odb;
	ug_refdb *refdb;
	ug_config *config;
	/* the shallow boundary: sorted ids, replaced whole under shallow_lock */
	pthread_rwlock_t shallow_lock;
	ug_oid *shallow;
	size_t nshallow;
	struct stat shallow_st; /* of the file last read; st_ino 0: none */
	ug_promisor *promisor; /* a partial clone's remote, or NULL */
};

void ug_repo_free(ug_repo *repo)
{
	if (!repo)
		return;
	ug_promisor_free(repo->promisor); /* before the odb whose hook it is */
	ug_refdb_free(repo->refdb);
	ug_odb_free(repo->odb);
	ug_config_free(repo->config);
	pthread_rwlock_destroy(&repo->shallow_lock);
	free(repo->shallow);
	free(repo->gitdir);
	free(repo->commondir);
	free(repo->workdir);
	free(repo);
}

ug_format ug_repo_format(const ug_repo *repo) { return repo->format; }
ug_hash_algo ug_repo_algo(const ug_repo *repo) { return repo->algo; }
const char *ug_repo_gitdir(const ug_repo *repo) { return repo->gitdir; }
const char *ug_repo_commondir(const ug_repo *repo) { return repo->commondir; }
const char *ug_repo_workdir(const ug_repo *repo) { return repo->workdir; }
ug_odb *ug_repo_odb(ug_repo *repo) { return repo->odb; }
ug_refdb *ug_repo_refdb(ug_repo *repo) { return repo->refdb; }
ug_config *ug_repo_config(ug_repo *repo) { return repo->config; }

/* dir + "/" + name, newly malloc'ed (NULL when out of memory). */
static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool exists_in(const char *dir, const char *name, bool want_dir)
{
	char *p = join(dir, name);
	struct stat st;
	bool ok;

	if (!p)
		return false;
	ok = !stat(p, &st) && (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
	free(p);
	return ok;
}

/* Read a one-line file ("gitdir: X", a commondir file) without its trailing
 * whitespace. *line is malloc'ed. */
static int read_line_file(const char *path, char **line)
{
	char buf[PATH_MAX + 64];
	size_t n;
	FILE *f = fopen(path, "re");

	*line = NULL;
	if (!f)
		return ug_error_os(UG_ERROR, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n == sizeof(buf) - 1)
		return ug_error(UG_ENOTFOUND, "%s: too long to be a path file", path);
	buf[n] = '\0';
	if (strlen(buf) != n)
		return ug_error(UG_ENOTFOUND, "%s: holds a NUL byte", path);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	*line = strdup(buf);
	return *line ? 0 : ug_error(UG_ENOMEM, "out of memory");
}

/* A path relative to base (a directory), made absolute and canonical. */
static int resolve_rel(const char *base, const char *rel, const char *what, char **out)
{
	char *joined = rel[0] == '/' ? strdup(rel) : join(base, rel);

	*out = NULL;
	if (!joined)
		return ug_error(UG_ENOMEM, "out of memory");
	*out = realpath(joined, NULL);
	if (!*out) {
		int err = ug_error_os(UG_ENOTFOUND, "%s: %s %s", what, "cannot reach", joined);

		free(joined);
		return err;
	}
	free(joined);
	return 0;
}

/* A .git file: "gitdir: X", X relative to the file's directory. */
static int read_gitfile(const char *dotgit, const char *dir, char **gitdir)
{
	char *line;
	int err = read_line_file(dotgit, &line);

	if (err)
		return err == UG_ENOMEM ? err : UG_ENOTFOUND; /* the message names the file */
	if (strncmp(line, "gitdir:", 7)) {
		free(line);
		return ug_error(UG_ENOTFOUND, "%s: not a gitdir file", dotgit);
	}
	{
		const char *p = line + 7;

		while (*p == ' ' || *p == '\t')
			p++;
		err = *p ? resolve_rel(dir, p, dotgit, gitdir)
			 : ug_error(UG_ENOTFOUND, "%s: empty gitdir", dotgit);
	}
	free(line);
	return err;
}

/* Set commondir from gitdir/commondir (as `git worktree add` makes), else gitdir. */
static int find_commondir(ug_repo *repo)
{
	char *path = join(repo->gitdir, "commondir"), *line;
	int err;

	if (!path)
		return ug_error(UG_ENOMEM, "out of memory");
	if (access(path, F_OK) < 0) {
		free(path);
		repo->commondir = strdup(repo->gitdir);
		return repo->commondir ? 0 : ug_error(UG_ENOMEM, "out of memory");
	}
	err = read_line_file(path, &line);
	if (!err) {
		err = resolve_rel(repo->gitdir, line, path, &repo->commondir);
		free(line);
	}
	free(path);
	return err;
}

static bool looks_like_gitdir(const char *dir)
{
	if (!exists_in(dir, "HEAD", false))
		return false;
	if (exists_in(dir, "commondir", false))
		return true; /* a linked worktree's gitdir */
	return exists_in(dir, "objects", true) && exists_in(dir, "refs", true);
}

/* Add a config file that is the user's, not the repository's: one that
 * cannot be read is reported and skipped, a malformed one still fails. */
static int add_user_config(ug_config *cfg, const char *path)
{
	int err = ug_config_add_file(cfg, path);

	if (err && err != UG_ECORRUPT && err != UG_ENOMEM) {
		ug_log(UG_LOG_WARNING, "skipping config: %s", ug_error_last());
		err = 0;
	}
	return err;
}

/* The login name and home directory of the user, thread-safe (getpwuid_r). */
typedef struct {
	char name[256], home[4096];
} user_info;

static void get_user(user_info *u)
{
	struct passwd pw, *res = NULL;
	char buf[8192];

	u->name[0] = u->home[0] = '\0';
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res) {
		snprintf(u->name, sizeof(u->name), "%s", pw.pw_name ? pw.pw_name : "");
		snprintf(u->home, sizeof(u->home), "%s", pw.pw_dir ? pw.pw_dir : "");
	}
}

static const char *home_dir(user_info *u)
{
	const char *home = getenv("HOME");

	if (home && *home)
		return home;
	get_user(u);
	return u->home[0] ? u->home : NULL;
}

/* An environment variable read as git reads a boolean one: unset or empty is
 * false, true/yes/on or a non-zero number is true, false/no/off/0 is false;
 * anything else counts as set (true), where git would refuse to run. */
static bool env_bool(const char *name)
{
	static const char *const falses[] = { "false", "no", "off" };
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return false;
	for (size_t i = 0; i < sizeof(falses) / sizeof(*falses); i++)
		if (!strcasecmp(v, falses[i]))
			return false;
	n = strtol(v, &end, 10);
	return end == v || *end || n != 0;
}

/* System, then global: git's order, later files win. GIT_CONFIG_SYSTEM and
 * GIT_CONFIG_GLOBAL replace the paths (an empty one means none),
 * GIT_CONFIG_NOSYSTEM skips the system file. */
static int load_user_config(ug_config *cfg)
{
	const char *sys = getenv("GIT_CONFIG_SYSTEM"), *global = getenv("GIT_CONFIG_GLOBAL");
	user_info u;
	const char *home = home_dir(&u), *xdg = getenv("XDG_CONFIG_HOME");
	char *p = NULL;
	int err = 0;

	if (!env_bool("GIT_CONFIG_NOSYSTEM") && (err = add_user_config(cfg, sys ? sys : "/etc/gitconfig")))
		return err;
	if (global)
		return *global ? add_user_config(cfg, global) : 0;
	if (xdg && *xdg) {
		if (asprintf(&p, "%s/git/config", xdg) < 0)
			return ug_error(UG_ENOMEM, "out of memory");
	} else if (home) {
		if (asprintf(&p, "%s/.config/git/config", home) < 0)
			return ug_error(UG_ENOMEM, "out of memory");
	}
	if (p) {
		err = add_user_config(cfg, p);
		free(p);
		p = NULL;
		if (err)
			return err;
	}
	if (home) {
		if (asprintf(&p, "%s/.gitconfig", home) < 0)
			return ug_error(UG_ENOMEM, "out of memory");
		err = add_user_config(cfg, p);
		free(p);
	}
	return err;
}

/* The repository's own config: its object format, then merged over the user's. */
static int load_git_config(ug_repo *repo)
{
	char *path = join(repo->commondir, "config"), *wt = NULL;
	ug_config *own = NULL;
	const char *fmt;
	int64_t version = 0;
	bool flag;
	int err;

	if (!path)
		return ug_error(UG_ENOMEM, "out of memory");
	if ((err = ug_config_new(&own)) || (err = ug_config_add_file(own, path)))
		goto out;
	if (!ug_config_get_int(own, "core.repositoryformatversion", &version) && version > 1) {
		err = ug_error(UG_ENOTFOUND, "%s: unsupported repository format version %lld", path,
			       (long long)version);
		goto out;
	}
	repo->algo = UG_HASH_SHA1;
	if (!ug_config_get(own, "extensions.objectformat", &fmt)) {
		if (fmt && !strcasecmp(fmt, "sha256"))
			repo->algo = UG_HASH_SHA256;
		else if (!fmt || strcasecmp(fmt, "sha1")) {
			err = ug_error(UG_ENOTFOUND, "%s: unknown object format '%s'", path, fmt ? fmt : "");
			goto out;
		}
	}
	if ((err = ug_config_add_file(repo->config, path)))
		goto out;
	/* Per-worktree config, when the repository enables it. */
	if (!ug_config_get_bool(own, "extensions.worktreeconfig", &flag) && flag) {
		wt = join(repo->gitdir, "config.worktree");
		err = wt ? ug_config_add_file(repo->config, wt) : ug_error(UG_ENOMEM, "out of memory");
	}
out:
	free(wt);
	free(path);
	ug_config_free(own);
	return err;
}

/* Where the files of a git repository are, from PATH: gitdir and workdir. */
static int locate_git(ug_repo *repo, const char *path, const char *abspath)
{
	char *dotgit = join(abspath, ".git");
	struct stat st;
	int err = 0;

	if (!dotgit)
		return ug_error(UG_ENOMEM, "out of memory");
	if (!lstat(dotgit, &st)) {
		if (!stat(dotgit, &st) && S_ISDIR(st.st_mode)) {
			repo->gitdir = realpath(dotgit, NULL);
			if (!repo->gitdir)
				err = ug_error_os(UG_ENOTFOUND, "%s", dotgit);
		} else if (!stat(dotgit, &st) && S_ISREG(st.st_mode)) {
			err = read_gitfile(dotgit, abspath, &repo->gitdir);
		} else {
			err = ug_error(UG_ENOTFOUND, "%s/.git: not a git directory or gitdir file", path);
		}
		if (!err) {
			repo->workdir = strdup(abspath);
			if (!repo->workdir)
				err = ug_error(UG_ENOMEM, "out of memory");
		}
	} else {
		repo->gitdir = strdup(abspath); /* PATH is a .git directory or a bare repository */
		if (!repo->gitdir)
			err = ug_error(UG_ENOMEM, "out of memory");
	}
	free(dotgit);
	return err;
}

static int open_git(ug_repo *repo, const char *path, const char *abspath)
{
	char *objects = NULL;
	const char *slash;
	bool bare;
	int err;

	repo->format = UG_FORMAT_GIT;
	if ((err = locate_git(repo, path, abspath)) || (err = find_commondir(repo)))
		return err;
	if (!exists_in(repo->gitdir, "HEAD", false))
		return ug_error(UG_ENOTFOUND, "%s: not a git repository (no HEAD in %s)", path,
				repo->gitdir);
	if (!exists_in(repo->commondir, "objects", true))
		return ug_error(UG_ENOTFOUND, "%s: not a git repository (no objects directory in %s)",
				path, repo->commondir);
	if ((err = load_git_config(repo)))
		return err;
	/* A .git directory opened directly has its working tree above it, unless bare. */
	slash = strrchr(repo->gitdir, '/');
	if (!repo->workdir && slash && !strcmp(slash, "/.git") &&
	    (ug_config_get_bool(repo->config, "core.bare", &bare) || !bare)) {
		repo->workdir = strndup(repo->gitdir, (size_t)(slash - repo->gitdir));
		if (!repo->workdir)
			return ug_error(UG_ENOMEM, "out of memory");
		if (!*repo->workdir) {
			free(repo->workdir);
			repo->workdir = strdup("/");
		}
	}
	objects = join(repo->commondir, "objects");
	if (!objects)
		return ug_error(UG_ENOMEM, "out of memory");
	if (!(err = ug_odb_new(&repo->odb, repo->algo)))
		err = ug_odb_add_git(repo->odb, objects);
	free(objects);
	if (!err)
		err = ug_refdb_open_git(&repo->refdb, repo->gitdir, repo->commondir, repo->algo);
	return err;
}

static int open_ugit(ug_repo *repo, const char *abspath, const char *dotugit)
{
	char *objects;
	int err;

	repo->format = UG_FORMAT_UGIT;
	repo->algo = UG_HASH_SHA1;
	repo->gitdir = realpath(dotugit, NULL);
	repo->commondir = repo->gitdir ? strdup(repo->gitdir) : NULL;
	repo->workdir = strdup(abspath);
	objects = repo->gitdir ? join(repo->gitdir, "objects") : NULL;
	if (!repo->gitdir || !repo->commondir || !repo->workdir || !objects) {
		free(objects);
		return ug_error_os(UG_ENOMEM, "%s", dotugit);
	}
	if (!(err = ug_odb_new(&repo->odb, UG_HASH_SHA1)))
		err = ug_odb_add_ugit(repo->odb, objects);
	free(objects);
	if (!err)
		err = ug_refdb_open_ugit(&repo->refdb, repo->gitdir);
	return err;
}

/* Partial clones: missing objects are fetched from the promisor remote, on any read. */
static int open_promisor(ug_repo *repo)
{
	char *objects = join(repo->commondir, "objects");
	int err;

	if (!objects)
		return ug_error(UG_ENOMEM, "out of memory");
	err = ug_promisor_new(&repo->promisor, repo->gitdir, objects, repo->config, repo->odb);
	free(objects);
	if (err == UG_ENOTFOUND)
		return 0;
	if (!err)
		ug_promisor_attach(repo->promisor, repo->odb);
	return err;
}

ug_promisor *ug_repo_promisor(ug_repo *repo)
{
	return repo->promisor;
}

int ug_repo_open(ug_repo **out, const char *path)
{
	ug_repo *repo;
	char *abspath = NULL, *dotugit = NULL, *dotgit = NULL;
	struct stat st;
	int err;

	*out = NULL;
	if (stat(path, &st) < 0)
		return ug_error_os(UG_ERROR, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return ug_error(UG_ENOTFOUND, "%s: not a git or ugit repository", path);
	repo = calloc(1, sizeof(*repo));
	if (!repo)
		return ug_error(UG_ENOMEM, "out of memory");
	pthread_rwlock_init(&repo->shallow_lock, NULL);
	abspath = realpath(path, NULL);
	if (!abspath) {
		err = ug_error_os(UG_ERROR, "%s", path);
		goto fail;
	}
	if ((err = ug_config_new(&repo->config)) || (err = load_user_config(repo->config)))
		goto fail;
	dotgit = join(abspath, ".git");
	dotugit = join(abspath, ".ugit");
	if (!dotgit || !dotugit) {
		err = ug_error(UG_ENOMEM, "out of memory");
		goto fail;
	}
	/* .git wins over .ugit: ugit is often tried inside a git checkout. */
	if (!lstat(dotgit, &st) || looks_like_gitdir(abspath))
		err = open_git(repo, path, abspath);
	else if (is_dir(dotugit))
		err = open_ugit(repo, abspath, dotugit);
	else
		err = ug_error(UG_ENOTFOUND, "%s: not a git or ugit repository", path);
	if (!err && repo->format == UG_FORMAT_GIT && ug_repo_refresh_shallow(repo) < 0)
		err = UG_ERROR;
	if (!err && repo->format == UG_FORMAT_GIT)
		err = open_promisor(repo);
	if (err)
		goto fail;
	free(abspath);
	free(dotgit);
	free(dotugit);
	*out = repo;
	return 0;
fail:
	free(abspath);
	free(dotgit);
	free(dotugit);
	ug_repo_free(repo);
	return err;
}

/* A shallow file beyond this is refused: it lists boundary commits, not history. */
#define MAX_SHALLOW_FILE (64u << 20)

static int cmp_oid(const void *a, const void *b)
{
	return ug_oid_cmp(a, b);
}

/* Parse "HEX\n" lines into a sorted array (*out malloc'ed, *n ids). A bad
 * line is skipped and logged once; git would refuse the repository. */
static int parse_shallow(ug_repo *repo, const char *path, const char *buf, size_t len, ug_oid **out,
			 size_t *n)
{
	size_t hexsz = ug_hash_hexsz(repo->algo), pos = 0, count = 0, bad = 0;
	ug_oid *v = malloc((len / (hexsz + 1) + 1) * sizeof(*v));

	if (!v)
		return ug_error(UG_ENOMEM, "out of memory");
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;

		pos += ll + (nl ? 1 : 0);
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (ll == hexsz && !ug_oid_fromhex(&v[count], line, hexsz, repo->algo))
			count++;
		else if (ll)
			bad++;
	}
	if (bad)
		ug_log(UG_LOG_WARNING, "%s: skipped %zu malformed line%s", path, bad, bad == 1 ? "" : "s");
	qsort(v, count, sizeof(*v), cmp_oid);
	*out = v;
	*n = count;
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int ug_repo_refresh_shallow(ug_repo *repo)
{
	char *path = join(repo->commondir, "shallow"), *buf = NULL;
	ug_oid *v = NULL, *old;
	size_t n = 0;
	struct stat st = { 0 };
	ssize_t got = 0;
	int err = 0, fd;

	if (!path)
		return ug_error(UG_ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_SHALLOW_FILE)) {
		ug_log(UG_LOG_WARNING, "%s: not a shallow file, ignored", path);
		memset(&st, 0, sizeof(st));
		close(fd);
		fd = -1;
	}
	pthread_rwlock_rdlock(&repo->shallow_lock);
	bool same = same_file(&st, &repo->shallow_st);
	pthread_rwlock_unlock(&repo->shallow_lock);
	if (!same && fd >= 0) {
		buf = malloc((size_t)st.st_size + 1);
		got = buf ? ug_fileio_pread_all(fd, buf, (size_t)st.st_size, 0) : -1;
		err = got < 0 ? ug_error_os(UG_ERROR, "%s", path)
			      : parse_shallow(repo, path, buf, (size_t)got, &v, &n);
	}
	if (fd >= 0)
		close(fd);
	if (!same && !err) {
		pthread_rwlock_wrlock(&repo->shallow_lock);
		old = repo->shallow;
		repo->shallow = v;
		repo->nshallow = n;
		repo->shallow_st = st;
		pthread_rwlock_unlock(&repo->shallow_lock);
		free(old);
		v = NULL;
	}
	free(v);
	free(buf);
	free(path);
	return err ? err : !same;
}

bool ug_repo_is_shallow(ug_repo *repo, const ug_oid *commit)
{
	bool found;

	pthread_rwlock_rdlock(&repo->shallow_lock);
	found = repo->nshallow && bsearch(commit, repo->shallow, repo->nshallow, sizeof(*repo->shallow), cmp_oid);
	pthread_rwlock_unlock(&repo->shallow_lock);
	return found;
}

/* HEAD files beyond this name no branch: a symbolic ref is one short line. */
#define MAX_HEAD_FILE 4096

/* Whether the bytes of a HEAD file say "ref: REFNAME" (spaces after the colon
 * and whitespace at the end allowed, as git reads it). */
static bool head_names(const char *buf, size_t len, const char *refname)
{
	size_t i = 4, rlen = strlen(refname);

	if (len < 4 || memcmp(buf, "ref:", 4))
		return false;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	if (len - i < rlen || memcmp(buf + i, refname, rlen))
		return false;
	for (i += rlen; i < len; i++)
		if (!isspace((unsigned char)buf[i]))
			return false;
	return true;
}

/* Read at most max bytes of dir/name into buf; the count, or -1 when the file
 * cannot be read or is longer. */
static ssize_t read_small(const char *dir, const char *name, char *buf, size_t max)
{
	char *path = join(dir, name);
	ssize_t got;
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return -1;
	got = ug_fileio_pread_all(fd, buf, max + 1, 0);
	close(fd);
	return got < 0 || (size_t)got > max ? -1 : got;
}

static bool dir_head_names(const char *dir, const char *refname)
{
	char buf[MAX_HEAD_FILE + 1];
	ssize_t n = read_small(dir, "HEAD", buf, MAX_HEAD_FILE);

	return n > 0 && head_names(buf, (size_t)n, refname);
}

/* The main worktree's path, newly malloc'ed; NULL when the repository is bare
 * (or out of memory). core.bare decides; without it, a common directory named
 * .git has its worktree above it, as git decides. */
static char *main_worktree(ug_repo *repo)
{
	const char *wt = NULL, *slash = strrchr(repo->commondir, '/');
	bool bare = false, has_bare = !ug_config_get_bool(repo->config, "core.bare", &bare);
	char *out = NULL;

	if (has_bare && bare)
		return NULL;
	if (!ug_config_get(repo->config, "core.worktree", &wt) && wt && *wt) {
		if (resolve_rel(repo->commondir, wt, "core.worktree", &out))
			out = wt[0] == '/' ? strdup(wt) : join(repo->commondir, wt);
		return out;
	}
	if (slash && !strcmp(slash, "/.git"))
		return slash == repo->commondir ? strdup("/")
						: strndup(repo->commondir, (size_t)(slash - repo->commondir));
	return has_bare ? strdup(repo->commondir) : NULL;
}

/* A linked worktree's path from worktrees/ID/gitdir ("PATH/.git"), newly
 * malloc'ed; the admin folder itself when that file is unreadable. */
static char *linked_worktree(const char *admin)
{
	char buf[PATH_MAX + 1];
	ssize_t n = read_small(admin, "gitdir", buf, PATH_MAX);
	size_t len;

	if (n <= 0 || memchr(buf, '\0', (size_t)n))
		return strdup(admin);
	len = (size_t)n;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	if (len >= 5 && !memcmp(buf + len - 5, "/.git", 5))
		len -= len == 5 ? 4 : 5;
	if (buf[0] != '/') { /* relative to the admin folder, as newer git writes it */
		char *rel = strndup(buf, len), *abs = rel ? join(admin, rel) : NULL;

		free(rel);
		return abs;
	}
	return strndup(buf, len);
}

struct worktree_search {
	const char *dir, *refname;
	char **worktree;
};

/* 1 (stop) when the linked worktree admin folder name has refname checked out. */
static int worktree_has(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct worktree_search *ws = arg;
	char *admin;

	(void)dirfd;
	(void)type;
	if (name[0] == '.')
		return 0;
	admin = join(ws->dir, name);
	if (admin && dir_head_names(admin, ws->refname))
		*ws->worktree = linked_worktree(admin);
	free(admin);
	return *ws->worktree != NULL;
}

int ug_repo_checked_out(ug_repo *repo, const char *refname, char **worktree)
{
	struct worktree_search ws = { NULL, refname, worktree };
	char *dir, *main;

	*worktree = NULL;
	if (repo->format != UG_FORMAT_GIT) {
		/* a ugit repository's folder is its one checkout, of HEAD's branch */
		if (!repo->workdir || !dir_head_names(repo->gitdir, refname))
			return UG_ENOTFOUND;
		*worktree = strdup(repo->workdir);
		return *worktree ? 0 : ug_error(UG_ENOMEM, "out of memory");
	}
	main = main_worktree(repo);
	if (main && dir_head_names(repo->commondir, refname)) {
		*worktree = main;
		return 0;
	}
	free(main);
	dir = join(repo->commondir, "worktrees");
	if (!dir)
		return ug_error(UG_ENOMEM, "out of memory");
	ws.dir = dir;
	ug_fileio_dir_each(dir, worktree_has, &ws); /* no worktrees/ folder: none */
	free(dir);
	return *worktree ? 0 : UG_ENOTFOUND;
}

/* Drop what would break an ident line: angle brackets and newlines; trim spaces. */
static void clean_ident_part(char *s)
{
	size_t o = 0, start = 0;

	for (size_t i = 0; s[i]; i++)
		if (s[i] != '<' && s[i] != '>' && s[i] != '\n' && s[i] != '\r' && s[i] != '\0')
			s[o++] = s[i];
	s[o] = '\0';
	while (o > 0 && isspace((unsigned char)s[o - 1]))
		s[--o] = '\0';
	while (isspace((unsigned char)s[start]))
		start++;
	memmove(s, s + start, o - start + 1);
}

char *ug_repo_default_ident(ug_repo *repo)
{
	const char *name = NULL, *email = NULL, *login = NULL;
	char host[256], *n, *e = NULL, *out = NULL;
	user_info u;

	if (repo) {
		if (ug_config_get(repo->config, "user.name", &name))
			name = NULL;
		if (ug_config_get(repo->config, "user.email", &email))
			email = NULL;
	}
	get_user(&u);
	login = u.name[0] ? u.name : getenv("USER");
	if (!login || !*login)
		login = "user";
	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';

	n = strdup(name ? name : "");
	if (n)
		clean_ident_part(n);
	if (n && !*n) {
		free(n);
		n = strdup(login);
		if (n)
			clean_ident_part(n);
	}
	if (email && (e = strdup(email)))
		clean_ident_part(e);
	if (!e || !*e) {
		free(e);
		e = NULL;
		if (asprintf(&e, "%s@%s", login, host) < 0)
			e = NULL;
		else
			clean_ident_part(e);
	}
	if (n && e && *n && asprintf(&out, "%s <%s>", n, e) < 0)
		out = NULL;
	if (n && e && !*n && asprintf(&out, "user <%s>", e) < 0)
		out = NULL;
	free(n);
	free(e);
	return out;
}

int ug_repo_revparse(ug_repo *repo, const char *rev, ug_oid *out)
{
	/* git's ref_rev_parse_rules, then ugit's remote refs directory */
	static const char *const rules[] = {
		"%s", "refs/%s", "refs/tags/%s", "refs/heads/%s", "refs/remotes/%s",
		"refs/remotes/%s/HEAD", "refs/remote/%s",
	};
	size_t len = rev ? strlen(rev) : 0, hexsz = ug_hash_hexsz(repo->algo);
	size_t nrules = sizeof(rules) / sizeof(*rules);
	int err;

	if (!len)
		return ug_error(UG_EINVALID, "empty revision");
	if (!strcmp(rev, "@") || !strcmp(rev, "HEAD"))
		return ug_refs_resolve(repo->refdb, "HEAD", out, NULL);
	if (len == hexsz && ug_is_hex(rev, len))
		return ug_oid_fromhex(out, rev, len, repo->algo);
	if (repo->format != UG_FORMAT_UGIT)
		nrules--;
	/* Refs before abbreviated ids, as git does: a branch "cafe" wins. */
	for (size_t i = 0; i < nrules; i++) {
		char *name = NULL;

		if (asprintf(&name, rules[i], rev) < 0)
			return ug_error(UG_ENOMEM, "out of memory");
		err = ug_refs_resolve(repo->refdb, name, out, NULL);
		free(name);
		/* a ref that exists but is broken (a symbolic loop) is an answer too */
		if (err != UG_ENOTFOUND && err != UG_EINVALID)
			return err;
	}
	if (len >= 4 && len < hexsz && ug_is_hex(rev, len)) {
		err = ug_odb_resolve_prefix(repo->odb, rev, len, out);
		if (err == UG_EAMBIGUOUS)
			return ug_error(UG_EAMBIGUOUS, "short object id %s is ambiguous", rev);
		if (err != UG_ENOTFOUND)
			return err;
	}
	return ug_error(UG_ENOTFOUND, "unknown revision %s", rev);
}
