/* The loose backend: objects/xx/yyyy files holding zlib "TYPE SIZE\0CONTENT", read and written durably. */
#include "odb_backend.h"

#include "array.h"
#include "error.h"
#include "fileio.h"
#include "zinflate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* git's core.looseCompression default: loose objects favour speed. */
#define LOOSE_LEVEL 1
/* "commit 18446744073709551615\0" fits. */
#define MAX_HEADER 32
/* Enough compressed bytes for the header in any sane stream; else read it all. */
#define HEAD_READ 4096

struct loose_backend {
	ug_odb_backend base;
	char *dir;
	ug_hash_algo algo;
};

static int obj_path(const struct loose_backend *lb, const ug_oid *oid, char *buf, size_t size)
{
	char hex[UG_OID_MAXHEX + 1];

	ug_oid_tohex(hex, oid, lb->algo);
	if ((size_t)snprintf(buf, size, "%s/%.2s/%s", lb->dir, hex, hex + 2) >= size)
		return ug_error(UG_EINVALID, "%s: path too long", lb->dir);
	return 0;
}

/* Open a loose object file; *filesize is its length (never 0). Messages
 * leave the path to the caller's prefix. */
static int open_obj(const char *path, int *fd, size_t *filesize)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT ? UG_ENOTFOUND : ug_error_os(UG_ERROR, "cannot open it");
	if (fstat(*fd, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size >= SIZE_MAX) {
		int err = st.st_size <= 0 ? ug_error(UG_ECORRUPT, "empty file")
					  : ug_error_os(UG_ERROR, "cannot stat it");

		close(*fd);
		*fd = -1;
		return err;
	}
	*filesize = (size_t)st.st_size;
	return 0;
}

/* Read want bytes from offset 0 of fd into a new buffer (*buf, malloc'ed). */
static int read_prefix(int fd, size_t want, unsigned char **buf)
{
	unsigned char *b = malloc(want ? want : 1);
	ssize_t got;

	*buf = NULL;
	if (!b)
		return ug_error(UG_ENOMEM, "cannot allocate %zu bytes", want);
	if ((got = ug_fileio_pread_all(fd, b, want, 0)) < 0 || (size_t)got < want) {
		int e = got < 0 ? ug_error_os(UG_ERROR, "cannot read it")
				: ug_error(UG_ECORRUPT, "file shrank while read");
		free(b);
		return e;
	}
	*buf = b;
	return 0;
}

/*
 * Parse "TYPE SIZE\0" strictly, as git does: a known type, one space, a
 * canonical decimal size (no sign, no leading zero, no junk). UG_ENOTFOUND
 * when the bytes stop before the NUL (the caller may have more).
 */
static int parse_header(const unsigned char *h, size_t n, ug_otype *type, size_t *size,
			size_t *hdrlen)
{
	const unsigned char *sp = memchr(h, ' ', n < MAX_HEADER ? n : MAX_HEADER), *p, *end = h + n;
	size_t v = 0;

	if (!sp)
		return n < MAX_HEADER ? UG_ENOTFOUND : ug_error(UG_ECORRUPT, "bad loose object header");
	*type = ug_otype_parse((const char *)h, (size_t)(sp - h));
	if (*type == UG_OBJ_BAD)
		return ug_error(UG_ECORRUPT, "unknown type in loose object header");
	p = sp + 1;
	if (p < end && *p == '0' && p + 1 < end && p[1] != '\0')
		return ug_error(UG_ECORRUPT, "loose object size has a leading zero");
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (SIZE_MAX - 9) / 10)
			return ug_error(UG_ECORRUPT, "loose object size overflows");
		v = v * 10 + (size_t)(*p - '0');
	}
	if (p == end)
		return n < MAX_HEADER ? UG_ENOTFOUND : ug_error(UG_ECORRUPT, "bad loose object header");
	if (*p != '\0' || p == sp + 1)
		return ug_error(UG_ECORRUPT, "bad size in loose object header");
	*size = v;
	*hdrlen = (size_t)(p + 1 - h);
	return 0;
}

/* The header from the first bytes of the compressed file. */
static int inflate_header(const unsigned char *z, size_t zlen, bool whole, ug_otype *type,
			  size_t *size, size_t *hdrlen)
{
	unsigned char head[MAX_HEADER];
	size_t got;
	int err;

	if ((err = ug_zinflate_head(z, zlen, head, sizeof(head), &got)))
		return err;
	err = parse_header(head, got, type, size, hdrlen);
	if (err == UG_ENOTFOUND && whole)
		return ug_error(UG_ECORRUPT, "loose object header is truncated");
	return err;
}

