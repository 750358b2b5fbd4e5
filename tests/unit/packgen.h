/* Test helper: writes small packs and their .idx (v1 or v2) byte by byte, with deltas, for the object-store tests. */
#ifndef UG_TEST_PACKGEN_H
#define UG_TEST_PACKGEN_H

#include "oid.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* One pack entry as the test wants it. */
struct pg_entry {
	ug_otype type;               /* pack type: 1-4, 6 (OFS_DELTA), 7 (REF_DELTA) */
	const void *data;            /* the payload: object bytes, or delta bytes */
	size_t len;
	uint64_t claim;              /* size to write in the header instead of len (0: len) */
	int base;                    /* OFS_DELTA: index of the base entry (earlier) */
	ug_oid base_oid;             /* REF_DELTA */
	ug_oid oid;                  /* the id the index files it under */
	bool large;                  /* idx v2: put the offset in the 64-bit table */
	uint64_t offset;             /* filled in by pg_build */
};

struct pg_buf {
	unsigned char *p;
	size_t n, cap;
};

static inline void pg_put(struct pg_buf *b, const void *data, size_t len)
{
	if (b->n + len > b->cap) {
		b->cap = (b->n + len) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
}

static inline void pg_be32(struct pg_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };
	pg_put(b, x, 4);
}

static inline void pg_be64(struct pg_buf *b, uint64_t v)
{
	pg_be32(b, (uint32_t)(v >> 32));
	pg_be32(b, (uint32_t)v);
}

/* A plain object entry, indexed under its git id. */
static inline struct pg_entry pg_plain(ug_otype type, const void *data, size_t len, ug_hash_algo algo)
{
	struct pg_entry e = { .type = type, .data = data, .len = len };

	ug_hash_object(&e.oid, algo, type, data, len);
	return e;
}

struct pg_pack {
	struct pg_buf pack, idx;
};

static const ug_oid *pg_sort_names;
static inline int pg_cmp(const void *a, const void *b)
{
	return ug_oid_cmp(&pg_sort_names[*(const int *)a], &pg_sort_names[*(const int *)b]);
}

/* Build the pack and its index (version 1 or 2) in memory. */
static inline void pg_build(struct pg_entry *e, int n, ug_hash_algo algo, int idx_version, struct pg_pack *out)
{
	size_t rawsz = ug_hash_rawsz(algo);
	ug_oid *names = calloc((size_t)n + 1, sizeof(*names));
	uint32_t *crcs = calloc((size_t)n + 1, sizeof(*crcs));
	int *order = calloc((size_t)n + 1, sizeof(*order));
	ug_oid sum;

	memset(out, 0, sizeof(*out));
	pg_put(&out->pack, "PACK", 4);
	pg_be32(&out->pack, 2);
	pg_be32(&out->pack, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		uint64_t size = e[i].claim ? e[i].claim : e[i].len;
		unsigned char hdr[32];
		size_t h = 0, start = out->pack.n;

		e[i].offset = start;
		hdr[h] = (unsigned char)((e[i].type << 4) | (size & 15));
		size >>= 4;
		while (size) {
			hdr[h++] |= 0x80;
			hdr[h] = size & 0x7f;
			size >>= 7;
		}
		pg_put(&out->pack, hdr, h + 1);
		if (e[i].type == UG_OBJ_OFS_DELTA) {
			uint64_t rel = e[i].offset - e[e[i].base].offset;
			unsigned char x[16];
			int pos = 15;

			x[pos] = rel & 0x7f;
			while (rel >>= 7)
				x[--pos] = 0x80 | (--rel & 0x7f);
			pg_put(&out->pack, x + pos, (size_t)(16 - pos));
		} else if (e[i].type == UG_OBJ_REF_DELTA) {
			pg_put(&out->pack, e[i].base_oid.id, rawsz);
		}
		uLongf zlen = compressBound((uLong)e[i].len);
		unsigned char *z = malloc(zlen);
		compress2(z, &zlen, e[i].data, (uLong)e[i].len, 6);
		pg_put(&out->pack, z, zlen);
		free(z);
		crcs[i] = (uint32_t)crc32(0, out->pack.p + start, (uInt)(out->pack.n - start));
		names[i] = e[i].oid;
		order[i] = i;
	}
	ug_hash_buf(&sum, algo, out->pack.p, out->pack.n);
	pg_put(&out->pack, sum.id, rawsz);

	pg_sort_names = names;
	qsort(order, (size_t)n, sizeof(*order), pg_cmp);
	if (idx_version == 2) {
		pg_put(&out->idx, "\377tOc", 4);
		pg_be32(&out->idx, 2);
	}
	for (int b = 0; b < 256; b++) {
		uint32_t c = 0;
		for (int i = 0; i < n; i++)
			c += names[i].id[0] <= b;
		pg_be32(&out->idx, c);
	}
	if (idx_version == 2) {
		uint32_t nlarge = 0;

		for (int k = 0; k < n; k++)
			pg_put(&out->idx, names[order[k]].id, rawsz);
		for (int k = 0; k < n; k++)
			pg_be32(&out->idx, crcs[order[k]]);
		for (int k = 0; k < n; k++)
			pg_be32(&out->idx, e[order[k]].large ? 0x80000000u | nlarge++
							     : (uint32_t)e[order[k]].offset);
		for (int k = 0; k < n; k++)
			if (e[order[k]].large)
				pg_be64(&out->idx, e[order[k]].offset);
	} else {
		for (int k = 0; k < n; k++) {
			pg_be32(&out->idx, (uint32_t)e[order[k]].offset);
			pg_put(&out->idx, names[order[k]].id, rawsz);
		}
	}
	pg_put(&out->idx, sum.id, rawsz);
	ug_hash_buf(&sum, algo, out->idx.p, out->idx.n);
	pg_put(&out->idx, sum.id, rawsz);
	free(names);
	free(crcs);
	free(order);
}

