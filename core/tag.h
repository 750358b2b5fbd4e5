/* Annotated tags: parsing and peeling to the object they point at. */
#ifndef UG_TAG_H
#define UG_TAG_H

#include "oid.h"

struct ug_repo;

typedef struct {
	ug_oid oid;
	ug_oid target;
	ug_otype target_type;
	char *name;
	char *tagger;   /* "" when absent */
	char *message;
	char *buf_;
} ug_tag;

int ug_tag_parse(ug_tag **out, const ug_oid *oid, const unsigned char *data, size_t len,
		 ug_hash_algo algo);
void ug_tag_free(ug_tag *tag);

/* Follow tags from oid (at most 32 levels) to the first non-tag object. */
int ug_tag_peel(struct ug_repo *repo, const ug_oid *oid, ug_oid *out, ug_otype *type);

#endif
