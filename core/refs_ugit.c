/* The ugit refs backend: .ugit/HEAD and .ugit/refs/..., values without a newline, no packed refs, no reflog. */
#include "refs.h"

#include "error.h"
#include "refs_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	ug_refdb base;
	char *dir; /* .ugit */
} ugit_refdb;

static char *path_of(const ugit_refdb *db, const char *name)
{
	char *p = NULL;

	return asprintf(&p, "%s/%s", db->dir, name) < 0 ? NULL : p;
}

static char *ugit_loose_path(ug_refdb *base, const char *name)
{
	return path_of((ugit_refdb *)base, name);
}

static int ugit_read(ug_refdb *base, const char *name, ug_ref *out)
{
	/* ugit writes no newline; parse_loose tolerates one anyway */
	int err = ug_refs__read_loose(base, name, out);

	return err == UG_ENOTFOUND ? ug_error(UG_ENOTFOUND, "ref %s not found", name) : err;
}

static int ugit_list(ug_refdb *base, const char *prefix, ug_ref_list *out)
{
	int err = ug_refs__walk(((ugit_refdb *)base)->dir, prefix, base->algo, out);

	if (err) {
		ug_ref_list_release(out);
		return err;
	}
	ug_refs__list_sort(out);
	return 0;
}

static int ugit_write(ug_refdb *base, const char *name, const ug_oid *oid, const char *target,
		      const ug_oid *old_oid, const char *ident, const char *msg)
{
	ug_reflock lk;
	int err;

	(void)ident; /* ugit keeps no reflog */
	(void)msg;
	if ((err = ug_refs__lock_checked(base, &lk, name, old_oid, NULL, NULL)))
		return err;
	if (!(err = ug_refs__lock_write_value(&lk, oid, target, base->algo, false)))
		err = ug_refs__lock_commit(&lk);
	ug_refs__lock_release(&lk);
	return err;
}

static char **ugit_watch_roots(ug_refdb *base)
{
	ugit_refdb *db = (ugit_refdb *)base;
	char **v = calloc(3, sizeof(*v));

	if (!v)
		return NULL;
	v[0] = strdup(db->dir);
	v[1] = path_of(db, "refs");
	if (!v[0] || !v[1]) {
		ug_strv_free(v);
		return NULL;
	}
	return v;
}

static void ugit_free(ug_refdb *base)
{
	ugit_refdb *db = (ugit_refdb *)base;

	free(db->dir);
	free(db);
}

static const ug_refdb_ops ugit_ops = {
	.kind = "ugit",
	.loose_path = ugit_loose_path,
	.read = ugit_read,
	.list = ugit_list,
	.write = ugit_write,
	.remove = ug_refs__remove_loose,
	.watch_roots = ugit_watch_roots,
	.free = ugit_free,
};

int ug_refdb_open_ugit(ug_refdb **out, const char *ugitdir)
{
	ugit_refdb *db = calloc(1, sizeof(*db));

	*out = NULL;
	if (!db)
		return ug_error(UG_ENOMEM, "out of memory");
	db->base.ops = &ugit_ops;
	db->base.algo = UG_HASH_SHA1; /* ugit knows only SHA-1 */
	db->dir = strdup(ugitdir);
	if (!db->dir) {
		free(db);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	*out = &db->base;
	return 0;
}
