/* The object database: backends asked in order, an object cache and a delta-base cache, alternates, verify. */
#include "odb.h"

#include "array.h"
#include "cache.h"
#include "error.h"
#include "headcache.h"
#include "log.h"
#include "odb_backend.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_LIMIT ((size_t)256 << 20)
/* ug_odb_read_nested depth: REF_DELTA bases fetched across backends. */
#define MAX_NESTING 16
/* Types and sizes kept (ug_odb_read_header): a listing of 20,000 files, in
 * 1.5 MiB, out of the objects' share of the cap (a 64th of the cap at most). */
#define HEAD_BYTES ((size_t)1536 << 10)
#define MAX_ALTERNATE_DEPTH 5
#define MAX_ALTERNATES_FILE (1 << 20)

struct ug_odb {
	ug_hash_algo algo;
	ug_odb_backend **backends;
	size_t nbackends;
	ug_cache *objects; /* whole objects by id */
	ug_cache *bases;   /* delta bases by pack and offset */
	ug_headcache *heads; /* types and sizes asked lately */
	size_t limit;
	bool verify;
	char **dirs; /* real paths of the git object directories added, against alternate cycles */
	char *write_dir; /* where ug_odb_write puts objects (the first directory added) */
	size_t ndirs;
	ug_odb_missing_fn missing;       /* a partial clone's fetch, or NULL */
	void *missing_ctx;
};

/* How deep this thread is in ug_odb_read_nested (bounded by MAX_NESTING). */
static _Thread_local int nesting;

/* The cap is split: a quarter for delta bases (git's default is 96 MiB), the
 * rest for whole objects. One object may take a quarter of its share. */
static void split_limit(size_t limit, size_t *objects, size_t *objmax, size_t *bases,
			size_t *basemax, size_t *heads)
{
	*bases = limit / 4;
	*heads = limit / 64 < HEAD_BYTES ? limit / 64 : HEAD_BYTES;
	*objects = limit - *bases - *heads;
	*objmax = *objects / 4;
	*basemax = *bases / 2;
}

int ug_odb_new(ug_odb **out, ug_hash_algo algo)
{
	size_t ol, om, bl, bm, hb;
	ug_odb *odb;

	*out = NULL;
	if (algo != UG_HASH_SHA1 && algo != UG_HASH_SHA256)
		return ug_error(UG_EINVALID, "unknown hash algorithm %d", (int)algo);
	odb = calloc(1, sizeof(*odb));
	if (!odb)
		return ug_error(UG_ENOMEM, "cannot allocate an object database");
	odb->algo = algo;
	odb->limit = DEFAULT_LIMIT;
	split_limit(odb->limit, &ol, &om, &bl, &bm, &hb);
	if (ug_cache_new(&odb->objects, ol, om) || ug_cache_new(&odb->bases, bl, bm) ||
	    ug_headcache_new(&odb->heads, hb)) {
		ug_odb_free(odb);
		return UG_ENOMEM;
	}
	*out = odb;
	return 0;
}

void ug_odb_free(ug_odb *odb)
{
	if (!odb)
		return;
	for (size_t i = 0; i < odb->nbackends; i++)
		odb->backends[i]->free(odb->backends[i]);
	free(odb->backends);
	for (size_t i = 0; i < odb->ndirs; i++)
		free(odb->dirs[i]);
	free(odb->dirs);
	ug_cache_free(odb->objects);
	ug_cache_free(odb->bases);
	ug_headcache_free(odb->heads);
	free(odb->write_dir);
	free(odb);
}

ug_hash_algo ug_odb_algo(const ug_odb *odb)
{
	return odb->algo;
}

int ug_odb_add_backend(ug_odb *odb, ug_odb_backend *backend)
{
	ug_odb_backend **n = realloc(odb->backends, (odb->nbackends + 1) * sizeof(*n));

	if (!n) {
		backend->free(backend);
		return ug_error(UG_ENOMEM, "cannot add a backend");
	}
	odb->backends = n;
	odb->backends[odb->nbackends++] = backend;
	return 0;
}

