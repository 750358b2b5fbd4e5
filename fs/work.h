/* The working view work/: the overlay of pending changes, the sync that commits them, the control socket. */
#ifndef UGFS_WORK_H
#define UGFS_WORK_H

#include "fs_internal.h"

#include <dirent.h>

/* Names in upper/ that work/ never shows (and refuses to create). */
#define WORK_MARK ".ugitfs-"
#define WORK_WHITEOUT ".ugitfs-wh."
#define WORK_WHITEOUT_LONG ".ugitfs-wl." /* for a NAME too long to follow the prefix: the name is inside */
#define WORK_OPAQUE ".ugitfs-opaque"
#define WORK_TMP ".ugitfs-tmp."

/*
 * The state of work/. The overlay's folders live in the repository's own
 * directory, under ugitfs/work/<branch>/:
 *   base     the commit work/ is based on (hex and newline)
 *   target   the ref syncs move, when it is a conflict branch (else absent)
 *   lock     locked by the daemon serving this working view
 *   syncing  a commit made by a sync whose ref update may not have happened
 *   upper/   pending changes
 *   orphans/ files unlinked in work/ while the kernel still held them
 * Locking: `lock` is held shared by every operation on work/ and exclusive by
 * a sync and by a change of base, so a sync sees a still tree. base, base_tree,
 * base_time and target change only under it held exclusive.
 */
struct work {
	struct fs *fs;
	char *branch;           /* the working branch's short name */
	char *branch_ref;       /* refs/heads/<branch> */
	char *target_ref;       /* the ref syncs move: branch_ref or a conflict branch */
	char *state_dir;
	int state_fd, upper_fd;
	int lock_fd;            /* holds flock(LOCK_EX) on state_dir/lock while this daemon lives */
	pthread_rwlock_t lock;
	pthread_mutex_t copy_lock; /* one copy-up at a time */
	pthread_mutex_t mark_lock; /* the folders of upper/ holding markers (a hash set) */
	char **marked;
	size_t nmarked, capmarked;
	ug_oid base, base_tree;
	int64_t base_time;
	char *ident;            /* "Name <email>" of commits */

	pthread_mutex_t timer_lock; /* autosync: when the last change happened */
	pthread_cond_t timer_cond;
	int64_t last_change_ms;
	bool changed, stopping;
	pthread_t timer;
	bool timer_running;

	int control_fd;         /* the control socket, -1 if none */
	pthread_t control;
	bool control_running;

	pthread_mutex_t inval_lock; /* a pending request to drop the kernel's view of work/ */
	pthread_cond_t inval_cond;
	bool inval_pending, inval_stop;
	pthread_t invalidator;
	bool invalidator_running;
};

enum wwhere { W_NONE, W_UPPER, W_LOWER };

/* What a path of work/ is. */
struct wres {
	enum wwhere where;
	struct stat st;     /* W_UPPER: the upper entry */
	uint32_t mode;      /* when lower_has: the base entry's mode and id */
	ug_oid oid;
	bool lower_has;     /* the base has a visible entry at the path (shadowed or not) */
	bool below;         /* a folder through which base entries show */
	ug_oid below_tree;
};

struct wentry {
	char *name;
	unsigned char type; /* DT_* */
};

struct wlist {
	struct wentry *v;
	size_t count, cap;
};

/* work.c: calls on upper/ by a path below it (rel), as the system calls
 * (-1 with errno); no symlink on the way is followed, nor the last component
 * (up_open adds O_NOFOLLOW), and depth is unlimited. up_rename's to_dir: a
 * folder descriptor for to, or -1 when to is a path below upper/ too. */
int up_open(struct work *w, const char *rel, int flags, mode_t mode);
int up_stat(struct work *w, const char *rel, struct stat *st);
int up_unlink(struct work *w, const char *rel, int flags);
int up_mkdir(struct work *w, const char *rel, mode_t mode);
int up_symlink(struct work *w, const char *target, const char *rel);
ssize_t up_readlink(struct work *w, const char *rel, char *buf, size_t size);
int up_utimens(struct work *w, const char *rel, const struct timespec ts[2]);
int up_rename(struct work *w, const char *from, int to_dir, const char *to);
int up_link(struct work *w, const char *from, int to_dir, const char *to);
DIR *up_opendir(struct work *w, const char *rel); /* "" is upper/ itself; NULL with errno */

