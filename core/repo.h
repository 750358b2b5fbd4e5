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