void ug_odb_set_cache_limit(ug_odb *odb, size_t bytes)
{
	size_t ol, om, bl, bm, hb;

	odb->limit = bytes;
	split_limit(bytes, &ol, &om, &bl, &bm, &hb);
	ug_cache_set_limit(odb->objects, ol, om);
	ug_cache_set_limit(odb->bases, bl, bm);
	ug_headcache_set_bytes(odb->heads, hb);
}

void ug_odb_set_verify(ug_odb *odb, bool verify)
{
	odb->verify = verify;
}

static int not_found(ug_odb *odb, const ug_oid *oid)
{
	char hex[UG_OID_MAXHEX + 1];

	return ug_error(UG_ENOTFOUND, "object %s not found", ug_oid_tohex(hex, oid, odb->algo));
}

int ug_odb_refresh(ug_odb *odb)
{
	int first = 0;

	for (size_t i = 0; i < odb->nbackends; i++) {
		ug_odb_backend *b = odb->backends[i];
		int err = b->refresh ? b->refresh(b) : 0;

		if (err && !first)
			first = err;
	}
	return first;
}

/* After a miss and a refresh: a partial clone fetches the object (0: ask the
 * backends once more), anything else reports the miss (UG_ENOTFOUND ends the loop). */
static int ask_missing(ug_odb *odb, const ug_oid *oid)
{
	if (!odb->missing)
		return not_found(odb, oid);
	return odb->missing(odb->missing_ctx, oid);
}

void ug_odb_set_missing(ug_odb *odb, ug_odb_missing_fn fn, void *ctx)
{
	odb->missing = fn;
	odb->missing_ctx = ctx;
}

/* How far a search for an object goes when the backends miss it. */
enum reach {
	HERE = 1,    /* the backends as they are */
	REFRESHED,   /* and again after a refresh (new packs, new loose objects) */
	FETCHED,     /* and once more after the missing-object hook fetched it */
};

/* What one backend answers for a search: 0, an error, or UG_ENOTFOUND to ask the next. */
typedef int (*ask_fn)(ug_odb_backend *b, const ug_oid *oid, void *ctx);

/*
 * The one search of the backends: each in order until one answers other than
 * UG_ENOTFOUND (*from, when not NULL, names it); on a total miss, as far as
 * reach goes, refresh them all and ask again, then ask the missing-object hook
 * and, if it fetched, ask once more. UG_ENOTFOUND, with no message, when all
 * missed; an error of the hook as it reported it.
 */
static int ask_backends(ug_odb *odb, const ug_oid *oid, enum reach reach, ask_fn ask, void *ctx,
			ug_odb_backend **from)
{
	int err;

	for (int pass = HERE; pass <= (int)reach; pass++) {
		if (pass == REFRESHED)
			ug_odb_refresh(odb);
		else if (pass == FETCHED && (err = ask_missing(odb, oid)))
			return err;
		for (size_t i = 0; i < odb->nbackends; i++) {
			err = ask(odb->backends[i], oid, ctx);
			if (err != UG_ENOTFOUND) {
				if (from)
					*from = odb->backends[i];
				return err;
			}
		}
	}
	return UG_ENOTFOUND;
}

/* The object's type and bytes, or its type and size only (data NULL). */
struct ask_object {
	ug_otype *type;
	unsigned char **data;
	size_t *size;
};

static int ask_read(ug_odb_backend *b, const ug_oid *oid, void *ctx)
{
	struct ask_object *q = ctx;

	return q->data ? b->read(b, oid, q->type, q->data, q->size) : b->read_header(b, oid, q->type, q->size);
}

static int read_backends(ug_odb *odb, const ug_oid *oid, ug_otype *type, unsigned char **data,
			 size_t *size, ug_odb_backend **from)
{
	struct ask_object q = { type, data, size };
	int err = ask_backends(odb, oid, FETCHED, ask_read, &q, from);

	return err == UG_ENOTFOUND ? not_found(odb, oid) : err;
}

