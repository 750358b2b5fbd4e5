/* Last-change times of snapshot paths: when each path last changed in a commit's first-parent history. */
#ifndef UGFS_LASTCHANGE_H
#define UGFS_LASTCHANGE_H

#include "oid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fs;

/*
 * The times of one folder of one snapshot: for every entry of the folder's
 * tree (in tree order) the committer time of the last commit, in the
 * snapshot's first-parent history, whose version of that entry differs from
 * its first parent's (absent counts as different; a root commit changes all
 * it holds), and the same for the folder itself.
 *
 * Thread safety: the cache is one mutex around two tables (commit facts and
 * folder answers); a walk runs without the lock, so two threads asking for
 * the same folder at once may both walk, and the second answer is dropped.
 * Answers are immutable and reference-counted: a reader holds one between
 * lastchange_folder and lastchange_put, whatever the cache evicts meanwhile.
 */
struct lc_times {
	ug_oid tree;        /* the folder's tree id in the snapshot */
	int64_t folder;     /* the folder's own last change */
	size_t count;       /* entries of tree */
	int64_t *times;     /* count of them, in tree order */
};

struct lastchange;

/* A cache holding at most about limit bytes. Core error codes. */
int lastchange_new(struct lastchange **out, size_t limit);
void lastchange_free(struct lastchange *lc);

/* The committer time of a commit, from the cache of commit facts. Core codes. */
int lastchange_commit_time(struct fs *fs, const ug_oid *commit, int64_t *out);

/* The snapshot root's time: the last commit in commit's first-parent history
 * whose tree differs from its first parent's. Core codes. */
int lastchange_root_time(struct fs *fs, const ug_oid *commit, int64_t *out);

/* The times of the folder at path ("" for the root, else "a/b" with no
 * leading or trailing slash) whose tree is tree in commit. *out stays valid
 * until lastchange_put. Core codes; UG_ECORRUPT for a history that loops. */
int lastchange_folder(struct fs *fs, const ug_oid *commit, const char *path, const ug_oid *tree,
		      const struct lc_times **out);
void lastchange_put(struct fs *fs, const struct lc_times *t);

struct loglist;

/* The versions of the file (or symlink, or submodule) at path along a
 * branch's log l: the indices into l, oldest first, of the commits where
 * path is present and differs from the commit before (created or changed;
 * deletions are not versions). *out: malloc'ed, *count of them. Core codes. */
int lastchange_versions(struct fs *fs, const struct loglist *l, const char *path, size_t **out, size_t *count);
/* Is l's commit i one of path's versions? Core codes. */
int lastchange_version_at(struct fs *fs, const struct loglist *l, size_t i, const char *path, bool *changed);

#endif
