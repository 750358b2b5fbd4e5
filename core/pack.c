/* Packfiles: .idx v1/v2 parsing and lookup, entry headers, and iterative delta-chain resolution. */
#include "pack.h"

#include "cache.h"
#include "delta.h"
#include "error.h"
#include "zinflate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PACK_HEADER 12
#define IDX_V2_MAGIC "\377tOc"

struct ug_pack {
	char *idx_path, *pack_path;
	ug_hash_algo algo;
	size_t rawsz;
	const unsigned char *idx, *pack; /* mmaps */
	size_t idx_size, pack_size;
	uint64_t data_end; /* where the pack's trailing checksum starts */
	int version;
	uint32_t count;
	const unsigned char *fanout; /* 256 big-endian counts */
	const unsigned char *names;  /* name i at names + i * stride */
	size_t stride;
	const unsigned char *offsets; /* v2: 4-byte offsets; v1: the records */
	const unsigned char *large;   /* v2: 8-byte offsets */
	size_t nlarge;
	uint64_t serial; /* keys the delta-base cache: unique even if the address is reused */
};

static atomic_uint_fast64_t next_serial = 1;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int map_file(const char *path, const unsigned char **out, size_t *size)
{
	struct stat st;
	void *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ug_error_os(UG_ERROR, "cannot open %s", path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return ug_error_os(UG_ERROR, "cannot stat %s", path);
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return ug_error(UG_ECORRUPT, "%s: bad file size %lld", path, (long long)st.st_size);
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return ug_error_os(UG_ERROR, "cannot map %s", path);
	*out = m;
	*size = (size_t)st.st_size;
	return 0;
}

static const unsigned char *name_at(const ug_pack *p, uint32_t i)
{
	return p->names + (size_t)i * p->stride;
}

/* The pack offset of index entry i, checked to lie among the pack's entries. */
static int offset_at(const ug_pack *p, uint32_t i, uint64_t *out)
{
	uint64_t off;

	if (p->version == 1) {
		off = be32(p->offsets + (size_t)i * p->stride);
	} else {
		uint32_t o = be32(p->offsets + (size_t)i * 4);

		if (o & 0x80000000u) {
			uint32_t j = o & 0x7fffffffu;

			if (j >= p->nlarge)
				return ug_error(UG_ECORRUPT, "%s: entry %u points past the 64-bit offset table",
						p->idx_path, i);
			off = be64(p->large + (size_t)j * 8);
		} else {
			off = o;
		}
	}
	if (off < PACK_HEADER || off >= p->data_end)
		return ug_error(UG_ECORRUPT, "%s: entry %u has offset %llu outside the pack",
				p->idx_path, i, (unsigned long long)off);
	*out = off;
	return 0;
}

static int parse_idx(ug_pack *p)
{
	const unsigned char *d = p->idx;
	uint64_t n = p->idx_size, rawsz = p->rawsz, need, fan_at = 0;
	uint32_t prev = 0;

	if (n >= 8 && !memcmp(d, IDX_V2_MAGIC, 4)) {
		uint32_t v = be32(d + 4);

		if (v != 2)
			return ug_error(UG_ECORRUPT, "%s: unsupported index version %u", p->idx_path, v);
		p->version = 2;
		fan_at = 8;
	} else {
		p->version = 1;
	}
	if (n < fan_at + 1024 + 2 * rawsz)
		return ug_error(UG_ECORRUPT, "%s: index is truncated", p->idx_path);
	p->fanout = d + fan_at;
	for (int i = 0; i < 256; i++) {
		uint32_t f = be32(p->fanout + 4 * i);

		if (f < prev)
			return ug_error(UG_ECORRUPT, "%s: fanout table decreases at %d", p->idx_path, i);
		prev = f;
	}
	p->count = prev;
	if (p->version == 2) {
		need = fan_at + 1024 + (uint64_t)p->count * (rawsz + 8) + 2 * rawsz;
		if (n < need || (n - need) % 8)
			return ug_error(UG_ECORRUPT, "%s: size %llu does not fit %u objects", p->idx_path,
					(unsigned long long)n, p->count);
		p->nlarge = (size_t)((n - need) / 8);
		if (p->nlarge > p->count)
			return ug_error(UG_ECORRUPT, "%s: size %llu does not fit %u objects", p->idx_path,
					(unsigned long long)n, p->count);
		p->names = d + fan_at + 1024;
		p->stride = rawsz;
		p->offsets = p->names + (size_t)p->count * (rawsz + 4); /* past the CRCs */
		p->large = p->offsets + (size_t)p->count * 4;
	} else {
		need = 1024 + (uint64_t)p->count * (4 + rawsz) + 2 * rawsz;
		if (n != need)
			return ug_error(UG_ECORRUPT, "%s: size %llu does not fit %u objects", p->idx_path,
					(unsigned long long)n, p->count);
		p->offsets = d + 1024;
		p->names = p->offsets + 4;
		p->stride = 4 + rawsz;
	}
	/* Lookups trust the order: check it, and that each name sits in its fanout bucket. */
	for (uint32_t i = 0; i < p->count; i++) {
		const unsigned char *nm = name_at(p, i);
		unsigned b = nm[0];

		if (i >= be32(p->fanout + 4 * b) || (b > 0 && i < be32(p->fanout + 4 * (b - 1))))
			return ug_error(UG_ECORRUPT, "%s: entry %u is outside its fanout bucket",
					p->idx_path, i);
		if (i > 0 && memcmp(name_at(p, i - 1), nm, p->rawsz) >= 0)
			return ug_error(UG_ECORRUPT, "%s: object names are not sorted at %u",
					p->idx_path, i);
	}
	return 0;
}

static int check_pack(ug_pack *p)
{
	const unsigned char *d = p->pack;
	const unsigned char *idx_sum = p->idx + p->idx_size - 2 * p->rawsz;
	uint32_t v;

	if (p->pack_size < PACK_HEADER + p->rawsz)
		return ug_error(UG_ECORRUPT, "%s: pack is truncated", p->pack_path);
	if (memcmp(d, "PACK", 4))
		return ug_error(UG_ECORRUPT, "%s: not a pack file", p->pack_path);
	v = be32(d + 4);
	if (v != 2 && v != 3)
		return ug_error(UG_ECORRUPT, "%s: unsupported pack version %u", p->pack_path, v);
	if (be32(d + 8) != p->count)
		return ug_error(UG_ECORRUPT, "%s: pack holds %u objects, its index %u", p->pack_path,
				be32(d + 8), p->count);
	p->data_end = p->pack_size - p->rawsz;
	if (memcmp(d + p->data_end, idx_sum, p->rawsz))
		return ug_error(UG_ECORRUPT, "%s: pack checksum differs from its index's (truncated?)",
				p->pack_path);
	for (uint32_t i = 0; i < p->count; i++) {
		uint64_t off;
		int err = offset_at(p, i, &off);

		if (err)
			return err;
	}
	return 0;
}

int ug_pack_open(ug_pack **out, const char *idx_path, ug_hash_algo algo)
{
	size_t len = strlen(idx_path);
	ug_pack *p;
	int err;

	*out = NULL;
	if (len < 4 || strcmp(idx_path + len - 4, ".idx"))
		return ug_error(UG_EINVALID, "%s: not a .idx path", idx_path);
	p = calloc(1, sizeof(*p));
	if (!p || !(p->idx_path = strdup(idx_path)) || !(p->pack_path = malloc(len + 2))) {
		if (p)
			free(p->idx_path);
		free(p);
		return ug_error(UG_ENOMEM, "cannot allocate a pack");
	}
	memcpy(p->pack_path, idx_path, len - 4);
	memcpy(p->pack_path + len - 4, ".pack", 6);
	p->algo = algo;
	p->rawsz = ug_hash_rawsz(algo);
	p->serial = atomic_fetch_add(&next_serial, 1);
	if ((err = map_file(p->idx_path, &p->idx, &p->idx_size)) || (err = parse_idx(p)) ||
	    (err = map_file(p->pack_path, &p->pack, &p->pack_size)) || (err = check_pack(p))) {
		ug_pack_free(p);
		return err;
	}
	*out = p;
	return 0;
}

void ug_pack_free(ug_pack *p)
{
	if (!p)
		return;
	if (p->idx)
		munmap((void *)p->idx, p->idx_size);
	if (p->pack)
		munmap((void *)p->pack, p->pack_size);
	free(p->idx_path);
	free(p->pack_path);
	free(p);
}

const char *ug_pack_path(const ug_pack *p)
{
	return p->pack_path;
}

uint32_t ug_pack_count(const ug_pack *p)
{
	return p->count;
}

int ug_pack_find(const ug_pack *p, const ug_oid *oid, uint64_t *offset)
{
	unsigned b = oid->id[0];
	uint32_t lo = b ? be32(p->fanout + 4 * (b - 1)) : 0, hi = be32(p->fanout + 4 * b);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(oid->id, name_at(p, mid), p->rawsz);

		if (c == 0)
			return offset_at(p, mid, offset);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return UG_ENOTFOUND;
}

void ug_pack_find_prefix(const ug_pack *p, const ug_oid *prefix, size_t len, ug_oid *found,
			 int *count)
{
	uint32_t lo = 0, hi = p->count;

	/* The prefix is zero-padded, so the first name not below it is the first candidate. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (memcmp(name_at(p, mid), prefix->id, p->rawsz) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < p->count && *count < 2; lo++) {
		ug_oid cand;

		ug_oid_fromraw(&cand, name_at(p, lo), p->algo);
		if (!ug_oid_prefix_match(&cand, prefix, len))
			break;
		ug_oid_prefix_merge(found, count, &cand);
	}
}

/* One entry's header: type, inflated size, and where its zlib stream starts. */
struct entry {
	ug_otype type;
	size_t size;
	uint64_t data;
	uint64_t base_off; /* OFS_DELTA */
	ug_oid base_oid;   /* REF_DELTA */
};

static int parse_entry(const ug_pack *p, uint64_t off, struct entry *e)
{
	const unsigned char *d = p->pack;
	uint64_t end = p->data_end, pos = off, size, rel;
	unsigned shift = 4;
	unsigned char c;

	if (off < PACK_HEADER || off >= end)
		return ug_error(UG_ECORRUPT, "offset %llu is outside the pack", (unsigned long long)off);
	c = d[pos++];
	e->type = (ug_otype)((c >> 4) & 7);
	size = c & 15;
	while (c & 0x80) {
		if (pos >= end)
			return ug_error(UG_ECORRUPT, "entry header at %llu is truncated",
					(unsigned long long)off);
		c = d[pos++];
		if (shift >= 64 || (shift > 57 && ((uint64_t)(c & 0x7f) >> (64 - shift))))
			return ug_error(UG_ECORRUPT, "entry size at %llu is over 64 bits",
					(unsigned long long)off);
		size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	if (size > SIZE_MAX)
		return ug_error(UG_ECORRUPT, "entry size at %llu does not fit in memory",
				(unsigned long long)off);
	e->size = (size_t)size;
	switch (e->type) {
	case UG_OBJ_COMMIT:
	case UG_OBJ_TREE:
	case UG_OBJ_BLOB:
	case UG_OBJ_TAG:
		break;
	case UG_OBJ_OFS_DELTA:
		/* Big-endian base-128 with an implied +1 per continuation byte. */
		if (pos >= end)
			return ug_error(UG_ECORRUPT, "delta at %llu is truncated", (unsigned long long)off);
		c = d[pos++];
		rel = c & 0x7f;
		while (c & 0x80) {
			if (pos >= end)
				return ug_error(UG_ECORRUPT, "delta at %llu is truncated",
						(unsigned long long)off);
			if (rel >= (UINT64_MAX >> 7) - 1)
				return ug_error(UG_ECORRUPT, "delta at %llu has an overlong base offset",
						(unsigned long long)off);
			c = d[pos++];
			rel = ((rel + 1) << 7) | (c & 0x7f);
		}
		if (rel == 0 || rel > off - PACK_HEADER)
			return ug_error(UG_ECORRUPT, "delta at %llu has a base offset out of the pack",
					(unsigned long long)off);
		e->base_off = off - rel;
		break;
	case UG_OBJ_REF_DELTA:
		if (end - pos < p->rawsz)
			return ug_error(UG_ECORRUPT, "delta at %llu is truncated", (unsigned long long)off);
		ug_oid_fromraw(&e->base_oid, d + pos, p->algo);
		pos += p->rawsz;
		break;
	default:
		return ug_error(UG_ECORRUPT, "entry at %llu has unknown type %d",
				(unsigned long long)off, (int)e->type);
	}
	if (pos >= end)
		return ug_error(UG_ECORRUPT, "entry at %llu is truncated", (unsigned long long)off);
	e->data = pos;
	return 0;
}

/* Inflate an entry's stream into a new buffer of exactly e->size bytes plus a NUL. */
static int inflate_entry(const ug_pack *p, const struct entry *e, unsigned char **out)
{
	size_t inlen = (size_t)(p->data_end - e->data);
	unsigned char *buf;
	int err;

	*out = NULL;
	if ((err = ug_zinflate_check_size(e->size, inlen)))
		return err;
	buf = malloc(e->size + 1);
	if (!buf)
		return ug_error(UG_ENOMEM, "cannot allocate %zu bytes", e->size + 1);
	if ((err = ug_zinflate(p->pack + e->data, inlen, buf, e->size, NULL))) {
		free(buf);
		return err;
	}
	buf[e->size] = '\0';
	*out = buf;
	return 0;
}

static void base_key(ug_oid *key, const ug_pack *p, uint64_t off)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->id, &p->serial, 8);
	memcpy(key->id + 8, &off, 8);
}

/* How deep this thread is in a resolver's read called by a pack: messages
 * name their object at depth 0 only, so a chain does not repeat them. */
static _Thread_local int nesting;

static int blame(int err, const ug_pack *p, const ug_oid *oid, uint64_t off)
{
	char hex[UG_OID_MAXHEX + 1];

	if (nesting > 0)
		return err; /* the outermost read names its object; the cause is in the message */
	if (oid)
		return ug_error_prefix(err, "object %s in %s", ug_oid_tohex(hex, oid, p->algo),
				       p->pack_path);
	return ug_error_prefix(err, "entry at %llu in %s", (unsigned long long)off, p->pack_path);
}

/* A REF_DELTA base from elsewhere (only its header when data is NULL): a
 * missing one makes this object corrupt. */
static int outside_base(const ug_pack_resolver *res, const ug_pack *p, const ug_oid *base,
			ug_otype *type, unsigned char **data, size_t *size)
{
	char hex[UG_OID_MAXHEX + 1];
	int err = UG_ENOTFOUND;

	if (res && res->read) {
		nesting++;
		err = res->read(res->ctx, base, type, data, size);
		nesting--;
	}
	if (err == UG_ENOTFOUND)
		return ug_error(UG_ECORRUPT, "delta base %s is missing",
				ug_oid_tohex(hex, base, p->algo));
	if (err && nesting == 0)
		return ug_error_prefix(err, "delta base %s", ug_oid_tohex(hex, base, p->algo));
	return err;
}

/* A delta waiting for its base, on the explicit stack. */
struct frame {
	uint64_t off;
	uint64_t data;
	size_t size;
};

/* One read's way down a delta chain and back up. */
struct walk {
	struct frame *stack; /* small until it grows */
	size_t depth, cap;
	ug_object *base;   /* the object reached so far */
	uint64_t base_off; /* its offset in this pack; UINT64_MAX: from elsewhere */
	bool cached;       /* base came from the delta-base cache */
	struct frame small[64];
};

static int push(struct walk *w, const struct frame *f)
{
	if (w->depth >= UG_PACK_MAX_CHAIN)
		return ug_error(UG_ECORRUPT, "delta chain longer than %d (a loop?)", UG_PACK_MAX_CHAIN);
	if (w->depth == w->cap) {
		size_t ncap = w->cap * 4;
		struct frame *n = w->stack == w->small ? malloc(ncap * sizeof(*n))
						       : realloc(w->stack, ncap * sizeof(*n));

		if (!n)
			return ug_error(UG_ENOMEM, "cannot grow a delta stack");
		if (w->stack == w->small)
			memcpy(n, w->small, w->depth * sizeof(*n));
		w->stack = n;
		w->cap = ncap;
	}
	w->stack[w->depth++] = *f;
	return 0;
}

/* A whole (undeltified) entry as a new object. */
static int whole_entry(const ug_pack *p, const struct entry *e, ug_object **out)
{
	unsigned char *buf;
	int err;

	if ((err = inflate_entry(p, e, &buf)))
		return err;
	*out = ug_object_new(NULL, e->type, buf, e->size);
	return *out ? 0 : ug_error(UG_ENOMEM, "cannot allocate an object");
}

/* A REF_DELTA base from elsewhere as a new object. */
static int outside_object(const ug_pack_resolver *res, const ug_pack *p, const ug_oid *base,
			  ug_object **out)
{
	ug_otype t;
	unsigned char *buf;
	size_t sz;
	int err;

	if ((err = outside_base(res, p, base, &t, &buf, &sz)))
		return err;
	*out = ug_object_new(base, t, buf, sz);
	return *out ? 0 : ug_error(UG_ENOMEM, "cannot allocate an object");
}

/* Walk down from offset to a base (a cached one, a whole entry, or one from
 * elsewhere), pushing the deltas on the way. */
static int find_base(const ug_pack *p, const ug_pack_resolver *res, uint64_t offset, struct walk *w)
{
	ug_cache *bases = res ? res->bases : NULL;
	uint64_t cur = offset;
	int err;

	for (;;) {
		struct entry e;
		ug_oid key;

		if (bases) {
			base_key(&key, p, cur);
			if ((w->base = ug_cache_get(bases, &key))) {
				w->cached = true;
				w->base_off = cur;
				return 0;
			}
		}
		if ((err = parse_entry(p, cur, &e)))
			return err;
		if (e.type != UG_OBJ_OFS_DELTA && e.type != UG_OBJ_REF_DELTA) {
			w->base_off = cur;
			return whole_entry(p, &e, &w->base);
		}
		struct frame f = { cur, e.data, e.size };
		if ((err = push(w, &f)))
			return err;
		if (e.type == UG_OBJ_OFS_DELTA)
			cur = e.base_off;
		else if ((err = ug_pack_find(p, &e.base_oid, &cur)) == UG_ENOTFOUND)
			return outside_object(res, p, &e.base_oid, &w->base);
		else if (err)
			return err;
	}
}

/* Apply the delta of frame f to base; *out is a new object of base's type. */
static int apply_frame(const ug_pack *p, const struct frame *f, const ug_object *base,
		       ug_object **out)
{
	struct entry e = { .type = UG_OBJ_OFS_DELTA, .size = f->size, .data = f->data };
	unsigned char *delta, *result;
	size_t rlen;
	int err;

	*out = NULL;
	if ((err = inflate_entry(p, &e, &delta)))
		return err;
	err = ug_delta_apply(&result, &rlen, base->data, base->size, delta, f->size);
	free(delta);
	if (err)
		return err;
	*out = ug_object_new(NULL, base->type, result, rlen);
	return *out ? 0 : ug_error(UG_ENOMEM, "cannot allocate an object");
}

/* Apply the stacked deltas from the base up, keeping each base in the cache
 * for its siblings (as res says); w->base ends as the object read. */
static int apply_chain(const ug_pack *p, const ug_pack_resolver *res, struct walk *w)
{
	ug_cache *bases = res ? res->bases : NULL;
	ug_oid key;
	int err;

	while (w->depth > 0) {
		const struct frame *f = &w->stack[--w->depth];
		ug_object *next;

		if (bases && !w->cached && w->base_off != UINT64_MAX) {
			base_key(&key, p, w->base_off);
			if (res->bases_again)
				ug_cache_put_again(bases, &key, w->base);
			else
				ug_cache_put(bases, &key, w->base);
		}
		err = apply_frame(p, f, w->base, &next);
		ug_object_free(w->base);
		w->base = next;
		if (err)
			return err;
		w->cached = false;
		w->base_off = f->off;
	}
	return 0;
}

int ug_pack_read(ug_pack *p, const ug_pack_resolver *res, uint64_t offset, const ug_oid *oid,
		 ug_otype *type, unsigned char **data, size_t *size)
{
	struct walk w;
	int err;

	w.stack = w.small;
	w.depth = 0;
	w.cap = sizeof(w.small) / sizeof(w.small[0]);
	w.base = NULL;
	w.base_off = UINT64_MAX;
	w.cached = false;
	*data = NULL;
	*size = 0;
	if (!(err = find_base(p, res, offset, &w)) &&
	    !(err = apply_chain(p, res, &w))) {
		*type = w.base->type;
		*size = w.base->size;
		*data = ug_object_take_data(w.base);
		w.base = NULL;
		err = *data ? 0 : UG_ENOMEM;
	}
	ug_object_free(w.base);
	if (w.stack != w.small)
		free(w.stack);
	return err ? blame(err, p, oid, offset) : 0;
}

/* A pack entry's zlib stream, read from the mapping. */
struct pack_source {
	const unsigned char *map; /* the pack's mapping (page-aligned) */
	uint64_t start, end;      /* the stream's bytes: map[start, end) */
	uint64_t dropped;         /* pages of the mapping below this were given back */
	void (*release)(void *arg);
	void *arg;
};

static int pack_source_read(void *ctx, uint64_t off, unsigned char *buf, size_t len, size_t *got)
{
	struct pack_source *ps = ctx;
	uint64_t at = ps->start + off, page = (uint64_t)sysconf(_SC_PAGESIZE), keep;

	*got = 0;
	if (at >= ps->end)
		return 0;
	if (len > ps->end - at)
		len = (size_t)(ps->end - at);
	memcpy(buf, ps->map + at, len);
	*got = len;
	/* The pages before this copy were read: give them back, or a big entry
	 * read through would count whole in the daemon's resident memory. They
	 * are clean and shared: a later read maps them again from the cache. */
	keep = at / page * page;
	if (keep < ps->dropped) {
		ps->dropped = keep; /* a rewind: what it maps again goes again */
	} else if (keep > ps->dropped) {
		uint64_t first = ps->start / page * page, from = ps->dropped > first ? ps->dropped : first;

		if (keep > from)
			madvise((void *)(ps->map + from), (size_t)(keep - from), MADV_DONTNEED);
		ps->dropped = keep;
	}
	return 0;
}

static void pack_source_free(void *ctx)
{
	struct pack_source *ps = ctx;

	if (ps->release)
		ps->release(ps->arg);
	free(ps);
}

int ug_pack_stream(ug_pack *p, uint64_t offset, const ug_oid *oid, ug_otype *type, size_t *size,
		   ug_zstream **out, void (*release)(void *arg), void *arg)
{
	struct pack_source *ps;
	struct entry e;
	int err;

	*out = NULL;
	if ((err = parse_entry(p, offset, &e)) ||
	    (err = ug_zinflate_check_size(e.size, (size_t)(p->data_end - e.data)))) {
		if (release)
			release(arg);
		return blame(err, p, oid, offset);
	}
	if (e.type == UG_OBJ_OFS_DELTA || e.type == UG_OBJ_REF_DELTA) {
		if (release)
			release(arg);
		return 0;
	}
	*type = e.type;
	*size = e.size;
	if (!(ps = calloc(1, sizeof(*ps)))) {
		if (release)
			release(arg);
		return ug_error(UG_ENOMEM, "cannot allocate a stream");
	}
	ps->map = p->pack;
	ps->start = e.data;
	ps->end = p->data_end;
	ps->release = release;
	ps->arg = arg;
	err = ug_zstream_new(out, pack_source_read, ps, pack_source_free, 0, e.size);
	return err ? blame(err, p, oid, offset) : 0;
}

/* The result size a delta entry declares, from the first bytes of its stream. */
static int delta_result_size(const ug_pack *p, const struct entry *e, size_t *size)
{
	unsigned char head[32];
	size_t got, base_size, hdrlen;
	int err;

	if ((err = ug_zinflate_head(p->pack + e->data, (size_t)(p->data_end - e->data), head,
				    sizeof(head), &got)) ||
	    (err = ug_delta_header(head, got, &base_size, size, &hdrlen)))
		return err;
	/* As ug_delta_apply would find: no op stream of that length yields more. */
	if (e->size < SIZE_MAX / 0x1000000 && *size > e->size * 0x1000000)
		return ug_error(UG_ECORRUPT, "delta of %zu bytes cannot produce %zu bytes", e->size,
				*size);
	return 0;
}

int ug_pack_read_header(ug_pack *p, const ug_pack_resolver *res, uint64_t offset,
			const ug_oid *oid, ug_otype *type, size_t *size)
{
	ug_cache *bases = res ? res->bases : NULL;
	uint64_t cur = offset;
	bool have_size = false;
	int err = 0;

	for (size_t hops = 0;; hops++) {
		struct entry e;
		ug_oid key;
		ug_object *hit;

		if (hops > UG_PACK_MAX_CHAIN) {
			err = ug_error(UG_ECORRUPT, "delta chain longer than %d (a loop?)",
				       UG_PACK_MAX_CHAIN);
			break;
		}
		if (bases) {
			base_key(&key, p, cur);
			if ((hit = ug_cache_peek(bases, &key))) {
				*type = hit->type;
				if (!have_size)
					*size = hit->size;
				ug_object_free(hit);
				return 0;
			}
		}
		if ((err = parse_entry(p, cur, &e)))
			break;
		/* A size no stream here could inflate to is refused now, not at the read. */
		if ((err = ug_zinflate_check_size(e.size, (size_t)(p->data_end - e.data))))
			break;
		if (e.type != UG_OBJ_OFS_DELTA && e.type != UG_OBJ_REF_DELTA) {
			*type = e.type;
			if (!have_size)
				*size = e.size;
			return 0;
		}
		if (!have_size) {
			if ((err = delta_result_size(p, &e, size)))
				break;
			have_size = true;
		}
		if (e.type == UG_OBJ_OFS_DELTA) {
			cur = e.base_off;
		} else if ((err = ug_pack_find(p, &e.base_oid, &cur)) == UG_ENOTFOUND) {
			size_t ignored;

			err = outside_base(res, p, &e.base_oid, type, NULL, &ignored);
			if (!err)
				return 0;
			break;
		} else if (err) {
			break;
		}
	}
	return blame(err, p, oid, offset);
}