static int hash_with(ug_odb *odb, ug_odb_backend *b, ug_oid *out, ug_otype type, const void *data,
		     size_t len)
{
	if (b && b->hash)
		return b->hash(b, out, type, data, len);
	return ug_hash_object(out, odb->algo, type, data, len);
}

static int verify(ug_odb *odb, ug_odb_backend *b, const ug_oid *oid, ug_otype type,
		  const unsigned char *data, size_t size)
{
	char want[UG_OID_MAXHEX + 1], got[UG_OID_MAXHEX + 1];
	ug_oid actual;
	int err = hash_with(odb, b, &actual, type, data, size);

	if (err)
		return err;
	if (ug_oid_equal(&actual, oid))
		return 0;
	return ug_error(UG_ECORRUPT, "object %s is corrupt: its content hashes to %s",
			ug_oid_tohex(want, oid, odb->algo), ug_oid_tohex(got, &actual, odb->algo));
}

int ug_odb_read(ug_object **out, ug_odb *odb, const ug_oid *oid)
{
	ug_odb_backend *from = NULL;
	unsigned char *data;
	ug_otype type;
	size_t size;
	ug_object *obj;
	int err;

	*out = ug_cache_get(odb->objects, oid);
	if (*out)
		return 0;
	err = read_backends(odb, oid, &type, &data, &size, &from);
	if (!err && odb->verify && (err = verify(odb, from, oid, type, data, size)))
		free(data);
	if (err)
		return err; /* the message names the object; the caller logs it, once */
	obj = ug_object_new(oid, type, data, size);
	if (!obj)
		return ug_error(UG_ENOMEM, "cannot allocate an object");
	/* Trees, commits and tags are kept at once. A blob is kept when read a
	 * second time: a scan reading many blobs once (a copy, a grep, cat-file
	 * --batch) then flushes neither the trees nor the blobs that are reused. */
	if (type == UG_OBJ_BLOB)
		ug_cache_put_again(odb->objects, oid, obj);
	else
		ug_cache_put(odb->objects, oid, obj);
	*out = obj;
	return 0;
}

/* A stream of the object where its backend can give one (out stays NULL
 * where it cannot: a read then inflates it whole), its type and size. */
struct ask_stream {
	ug_otype *type;
	size_t *size;
	ug_zstream **out;
};

static int ask_stream(ug_odb_backend *b, const ug_oid *oid, void *ctx)
{
	struct ask_stream *q = ctx;

	return b->stream ? b->stream(b, oid, q->type, q->size, q->out) : b->read_header(b, oid, q->type, q->size);
}

int ug_odb_stream(ug_zstream **out, ug_odb *odb, const ug_oid *oid, ug_otype *type, size_t *size)
{
	struct ask_stream q = { type, size, out };
	int err;

	*out = NULL;
	/* verify hashes whole objects; a stream read out of order cannot be */
	if (odb->verify)
		return 0;
	err = ask_backends(odb, oid, REFRESHED, ask_stream, &q, NULL);
	return err == UG_ENOTFOUND ? not_found(odb, oid) : err;
}

int ug_odb_read_header(ug_odb *odb, const ug_oid *oid, ug_otype *type, size_t *size)
{
	ug_object *obj = ug_cache_peek(odb->objects, oid);
	int err;

	if (obj) {
		*type = obj->type;
		*size = obj->size;
		ug_object_free(obj);
		return 0;
	}
	if (ug_headcache_get(odb->heads, oid, type, size))
		return 0;
	err = read_backends(odb, oid, type, NULL, size, NULL);
	if (!err)
		ug_headcache_put(odb->heads, oid, *type, *size);
	return err;
}

