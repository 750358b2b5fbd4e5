/* Mounting: open the repository, check the mount point, start the session, serve, clean up. */
#include "fs_internal.h"
#include "lastchange.h"
#include "work.h"

#include "error.h"
#include "fileio.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

extern const struct fuse_lowlevel_ops ugfs_ops;

static const char *current_mountpoint = "";

/* libfuse's own messages become our one-line form, naming the mount point.
 * libfuse may send one line in several pieces: collect them up to the newline. */
static void fuse_log_line(enum fuse_log_level level, const char *fmt, va_list ap)
{
	static _Thread_local char line[1024];
	static _Thread_local size_t len;
	char *nl;

	vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	len = strlen(line);
	while ((nl = strchr(line, '\n')) || len == sizeof(line) - 1) {
		if (nl)
			*nl = '\0';
		ug_log(level <= FUSE_LOG_ERR ? UG_LOG_ERROR : UG_LOG_DEBUG, "%s: %s", current_mountpoint, line);
		if (!nl) {
			len = 0;
			line[0] = '\0';
			break;
		}
		memmove(line, nl + 1, strlen(nl + 1) + 1);
		len = strlen(line);
	}
}

static void syslog_sink(ug_log_level level, const char *line)
{
	syslog((int)level, "%s", line);
}

/* Any entry at all: the folder is not empty. */
static int any_entry(void *arg, int dirfd, const char *name, unsigned char type)
{
	(void)arg;
	(void)dirfd;
	(void)name;
	(void)type;
	return 1;
}

static int check_mountpoint(const char *path)
{
	DIR *d = opendir(path);

	if (!d) {
		fprintf(stderr, "ugitfs: %s: %s\n", path,
			errno == ENOTDIR ? "mount point is not a directory" : strerror(errno));
		return -1;
	}
	if (ug_fileio_dir_read(d, any_entry, NULL)) {
		fprintf(stderr, "ugitfs: %s: mount point is not an empty directory\n", path);
		return -1;
	}
	return 0;
}

static int check_branch(struct fs *fs)
{
	char *name;
	ug_oid oid;
	int err;

	if (!fs->opts.branch)
		return 0;
	if (asprintf(&name, "refs/heads/%s", fs->opts.branch) < 0)
		return -1;
	err = ug_refname_valid(name) ? ug_refs_resolve(ug_repo_refdb(fs->repo), name, &oid, NULL) : UG_EINVALID;
	free(name);
	if (err) {
		fprintf(stderr, "ugitfs: %s: branch '%s' does not exist\n", fs->opts.repo, fs->opts.branch);
		return -1;
	}
	return 0;
}

/* Whether work/ may exist: its branch must be one no worktree has checked out,
 * since a sync moving it would leave that checkout showing the commits undone
 * (git refuses the same: one branch in two worktrees). -o branch= of such a
 * branch is refused; HEAD's branch (the default) just gets no work/. */
static int check_checked_out(struct fs *fs, bool *work, char **why)
{
	char *ref = NULL, *where = NULL;
	const char *branch = fs->opts.branch;
	ug_ref head = { 0 };
	bool have_head = false, refused = false;

	*why = NULL;
	*work = !fs->opts.ro;
	if (!*work)
		return 0;
	if (!branch && ug_refs_read(ug_repo_refdb(fs->repo), "HEAD", &head) == 0) {
		have_head = true;
		if (head.target && !strncmp(head.target, "refs/heads/", 11))
			branch = head.target + 11;
	}
	if (branch && asprintf(&ref, "refs/heads/%s", branch) > 0 &&
	    ug_repo_checked_out(fs->repo, ref, &where) == 0) {
		if (fs->opts.branch) {
			fprintf(stderr, "ugitfs: %s: branch '%s' is checked out in %s; "
				"choose another with -o branch=NAME, or mount with -o ro\n",
				fs->opts.repo, branch, where);
			refused = true;
		} else {
			/* said once the mount is up: an error before it stays one line */
			if (asprintf(why, "%s: no work/: branch '%s' (HEAD's) is checked out in %s, and a "
				     "sync would move it under that checkout; for a working view, mount a "
				     "branch no worktree has with -o branch=NAME", fs->opts.repo, branch, where) < 0)
				*why = NULL;
			*work = false;
		}
	}
	free(ref);
	free(where);
	if (have_head)
		ug_ref_release(&head);
	return refused ? -1 : 0;
}

