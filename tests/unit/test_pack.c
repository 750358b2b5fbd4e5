/* Unit tests of packs and their .idx v1/v2, built byte by byte: deltas, 64-bit offsets, loops, damage. */
#include "error.h"
#include "pack.h"
#include "packgen.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char B1[] = "The quick brown fox jumps over the lazy dog.\n"
			 "The quick brown fox jumps over the lazy dog again.\n";
static char R1[64], R2[160], R3[200];
static unsigned char D1[64], D2[64], D3[64];

/*
 * Six entries: e0 blob (offset in the 64-bit table), e1 OFS_DELTA on e0,
 * e2 REF_DELTA on e1, e3 tree, e4 commit, e5 OFS_DELTA on e2 (chain of 3).
 */
static int sample(struct pg_entry *e, ug_hash_algo algo)
{
	size_t b1 = strlen(B1), n;
	unsigned char ops[32];

	e[0] = pg_plain(UG_OBJ_BLOB, B1, b1, algo);
	e[0].large = true;
	/* R1 = B1[4..20) + "CAT" */
	memcpy(R1, B1 + 4, 16);
	memcpy(R1 + 16, "CAT", 3);
	n = 0;
	ops[n++] = 0x91, ops[n++] = 4, ops[n++] = 16;
	ops[n++] = 3, ops[n++] = 'C', ops[n++] = 'A', ops[n++] = 'T';
	e[1] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = D1, .base = 0,
				  .len = pg_delta(D1, b1, 19, ops, n) };
	ug_hash_object(&e[1].oid, algo, UG_OBJ_BLOB, R1, 19);
	/* R2 = R1 + "!\n" */
	memcpy(R2, R1, 19);
	memcpy(R2 + 19, "!\n", 2);
	n = 0;
	ops[n++] = 0x90, ops[n++] = 19, ops[n++] = 2, ops[n++] = '!', ops[n++] = '\n';
	e[2] = (struct pg_entry){ .type = UG_OBJ_REF_DELTA, .data = D2, .base_oid = e[1].oid,
				  .len = pg_delta(D2, 19, 21, ops, n) };
	ug_hash_object(&e[2].oid, algo, UG_OBJ_BLOB, R2, 21);
	e[3] = pg_plain(UG_OBJ_TREE, "\0\1\2 binary tree bytes", 22, algo);
	e[4] = pg_plain(UG_OBJ_COMMIT, "tree x\n\nmessage\n", 16, algo);
	/* R3 = "3" + R2 */
	memcpy(R3, "3", 1);
	memcpy(R3 + 1, R2, 21);
	n = 0;
	ops[n++] = 1, ops[n++] = '3', ops[n++] = 0x90, ops[n++] = 21;
	e[5] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = D3, .base = 2,
				  .len = pg_delta(D3, 21, 22, ops, n) };
	ug_hash_object(&e[5].oid, algo, UG_OBJ_BLOB, R3, 22);
	return 6;
}

static const char *want_data(int i, struct pg_entry *e, size_t *len, ug_otype *type)
{
	static const char *d[6];
	static const size_t l[6] = { 0, 19, 21, 22, 16, 22 };

	d[0] = B1, d[1] = R1, d[2] = R2, d[3] = e[3].data, d[4] = e[4].data, d[5] = R3;
	*len = i == 0 ? strlen(B1) : l[i];
	*type = e[i].type == UG_OBJ_OFS_DELTA || e[i].type == UG_OBJ_REF_DELTA ? UG_OBJ_BLOB : e[i].type;
	return d[i];
}

