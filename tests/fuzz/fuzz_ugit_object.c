/* Fuzz target: ugit objects ("TYPE\0CONTENT" files) read through a ugit object database, then parsed in ugit's formats. */
#include "fuzz_util.h"
#include "fuzz_objects.h"

#include "odb_backend.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

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
	ug_object *obj;
	ug_odb *odb;
	ug_otype htype = UG_OBJ_NONE;
	size_t hsize = 0;
	ug_oid oid;
	int herr, err;

	snprintf(dir, sizeof(dir), "%s/ugit/.ugit/objects", fuzz_init());
	fuzz_put("ugit/.ugit/objects/" HEX, data, size);
	ug_oid_fromhex(&oid, HEX, 40, UG_HASH_SHA1);
	/* A new odb each time: its cache must not answer from the last input. */
	if (ug_odb_new(&odb, UG_HASH_SHA1))
		return 0;
	if (ug_odb_ugit_new(&be, dir) || ug_odb_add_backend(odb, be)) {
		ug_odb_free(odb);
		return 0;
	}
	herr = ug_odb_read_header(odb, &oid, &htype, &hsize);
	err = ug_odb_read(&obj, odb, &oid);
	FUZZ_CHECK(err != UG_ENOTFOUND && herr != UG_ENOTFOUND);
	FUZZ_CHECK(!err == !herr);
	if (!err) {
		FUZZ_CHECK(htype == obj->type && hsize == obj->size);
		FUZZ_CHECK(obj->data[obj->size] == '\0');
		fuzz_parse_object(repo, obj);
		ug_object_free(obj);
	}
	ug_odb_free(odb);
	return 0;
}