int ug_odb_read_nested(ug_odb *odb, const ug_oid *oid, ug_otype *type, unsigned char **data,
		       size_t *size)
{
	ug_odb_backend *from;
	char hex[UG_OID_MAXHEX + 1];
	int err;

	if (nesting >= MAX_NESTING)
		return ug_error(UG_ECORRUPT, "delta bases of %s nest deeper than %d (a loop?)",
				ug_oid_tohex(hex, oid, odb->algo), MAX_NESTING);
	nesting++;
	err = read_backends(odb, oid, type, data, size, &from);
	nesting--;
	return err;
}

int ug_odb_read_scan(ug_odb *odb, ug_cache *bases, const ug_oid *oid, ug_otype *type,
		     unsigned char **data, size_t *size)
{
	int err;

	ug_odb_pack_scan(bases);
	err = ug_odb_read_nested(odb, oid, type, data, size);
	ug_odb_pack_scan(NULL);
	return err;
}

/* A pack's REF_DELTA base stored elsewhere (ug_pack_resolver.read): from
 * any backend, nested (so a loop across packs ends), its header only when
 * data is NULL. */
static int read_base(void *ctx, const ug_oid *oid, ug_otype *type, unsigned char **data,
		     size_t *size)
{
	return ug_odb_read_nested(ctx, oid, type, data, size);
}

/* Present in some backend; a damaged copy counts as present. */
static bool exists(ug_odb *odb, const ug_oid *oid, bool refresh)
{
	ug_object *obj = ug_cache_peek(odb->objects, oid);
	ug_otype type;
	size_t size;
	struct ask_object q = { &type, NULL, &size };

	if (obj) {
		ug_object_free(obj);
		return true;
	}
	return ask_backends(odb, oid, refresh ? REFRESHED : HERE, ask_read, &q, NULL) != UG_ENOTFOUND;
}

bool ug_odb_exists(ug_odb *odb, const ug_oid *oid)
{
	return exists(odb, oid, true);
}

bool ug_odb_exists_local(ug_odb *odb, const ug_oid *oid)
{
	return exists(odb, oid, false);
}

int ug_odb_resolve_prefix(ug_odb *odb, const char *hex, size_t len, ug_oid *out)
{
	ug_oid prefix, found;
	int count = 0, err;

	if (len < 4 || len > ug_hash_hexsz(odb->algo) || !ug_is_hex(hex, len))
		return ug_error(UG_EINVALID, "not an abbreviated object id: %.*s",
				(int)(len > 80 ? 80 : len), hex);
	if ((err = ug_oid_prefix_fromhex(&prefix, hex, len, odb->algo)))
		return err;
	memset(&found, 0, sizeof(found));
	for (int pass = 0; pass < 2 && count == 0; pass++) {
		if (pass == 1)
			ug_odb_refresh(odb);
		for (size_t i = 0; i < odb->nbackends && count < 2; i++) {
			ug_odb_backend *b = odb->backends[i];

			if (!b->find_prefix)
				continue;
			err = b->find_prefix(b, &prefix, len, &found, &count);
			if (err && err != UG_ENOTFOUND)
				return err;
		}
	}
	if (count == 0)
		return ug_error(UG_ENOTFOUND, "no object matches %.*s", (int)len, hex);
	if (count > 1)
		return ug_error(UG_EAMBIGUOUS, "%.*s matches several objects", (int)len, hex);
	*out = found;
	return 0;
}

static ug_odb_backend *writer(ug_odb *odb)
{
	for (size_t i = 0; i < odb->nbackends; i++)
		if (odb->backends[i]->write)
			return odb->backends[i];
	return NULL;
}

int ug_odb_hash(ug_odb *odb, ug_oid *out, ug_otype type, const void *data, size_t len)
{
	ug_odb_backend *b = writer(odb);

	if (!ug_otype_name(type))
		return ug_error(UG_EINVALID, "cannot hash an object of type %d", (int)type);
	if (!b && odb->nbackends)
		b = odb->backends[0];
	return hash_with(odb, b, out, type, data, len);
}

