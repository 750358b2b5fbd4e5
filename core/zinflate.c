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
#include <string.h>
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

/* Streams: compressed input read in pieces, output kept in a ring so that
 * reads a little out of order (the kernel's parallel readahead) are served
 * without inflating again, and checkpoints (copies of the inflate state)
 * every ck_every bytes so that a read far behind restarts near its offset. */
#define ZS_IN ((size_t)64 << 10)
#define ZS_RING ((size_t)2 << 20)
#define ZS_STEP ((size_t)256 << 10)
#define ZS_CKPTS 16
#define ZS_MIN_EVERY ((uint64_t)4 << 20)

struct ckpt {
	uint64_t pos;
	z_stream zs;
};

struct ug_zstream {
	ug_zsource src;
	void *ctx;
	void (*release)(void *ctx);
	uint64_t skip, total; /* total = skip + content size */
	z_stream zs;
	bool ended;
	uint64_t pos, lo;     /* the ring holds output [lo, pos) */
	unsigned char *ring, *in;
	struct ckpt ck[ZS_CKPTS];
	size_t nck;
	uint64_t ck_every;
};

int ug_zstream_new(ug_zstream **out, ug_zsource src, void *ctx, void (*release)(void *ctx),
		   uint64_t skip, uint64_t size)
{
	ug_zstream *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s || !(s->ring = malloc(ZS_RING)) || !(s->in = malloc(ZS_IN)) ||
	    inflateInit(&s->zs) != Z_OK) {
		if (s) {
			free(s->ring);
			free(s->in);
		}
		free(s);
		if (release)
			release(ctx);
		return ug_error(UG_ENOMEM, "cannot allocate an inflate stream");
	}
	s->src = src;
	s->ctx = ctx;
	s->release = release;
	s->skip = skip;
	s->total = skip + size;
	s->ck_every = (s->total / (ZS_CKPTS + 1) + ZS_STEP - 1) / ZS_STEP * ZS_STEP;
	if (s->ck_every < ZS_MIN_EVERY)
		s->ck_every = ZS_MIN_EVERY;
	*out = s;
	return 0;
}

void ug_zstream_free(ug_zstream *s)
{
	if (!s)
		return;
	inflateEnd(&s->zs);
	for (size_t i = 0; i < s->nck; i++)
		inflateEnd(&s->ck[i].zs);
	if (s->release)
		s->release(s->ctx);
	free(s->ring);
	free(s->in);
	free(s);
}

uint64_t ug_zstream_size(const ug_zstream *s)
{
	return s->total - s->skip;
}

size_t ug_zstream_memory(const ug_zstream *s)
{
	/* zlib's state and window: about 40 KiB per inflate state */
	return sizeof(*s) + ZS_RING + ZS_IN + (s->nck + 1) * (40 << 10);
}

/* Go back to the nearest checkpoint at or before target (or the start). */
static int rewind_to(ug_zstream *s, uint64_t target)
{
	size_t best = s->nck;

	for (size_t i = 0; i < s->nck; i++)
		if (s->ck[i].pos <= target && (best == s->nck || s->ck[i].pos > s->ck[best].pos))
			best = i;
	inflateEnd(&s->zs);
	memset(&s->zs, 0, sizeof(s->zs));
	if (best == s->nck ? inflateInit(&s->zs) != Z_OK : inflateCopy(&s->zs, &s->ck[best].zs) != Z_OK)
		return ug_error(UG_ENOMEM, "cannot restart an inflate stream");
	s->zs.next_in = s->in;
	s->zs.avail_in = 0; /* refilled from total_in, where this state stopped reading */
	s->pos = s->lo = best == s->nck ? 0 : s->ck[best].pos;
	s->ended = false;
	return 0;
}

static void checkpoint(ug_zstream *s)
{
	struct ckpt *c;

	if (s->pos == 0 || s->pos % s->ck_every || s->nck == ZS_CKPTS)
		return;
	for (size_t i = 0; i < s->nck; i++)
		if (s->ck[i].pos == s->pos)
			return;
	c = &s->ck[s->nck];
	memset(&c->zs, 0, sizeof(c->zs));
	if (inflateCopy(&c->zs, &s->zs) == Z_OK) {
		c->pos = s->pos;
		s->nck++;
	}
}

