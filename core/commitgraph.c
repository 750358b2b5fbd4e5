/* git's commit-graph files (gitformat-commit-graph): validation, lookup, parents and changed-path filters. */
#include "commitgraph.h"

#include "array.h"
#include "error.h"
#include "log.h"
#include "repo.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARENT_NONE 0x70000000u
#define EDGE_FLAG 0x80000000u
#define MAX_COMMITS 0x70000000u /* positions at and above are flags */

/* One file of the chain; pointers into its bytes, each checked to fit. */
struct layer {
	const unsigned char *data;
	size_t len;
	uint32_t count, base;   /* commits here; commits in the layers below */
	const unsigned char *fanout, *oids, *cdat, *edges, *bidx, *bdat;
	size_t nedges, bdat_len; /* bdat_len: filter bytes after BDAT's header */
	uint32_t bloom_version, bloom_k;
};

struct ug_commitgraph {
	ug_hash_algo algo;
	size_t rawsz;
	struct layer *layers;
	size_t nlayers;
	uint64_t total;
	/* files mapped by ug_commitgraph_open, unmapped by _free */
	void **maps;
	size_t *maplens, nmaps;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Where each chunk we read is, from the table of contents; sizes checked. */
struct chunks {
	const unsigned char *at[8];
	size_t size[8];
};

enum { C_OIDF, C_OIDL, C_CDAT, C_EDGE, C_BIDX, C_BDAT, C_BASE, C_N };
static const char chunk_ids[C_N][5] = { "OIDF", "OIDL", "CDAT", "EDGE", "BIDX", "BDAT", "BASE" };

static int read_toc(const unsigned char *d, size_t len, size_t rawsz, unsigned nchunks, struct chunks *c)
{
	size_t toc = 8, body = toc + ((size_t)nchunks + 1) * 12, end = len - rawsz;

	memset(c, 0, sizeof(*c));
	if (body > end)
		return ug_error(UG_ECORRUPT, "table of contents past the end");
	for (unsigned i = 0; i < nchunks; i++) {
		const unsigned char *e = d + toc + 12 * i;
		uint64_t off = be64(e + 4), next = be64(e + 16);

		if (off < body || next < off || next > end)
			return ug_error(UG_ECORRUPT, "chunk %u out of bounds", i);
		for (int k = 0; k < C_N; k++) {
			if (!memcmp(e, chunk_ids[k], 4)) {
				if (c->at[k])
					return ug_error(UG_ECORRUPT, "chunk %s twice", chunk_ids[k]);
				c->at[k] = d + off;
				c->size[k] = (size_t)(next - off);
			}
		}
	}
	return 0;
}

/* The fan-out is monotonic and the ids strictly sorted, each under its first byte. */
static int check_ids(struct layer *l, size_t rawsz)
{
	uint32_t prev = 0;

	for (int b = 0; b < 256; b++) {
		uint32_t n = be32(l->fanout + 4 * b);

		if (n < prev)
			return ug_error(UG_ECORRUPT, "fan-out out of order");
		for (uint32_t i = prev; i < n; i++) {
			const unsigned char *id = l->oids + (size_t)i * rawsz;

			if (id[0] != b || (i && memcmp(id - rawsz, id, rawsz) >= 0))
				return ug_error(UG_ECORRUPT, "object ids out of order");
		}
		prev = n;
	}
	return 0;
}

/* Changed-path filters: an index that never decreases and stays inside the data. */
static int check_filters(struct layer *l, const struct chunks *c)
{
	uint32_t prev = 0;

	if (!c->at[C_BIDX] || !c->at[C_BDAT])
		return 0; /* no filters here: every path may have changed */
	if (c->size[C_BIDX] != (size_t)l->count * 4 || c->size[C_BDAT] < 12)
		return ug_error(UG_ECORRUPT, "filter chunks of the wrong size");
	l->bloom_version = be32(c->at[C_BDAT]);
	l->bloom_k = be32(c->at[C_BDAT] + 4);
	if ((l->bloom_version != 1 && l->bloom_version != 2) || l->bloom_k == 0 || l->bloom_k > 64)
		return 0; /* filters of a kind we do not know: not used */
	for (uint32_t i = 0; i < l->count; i++) {
		uint32_t end = be32(c->at[C_BIDX] + 4 * (size_t)i);

		if (end < prev || end > c->size[C_BDAT] - 12)
			return ug_error(UG_ECORRUPT, "filter index out of order or bounds");
		prev = end;
	}
	l->bidx = c->at[C_BIDX];
	l->bdat = c->at[C_BDAT] + 12;
	l->bdat_len = c->size[C_BDAT] - 12;
	return 0;
}

/* Validate one file, layer number i of a chain whose lower layers are in g. */
static int parse_layer(ug_commitgraph *g, size_t i, const unsigned char *d, size_t len)
{
	struct layer *l = &g->layers[i];
	size_t rawsz = g->rawsz;
	struct chunks c;
	ug_oid sum, want;
	int err;

	if (len < 8 + 12 + rawsz || memcmp(d, "CGPH", 4) || d[4] != 1)
		return ug_error(UG_ECORRUPT, "not a commit-graph of version 1");
	if (d[5] != (g->algo == UG_HASH_SHA1 ? 1 : 2))
		return ug_error(UG_ECORRUPT, "hash differs from the repository's");
	if (d[7] != i)
		return ug_error(UG_ECORRUPT, "names %u base graphs, has %zu", d[7], i);
	if (ug_hash_buf(&sum, g->algo, d, len - rawsz))
		return UG_ENOMEM;
	ug_oid_fromraw(&want, d + len - rawsz, g->algo);
	if (!ug_oid_equal(&sum, &want))
		return ug_error(UG_ECORRUPT, "checksum mismatch");
	err = read_toc(d, len, rawsz, d[6], &c);
	if (err)
		return err;
	if (!c.at[C_OIDF] || c.size[C_OIDF] != 1024 || !c.at[C_OIDL] || !c.at[C_CDAT])
		return ug_error(UG_ECORRUPT, "a required chunk is missing");
	l->data = d;
	l->len = len;
	l->fanout = c.at[C_OIDF];
	l->count = be32(l->fanout + 1020);
	l->base = (uint32_t)g->total;
	if (l->count >= MAX_COMMITS - g->total || c.size[C_OIDL] != (size_t)l->count * rawsz ||
	    c.size[C_CDAT] != (size_t)l->count * (rawsz + 16))
		return ug_error(UG_ECORRUPT, "chunk sizes disagree with the commit count");
	if (i && (!c.at[C_BASE] || c.size[C_BASE] != i * rawsz))
		return ug_error(UG_ECORRUPT, "base chunk missing or of the wrong size");
	for (size_t b = 0; b < i; b++)
		if (memcmp(c.at[C_BASE] + b * rawsz, g->layers[b].data + g->layers[b].len - rawsz, rawsz))
			return ug_error(UG_ECORRUPT, "base graph %zu is not the one below", b);
	l->oids = c.at[C_OIDL];
	l->cdat = c.at[C_CDAT];
	if (c.at[C_EDGE] && c.size[C_EDGE] % 4)
		return ug_error(UG_ECORRUPT, "extra-edge chunk of a wrong size");
	l->edges = c.at[C_EDGE];
	l->nedges = c.at[C_EDGE] ? c.size[C_EDGE] / 4 : 0;
	err = check_ids(l, rawsz);
	if (!err)
		err = check_filters(l, &c);
	if (!err)
		g->total += l->count;
	return err;
}

int ug_commitgraph_parse(ug_commitgraph **out, ug_hash_algo algo, const unsigned char *const *files,
			 const size_t *lens, size_t nfiles)
{
	ug_commitgraph *g = calloc(1, sizeof(*g));
	int err = 0;

	*out = NULL;
	if (!g || !(g->layers = calloc(nfiles ? nfiles : 1, sizeof(*g->layers)))) {
		free(g);
		return UG_ENOMEM;
	}
	g->algo = algo;
	g->rawsz = ug_hash_rawsz(algo);
	if (nfiles == 0 || nfiles > 255)
		err = ug_error(UG_ECORRUPT, "a chain of %zu graphs", nfiles);
	for (size_t i = 0; !err && i < nfiles; i++) {
		err = parse_layer(g, i, files[i], lens[i]);
		g->nlayers = i + 1;
	}
	if (err) {
		ug_commitgraph_free(g);
		return err;
	}
	*out = g;
	return 0;
}

void ug_commitgraph_free(ug_commitgraph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nmaps; i++)
		munmap(g->maps[i], g->maplens[i]);
	free(g->maps);
	free(g->maplens);
	free(g->layers);
	free(g);
}

