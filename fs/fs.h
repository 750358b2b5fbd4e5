/* The ugitfs FUSE driver: what the commands call to mount a repository. */
#ifndef UGFS_FS_H
#define UGFS_FS_H

#include <stdbool.h>
#include <stddef.h>

/* What a mount is asked to do; filled by the command line (mount-tools/ugitfs.c). */
struct ugfs_options {
	const char *repo;       /* REPOSITORY as given */
	const char *mountpoint; /* MOUNTPOINT as given */
	bool ro;                /* -o ro: no working view */
	const char *branch;     /* -o branch=NAME, or NULL for the branch HEAD names */
	unsigned autosync;      /* -o autosync=SECONDS, 0 = off */
	const char *author;     /* -o author=NAME <EMAIL>, or NULL */
	bool verify;            /* -o verify */
	bool mtime_commit;      /* -o mtime=commit: snapshot paths show their commit's time, not their last change */
	size_t memory;          /* -o memory=SIZE: cap for caches in bytes */
	unsigned fetch_timeout; /* -o fetch_timeout=SECONDS: partial clones; 0 = the default */
	bool foreground;        /* -f */
	bool debug;             /* -d */
	const char *fuse_opts;  /* the remaining -o options for libfuse, comma-separated (may be "") */
};

/*
 * Open the repository, mount, daemonize unless foreground, serve until
 * unmounted. Errors before the mount is up are printed as one line
 * "ugitfs: PATH: cause" on stderr. Returns the process exit status.
 */
int ugfs_main(const struct ugfs_options *opts);

/*
 * The client side of `ugitfs --sync` and `ugitfs --status`: ask the daemon
 * serving mountpoint. Prints the result (the commit id, "nothing to commit",
 * or the status lines) on stdout and errors as one line on stderr; returns
 * the exit status.
 */
int ugfs_client(const char *mountpoint, const char *request, const char *message);

#endif
