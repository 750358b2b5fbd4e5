/* Blobs being read: the last few inflated whole, so successive READs of one file inflate it once. */
#include "fs_internal.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

/*
 * The kernel sends no open or release (FUSE_CAP_NO_OPEN_SUPPORT), so a file
 * being read has no handle to keep its bytes in: they are held here by id,
 * least recently used out, within a byte budget. The object being read is
 * always kept, even alone over the budget (a file larger than the cap).
 */
#define SLOTS 16

struct blobs {
	pthread_mutex_t lock;
	struct {
		ug_object *obj;
		uint64_t used;
	} slot[SLOTS];
	uint64_t clock;
	size_t bytes, limit;
};

int blobs_new(struct blobs **out, size_t limit)
{
	struct blobs *b = calloc(1, sizeof(*b));

	if (!b)
		return UG_ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
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
