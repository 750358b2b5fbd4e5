/* Answers before the questions: once a snapshot file is read, its folder's other small files are put into the kernel's page cache, so that reading them costs no request. */
#include "fs_internal.h"

#include "error.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Folders waiting to be pushed; a full queue drops the newest (its reads then go the usual way). */
#define QUEUE_MAX 64
/* Folders pushed lately: a folder is pushed once however many of its files are read. */
#define RECENT 1024
/* What is pushed: files up to this size, and at most this much per folder. */
#define FILE_MAX (128 * 1024)
#define FOLDER_MAX (4 * 1024 * 1024)

struct push_job {
	fuse_ino_t dir;
	ug_oid tree;
};

struct push {
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	struct push_job queue[QUEUE_MAX];
	size_t qhead, qlen;
	fuse_ino_t recent[RECENT]; /* by ino modulo RECENT */
	_Atomic bool stop;    /* also read by the thread without the lock */
	bool running;
	pthread_t thread;
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
		buf.buf[0].mem = (void *)obj->data; /* only read from */
		buf.buf[0].size = obj->size;
		if (!fuse_lowlevel_notify_store(fs->se, ino, 0, &buf, 0))
			*left -= obj->size;
	}
	ug_object_free(obj);
}

/* The small files of a folder whose nodes the kernel holds, in tree order, within the budget. */
static void push_folder_now(struct fs *fs, const struct push_job *job)
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

static void *push_main(void *arg)
{
	struct fs *fs = arg;
	struct push *p = fs->push;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct push_job job;

		if (!p->qlen) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		job = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % QUEUE_MAX;
		p->qlen--;
		pthread_mutex_unlock(&p->lock);
		push_folder_now(fs, &job);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int push_start(struct fs *fs)
{
	struct push *p;

	if (fs->prefetch) /* a partial clone: pushing would download what nobody read */
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ug_error(UG_ENOMEM, "cannot start pushing files to the kernel");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	fs->push = p;
	if (pthread_create(&p->thread, NULL, push_main, fs)) {
		push_stop(fs);
		return ug_error(UG_ERROR, "cannot start the thread that pushes files to the kernel");
	}
	p->running = true;
	return 0;
}

void push_stop(struct fs *fs)
{
	struct push *p = fs->push;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->running)
		pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	fs->push = NULL;
}

void push_folder(struct fs *fs, fuse_ino_t dir, const ug_oid *tree)
{
	struct push *p = fs->push;
	bool seen;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	seen = p->recent[dir % RECENT] == dir;
	if (!seen && p->qlen < QUEUE_MAX) {
		p->recent[dir % RECENT] = dir;
		p->queue[(p->qhead + p->qlen++) % QUEUE_MAX] = (struct push_job){ dir, *tree };
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}