/* Read every sample object through pack p and compare. */
static void check_all(ug_pack *p, struct pg_entry *e, int n, const char *what)
{
	int good = 0, headers = 0;

	for (int i = 0; i < n; i++) {
		uint64_t off;
		unsigned char *data;
		size_t size, wlen, hsize;
		ug_otype type, wtype, htype;
		const char *want = want_data(i, e, &wlen, &wtype);

		if (ug_pack_find(p, &e[i].oid, &off) || off != e[i].offset ||
		    ug_pack_read(p, NULL, off, &e[i].oid, &type, &data, &size)) {
			tap_diag("%s entry %d: %s", what, i, ug_error_last());
			continue;
		}
		good += type == wtype && size == wlen && !memcmp(data, want, wlen) && data[size] == 0;
		free(data);
		if (ug_pack_read_header(p, NULL, off, &e[i].oid, &htype, &hsize)) {
			tap_diag("%s entry %d header: %s", what, i, ug_error_last());
			continue;
		}
		headers += htype == wtype && hsize == wlen;
	}
	is_int(good, n, "%s: every object reads back exactly", what);
	is_int(headers, n, "%s: every header gives type and size", what);
}

static int open_built(struct pg_pack *pk, const char *name, ug_pack **p, ug_hash_algo algo)
{
	char idx[256];

	pg_write(pk, dir, name, idx, sizeof(idx));
	return ug_pack_open(p, idx, algo);
}

static int read_oid(ug_pack *p, const ug_oid *oid, ug_otype *type, unsigned char **data, size_t *size)
{
	uint64_t off;
	int err = ug_pack_find(p, oid, &off);

	*data = NULL;
	return err ? err : ug_pack_read(p, NULL, off, oid, type, data, size);
}

static bool same_file(const char *a, const char *b)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

/* The sample pack built with an idx of version v into pk and opened as p; 0 or the case failed. */
static int open_sample(struct pg_entry *e, int *n, ug_hash_algo algo, int v, const char *name,
		       struct pg_pack *pk, ug_pack **p)
{
	int err;

	*n = sample(e, algo);
	pg_build(e, *n, algo, v, pk);
	err = open_built(pk, name, p, algo);
	if (!is_int(err, 0, "%s opens: %s", name, err ? ug_error_last() : "")) {
		pg_free(pk);
		return -1;
	}
	return 0;
}

/* idx v2 with a 64-bit offset entry */
static void idx_v2(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;
	int n;

	if (open_sample(e, &n, UG_HASH_SHA1, 2, "pack-v2", &pk, &p))
		return;
	is_int(ug_pack_count(p), n, "object count");
	check_all(p, e, n, "v2");
	ug_pack_free(p);
	pg_free(&pk);
}

static void prefixes(void)
{
	char hex[UG_OID_MAXHEX + 1];
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_oid pre, found;
	ug_pack *p;
	int n, count = 0;

	if (open_sample(e, &n, UG_HASH_SHA1, 2, "pack-v2", &pk, &p))
		return;
	ug_oid_prefix_fromhex(&pre, ug_oid_tohex(hex, &e[3].oid, UG_HASH_SHA1), 7, UG_HASH_SHA1);
	ug_pack_find_prefix(p, &pre, 7, &found, &count);
	ok(count == 1 && ug_oid_equal(&found, &e[3].oid), "7-digit prefix finds the tree");
	count = 0;
	ug_oid_prefix_fromhex(&pre, hex, 5, UG_HASH_SHA1);
	ug_pack_find_prefix(p, &pre, 5, &found, &count);
	ok(count == 1 && ug_oid_equal(&found, &e[3].oid), "odd 5-digit prefix finds the tree");
	count = 0;
	ug_oid_prefix_fromhex(&pre, "", 0, UG_HASH_SHA1);
	memset(&pre, 0, sizeof(pre));
	ug_pack_find_prefix(p, &pre, 0, &found, &count);
	is_int(count, 2, "empty prefix is ambiguous (stops at 2)");
	ug_pack_free(p);
	pg_free(&pk);
}

static void absent_not_found(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;
	ug_oid none;
	uint64_t off;
	int n;

	if (open_sample(e, &n, UG_HASH_SHA1, 2, "pack-v2", &pk, &p))
		return;
	ug_hash_object(&none, UG_HASH_SHA1, UG_OBJ_BLOB, "absent", 6);
	is_int(ug_pack_find(p, &none, &off), UG_ENOTFOUND, "absent object not found");
	ug_pack_free(p);
	pg_free(&pk);
}

