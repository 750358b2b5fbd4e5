/* The ugit backend: flat objects_dir/<40 hex> files holding "TYPE\0CONTENT" uncompressed; id = SHA-1 of the file. */
#include "odb_backend.h"

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

/* "commit\0" is the longest type with its NUL. */
#define MAX_TYPE 8

struct ugit_backend {
	ug_odb_backend base;
	char *dir;
};

static int obj_path(const struct ugit_backend *ub, const ug_oid *oid, char *buf, size_t size,
		    char *hex)
{
	ug_oid_tohex(hex, oid, UG_HASH_SHA1);
	if ((size_t)snprintf(buf, size, "%s/%s", ub->dir, hex) >= size)
		return ug_error(UG_EINVALID, "%s: path too long", ub->dir);
	return 0;
}

/* The type before the NUL in the first bytes of a file; *hdrlen includes the NUL. */
static int parse_type(const unsigned char *p, size_t n, ug_otype *type, size_t *hdrlen)
{
	const unsigned char *nul = memchr(p, '\0', n < MAX_TYPE ? n : MAX_TYPE);

	if (!nul)
		return ug_error(UG_ECORRUPT, "no type at the start of the object");
	*type = ug_otype_parse((const char *)p, (size_t)(nul - p));
	if (*type == UG_OBJ_BAD)
		return ug_error(UG_ECORRUPT, "unknown object type \"%.*s\"", (int)(nul - p), p);
	*hdrlen = (size_t)(nul - p) + 1;
	return 0;
}

static int open_obj(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? UG_ENOTFOUND : ug_error_os(UG_ERROR, "cannot open %s", path);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		int err = ug_error_os(UG_ERROR, "%s: not a readable file", path);

		close(fd);
		return err;
	}
	return fd;
}

static int read_exact(int fd, unsigned char *buf, size_t len, const char *path)
{
	ssize_t got = ug_fileio_pread_all(fd, buf, len, 0);

	if (got < 0)
		return ug_error_os(UG_ERROR, "cannot read %s", path);
	if ((size_t)got < len)
		return ug_error(UG_ECORRUPT, "%s: file shrank while read", path);
	return 0;
}

static int ugit_read(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, unsigned char **data,
		     size_t *size)
{
	struct ugit_backend *ub = (struct ugit_backend *)b;
	char path[PATH_MAX], hex[UG_OID_MAXHEX + 1];
	unsigned char *buf;
	struct stat st;
	size_t len, hdrlen;
	int fd, err;

	*data = NULL;
	if ((err = obj_path(ub, oid, path, sizeof(path), hex)))
		return err;
	if ((fd = open_obj(path, &st)) < 0)
		return fd;
	len = (size_t)st.st_size;
	if ((uint64_t)st.st_size > ug_zinflate_max_size()) {
		close(fd);
		return ug_error(UG_ECORRUPT, "ugit object %s: %zu bytes is over the size limit", hex, len);
	}
	buf = malloc(len + 1);
	if (!buf) {
		close(fd);
		return ug_error(UG_ENOMEM, "cannot allocate %zu bytes for %s", len, path);
	}
	err = read_exact(fd, buf, len, path);
	close(fd);
	if (!err)
		err = parse_type(buf, len, type, &hdrlen);
	if (err) {
		free(buf);
		return ug_error_prefix(err, "ugit object %s", hex);
	}
	*size = len - hdrlen;
	memmove(buf, buf + hdrlen, *size);
	buf[*size] = '\0';
	*data = buf;
	return 0;
}

static int ugit_read_header(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, size_t *size)
{
	struct ugit_backend *ub = (struct ugit_backend *)b;
	char path[PATH_MAX], hex[UG_OID_MAXHEX + 1];
	unsigned char head[MAX_TYPE];
	struct stat st;
	size_t n, hdrlen;
	int fd, err;

	if ((err = obj_path(ub, oid, path, sizeof(path), hex)))
		return err;
	if ((fd = open_obj(path, &st)) < 0)
		return fd;
	/* The same limit as a whole read: a size no read would deliver is no size. */
	if ((uint64_t)st.st_size > ug_zinflate_max_size()) {
		close(fd);
		return ug_error(UG_ECORRUPT, "ugit object %s: %llu bytes is over the size limit", hex,
				(unsigned long long)st.st_size);
	}
	n = (size_t)st.st_size < sizeof(head) ? (size_t)st.st_size : sizeof(head);
	err = read_exact(fd, head, n, path);
	close(fd);
	if (!err)
		err = parse_type(head, n, type, &hdrlen);
	if (err)
		return ug_error_prefix(err, "ugit object %s", hex);
	*size = (size_t)st.st_size - hdrlen;
	return 0;
}

