/* Unit tests of zinflate: good, corrupt and truncated zlib streams, size limits, deflate round trips. */
#include "error.h"
#include "tap.h"
#include "zinflate.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* zlib.compress(b"hello\n") */
static const unsigned char hello_z[] = {
	0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00, 0x08, 0x4b, 0x02, 0x1f,
};

static void *thread_inflate(void *arg)
{
	int *fails = arg;

	for (int i = 0; i < 2000; i++) {
		unsigned char out[6];

		if (ug_zinflate(hello_z, sizeof(hello_z), out, 6, NULL) || memcmp(out, "hello\n", 6))
			(*fails)++;
	}
	return NULL;
}

struct membuf {
	const unsigned char *p;
	size_t len;
	int reads;
};

static int mem_source(void *ctx, uint64_t off, unsigned char *buf, size_t len, size_t *got)
{
	struct membuf *m = ctx;

	m->reads++;
	*got = off >= m->len ? 0 : len < m->len - off ? len : (size_t)(m->len - off);
	memcpy(buf, m->p + off, *got);
	return 0;
}

/* A stream of STREAM_N bytes of data with a 5-byte header, deflated into *z. */
#define STREAM_N ((size_t)24 << 20)

static unsigned char *stream_data(unsigned char **z, size_t *zlen)
{
	unsigned char *data = malloc(STREAM_N);
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < STREAM_N; i++) {
		if (i % 64 == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		data[i] = (unsigned char)(x >> (i % 8 * 8)) & 0x1f; /* compressible, not periodic */
	}
	if (!is_int(ug_zdeflate(z, zlen, "HEAD!", 5, data, STREAM_N, 1), 0, "24 MiB deflated")) {
		free(data);
		return NULL;
	}
	return data;
}

/* The stream read back in order, out of order, far behind (a checkpoint), past the end. */
static void stream_reads(void)
{
	static const uint64_t offs[] = { 100, 7 << 20, (7 << 20) - 5000, 3, (23 << 20) + 77, 12 << 20,
					 (12 << 20) - 1, 5 << 20, (24 << 20) - 10 };
	size_t n = STREAM_N, zlen, got;
	unsigned char *z, *buf, *data = stream_data(&z, &zlen);
	struct membuf m;
	ug_zstream *s;
	int bad = 0;

	if (!data)
		return; /* stream_data failed the case */
	buf = malloc(1 << 20);
	m = (struct membuf){ z, zlen, 0 };
	if (!is_int(ug_zstream_new(&s, mem_source, &m, NULL, 5, n), 0, "a stream over it"))
		goto out;
	for (size_t off = 0; off < n; off += 131072)
		if (ug_zstream_read(s, off, buf, 131072, &got) || got != 131072 || memcmp(buf, data + off, got))
			bad++;
	is_int(bad, 0, "read in order, 128 KiB at a time");
	ok(m.reads * 65536 <= (int)zlen + 65536 * 2, "the input was read once (%d reads of %zu bytes)", m.reads, zlen);
	bad = 0;
	for (size_t i = 0; i < sizeof(offs) / sizeof(*offs); i++) {
		size_t want = offs[i] + 70000 > n ? n - offs[i] : 70000;

		if (ug_zstream_read(s, offs[i], buf, 70000, &got) || got != want || memcmp(buf, data + offs[i], got))
			bad++;
	}
	is_int(bad, 0, "read at offsets behind and ahead, across checkpoints and the end");
	ok(ug_zstream_read(s, n, buf, 10, &got) == 0 && got == 0, "past the end: nothing");
	ok(ug_zstream_memory(s) < (size_t)4 << 20, "memory stays small (%zu bytes)", ug_zstream_memory(s));
	ug_zstream_free(s);
out:
	free(z);
	free(data);
	free(buf);
}

