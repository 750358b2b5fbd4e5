/* The state of a working view: the files of its state folder, its base and tip, the test hooks, and the requests its threads serve. */
#include "work.h"

#include "error.h"
#include "fileio.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* State files: small, written whole (temp, fsync, rename, folder fsync). */
int work_state_write(struct work *w, const char *name, const char *text)
{
	char tmp[64];
	int fd, err = 0;
	size_t len = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(w->state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ugfs_err(ug_error_os(UG_ERROR, "%s/%s: cannot write", w->state_dir, name));
	if (ug_fileio_write_all(fd, text, len) || fsync(fd))
		err = ugfs_err(ug_error_os(UG_ERROR, "%s/%s: cannot write", w->state_dir, name));
	if (close(fd) && !err)
		err = ugfs_err(ug_error_os(UG_ERROR, "%s/%s: cannot write", w->state_dir, name));
	if (!err && renameat(w->state_fd, tmp, w->state_fd, name))
		err = ugfs_err(ug_error_os(UG_ERROR, "%s/%s: cannot write", w->state_dir, name));
	if (!err && fsync(w->state_fd))
		err = ugfs_err(ug_error_os(UG_ERROR, "%s: cannot sync", w->state_dir));
	if (err)
		unlinkat(w->state_fd, tmp, 0);
	return err;
}

void work_state_remove(struct work *w, const char *name)
{
	if (unlinkat(w->state_fd, name, 0) == 0)
		fsync(w->state_fd);
}

/* A state file's first line, or NULL. */
char *work_state_read(struct work *w, const char *name)
{
	char buf[1024];
	int fd = openat(w->state_fd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

int work_state_save_oid(struct work *w, const char *name, const ug_oid *oid)
{
	char hex[UG_OID_MAXHEX + 2];

	ug_oid_tohex(hex, oid, w->fs->algo);
	strcat(hex, "\n");
	return work_state_write(w, name, hex);
}

int work_state_load_oid(struct work *w, const char *name, ug_oid *oid)
{
	char *text = work_state_read(w, name);
	int err = text ? ugfs_err(ug_oid_fromhex(oid, text, strlen(text), w->fs->algo)) : -ENOENT;

	free(text);
	return err;
}

/* Make commit (or zero: an unborn branch) the base. Holds w->lock exclusive. */
int work_set_base(struct work *w, const ug_oid *commit)
{
	ug_commit *c;
	int err;

	if (ug_oid_iszero(commit)) {
		memset(&w->base, 0, sizeof(w->base));
		memset(&w->base_tree, 0, sizeof(w->base_tree));
		w->base_time = w->fs->mount_time;
		work_state_remove(w, "base");
		return 0;
	}
	err = ug_commit_lookup(&c, w->fs->repo, commit);
	if (err)
		return ugfs_err(err);
	w->base = *commit;
	w->base_tree = c->tree;
	w->base_time = c->time;
	ug_commit_free(c);
	return work_state_save_oid(w, "base", commit);
}

int work_tip(struct work *w, const char *ref, ug_oid *tip)
{
	int err = ug_refs_resolve(ug_repo_refdb(w->fs->repo), ref, tip, NULL);

	if (err == UG_ENOTFOUND) {
		memset(tip, 0, sizeof(*tip));
		return 0;
	}
	return ugfs_err(err);
}

void work_test_point(struct work *w, const char *step)
{
	testpoint_pass(&w->fs->tests, step);
}

void work_touch(struct work *w)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&w->timer_lock);
	w->last_change_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	w->changed = true;
	pthread_cond_signal(&w->timer_cond);
	pthread_mutex_unlock(&w->timer_lock);
}

void work_invalidate(struct work *w)
{
	pthread_mutex_lock(&w->inval_lock);
	w->inval_pending = true;
	pthread_cond_signal(&w->inval_cond);
	pthread_mutex_unlock(&w->inval_lock);
}
