/* Partial clones: which remote promises the missing objects, and `git fetch` of them with a timeout and a back-off. */
#include "promisor.h"

#include "error.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Fetches running at once: a folder read in the foreground, the background
 * prefetch and one more; more only queue at the server. */
#define MAX_RUNNING 3
#define BACKOFF_SECONDS 5
#define DEFAULT_TIMEOUT 30
#define ERRLINE 512

/* One fetch, registered from before it waits for a slot until its last waiter leaves. */
struct request {
	struct request *next;
	ug_oid *oids; /* sorted, for lookups by other threads */
	size_t n;
	bool done;
	int err;
	int refs; /* under the lock */
};

struct ug_promisor {
	char *remote, *filter, *gitdir;
	ug_odb *odb;
	ug_hash_algo algo;
	unsigned timeout;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	struct request *active;
	int running;
	int64_t retry_after; /* monotonic seconds; fetches fail at once before it */
	char lasterr[ERRLINE];
	_Atomic uint64_t fetches;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A remote name goes on git's command line: nothing that could read as an option. */
static bool name_ok(const char *s)
{
	if (!s || !*s || *s == '-' || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* 1 (stop: found) for a NAME.promisor file. */
static int is_promisor(void *arg, int dirfd, const char *name, unsigned char type)
{
	size_t len = strlen(name);

	(void)arg;
	(void)dirfd;
	(void)type;
	return len > 9 && !strcmp(name + len - 9, ".promisor");
}

static bool has_promisor_pack(const char *objects_dir)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/pack", objects_dir) >= sizeof(path))
		return false;
	return ug_fileio_dir_each(path, is_promisor, NULL) == 1;
}

/* The first remote NAME whose remote.NAME.promisor is true, from the section
 * headers [remote "NAME"] of the repository's config file; newly malloc'ed or NULL. */
static char *promisor_section(ug_config *cfg, const char *objects_dir)
{
	char path[4096], line[512], key[300];
	char *found = NULL;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/../config", objects_dir) >= sizeof(path) ||
	    !(f = fopen(path, "re")))
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		char *s = line, *end;
		bool b = false;

		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, "[remote \"", 9) || !(end = strstr(s + 9, "\"]")))
			continue;
		*end = '\0';
		snprintf(key, sizeof(key), "remote.%s.promisor", s + 9);
		if (name_ok(s + 9) && !ug_config_get_bool(cfg, key, &b) && b)
			found = strdup(s + 9);
	}
	fclose(f);
	return found;
}

/* The remote's name, newly malloc'ed, or NULL when none is a promisor. */
static char *find_remote(ug_config *cfg, const char *objects_dir)
{
	const char *v = NULL;
	bool b = false;
	char *name;

	if (!ug_config_get(cfg, "extensions.partialClone", &v) && name_ok(v))
		return strdup(v);
	if (!ug_config_get_bool(cfg, "remote.origin.promisor", &b) && b)
		return strdup("origin");
	if ((name = promisor_section(cfg, objects_dir)))
		return name;
	if (!ug_config_get(cfg, "remote.origin.url", &v) && has_promisor_pack(objects_dir))
		return strdup("origin");
	return NULL;
}

int ug_promisor_new(ug_promisor **out, const char *gitdir, const char *objects_dir, ug_config *cfg,
		    ug_odb *odb)
{
	char key[256];
	const char *filter = NULL;
	ug_promisor *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ug_error(UG_ENOMEM, "out of memory");
	p->remote = find_remote(cfg, objects_dir);
	if (!p->remote) {
		free(p);
		return ug_error(UG_ENOTFOUND, "%s: not a partial clone", gitdir);
	}
	snprintf(key, sizeof(key), "remote.%s.partialclonefilter", p->remote);
	if (ug_config_get(cfg, key, &filter) || !filter)
		filter = "";
	p->filter = strdup(filter);
	p->gitdir = strdup(gitdir);
	if (!p->filter || !p->gitdir) {
		ug_promisor_free(p);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	p->odb = odb;
	p->algo = ug_odb_algo(odb);
	p->timeout = DEFAULT_TIMEOUT;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	*out = p;
	return 0;
}

void ug_promisor_free(ug_promisor *p)
{
	if (!p)
		return;
	if (p->odb)
		ug_odb_set_missing(p->odb, NULL, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->remote);
	free(p->filter);
	free(p->gitdir);
	free(p);
}

const char *ug_promisor_remote(const ug_promisor *p) { return p->remote; }
const char *ug_promisor_filter(const ug_promisor *p) { return p->filter; }
uint64_t ug_promisor_fetches(ug_promisor *p) { return atomic_load(&p->fetches); }

void ug_promisor_set_timeout(ug_promisor *p, unsigned seconds)
{
	p->timeout = seconds ? seconds : DEFAULT_TIMEOUT;
}

/* The environment of the child: ours, with prompts for credentials turned
 * off (no terminal to answer them). Newly malloc'ed array of borrowed strings. */
static char **child_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = malloc((n + 2) * sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "GIT_TERMINAL_PROMPT=", 20))
			env[k++] = environ[i];
	env[k++] = "GIT_TERMINAL_PROMPT=0";
	env[k] = NULL;
	return env;
}