uint64_t ug_commitgraph_count(const ug_commitgraph *g)
{
	return g ? g->total : 0;
}

/* The layer holding position pos, or NULL if pos is past the graph. */
static const struct layer *layer_of(const ug_commitgraph *g, uint32_t pos)
{
	for (size_t i = 0; i < g->nlayers; i++)
		if (pos - g->layers[i].base < g->layers[i].count && pos >= g->layers[i].base)
			return &g->layers[i];
	return NULL;
}

static int pos_oid(const ug_commitgraph *g, uint32_t pos, ug_oid *out)
{
	const struct layer *l = layer_of(g, pos);

	if (!l)
		return ug_error(UG_ECORRUPT, "commit-graph: parent position %u out of range", pos);
	ug_oid_fromraw(out, l->oids + (size_t)(pos - l->base) * g->rawsz, g->algo);
	return 0;
}

/* An octopus merge: 1 + the extra edges from index i through the one flagged last. */
static int count_edges(const struct layer *l, size_t i, size_t *n)
{
	for (*n = 2; i < l->nedges; i++, (*n)++)
		if (be32(l->edges + 4 * i) & EDGE_FLAG)
			return 0;
	return ug_error(UG_ECORRUPT, "commit-graph: extra edges run past their chunk");
}

int ug_commitgraph_lookup(const ug_commitgraph *g, const ug_oid *oid, ug_graph_commit *out)
{
	for (size_t i = g ? g->nlayers : 0; i-- > 0;) {
		const struct layer *l = &g->layers[i];
		uint32_t lo = oid->id[0] ? be32(l->fanout + 4 * (oid->id[0] - 1)) : 0;
		uint32_t hi = be32(l->fanout + 4 * oid->id[0]);

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			int c = memcmp(l->oids + (size_t)mid * g->rawsz, oid->id, g->rawsz);

			if (c == 0) {
				const unsigned char *e = l->cdat + (size_t)mid * (g->rawsz + 16);
				uint32_t p1 = be32(e + g->rawsz), p2 = be32(e + g->rawsz + 4);
				uint32_t w = be32(e + g->rawsz + 8);

				memset(out, 0, sizeof(*out));
				out->pos = l->base + mid;
				ug_oid_fromraw(&out->tree, e, g->algo);
				out->generation = w >> 2;
				out->time = (int64_t)((uint64_t)(w & 3) << 32 | be32(e + g->rawsz + 12));
				if (p1 == PARENT_NONE && p2 != PARENT_NONE)
					return ug_error(UG_ECORRUPT, "commit-graph: a second parent without a first");
				out->nparents = p1 == PARENT_NONE ? 0 : p2 == PARENT_NONE ? 1 : 2;
				if (p2 != PARENT_NONE && (p2 & EDGE_FLAG)) {
					int err = count_edges(l, p2 & ~EDGE_FLAG, &out->nparents);

					if (err)
						return err;
				}
				return out->nparents ? pos_oid(g, p1, &out->parent) : 0;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return UG_ENOTFOUND;
}

/* The parent positions of the commit at pos; *n of them into a malloc'ed array. */
static int parent_positions(const ug_commitgraph *g, uint32_t pos, uint32_t **out, size_t *n)
{
	const struct layer *l = layer_of(g, pos);
	const unsigned char *e;
	uint32_t p1, p2, *m;
	size_t cap = 2;

	*n = 0;
	if (!l || !(*out = malloc(cap * sizeof(**out))))
		return l ? UG_ENOMEM : UG_ENOTFOUND;
	e = l->cdat + (size_t)(pos - l->base) * (g->rawsz + 16);
	p1 = be32(e + g->rawsz);
	p2 = be32(e + g->rawsz + 4);
	if (p1 != PARENT_NONE)
		(*out)[(*n)++] = p1;
	if (p1 == PARENT_NONE || p2 == PARENT_NONE)
		return 0;
	if (!(p2 & EDGE_FLAG)) {
		(*out)[(*n)++] = p2;
		return 0;
	}
	for (size_t i = p2 & ~EDGE_FLAG;; i++) {
		uint32_t v;

		if (i >= l->nedges)
			return ug_error(UG_ECORRUPT, "commit-graph: extra edges run past their chunk");
		v = be32(l->edges + 4 * i);
		if (!(m = ug_array_grow(*out, &cap, *n + 1, sizeof(*m), 2)))
			return UG_ENOMEM;
		*out = m;
		(*out)[(*n)++] = v & ~EDGE_FLAG;
		if (v & EDGE_FLAG)
			return 0;
	}
}

int ug_commitgraph_parents(const ug_commitgraph *g, uint32_t pos, ug_oid **parents, size_t *count)
{
	uint32_t *at = NULL;
	size_t n = 0;
	int err = parent_positions(g, pos, &at, &n);

	*parents = NULL;
	*count = 0;
	if (!err && !(*parents = malloc((n ? n : 1) * sizeof(**parents))))
		err = UG_ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		err = pos_oid(g, at[i], &(*parents)[i]);
	free(at);
	if (err) {
		free(*parents);
		*parents = NULL;
		return err;
	}
	*count = n;
	return 0;
}

/* --- changed-path filters --------------------------------------------------- */

static uint32_t rotl(uint32_t x, unsigned r)
{
	return x << r | x >> (32 - r);
}

/* A byte as git's filter version reads it: version 1 sign-extended a char. */
static uint32_t byte_at(const unsigned char *p, int version)
{
	return version == 1 ? (uint32_t)(int32_t)(signed char)*p : *p;
}

uint32_t ug_murmur3(uint32_t seed, const unsigned char *data, size_t len, int version)
{
	const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
	uint32_t h = seed, k;
	size_t blocks = len / 4, rest = len & 3;
	const unsigned char *tail = data + 4 * blocks;

	for (size_t i = 0; i < blocks; i++) {
		const unsigned char *b = data + 4 * i;

		k = byte_at(b, version) | byte_at(b + 1, version) << 8 | byte_at(b + 2, version) << 16 |
		    byte_at(b + 3, version) << 24;
		h ^= rotl(k * c1, 15) * c2;
		h = rotl(h, 13) * 5 + 0xe6546b64;
	}
	k = 0;
	if (rest == 3)
		k ^= byte_at(tail + 2, version) << 16;
	if (rest >= 2)
		k ^= byte_at(tail + 1, version) << 8;
	if (rest >= 1) {
		k ^= byte_at(tail, version);
		h ^= rotl(k * c1, 15) * c2;
	}
	h ^= (uint32_t)len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

bool ug_commitgraph_maybe_changed(const ug_commitgraph *g, uint32_t pos, const char *path, size_t len)
{
	const struct layer *l = g ? layer_of(g, pos) : NULL;
	uint32_t i, start, end, h0, h1;
	uint64_t bits;

	if (!l || !l->bidx || len == 0)
		return true;
	i = pos - l->base;
	start = i ? be32(l->bidx + 4 * (size_t)(i - 1)) : 0;
	end = be32(l->bidx + 4 * (size_t)i);
	bits = (uint64_t)(end - start) * 8;
	if (bits == 0)
		return true; /* no filter was computed for it */
	h0 = ug_murmur3(0x293ae76f, (const unsigned char *)path, len, (int)l->bloom_version);
	h1 = ug_murmur3(0x7e646e2c, (const unsigned char *)path, len, (int)l->bloom_version);
	for (uint32_t k = 0; k < l->bloom_k; k++) {
		uint64_t bit = (uint32_t)(h0 + k * h1) % bits;

		if (!(l->bdat[start + bit / 8] & (1u << (bit % 8))))
			return false;
	}
	return true;
}

bool ug_commitgraph_has_filters(const ug_commitgraph *g)
{
	for (size_t i = 0; g && i < g->nlayers; i++)
		if (!g->layers[i].bidx)
			return false;
	return g != NULL;
}

/* --- loading from a repository ------------------------------------------------ */

static bool exists(const char *dir, const char *name)
{
	char *p = NULL;
	struct stat st;
	bool yes;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return false;
	yes = stat(p, &st) == 0;
	free(p);
	return yes;
}

/* Map one file whole; 0, UG_ENOTFOUND if absent, or an error. */
static int map_file(ug_commitgraph *g, const char *path, const unsigned char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *m;

	if (fd < 0)
		return UG_ENOTFOUND;
	if (fstat(fd, &st) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX / 2) {
		close(fd);
		return ug_error(UG_ECORRUPT, "unreadable or empty");
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return ug_error(UG_ECORRUPT, "cannot map");
	g->maps[g->nmaps] = m;
	g->maplens[g->nmaps++] = (size_t)st.st_size;
	*data = m;
	*len = (size_t)st.st_size;
	return 0;
}

/* The file names of a chain, base first: "graph-HEX.graph" per line of the chain file. */
static int read_chain(const char *chain, ug_hash_algo algo, char ***names, size_t *n)
{
	FILE *f = fopen(chain, "re");
	char line[UG_OID_MAXHEX + 3];
	size_t hexsz = ug_hash_hexsz(algo);
	int err = 0;

	*names = NULL;
	*n = 0;
	if (!f)
		return UG_ENOTFOUND;
	while (!err && fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\n");
		char **m;

		if (len != hexsz || !ug_is_hex(line, len) || *n >= 255) {
			err = ug_error(UG_ECORRUPT, "chain file has a bad line");
			break;
		}
		line[len] = '\0';
		m = realloc(*names, (*n + 1) * sizeof(*m));
		if (!m || asprintf(&m[*n], "graph-%s.graph", line) < 0) {
			*names = m ? m : *names;
			err = UG_ENOMEM;
			break;
		}
		*names = m;
		(*n)++;
	}
	fclose(f);
	return err;
}

/* Map the chain's files (or the single file) into g; their bytes in data/lens. */
static int map_graph(ug_commitgraph *g, const char *objects, const unsigned char ***data, size_t **lens,
		     size_t *n, char **where)
{
	char *dir = NULL, **names = NULL;
	int err;

	*n = 0;
	if (asprintf(&dir, "%s/info/commit-graphs", objects) < 0)
		return UG_ENOMEM;
	if (asprintf(where, "%s/commit-graph-chain", dir) < 0) {
		free(dir);
		return UG_ENOMEM;
	}
	err = read_chain(*where, g->algo, &names, n);
	if (err == UG_ENOTFOUND) {
		free(*where);
		if (asprintf(where, "%s/info/commit-graph", objects) < 0)
			*where = NULL;
		names = calloc(1, sizeof(*names));
		if (!*where || !names || !(names[0] = strdup(*where)))
			err = UG_ENOMEM;
		else
			err = 0, *n = 1;
	}
	g->maps = calloc(*n ? *n : 1, sizeof(*g->maps));
	g->maplens = calloc(*n ? *n : 1, sizeof(*g->maplens));
	*data = calloc(*n ? *n : 1, sizeof(**data));
	*lens = calloc(*n ? *n : 1, sizeof(**lens));
	if (!err && (!g->maps || !g->maplens || !*data || !*lens))
		err = UG_ENOMEM;
	for (size_t i = 0; !err && i < *n; i++) {
		char *p = NULL;

		if (names[i][0] == '/')
			p = strdup(names[i]);
		else if (asprintf(&p, "%s/%s", dir, names[i]) < 0)
			p = NULL;
		err = p ? map_file(g, p, &(*data)[i], &(*lens)[i]) : UG_ENOMEM;
		if (err == UG_ENOTFOUND && *n > 1)
			err = ug_error(UG_ECORRUPT, "%s is missing", p);
		free(p);
	}
	for (size_t i = 0; names && i < *n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return err;
}

int ug_commitgraph_open(ug_commitgraph **out, struct ug_repo *repo)
{
	const char *common = ug_repo_commondir(repo);
	char *objects = NULL, *where = NULL;
	const unsigned char **data = NULL;
	size_t *lens = NULL, n = 0;
	ug_commitgraph *g = calloc(1, sizeof(*g));
	int err;

	*out = NULL;
	if (!g || asprintf(&objects, "%s/objects", common) < 0) {
		free(g);
		return UG_ENOMEM;
	}
	g->algo = ug_repo_algo(repo);
	/* as git: a shallow or grafted history is not what the graph describes */
	if (ug_repo_format(repo) != UG_FORMAT_GIT || exists(common, "shallow") || exists(common, "info/grafts")) {
		free(objects);
		ug_commitgraph_free(g);
		return 0;
	}
	err = map_graph(g, objects, &data, &lens, &n, &where);
	if (!err) {
		ug_commitgraph *parsed;

		err = ug_commitgraph_parse(&parsed, g->algo, data, lens, n);
		if (!err) {
			parsed->maps = g->maps;
			parsed->maplens = g->maplens;
			parsed->nmaps = g->nmaps;
			g->maps = NULL;
			g->maplens = NULL;
			g->nmaps = 0;
			*out = parsed;
		}
	}
	if (err && err != UG_ENOTFOUND && err != UG_ENOMEM)
		ug_log(UG_LOG_WARNING, "commit-graph %s: %s; not used", where ? where : objects, ug_error_last());
	free(data);
	free(lens);
	free(where);
	free(objects);
	ug_commitgraph_free(g);
	return err == UG_ENOMEM ? err : 0;
}
