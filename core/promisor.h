/* Partial clones: the promisor remote, and fetching missing objects from it through git's own transport. */
#ifndef UG_PROMISOR_H
#define UG_PROMISOR_H

#include "config.h"
#include "odb.h"
#include "oid.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ug_promisor ug_promisor;

/*
 * The promisor remote of the git repository at gitdir, whose objects are in
 * objects_dir: extensions.partialClone names it, else a remote with
 * remote.NAME.promisor set, else "origin" when packs carry .promisor files.
 * UG_ENOTFOUND when the repository is not a partial clone. cfg and odb are
 * borrowed and must outlive the promisor. Thread safety: after creation,
 * every function may be called from many threads at once.
 */
int ug_promisor_new(ug_promisor **out, const char *gitdir, const char *objects_dir, ug_config *cfg,
		    ug_odb *odb);
void ug_promisor_free(ug_promisor *p);

/* The remote's name and the clone's filter ("" when unknown); borrowed for p's life. */
const char *ug_promisor_remote(const ug_promisor *p);
const char *ug_promisor_filter(const ug_promisor *p);

/* Seconds after which a fetch is killed (default 30); set before sharing p. */
void ug_promisor_set_timeout(ug_promisor *p, unsigned seconds);

/*
 * Fetch these objects from the promisor remote in one `git fetch` (as git's
 * own lazy fetch does), then rescan the packs. Ids already being fetched by
 * another thread are waited for, not asked again; at most a few fetches run at
 * once. After a failure, calls fail at once for a short back-off. 0, or
 * UG_ERROR with a message naming the remote and git's error.
 */
int ug_promisor_fetch(ug_promisor *p, const ug_oid *oids, size_t n);

/* How many fetches were started (for the log and tests). */
uint64_t ug_promisor_fetches(ug_promisor *p);

/* Install ug_promisor_fetch as the odb's missing-object hook. */
void ug_promisor_attach(ug_promisor *p, ug_odb *odb);

#endif
