/* Trees: parsing (git binary and ugit text), name checks of hostile entries, and writing. */
#ifndef UG_TREE_H
#define UG_TREE_H

#include "oid.h"

#include <stddef.h>
#include <stdint.h>

struct ug_repo;

/* git modes */
#define UG_MODE_TREE 0040000
#define UG_MODE_BLOB 0100644
#define UG_MODE_EXEC 0100755
#define UG_MODE_LINK 0120000
#define UG_MODE_GITLINK 0160000

typedef struct {
	uint32_t mode;     /* one of UG_MODE_* (legacy 100664 etc. normalized to 100644) */
	ug_oid oid;
	const char *name;  /* NUL-terminated, borrowed from the tree */
	size_t namelen;
} ug_tree_entry;

typedef struct {
	ug_oid oid;
	ug_tree_entry *entries; /* in stored order; entries failing the name checks removed */
	size_t count;
	size_t hidden;          /* how many entries were removed */
	/* Internal: sorted index for lookup, and the name storage. */
	uint32_t *byname_;
	char *names_;
} ug_tree;

/*
 * Parse tree content. Entries named "", ".", "..", ".git" (any case), or holding
 * "/" or NUL, and entries of a mode git does not know (octal, but no file,
 * symlink, folder or submodule) are hidden (not returned) with one log line
 * naming the tree; a malformed entry (a mode that is not octal, a truncated
 * id) makes the whole tree UG_ECORRUPT.
 * *out: ug_tree_free.
 */
int ug_tree_parse(ug_tree **out, struct ug_repo *repo, const ug_oid *oid,
		  const unsigned char *data, size_t len);
int ug_tree_lookup(ug_tree **out, struct ug_repo *repo, const ug_oid *oid);
void ug_tree_free(ug_tree *tree);

/*
 * Step through a git tree's stored bytes without parsing it whole (for walks
 * that read many versions of a folder once each). *pos is where the next
 * entry starts (0 at first) and is moved past it. 0: *e holds the entry (its
 * mode canonical as the parser makes it, its name borrowed from data and
 * ended by data's NUL); 1: the end; UG_ECORRUPT: a malformed entry or a mode
 * the parser would hide. Names are not checked: a caller that shows them
 * parses the tree with ug_tree_parse instead.
 */
int ug_tree_next_raw(const unsigned char *data, size_t len, size_t *pos, ug_hash_algo algo, ug_tree_entry *e);

/* git's order of a tree's entries: by name, a folder's as if it ended in '/'. */
int ug_tree_entry_cmp(const ug_tree_entry *a, const ug_tree_entry *b);

/*
 * Step through two stored versions of a folder side by side (for walks over
 * a folder's history): fn is called, in order, for each entry of newer that
 * older lacks (old NULL) or holds with another mode or id; what only older
 * holds is not told. Entries stored alike, byte for byte, are stepped over
 * without being parsed, so two versions that differ in a few entries cost
 * about a comparison of their bytes. 0; fn's own nonzero result; or
 * UG_ECORRUPT when either is malformed, or out of git's order where they
 * differ (fn may have been called before that point).
 */
int ug_tree_raw_changes(const unsigned char *newer, size_t nlen, const unsigned char *older, size_t olen,
			ug_hash_algo algo, int (*fn)(void *ctx, const ug_tree_entry *now, const ug_tree_entry *old),
			void *ctx);

/* Find an entry by exact name; NULL when absent. O(log n). */
const ug_tree_entry *ug_tree_find(const ug_tree *tree, const char *name, size_t namelen);

/* Is this a name git would accept inside a tree (not ., .., .git in any case,
 * empty, or containing / or NUL)? */
int ug_tree_name_ok(const char *name, size_t len);

/* Write a tree from entries (any order; they are sorted as the format wants,
 * git's "name/" order for trees). Duplicate names are UG_EINVALID. */
int ug_tree_create(struct ug_repo *repo, ug_oid *out, const ug_tree_entry *entries, size_t count);

/* Object type of a mode: tree, blob (file/link), or UG_OBJ_COMMIT for a gitlink. */
ug_otype ug_mode_type(uint32_t mode);

#endif
