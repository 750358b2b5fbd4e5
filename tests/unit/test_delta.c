/* Unit tests of git's delta format against byte-exact vectors, valid and hostile. */
#include "delta.h"
#include "error.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char base[] = "0123456789abcdefghij"; /* 20 bytes used */

static int apply(const unsigned char *d, size_t n, unsigned char **out, size_t *outlen)
{
	return ug_delta_apply(out, outlen, base, 20, d, n);
}

/* base 20, result 9: copy 4 bytes at 10, insert "XYZ", copy 2 bytes at 0 */
static void valid_delta_applies(void)
{
	static const unsigned char good[] = {
		20, 9, 0x91, 10, 4, 3, 'X', 'Y', 'Z', 0x90, 2,
	};
	unsigned char *out;
	size_t outlen;

	require_int(apply(good, sizeof(good), &out, &outlen), 0, "valid delta applies");
	ok(outlen == 9 && !memcmp(out, "abcdXYZ01", 9), "valid delta result");
	ok(out[9] == '\0', "result is NUL-terminated");
	free(out);
}

/* copy with every offset and size byte present (offset 1, size 3) */
static void wide_copy(void)
{
	static const unsigned char wide[] = { 20, 3, 0xff, 1, 0, 0, 0, 3, 0, 0 };
	unsigned char *out;
	size_t outlen;

	require_int(apply(wide, sizeof(wide), &out, &outlen), 0, "copy with 7 argument bytes");
	ok(outlen == 3 && !memcmp(out, "123", 3), "wide copy result");
	free(out);
}

/* size 0 means 0x10000: from a base of 0x10000 bytes */
static void copy_size_zero(void)
{
	static const unsigned char zero_size[] = { 0x80, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80 };
	unsigned char *big = malloc(0x10000), *out;
	size_t outlen;

	for (size_t i = 0; i < 0x10000; i++)
		big[i] = (unsigned char)i;
	if (is_int(ug_delta_apply(&out, &outlen, big, 0x10000, zero_size, sizeof(zero_size)), 0,
		   "copy size 0 means 64 KiB")) {
		ok(outlen == 0x10000 && !memcmp(out, big, 0x10000), "64 KiB copied");
		free(out);
	}
	free(big);
}

/* multi-byte varints: result 200 = 0xc8 0x01 */
static void two_byte_sizes(void)
{
	static const unsigned char hdr[] = { 0x94, 0x01, 0xc8, 0x01 };
	size_t bs, rs, hl;

	require_int(ug_delta_header(hdr, sizeof(hdr), &bs, &rs, &hl), 0, "two-byte sizes parse");
	ok(bs == 148 && rs == 200 && hl == 4, "sizes 148 and 200, header 4 bytes");
}

/* A delta's bytes in a table row, and their count: an array of their own, so that a read past
 * them is still out of bounds to the sanitizers. */
#define BYTES(...) (const unsigned char[]){ __VA_ARGS__ }, sizeof((const unsigned char[]){ __VA_ARGS__ })

/* Deltas against base refused as corrupt: the case, its check, and a part of the message (or NULL). */
static const struct {
	const char *name, *check, *message;
	const unsigned char *delta;
	size_t len;
} refused[] = {
	{ "a copy past the end of the base is refused", "copy past the end of the base refused", "out of a base",
	  BYTES(20, 4, 0x91, 18, 4) },
	{ "a copy at offset 4G is refused", "copy at offset 4G refused", NULL,
	  BYTES(20, 1, 0x9f, 0xff, 0xff, 0xff, 0xff, 1) },
	{ "a copy overrunning the result is refused", "copy overrunning the result refused", NULL,
	  BYTES(20, 3, 0x91, 0, 4) },
	{ "an insert overrunning the result is refused", "insert overrunning the result refused", NULL,
	  BYTES(20, 2, 3, 'a', 'b', 'c') },
	{ "opcode 0 is refused", "opcode 0 refused", "opcode 0", BYTES(20, 2, 0, 2, 'a', 'b') },
	{ "a result of 2^42 bytes is refused", "result of 2^42 bytes refused", NULL,
	  BYTES(20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01) },
	{ "a result shorter than declared is refused", "result shorter than declared refused", "instead of",
	  BYTES(20, 5, 0x91, 0, 4) },
	{ "a base size mismatch is refused", "base size mismatch refused", NULL, BYTES(19, 1, 0x91, 0, 1) },
	{ "a copy missing its size byte is refused", "copy missing its size byte refused", NULL,
	  BYTES(20, 4, 0x91, 0) },
};
#define NREFUSED (sizeof(refused) / sizeof(refused[0]))

static const char *refused_name(size_t i)
{
	return refused[i].name;
}

static void refused_row(size_t i)
{
	unsigned char *out;
	size_t outlen;

	is_int(apply(refused[i].delta, refused[i].len, &out, &outlen), UG_ECORRUPT, "%s", refused[i].check);
	if (refused[i].message)
		ok(strstr(ug_error_last(), refused[i].message) != NULL, "message: %s", ug_error_last());
}

static void truncated_varint(void)
{
	static const unsigned char trunc_varint[] = { 20, 0x85 };
	unsigned char *out;
	size_t outlen, bs, rs, hl;

	is_int(apply(trunc_varint, sizeof(trunc_varint), &out, &outlen), UG_ECORRUPT,
	       "truncated size varint refused");
	is_int(ug_delta_header(trunc_varint, sizeof(trunc_varint), &bs, &rs, &hl), UG_ECORRUPT,
	       "truncated varint in the header");
}

static void long_varint(void)
{
	static const unsigned char long_varint[] = {
		20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	size_t bs, rs, hl;

	is_int(ug_delta_header(long_varint, sizeof(long_varint), &bs, &rs, &hl), UG_ECORRUPT,
	       "varint over 64 bits refused");
}

static void truncated_insert(void)
{
	static const unsigned char trunc_insert[] = { 20, 4, 4, 'a', 'b' };
	unsigned char *out = (unsigned char *)"";
	size_t outlen;

	is_int(apply(trunc_insert, sizeof(trunc_insert), &out, &outlen), UG_ECORRUPT,
	       "insert past the end of the delta refused");
	ok(out == NULL, "nothing returned on failure");
}

static void empty_result(void)
{
	static const unsigned char empty[] = { 20, 0 };
	unsigned char *out;
	size_t outlen;

	require_int(apply(empty, sizeof(empty), &out, &outlen), 0, "empty result");
	ok(outlen == 0 && out && out[0] == '\0', "empty result is an empty string");
	free(out);
}

static const struct tap_case cases[] = {
	TAP_CASE("delta: a valid delta applies, NUL-terminated", valid_delta_applies),
	TAP_CASE("delta: a copy with all 7 argument bytes", wide_copy),
	TAP_CASE("delta: copy size 0 means 64 KiB", copy_size_zero),
	TAP_CASE("delta: two-byte size varints in the header", two_byte_sizes),
	TAP_ROWS("delta", refused_row, NREFUSED, refused_name),
	TAP_CASE("delta: a truncated size varint is refused", truncated_varint),
	TAP_CASE("delta: a size varint over 64 bits is refused", long_varint),
	TAP_CASE("delta: an insert past the end of the delta is refused, nothing returned", truncated_insert),
	TAP_CASE("delta: an empty result is an empty string", empty_result),
};

int main(void)
{
	return TAP_RUN(cases);
}
