/* Unit tests of a pack read standing alone: REF_DELTA bases from a resolver the test passes, and the base cache. */
#include "cache.h"
#include "error.h"
#include "pack.h"
#include "packgen.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define ALGO UG_HASH_SHA1

static char dir[64];
static ug_pack *the_pack;          /* the pack of entries, opened once */
static struct pg_entry entries[3];

static const char BASE[] = "a whole blob at the start of the pack, the base of an OFS_DELTA\n";
static const char OUTSIDE[] = "a blob stored elsewhere, the base of a REF_DELTA\n";
static char R1[128];                     /* "1" + BASE */
static const char R2[] = "a blob storXYZ"; /* OUTSIDE[0..11) + "XYZ" */
static unsigned char D1[32], D2[32];
static ug_oid outside_oid;

/* e0 a blob, e1 an OFS_DELTA on e0, e2 a REF_DELTA on OUTSIDE (not in the pack). */
static void sample(struct pg_entry *e)
{
	static const unsigned char ops2[] = { 0x90, 11, 3, 'X', 'Y', 'Z' };
	size_t blen = strlen(BASE);
	unsigned char ops1[8] = { 1, '1', 0x90, (unsigned char)blen };

	R1[0] = '1';
	memcpy(R1 + 1, BASE, blen);
	e[0] = pg_plain(UG_OBJ_BLOB, BASE, blen, ALGO);
	e[1] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = D1, .base = 0,
				  .len = pg_delta(D1, blen, blen + 1, ops1, 4) };
	ug_hash_object(&e[1].oid, ALGO, UG_OBJ_BLOB, R1, blen + 1);
	ug_hash_object(&outside_oid, ALGO, UG_OBJ_BLOB, OUTSIDE, strlen(OUTSIDE));
	e[2] = (struct pg_entry){ .type = UG_OBJ_REF_DELTA, .data = D2, .base_oid = outside_oid,
				  .len = pg_delta(D2, strlen(OUTSIDE), strlen(R2), ops2, sizeof(ops2)) };
	ug_hash_object(&e[2].oid, ALGO, UG_OBJ_BLOB, R2, strlen(R2));
}

/* Build entries e[0..n) into dir/NAME.pack and open it; NULL on failure (reported). */
static ug_pack *open_pack(struct pg_entry *e, int n, const char *name)
{
	struct pg_pack pk;
	char idx[256];
	ug_pack *p = NULL;

	pg_build(e, n, ALGO, 2, &pk);
	if (pg_write(&pk, dir, name, idx, sizeof(idx)) || ug_pack_open(&p, idx, ALGO))
		tap_diag("cannot open %s: %s", name, ug_error_last());
	pg_free(&pk);
	return p;
}

/* A test's object store outside the pack: at most one object, or a failure to report. */
struct store {
	const ug_oid *oid; /* NULL: holds nothing */
	const char *data;
	int fail;          /* not 0: every read fails with this code */
	int reads, headers;
	ug_oid asked;
};

static int store_read(void *ctx, const ug_oid *oid, ug_otype *type, unsigned char **data,
		      size_t *size)
{
	struct store *s = ctx;

	s->asked = *oid;
	if (data)
		s->reads++;
	else
		s->headers++;
	if (s->fail)
		return ug_error(s->fail, "the disk is on fire");
	if (!s->oid || !ug_oid_equal(oid, s->oid))
		return UG_ENOTFOUND;
	*type = UG_OBJ_BLOB;
	*size = strlen(s->data);
	if (data && !(*data = (unsigned char *)strdup(s->data)))
		return ug_error(UG_ENOMEM, "out of memory");
	return 0;
}

static void test_ref_delta_base_from_the_resolver(void)
{
	ug_pack *p = the_pack;
	struct pg_entry *e = entries;
	struct store s = { .oid = &outside_oid, .data = OUTSIDE };
	ug_pack_resolver res = { .read = store_read, .ctx = &s };
	unsigned char *data = NULL;
	ug_otype type = UG_OBJ_BAD;
	size_t size = 0;

	require(p, "the pack opens");
	is_int(ug_pack_read(p, &res, e[2].offset, &e[2].oid, &type, &data, &size), 0,
	       "a REF_DELTA reads with its base from the resolver");
	ok(type == UG_OBJ_BLOB && size == strlen(R2) && data && !memcmp(data, R2, size) &&
	   data[size] == '\0', "the result is the delta applied to the resolver's base");
	ok(s.reads == 1 && ug_oid_equal(&s.asked, &outside_oid),
	   "the resolver was asked once, for the base's id");
	free(data);
	type = UG_OBJ_BAD;
	size = 0;
	is_int(ug_pack_read_header(p, &res, e[2].offset, &e[2].oid, &type, &size), 0,
	       "its header reads through the resolver too");
	ok(type == UG_OBJ_BLOB && size == strlen(R2), "header: the base's type, the delta's size");
	is_int(s.headers, 1, "the header asked the resolver for a header only");
}