/* "fsname=REPO,subtype=ugitfs,default_permissions[,ro][,OPTS]" with commas in
 * REPO escaped for libfuse. default_permissions is always on: the handlers do
 * no permission checks of their own, so without it allow_other would let any
 * user write anything the daemon can. */
static char *session_options(const struct ugfs_options *o, const char *repo_dir)
{
	size_t len = strlen(repo_dir) * 2 + strlen(o->fuse_opts ? o->fuse_opts : "") + 96;
	char *s = malloc(len), *p = s;

	if (!s)
		return NULL;
	p += sprintf(p, "fsname=");
	for (const char *c = repo_dir; *c; c++) {
		if (*c == ',' || *c == '\\')
			*p++ = '\\';
		*p++ = *c;
	}
	p += sprintf(p, ",subtype=ugitfs,default_permissions%s", o->ro ? ",ro" : "");
	if (o->fuse_opts && *o->fuse_opts)
		sprintf(p, ",%s", o->fuse_opts);
	return s;
}

static void fs_free(struct fs *fs)
{
	work_free(fs);
	free(fs->mount_real);
	if (fs->snap)
		refsnap_release_all(fs);
	treecache_free(fs->trees);
	blobs_free(fs->blobs);
	logcache_free(fs->logs);
	lastchange_free(fs->changes);
	ug_commitgraph_free(fs->graph);
	if (fs->by_ino)
		node_table_free(fs);
	ug_repo_free(fs->repo);
	pthread_mutex_destroy(&fs->snap_lock);
	testpoint_release(&fs->tests);
	free(fs);
}

/* Serve requests until an unmount or a signal (SIGTERM, SIGINT, SIGHUP: how
 * systemd and a terminal stop a mount), then unmount and commit what is
 * pending. Either way is a clean end: 0; 1 when the session failed. */
static int serve(struct fs *fs)
{
	struct fuse_loop_config *loop = fuse_loop_cfg_create();
	int ret, sig;

	if (watcher_start(fs))
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	if (work_start_threads(fs))
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	if (prefetch_start(fs))
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	if (push_start(fs))
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	ug_log(UG_LOG_INFO, "mounted %s on %s", ug_repo_gitdir(fs->repo), fs->mount_real);
	if (fs->graph)
		ug_log(UG_LOG_INFO, "using the commit-graph: %llu commits%s",
		       (unsigned long long)ug_commitgraph_count(fs->graph),
		       ug_commitgraph_has_filters(fs->graph) ? ", with changed-path filters" : "");
	if (loop)
		fuse_loop_cfg_set_max_threads(loop, 16);
	if (stop_start(fs)) { /* then libfuse's handlers end the loop at once */
		ug_log(UG_LOG_WARNING, "%s: cannot start the thread that stops on signals", fs->mount_real);
		stop_remove();
		fuse_set_signal_handlers(fs->se);
	}
	ret = fuse_session_loop_mt(fs->se, loop); /* errors are negative */
	fuse_loop_cfg_destroy(loop);
	sig = ret > 0 ? ret : stop_end(); /* libfuse's handlers give the signal's number */
	if (sig)
		ug_log(UG_LOG_INFO, "%s: %s: unmounting", fs->mount_real, strsignal(sig));
	watcher_stop(fs);
	push_stop(fs, true); /* after a signal, stopped already (stop.c) */
	prefetch_stop(fs);
	work_stop(fs);
	/* unmounted before the last sync, so that nothing waits on a mount no longer served */
	fuse_session_unmount(fs->se);
	work_final_sync(fs);
	ug_log(UG_LOG_INFO, "unmounted %s", fs->mount_real);
	return ret < 0 ? 1 : 0;
}

/* Open the repository and check what the command line asks of it; *work:
 * whether work/ may exist (*no_work: why not, to log once mounted). -1 when
 * refused (said in one line). */
static int open_checked(struct fs *fs, bool *work, char **no_work)
{
	const struct ugfs_options *opts = &fs->opts;

	if (ug_repo_open(&fs->repo, opts->repo)) {
		fprintf(stderr, "ugitfs: %s\n", ug_error_last());
		return -1;
	}
	if (check_mountpoint(opts->mountpoint) || check_branch(fs) || check_checked_out(fs, work, no_work))
		return -1;
	/* Resolved once: the daemon changes folder, and the unmount at the end
	 * must reach the same mount point a relative path named at the start. */
	fs->mount_real = realpath(opts->mountpoint, NULL);
	if (!fs->mount_real) {
		fprintf(stderr, "ugitfs: %s: %s\n", opts->mountpoint, strerror(errno));
		return -1;
	}
	return 0;
}

