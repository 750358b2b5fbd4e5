/* zlib streams of objects: libdeflate for whole objects, zlib for prefixes and for deflating. */
#include "zinflate.h"

#include "error.h"

#include <libdeflate.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

/* Worst-case deflate expansion is 258 bytes from 2 bits; round up generously. */
#define MAX_RATIO 1032
#define RATIO_SLACK 1024

static atomic_size_t max_size = SIZE_MAX > 0xffffffffu ? (size_t)4 << 30 : SIZE_MAX / 2;

/*
 * libdeflate decompressors and zlib streams are not thread-safe, and
 * allocating them per call costs more than a small inflate: keep one of each
 * per thread, freed at thread exit through a pthread key.
 */
struct zstate {
	struct libdeflate_decompressor *d;
	z_stream zs;
	bool zs_ready;
};

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static bool state_key_ok;
static _Thread_local struct zstate *tls_state;

static void state_destroy(void *p)
{
	struct zstate *s = p;

	if (!s)
		return;
	libdeflate_free_decompressor(s->d);
	if (s->zs_ready)
		inflateEnd(&s->zs);
	free(s);
}

static void state_key_init(void)
{
	state_key_ok = pthread_key_create(&state_key, state_destroy) == 0;
}

static struct zstate *state(void)
{
	struct zstate *s = tls_state;

	if (s)
		return s;
	pthread_once(&state_once, state_key_init);
	if (!state_key_ok)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = libdeflate_alloc_decompressor();
	if (!s->d || pthread_setspecific(state_key, s)) {
		libdeflate_free_decompressor(s->d);
		free(s);
		return NULL;
	}
	tls_state = s;
	return s;
}

void ug_zinflate_set_max_size(size_t bytes)
{
	atomic_store(&max_size, bytes);
}

size_t ug_zinflate_max_size(void)
{
	return atomic_load(&max_size);
}

int ug_zinflate_check_size(size_t size, size_t inlen)
{
	size_t max = atomic_load(&max_size);

	if (size > max)
		return ug_error(UG_ECORRUPT, "claimed size %zu is over the limit of %zu bytes", size, max);
	if (inlen < (SIZE_MAX - RATIO_SLACK) / MAX_RATIO && size > inlen * MAX_RATIO + RATIO_SLACK)
		return ug_error(UG_ECORRUPT, "claimed size %zu cannot come from %zu compressed bytes",
				size, inlen);
	return 0;
}

size_t ug_zinflate_bound(size_t size)
{
	/* 5 bytes per stored block of up to 65535, the zlib wrapper, and slack
	 * for writers that emit small blocks. */
	size_t slack = size / 64 + 4096;

	return size > SIZE_MAX - slack ? SIZE_MAX : size + slack;
}

int ug_zinflate(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen,
		size_t *consumed)
{
	struct zstate *s = state();
	size_t used = 0;
	enum libdeflate_result r;

	if (!s)
		return ug_error(UG_ENOMEM, "cannot allocate a decompressor");
	/* No actual_out pointer: libdeflate then insists on exactly outlen bytes. */
	r = libdeflate_zlib_decompress_ex(s->d, in, inlen, out, outlen, &used, NULL);
	switch (r) {
	case LIBDEFLATE_SUCCESS:
		if (consumed)
			*consumed = used;
		return 0;
	case LIBDEFLATE_SHORT_OUTPUT:
		return ug_error(UG_ECORRUPT, "zlib stream inflates to less than %zu bytes", outlen);
	case LIBDEFLATE_INSUFFICIENT_SPACE:
		return ug_error(UG_ECORRUPT, "zlib stream inflates to more than %zu bytes", outlen);
	default:
		return ug_error(UG_ECORRUPT, "corrupt or truncated zlib stream");
	}
}

int ug_zinflate_head(const unsigned char *in, size_t inlen, unsigned char *out, size_t outmax,
		     size_t *outlen)
{
	struct zstate *s = state();
	z_stream *zs;
	int zr;

	*outlen = 0;
	if (!s)
		return ug_error(UG_ENOMEM, "cannot allocate a decompressor");
	zs = &s->zs;
	if (!s->zs_ready) {
		if (inflateInit(zs) != Z_OK)
			return ug_error(UG_ENOMEM, "cannot start zlib");
		s->zs_ready = true;
	} else if (inflateReset(zs) != Z_OK) {
		return ug_error(UG_ERROR, "cannot reset zlib");
	}
	/* A header never needs more than a few KiB of input; uInt caps the rest. */
	zs->next_in = (unsigned char *)in;
	zs->avail_in = inlen > UINT_MAX ? UINT_MAX : (uInt)inlen;
	zs->next_out = out;
	zs->avail_out = outmax > UINT_MAX ? UINT_MAX : (uInt)outmax;
	do {
		zr = inflate(zs, Z_SYNC_FLUSH);
	} while (zr == Z_OK && zs->avail_out > 0 && zs->avail_in > 0);
	*outlen = (size_t)(zs->next_out - out);
	if (zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR)
		return 0;
	return ug_error(UG_ECORRUPT, "corrupt zlib stream%s%s", zs->msg ? ": " : "",
			zs->msg ? zs->msg : "");
}

int ug_zdeflate(unsigned char **out, size_t *outlen, const void *hdr, size_t hdrlen,
		const void *data, size_t len, int level)
{
	z_stream zs = {0};
	unsigned char *buf;
	uLong bound;
	int zr;

	*out = NULL;
	*outlen = 0;
	if (deflateInit(&zs, level) != Z_OK)
		return ug_error(UG_ENOMEM, "cannot start zlib deflate");
	if (len > ULONG_MAX - hdrlen - 64) {
		deflateEnd(&zs);
		return ug_error(UG_ENOMEM, "object of %zu bytes is too large to deflate", len);
	}
	bound = deflateBound(&zs, (uLong)(hdrlen + len));
	buf = malloc(bound);
	if (!buf) {
		deflateEnd(&zs);
		return ug_error(UG_ENOMEM, "cannot allocate %lu bytes to deflate", (unsigned long)bound);
	}
	zs.next_out = buf;
	zs.avail_out = bound > UINT_MAX ? UINT_MAX : (uInt)bound;
	zs.next_in = (unsigned char *)hdr;
	zs.avail_in = (uInt)hdrlen;
	zr = deflate(&zs, Z_NO_FLUSH);
	/* Feed the data in uInt-sized pieces; the output buffer holds the bound. */
	const unsigned char *p = data;
	size_t left = len;
	while (zr == Z_OK && left > 0) {
		uInt n = left > UINT_MAX ? UINT_MAX : (uInt)left;
		zs.next_in = (unsigned char *)p;
		zs.avail_in = n;
		while (zr == Z_OK && zs.avail_in > 0) {
			size_t done = (size_t)(zs.next_out - buf);
			zs.avail_out = bound - done > UINT_MAX ? UINT_MAX : (uInt)(bound - done);
			zr = deflate(&zs, Z_NO_FLUSH);
		}
		p += n;
		left -= n;
	}
	while (zr == Z_OK) {
		size_t done = (size_t)(zs.next_out - buf);
		zs.avail_out = bound - done > UINT_MAX ? UINT_MAX : (uInt)(bound - done);
		zr = deflate(&zs, Z_FINISH);
	}
	if (zr != Z_STREAM_END) {
		deflateEnd(&zs);
		free(buf);
		return ug_error(UG_ERROR, "zlib deflate failed (%d)", zr);
	}
	*outlen = (size_t)(zs.next_out - buf);
	*out = buf;
	deflateEnd(&zs);
	return 0;
}