/* work.c: the overlay. rel is a path below work/ ("" for work/ itself). */
int work_resolve(struct work *w, const char *rel, struct wres *r);
bool work_is_dir(const struct wres *r);
int work_stat(struct work *w, const struct wres *r, struct stat *st);
int work_ensure_parent(struct work *w, const char *rel);
int work_copy_up(struct work *w, const char *rel, const struct wres *r);
int work_whiteout(struct work *w, const char *rel);
bool work_unwhiteout(struct work *w, const char *rel);
bool work_has_whiteout(struct work *w, const char *rel);
/* The name a marker entry of folder dir deletes (malloc'ed), NULL if it is no whiteout. */
char *work_whiteout_name(struct work *w, const char *dir, const char *entry);
int work_set_opaque(struct work *w, const char *rel);
int work_list(struct work *w, const char *rel, const struct wres *r, struct wlist *out);
int wlist_add(struct wlist *l, const char *name, unsigned char type); /* a copy of name; -ENOMEM */
void wlist_release(struct wlist *l);
int work_remove_upper_dir(struct work *w, const char *rel);
/* Remove the markers of upper folder rel, which must show empty (else -ENOTEMPTY); the folder stays. */
int work_clear_markers(struct work *w, const char *rel);
int work_materialize(struct work *w, const char *rel);
bool work_is_reserved(const char *name);
int work_rescan_marks(struct work *w); /* after start and after a sync tidied upper/ */
/*
 * Visit every folder of upper/, parents before children. visit gets the
 * folder (rel, "" for the top) and its entries, markers included ("." and ".."
 * not), each typed (DT_DIR or not); it may clear an entry's type to keep the
 * walk out of that folder. A non-zero return of visit (a negative errno) stops
 * the walk and is returned; the walk's own failures are negative errnos too.
 */
typedef int (*work_visit)(struct work *w, const char *dir, struct wlist *entries, void *arg);
int work_walk(struct work *w, work_visit visit, void *arg);
DIR *work_opendir_at(int dirfd, const char *path); /* path "" is dirfd itself; NULL with errno */
char *work_join(const char *dir, const char *name); /* "DIR/NAME" or "NAME"; malloc'ed, NULL */
void work_free_marks(struct work *w);
void work_stat_top(struct work *w, struct stat *st); /* work/ itself */

/* work_ops.c: the FUSE handlers for work/ nodes. */
extern const struct fuse_lowlevel_ops work_ops;
/* node_forget for any node; the file of a work/ orphan forgotten for good is removed. */
void work_forget(struct fs *fs, fuse_ino_t ino, uint64_t n);

/*
 * The files of work/ from the bottom up; each calls only those before it:
 *   state.c    the state of a working view: its state files, base and tip
 *   work.c     the overlay: upper/ over the base
 *   sync.c     syncs, status, following the branch
 *   control.c  the control socket
 *   work_ops.c the FUSE handlers (above)
 *   workd.c    the daemon: start, threads, final sync, end
 * A lower file asks the threads above for something through struct work
 * (work_touch, work_invalidate), never by calling up.
 */

/* state.c: the state folder's files, the base, the tip; requests to the threads. */
/* State files: written whole and durably. */
int work_state_write(struct work *w, const char *name, const char *text);
void work_state_remove(struct work *w, const char *name);
char *work_state_read(struct work *w, const char *name); /* its first line (malloc'ed), NULL if none */
int work_state_save_oid(struct work *w, const char *name, const ug_oid *oid);
int work_state_load_oid(struct work *w, const char *name, ug_oid *oid);
/* Make commit (zero: an unborn branch) the base; holds w->lock exclusive. */
int work_set_base(struct work *w, const ug_oid *commit);
/* A named step of a sync or of a rename: the test points (testpoint.c,
 * UGITFS_TEST_KILL_AT and UGITFS_TEST_HOLD_AT) act here, nothing without them. */
void work_test_point(struct work *w, const char *step);
/* The tip of ref, zero if it does not exist. */
int work_tip(struct work *w, const char *ref, ug_oid *tip);
void work_invalidate(struct work *w); /* ask for the kernel's view of work/ to be dropped */
void work_touch(struct work *w);      /* a change happened (for autosync) */

/* sync.c: syncs, status, following the branch. */
/* With nothing pending, make the branch's tip the base (true if it moved);
 * holds w->lock exclusive. */
bool work_follow(struct work *w);
/* Commit the pending changes. 0: *commit set; 1: nothing to commit; else a
 * negative errno with *why (malloc'ed) saying what failed. */
int work_sync(struct work *w, const char *message, ug_oid *commit, char **why);
/* Pending changes as `git status --short` lines (malloc'ed text). */
int work_status(struct work *w, char **text);
/* Finish the clean-up of upper/ after a sync whose new base is recorded
 * (also at start, when a sync was interrupted); holds w->lock exclusive. */
void work_tidy(struct work *w);
/* Did a sync's commit reach the branch (tip is it, or contains it)? */
bool work_synced(struct work *w, const ug_oid *commit, const ug_oid *tip);

/* control.c: the socket `ugitfs --sync` and `--status` talk to. */
int control_start(struct fs *fs);
void control_stop(struct fs *fs);

/* workd.c: the working view's daemon. */
int work_start(struct fs *fs);          /* load or create the state (before the mount) */
int work_start_threads(struct fs *fs);  /* invalidator, autosync, control socket (after daemonizing) */
void work_stop(struct fs *fs);          /* stop the threads */
void work_final_sync(struct fs *fs);    /* the sync at unmount */
void work_free(struct fs *fs);
/* The branch moved: follow it when nothing is pending. */
void work_ref_changed(struct fs *fs);

#endif
