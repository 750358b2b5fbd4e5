/* Opening repositories: git (working tree, .git dir or file, bare, linked worktree) and ugit; config, ident, revparse. */
#include "repo.h"

#include "error.h"
#include "log.h"
#include "promisor.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
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

/* System, then global: git's order, later files win. */
static int load_user_config(ug_config *cfg)
{
	const char *sys = getenv("GIT_CONFIG_SYSTEM"), *global = getenv("GIT_CONFIG_GLOBAL");
	user_info u;
	const char *home = home_dir(&u), *xdg = getenv("XDG_CONFIG_HOME");
	char *p = NULL;
	int err = 0;

	if (!getenv("GIT_CONFIG_NOSYSTEM") && (err = add_user_config(cfg, sys ? sys : "/etc/gitconfig")))
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