int ug_odb_write(ug_odb *odb, ug_oid *out, ug_otype type, const void *data, size_t len)
{
	ug_odb_backend *b = writer(odb);
	int err;

	if (!ug_otype_name(type))
		return ug_error(UG_EINVALID, "cannot write an object of type %d", (int)type);
	if (!b)
		return ug_error(UG_ERROR, "no writable object store");
	if ((err = hash_with(odb, b, out, type, data, len)))
		return err;
	/* Already stored (anywhere, even in a pack): nothing to do. No refresh:
	 * a miss is the usual case here. */
	if (exists(odb, out, false))
		return 0;
	return b->write(b, out, type, data, len);
}

void ug_odb_get_stats(ug_odb *odb, ug_odb_stats *out)
{
	ug_cache_stats o, b;

	ug_cache_get_stats(odb->objects, &o);
	ug_cache_get_stats(odb->bases, &b);
	out->cache_bytes = o.bytes + b.bytes;
	out->cache_limit = odb->limit;
	out->cache_objects = o.count;
	out->hits = o.hits;
	out->misses = o.misses;
}

/* A growing queue of object directories to add, breadth first. */
struct dirq {
	struct {
		char *path;
		int depth;
	} *v;
	size_t n, cap;
};

static int dirq_push(struct dirq *q, char *path, int depth)
{
	void *v = path ? ug_array_grow(q->v, &q->cap, q->n + 1, sizeof(*q->v), 8) : NULL;

	if (!v) {
		free(path);
		return ug_error(UG_ENOMEM, "cannot allocate a path");
	}
	q->v = v;
	q->v[q->n].path = path;
	q->v[q->n].depth = depth;
	q->n++;
	return 0;
}

static bool isoct(char c)
{
	return c >= '0' && c <= '7';
}

/* One line of objects/info/alternates: a path, or a C-quoted path. */
static char *alternate_path(const char *base, const char *line, size_t len)
{
	char *raw = malloc(len + 1), *out;
	size_t n = 0;

	if (!raw)
		return NULL;
	if (len >= 2 && line[0] == '"' && line[len - 1] == '"') {
		for (size_t i = 1; i + 1 < len; i++) {
			char c = line[i];

			if (c == '\\' && i + 2 < len) {
				c = line[++i];
				if (c >= '0' && c <= '3' && i + 3 < len && isoct(line[i + 1]) &&
				    isoct(line[i + 2])) {
					c = (char)((c - '0') * 64 + (line[i + 1] - '0') * 8 + (line[i + 2] - '0'));
					i += 2;
				} else if (c == 'n') {
					c = '\n';
				} else if (c == 't') {
					c = '\t';
				}
			}
			raw[n++] = c;
		}
	} else {
		memcpy(raw, line, len);
		n = len;
	}
	raw[n] = '\0';
	if (raw[0] == '/' || !raw[0])
		return raw;
	out = malloc(strlen(base) + n + 2);
	if (out)
		sprintf(out, "%s/%s", base, raw);
	free(raw);
	return out;
}

static int read_alternates(struct dirq *q, const char *dir, int depth)
{
	char path[PATH_MAX];
	char *buf;
	FILE *f;
	size_t len;
	int err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/info/alternates", dir) >= sizeof(path))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	buf = malloc(MAX_ALTERNATES_FILE);
	if (!buf) {
		fclose(f);
		return ug_error(UG_ENOMEM, "cannot read %s", path);
	}
	len = fread(buf, 1, MAX_ALTERNATES_FILE, f);
	fclose(f);
	if (depth >= MAX_ALTERNATE_DEPTH) {
		if (len)
			ug_log(UG_LOG_WARNING, "%s: alternates nest deeper than %d, ignored", path,
			       MAX_ALTERNATE_DEPTH);
		free(buf);
		return 0;
	}
	for (size_t i = 0; i < len && !err;) {
		const char *line = buf + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;

		i += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		err = dirq_push(q, alternate_path(dir, line, n), depth + 1);
	}
	free(buf);
	return err;
}

