/* Answers before the questions: a read snapshot file's folder goes into the kernel's page cache, and a walked folder's subfolders get their last-change times, from two background threads. */
#include "fs_internal.h"
#include "lastchange.h"

#include "error.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Jobs waiting per lane; a full queue drops the newest (the foreground then does the work). */
#define QUEUE_MAX 64
/* Folders seen lately, by node modulo RECENT: a folder's job is queued once. */
#define RECENT 1024
/* Subfolders of one folder listed before their siblings' times are found ahead:
 * a walk of the whole tree (find, tar) gets there soon, a diff -r of neighbour
 * snapshots (a few folders that differ) does not. */
#define AHEAD_AFTER 8
/* What is pushed: files up to this size, and at most this much per folder. */
#define FILE_MAX (128 * 1024)
#define FOLDER_MAX (4 * 1024 * 1024)

/* Push the small files of folder dir (tree), or find the times of the
 * subfolders of folder path (tree) of snapshot commit. */
struct job {
	fuse_ino_t dir;
	ug_oid tree, commit;
	char *path;             /* times only; owned */
};

struct lane {
	struct fs *fs;
	pthread_mutex_t lock; /* the queue and recent */
	pthread_cond_t cond;
	struct job queue[QUEUE_MAX];
	size_t qhead, qlen;
	fuse_ino_t recent[RECENT];
	unsigned char opened[RECENT]; /* times: subfolders of recent[i] listed so far; files: pushed */
	fuse_ino_t first[RECENT];     /* files: the first file of recent[i] read */
	void (*run)(struct fs *fs, const struct job *job);
	pthread_t thread;
	bool running;
	_Atomic bool done;    /* the thread has left its loop */
};

struct push {
	_Atomic bool stop;    /* also read by the threads without a lock */
	struct lane files, times;
};

/* One file into the page cache of node ino, whose size the kernel was told:
 * the kernel drops it unless it knows ino (ENOENT), which is no error here,
 * and a blob whose bytes are not that size (forged headers) is left to the
 * read that says so. Its bytes count against *left. */
static void push_file(struct fs *fs, fuse_ino_t ino, uint64_t size, const ug_oid *oid, size_t *left)
{
	ug_object *obj;
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(0);

	if (blobs_get(fs, oid, &obj))
		return;
	if (obj->size == size && obj->size <= *left && obj->size > 0) {
		testpoint_pass(&fs->tests, "push-store");
		buf.buf[0].mem = (void *)obj->data; /* only read from */
		buf.buf[0].size = obj->size;
		if (!fuse_lowlevel_notify_store(fs->se, ino, 0, &buf, 0))
			*left -= obj->size;
	}
	ug_object_free(obj);
}

/* The small files of a folder whose nodes the kernel holds, in tree order, within the budget. */
static void push_files(struct fs *fs, const struct job *job)
{
	const ug_tree *t;
	size_t left = FOLDER_MAX;
	char name[256];

	if (treecache_get(fs, &job->tree, &t))
		return;
	for (size_t i = 0; i < t->count && left > 0 && !fs->push->stop; i++) {
		const ug_tree_entry *e = &t->entries[i];
		fuse_ino_t ino;
		uint64_t size;

		if ((e->mode != UG_MODE_BLOB && e->mode != UG_MODE_EXEC) || e->namelen >= sizeof(name))
			continue;
		memcpy(name, e->name, e->namelen);
		name[e->namelen] = '\0';
		ino = node_find_sized(fs, job->dir, name, &size);
		if (ino && size <= FILE_MAX && size <= left)
			push_file(fs, ino, size, &e->oid, &left);
	}
	treecache_put(fs, t);
}

/* The times of each subfolder of a folder, last first: a program walking the
 * folder goes first to last, and takes what is kept by the time it arrives. */
