/* Fuzz target: a pack and its .idx (v1, v2; SHA-1, SHA-256), every entry read through its delta chain. */
#include "fuzz_util.h"
#include "fuzz_objects.h"

#include "pack.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries read per input: enough for every seed, bounded for speed. */
#define MAX_READS 256

enum {
	F_SHA256 = 1,    /* the ids are SHA-256 */
	F_TRAILER = 2,   /* copy the idx's pack checksum over the pack's last bytes */
	F_COUNT = 4,     /* copy the idx's object count into the pack header */
	F_NO_CACHE = 8,  /* read without a delta-base cache */
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The id of idx entry i; only called once ug_pack_open validated the layout. */
static void name_of(const uint8_t *idx, size_t rawsz, uint32_t i, ug_oid *out)
{
	const uint8_t *p = !memcmp(idx, "\377tOc", 4) ? idx + 8 + 1024 + (size_t)i * rawsz
						      : idx + 1024 + (size_t)i * (4 + rawsz) + 4;

	memset(out, 0, sizeof(*out));
	memcpy(out->id, p, rawsz);
}

static void read_all(ug_pack *pack, const ug_pack_resolver *res, const uint8_t *idx, size_t rawsz)
{
	uint32_t count = ug_pack_count(pack);
	int found = 0;
	ug_oid oid, hit;

	for (uint32_t i = 0; i < count && i < MAX_READS; i++) {
		ug_otype type, htype;
		unsigned char *data;
		size_t size, hsize;
		uint64_t off;
		int err, herr;

		name_of(idx, rawsz, i, &oid);
		FUZZ_CHECK(!ug_pack_find(pack, &oid, &off));
		herr = ug_pack_read_header(pack, res, off, &oid, &htype, &hsize);
		err = ug_pack_read(pack, res, off, &oid, &type, &data, &size);
		if (!err) {
			FUZZ_CHECK(type >= UG_OBJ_COMMIT && type <= UG_OBJ_TAG && data[size] == '\0');
			if (!herr)
				FUZZ_CHECK(htype == type && hsize == size);
			free(data);
		}
	}
	if (count) {
		name_of(idx, rawsz, 0, &oid);
		ug_pack_find_prefix(pack, &oid, 7, &hit, &found);
		FUZZ_CHECK(found >= 1);
	}
}

/*
 * Input: a flags byte (above), the idx's length (4 bytes, big-endian, cut to
 * what is there), the idx, then the pack. The fix-up flags let mutations of
 * one file keep the cross-checks with the other.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ug_hash_algo algo;
	size_t idx_len, pack_len, rawsz;
	uint8_t *pack_bytes;
	char path[PATH_MAX];
	ug_pack_resolver res = {0}; /* no outside bases: a REF_DELTA leaving the pack is missing */
	ug_pack *pack;
	unsigned flags;

	fuzz_init();
	if (size < 5)
		return 0;
	flags = data[0];
	idx_len = be32(data + 1);
	data += 5;
	size -= 5;
	if (idx_len > size)
		idx_len = size;
	algo = flags & F_SHA256 ? UG_HASH_SHA256 : UG_HASH_SHA1;
	rawsz = ug_hash_rawsz(algo);
	pack_len = size - idx_len;
	pack_bytes = malloc(pack_len + 1);
	if (!pack_bytes)
		return 0;
	memcpy(pack_bytes, data + idx_len, pack_len);
	if (flags & F_TRAILER && idx_len >= 2 * rawsz && pack_len >= rawsz)
		memcpy(pack_bytes + pack_len - rawsz, data + idx_len - 2 * rawsz, rawsz);
	if (flags & F_COUNT && pack_len >= 12 && idx_len >= 1032) {
		size_t fan = !memcmp(data, "\377tOc", 4) ? 8 : 0;

		memcpy(pack_bytes + 8, data + fan + 1020, 4);
	}
	fuzz_put("pack/pack-fuzz.idx", data, idx_len);
	fuzz_put("pack/pack-fuzz.pack", pack_bytes, pack_len);
	free(pack_bytes);
	snprintf(path, sizeof(path), "%s/pack/pack-fuzz.idx", fuzz_init());
	if (ug_pack_open(&pack, path, algo))
		return 0;
	/* an odb's default share for delta bases: 64 MiB, 32 MiB at most for one */
	if (!(flags & F_NO_CACHE) && ug_cache_new(&res.bases, (size_t)64 << 20, (size_t)32 << 20))
		res.bases = NULL;
	read_all(pack, &res, data, rawsz);
	ug_pack_free(pack);
	ug_cache_free(res.bases);
	return 0;
}