static int add_dir(ug_odb *odb, const char *real)
{
	ug_pack_resolver res = { .read = read_base, .ctx = odb, .bases = odb->bases, .bases_again = true };
	ug_odb_backend *b;
	char **n;
	int err;

	n = realloc(odb->dirs, (odb->ndirs + 1) * sizeof(*n));
	if (!n)
		return ug_error(UG_ENOMEM, "cannot add %s", real);
	odb->dirs = n;
	if (!(odb->dirs[odb->ndirs] = strdup(real)))
		return ug_error(UG_ENOMEM, "cannot add %s", real);
	odb->ndirs++;
	if ((err = ug_odb_pack_new(&b, real, odb->algo, &res)) || (err = ug_odb_add_backend(odb, b)))
		return err;
	if ((err = ug_odb_loose_new(&b, real, odb->algo)) || (err = ug_odb_add_backend(odb, b)))
		return err;
	return 0;
}

int ug_odb_add_git(ug_odb *odb, const char *objects_dir)
{
	struct dirq q = {0};
	struct stat st;
	int err;

	if (stat(objects_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ug_error(UG_ENOTFOUND, "%s: not an objects directory", objects_dir);
	err = dirq_push(&q, strdup(objects_dir), 0);
	for (size_t i = 0; i < q.n && !err; i++) {
		char *real = realpath(q.v[i].path, NULL);
		bool seen = false;

		if (!real) {
			/* git warns about a missing alternate and goes on; so do we. */
			ug_log(UG_LOG_WARNING, "alternate object directory %s: %s", q.v[i].path,
			       strerror(errno));
			continue;
		}
		for (size_t k = 0; k < odb->ndirs && !seen; k++)
			seen = !strcmp(odb->dirs[k], real);
		if (!seen && !(err = add_dir(odb, real)))
			err = read_alternates(&q, real, q.v[i].depth);
		free(real);
	}
	for (size_t i = 0; i < q.n; i++)
		free(q.v[i].path);
	free(q.v);
	if (!err && !odb->write_dir && !(odb->write_dir = strdup(objects_dir)))
		err = ug_error(UG_ENOMEM, "out of memory");
	return err;
}

int ug_odb_add_ugit(ug_odb *odb, const char *objects_dir)
{
	ug_odb_backend *b;
	int err;

	if (odb->algo != UG_HASH_SHA1)
		return ug_error(UG_EINVALID, "ugit objects are SHA-1 only");
	if ((err = ug_odb_ugit_new(&b, objects_dir)))
		return err;
	if (!odb->write_dir && !(odb->write_dir = strdup(objects_dir))) {
		b->free(b);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	return ug_odb_add_backend(odb, b);
}

void ug_odb_prefix_burst_begin(ug_odb *odb)
{
	(void)odb;
	ug_odb_loose_burst(true);
}

void ug_odb_prefix_burst_end(ug_odb *odb)
{
	(void)odb;
	ug_odb_loose_burst(false);
}

int ug_odb_batch_begin(ug_odb *odb)
{
	int fd;

	assert(ug_odb_loose_batch_fd() < 0);
	if (!odb->write_dir)
		return ug_error(UG_EINVALID, "no writable object directory");
	fd = open(odb->write_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ug_error_os(UG_ERROR, "cannot open %s", odb->write_dir);
	ug_odb_loose_batch(fd);
	return 0;
}

int ug_odb_batch_end(ug_odb *odb)
{
	int fd = ug_odb_loose_batch_fd(), err = 0;

	if (fd < 0)
		return 0;
	ug_odb_loose_batch(-1);
	if (syncfs(fd) < 0)
		err = ug_error_os(UG_ERROR, "cannot sync the objects written to %s", odb->write_dir);
	close(fd);
	return err;
}