/* The caches within the memory cap, the refs, and work/ when it may exist. */
static int start_state(struct fs *fs, bool work)
{
	const struct ugfs_options *opts = &fs->opts;

	fs->algo = ug_repo_algo(fs->repo);
	fs->hexsz = ug_hash_hexsz(fs->algo);
	fs->uid = getuid();
	fs->gid = getgid();
	fs->mount_time = time(NULL);
	/* The memory cap: half to whole objects and delta bases, an eighth each
	 * to parsed trees, blobs being read and log listings, a sixteenth to
	 * last-change times; the rest to nodes. */
	ug_odb_set_cache_limit(ug_repo_odb(fs->repo), opts->memory / 2);
	ug_odb_set_verify(ug_repo_odb(fs->repo), opts->verify);
	if (treecache_new(&fs->trees, opts->memory / 8) || blobs_new(&fs->blobs, opts->memory / 8) ||
	    logcache_new(&fs->logs, 8, opts->memory / 8) || lastchange_new(&fs->changes, opts->memory / 16) ||
	    ug_commitgraph_open(&fs->graph, fs->repo) ||
	    node_table_init(fs) || refsnap_load(fs)) {
		fprintf(stderr, "ugitfs: %s: cannot start: %s\n", opts->repo, ug_error_last());
		return -1;
	}
	if (work && work_start(fs)) {
		fprintf(stderr, "ugitfs: %s: cannot start the working view: %s\n", opts->repo, ug_error_last());
		return -1;
	}
	return 0;
}

/* The FUSE session with our options (args and *optstr: freed by the caller). */
static int new_session(struct fs *fs, struct fuse_args *args, char **optstr)
{
	const struct ugfs_options *opts = &fs->opts;

	*optstr = session_options(opts, ug_repo_gitdir(fs->repo));
	if (!*optstr || fuse_opt_add_arg(args, "ugitfs") || (opts->debug && fuse_opt_add_arg(args, "-d")) ||
	    fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, *optstr)) {
		fprintf(stderr, "ugitfs: out of memory\n");
		return -1;
	}
	fs->se = fuse_session_new(args, &ugfs_ops, sizeof(ugfs_ops), fs);
	return fs->se ? 0 : -1; /* libfuse said why, through fuse_log_line */
}

/* Mount, leave the terminal (unless -f), serve until the end; the exit status. */
static int mount_and_serve(struct fs *fs, const char *no_work)
{
	const struct ugfs_options *opts = &fs->opts;
	int status = 1;

	if (stop_install()) {
		fprintf(stderr, "ugitfs: %s: cannot set signal handlers\n", opts->mountpoint);
		return 1;
	}
	if (fuse_session_mount(fs->se, fs->mount_real)) {
		fprintf(stderr, "ugitfs: %s: cannot mount\n", opts->mountpoint);
		stop_remove();
		return 1;
	}
	if (no_work)
		ug_log(UG_LOG_WARNING, "%s", no_work);
	if (!opts->foreground) {
		openlog("ugitfs", LOG_PID, LOG_DAEMON);
		ug_log_set_sink(syslog_sink);
	}
	if (fuse_daemonize(opts->foreground))
		fprintf(stderr, "ugitfs: %s: cannot daemonize\n", opts->mountpoint);
	else
		status = serve(fs);
	fuse_session_unmount(fs->se);
	stop_remove();
	return status;
}

int ugfs_main(const struct ugfs_options *opts)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fs *fs = calloc(1, sizeof(*fs));
	char *optstr = NULL, *no_work = NULL;
	bool work = false;
	int status = 1;

	if (!fs) {
		fprintf(stderr, "ugitfs: out of memory\n");
		return 1;
	}
	pthread_mutex_init(&fs->snap_lock, NULL);
	fs->opts = *opts;
	testpoint_init(&fs->tests);
	current_mountpoint = opts->mountpoint;
	if (opts->debug)
		ug_log_set_level(UG_LOG_DEBUG);
	fuse_set_log_func(fuse_log_line);

	if (!open_checked(fs, &work, &no_work) && !start_state(fs, work) && !new_session(fs, &args, &optstr)) {
		status = mount_and_serve(fs, no_work);
		fuse_session_destroy(fs->se);
	}
	fuse_opt_free_args(&args);
	free(optstr);
	free(no_work);
	fs_free(fs);
	return status;
}
