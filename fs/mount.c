/* Mounting: open the repository, check the mount point, start the session, serve, clean up. */
#include "fs_internal.h"
#include "work.h"

#include "error.h"
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

static int check_mountpoint(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d) {
		fprintf(stderr, "ugitfs: %s: %s\n", path,
			errno == ENOTDIR ? "mount point is not a directory" : strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			fprintf(stderr, "ugitfs: %s: mount point is not an empty directory\n", path);
			return -1;
		}
	}
	closedir(d);
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

/* "fsname=REPO,subtype=ugitfs[,ro][,OPTS]" with commas in REPO escaped for libfuse. */
static char *session_options(const struct ugfs_options *o, const char *repo_dir)
{
	size_t len = strlen(repo_dir) * 2 + strlen(o->fuse_opts ? o->fuse_opts : "") + 64;
	char *s = malloc(len), *p = s;

	if (!s)
		return NULL;
	p += sprintf(p, "fsname=");
	for (const char *c = repo_dir; *c; c++) {
		if (*c == ',' || *c == '\\')
			*p++ = '\\';
		*p++ = *c;
	}
	p += sprintf(p, ",subtype=ugitfs%s", o->ro ? ",ro" : "");
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
	if (fs->by_ino)
		node_table_free(fs);
	ug_repo_free(fs->repo);
	pthread_mutex_destroy(&fs->snap_lock);
	free(fs);
}

int ugfs_main(const struct ugfs_options *opts)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop = NULL;
	struct fs *fs = calloc(1, sizeof(*fs));
	char *optstr = NULL;
	int status = 1, err;

	if (!fs) {
		fprintf(stderr, "ugitfs: out of memory\n");
		return 1;
	}
	pthread_mutex_init(&fs->snap_lock, NULL);
	fs->opts = *opts;
	current_mountpoint = opts->mountpoint;
	if (opts->debug)
		ug_log_set_level(UG_LOG_DEBUG);
	fuse_set_log_func(fuse_log_line);

	err = ug_repo_open(&fs->repo, opts->repo);
	if (err) {
		fprintf(stderr, "ugitfs: %s\n", ug_error_last());
		goto out;
	}
	if (check_mountpoint(opts->mountpoint) || check_branch(fs))
		goto out;

	fs->algo = ug_repo_algo(fs->repo);
	fs->hexsz = ug_hash_hexsz(fs->algo);
	fs->uid = getuid();
	fs->gid = getgid();
	fs->mount_time = time(NULL);
	/* The memory cap: half to whole objects and delta bases, an eighth each
	 * to parsed trees, blobs being read and log listings; the rest to nodes. */
	ug_odb_set_cache_limit(ug_repo_odb(fs->repo), opts->memory / 2);
	ug_odb_set_verify(ug_repo_odb(fs->repo), opts->verify);
	if (treecache_new(&fs->trees, opts->memory / 8) || blobs_new(&fs->blobs, opts->memory / 8) ||
	    logcache_new(&fs->logs, 8, opts->memory / 8) ||
	    node_table_init(fs) || refsnap_load(fs)) {
		fprintf(stderr, "ugitfs: %s: cannot start: %s\n", opts->repo, ug_error_last());
		goto out;
	}
	fs->mount_real = realpath(opts->mountpoint, NULL);
	if (!opts->ro && work_start(fs)) {
		fprintf(stderr, "ugitfs: %s: cannot start the working view: %s\n", opts->repo, ug_error_last());
		goto out;
	}

	optstr = session_options(opts, ug_repo_gitdir(fs->repo));
	if (!optstr || fuse_opt_add_arg(&args, "ugitfs") || (opts->debug && fuse_opt_add_arg(&args, "-d")) ||
	    fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, optstr)) {
		fprintf(stderr, "ugitfs: out of memory\n");
		goto out;
	}
	fs->se = fuse_session_new(&args, &ugfs_ops, sizeof(ugfs_ops), fs);
	if (!fs->se)
		goto out; /* libfuse said why, through fuse_log_line */
	if (fuse_set_signal_handlers(fs->se)) {
		fprintf(stderr, "ugitfs: %s: cannot set signal handlers\n", opts->mountpoint);
		goto out_session;
	}
	if (fuse_session_mount(fs->se, opts->mountpoint)) {
		fprintf(stderr, "ugitfs: %s: cannot mount\n", opts->mountpoint);
		goto out_signals;
	}
	if (!opts->foreground) {
		openlog("ugitfs", LOG_PID, LOG_DAEMON);
		ug_log_set_sink(syslog_sink);
	}
	if (fuse_daemonize(opts->foreground)) {
		fprintf(stderr, "ugitfs: %s: cannot daemonize\n", opts->mountpoint);
		goto out_unmount;
	}
	if (watcher_start(fs))
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	if (work_start_threads(fs))
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	if (prefetch_start(fs))
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	ug_log(UG_LOG_INFO, "mounted %s on %s", ug_repo_gitdir(fs->repo), opts->mountpoint);

	loop = fuse_loop_cfg_create();
	if (loop)
		fuse_loop_cfg_set_max_threads(loop, 16);
	status = fuse_session_loop_mt(fs->se, loop) ? 1 : 0;
	fuse_loop_cfg_destroy(loop);
	watcher_stop(fs);
	prefetch_stop(fs);
	work_stop(fs);
	work_final_sync(fs);
	ug_log(UG_LOG_INFO, "unmounted %s", opts->mountpoint);

out_unmount:
	fuse_session_unmount(fs->se);
out_signals:
	fuse_remove_signal_handlers(fs->se);
out_session:
	fuse_session_destroy(fs->se);
out:
	fuse_opt_free_args(&args);
	free(optstr);
	fs_free(fs);
	return status;
}
