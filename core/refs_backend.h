/* Private: the refs backend vtable and the loose-file helpers its two backends (git files, ugit) share. */
#ifndef UG_REFS_BACKEND_H
#define UG_REFS_BACKEND_H

#include "refs.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * A backend. Every function returns 0, UG_ENOTFOUND or another error and must
 * be safe for concurrent calls. read does not follow symbolic refs; write
 * stores either a direct value (target NULL) or a symbolic one under the lock
 * protocol of ug_refs_update. Names reaching a backend are already checked.
 */
typedef struct {
	const char *kind; /* "git" or "ugit", for messages */
	/* Where name's loose file is (malloc'ed; NULL when out of memory): the
	 * loose-ref steps below read, lock and delete through it. */
	char *(*loose_path)(ug_refdb *db, const char *name);
	int (*read)(ug_refdb *db, const char *name, ug_ref *out);
	int (*list)(ug_refdb *db, const char *prefix, ug_ref_list *out);
	int (*write)(ug_refdb *db, const char *name, const ug_oid *oid, const char *target,
		     const ug_oid *old_oid, const char *ident, const char *msg);
	int (*remove)(ug_refdb *db, const char *name, const ug_oid *old_oid);
	char **(*watch_roots)(ug_refdb *db);
	void (*free)(ug_refdb *db);
} ug_refdb_ops;

/* Every backend's struct starts with this. */
struct ug_refdb {
	const ug_refdb_ops *ops;
	ug_hash_algo algo;
};

/* Read a small file whole (at most 64 KiB). *buf is malloc'ed and NUL-
 * terminated. A missing file, a directory, or a path through a file is
 * UG_ENOTFOUND. */
int ug_refs__read_file(const char *path, char **buf, size_t *len);

/* Read name's loose file (ops->loose_path) into out: ug_refs__read_file,
 * then ug_refs__parse_loose. */
int ug_refs__read_loose(ug_refdb *db, const char *name, ug_ref *out);

/* Parse a loose ref's bytes ("<hex>" or "ref: NAME", trailing whitespace
 * allowed) into out (out->name = a copy of name). UG_ECORRUPT naming path. */
int ug_refs__parse_loose(const char *path, const char *name, const char *buf, size_t len,
			 ug_hash_algo algo, ug_ref *out);

/* May this name be read as a ref: a valid refs/... name, HEAD, or a
 * pseudoref in capitals (ORIG_HEAD)? Keeps reads inside the repository. */
bool ug_refs__name_readable(const char *name);

/* Append the loose refs under root/refs/ whose names start with prefix to
 * list (unsorted). Iterative; skips *.lock files, and invalid names and
 * unreadable refs each with a log line. */
int ug_refs__walk(const char *root, const char *prefix, ug_hash_algo algo, ug_ref_list *list);

/* Append a copy-free ref (its strings move into the list). */
int ug_refs__list_push(ug_ref_list *list, ug_ref *ref);
void ug_refs__list_sort(ug_ref_list *list);

/* The lock protocol, in steps, so the git backend can write its reflog
 * between write and commit. */
typedef struct {
	char *path;     /* the ref file */
	char *lockpath; /* path + ".lock" */
	int fd;         /* the open lock, or -1 once closed */
	bool held;      /* the lock file exists and is ours to remove */
} ug_reflock;

/* Create the parent directories and path.lock with O_EXCL (UG_ECONFLICT if
 * held). On failure nothing is left behind. */
int ug_refs__lock(ug_reflock *lk, const char *path);
/* Write content into the lock and fsync it. */
int ug_refs__lock_write(ug_reflock *lk, const char *content, size_t len);
/* Rename the lock over the ref and fsync the directory. */
int ug_refs__lock_commit(ug_reflock *lk);
/* Remove the lock if still held and free the paths; safe after commit. */
void ug_refs__lock_release(ug_reflock *lk);

/* Compare the current value (cur_err is what reading it returned) against
 * old_oid as ug_refs_update wants; UG_ECONFLICT naming name when different. */
int ug_refs__check_old(const char *name, int cur_err, const ug_ref *cur,
		       const ug_oid *old_oid, ug_hash_algo algo);

/* Lock name's loose file, read its current value under the lock (a writer
 * that respects the lock cannot change it now) and check it against old_oid
 * (ug_refs__check_old). On success the caller holds lk and, when cur is not
 * NULL, *cur (zeroed unless *cur_err, what the read returned, is 0): it
 * releases both. cur and cur_err are both NULL or both set. On failure
 * nothing is held. */
int ug_refs__lock_checked(ug_refdb *db, ug_reflock *lk, const char *name, const ug_oid *old_oid,
			  ug_ref *cur, int *cur_err);
/* Write a ref's value into the lock: "ref: TARGET" when target is set, else
 * oid's hex; then a newline when asked (git writes one, ugit none). */
int ug_refs__lock_write_value(ug_reflock *lk, const ug_oid *oid, const char *target, ug_hash_algo algo,
			      bool newline);

/* Delete name's loose file under its lock when its value matches old_oid
 * (ug_refs__check_old): both backends' remove. A packed copy stays. */
int ug_refs__remove_loose(ug_refdb *db, const char *name, const ug_oid *old_oid);

#endif
