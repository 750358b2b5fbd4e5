/* git's delta format: the size header and the copy/insert applier, checked on every byte. */
#ifndef UG_DELTA_H
#define UG_DELTA_H

#include <stddef.h>

/*
 * Parse the two sizes that start a delta (base size, result size; 7-bit
 * little-endian varints). *hdrlen gets the bytes they take. UG_ECORRUPT when
 * truncated, over 64 bits, or the result is over ug_zinflate_max_size().
 */
int ug_delta_header(const unsigned char *delta, size_t len, size_t *base_size,
		    size_t *result_size, size_t *hdrlen);

/*
 * Apply delta[0..delta_len) to base[0..base_len). *out is malloc'ed with the
 * result size plus one NUL byte (the caller frees it), *outlen the result
 * size. UG_ECORRUPT (nothing allocated) when the base size differs from the
 * header's, an opcode is 0, a copy leaves the base, an op overruns the
 * result, the delta is truncated, or the result is not exactly the declared
 * size.
 */
int ug_delta_apply(unsigned char **out, size_t *outlen, const unsigned char *base, size_t base_len,
		   const unsigned char *delta, size_t delta_len);

#endif