static void test_ref_delta_base_not_found(void)
{
	ug_pack *p = the_pack;
	struct pg_entry *e = entries;
	struct store s = { 0 };
	ug_pack_resolver res = { .read = store_read, .ctx = &s };
	char hex[UG_OID_MAXHEX + 1], want[128];
	unsigned char sentinel = 0, *data = &sentinel;
	ug_otype type;
	size_t size = 1;

	require(p, "the pack opens");
	snprintf(want, sizeof(want), "delta base %s is missing", ug_oid_tohex(hex, &outside_oid, ALGO));
	is_int(ug_pack_read(p, &res, e[2].offset, &e[2].oid, &type, &data, &size), UG_ECORRUPT,
	       "a base the resolver does not have makes the object corrupt");
	ok(data == NULL && size == 0, "nothing is returned");
	ok(strstr(ug_error_last(), want) && strstr(ug_error_last(), "test-alone.pack"),
	   "the message names the base and the pack: %s", ug_error_last());
	is_int(ug_pack_read_header(p, &res, e[2].offset, &e[2].oid, &type, &size), UG_ECORRUPT,
	       "its header is corrupt too");
	ok(strstr(ug_error_last(), want) != NULL, "message: %s", ug_error_last());
}

static void test_no_resolver_means_the_base_is_missing(void)
{
	ug_pack *p = the_pack;
	struct pg_entry *e = entries;
	ug_pack_resolver none = { 0 };
	unsigned char *data;
	ug_otype type;
	size_t size;

	require(p, "the pack opens");
	is_int(ug_pack_read(p, NULL, e[2].offset, &e[2].oid, &type, &data, &size), UG_ECORRUPT,
	       "without a resolver a REF_DELTA base outside the pack is missing");
	is_int(ug_pack_read(p, &none, e[2].offset, &e[2].oid, &type, &data, &size), UG_ECORRUPT,
	       "likewise with a resolver that has no read function");
	is_int(ug_pack_read(p, NULL, e[1].offset, &e[1].oid, &type, &data, &size), 0,
	       "an OFS_DELTA needs no resolver");
	ok(size == strlen(R1) && !memcmp(data, R1, size), "and reads back exactly");
	free(data);
}

static void test_resolver_error_is_passed_on(void)
{
	ug_pack *p = the_pack;
	struct pg_entry *e = entries;
	struct store s = { .oid = &outside_oid, .data = OUTSIDE, .fail = UG_ERROR };
	ug_pack_resolver res = { .read = store_read, .ctx = &s };
	unsigned char *data;
	ug_otype type;
	size_t size;

	require(p, "the pack opens");
	is_int(ug_pack_read(p, &res, e[2].offset, &e[2].oid, &type, &data, &size), UG_ERROR,
	       "the resolver's own error is the read's");
	ok(strstr(ug_error_last(), "delta base") && strstr(ug_error_last(), "the disk is on fire"),
	   "the message keeps the cause under the base's name: %s", ug_error_last());
}

static void test_base_cache_is_filled_and_used(void)
{
	ug_pack *p = the_pack;
	struct pg_entry *e = entries;
	struct store s = { .oid = &outside_oid, .data = OUTSIDE };
	ug_pack_resolver res = { .read = store_read, .ctx = &s, .bases_again = true };
	ug_cache_stats st;
	unsigned char *data;
	ug_otype type;
	size_t size;

	require(p, "the pack opens");
	if (!ok(ug_cache_new(&res.bases, 1 << 20, 1 << 19) == 0, "a delta-base cache"))
		return;
	is_int(ug_pack_read(p, &res, e[2].offset, &e[2].oid, &type, &data, &size), 0,
	       "a REF_DELTA with a cache");
	free(data);
	ug_cache_get_stats(res.bases, &st);
	is_int((long long)st.count, 0, "a base from elsewhere is not cached under this pack");
	for (int i = 0; i < 3; i++) {
		is_int(ug_pack_read(p, &res, e[1].offset, &e[1].oid, &type, &data, &size), 0,
		       "OFS_DELTA read %d with a cache", i + 1);
		ok(size == strlen(R1) && !memcmp(data, R1, size), "reads back exactly");
		free(data);
		ug_cache_get_stats(res.bases, &st);
		if (i == 0)
			is_int((long long)st.count, 0, "a base made once is not kept");
	}
	ok(st.count == 1 && st.hits == 1, "made again, it was kept, then found (count %zu, hits %llu)",
	   st.count, (unsigned long long)st.hits);
	is_int(ug_pack_read_header(p, &res, e[1].offset, &e[1].oid, &type, &size), 0,
	       "a header with a cache");
	ok(type == UG_OBJ_BLOB && size == strlen(R1), "header: type and size");
	ug_cache_free(res.bases);
	if (!ok(ug_cache_new(&res.bases, 1 << 20, 1 << 19) == 0, "another delta-base cache"))
		return;
	res.bases_again = false;
	is_int(ug_pack_read(p, &res, e[1].offset, &e[1].oid, &type, &data, &size), 0, "OFS_DELTA, bases kept at once");
	free(data);
	ug_cache_get_stats(res.bases, &st);
	is_int((long long)st.count, 1, "without bases_again a base made once is kept");
	ug_cache_free(res.bases);
}

