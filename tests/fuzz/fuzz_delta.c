/* Fuzz target: git's delta format (size header and applier) over a base and a delta from the input. */
#include "fuzz_util.h"

#include "delta.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/*
 * Input: two bytes (big-endian) giving the base's length (cut to what is
 * there), the base, then the delta. Checked beyond "no crash": a delta the
 * applier accepts gives exactly the result size its header declares.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t base_len, hdr_base, hdr_result, hdrlen, outlen;
	unsigned char *out;
	int hdr_err, err;

	fuzz_init();
	if (size < 2)
		return 0;
	base_len = (size_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	if (base_len > size)
		base_len = size;
	hdr_err = ug_delta_header(data + base_len, size - base_len, &hdr_base, &hdr_result, &hdrlen);
	FUZZ_CHECK(hdr_err || hdrlen <= size - base_len);
	err = ug_delta_apply(&out, &outlen, data, base_len, data + base_len, size - base_len);
	if (!err) {
		FUZZ_CHECK(!hdr_err && hdr_base == base_len && hdr_result == outlen);
		FUZZ_CHECK(out[outlen] == '\0');
		free(out);
	} else {
		FUZZ_CHECK(err == UG_ECORRUPT || err == UG_ENOMEM);
	}
	return 0;
}