/* After patching bytes of a built pack: recompute its trailer and the
 * index's copy of it and own checksum, so only the patched entry is bad. */
static inline void pg_reseal(struct pg_pack *pk, ug_hash_algo algo)
{
	size_t rawsz = ug_hash_rawsz(algo);
	ug_oid sum;

	ug_hash_buf(&sum, algo, pk->pack.p, pk->pack.n - rawsz);
	memcpy(pk->pack.p + pk->pack.n - rawsz, sum.id, rawsz);
	memcpy(pk->idx.p + pk->idx.n - 2 * rawsz, sum.id, rawsz);
	ug_hash_buf(&sum, algo, pk->idx.p, pk->idx.n - rawsz);
	memcpy(pk->idx.p + pk->idx.n - rawsz, sum.id, rawsz);
}

/* A size in a delta's header: 7 bits a byte, the lowest first; returns the bytes written. */
static inline size_t pg_varint(unsigned char *out, size_t v)
{
	size_t n = 0;

	do {
		out[n] = v & 0x7f;
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* Build a delta: sizes, then ops given as raw bytes. */
static inline size_t pg_delta(unsigned char *out, size_t base_len, size_t result_len, const void *ops,
		       size_t ops_len)
{
	size_t n = pg_varint(out, base_len);

	n += pg_varint(out + n, result_len);
	memcpy(out + n, ops, ops_len);
	return n + ops_len;
}

static inline void pg_free(struct pg_pack *pk)
{
	free(pk->pack.p);
	free(pk->idx.p);
}

static inline int pg_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	fwrite(data, 1, len, f);
	return fclose(f);
}

/* Write dir/NAME.pack then dir/NAME.idx (git's order); the idx path goes to idx_path. */
static inline int pg_write(const struct pg_pack *pk, const char *dir, const char *name, char *idx_path,
		    size_t size)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.pack", dir, name);
	if (pg_write_file(path, pk->pack.p, pk->pack.n))
		return -1;
	snprintf(idx_path, size, "%s/%s.idx", dir, name);
	return pg_write_file(idx_path, pk->idx.p, pk->idx.n);
}

#endif