/* A resolver that reads from a second pack, through itself again. */
struct chained {
	ug_pack *other;
	ug_pack_resolver self;
};

static int chained_read(void *ctx, const ug_oid *oid, ug_otype *type, unsigned char **data,
			size_t *size)
{
	struct chained *c = ctx;
	uint64_t off;
	int err = ug_pack_find(c->other, oid, &off);

	if (err)
		return err;
	if (!data)
		return ug_pack_read_header(c->other, &c->self, off, oid, type, size);
	return ug_pack_read(c->other, &c->self, off, oid, type, data, size);
}

/* A's REF_DELTA base is in pack B, a REF_DELTA on a base nobody has: the
 * message names A's object and pack once, then each missing link. */
static void test_nested_resolver_names_the_outermost_read(void)
{
	ug_pack *p = the_pack;
	struct pg_entry *e = entries;
	static const unsigned char ops[] = { 0x90, 5, 1, '!' };
	struct pg_entry b[1];
	struct chained c;
	char hex1[UG_OID_MAXHEX + 1], hex2[UG_OID_MAXHEX + 1], want[256];
	unsigned char *data, delta[16];
	ug_otype type;
	size_t size;
	ug_oid nowhere;

	require(p, "the pack opens");
	/* B holds OUTSIDE's id as a delta on an id nobody has */
	memset(&nowhere, 0x5a, sizeof(nowhere));
	memset(nowhere.id + ug_hash_rawsz(ALGO), 0, sizeof(nowhere.id) - ug_hash_rawsz(ALGO));
	b[0] = (struct pg_entry){ .type = UG_OBJ_REF_DELTA, .data = delta, .base_oid = nowhere,
				  .oid = outside_oid, .len = pg_delta(delta, 5, 6, ops, sizeof(ops)) };
	if (!(c.other = open_pack(b, 1, "test-alone-b")))
		return;
	c.self = (ug_pack_resolver){ .read = chained_read, .ctx = &c };
	snprintf(want, sizeof(want), "test-alone.pack: delta base %s: delta base %s is missing",
		 ug_oid_tohex(hex1, &outside_oid, ALGO), ug_oid_tohex(hex2, &nowhere, ALGO));
	is_int(ug_pack_read(p, &c.self, e[2].offset, &e[2].oid, &type, &data, &size), UG_ECORRUPT,
	       "a base missing two packs down makes the object corrupt");
	ok(strstr(ug_error_last(), want) && !strstr(ug_error_last(), "test-alone-b"),
	   "only the outermost read names its pack, each link its base: %s", ug_error_last());
	ug_pack_free(c.other);
}

static const struct tap_case cases[] = {
	TAP_CASE("pack alone: a REF_DELTA base comes from the resolver (whole and header)",
		 test_ref_delta_base_from_the_resolver),
	TAP_CASE("pack alone: a base the resolver lacks makes the object corrupt", test_ref_delta_base_not_found),
	TAP_CASE("pack alone: without a resolver the base is missing", test_no_resolver_means_the_base_is_missing),
	TAP_CASE("pack alone: the resolver's own error is passed on", test_resolver_error_is_passed_on),
	TAP_CASE("pack alone: the base cache keeps a base made twice (or once, as asked), then uses it", test_base_cache_is_filled_and_used),
	TAP_CASE("pack alone: a base two packs down: only the outermost read names its pack",
		 test_nested_resolver_names_the_outermost_read),
};

int main(void)
{
	char cmd[128];
	int status;

	strcpy(dir, "/tmp/ugtest-pack-alone-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	sample(entries);
	the_pack = open_pack(entries, 3, "test-alone");
	status = TAP_RUN(cases);
	ug_pack_free(the_pack);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("cannot remove %s", dir);
	return status;
}