static int blame(int err, const struct loose_backend *lb, const ug_oid *oid, const char *path)
{
	char hex[UG_OID_MAXHEX + 1];

	return ug_error_prefix(err, "loose object %s (%s)", ug_oid_tohex(hex, oid, lb->algo), path);
}

/*
 * Type, size and header length of an open loose object, from its first
 * bytes (all of them only for a header deep in a strange stream). The size
 * is checked against the file's: no allocation follows a size claim that
 * the file cannot back, nor a file larger than any stream of that size.
 */
static int read_head(int fd, size_t filesize, ug_otype *type, size_t *size, size_t *hdrlen)
{
	size_t want = filesize < HEAD_READ ? filesize : HEAD_READ;
	unsigned char *z;
	int err;

	if ((err = read_prefix(fd, want, &z)))
		return err;
	err = inflate_header(z, want, want == filesize, type, size, hdrlen);
	free(z);
	if (err == UG_ENOTFOUND) {
		if (filesize > ug_zinflate_max_size())
			return ug_error(UG_ECORRUPT, "no header in the first %d bytes of a %zu-byte file",
					HEAD_READ, filesize);
		if ((err = read_prefix(fd, filesize, &z)))
			return err;
		err = inflate_header(z, filesize, true, type, size, hdrlen);
		free(z);
	}
	if (!err)
		err = ug_zinflate_check_size(*size, filesize);
	if (!err && filesize > ug_zinflate_bound(*hdrlen + *size))
		err = ug_error(UG_ECORRUPT, "%zu bytes are more than any zlib stream of %zu bytes",
			       filesize, *size);
	return err;
}

static int loose_read(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, unsigned char **data,
		      size_t *size)
{
	struct loose_backend *lb = (struct loose_backend *)b;
	char path[PATH_MAX];
	unsigned char *z = NULL, *buf = NULL;
	size_t filesize, hdrlen, used;
	int fd, err;

	*data = NULL;
	if ((err = obj_path(lb, oid, path, sizeof(path))))
		return err;
	if ((err = open_obj(path, &fd, &filesize)))
		return err == UG_ENOTFOUND ? err : blame(err, lb, oid, path);
	if (!(err = read_head(fd, filesize, type, size, &hdrlen)) &&
	    !(err = read_prefix(fd, filesize, &z)) && !(buf = malloc(hdrlen + *size + 1)))
		err = ug_error(UG_ENOMEM, "cannot allocate %zu bytes", *size);
	close(fd);
	/* libdeflate wants the whole output at once: inflate the header too, then slide. */
	if (!err)
		err = ug_zinflate(z, filesize, buf, hdrlen + *size, &used);
	free(z);
	if (!err && used != filesize)
		err = ug_error(UG_ECORRUPT, "garbage after the zlib stream");
	if (err) {
		free(buf);
		return blame(err, lb, oid, path);
	}
	memmove(buf, buf + hdrlen, *size);
	buf[*size] = '\0';
	*data = buf;
	return 0;
}

/* Open oid's file and read its header (*hdrlen: its length once inflated):
 * *fd is left open (the caller closes it) only on success. */
static int open_head(struct loose_backend *lb, const ug_oid *oid, int *fd, ug_otype *type, size_t *size,
		     size_t *hdrlen)
{
	char path[PATH_MAX];
	size_t filesize;
	int err;

	if ((err = obj_path(lb, oid, path, sizeof(path))))
		return err;
	if ((err = open_obj(path, fd, &filesize)))
		return err == UG_ENOTFOUND ? err : blame(err, lb, oid, path);
	if ((err = read_head(*fd, filesize, type, size, hdrlen))) {
		close(*fd);
		return blame(err, lb, oid, path);
	}
	return 0;
}

static int loose_read_header(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, size_t *size)
{
	size_t hdrlen;
	int fd, err = open_head((struct loose_backend *)b, oid, &fd, type, size, &hdrlen);

	if (!err)
		close(fd);
	return err;
}

struct loose_source {
	int fd;
};