static bool is_error_line(const char *s)
{
	return !strncmp(s, "fatal:", 6) || !strncmp(s, "error:", 6);
}

/* Keep git's error from what it wrote to stderr, in line[ERRLINE]: the first
 * "fatal:" or "error:" line (the cause; what follows is advice), else the last line. */
static void keep_last_line(char *line, char *cur, size_t *curlen, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];

		if (c == '\n' || c == '\r') {
			cur[*curlen] = '\0';
			if (*curlen && !is_error_line(line))
				memcpy(line, cur, *curlen + 1);
			*curlen = 0;
		} else if (*curlen < ERRLINE - 1) {
			cur[(*curlen)++] = (unsigned char)c < ' ' ? ' ' : c;
		}
	}
}

/* Start `git fetch` with its stdin on in and stderr on errw, in its own process group. */
static int spawn_git(ug_promisor *p, int in, int errw, pid_t *pid)
{
	char gitdir_arg[4200];
	char *argv[] = { "git", gitdir_arg, "-c", "fetch.negotiationAlgorithm=noop", "fetch", p->remote,
			 "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no",
			 "--filter=blob:none", "--stdin", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char **env = child_env();
	int rc;

	if (!env || (size_t)snprintf(gitdir_arg, sizeof(gitdir_arg), "--git-dir=%s", p->gitdir) >= sizeof(gitdir_arg)) {
		free(env);
		return ENOMEM;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, errw, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the daemon's files are not git's */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0); /* so a timeout kills git and what it started */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, "git", &fa, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	return rc;
}

/* Feed the ids, collect stderr, until git closes stderr or the deadline passes.
 * Returns true when the deadline passed. */
static bool pump(int *inp, int err, const char *input, size_t len, int64_t deadline, char *line)
{
	char cur[ERRLINE], buf[4096];
	size_t off = 0, curlen = 0;
	int in = *inp;
	bool late = false;

	while (true) {
		struct pollfd pf[2] = { { .fd = err, .events = POLLIN }, { .fd = in, .events = POLLOUT } };
		int64_t left = deadline - now_ms();
		int nfds = in >= 0 ? 2 : 1;

		if (left <= 0) {
			late = true;
			break;
		}
		if (poll(pf, (nfds_t)nfds, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		if (pf[0].revents) {
			ssize_t r = read(err, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				break;
			if (r > 0)
				keep_last_line(line, cur, &curlen, buf, (size_t)r);
		}
		if (in >= 0 && pf[1].revents) {
			ssize_t w = send(in, input + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w > 0)
				off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == len) {
				close(in); /* end of the list (or git stopped reading) */
				*inp = in = -1;
			}
		}
	}
	*inp = in;
	cur[curlen] = '\0';
	if (curlen && !is_error_line(line))
		memcpy(line, cur, curlen + 1);
	return late;
}

/* One `git fetch` of these ids. 0, or UG_ERROR with git's last stderr line in line. */
static int run_fetch(ug_promisor *p, const ug_oid *oids, size_t n, char *line)
{
	size_t hexsz = ug_hash_hexsz(p->algo), len = n * (hexsz + 1);
	char *input = malloc(len + 1);
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, status = 0, rc;
	pid_t pid;
	bool late;

	line[0] = '\0';
	if (!input)
		return ug_error(UG_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		ug_oid_tohex(input + i * (hexsz + 1), &oids[i], p->algo);
		input[i * (hexsz + 1) + hexsz] = '\n';
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		snprintf(line, ERRLINE, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	rc = spawn_git(p, sv[1], ep[1], &pid);
	close(sv[1]);
	close(ep[1]);
	sv[1] = ep[1] = -1;
	if (rc) {
		snprintf(line, ERRLINE, "cannot run git: %s", strerror(rc));
		goto fail;
	}
	atomic_fetch_add(&p->fetches, 1);
	late = pump(&sv[0], ep[0], input, len, now_ms() + (int64_t)p->timeout * 1000, line);
	if (late) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		snprintf(line, ERRLINE, "no answer within %u s (fetch_timeout)", p->timeout);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (late || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (!late && !line[0])
			snprintf(line, ERRLINE, "git fetch failed (status %d)", status);
		goto fail;
	}
	free(input);
	close(ep[0]);
	if (sv[0] >= 0)
		close(sv[0]);
	return 0;
fail:
	free(input);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return UG_ERROR;
}

static int cmp_oid(const void *a, const void *b)
{
	return ug_oid_cmp(a, b);
}

/* The registered request fetching oid, if any. Under the lock. */
static struct request *in_flight(ug_promisor *p, const ug_oid *oid)
{
	for (struct request *r = p->active; r; r = r->next)
		if (bsearch(oid, r->oids, r->n, sizeof(*oid), cmp_oid))
			return r;
	return NULL;
}

static void put_request(struct request *r)
{
	if (r && --r->refs == 0) {
		free(r->oids);
		free(r);
	}
}

static void unlink_request(ug_promisor *p, struct request *r)
{
	for (struct request **pp = &p->active; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

static int backoff_error(ug_promisor *p)
{
	/* the same words as the failure itself: one cause, whichever thread met it */
	return ug_error(UG_ERROR, "cannot fetch from promisor remote '%s': %s", p->remote, p->lasterr);
}

/* Did git's error come from a remote that answered (it has no such object)?
 * Then the remote is up: no back-off, which would fail every other fetch. */
static bool remote_answered(const char *line)
{
	static const char *const refusals[] = { "not our ref", "no such remote ref", "did not send all necessary" };

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strstr(line, refusals[i]))
			return true;
	return false;
}

/* Run mine when a slot frees, unless a failure meanwhile started a back-off. Under the lock. */
static int run_request(ug_promisor *p, struct request *mine)
{
	char line[ERRLINE];
	int err;

	while (p->running >= MAX_RUNNING)
		pthread_cond_wait(&p->cond, &p->lock);
	if (now_ms() < p->retry_after) {
		err = UG_ERROR;
	} else {
		p->running++;
		pthread_mutex_unlock(&p->lock);
		err = run_fetch(p, mine->oids, mine->n, line);
		if (!err)
			ug_odb_refresh(p->odb);
		pthread_mutex_lock(&p->lock);
		p->running--;
		if (err) {
			/* not logged here: each path that needed an object reports this once */
			snprintf(p->lasterr, sizeof(p->lasterr), "%s", line);
			if (!remote_answered(line))
				p->retry_after = now_ms() + BACKOFF_SECONDS * 1000;
		}
	}
	mine->done = true;
	mine->err = err;
	unlink_request(p, mine);
	pthread_cond_broadcast(&p->cond);
	return err;
}

/* Split oids into those another thread is fetching (their requests into
 * waits, one reference each) and the rest (into todo, sorted, unique). Under the lock. */
static size_t split(ug_promisor *p, const ug_oid *oids, size_t n, ug_oid *todo, struct request **waits,
		    size_t *nwait)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct request *r = in_flight(p, &oids[i]);
		bool seen = false;

		if (!r) {
			todo[k++] = oids[i];
			continue;
		}
		for (size_t j = 0; j < *nwait && !seen; j++)
			seen = waits[j] == r;
		if (!seen) {
			r->refs++;
			waits[(*nwait)++] = r;
		}
	}
	qsort(todo, k, sizeof(*todo), cmp_oid);
	if (k > 1) {
		size_t u = 1;

		for (size_t i = 1; i < k; i++)
			if (!ug_oid_equal(&todo[i], &todo[u - 1]))
				todo[u++] = todo[i];
		k = u;
	}
	return k;
}

int ug_promisor_fetch(ug_promisor *p, const ug_oid *oids, size_t n)
{
	struct request *mine = calloc(1, sizeof(*mine)), **waits = malloc((n ? n : 1) * sizeof(*waits));
	ug_oid *todo = malloc((n ? n : 1) * sizeof(*todo));
	size_t nwait = 0;
	int err = 0;

	if (!mine || !waits || !todo) {
		free(mine);
		free(waits);
		free(todo);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&p->lock);
	if (now_ms() < p->retry_after) {
		pthread_mutex_unlock(&p->lock);
		free(mine);
		free(waits);
		free(todo);
		return backoff_error(p);
	}
	mine->n = split(p, oids, n, todo, waits, &nwait);
	mine->oids = todo;
	mine->refs = 1;
	if (mine->n) {
		mine->next = p->active;
		p->active = mine;
		err = run_request(p, mine);
	}
	for (size_t i = 0; i < nwait; i++) {
		while (!waits[i]->done)
			pthread_cond_wait(&p->cond, &p->lock);
		if (waits[i]->err && !err)
			err = waits[i]->err;
		put_request(waits[i]);
	}
	put_request(mine);
	if (err)
		err = ug_error(UG_ERROR, "cannot fetch from promisor remote '%s': %s", p->remote, p->lasterr);
	pthread_mutex_unlock(&p->lock);
	free(waits);
	return err;
}

static int missing_hook(void *ctx, const ug_oid *oid)
{
	return ug_promisor_fetch(ctx, oid, 1);
}

void ug_promisor_attach(ug_promisor *p, ug_odb *odb)
{
	ug_odb_set_missing(odb, missing_hook, p);
}