/* The sample pack in algo with an idx of version v: every object found and read. */
static void sample_reads(ug_hash_algo algo, int v, const char *name, const char *what)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;
	int n;

	if (open_sample(e, &n, algo, v, name, &pk, &p))
		return;
	check_all(p, e, n, what);
	ug_pack_free(p);
	pg_free(&pk);
}

static void idx_v1(void)
{
	sample_reads(UG_HASH_SHA1, 1, "pack-v1", "v1");
}

static void sha256(void)
{
	sample_reads(UG_HASH_SHA256, 2, "pack-256", "sha256");
}

static void sha256_as_sha1(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;
	int n;

	n = sample(e, UG_HASH_SHA256);
	pg_build(e, n, UG_HASH_SHA256, 2, &pk);
	is_int(open_built(&pk, "pack-256b", &p, UG_HASH_SHA1), UG_ECORRUPT,
	       "SHA-256 pack read as SHA-1 is refused");
	pg_free(&pk);
}

/* git index-pack, the oracle, writes the same .idx for the same pack */
static void oracle(ug_hash_algo algo)
{
	char cmd[512], idx[256];
	struct pg_entry e[8];
	struct pg_pack pk;
	int n;

	n = sample(e, algo);
	e[0].large = false;
	pg_build(e, n, algo, 2, &pk);
	pg_write(&pk, dir, "oracle", idx, sizeof(idx));
	snprintf(cmd, sizeof(cmd),
		 "git index-pack --object-format=%s -o %s/git.idx %s/oracle.pack >/dev/null 2>&1",
		 ug_hash_name(algo), dir, dir);
	if (ok(system(cmd) == 0, "git index-pack accepts the %s pack", ug_hash_name(algo))) {
		snprintf(cmd, sizeof(cmd), "%s/git.idx", dir);
		ok(same_file(cmd, idx), "git's %s .idx is byte for byte ours", ug_hash_name(algo));
	}
	pg_free(&pk);
}

static void oracle_sha1(void)
{
	oracle(UG_HASH_SHA1);
}

static void oracle_sha256(void)
{
	oracle(UG_HASH_SHA256);
}

/* a REF_DELTA loop of two objects ends with UG_ECORRUPT */
static void ref_delta_loop(void)
{
	char hex[UG_OID_MAXHEX + 1];
	struct pg_entry e[2];
	struct pg_pack pk;
	unsigned char loopd[8], *data;
	size_t ld = pg_delta(loopd, 1, 1, "\x90\x01", 2), size, hs;
	ug_otype type;
	uint64_t off;
	ug_pack *p;

	e[0] = (struct pg_entry){ .type = UG_OBJ_REF_DELTA, .data = loopd, .len = ld };
	e[1] = e[0];
	ug_hash_object(&e[0].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "x", 1);
	ug_hash_object(&e[1].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "y", 1);
	e[0].base_oid = e[1].oid;
	e[1].base_oid = e[0].oid;
	pg_build(e, 2, UG_HASH_SHA1, 2, &pk);
	if (is_int(open_built(&pk, "pack-loop", &p, UG_HASH_SHA1), 0, "loop pack opens")) {
		is_int(read_oid(p, &e[0].oid, &type, &data, &size), UG_ECORRUPT, "REF_DELTA loop is corrupt");
		ok(strstr(ug_error_last(), "loop") && strstr(ug_error_last(), ug_oid_tohex(hex, &e[0].oid, UG_HASH_SHA1)),
		   "message names the loop and the object: %s", ug_error_last());
		ug_pack_find(p, &e[1].oid, &off);
		is_int(ug_pack_read_header(p, NULL, off, &e[1].oid, &type, &hs), UG_ECORRUPT,
		       "header of a loop is corrupt");
		ug_pack_free(p);
	}
	pg_free(&pk);
}

