/* git's delta format: varint sizes, then copy (from the base) and insert (literal) opcodes. */
#include "delta.h"

#include "error.h"
#include "zinflate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Copy ops say size 0 to mean 64 KiB, as git does. */
#define COPY_ZERO_SIZE 0x10000

static int varint(const unsigned char **pp, const unsigned char *end, size_t *out)
{
	const unsigned char *p = *pp;
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned char c;

	do {
		if (p >= end)
			return ug_error(UG_ECORRUPT, "delta size header is truncated");
		c = *p++;
		if (shift >= 64 || (shift > 57 && ((uint64_t)(c & 0x7f) >> (64 - shift))))
			return ug_error(UG_ECORRUPT, "delta size header is over 64 bits");
		v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	if (v > SIZE_MAX)
		return ug_error(UG_ECORRUPT, "delta size %llu does not fit in memory",
				(unsigned long long)v);
	*out = (size_t)v;
	*pp = p;
	return 0;
}

int ug_delta_header(const unsigned char *delta, size_t len, size_t *base_size,
		    size_t *result_size, size_t *hdrlen)
{
	const unsigned char *p = delta, *end = delta + len;
	int err;

	if ((err = varint(&p, end, base_size)) || (err = varint(&p, end, result_size)))
		return err;
	if (*result_size > ug_zinflate_max_size())
		return ug_error(UG_ECORRUPT, "delta result size %zu is over the limit of %zu bytes",
				*result_size, ug_zinflate_max_size());
	*hdrlen = (size_t)(p - delta);
	return 0;
}

/* A copy op's arguments at p, after its opcode: bits 0-3 select offset
 * bytes, bits 4-6 size bytes, little-endian; size 0 means 64 KiB. Returns
 * where the next op starts, NULL when the delta ends first. */
static inline const unsigned char *copy_args(unsigned char op, const unsigned char *p,
					     const unsigned char *end, size_t *off, size_t *n)
{
	size_t o = 0, s = 0;

	for (unsigned i = 0; i < 7; i++) {
		if (!(op & (1u << i)))
			continue;
		if (p >= end)
			return NULL;
		if (i < 4)
			o |= (size_t)*p++ << (8 * i);
		else
			s |= (size_t)*p++ << (8 * (i - 4));
	}
	*off = o;
	*n = s ? s : COPY_ZERO_SIZE;
	return p;
}

/* Run the ops in p..end into res, which must come out exactly size bytes. */
static int apply_ops(unsigned char *res, size_t size, const unsigned char *base, size_t base_len,
		     const unsigned char *p, const unsigned char *end)
{
	size_t done = 0;

	while (p < end) {
		unsigned char op = *p++;
		size_t off, n;

		if (op & 0x80) {
			if (!(p = copy_args(op, p, end, &off, &n)))
				return ug_error(UG_ECORRUPT, "delta is truncated in an opcode");
			if (off > base_len || n > base_len - off)
				return ug_error(UG_ECORRUPT,
						"delta copies %zu bytes at offset %zu out of a base of %zu",
						n, off, base_len);
			if (n > size - done)
				return ug_error(UG_ECORRUPT, "delta copy overruns the result size %zu",
						size);
			memcpy(res + done, base + off, n);
			done += n;
		} else if (op) {
			if ((size_t)(end - p) < op)
				return ug_error(UG_ECORRUPT, "delta is truncated in an opcode");
			if (op > size - done)
				return ug_error(UG_ECORRUPT, "delta insert overruns the result size %zu",
						size);
			memcpy(res + done, p, op);
			p += op;
			done += op;
		} else {
			return ug_error(UG_ECORRUPT, "delta has the reserved opcode 0");
		}
	}
	if (done != size)
		return ug_error(UG_ECORRUPT, "delta produced %zu bytes instead of %zu", done, size);
	return 0;
}

int ug_delta_apply(unsigned char **out, size_t *outlen, const unsigned char *base, size_t base_len,
		   const unsigned char *delta, size_t delta_len)
{
	size_t want_base, size, hdrlen;
	unsigned char *res;
	int err;

	*out = NULL;
	*outlen = 0;
	if ((err = ug_delta_header(delta, delta_len, &want_base, &size, &hdrlen)))
		return err;
	if (want_base != base_len)
		return ug_error(UG_ECORRUPT, "delta wants a base of %zu bytes, the base has %zu",
				want_base, base_len);
	/* Each op of at most 8 bytes yields at most 16 MiB: refuse claims no op stream can meet
	 * before allocating for them. */
	if ((delta_len - hdrlen) < SIZE_MAX / 0x1000000 && size > (delta_len - hdrlen) * 0x1000000)
		return ug_error(UG_ECORRUPT, "delta of %zu bytes cannot produce %zu bytes",
				delta_len, size);
	res = malloc(size + 1);
	if (!res)
		return ug_error(UG_ENOMEM, "cannot allocate %zu bytes for a delta result", size);
	if ((err = apply_ops(res, size, base, base_len, delta + hdrlen, delta + delta_len))) {
		free(res);
		return err;
	}
	res[size] = '\0';
	*out = res;
	*outlen = size;
	return 0;
}
