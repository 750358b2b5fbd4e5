/* Unit tests of object ids and hashing against known vectors. */
#include "error.h"
#include "oid.h"
#include "tap.h"

#include <string.h>

/* git hash-object of "hello\n" */
static void blob_sha1_is_gits(void)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_oid a;

	require(ug_hash_object(&a, UG_HASH_SHA1, UG_OBJ_BLOB, "hello\n", 6) == 0, "hash blob sha1");
	ok(!strcmp(ug_oid_tohex(hex, &a, UG_HASH_SHA1), "ce013625030ba8dba906f756967f9e9ca394464a"),
	   "blob sha1 id is git's");
}

static void blob_sha256_is_gits(void)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_oid b;

	require(ug_hash_object(&b, UG_HASH_SHA256, UG_OBJ_BLOB, "hello\n", 6) == 0,
		"hash blob sha256");
	ok(!strcmp(ug_oid_tohex(hex, &b, UG_HASH_SHA256),
		   "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4"),
	   "blob sha256 id is git's");
}

static void empty_tree_id(void)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_oid a;

	ok(ug_hash_object(&a, UG_HASH_SHA1, UG_OBJ_TREE, "", 0) == 0 &&
		   !strcmp(ug_oid_tohex(hex, &a, UG_HASH_SHA1), "4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
	   "empty tree id");
}

static void uppercase_hex_round_trips(void)
{
	ug_oid a, b;

	require(ug_oid_fromhex(&b, "CE013625030BA8DBA906F756967F9E9CA394464A", 40, UG_HASH_SHA1) == 0,
		"uppercase hex parses");
	ug_hash_object(&a, UG_HASH_SHA1, UG_OBJ_BLOB, "hello\n", 6);
	ok(ug_oid_equal(&a, &b), "hex round trip");
}

static void bad_hex_refused(void)
{
	ug_oid b;

	is_int(ug_oid_fromhex(&b, "ce01", 4, UG_HASH_SHA1), UG_EINVALID, "short hex refused");
	is_int(ug_oid_fromhex(&b, "zz013625030ba8dba906f756967f9e9ca394464a", 40, UG_HASH_SHA1),
	       UG_EINVALID, "non-hex refused");
}

static void odd_prefix_matches(void)
{
	ug_oid a, b;

	ug_hash_object(&a, UG_HASH_SHA1, UG_OBJ_BLOB, "hello\n", 6);
	require(ug_oid_prefix_fromhex(&b, "ce013", 5, UG_HASH_SHA1) == 0, "odd prefix parses");
	ok(ug_oid_prefix_match(&a, &b, 5), "odd prefix matches");
	ug_oid_prefix_fromhex(&b, "ce014", 5, UG_HASH_SHA1);
	ok(!ug_oid_prefix_match(&a, &b, 5), "odd prefix mismatch in the last nibble");
}

static void type_names(void)
{
	is_int(ug_otype_parse("tree", 4), UG_OBJ_TREE, "type name parses");
	is_int(ug_otype_parse("trees", 5), UG_OBJ_BAD, "bad type name refused");
}

static const struct tap_case cases[] = {
	TAP_CASE("oid: a blob's sha1 id is git's", blob_sha1_is_gits),
	TAP_CASE("oid: a blob's sha256 id is git's", blob_sha256_is_gits),
	TAP_CASE("oid: the empty tree's id is git's", empty_tree_id),
	TAP_CASE("oid: uppercase hex parses and round-trips", uppercase_hex_round_trips),
	TAP_CASE("oid: short and non-hex ids are refused", bad_hex_refused),
	TAP_CASE("oid: an odd-length prefix matches up to its last nibble", odd_prefix_matches),
	TAP_CASE("oid: type names parse, unknown ones are refused", type_names),
};

int main(void)
{
	return TAP_RUN(cases);
}