/* damage to one entry spares the others */
static void damaged_entry(void)
{
	char hex[UG_OID_MAXHEX + 1];
	struct pg_entry e[8];
	struct pg_pack pk;
	unsigned char *data;
	size_t size;
	ug_otype type;
	ug_pack *p;
	int n, fine = 0;

	n = sample(e, UG_HASH_SHA1);
	pg_build(e, n, UG_HASH_SHA1, 2, &pk);
	pk.pack.p[e[3].offset + 6] ^= 0x55; /* inside the tree's zlib stream */
	pg_reseal(&pk, UG_HASH_SHA1);
	if (is_int(open_built(&pk, "pack-damaged", &p, UG_HASH_SHA1), 0, "pack with one damaged entry opens")) {
		is_int(read_oid(p, &e[3].oid, &type, &data, &size), UG_ECORRUPT, "damaged entry is corrupt");
		ok(strstr(ug_error_last(), ug_oid_tohex(hex, &e[3].oid, UG_HASH_SHA1)) != NULL,
		   "message names the object: %s", ug_error_last());
		for (int i = 0; i < n; i++) {
			if (i == 3)
				continue;
			if (!read_oid(p, &e[i].oid, &type, &data, &size))
				fine++;
			free(data);
		}
		is_int(fine, n - 1, "every other object still reads");
		ug_pack_free(p);
	}
	pg_free(&pk);
}

/* hostile entries: size claims, bad deltas, bad types */
static unsigned char hostile_dd[32], hostile_d3g[32];

static int open_hostile(struct pg_entry *e, struct pg_pack *pk, ug_pack **p)
{
	static const char small[] = "small";

	e[0] = pg_plain(UG_OBJ_BLOB, small, 5, UG_HASH_SHA1);
	e[1] = pg_plain(UG_OBJ_BLOB, "terabytes", 9, UG_HASH_SHA1);
	e[1].claim = (uint64_t)1 << 41;
	e[2] = pg_plain(UG_OBJ_BLOB, "one more", 8, UG_HASH_SHA1);
	e[2].claim = 9;
	e[3] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = hostile_dd, .base = 0,
				  .len = pg_delta(hostile_dd, 5, 4, "\x91\x03\x04", 3) };
	ug_hash_object(&e[3].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "copy out of range", 17);
	e[4] = pg_plain(UG_OBJ_BLOB, "type five", 9, UG_HASH_SHA1);
	e[4].type = 5;
	e[5] = (struct pg_entry){ .type = UG_OBJ_REF_DELTA, .data = hostile_dd, .len = 5 };
	ug_hash_object(&e[5].base_oid, UG_HASH_SHA1, UG_OBJ_BLOB, "nowhere", 7);
	ug_hash_object(&e[5].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "missing base", 12);
	e[6] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = hostile_d3g, .base = 0,
				  .len = pg_delta(hostile_d3g, 5, (size_t)3 << 30, "\x91\x00\x05", 3) };
	ug_hash_object(&e[6].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "3 GiB result", 12);
	pg_build(e, 7, UG_HASH_SHA1, 2, pk);
	if (!is_int(open_built(pk, "pack-hostile", p, UG_HASH_SHA1), 0, "hostile pack opens")) {
		pg_free(pk);
		return -1;
	}
	return 0;
}

/* One hostile entry's check: what it does to the pack read by check(). */
#define HOSTILE_CASE(name, ...)                          \
	static void name(void)                           \
	{                                                \
		struct pg_entry e[8];                    \
		struct pg_pack pk;                       \
		unsigned char *data = NULL;              \
		size_t size;                             \
		ug_otype type;                           \
		ug_pack *p;                              \
                                                         \
		if (open_hostile(e, &pk, &p))            \
			return;                          \
		__VA_ARGS__;                             \
		(void)data, (void)size, (void)type;      \
		ug_pack_free(p);                         \
		pg_free(&pk);                            \
	}

HOSTILE_CASE(hostile_good,
	     is_int(read_oid(p, &e[0].oid, &type, &data, &size), 0, "its good object reads");
	     free(data))
HOSTILE_CASE(hostile_claim,
	     is_int(read_oid(p, &e[1].oid, &type, &data, &size), UG_ECORRUPT, "a 2 TiB claim is corrupt");
	     is_int(ug_pack_read_header(p, NULL, e[1].offset, &e[1].oid, &type, &size), UG_ECORRUPT,
		    "and so is its header: a size is never promised that a read cannot keep"))
HOSTILE_CASE(hostile_one_more,
	     is_int(read_oid(p, &e[2].oid, &type, &data, &size), UG_ECORRUPT,
		    "size header one more than the stream is corrupt"))
