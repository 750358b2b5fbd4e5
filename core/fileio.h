/* Small file and folder helpers the core shares: whole reads, complete and durable writes, folder fsyncs, mkdir -p, folder walks. */
#ifndef UG_FILEIO_H
#define UG_FILEIO_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Thread safety: every function below may be called from any thread at once;
 * none keeps state. Those returning an ug error code set the calling thread's
 * message (error.h); those returning -1 leave errno set and the message to the
 * caller, which knows what the file is.
 */

/* Read up to len bytes of fd at offset off into buf, retrying EINTR and short
 * reads: the count (below len only at the end of the file), or -1 with errno set. */
ssize_t ug_fileio_pread_all(int fd, void *buf, size_t len, off_t off);

/* Write all len bytes of buf to fd, retrying EINTR and short writes: 0, or -1
 * with errno set. */
int ug_fileio_write_all(int fd, const void *buf, size_t len);

/*
 * Read size bytes from offset 0 of fd (opened on path, which only names it in
 * messages) into *buf: malloc'ed here, NUL-terminated, the caller's to free;
 * *len counts the bytes without the NUL, fewer than size when the file shrank
 * while read. *buf is NULL on failure (UG_ERROR or UG_ENOMEM).
 */
int ug_fileio_read_fd(int fd, const char *path, size_t size, char **buf, size_t *len);

/*
 * Read the regular file path whole, as ug_fileio_read_fd. It is opened
 * non-blocking, so a FIFO in its place cannot hang the caller. UG_ENOTFOUND
 * when path is missing, is a folder, or goes through a file; UG_EINVALID when
 * it is not a regular file or holds over max bytes; else UG_ERROR or UG_ENOMEM.
 */
int ug_fileio_read(const char *path, size_t max, char **buf, size_t *len);

/* fsync the folder path, so the names made or removed in it last: 0 or
 * UG_ERROR. A file system that cannot sync folders (EINVAL) counts as done. */
int ug_fileio_fsync_dir(const char *path);

/* mkdir -p: make every missing folder of path, path itself included, with
 * mode (before the umask). 0 when they are all folders, new or old;
 * UG_ECONFLICT when something else is in the way of one; else UG_ERROR. */
int ug_fileio_mkdirs(const char *path, mode_t mode);
/* The same for the folder path is in (every parent of path, not path itself;
 * nothing for a name without a folder, or one right under /). */
int ug_fileio_mkdir_parents(const char *path, mode_t mode);

/*
 * Write bytes into dir/name durably, never changing an existing name: a
 * temporary file "tmp_obj_XXXXXX" in dir written whole, given mode, fsync'ed,
 * hard-linked into place (renamed where hard links fail; an existing dir/name
 * wins, as it holds the same content under a content-addressed name), then dir
 * fsync'ed. With sync false both fsyncs are skipped (the caller syncs the file
 * system at the end of a batch). No temporary file survives; ENOSPC gives
 * UG_ENOSPC.
 */
int ug_fileio_write_durable(const char *dir, const char *name, const void *bytes, size_t len,
			    mode_t mode, bool sync);

/*
 * A folder walk's visitor: one entry of the folder open as dirfd, its name and
 * its d_type (DT_UNKNOWN on file systems that do not say). Non-zero stops the
 * walk, and the walk returns it: a negative error, or a positive "found".
 */
typedef int (*ug_fileio_visit)(void *arg, int dirfd, const char *name, unsigned char type);

/* Call visit for each entry of the open folder d but "." and "..", in
 * readdir order, until it returns non-zero; then close d (taken over: it is
 * closed in every case). 0, or what visit returned. */
int ug_fileio_dir_read(DIR *d, ug_fileio_visit visit, void *arg);

/* Open the folder path and walk it as ug_fileio_dir_read. When it cannot be
 * opened: UG_ENOTFOUND if it is missing, else UG_ERROR or UG_ENOMEM naming
 * it, with errno kept as opendir left it. */
int ug_fileio_dir_each(const char *path, ug_fileio_visit visit, void *arg);

#endif