/* The stream shorter or longer than claimed, cut, or with a wrong checksum. */
static void stream_lies(void)
{
	size_t n = STREAM_N, zlen, got;
	unsigned char *z, *buf, *data = stream_data(&z, &zlen);
	struct membuf m;
	ug_zstream *s;

	if (!data)
		return; /* stream_data failed the case */
	buf = malloc(1 << 20);
	m = (struct membuf){ z, zlen, 0 };
	ug_zstream_new(&s, mem_source, &m, NULL, 5, n + 1);
	ok(ug_zstream_read(s, n - 100, buf, 200, &got) == UG_ECORRUPT, "a stream shorter than its size is corrupt");
	ug_zstream_free(s);
	ug_zstream_new(&s, mem_source, &m, NULL, 5, n - 1);
	ok(ug_zstream_read(s, n - 100, buf, 200, &got) == UG_ECORRUPT, "a stream longer than its size is corrupt");
	ug_zstream_free(s);
	m = (struct membuf){ z, zlen / 2, 0 };
	ug_zstream_new(&s, mem_source, &m, NULL, 5, n);
	ok(ug_zstream_read(s, n - 100, buf, 200, &got) == UG_ECORRUPT, "a cut stream is corrupt");
	ug_zstream_free(s);
	z[zlen - 1] ^= 1;
	m = (struct membuf){ z, zlen, 0 };
	ug_zstream_new(&s, mem_source, &m, NULL, 5, n);
	ok(ug_zstream_read(s, n - 100, buf, 200, &got) == UG_ECORRUPT, "a wrong checksum is corrupt");
	ug_zstream_free(s);
	free(z);
	free(data);
	free(buf);
}

/* good stream, with trailing bytes after it */
static void good_stream(void)
{
	unsigned char out[64], padded[sizeof(hello_z) + 5];
	size_t used = 0;

	memcpy(padded, hello_z, sizeof(hello_z));
	memset(padded + sizeof(hello_z), 0xee, 5);
	require_int(ug_zinflate(padded, sizeof(padded), out, 6, &used), 0, "good stream inflates");
	ok(!memcmp(out, "hello\n", 6), "good stream content");
	is_int((long long)used, sizeof(hello_z), "consumed is the stream's own length");
}

static void wrong_expected_size(void)
{
	unsigned char out[64];

	is_int(ug_zinflate(hello_z, sizeof(hello_z), out, 5, NULL), UG_ECORRUPT,
	       "stream longer than expected is corrupt");
	is_int(ug_zinflate(hello_z, sizeof(hello_z), out, 7, NULL), UG_ECORRUPT,
	       "stream shorter than expected is corrupt");
	ok(strstr(ug_error_last(), "less than") != NULL, "message says why: %s", ug_error_last());
}

static void flipped_data(void)
{
	unsigned char out[64], bad[sizeof(hello_z)];

	memcpy(bad, hello_z, sizeof(bad));
	bad[3] ^= 0x40;
	is_int(ug_zinflate(bad, sizeof(bad), out, 6, NULL), UG_ECORRUPT, "flipped data is corrupt");
}