struct prefix_search {
	const ug_oid *prefix;
	size_t len;
	ug_oid *found;
	int *count;
};

/* Merge the object file name if it matches; stop once two ids did. */
static int match_name(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct prefix_search *ps = arg;
	ug_oid cand;

	(void)dirfd;
	(void)type;
	if (*ps->count >= 2)
		return 1;
	if (strlen(name) != 40 || ug_oid_fromhex(&cand, name, 40, UG_HASH_SHA1))
		return 0;
	if (ug_oid_prefix_match(&cand, ps->prefix, ps->len))
		ug_oid_prefix_merge(ps->found, ps->count, &cand);
	return 0;
}

static int ugit_find_prefix(ug_odb_backend *b, const ug_oid *prefix, size_t len, ug_oid *found,
			    int *count)
{
	struct ugit_backend *ub = (struct ugit_backend *)b;
	struct prefix_search ps = { prefix, len, found, count };
	int err = ug_fileio_dir_each(ub->dir, match_name, &ps);

	return err == UG_ENOTFOUND || err > 0 ? 0 : err;
}

static int ugit_hash(ug_odb_backend *b, ug_oid *out, ug_otype type, const void *data, size_t len)
{
	const char *name = ug_otype_name(type);
	ug_hash_ctx ctx;
	int err;

	(void)b;
	if (!name)
		return ug_error(UG_EINVALID, "cannot hash an object of type %d", (int)type);
	if ((err = ug_hash_init(&ctx, UG_HASH_SHA1)))
		return err;
	ug_hash_update(&ctx, name, strlen(name) + 1); /* the NUL belongs to the object */
	ug_hash_update(&ctx, data, len);
	return ug_hash_final(&ctx, out);
}

static int ugit_write(ug_odb_backend *b, const ug_oid *oid, ug_otype type, const void *data,
		      size_t len)
{
	struct ugit_backend *ub = (struct ugit_backend *)b;
	const char *name = ug_otype_name(type);
	char hex[UG_OID_MAXHEX + 1];
	size_t nlen = strlen(name) + 1;
	unsigned char *buf;
	int err;

	ug_oid_tohex(hex, oid, UG_HASH_SHA1);
	if (len > SIZE_MAX - nlen || !(buf = malloc(nlen + len)))
		return ug_error(UG_ENOMEM, "cannot allocate ugit object %s", hex);
	memcpy(buf, name, nlen);
	memcpy(buf + nlen, data, len);
	if (mkdir(ub->dir, 0777) < 0 && errno != EEXIST) {
		free(buf);
		return ug_error_os(UG_ERROR, "cannot create %s", ub->dir);
	}
	/* 0644, not git's 0444: the Python ugit rewrites existing objects in place. */
	err = ug_fileio_write_durable(ub->dir, hex, buf, nlen + len, 0644, ug_odb_loose_batch_fd() < 0);
	free(buf);
	return err ? ug_error_prefix(err, "cannot write ugit object %s", hex) : 0;
}

static void ugit_free(ug_odb_backend *b)
{
	struct ugit_backend *ub = (struct ugit_backend *)b;

	free(ub->dir);
	free(ub);
}

int ug_odb_ugit_new(ug_odb_backend **out, const char *objects_dir)
{
	struct ugit_backend *ub = calloc(1, sizeof(*ub));

	*out = NULL;
	if (!ub || !(ub->dir = strdup(objects_dir))) {
		free(ub);
		return ug_error(UG_ENOMEM, "cannot allocate a ugit backend");
	}
	ub->base.read = ugit_read;
	ub->base.read_header = ugit_read_header;
	ub->base.find_prefix = ugit_find_prefix;
	ub->base.write = ugit_write;
	ub->base.hash = ugit_hash;
	ub->base.free = ugit_free;
	*out = &ub->base;
	return 0;
}
