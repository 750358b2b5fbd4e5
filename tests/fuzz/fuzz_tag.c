/* Fuzz target: annotated tag parsing (SHA-1 and SHA-256 ids). */
#include "fuzz_util.h"

#include "error.h"
#include "tag.h"

#include <string.h>

/* Input: one byte choosing the hash (even SHA-1, odd SHA-256), then the tag's content. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ug_tag *tag;
	ug_oid oid;
	int err;

	fuzz_init();
	if (size < 1)
		return 0;
	memset(&oid, 0x3c, sizeof(oid));
	err = ug_tag_parse(&tag, &oid, data + 1, size - 1, data[0] & 1 ? UG_HASH_SHA256 : UG_HASH_SHA1);
	if (err) {
		FUZZ_CHECK(err == UG_ECORRUPT || err == UG_ENOMEM);
		return 0;
	}
	FUZZ_CHECK(tag->name && tag->tagger && tag->message);
	FUZZ_CHECK(ug_otype_name(tag->target_type) != NULL);
	ug_tag_free(tag);
	return 0;
}
