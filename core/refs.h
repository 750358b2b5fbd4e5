/* References: loose, packed (with peeled lines) and symbolic refs, and their compare-and-swap update. */
#ifndef UG_REFS_H
#define UG_REFS_H

#include "oid.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * A ref database (git's files, or ugit's), owned by whoever opened it
 * (ug_refdb_free). Every argument below is borrowed for the call only: names,
 * ids and lists are copied when kept. Thread safety: once opened, every
 * function below may be called from any number of threads at once; reads see
 * the files as they are at the call (the git backend shares one parsed
 * packed-refs under a mutex, refreshed when the file changes), and updates are
 * made safe against each other and against git by the NAME.lock protocol.
 */
typedef struct ug_refdb ug_refdb;

/* A ref as read. Its strings are owned by the ref: ug_ref_release frees them
 * (the struct itself is the caller's, usually on the stack or in a list). */
typedef struct {
	char *name;    /* "refs/heads/main", "HEAD" */
	char *target;  /* for a symbolic ref the ref it names, else NULL */
	ug_oid oid;    /* a direct ref's value (zero for a symbolic one) */
	bool peeled_known; /* packed-refs gave a "^" line or "fully-peeled" says none */
	ug_oid peeled; /* the object an annotated tag peels to, when peeled_known */
} ug_ref;

/* Refs as listed: the array and every ref in it are owned by the list. */
typedef struct {
	ug_ref *refs; /* sorted by name (byte order) */
	size_t count;
} ug_ref_list;

/* Free what a ref (or a list and its refs) owns, and zero it; NULL is a no-op. */
void ug_ref_release(ug_ref *ref);
void ug_ref_list_release(ug_ref_list *list);

/* In count refs sorted by name: the index of the first whose name is >= name. */
size_t ug_refs_lower_bound(const ug_ref *refs, size_t count, const char *name);
/* The ref named name among count refs sorted by name, or NULL (borrowed from refs). */
const ug_ref *ug_refs_find(const ug_ref *refs, size_t count, const char *name);

/* The git files layout: HEAD in gitdir, other refs and packed-refs in commondir
 * (the same directory except in worktrees). The paths are copied. *out:
 * ug_refdb_free, after every thread using it is done. */
int ug_refdb_open_git(ug_refdb **out, const char *gitdir, const char *commondir, ug_hash_algo algo);
/* The ugit layout: HEAD and refs/ under .ugit, values without newline. The
 * path is copied; *out: ug_refdb_free, as above. */
int ug_refdb_open_ugit(ug_refdb **out, const char *ugitdir);
/* Free a ref database and what it caches; NULL is a no-op. No ug_ref or
 * list read from it points into it: they stay valid. */
void ug_refdb_free(ug_refdb *db);

/* Read one ref without following a symbolic one. name is a full ref name or
 * HEAD. A loose ref overrides a packed one. UG_ENOTFOUND when absent. *out is
 * zeroed first; on success its strings are newly allocated (ug_ref_release). */
int ug_refs_read(ug_refdb *db, const char *name, ug_ref *out);

/* Follow symbolic refs (at most 5 levels; deeper or looping is UG_ECORRUPT) to
 * an id. *final (may be NULL) gets the malloc'ed name of the last ref in the
 * chain, also when that ref does not exist (an unborn branch: UG_ENOTFOUND). */
int ug_refs_resolve(ug_refdb *db, const char *name, ug_oid *out, char **final);

/* Every ref whose name starts with prefix ("refs/heads/", "" for all refs under
 * refs/), loose overriding packed, sorted by name. HEAD is not included.
 * Malformed entries are skipped, each with one log line. *out is emptied
 * first; on success the caller owns it (ug_ref_list_release). */
int ug_refs_list(ug_refdb *db, const char *prefix, ug_ref_list *out);

/*
 * Move ref name to new_oid as git does, safe beside a running git: create
 * NAME.lock (O_EXCL; UG_ECONFLICT if held), check the current value equals
 * old_oid (NULL: don't check; zero id: the ref must not exist) else
 * UG_ECONFLICT, write and fsync the lock, append "OLD NEW IDENT TIME TZ\tMSG"
 * to logs/NAME (git only; ugit keeps no reflog), rename over NAME, fsync the
 * directory. A packed-only ref is overridden by the new loose one. ident is
 * "Name <email>"; the time is now.
 */
int ug_refs_update(ug_refdb *db, const char *name, const ug_oid *new_oid,
		   const ug_oid *old_oid, const char *ident, const char *reflog_msg);

/* Point a symbolic ref (HEAD) at target, under the same lock protocol. */
int ug_refs_set_symbolic(ug_refdb *db, const char *name, const char *target);

/* Remove a loose ref (and its packed entry is left alone: ugitfs never deletes
 * shared history; used for ugit's branch-less cases and tests). */
int ug_refs_delete(ug_refdb *db, const char *name, const ug_oid *old_oid);

/* git check-ref-format rules for a full name (refs/...) or HEAD. Pure: any thread. */
bool ug_refname_valid(const char *name);

/* Directories a watcher must observe for ref changes (HEAD's dir, refs/ and its
 * subdirectories are found by walking; packed-refs' dir). NULL-terminated array
 * of malloc'ed strings; free with ug_strv_free. */
char **ug_refdb_watch_roots(ug_refdb *db);
void ug_strv_free(char **v);

#endif
