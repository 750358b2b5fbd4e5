/* ugit: the external tools the Python tool runs: GNU diff, diff3 -m, and Graphviz's dot. */
#include "ugit_internal.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

/* A temporary file holding these bytes; *path malloc'ed, to unlink and free. */
static int temp_with(const void *data, size_t len, char **path)
{
	*path = ugit_fmt("%s/ugit-XXXXXX", tmpdir());
	int fd = mkstemp(*path);
	if (fd < 0) {
		int rc = ug_error_os(UG_ERROR, "cannot make a temporary file in %s", tmpdir());
		free(*path);
		*path = NULL;
		return rc == UG_ENOTFOUND ? UG_ERROR : rc;
	}
	if (ug_fileio_write_all(fd, data, len) < 0) {
		int rc = ug_error_os(UG_ERROR, "cannot write %s", *path);
		close(fd);
		unlink(*path);
		free(*path);
		*path = NULL;
		return rc;
	}
	close(fd);
	return 0;
}

static int side_temp(ugit_ctx *c, const ugit_side *s, char **path)
{
	if (s->data || !s->oid)
		return temp_with(s->data ? s->data : (const unsigned char *)"", s->data ? s->len : 0, path);
	unsigned char *buf;
	size_t len;
	int rc = ugit_blob_read(c, s->oid, &buf, &len);
	if (rc < 0)
		return rc;
	rc = temp_with(buf, len, path);
	free(buf);
	return rc;
}

/*
 * Run argv with stdout going to out_fd and stderr to err_fd (-1: ours). Returns
 * the exit status (0..255), or a negative error: UG_ENOTFOUND when the program
 * is not installed.
 */
