/* Fuzz target: git loose objects (zlib stream, "TYPE SIZE\0" header) read through an object database. */
#include "fuzz_util.h"
#include "fuzz_objects.h"

#include "odb_backend.h"

#include <limits.h>
#include <stdio.h>

#define HEX "5f0e4fb2d3a9c1e87b6d4a20c9f13e58a7b2d6c4"

/*
 * Input: the bytes of the file objects/5f/0e4f... (any id: without verify
 * nothing hashes). The header read and the whole read must agree on type and
 * size; a whole read is then parsed as its type.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[PATH_MAX];
	ug_odb_backend *be;

	snprintf(dir, sizeof(dir), "%s/loose", fuzz_init());
	fuzz_put("loose/5f/0e4fb2d3a9c1e87b6d4a20c9f13e58a7b2d6c4", data, size);
	if (!ug_odb_loose_new(&be, dir, UG_HASH_SHA1))
		fuzz_read_object(be, HEX, NULL, false);
	return 0;
}