static void find_times(struct fs *fs, const struct job *job)
{
	const ug_tree *t;
	char *sub;

	if (treecache_get(fs, &job->tree, &t))
		return;
	for (size_t i = t->count; i-- > 0 && !fs->push->stop;) {
		const ug_tree_entry *e = &t->entries[i];
		const struct lc_times *times;

		if (e->mode != UG_MODE_TREE ||
		    asprintf(&sub, "%s%s%.*s", job->path, *job->path ? "/" : "", (int)e->namelen, e->name) < 0)
			continue;
		if (!lastchange_folder(fs, &job->commit, sub, &e->oid, &times))
			lastchange_put(fs, times);
		free(sub);
	}
	treecache_put(fs, t);
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	struct fs *fs = l->fs;
	struct push *p = fs->push;

	pthread_mutex_lock(&l->lock);
	while (!p->stop) {
		struct job job;

		if (!l->qlen) {
			pthread_cond_wait(&l->cond, &l->lock);
			continue;
		}
		job = l->queue[l->qhead];
		l->qhead = (l->qhead + 1) % QUEUE_MAX;
		l->qlen--;
		pthread_mutex_unlock(&l->lock);
		l->run(fs, &job);
		free(job.path);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	l->done = true;
	return NULL;
}

static void lane_init(struct lane *l, struct fs *fs, void (*run)(struct fs *, const struct job *))
{
	l->fs = fs;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->run = run;
}

/* Wake the lane's thread to see the stop flag. */
static void lane_wake(struct lane *l)
{
	pthread_mutex_lock(&l->lock);
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* Join the lane's thread (it left its loop) and free what is queued. */
static void lane_stop(struct lane *l)
{
	if (l->running)
		pthread_join(l->thread, NULL);
	for (size_t i = 0; i < l->qlen; i++)
		free(l->queue[(l->qhead + i) % QUEUE_MAX].path);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
}

int push_start(struct fs *fs)
{
	struct push *p;

	if (fs->prefetch) /* a partial clone: pushing would download what nobody read */
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ug_error(UG_ENOMEM, "cannot start pushing files to the kernel");
	lane_init(&p->files, fs, push_files);
	lane_init(&p->times, fs, find_times);
	fs->push = p;
	p->files.running = !pthread_create(&p->files.thread, NULL, lane_main, &p->files);
	p->times.running = !pthread_create(&p->times.thread, NULL, lane_main, &p->times);
	if (!p->files.running || !p->times.running) {
		push_stop(fs, false);
		return ug_error(UG_ERROR, "cannot start the threads that answer ahead");
	}
	return 0;
}

/*
 * A lane storing a page the kernel is reading waits (uninterruptibly) for
 * that READ to be answered, and once the loop has ended nobody reads the
 * kernel's requests: answer them here, one at a time, until both lanes have
 * left their loops. Once the connection is gone, the kernel drops the store.
 * Only with the loop ended: a worker of a running loop may take the request
 * between poll and read, and the read would then wait.
 */
static void drain(struct fs *fs, struct push *p)
{
	struct pollfd pfd = { .fd = fuse_session_fd(fs->se), .events = POLLIN };

	while (!(p->files.done || !p->files.running) || !(p->times.done || !p->times.running)) {
		struct fuse_buf buf = { 0 };

		if (poll(&pfd, 1, 50) == 1 && (pfd.revents & POLLIN) && fuse_session_receive_buf(fs->se, &buf) > 0)
			fuse_session_process_buf(fs->se, &buf);
		else if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
			usleep(10000);
		free(buf.mem);
	}
}

void push_stop(struct fs *fs, bool loop_ended)
{
	struct push *p = fs->push;

	if (!p)
		return;
	p->stop = true;
	lane_wake(&p->files);
	lane_wake(&p->times);
	if (loop_ended && fs->se)
		drain(fs, p);
	lane_stop(&p->files);
	lane_stop(&p->times);
	free(p);
	fs->push = NULL;
}

/* Queue a job on a lane; job.path is taken over. */
static void queue(struct lane *l, struct job *job)
{
	if (l->qlen < QUEUE_MAX) {
		l->queue[(l->qhead + l->qlen++) % QUEUE_MAX] = *job;
		pthread_cond_signal(&l->cond);
	} else {
		free(job->path);
	}
}

void push_folder(struct fs *fs, fuse_ino_t dir, fuse_ino_t file, const ug_oid *tree)
{
	struct push *p = fs->push;
	struct lane *l;
	size_t slot = dir % RECENT;

	if (!p)
		return;
	l = &p->files;
	pthread_mutex_lock(&l->lock);
	if (l->recent[slot] != dir) {
		l->recent[slot] = dir;
		l->first[slot] = file;
		l->opened[slot] = 0;
	} else if (l->first[slot] != file && !l->opened[slot] && l->qlen < QUEUE_MAX) {
		struct job job = { .dir = dir, .tree = *tree };

		l->opened[slot] = 1;
		queue(l, &job);
	}
	pthread_mutex_unlock(&l->lock);
}

void push_times(struct fs *fs, fuse_ino_t dir, const ug_oid *commit, const char *path, const ug_oid *tree)
{
	struct push *p = fs->push;
	struct lane *l;
	size_t slot = dir % RECENT;

	if (!p)
		return;
	l = &p->times;
	pthread_mutex_lock(&l->lock);
	if (l->recent[slot] != dir) {
		l->recent[slot] = dir;
		l->opened[slot] = 0;
	}
	/* enough subfolders listed: a program walks them all */
	if (l->opened[slot] < AHEAD_AFTER && ++l->opened[slot] == AHEAD_AFTER) {
		struct job job = { .dir = dir, .tree = *tree, .commit = *commit, .path = strdup(path) };

		if (job.path)
			queue(l, &job);
	}
	pthread_mutex_unlock(&l->lock);
}
