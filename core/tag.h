/* Annotated tags: parsing and peeling to the object they point at. */
#ifndef UG_TAG_H
#define UG_TAG_H

#include "oid.h"

struct ug_repo;

/*
 * A parsed tag, owned by whoever parsed it (ug_tag_free). Immutable once
 * parsed, so any number of threads may read one; name, tagger and message
 * point into buf_ and live until ug_tag_free.
 *
 * Thread safety: every function below may be called from any number of
 * threads at once; none keeps state between calls, and none keeps a pointer
 * it was given.
 */
typedef struct {
	ug_oid oid;
	ug_oid target;
	ug_otype target_type;
	char *name;
	char *tagger;   /* "" when absent */
	char *message;
	char *buf_;
} ug_tag;

/* Parse a tag's content (data, len: read before anything is trusted). 0 and
 * *out, to be freed with ug_tag_free; UG_ECORRUPT with the cause in the
 * error message; UG_ENOMEM. data is copied: the caller keeps it. oid (the
 * tag's own id, may be NULL: then zero) is copied too. */
int ug_tag_parse(ug_tag **out, const ug_oid *oid, const unsigned char *data, size_t len,
		 ug_hash_algo algo);
/* Free a tag and its strings; NULL is a no-op. */
void ug_tag_free(ug_tag *tag);

/* Follow tags from oid (at most 32 levels) to the first non-tag object: *out
 * and *type (may be NULL) are written, nothing is allocated. Safe from any
 * thread (the repository's contract). UG_ECORRUPT for a deeper (or looping)
 * chain. */
int ug_tag_peel(struct ug_repo *repo, const ug_oid *oid, ug_oid *out, ug_otype *type);

#endif
