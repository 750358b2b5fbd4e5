/* Fuzz target: opening a repository from its small files: .git file, HEAD, config, commondir, alternates, packed-refs. */
#include "fuzz_util.h"

#include "error.h"
#include "refs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* Where the parts of the input go (after the working tree's .git file). */
static const char *const files[] = {
	"repo/g/HEAD", "repo/g/config", "repo/g/commondir", "repo/g/objects/info/alternates",
	"repo/g/packed-refs",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

/*
 * Input: parts separated by FUZZ_SEP: the .git file of the working tree
 * repo/wt (an empty part: no working tree, the folder repo/g itself is
 * opened), then the files above (a missing part: no such file). What opens
 * is asked what a mount asks first.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_part parts[1 + NFILES];
	size_t n = fuzz_split(data, size, parts, 1 + NFILES);
	char path[PATH_MAX], *final = NULL, *ident;
	const char *v;
	ug_repo *repo;
	ug_oid oid;

	snprintf(path, sizeof(path), "%s/repo/%s", fuzz_init(), parts[0].len ? "wt" : "g");
	/* The user's own config must not change what is tested. */
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "", 1);
	fuzz_put("repo/wt/.git", parts[0].data, parts[0].len ? parts[0].len : SIZE_MAX);
	fuzz_put("repo/g/refs/heads/.keep", "", 0);
	fuzz_put("repo/g/objects/pack/.keep", "", 0);
	for (size_t i = 0; i < NFILES; i++)
		fuzz_put(files[i], i + 1 < n ? parts[i + 1].data : NULL, i + 1 < n ? parts[i + 1].len : SIZE_MAX);
	if (ug_repo_open(&repo, path))
		return 0;
	FUZZ_CHECK(ug_repo_gitdir(repo) && ug_repo_commondir(repo));
	ug_repo_revparse(repo, "HEAD", &oid);
	ug_repo_revparse(repo, "main", &oid);
	ug_refs_resolve(ug_repo_refdb(repo), "HEAD", &oid, &final);
	free(final);
	ug_odb_exists(ug_repo_odb(repo), &oid);
	ug_config_get(ug_repo_config(repo), "user.name", &v);
	ident = ug_repo_default_ident(repo);
	free(ident);
	ug_repo_free(repo);
	return 0;
}