/* After the last byte: the stream must end there (its checksum checked). */
static int check_end(ug_zstream *s)
{
	unsigned char extra;
	size_t got;
	int zr = Z_OK;

	while (!s->ended) {
		if (s->zs.avail_in == 0) {
			int err = s->src(s->ctx, s->zs.total_in, s->in, ZS_IN, &got);

			if (err)
				return err;
			if (got == 0)
				return ug_error(UG_ECORRUPT, "zlib stream is truncated");
			s->zs.next_in = s->in;
			s->zs.avail_in = (uInt)got;
		}
		s->zs.next_out = &extra;
		s->zs.avail_out = 1;
		zr = inflate(&s->zs, Z_NO_FLUSH);
		if (s->zs.avail_out == 0)
			return ug_error(UG_ECORRUPT, "zlib stream inflates to more than %llu bytes",
					(unsigned long long)s->total);
		if (zr == Z_STREAM_END)
			s->ended = true;
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return ug_error(UG_ECORRUPT, "corrupt zlib stream%s%s", s->zs.msg ? ": " : "",
					s->zs.msg ? s->zs.msg : "");
	}
	return 0;
}

/* Inflate on until pos >= target, at most ZS_STEP past it. */
static int advance(ug_zstream *s, uint64_t target)
{
	while (s->pos < target) {
		size_t room = ZS_RING - (size_t)(s->pos % ZS_RING), got;
		uint64_t next_ck = (s->pos / s->ck_every + 1) * s->ck_every;
		int zr, err;

		if (s->ended)
			return ug_error(UG_ECORRUPT, "zlib stream inflates to less than %llu bytes",
					(unsigned long long)s->total);
		if (s->zs.avail_in == 0) {
			if ((err = s->src(s->ctx, s->zs.total_in, s->in, ZS_IN, &got)))
				return err;
			if (got == 0)
				return ug_error(UG_ECORRUPT, "zlib stream is truncated");
			s->zs.next_in = s->in;
			s->zs.avail_in = (uInt)got;
		}
		room = room < ZS_STEP ? room : ZS_STEP;
		if (room > next_ck - s->pos)
			room = (size_t)(next_ck - s->pos);
		if (room > s->total - s->pos)
			room = (size_t)(s->total - s->pos);
		s->zs.next_out = s->ring + s->pos % ZS_RING;
		s->zs.avail_out = (uInt)room;
		zr = inflate(&s->zs, Z_NO_FLUSH);
		s->pos += room - s->zs.avail_out;
		if (s->pos - s->lo > ZS_RING)
			s->lo = s->pos - ZS_RING;
		if (zr == Z_STREAM_END)
			s->ended = true;
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return ug_error(UG_ECORRUPT, "corrupt zlib stream%s%s", s->zs.msg ? ": " : "",
					s->zs.msg ? s->zs.msg : "");
		checkpoint(s);
		if (s->pos == s->total && (err = check_end(s)))
			return err;
	}
	return 0;
}

int ug_zstream_read(ug_zstream *s, uint64_t off, void *buf, size_t len, size_t *got)
{
	uint64_t a, b;
	size_t done = 0;
	int err;

	*got = 0;
	if (off >= s->total - s->skip)
		return 0;
	if (len > s->total - s->skip - off)
		len = (size_t)(s->total - s->skip - off);
	a = s->skip + off;
	b = a + len;
	if (a < s->lo && (err = rewind_to(s, a)))
		return err;
	while (a + done < b) {
		uint64_t at = a + done, upto;
		size_t n, i;

		if (at >= s->pos) {
			upto = b - at < ZS_RING / 2 ? b : at + ZS_RING / 2;
			if ((err = advance(s, upto)))
				return err;
		}
		upto = b < s->pos ? b : s->pos;
		i = (size_t)(at % ZS_RING);
		n = (size_t)(upto - at);
		if (n > ZS_RING - i)
			n = ZS_RING - i;
		memcpy((unsigned char *)buf + done, s->ring + i, n);
		done += n;
	}
	*got = done;
	return 0;
}
