/* The working view's daemon: its start, its threads (autosync, invalidations, control socket), following the branch, the final sync. */
#include "work.h"

#include "array.h"
#include "error.h"
#include "fileio.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static char *encode_branch(const char *branch)
{
	char *out = malloc(3 * strlen(branch) + 1), *p = out;

	for (; out && *branch; branch++) {
		if (*branch == '/' || *branch == '%')
			p += sprintf(p, "%%%02X", (unsigned char)*branch);
		else
			*p++ = *branch;
	}
	if (out)
		*p = '\0';
	return out;
}

/* One daemon per working view: the state folder's lock is held for the
 * daemon's whole life, its final sync included. A daemon still finishing
 * that sync after an unmount is waited for, a while. */
static int lock_state(struct work *w)
{
	w->lock_fd = openat(w->state_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (w->lock_fd < 0)
		return ugfs_err(ug_error_os(UG_ERROR, "%s/lock: cannot open", w->state_dir));
	for (int tries = 0; flock(w->lock_fd, LOCK_EX | LOCK_NB); tries++) {
		if (errno != EWOULDBLOCK)
			return ugfs_err(ug_error_os(UG_ERROR, "%s/lock: cannot lock", w->state_dir));
		if (tries == 100)
			return ugfs_err(ug_error(UG_ECONFLICT,
						 "branch '%s' has a working view in another ugitfs mount", w->branch));
		usleep(100000);
	}
	return 0;
}

/* Remove one entry of a folder (an orphan); one that will not go is left. */
static int unlink_entry(void *arg, int dirfd, const char *name, unsigned char type)
{
	(void)arg;
	(void)type;
	unlinkat(dirfd, name, 0);
	return 0;
}

/* orphans/ holds files unlinked while open; none survives the daemon that kept them. */
static int clear_orphans(struct work *w)
{
	DIR *d;

	if (mkdirat(w->state_fd, "orphans", 0700) && errno != EEXIST)
		return ugfs_err(ug_error_os(UG_ERROR, "%s/orphans: cannot create", w->state_dir));
	d = work_opendir_at(w->state_fd, "orphans");
	if (!d)
		return ugfs_err(ug_error_os(UG_ERROR, "%s/orphans: cannot open", w->state_dir));
	ug_fileio_dir_read(d, unlink_entry, NULL);
	return 0;
}

/* Which branch: -o branch=NAME, else the one HEAD names. NULL: none (a detached HEAD). */
static char *working_branch(struct fs *fs)
{
	ug_ref head;
	char *name = NULL;

	if (fs->opts.branch)
		return strdup(fs->opts.branch);
	if (ug_refs_read(ug_repo_refdb(fs->repo), "HEAD", &head) == 0) {
		if (head.target && !strncmp(head.target, "refs/heads/", 11))
			name = strdup(head.target + 11);
		ug_ref_release(&head);
	}
	return name;
}

/* A new working view of branch (taken over), its locks made; fs->work. */
static struct work *work_new(struct fs *fs, char *branch)
{
	struct work *w = calloc(1, sizeof(*w));

	if (!w) {
		free(branch);
		return NULL;
	}
	w->fs = fs;
	w->branch = branch;
	w->state_fd = w->upper_fd = w->control_fd = w->lock_fd = -1;
	pthread_rwlock_init(&w->lock, NULL);
	pthread_mutex_init(&w->copy_lock, NULL);
	pthread_mutex_init(&w->mark_lock, NULL);
	pthread_mutex_init(&w->timer_lock, NULL);
	pthread_cond_init(&w->timer_cond, NULL);
	pthread_mutex_init(&w->inval_lock, NULL);
	pthread_cond_init(&w->inval_cond, NULL);
	fs->work = w;
	return w;
}

/* The state folder, locked for this daemon, with upper/ open and orphans gone. */
static int open_state(struct work *w)
{
	char *enc = encode_branch(w->branch);
	int err = enc && asprintf(&w->branch_ref, "refs/heads/%s", w->branch) > 0 &&
			  asprintf(&w->state_dir, "%s/ugitfs/work/%s", ug_repo_gitdir(w->fs->repo), enc) > 0
		      ? 0
		      : -ENOMEM;

	free(enc);
	if (!err)
		err = ugfs_err(ug_fileio_mkdirs(w->state_dir, 0755));
	if (!err && (w->state_fd = open(w->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		err = ugfs_err(ug_error_os(UG_ERROR, "%s: cannot open", w->state_dir));
	if (!err)
		err = lock_state(w);
	if (!err && mkdirat(w->state_fd, "upper", 0755) && errno != EEXIST)
		err = ugfs_err(ug_error_os(UG_ERROR, "%s/upper: cannot create", w->state_dir));
	if (!err && (w->upper_fd = openat(w->state_fd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		err = ugfs_err(ug_error_os(UG_ERROR, "%s/upper: cannot open", w->state_dir));
	if (!err)
		err = clear_orphans(w);
	if (!err && work_rescan_marks(w))
		err = ugfs_err(ug_error(UG_ENOMEM, "out of memory"));
	return err;
}

/* The ref syncs move: the branch, or the conflict branch a sync went to. */
static int choose_target(struct work *w)
{
	char *target = work_state_read(w, "target");
	ug_oid tip;

	if (target && asprintf(&w->target_ref, "refs/heads/%s", target) > 0 && ug_refname_valid(w->target_ref) &&
	    work_tip(w, w->target_ref, &tip) == 0 && !ug_oid_iszero(&tip)) {
		ug_log(UG_LOG_INFO, "work/ continues on %s", w->target_ref);
	} else {
		free(w->target_ref);
		w->target_ref = strdup(w->branch_ref);
		work_state_remove(w, "target");
	}
	free(target);
	return w->target_ref ? 0 : -ENOMEM;
}

/* The base: as saved (else the tip); a sync interrupted after its ref moved
 * counts as done, and its clean-up of upper/ is finished. */
static int restore_base(struct work *w)
{
	ug_oid tip, base, syncing;
	ug_otype type = UG_OBJ_BAD;
	size_t size;
	bool resume;
	int err = work_tip(w, w->target_ref, &tip);

	if (err)
		return err;
	if (work_state_load_oid(w, "base", &base) || ug_odb_read_header(ug_repo_odb(w->fs->repo), &base, &type, &size) ||
	    type != UG_OBJ_COMMIT)
		base = tip;
	resume = work_state_load_oid(w, "syncing", &syncing) == 0 && work_synced(w, &syncing, &tip);
	if (resume)
		base = syncing;
	err = work_set_base(w, &base);
	if (err)
		return err;
	if (resume)
		work_tidy(w);
	work_state_remove(w, "syncing");
	return 0;
}

int work_start(struct fs *fs)
{
	char *branch = working_branch(fs);
	struct work *w;
	int err;

	if (!branch) {
		ug_log(UG_LOG_WARNING, "HEAD is detached: no working view (mount with -o branch=NAME for one)");
		return 0;
	}
	if (!(w = work_new(fs, branch)))
		return ugfs_err(ug_error(UG_ENOMEM, "out of memory"));
	err = open_state(w);
	if (!err)
		err = choose_target(w);
	if (!err)
		err = restore_base(w);
	if (err)
		return err;
	w->ident = fs->opts.author ? strdup(fs->opts.author) : ug_repo_default_ident(fs->repo);
	if (!w->ident)
		return -ENOMEM;
	work_follow(w);
	return 0;
}

/* autosync: a sync after that many seconds without a change. */
static void *timer_main(void *arg)
{
	struct work *w = arg;
	int64_t quiet = (int64_t)w->fs->opts.autosync * 1000;

	pthread_mutex_lock(&w->timer_lock);
	while (!w->stopping) {
		struct timespec now;
		int64_t now_ms, due;

		clock_gettime(CLOCK_MONOTONIC, &now);
		now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		due = w->last_change_ms + quiet;
		if (!w->changed) {
			pthread_cond_wait(&w->timer_cond, &w->timer_lock);
		} else if (now_ms < due) {
			struct timespec until = { .tv_sec = due / 1000, .tv_nsec = (due % 1000) * 1000000 };

			pthread_cond_timedwait(&w->timer_cond, &w->timer_lock, &until);
		} else {
			ug_oid commit;
			char *why = NULL;
			int err;

			w->changed = false;
			pthread_mutex_unlock(&w->timer_lock);
			err = work_sync(w, NULL, &commit, &why);
			if (err < 0)
				ug_log(UG_LOG_ERROR, "autosync failed: %s", why ? why : strerror(-err));
			free(why);
			pthread_mutex_lock(&w->timer_lock);
		}
	}
	pthread_mutex_unlock(&w->timer_lock);
	return NULL;
}

/* The kernel's view of work/ is dropped from this thread, never from a request
 * handler (the kernel may hold locks of the very node a handler serves). */
struct inos {
	fuse_ino_t *v;
	size_t n, cap;
};

static void collect_ino(struct node *n, void *arg)
{
	struct inos *l = arg;
	fuse_ino_t *v = ug_array_grow(l->v, &l->cap, l->n + 1, sizeof(*v), 64);

	if (!v)
		return;
	l->v = v;
	l->v[l->n++] = n->ino;
}

static void *invalidator_main(void *arg)
{
	struct work *w = arg;

	pthread_mutex_lock(&w->inval_lock);
	for (;;) {
		while (!w->inval_pending && !w->inval_stop)
			pthread_cond_wait(&w->inval_cond, &w->inval_lock);
		if (w->inval_stop)
			break;
		w->inval_pending = false;
		pthread_mutex_unlock(&w->inval_lock);
		struct inos l = { 0 };

		node_foreach(w->fs, 1u << K_WORK | 1u << K_WNODE, collect_ino, &l);
		for (size_t i = 0; i < l.n; i++)
			fuse_lowlevel_notify_inval_inode(w->fs->se, l.v[i], 0, 0);
		free(l.v);
		pthread_mutex_lock(&w->inval_lock);
	}
	pthread_mutex_unlock(&w->inval_lock);
	return NULL;
}

int work_start_threads(struct fs *fs)
{
	struct work *w = fs->work;

	if (!w)
		return 0;
	if (pthread_create(&w->invalidator, NULL, invalidator_main, w) == 0)
		w->invalidator_running = true;
	if (fs->opts.autosync && pthread_create(&w->timer, NULL, timer_main, w) == 0)
		w->timer_running = true;
	return control_start(fs);
}

void work_stop(struct fs *fs)
{
	struct work *w = fs->work;

	if (!w)
		return;
	control_stop(fs);
	pthread_mutex_lock(&w->timer_lock);
	w->stopping = true;
	pthread_cond_signal(&w->timer_cond);
	pthread_mutex_unlock(&w->timer_lock);
	if (w->timer_running)
		pthread_join(w->timer, NULL);
	pthread_mutex_lock(&w->inval_lock);
	w->inval_stop = true;
	pthread_cond_signal(&w->inval_cond);
	pthread_mutex_unlock(&w->inval_lock);
	if (w->invalidator_running)
		pthread_join(w->invalidator, NULL);
}

/* The last sync at unmount: pending changes are committed, or kept if that fails. */
void work_final_sync(struct fs *fs)
{
	struct work *w = fs->work;
	ug_oid commit;
	char *why = NULL;
	int err;

	if (!w || w->upper_fd < 0)
		return;
	err = work_sync(w, NULL, &commit, &why);
	if (err < 0)
		ug_log(UG_LOG_ERROR, "sync at unmount failed, the changes stay pending: %s",
		       why ? why : strerror(-err));
	free(why);
}

void work_free(struct fs *fs)
{
	struct work *w = fs->work;

	if (!w)
		return;
	if (w->upper_fd >= 0)
		close(w->upper_fd);
	if (w->state_fd >= 0)
		close(w->state_fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd); /* releases the lock */
	free(w->branch);
	free(w->branch_ref);
	free(w->target_ref);
	free(w->state_dir);
	free(w->ident);
	pthread_rwlock_destroy(&w->lock);
	pthread_mutex_destroy(&w->copy_lock);
	pthread_mutex_destroy(&w->mark_lock);
	work_free_marks(w);
	pthread_mutex_destroy(&w->timer_lock);
	pthread_cond_destroy(&w->timer_cond);
	pthread_mutex_destroy(&w->inval_lock);
	pthread_cond_destroy(&w->inval_cond);
	free(w);
	fs->work = NULL;
}

/* The branch moved (the ref watcher): follow it when nothing is pending. */
void work_ref_changed(struct fs *fs)
{
	struct work *w = fs->work;
	bool moved;

	if (!w)
		return;
	pthread_rwlock_wrlock(&w->lock);
	moved = work_follow(w);
	pthread_rwlock_unlock(&w->lock);
	if (moved)
		work_invalidate(w);
}
