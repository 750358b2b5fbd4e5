/* Repository discovery and opening: git (working tree, .git dir or file, bare, worktree) and ugit. */
#ifndef UG_REPO_H
#define UG_REPO_H

#include "config.h"
#include "odb.h"
#include "oid.h"
#include "refs.h"

typedef enum {
	UG_FORMAT_GIT = 1,
	UG_FORMAT_UGIT = 2,
} ug_format;

typedef struct ug_repo ug_repo;

/*
 * Open the repository at path, which may be: a working tree holding a .git
 * directory or a .git file ("gitdir: PATH", relative to the file); a .git
 * directory; a bare repository (config optional: a directory with objects/,
 * refs/ and HEAD); or a directory holding .ugit/. No discovery upwards: path
 * itself must be one of these. UG_ENOTFOUND with a message naming path and the
 * cause when it is none. Thread safety: after opening, every accessor and the
 * odb/refdb may be used from many threads.
 */
int ug_repo_open(ug_repo **out, const char *path);
void ug_repo_free(ug_repo *repo);

ug_format ug_repo_format(const ug_repo *repo);
ug_hash_algo ug_repo_algo(const ug_repo *repo);
/* The repository's own directory: .git (or the worktree's gitdir), the bare
 * directory, or .ugit. Absolute, borrowed for the repo's life. */
const char *ug_repo_gitdir(const ug_repo *repo);
/* Where objects and shared refs live (differs from gitdir for worktrees). */
const char *ug_repo_commondir(const ug_repo *repo);
/* The working tree, or NULL for a bare repository. */
const char *ug_repo_workdir(const ug_repo *repo);

ug_odb *ug_repo_odb(ug_repo *repo);
ug_refdb *ug_repo_refdb(ug_repo *repo);
/* The repository's config merged over the user's global one (may be empty, never NULL). */
ug_config *ug_repo_config(ug_repo *repo);

/* Shallow clones: the commits listed in <commondir>/shallow have no parents,
 * as git shows them; ug_commit_parse asks ug_repo_is_shallow. The list is read
 * at open; ug_repo_refresh_shallow reads it again if the file changed (a
 * fetch --deepen or --unshallow; returns 1 then, 0 when it did not, which
 * costs one open and stat). A malformed line is skipped with one log line.
 * Thread-safe. */
int ug_repo_refresh_shallow(ug_repo *repo);
bool ug_repo_is_shallow(ug_repo *repo, const ug_oid *commit);

/* Where the branch refname ("refs/heads/NAME") is checked out, as git's
 * worktree list sees it: the main worktree of a non-bare repository and every
 * linked worktree (<commondir>/worktrees/ID) whose HEAD names refname. Returns
 * 0 and *worktree (newly malloc'ed: the worktree's path) when it is checked
 * out; UG_ENOTFOUND when no worktree has it; UG_ENOMEM. A ugit repository's
 * folder is the checkout of the branch its HEAD names. HEAD files are read
 * fresh on every call. */
int ug_repo_checked_out(ug_repo *repo, const char *refname, char **worktree);

/* The promisor remote of a partial clone (promisor.h), NULL otherwise; borrowed
 * for the repo's life. Objects missing locally are fetched from it on read. */
struct ug_promisor *ug_repo_promisor(ug_repo *repo);

/* "Name <email>" for new commits: user.name/user.email from the config, else
 * the login name and host. Newly malloc'ed. */
char *ug_repo_default_ident(ug_repo *repo);

/* Resolve a revision as git's basic syntax does: a full or abbreviated id,
 * HEAD, a ref name (NAME, refs/NAME, refs/tags/NAME, refs/heads/NAME,
 * refs/remotes/NAME). Tags are not peeled. */
int ug_repo_revparse(ug_repo *repo, const char *rev, ug_oid *out);

#endif