static int loose_source_read(void *ctx, uint64_t off, unsigned char *buf, size_t len, size_t *got)
{
	struct loose_source *ls = ctx;
	ssize_t n;

	do
		n = pread(ls->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ug_error_os(UG_ERROR, "cannot read a loose object");
	*got = (size_t)n;
	return 0;
}

static void loose_source_free(void *ctx)
{
	struct loose_source *ls = ctx;

	close(ls->fd);
	free(ls);
}

/* Loose objects are stored whole: each one streams, read through its descriptor. */
static int loose_stream(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, size_t *size,
			ug_zstream **out)
{
	struct loose_source *ls;
	size_t hdrlen;
	int fd, err;

	*out = NULL;
	if ((err = open_head((struct loose_backend *)b, oid, &fd, type, size, &hdrlen)))
		return err;
	if (!(ls = malloc(sizeof(*ls)))) {
		close(fd);
		return ug_error(UG_ENOMEM, "cannot allocate a stream");
	}
	ls->fd = fd;
	return ug_zstream_new(out, loose_source_read, ls, loose_source_free, hdrlen, *size);
}

struct prefix_search {
	const ug_oid *prefix;
	size_t len;
	ug_oid *found;
	int *count;
	ug_hash_algo algo;
	unsigned xx; /* the fan-out directory read */
};

/* Merge the object file name if it matches; stop once two ids did. */
static int match_name(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct prefix_search *ps = arg;
	size_t hexsz = ug_hash_hexsz(ps->algo);
	char hex[UG_OID_MAXHEX + 1];
	ug_oid cand;

	(void)dirfd;
	(void)type;
	if (*ps->count >= 2)
		return 1;
	if (strlen(name) != hexsz - 2)
		return 0;
	snprintf(hex, sizeof(hex), "%02x", ps->xx);
	memcpy(hex + 2, name, hexsz - 2);
	if (ug_oid_fromhex(&cand, hex, hexsz, ps->algo))
		return 0;
	if (ug_oid_prefix_match(&cand, ps->prefix, ps->len))
		ug_oid_prefix_merge(ps->found, ps->count, &cand);
	return 0;
}

/*
 * A burst of lookups on this thread (ug_odb_loose_burst): the ids of each
 * fan-out directory of each loose backend asked, listed once, kept until the
 * burst ends.
 */
struct burst {
	const struct loose_backend *lb;
	bool listed[256];
	ug_oid *ids[256];
	size_t n[256], cap[256];
	struct burst *next;
};
static _Thread_local bool burst_on;
static _Thread_local struct burst *bursts;

void ug_odb_loose_burst(bool on)
{
	while (bursts) {
		struct burst *next = bursts->next;

		for (size_t i = 0; i < 256; i++)
			free(bursts->ids[i]);
		free(bursts);
		bursts = next;
	}
	burst_on = on;
}

/* Keep one name of a fan-out directory in the burst's list. */
static int keep_name(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct prefix_search *ps = arg;
	struct burst *bu = bursts;
	size_t hexsz = ug_hash_hexsz(ps->algo), x = ps->xx;
	char hex[UG_OID_MAXHEX + 1];
	ug_oid *v;

	(void)dirfd;
	(void)type;
	if (strlen(name) != hexsz - 2)
		return 0;
	snprintf(hex, sizeof(hex), "%02x", ps->xx);
	memcpy(hex + 2, name, hexsz - 2);
	if (!(v = ug_array_grow(bu->ids[x], &bu->cap[x], bu->n[x] + 1, sizeof(*v), 16)))
		return UG_ENOMEM;
	bu->ids[x] = v;
	if (!ug_oid_fromhex(&bu->ids[x][bu->n[x]], hex, hexsz, ps->algo))
		bu->n[x]++;
	return 0;
}

/* The burst's list of lb's fan-out directory path (ps->xx), read now if it
 * was not; NULL when there is no burst (or no memory for one). */
static const struct burst *burst_list(const struct loose_backend *lb, const char *path, struct prefix_search *ps)
{
	struct burst *bu;

	if (!burst_on)
		return NULL;
	for (bu = bursts; bu && bu->lb != lb; bu = bu->next)
		;
	if (!bu) {
		if (!(bu = calloc(1, sizeof(*bu))))
			return NULL;
		bu->lb = lb;
		bu->next = bursts;
		bursts = bu;
	}
	if (bu != bursts) { /* keep_name fills the first */
		struct burst **p = &bursts;

		while (*p != bu)
			p = &(*p)->next;
		*p = bu->next;
		bu->next = bursts;
		bursts = bu;
	}
	if (!bu->listed[ps->xx]) {
		DIR *d = opendir(path);

		bu->listed[ps->xx] = true;
		if (d && ug_fileio_dir_read(d, keep_name, ps)) {
			bu->listed[ps->xx] = false; /* out of memory: list it again next time */
			bu->n[ps->xx] = 0;
		}
	}
	return bu->listed[ps->xx] ? bu : NULL;
}

static int loose_find_prefix(ug_odb_backend *b, const ug_oid *prefix, size_t len, ug_oid *found,
			     int *count)
{
	struct loose_backend *lb = (struct loose_backend *)b;
	struct prefix_search ps = { prefix, len, found, count, lb->algo, 0 };
	char path[PATH_MAX];
	unsigned first = prefix->id[0], lo = first, hi = first;

	/* Only the fan-out directories the first digits allow. */
	if (len < 2) {
		lo = first & 0xf0;
		hi = lo | 0x0f;
	}
	for (ps.xx = lo; ps.xx <= hi && *count < 2; ps.xx++) {
		const struct burst *bu;

		if ((size_t)snprintf(path, sizeof(path), "%s/%02x", lb->dir, ps.xx) >= sizeof(path))
			return ug_error(UG_EINVALID, "%s: path too long", lb->dir);
		if (!(bu = burst_list(lb, path, &ps))) {
			ug_fileio_dir_each(path, match_name, &ps); /* a directory not there holds none */
			continue;
		}
		for (size_t i = 0; i < bu->n[ps.xx] && *count < 2; i++)
			if (ug_oid_prefix_match(&bu->ids[ps.xx][i], prefix, len))
				ug_oid_prefix_merge(found, count, &bu->ids[ps.xx][i]);
	}
	return 0;
}

static int loose_hash(ug_odb_backend *b, ug_oid *out, ug_otype type, const void *data, size_t len)
{
	return ug_hash_object(out, ((struct loose_backend *)b)->algo, type, data, len);
}

/* A batch on this thread (ug_odb_batch_begin): writes skip their own fsyncs,
 * and batch_fd, opened before the first write, gets one syncfs at the end. */
static _Thread_local int batch_fd = -1;

void ug_odb_loose_batch(int fd)
{
	batch_fd = fd;
}

int ug_odb_loose_batch_fd(void)
{
	return batch_fd;
}

static int fsync_dir(const char *path)
{
	return batch_fd >= 0 ? 0 : ug_fileio_fsync_dir(path);
}

static int loose_write(ug_odb_backend *b, const ug_oid *oid, ug_otype type, const void *data,
		       size_t len)
{
	struct loose_backend *lb = (struct loose_backend *)b;
	char hex[UG_OID_MAXHEX + 1], sub[PATH_MAX], hdr[32];
	size_t hdrlen = ug_object_header(hdr, type, len), zlen;
	unsigned char *z;
	bool made_dir = false;
	struct stat st;
	int err;

	ug_oid_tohex(hex, oid, lb->algo);
	if ((size_t)snprintf(sub, sizeof(sub), "%s/%.2s", lb->dir, hex) >= sizeof(sub))
		return ug_error(UG_EINVALID, "%s: path too long", lb->dir);
	if ((err = ug_zdeflate(&z, &zlen, hdr, hdrlen, data, len, LOOSE_LEVEL)))
		return err;
	if (mkdir(sub, 0777) == 0)
		made_dir = true;
	else if (errno != EEXIST || stat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
		err = ug_error_os(UG_ERROR, "cannot create %s", sub);
	if (!err)
		err = ug_fileio_write_durable(sub, hex + 2, z, zlen, 0444, batch_fd < 0);
	free(z);
	/* A new fan-out directory is only durable once objects/ is synced too. */
	if (!err && made_dir)
		err = fsync_dir(lb->dir);
	if (err)
		return ug_error_prefix(err, "cannot write object %s", hex);
	return 0;
}

static void loose_free(ug_odb_backend *b)
{
	struct loose_backend *lb = (struct loose_backend *)b;

	free(lb->dir);
	free(lb);
}

int ug_odb_loose_new(ug_odb_backend **out, const char *objects_dir, ug_hash_algo algo)
{
	struct loose_backend *lb = calloc(1, sizeof(*lb));

	*out = NULL;
	if (!lb || !(lb->dir = strdup(objects_dir))) {
		free(lb);
		return ug_error(UG_ENOMEM, "cannot allocate a loose backend");
	}
	lb->algo = algo;
	lb->base.read = loose_read;
	lb->base.read_header = loose_read_header;
	lb->base.stream = loose_stream;
	lb->base.find_prefix = loose_find_prefix;
	lb->base.write = loose_write;
	lb->base.hash = loose_hash;
	lb->base.free = loose_free;
	*out = &lb->base;
	return 0;
}
