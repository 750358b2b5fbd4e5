/* Blobs being read: the last few inflated whole, so successive READs of one file inflate it once; big ones as streams. */
#include "fs_internal.h"

#include "error.h"
#include "log.h"
#include "zinflate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The kernel sends no open or release (FUSE_CAP_NO_OPEN_SUPPORT), so a file
 * being read has no handle to keep its bytes in: they are held here by id,
 * least recently used out, within a byte budget. The object being read is
 * always kept, even alone over the budget (a file larger than the cap).
 */
#define SLOTS 16

/*
 * A blob bigger than a quarter of the budget is not held whole: it is read
 * through a stream (inflated window by window, a few MiB each), kept here by
 * id while it is read. One reader at a time uses a stream (others wait: the
 * next read of a file is usually just after this one). A blob stored as a
 * delta cannot stream: that is remembered, and it is read whole.
 */
#define STREAMS 8

struct blobs {
	pthread_mutex_t lock;
	pthread_cond_t idle;    /* a stream stopped being busy */
	struct {
		ug_object *obj;
		uint64_t used;
	} slot[SLOTS];
	struct {
		bool taken;
		bool whole;     /* stored as a delta: read whole */
		bool busy;      /* a reader uses zs */
		ug_oid oid;
		ug_zstream *zs;
		uint64_t used;
	} st[STREAMS];
	uint64_t clock;
	size_t bytes, limit;
};

int blobs_new(struct blobs **out, size_t limit)
{
	struct blobs *b = calloc(1, sizeof(*b));

	if (!b)
		return UG_ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->idle, NULL);
	b->limit = limit;
	*out = b;
	return 0;
}

