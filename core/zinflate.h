/* zlib streams of objects: whole-object inflate (libdeflate), inflating just a prefix, and deflate for writing. */
#ifndef UG_ZINFLATE_H
#define UG_ZINFLATE_H

#include <stddef.h>
#include <stdint.h>

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
 * A zlib stream read at any offset with bounded memory, for objects too big
 * to hold whole. The compressed bytes come from a source: copy up to len
 * bytes from offset off of the stream into buf, *got 0 at its end.
 */
typedef int (*ug_zsource)(void *ctx, uint64_t off, unsigned char *buf, size_t len, size_t *got);
typedef struct ug_zstream ug_zstream;

/*
 * A stream inflating to skip bytes (a header, not shown) then size bytes of
 * content. The stream owns ctx from now on (also on failure): ug_zstream_free
 * calls release(ctx) (release may be NULL). A stream is used by one thread
 * at a time. Sequential reads inflate once (O(n) in all); reading behind the
 * last few MiB restarts from the nearest of a few checkpoints.
 */
int ug_zstream_new(ug_zstream **out, ug_zsource src, void *ctx, void (*release)(void *ctx),
		   uint64_t skip, uint64_t size);
/* Up to len bytes of content at off into buf; *got is less only at the end.
 * UG_ECORRUPT when the stream is bad or not exactly skip + size bytes long. */
int ug_zstream_read(ug_zstream *s, uint64_t off, void *buf, size_t len, size_t *got);
uint64_t ug_zstream_size(const ug_zstream *s);
/* Bytes the stream holds (buffers, checkpoints): for callers' budgets. */
size_t ug_zstream_memory(const ug_zstream *s);
void ug_zstream_free(ug_zstream *s);

/*
 * Deflate hdr followed by data as one zlib stream at the given zlib level.
 * *out is malloc'ed (the caller frees it), *outlen its length.
 */
int ug_zdeflate(unsigned char **out, size_t *outlen, const void *hdr, size_t hdrlen,
		const void *data, size_t len, int level);

#endif
