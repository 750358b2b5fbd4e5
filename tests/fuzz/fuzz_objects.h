/* Shared by the object-store targets: parse an object that was read, by its type, as the file system would. */
#ifndef UG_FUZZ_OBJECTS_H
#define UG_FUZZ_OBJECTS_H

#include "commit.h"
#include "error.h"
#include "odb.h"
#include "tag.h"
#include "tree.h"

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

#endif