static int run(char *const argv[], int out_fd, int err_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (err_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	fflush(stdout);
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err == ENOENT)
		return ug_error(UG_ENOTFOUND, "%s is not installed", argv[0]);
	if (err)
		return ug_error(UG_ERROR, "cannot run %s: %s", argv[0], strerror(err));
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ug_error_os(UG_ERROR, "waiting for %s", argv[0]);
	}
	if (WIFSIGNALED(status))
		return ug_error(UG_ERROR, "%s was killed by signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}

int ugit_diff_blobs(ugit_ctx *c, const ugit_side *from, const ugit_side *to, const char *path)
{
	char *f1 = NULL, *f2 = NULL;
	int rc = side_temp(c, from, &f1);
	if (rc == 0)
		rc = side_temp(c, to, &f2);
	if (rc == 0) {
		char *la = ugit_fmt("a/%s", path), *lb = ugit_fmt("b/%s", path);
		char *argv[] = {"diff", "--unified", "--show-c-function", "--label", la, f1,
				"--label", lb, f2, NULL};
		rc = run(argv, -1, -1);
		if (rc == UG_ENOTFOUND)
			rc = ug_error(UG_ENOTFOUND, "GNU diff is not installed (apt-get install diffutils)");
		else if (rc > 1)
			rc = ug_error(UG_ERROR, "diff failed on %s (status %d)", path, rc);
		else if (rc > 0)
			rc = 0;
		free(la);
		free(lb);
	}
	if (f1)
		unlink(f1);
	if (f2)
		unlink(f2);
	free(f1);
	free(f2);
	return rc;
}

int ugit_diff_maps(ugit_ctx *c, const ugit_pmap *from, const ugit_pmap *to, bool to_worktree,
		   bool from_worktree)
{
	ugit_pmap all;
	ugit_pmap_init(&all);
	const ugit_pmap *maps[] = {from, to};
	ugit_pmap_union(&all, maps, 2);
	int rc = 0;
	for (size_t i = 0; i < all.n && rc == 0; i++) {
		const char *path = all.v[i].path;
		const ug_oid *a = ugit_pmap_get(from, path), *b = ugit_pmap_get(to, path);
		if (ugit_oid_same(a, b))
			continue;
		ugit_side sa = {a, NULL, 0}, sb = {b, NULL, 0};
		unsigned char *da = NULL, *db = NULL;
		/* working files are hashed, never stored: their bytes come from the file */
		if (a && from_worktree && (rc = ugit_file_read(path, &da, &sa.len)) < 0)
			break;
		if (b && to_worktree && (rc = ugit_file_read(path, &db, &sb.len)) < 0) {
			free(da);
			break;
		}
		sa.data = da;
		sb.data = db;
		rc = ugit_diff_blobs(c, &sa, &sb, path);
		free(da);
		free(db);
	}
	ugit_pmap_release(&all);
	return rc;
}

/* The error for diff3's status 2 ("trouble"), from what it wrote to efd. */
static int diff3_trouble(int efd, int status)
{
	char buf[512];
	ssize_t n = pread(efd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (strstr(buf, "Binary files") || strstr(buf, "binary file"))
		return ug_error(UG_ECONFLICT, "it is a binary file changed on both sides, which diff3 cannot merge");
	return ug_error(UG_ERROR, "diff3 failed (status %d)", status);
}

int ugit_merge_blobs(ugit_ctx *c, const ug_oid *base, const ug_oid *head, const ug_oid *other,
		     unsigned char **out, size_t *len, bool *conflict)
{
	*out = NULL;
	*len = 0;
	char *fb = NULL, *fh = NULL, *fo = NULL, *fout = NULL, *ferr = NULL;
	ugit_side sb = {base, NULL, 0}, sh = {head, NULL, 0}, so = {other, NULL, 0};
	int rc = side_temp(c, &sb, &fb);
	if (rc == 0)
		rc = side_temp(c, &sh, &fh);
	if (rc == 0)
		rc = side_temp(c, &so, &fo);
	if (rc == 0)
		rc = temp_with("", 0, &fout);
	if (rc == 0)
		rc = temp_with("", 0, &ferr);
	if (rc == 0) {
		int fd = open(fout, O_WRONLY | O_TRUNC | O_CLOEXEC);
		int efd = fd < 0 ? -1 : open(ferr, O_RDWR | O_TRUNC | O_CLOEXEC);
		if (fd < 0 || efd < 0) {
			rc = ug_error_os(UG_ERROR, "cannot open %s", fd < 0 ? fout : ferr);
			if (fd >= 0)
				close(fd);
		} else {
			char *argv[] = {"diff3", "-m", "-L", "HEAD", fh, "-L", "BASE", fb,
					"-L", "MERGE_HEAD", fo, NULL};
			/* diff3's complaints name our temporary files: the caller's one line says it instead */
			rc = run(argv, fd, efd);
			close(fd);
			if (rc == UG_ENOTFOUND)
				rc = ug_error(UG_ENOTFOUND, "diff3 is not installed (apt-get install diffutils)");
			else if (rc > 1)
				rc = diff3_trouble(efd, rc);
			else if (rc >= 0) {
				*conflict = rc == 1;
				rc = ugit_file_read(fout, out, len);
			}
			close(efd);
		}
	}
	char *all[] = {fb, fh, fo, fout, ferr};
	for (size_t i = 0; i < 5; i++) {
		if (all[i])
			unlink(all[i]);
		free(all[i]);
	}
	return rc;
}

int ugit_render_dot(const char *dot, size_t len, const char *path)
{
	size_t n = strlen(path);
	const char *fmt = !strcmp(path + n - 4, ".svg") ? "-Tsvg" : "-Tpng";
	char *in = NULL;
	int rc = temp_with(dot, len, &in);
	if (rc < 0)
		return rc;
	char *out = ugit_fmt("-o%s", path);
	char *argv[] = {"dot", (char *)fmt, out, in, NULL};
	rc = run(argv, -1, -1);
	if (rc == UG_ENOTFOUND)
		rc = ug_error(UG_ENOTFOUND,
			      "Graphviz's dot is not installed; to draw %s: apt-get install graphviz", path);
	else if (rc > 0)
		rc = ug_error(UG_ERROR, "dot could not draw %s (status %d)", path, rc);
	unlink(in);
	free(in);
	free(out);
	return rc;
}