static void bad_checksum(void)
{
	unsigned char out[64], bad[sizeof(hello_z)];

	memcpy(bad, hello_z, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 1;
	is_int(ug_zinflate(bad, sizeof(bad), out, 6, NULL), UG_ECORRUPT, "bad checksum is corrupt");
}

static void bad_header(void)
{
	unsigned char out[64], bad[sizeof(hello_z)];

	memcpy(bad, hello_z, sizeof(bad));
	bad[0] = 0x79;
	is_int(ug_zinflate(bad, sizeof(bad), out, 6, NULL), UG_ECORRUPT, "bad zlib header is corrupt");
}

static void truncations(void)
{
	unsigned char out[64];
	int accepted = 0;

	for (size_t n = 0; n < sizeof(hello_z); n++)
		accepted += ug_zinflate(hello_z, n, out, 6, NULL) != UG_ECORRUPT;
	is_int(accepted, 0, "every truncation of the stream is corrupt");
}

/* head: just the first bytes */
static void head(void)
{
	unsigned char out[64], bad[sizeof(hello_z)];
	size_t got;

	if (is_int(ug_zinflate_head(hello_z, sizeof(hello_z), out, 3, &got), 0, "head inflates"))
		ok(got == 3 && !memcmp(out, "hel", 3), "head gives the first 3 bytes");
	is_int(ug_zinflate_head(hello_z, sizeof(hello_z), out, 64, &got), 0, "head of a short stream");
	is_int((long long)got, 6, "head stops at the stream's end");
	is_int(ug_zinflate_head(hello_z, 6, out, 64, &got), 0, "head of truncated input is no error");
	ok(got < 6, "and gives what the input had (%zu bytes)", got);
	memcpy(bad, hello_z, sizeof(bad));
	bad[0] = 0x79;
	is_int(ug_zinflate_head(bad, sizeof(bad), out, 3, &got), UG_ECORRUPT, "head of a bad stream");
}

/* sizes: terabytes from a few bytes are refused before any allocation */
static void size_limits(void)
{
	is_int(ug_zinflate_check_size((size_t)1 << 40, 14), UG_ECORRUPT, "1 TiB from 14 bytes refused");
	is_int(ug_zinflate_check_size(6, 14), 0, "6 bytes from 14 is fine");
	is_int(ug_zinflate_check_size(1000000, 1000), 0, "1000:1 is possible");
	is_int(ug_zinflate_check_size(10000000, 1000), UG_ECORRUPT, "10000:1 is not");
	is_int(ug_zinflate_check_size(SIZE_MAX, SIZE_MAX / 2), UG_ECORRUPT, "SIZE_MAX over the limit");
}

static void configured_max_size(void)
{
	size_t old = ug_zinflate_max_size();

	ug_zinflate_set_max_size(100);
	is_int(ug_zinflate_check_size(101, 1000), UG_ECORRUPT, "configured max size applies");
	ug_zinflate_set_max_size(old);
}

/* deflate round trip, header and data as one stream */
static void deflate_round_trip(void)
{
	static unsigned char big[300000];
	unsigned char *z, *back;
	size_t zlen, used = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 / 13);
	require_int(ug_zdeflate(&z, &zlen, "blob 300000", 12, big, sizeof(big), 1), 0, "deflate");
	back = malloc(12 + sizeof(big));
	if (is_int(ug_zinflate(z, zlen, back, 12 + sizeof(big), &used), 0, "deflated stream inflates")) {
		ok(!memcmp(back, "blob 300000", 12) && !memcmp(back + 12, big, sizeof(big)), "round trip");
		is_int((long long)used, (long long)zlen, "whole stream consumed");
	}
	free(back);
	free(z);
}

static void deflate_nothing(void)
{
	unsigned char out[64], *z;
	size_t zlen;

	require_int(ug_zdeflate(&z, &zlen, "", 0, "", 0, 6), 0, "deflate of nothing");
	is_int(ug_zinflate(z, zlen, out, 0, NULL), 0, "empty stream inflates to 0 bytes");
	free(z);
}

/* one decompressor per thread */
static void concurrent_inflates(void)
{
	pthread_t t[4];
	int fails[4] = {0};

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_inflate, &fails[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	is_int(fails[0] + fails[1] + fails[2] + fails[3], 0, "concurrent inflates all succeed");
}

static const struct tap_case cases[] = {
	TAP_CASE("inflate: a good stream with bytes after it", good_stream),
	TAP_CASE("inflate: a stream longer or shorter than expected is corrupt", wrong_expected_size),
	TAP_CASE("inflate: a flipped bit in the data is corrupt", flipped_data),
	TAP_CASE("inflate: a bad adler32 is corrupt", bad_checksum),
	TAP_CASE("inflate: a bad zlib header is corrupt", bad_header),
	TAP_CASE("inflate: every truncation is corrupt", truncations),
	TAP_CASE("inflate: head gives the first bytes, of short and cut streams too", head),
	TAP_CASE("inflate: terabytes from a few bytes are refused before allocation", size_limits),
	TAP_CASE("inflate: a configured max size applies", configured_max_size),
	TAP_CASE("deflate: header and data round-trip as one stream", deflate_round_trip),
	TAP_CASE("deflate: nothing inflates to 0 bytes", deflate_nothing),
	TAP_CASE("inflate: one decompressor per thread", concurrent_inflates),
	TAP_CASE("zstream: reads in order, behind and ahead, past the end, in little memory", stream_reads),
	TAP_CASE("zstream: a stream shorter, longer, cut or with a wrong checksum is corrupt", stream_lies),
};

int main(void)
{
	return TAP_RUN(cases);
}
