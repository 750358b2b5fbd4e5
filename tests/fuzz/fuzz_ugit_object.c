/* Fuzz target: ugit objects ("TYPE\0CONTENT" files) read through a ugit object database, then parsed in ugit's formats. */
#include "fuzz_util.h"
#include "fuzz_objects.h"

#include "odb_backend.h"

#include <limits.h>
#include <stdio.h>

#define HEX "9c1e87b6d4a20c9f13e58a7b2d6c45f0e4fb2d3a"

/*
 * Input: the bytes of the file .ugit/objects/9c1e... The header read and the
 * whole read must agree on type and size; the object is then parsed as its
 * type in the ugit repository (text trees, ugit commits).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[PATH_MAX];
	ug_repo *repo = (fuzz_init(), fuzz_ugit_repo());
	ug_odb_backend *be;

	snprintf(dir, sizeof(dir), "%s/ugit/.ugit/objects", fuzz_init());
	fuzz_put("ugit/.ugit/objects/" HEX, data, size);
	if (!ug_odb_ugit_new(&be, dir))
		fuzz_read_object(be, HEX, repo, true);
	return 0;
}
