/* Shared by the object-store targets: read an object and parse it by its type, as the file system would. */
#ifndef UG_FUZZ_OBJECTS_H
#define UG_FUZZ_OBJECTS_H

#include "fuzz_util.h"

#include "commit.h"
#include "error.h"
#include "odb.h"
#include "tag.h"
#include "tree.h"

#include <stdbool.h>

/* Parse obj as its type says (repo NULL: git SHA-1); results are dropped. */
static inline void fuzz_parse_object(ug_repo *repo, const ug_object *obj)
{
	ug_commit *c;
	ug_tree *t;
	ug_tag *g;

	switch (obj->type) {
	case UG_OBJ_COMMIT:
		if (!ug_commit_parse(&c, repo, &obj->oid, obj->data, obj->size))
			ug_commit_free(c);
		break;
	case UG_OBJ_TREE:
		if (!ug_tree_parse(&t, repo, &obj->oid, obj->data, obj->size))
			ug_tree_free(t);
		break;
	case UG_OBJ_TAG:
		if (!ug_tag_parse(&g, &obj->oid, obj->data, obj->size,
				  repo ? ug_repo_algo(repo) : UG_HASH_SHA1))
			ug_tag_free(g);
		break;
	default:
		break;
	}
}

/*
 * Read the SHA-1 object hex through a new odb of the one backend be (the odb
 * takes it, also on failure), by its header and whole: neither may say it is
 * missing, they agree on type and size, and the whole object is NUL-terminated
 * and parsed as its type (repo as for fuzz_parse_object). With alike, the
 * header read must fail exactly when the whole read does.
 */
static inline void fuzz_read_object(ug_odb_backend *be, const char *hex, ug_repo *repo, bool alike)
{
	ug_object *obj;
	ug_odb *odb;
	ug_otype htype = UG_OBJ_NONE;
	size_t hsize = 0;
	ug_oid oid;
	int herr, err;

	ug_oid_fromhex(&oid, hex, 40, UG_HASH_SHA1);
	/* A new odb each time: its cache must not answer from the last input. */
	if (ug_odb_new(&odb, UG_HASH_SHA1)) {
		be->free(be);
		return;
	}
	if (ug_odb_add_backend(odb, be)) {
		ug_odb_free(odb);
		return;
	}
	herr = ug_odb_read_header(odb, &oid, &htype, &hsize);
	err = ug_odb_read(&obj, odb, &oid);
	FUZZ_CHECK(err != UG_ENOTFOUND && herr != UG_ENOTFOUND);
	FUZZ_CHECK(!alike || !err == !herr);
	if (!err) {
		FUZZ_CHECK(obj->data[obj->size] == '\0');
		if (!herr)
			FUZZ_CHECK(htype == obj->type && hsize == obj->size);
		fuzz_parse_object(repo, obj);
		ug_object_free(obj);
	}
	ug_odb_free(odb);
}

#endif
