/* Shared helpers of the libFuzzer targets: a scratch folder in memory, input splitting, and small repositories. */
#ifndef UG_FUZZ_UTIL_H
#define UG_FUZZ_UTIL_H

#include "repo.h"

#include <stddef.h>
#include <stdint.h>

/* Inputs are split into parts at this separator (a line holding "%%"). */
#define FUZZ_SEP "\n%%\n"

typedef struct {
	const uint8_t *data;
	size_t len;
} fuzz_part;

/*
 * Once per process: quiet the core's log, cap object sizes (so a claimed
 * size cannot reach libFuzzer's malloc limit), and make the scratch folder:
 * $UGITFS_FUZZ_TMP if set, else /dev/shm/ugitfs-fuzz-PID (removed at exit).
 * Returns the folder (static storage). Aborts if it cannot: a harness bug.
 */
const char *fuzz_init(void);

/* Split data at every FUZZ_SEP into at most max parts; returns the count
 * (the last part takes the rest). */
size_t fuzz_split(const uint8_t *data, size_t size, fuzz_part *parts, size_t max);

/* Write len bytes to root/rel (parents made); len == SIZE_MAX removes it.
 * Aborts on an I/O error: a harness bug, not a finding. */
void fuzz_put(const char *rel, const void *data, size_t len);

/* A NUL-terminated malloc'ed copy (the caller frees it). */
char *fuzz_strndup(const uint8_t *data, size_t len);

/*
 * Repositories made once under the scratch folder, for parsers whose format
 * depends on one: an empty ugit repository (root/ugit) and an empty SHA-256
 * bare git repository (root/sha256.git). Borrowed for the process's life.
 */
ug_repo *fuzz_ugit_repo(void);
ug_repo *fuzz_sha256_repo(void);

/* The repository a format byte chooses, modulo 3: 0 git SHA-1 (NULL, none
 * needed), 1 git SHA-256, 2 ugit. Borrowed as above. */
ug_repo *fuzz_format_repo(uint8_t format);

/* Abort when a property of the code under test fails (libFuzzer reports it). */
#define FUZZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#endif
