/* zlib streams of objects: whole-object inflate (libdeflate), inflating just a prefix, and deflate for writing. */
#ifndef UG_ZINFLATE_H
#define UG_ZINFLATE_H

#include <stddef.h>

/*
 * The largest object any reader will allocate (default 4 GiB). A size header
 * claiming more is UG_ECORRUPT. Set before threads start.
 */
void ug_zinflate_set_max_size(size_t bytes);
size_t ug_zinflate_max_size(void);

/*
 * Can inlen bytes of zlib stream inflate to size bytes? Deflate expands at
 * most about 1032:1, so a larger claim (or one over the max size) is hostile:
 * UG_ECORRUPT, checked before anything is allocated for it.
 */
int ug_zinflate_check_size(size_t size, size_t inlen);

/* The most compressed bytes any zlib writer spends on size bytes (stored
 * blocks, generously rounded): a longer stream of that size is hostile. */
size_t ug_zinflate_bound(size_t size);

/*
 * Inflate the zlib stream at in[0..inlen) into exactly outlen bytes at out.
 * The stream may be followed by other bytes; *consumed (may be NULL) gets the
 * length of the stream itself. UG_ECORRUPT when the stream is bad, truncated,
 * or inflates to any other length. Thread-safe (one decompressor per thread).
 */
int ug_zinflate(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen,
		size_t *consumed);

/*
 * Inflate at most outmax bytes from the start of the stream (headers). *outlen
 * gets how many were produced: fewer when the stream ends, or when the input
 * stops early (a partial read of a file). UG_ECORRUPT only for bad data.
 */
int ug_zinflate_head(const unsigned char *in, size_t inlen, unsigned char *out, size_t outmax,
		     size_t *outlen);

/*
 * Deflate hdr followed by data as one zlib stream at the given zlib level.
 * *out is malloc'ed (the caller frees it), *outlen its length.
 */
int ug_zdeflate(unsigned char **out, size_t *outlen, const void *hdr, size_t hdrlen,
		const void *data, size_t len, int level);

#endif
