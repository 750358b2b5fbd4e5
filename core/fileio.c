/* Small file and folder helpers the core shares: whole reads, complete and durable writes, folder fsyncs, mkdir -p, folder walks. */
#include "fileio.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t ug_fileio_pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int ug_fileio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ug_fileio_read_fd(int fd, const char *path, size_t size, char **buf, size_t *len)
{
	char *b = size < SIZE_MAX ? malloc(size + 1) : NULL;
	ssize_t got;

	*buf = NULL;
	*len = 0;
	if (!b)
		return ug_error(UG_ENOMEM, "out of memory");
	if ((got = ug_fileio_pread_all(fd, b, size, 0)) < 0) {
		int err = ug_error_os(UG_ERROR, "%s", path);

		free(b);
		return err;
	}
	b[got] = '\0';
	*buf = b;
	*len = (size_t)got;
	return 0;
}

int ug_fileio_read(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	int fd, err;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			return ug_error(UG_ENOTFOUND, "%s: not found", path);
		return ug_error_os(UG_ERROR, "%s", path);
	}
	if (fstat(fd, &st) < 0)
		err = ug_error_os(UG_ERROR, "%s", path);
	else if (S_ISDIR(st.st_mode))
		err = ug_error(UG_ENOTFOUND, "%s: is a directory", path);
	else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		err = ug_error(UG_EINVALID, "%s: not a regular file of at most %zu bytes", path, max);
	else
		err = ug_fileio_read_fd(fd, path, (size_t)st.st_size, buf, len);
	close(fd);
	return err;
}

int ug_fileio_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return ug_error_os(UG_ERROR, "cannot open %s", path);
	if (fsync(fd) < 0 && errno != EINVAL)
		err = ug_error_os(UG_ERROR, "cannot fsync %s", path);
	close(fd);
	return err;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int ug_fileio_mkdirs(const char *path, mode_t mode)
{
	char *p;
	int err = 0;

	if (is_dir(path))
		return 0; /* the common case: it is there */
	if (!(p = strdup(path)))
		return ug_error(UG_ENOMEM, "out of memory");
	/* One component at a time from the top; a folder made meanwhile is fine. */
	for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			err = errno == ENOTDIR ? ug_error(UG_ECONFLICT, "%s: a file is in the way of a folder", p)
					       : ug_error_os(UG_ERROR, "%s: cannot create", p);
			break;
		}
		if (!s)
			break;
		*s = '/';
	}
	if (!err && !is_dir(path))
		err = ug_error(UG_ECONFLICT, "%s: a file is in the way of a folder", path);
	free(p);
	return err;
}

int ug_fileio_mkdir_parents(const char *path, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	int err;

	if (!slash || slash == path)
		return 0;
	if (!(parent = strndup(path, (size_t)(slash - path))))
		return ug_error(UG_ENOMEM, "out of memory");
	err = ug_fileio_mkdirs(parent, mode);
	free(parent);
	return err;
}

int ug_fileio_write_durable(const char *dir, const char *name, const void *bytes, size_t len,
			    mode_t mode, bool sync)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tmp_obj_XXXXXX", dir) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return ug_error(UG_EINVALID, "%s: path too long", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return ug_error_os(UG_ERROR, "cannot create a temporary file in %s", dir);
	if (ug_fileio_write_all(fd, bytes, len) < 0)
		err = ug_error_os(UG_ERROR, "cannot write %s", tmp);
	else if (fchmod(fd, mode) < 0)
		err = ug_error_os(UG_ERROR, "cannot chmod %s", tmp);
	else if (sync && fsync(fd) < 0)
		err = ug_error_os(UG_ERROR, "cannot fsync %s", tmp);
	if (close(fd) < 0 && !err)
		err = ug_error_os(UG_ERROR, "cannot close %s", tmp);
	if (!err && link(tmp, path) < 0 && errno != EEXIST) {
		/* Filesystems without hard links: rename (replacing an identical file is harmless). */
		if (rename(tmp, path) < 0)
			err = ug_error_os(UG_ERROR, "cannot move %s to %s", tmp, path);
	}
	unlink(tmp); /* after a link, or after a failure; fails harmlessly after a rename */
	if (!err && sync)
		err = ug_fileio_fsync_dir(dir);
	return err;
}

int ug_fileio_dir_read(DIR *d, ug_fileio_visit visit, void *arg)
{
	struct dirent *de;
	int ret = 0;

	while (!ret && (de = readdir(d))) {
		const char *n = de->d_name;

		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		ret = visit(arg, dirfd(d), n, de->d_type);
	}
	closedir(d);
	return ret;
}

int ug_fileio_dir_each(const char *path, ug_fileio_visit visit, void *arg)
{
	DIR *d = opendir(path);

	if (!d) {
		int e = errno, err = ug_error_os(UG_ERROR, "cannot list %s", path);

		errno = e;
		return err;
	}
	return ug_fileio_dir_read(d, visit, arg);
}
