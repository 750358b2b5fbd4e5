/* Commits: parsing (git and ugit formats) and creating. */
#ifndef UG_COMMIT_H
#define UG_COMMIT_H

#include "oid.h"

#include <stddef.h>
#include <stdint.h>

struct ug_repo;

typedef struct {
	ug_oid oid;
	ug_oid tree;
	ug_oid *parents;
	size_t nparents;
	char *author;      /* "Name <email> EPOCH +HHMM" as stored; "" for ugit */
	char *committer;   /* likewise */
	int64_t time;      /* committer time (seconds since the epoch) */
	int tz_minutes;    /* committer time zone, minutes east of UTC */
	char *message;     /* the bytes after the blank line, as stored (NUL-terminated) */
	size_t message_len;
	/* Internal: one allocation backs the strings. */
	char *buf_;
} ug_commit;

/* Parse a commit object's content. Unknown headers (gpgsig, encoding,
 * mergetag, ...) are allowed and ignored here, so they stay intact in the
 * object. UG_ECORRUPT names the object on bad input. *out: ug_commit_free. */
int ug_commit_parse(ug_commit **out, struct ug_repo *repo, const ug_oid *oid,
		    const unsigned char *data, size_t len);
/* Read and parse; UG_ECORRUPT if the object is not a commit. */
int ug_commit_lookup(ug_commit **out, struct ug_repo *repo, const ug_oid *oid);
void ug_commit_free(ug_commit *c);

/* The first line of the message (borrowed pointer into c, with its length). */
const char *ug_commit_subject(const ug_commit *c, size_t *len);

/* Write a commit in the repository's format. author/committer are "Name
 * <email>" (the time is now) and are ignored by ugit repositories. */
int ug_commit_create(struct ug_repo *repo, ug_oid *out, const ug_oid *tree,
		     const ug_oid *parents, size_t nparents, const char *author,
		     const char *committer, const char *message);

/* Parse "Name <email> EPOCH +HHMM" into time and zone. UG_ECORRUPT if malformed. */
int ug_ident_parse_time(const char *ident, size_t len, int64_t *time, int *tz_minutes);

#endif