HOSTILE_CASE(hostile_copy_out,
	     is_int(read_oid(p, &e[3].oid, &type, &data, &size), UG_ECORRUPT,
		    "delta copying out of its base is corrupt");
	     ok(strstr(ug_error_last(), "out of a base") != NULL, "message: %s", ug_error_last()))
HOSTILE_CASE(hostile_type5,
	     is_int(read_oid(p, &e[4].oid, &type, &data, &size), UG_ECORRUPT, "type 5 is corrupt"))
HOSTILE_CASE(hostile_3gib,
	     is_int(ug_pack_read_header(p, NULL, e[6].offset, &e[6].oid, &type, &size), UG_ECORRUPT,
		    "header of a 5-byte delta claiming 3 GiB is corrupt");
	     is_int(read_oid(p, &e[6].oid, &type, &data, &size), UG_ECORRUPT, "and so is its read"))
HOSTILE_CASE(hostile_missing_base,
	     is_int(read_oid(p, &e[5].oid, &type, &data, &size), UG_ECORRUPT,
		    "REF_DELTA with a missing base is corrupt");
	     ok(strstr(ug_error_last(), "missing") != NULL, "message: %s", ug_error_last()))

/* damaged files: the sample pack, built into pk, to damage before open_built() */
static int build_sample(struct pg_entry *e, struct pg_pack *pk)
{
	int n = sample(e, UG_HASH_SHA1);

	pg_build(e, n, UG_HASH_SHA1, 2, pk);
	return n;
}

static void truncated_pack(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;

	build_sample(e, &pk);
	pk.pack.n -= 30;
	is_int(open_built(&pk, "pack-trunc", &p, UG_HASH_SHA1), UG_ECORRUPT, "truncated pack refused");
	ok(strstr(ug_error_last(), "pack-trunc.pack") != NULL, "message names the file: %s",
	   ug_error_last());
	pk.pack.n = 8;
	is_int(open_built(&pk, "pack-trunc8", &p, UG_HASH_SHA1), UG_ECORRUPT, "8-byte pack refused");
	pg_free(&pk);
}

static void bad_fanout(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	unsigned char save[4];
	ug_pack *p;

	build_sample(e, &pk);
	memcpy(save, pk.idx.p + 8 + 4 * 0x80, 4);
	memcpy(pk.idx.p + 8 + 4 * 0x80, "\xff\xff\xff\xff", 4);
	is_int(open_built(&pk, "pack-fanout", &p, UG_HASH_SHA1), UG_ECORRUPT, "decreasing fanout refused");
	ok(strstr(ug_error_last(), "fanout") != NULL, "message: %s", ug_error_last());
	memcpy(pk.idx.p + 8 + 4 * 0x80, save, 4);
	memcpy(pk.idx.p + 8 + 4 * 255, "\x00\x00\x00\x07", 4);
	is_int(open_built(&pk, "pack-fan255", &p, UG_HASH_SHA1), UG_ECORRUPT,
	       "fanout total not matching the file size refused");
	pg_free(&pk);
}

static void bad_offsets(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	unsigned char save[4];
	ug_pack *p;
	int n = build_sample(e, &pk);
	size_t offs = 8 + 1024 + (size_t)n * (20 + 4);

	for (int k = 0; k < n; k++) {
		unsigned char *o = pk.idx.p + offs + 4 * k;

		if (o[0] & 0x80) {
			memcpy(save, o, 4);
			o[3] = 9; /* only entry 0 of the 64-bit table exists */
			is_int(open_built(&pk, "pack-large", &p, UG_HASH_SHA1), UG_ECORRUPT,
			       "64-bit table index out of range refused");
			memcpy(o, save, 4);
		} else {
			memcpy(save, o, 4);
			memcpy(o, "\x00\x10\x00\x00", 4);
			is_int(open_built(&pk, "pack-off", &p, UG_HASH_SHA1), UG_ECORRUPT,
			       "offset past the pack refused");
			memcpy(o, save, 4);
			break;
		}
	}
	pg_free(&pk);
}

