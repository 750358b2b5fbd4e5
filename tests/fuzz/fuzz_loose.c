/* Fuzz target: git loose objects (zlib stream, "TYPE SIZE\0" header) read through an object database. */
#include "fuzz_util.h"
#include "fuzz_objects.h"

#include "odb_backend.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

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
	ug_object *obj;
	ug_odb *odb;
	ug_otype htype = UG_OBJ_NONE;
	size_t hsize = 0;
	ug_oid oid;
	int herr, err;

	snprintf(dir, sizeof(dir), "%s/loose", fuzz_init());
	fuzz_put("loose/5f/0e4fb2d3a9c1e87b6d4a20c9f13e58a7b2d6c4", data, size);
	ug_oid_fromhex(&oid, HEX, 40, UG_HASH_SHA1);
	/* A new odb each time: its cache must not answer from the last input. */
	if (ug_odb_new(&odb, UG_HASH_SHA1))
		return 0;
	if (ug_odb_loose_new(&be, dir, UG_HASH_SHA1) || ug_odb_add_backend(odb, be)) {
		ug_odb_free(odb);
		return 0;
	}
	herr = ug_odb_read_header(odb, &oid, &htype, &hsize);
	err = ug_odb_read(&obj, odb, &oid);
	FUZZ_CHECK(err != UG_ENOTFOUND && herr != UG_ENOTFOUND);
	if (!err) {
		FUZZ_CHECK(obj->data[obj->size] == '\0');
		if (!herr)
			FUZZ_CHECK(htype == obj->type && hsize == obj->size);
		fuzz_parse_object(NULL, obj);
		ug_object_free(obj);
	}
	ug_odb_free(odb);
	return 0;
}
