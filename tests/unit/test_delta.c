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

int main(void)
{
	unsigned char *out;
	size_t outlen, bs, rs, hl;

	/* base 20, result 9: copy 4 bytes at 10, insert "XYZ", copy 2 bytes at 0 */
	static const unsigned char good[] = {
		20, 9, 0x91, 10, 4, 3, 'X', 'Y', 'Z', 0x90, 2,
	};
	is_int(apply(good, sizeof(good), &out, &outlen), 0, "valid delta applies");
	ok(outlen == 9 && !memcmp(out, "abcdXYZ01", 9), "valid delta result");
	ok(out[9] == '\0', "result is NUL-terminated");
	free(out);

	/* copy with every offset and size byte present (offset 1, size 3) */
	static const unsigned char wide[] = { 20, 3, 0xff, 1, 0, 0, 0, 3, 0, 0 };
	is_int(apply(wide, sizeof(wide), &out, &outlen), 0, "copy with 7 argument bytes");
	ok(outlen == 3 && !memcmp(out, "123", 3), "wide copy result");
	free(out);

	/* size 0 means 0x10000: from a base of 0x10000 bytes */
	unsigned char *big = malloc(0x10000);
	for (size_t i = 0; i < 0x10000; i++)
		big[i] = (unsigned char)i;
	static const unsigned char zero_size[] = { 0x80, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80 };
	is_int(ug_delta_apply(&out, &outlen, big, 0x10000, zero_size, sizeof(zero_size)), 0,
	       "copy size 0 means 64 KiB");
	ok(outlen == 0x10000 && !memcmp(out, big, 0x10000), "64 KiB copied");
	free(out);
	free(big);

	/* multi-byte varints: result 200 = 0xc8 0x01 */
	static const unsigned char hdr[] = { 0x94, 0x01, 0xc8, 0x01 };
	is_int(ug_delta_header(hdr, sizeof(hdr), &bs, &rs, &hl), 0, "two-byte sizes parse");
	ok(bs == 148 && rs == 200 && hl == 4, "sizes 148 and 200, header 4 bytes");

	/* hostile deltas */
	static const unsigned char out_of_base[] = { 20, 4, 0x91, 18, 4 };
	is_int(apply(out_of_base, sizeof(out_of_base), &out, &outlen), UG_ECORRUPT,
	       "copy past the end of the base refused");
	ok(strstr(ug_error_last(), "out of a base") != NULL, "message: %s", ug_error_last());
	static const unsigned char far_offset[] = { 20, 1, 0x9f, 0xff, 0xff, 0xff, 0xff, 1 };
	is_int(apply(far_offset, sizeof(far_offset), &out, &outlen), UG_ECORRUPT,
	       "copy at offset 4G refused");
	static const unsigned char overflow_copy[] = { 20, 3, 0x91, 0, 4 };
	is_int(apply(overflow_copy, sizeof(overflow_copy), &out, &outlen), UG_ECORRUPT,
	       "copy overrunning the result refused");
	static const unsigned char overflow_insert[] = { 20, 2, 3, 'a', 'b', 'c' };
	is_int(apply(overflow_insert, sizeof(overflow_insert), &out, &outlen), UG_ECORRUPT,
	       "insert overrunning the result refused");
	static const unsigned char opcode0[] = { 20, 2, 0, 2, 'a', 'b' };
	is_int(apply(opcode0, sizeof(opcode0), &out, &outlen), UG_ECORRUPT, "opcode 0 refused");
	ok(strstr(ug_error_last(), "opcode 0") != NULL, "message: %s", ug_error_last());
	static const unsigned char trunc_varint[] = { 20, 0x85 };
	is_int(apply(trunc_varint, sizeof(trunc_varint), &out, &outlen), UG_ECORRUPT,
	       "truncated size varint refused");
	is_int(ug_delta_header(trunc_varint, sizeof(trunc_varint), &bs, &rs, &hl), UG_ECORRUPT,
	       "truncated varint in the header");
	static const unsigned char long_varint[] = {
		20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	is_int(ug_delta_header(long_varint, sizeof(long_varint), &bs, &rs, &hl), UG_ECORRUPT,
	       "varint over 64 bits refused");
	static const unsigned char huge[] = { 20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	is_int(apply(huge, sizeof(huge), &out, &outlen), UG_ECORRUPT, "result of 2^42 bytes refused");
	static const unsigned char short_result[] = { 20, 5, 0x91, 0, 4 };
	is_int(apply(short_result, sizeof(short_result), &out, &outlen), UG_ECORRUPT,
	       "result shorter than declared refused");
	ok(strstr(ug_error_last(), "instead of") != NULL, "message: %s", ug_error_last());
	static const unsigned char wrong_base[] = { 19, 1, 0x91, 0, 1 };
	is_int(apply(wrong_base, sizeof(wrong_base), &out, &outlen), UG_ECORRUPT,
	       "base size mismatch refused");
	static const unsigned char trunc_copy[] = { 20, 4, 0x91, 0 };
	is_int(apply(trunc_copy, sizeof(trunc_copy), &out, &outlen), UG_ECORRUPT,
	       "copy missing its size byte refused");
	static const unsigned char trunc_insert[] = { 20, 4, 4, 'a', 'b' };
	is_int(apply(trunc_insert, sizeof(trunc_insert), &out, &outlen), UG_ECORRUPT,
	       "insert past the end of the delta refused");
	ok(out == NULL, "nothing returned on failure");

	/* empty result */
	static const unsigned char empty[] = { 20, 0 };
	is_int(apply(empty, sizeof(empty), &out, &outlen), 0, "empty result");
	ok(outlen == 0 && out && out[0] == '\0', "empty result is an empty string");
	free(out);
	return done_testing();
}