static void count_mismatch(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;

	build_sample(e, &pk);
	pk.pack.p[11]++;
	is_int(open_built(&pk, "pack-count", &p, UG_HASH_SHA1), UG_ECORRUPT,
	       "pack count differing from the index refused");
	pg_free(&pk);
}

static void idx_version3(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;

	build_sample(e, &pk);
	pk.idx.p[7] = 3;
	is_int(open_built(&pk, "pack-ver", &p, UG_HASH_SHA1), UG_ECORRUPT, "idx version 3 refused");
	pg_free(&pk);
}

static void unsorted_names(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;

	build_sample(e, &pk);
	memcpy(pk.idx.p + 8 + 1024, pk.idx.p + 8 + 1024 + 20, 20); /* two equal names */
	is_int(open_built(&pk, "pack-order", &p, UG_HASH_SHA1), UG_ECORRUPT, "unsorted names refused");
	pg_free(&pk);
}

static void truncated_idx(void)
{
	struct pg_entry e[8];
	struct pg_pack pk;
	ug_pack *p;

	build_sample(e, &pk);
	pk.idx.n = 500;
	is_int(open_built(&pk, "pack-shortidx", &p, UG_HASH_SHA1), UG_ECORRUPT, "truncated idx refused");
	pg_free(&pk);
}

static void missing_idx(void)
{
	ug_pack *p;

	is_int(ug_pack_open(&p, "/nonexistent/pack-x.idx", UG_HASH_SHA1), UG_ENOTFOUND,
	       "missing idx is not found");
}

static const struct tap_case cases[] = {
	TAP_CASE("pack: idx v2 with a 64-bit offset, every object and header reads back", idx_v2),
	TAP_CASE("pack: 7-digit, odd 5-digit and empty prefixes", prefixes),
	TAP_CASE("pack: an absent object is not found", absent_not_found),
	TAP_CASE("pack: idx v1, every object and header reads back", idx_v1),
	TAP_CASE("pack: SHA-256, every object and header reads back", sha256),
	TAP_CASE("pack: a SHA-256 pack read as SHA-1 is refused", sha256_as_sha1),
	TAP_CASE("pack: git index-pack writes our .idx byte for byte (SHA-1)", oracle_sha1),
	TAP_CASE("pack: git index-pack writes our .idx byte for byte (SHA-256)", oracle_sha256),
	TAP_CASE("pack: a REF_DELTA loop is corrupt, named in the message", ref_delta_loop),
	TAP_CASE("pack: one damaged entry is corrupt, the others still read", damaged_entry),
	TAP_CASE("pack: a good object among hostile ones reads", hostile_good),
	TAP_CASE("pack: a 2 TiB size claim is corrupt, header and read", hostile_claim),
	TAP_CASE("pack: a size one more than the stream is corrupt", hostile_one_more),
	TAP_CASE("pack: a delta copying out of its base is corrupt", hostile_copy_out),
	TAP_CASE("pack: type 5 is corrupt", hostile_type5),
	TAP_CASE("pack: a 5-byte delta claiming 3 GiB is corrupt, header and read", hostile_3gib),
	TAP_CASE("pack: a REF_DELTA with a missing base is corrupt", hostile_missing_base),
	TAP_CASE("pack: truncated and 8-byte packs are refused, naming the file", truncated_pack),
	TAP_CASE("idx: a decreasing fanout, a fanout total not the file's are refused", bad_fanout),
	TAP_CASE("idx: a 64-bit table index out of range, an offset past the pack are refused", bad_offsets),
	TAP_CASE("idx: a pack count differing from the index is refused", count_mismatch),
	TAP_CASE("idx: version 3 is refused", idx_version3),
	TAP_CASE("idx: unsorted names are refused", unsorted_names),
	TAP_CASE("idx: a truncated idx is refused", truncated_idx),
	TAP_CASE("idx: a missing idx is not found", missing_idx),
};

int main(void)
{
	char cmd[512];
	int status;

	strcpy(dir, "/tmp/ugtest-pack-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	status = TAP_RUN(cases);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		tap_diag("cannot remove %s", dir);
	return status;
}