void blobs_free(struct blobs *b)
{
	if (!b)
		return;
	for (int i = 0; i < SLOTS; i++)
		ug_object_free(b->slot[i].obj);
	for (int i = 0; i < STREAMS; i++)
		ug_zstream_free(b->st[i].zs);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

int blobs_get(struct fs *fs, const ug_oid *oid, ug_object **out)
{
	struct blobs *b = fs->blobs;
	ug_object *obj, *drop[SLOTS];
	int ndrop = 0, err;

	pthread_mutex_lock(&b->lock);
	for (int i = 0; i < SLOTS; i++) {
		if (b->slot[i].obj && ug_oid_equal(&b->slot[i].obj->oid, oid)) {
			b->slot[i].used = ++b->clock;
			*out = ug_object_dup(b->slot[i].obj);
			pthread_mutex_unlock(&b->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&b->lock);

	err = ug_odb_read(&obj, ug_repo_odb(fs->repo), oid);
	if (err)
		return err;
	pthread_mutex_lock(&b->lock);
	/* Make room: the coldest go first, until one slot is free and the rest fit. */
	for (;;) {
		int coldest = -1, empty = -1;

		for (int i = 0; i < SLOTS; i++) {
			if (!b->slot[i].obj)
				empty = i;
			else if (coldest < 0 || b->slot[i].used < b->slot[coldest].used)
				coldest = i;
		}
		if (empty >= 0 && (b->bytes + obj->size <= b->limit || coldest < 0)) {
			b->slot[empty].obj = ug_object_dup(obj);
			b->slot[empty].used = ++b->clock;
			b->bytes += obj->size;
			break;
		}
		b->bytes -= b->slot[coldest].obj->size;
		drop[ndrop++] = b->slot[coldest].obj;
		b->slot[coldest].obj = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	for (int i = 0; i < ndrop; i++)
		ug_object_free(drop[i]);
	*out = obj;
	return 0;
}

bool blobs_streams(struct fs *fs, uint64_t size)
{
	return size > fs->blobs->limit / 4;
}

/* The stream slot of oid, waiting while another reader uses it; -1 if none.
 * Called and returns with the lock held. */
static int find_stream(struct blobs *b, const ug_oid *oid)
{
	for (;;) {
		int i;

		for (i = 0; i < STREAMS; i++)
			if (b->st[i].taken && ug_oid_equal(&b->st[i].oid, oid))
				break;
		if (i == STREAMS)
			return -1;
		if (!b->st[i].busy)
			return i;
		pthread_cond_wait(&b->idle, &b->lock);
	}
}

/* A slot for a new stream: a free one, else the coldest idle one (its stream
 * goes to *drop); -1 when all are busy. Lock held. */
static int free_stream_slot(struct blobs *b, ug_zstream **drop)
{
	int coldest = -1;

	*drop = NULL;
	for (int i = 0; i < STREAMS; i++) {
		if (!b->st[i].taken)
			return i;
		if (!b->st[i].busy && (coldest < 0 || b->st[i].used < b->st[coldest].used))
			coldest = i;
	}
	if (coldest >= 0) {
		*drop = b->st[coldest].zs;
		b->st[coldest].taken = false;
		b->st[coldest].zs = NULL;
	}
	return coldest;
}

/* Open oid's stream into a slot marked busy; *slot -1 when none was free
 * (then *zs is the caller's alone). 1 when oid cannot stream. Lock held. */
static int open_stream(struct fs *fs, const ug_oid *oid, int *slot, ug_zstream **zs)
{
	struct blobs *b = fs->blobs;
	ug_zstream *drop;
	ug_otype type;
	size_t size;
	int err, i;

	pthread_mutex_unlock(&b->lock);
	err = ug_odb_stream(zs, ug_repo_odb(fs->repo), oid, &type, &size);
	if (!err && *zs && type != UG_OBJ_BLOB)
		err = ug_error(UG_ECORRUPT, "object %s is a %s, not a blob",
			       ug_oid_tohex((char[UG_OID_MAXHEX + 1]){ 0 }, oid, fs->algo),
			       ug_otype_name(type) ? ug_otype_name(type) : "?");
	pthread_mutex_lock(&b->lock);
	if (err) {
		ug_zstream_free(*zs);
		*zs = NULL;
		return err;
	}
	/* Another reader may have opened it meanwhile: then ours is surplus. */
	if (find_stream(b, oid) >= 0) {
		ug_zstream_free(*zs);
		*zs = NULL;
		*slot = find_stream(b, oid);
		if (b->st[*slot].whole)
			return 1;
		b->st[*slot].busy = true;
		*zs = b->st[*slot].zs;
		return 0;
	}
	i = *slot = free_stream_slot(b, &drop);
	if (i >= 0) {
		b->st[i].taken = true;
		b->st[i].oid = *oid;
		b->st[i].zs = *zs;
		b->st[i].whole = !*zs;
		b->st[i].busy = *zs != NULL;
		b->st[i].used = ++b->clock;
	}
	pthread_mutex_unlock(&b->lock);
	ug_zstream_free(drop);
	pthread_mutex_lock(&b->lock);
	return *zs ? 0 : 1;
}

int blobs_read(struct fs *fs, const ug_oid *oid, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct blobs *b = fs->blobs;
	ug_zstream *zs = NULL;
	int slot, err;

	*got = 0;
	pthread_mutex_lock(&b->lock);
	slot = find_stream(b, oid);
	if (slot >= 0 && b->st[slot].whole) {
		pthread_mutex_unlock(&b->lock);
		return 1;
	}
	if (slot >= 0) {
		b->st[slot].busy = true;
		zs = b->st[slot].zs;
	} else if ((err = open_stream(fs, oid, &slot, &zs))) {
		pthread_mutex_unlock(&b->lock);
		return err;
	}
	pthread_mutex_unlock(&b->lock);

	err = ug_zstream_read(zs, off, buf, len, got);
	if (err) { /* the stream's message does not know the object's name */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", ug_error_last());
		err = ug_error(err, "object %s: %s", ug_oid_tohex((char[UG_OID_MAXHEX + 1]){ 0 }, oid, fs->algo),
			       msg);
	}

	pthread_mutex_lock(&b->lock);
	if (slot < 0) {
		ug_zstream_free(zs);
	} else {
		b->st[slot].busy = false;
		b->st[slot].used = ++b->clock;
		if (err) { /* a bad stream is not kept: the next read starts afresh */
			b->st[slot].taken = false;
			b->st[slot].zs = NULL;
			ug_zstream_free(zs);
		}
		pthread_cond_broadcast(&b->idle);
	}
	pthread_mutex_unlock(&b->lock);
	return err;
}

/* A big blob's read through its stream; false when it must be read whole. */
static bool read_streamed(fuse_req_t req, struct fs *fs, const ug_oid *oid, uint64_t total, size_t size,
			  off_t off)
{
	char *buf;
	size_t got;
	int err;

	if (off < 0 || (uint64_t)off >= total) {
		fuse_reply_buf(req, NULL, 0);
		return true;
	}
	if (size > total - (uint64_t)off)
		size = (size_t)(total - (uint64_t)off);
	if (!(buf = malloc(size ? size : 1))) {
		fuse_reply_err(req, ENOMEM);
		return true;
	}
	err = blobs_read(fs, oid, (uint64_t)off, buf, size, &got);
	if (err == 1) {
		free(buf);
		return false;
	}
	if (err) {
		fuse_reply_err(req, ugfs_errno(err));
	} else if (got != size) {
		char hex[UG_OID_MAXHEX + 1];

		ug_log(UG_LOG_ERROR, "object %s: content ends before its header's size %llu",
		       ug_oid_tohex(hex, oid, fs->algo), (unsigned long long)total);
		fuse_reply_err(req, EIO);
	} else {
		fuse_reply_buf(req, buf, got);
	}
	free(buf);
	return true;
}

void blob_reply(fuse_req_t req, struct fs *fs, const ug_oid *oid, uint64_t total, size_t size, off_t off)
{
	ug_object *obj;
	int err;

	if (blobs_streams(fs, total) && read_streamed(req, fs, oid, total, size, off))
		return;
	err = blobs_get(fs, oid, &obj);
	if (err) {
		fuse_reply_err(req, ugfs_errno(err));
		return;
	}
	if (obj->size != total) {
		char hex[UG_OID_MAXHEX + 1];

		ug_log(UG_LOG_ERROR, "object %s: size %zu differs from its header's %llu",
		       ug_oid_tohex(hex, oid, fs->algo), obj->size, (unsigned long long)total);
		fuse_reply_err(req, EIO);
	} else if (off < 0 || (uint64_t)off >= obj->size) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		fuse_reply_buf(req, (const char *)obj->data + off,
			       size < obj->size - (size_t)off ? size : obj->size - (size_t)off);
	}
	ug_object_free(obj);
}
