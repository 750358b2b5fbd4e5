/* Unit tests of the core's file and folder helpers (fileio.h), one function per case. */
#include "error.h"
#include "fileio.h"
#include "gitutil.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * This program's write(2): the helpers are linked statically, so their calls
 * land here. While short_writes is set, each call writes at most 3 bytes, and
 * the first one fails with EINTR, as a signal would make it.
 */
static bool short_writes;
static int write_calls, eintr_left;

ssize_t write(int fd, const void *buf, size_t len)
{
	write_calls++;
	if (short_writes && eintr_left > 0) {
		eintr_left--;
		errno = EINTR;
		return -1;
	}
	if (short_writes && len > 3)
		len = 3;
	return (ssize_t)syscall(SYS_write, fd, buf, len);
}

static char *dir; /* this run's scratch folder */

/* dir/name, malloc'ed. */
static char *path_of(const char *name)
{
	char *p = NULL;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static void test_write_all_completes_short_writes(void)
{
	char *path = path_of("short"), buf[1000], *got = NULL;
	size_t len = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	short_writes = true;
	eintr_left = 1;
	write_calls = 0;
	r = ug_fileio_write_all(fd, buf, sizeof(buf));
	short_writes = false;
	close(fd);
	is_int(r, 0, "write_all: 1000 bytes through writes of 3 and an EINTR");
	ok(write_calls >= 334, "write_all: it wrote again after each short write (%d calls)", write_calls);
	ok(ug_fileio_read(path, 4096, &got, &len) == 0 && len == sizeof(buf) && !memcmp(got, buf, len),
	   "write_all: the file holds every byte, in order");
	free(got);
	free(path);
}

static void test_write_all_reports_a_failed_write(void)
{
	errno = 0;
	is_int(ug_fileio_write_all(-1, "x", 1), -1, "write_all to a closed descriptor fails");
	is_int(errno, EBADF, "write_all leaves write's errno");
}

static void test_read_of_a_missing_file_is_not_found(void)
{
	char *path = path_of("missing"), *file = path_of("file"), *through = path_of("file/below");
	char *buf = (char *)"x";
	size_t len = 1;

	is_int(ug_fileio_read(path, 100, &buf, &len), UG_ENOTFOUND, "read of a missing file: not found");
	ok(buf == NULL && len == 0, "read of a missing file: no buffer");
	ok(write_file(file, "f", 1) == 0, "a file to go through");
	is_int(ug_fileio_read(through, 100, &buf, &len), UG_ENOTFOUND,
	       "read of a path through a file: not found");
	is_int(ug_fileio_read(dir, 100, &buf, &len), UG_ENOTFOUND, "read of a folder: not found");
	free(path);
	free(file);
	free(through);
}

static void test_read_gives_the_whole_file_nul_terminated(void)
{
	char *path = path_of("whole"), *buf = NULL;
	size_t len = 0;

	ok(write_file(path, "one\ntwo\n", 8) == 0, "a file of 8 bytes");
	is_int(ug_fileio_read(path, 8, &buf, &len), 0, "read of a file of exactly max bytes");
	ok(buf && len == 8 && !memcmp(buf, "one\ntwo\n", 8) && buf[8] == '\0',
	   "read: every byte, then a NUL");
	free(buf);
	buf = NULL;
	is_int(ug_fileio_read(path, 7, &buf, &len), UG_EINVALID, "read of a file over max: refused");
	ok(buf == NULL, "read over max: no buffer");
	free(path);
}

static void test_pread_all_stops_at_the_end_of_the_file(void)
{
	char *path = path_of("pread"), buf[16];
	int fd;

	ok(write_file(path, "0123456789", 10) == 0, "a file of 10 bytes");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	is_int(ug_fileio_pread_all(fd, buf, 4, 3), 4, "pread_all: 4 bytes at offset 3");
	ok(!memcmp(buf, "3456", 4), "pread_all: the right 4 bytes");
	is_int(ug_fileio_pread_all(fd, buf, sizeof(buf), 6), 4, "pread_all: the count left at the end");
	close(fd);
	is_int(ug_fileio_pread_all(fd, buf, 1, 0), -1, "pread_all on a closed descriptor fails");
	free(path);
}

static bool is_folder(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static void test_mkdirs_of_an_existing_path_succeeds(void)
{
	char *path = path_of("made/a/b");

	is_int(ug_fileio_mkdirs(path, 0755), 0, "mkdirs makes a/b and its parents");
	ok(is_folder(path), "mkdirs: the folder is there");
	is_int(ug_fileio_mkdirs(path, 0755), 0, "mkdirs of an existing path: 0");
	is_int(ug_fileio_mkdirs(dir, 0755), 0, "mkdirs of the scratch folder itself: 0");
	free(path);
}

static void test_mkdir_parents_stops_before_the_name(void)
{
	char *path = path_of("parents/x/file"), *parent = path_of("parents/x");

	is_int(ug_fileio_mkdir_parents(path, 0755), 0, "mkdir_parents of parents/x/file");
	ok(is_folder(parent), "mkdir_parents: parents/x is a folder");
	ok(access(path, F_OK) < 0 && errno == ENOENT, "mkdir_parents: the name itself is not made");
	is_int(ug_fileio_mkdir_parents("name", 0755), 0, "mkdir_parents of a name without a folder: 0");
	free(path);
	free(parent);
}

static void test_mkdirs_refuses_a_file_in_the_way(void)
{
	char *file = path_of("inway"), *below = path_of("inway/sub"), *at = path_of("inway");

	ok(write_file(file, "f", 1) == 0, "a file named inway");
	is_int(ug_fileio_mkdirs(below, 0755), UG_ECONFLICT, "mkdirs through a file: a conflict");
	is_int(ug_fileio_mkdirs(at, 0755), UG_ECONFLICT, "mkdirs where a file is: a conflict");
	free(file);
	free(below);
	free(at);
}

/* What a walk saw: names joined by "/", in order. */
struct seen {
	char names[256];
	int count, stop_at;
};

static int collect(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct seen *s = arg;

	(void)type;
	if (dirfd < 0)
		return UG_EINVALID;
	strncat(s->names, name, sizeof(s->names) - strlen(s->names) - 2);
	strcat(s->names, "/");
	return ++s->count == s->stop_at;
}

static void test_dir_each_of_an_empty_folder_visits_nothing(void)
{
	char *empty = path_of("empty");
	struct seen s = { "", 0, 0 };

	ok(mkdir(empty, 0755) == 0, "an empty folder");
	is_int(ug_fileio_dir_each(empty, collect, &s), 0, "dir_each of an empty folder: 0");
	is_int(s.count, 0, "dir_each of an empty folder: no visit (no . nor ..)");
	free(empty);
}

static void test_dir_each_visits_every_entry(void)
{
	char *walk = path_of("walk"), *a = path_of("walk/a"), *b = path_of("walk/.b"),
	     *sub = path_of("walk/sub/c");
	struct seen s = { "", 0, 0 };
	bool has_all;

	ok(write_file(a, "a", 1) == 0 && write_file(b, "b", 1) == 0 && write_file(sub, "c", 1) == 0,
	   "a folder with a, .b and sub/");
	is_int(ug_fileio_dir_each(walk, collect, &s), 0, "dir_each of a folder with entries: 0");
	is_int(s.count, 3, "dir_each: three entries, sub/ not entered");
	has_all = strstr(s.names, "a/") && strstr(s.names, ".b/") && strstr(s.names, "sub/");
	ok(has_all, "dir_each: a, .b and sub seen (%s)", s.names);
	free(walk);
	free(a);
	free(b);
	free(sub);
}

static void test_dir_each_stops_when_the_visitor_says(void)
{
	char *walk = path_of("walk");
	struct seen s = { "", 0, 2 };

	is_int(ug_fileio_dir_each(walk, collect, &s), 1, "dir_each returns the visitor's 1");
	is_int(s.count, 2, "dir_each stopped after the second entry");
	free(walk);
}

static void test_dir_each_of_a_missing_folder_is_not_found(void)
{
	char *missing = path_of("nowhere");
	struct seen s = { "", 0, 0 };

	is_int(ug_fileio_dir_each(missing, collect, &s), UG_ENOTFOUND, "dir_each of a missing folder");
	is_int(errno, ENOENT, "dir_each keeps opendir's errno");
	free(missing);
}

static void test_write_durable_keeps_an_existing_name(void)
{
	char *objs = path_of("objs"), *path = path_of("objs/ab"), *missing = path_of("nowhere"), *buf = NULL;
	struct seen s = { "", 0, 0 };
	struct stat st;
	size_t len = 0;

	ok(mkdir(objs, 0755) == 0, "a folder of objects");
	is_int(ug_fileio_write_durable(objs, "ab", "first", 5, 0444, true), 0, "write_durable, synced");
	is_int(ug_fileio_write_durable(objs, "ab", "other", 5, 0444, false), 0,
	       "write_durable of an existing name, unsynced: 0");
	ok(ug_fileio_read(path, 100, &buf, &len) == 0 && len == 5 && !memcmp(buf, "first", 5),
	   "write_durable: the existing file wins");
	ok(!stat(path, &st) && (st.st_mode & 07777) == 0444, "write_durable: the mode given");
	ug_fileio_dir_each(objs, collect, &s);
	is_int(s.count, 1, "write_durable: no temporary file is left (%s)", s.names);
	is_int(ug_fileio_fsync_dir(objs), 0, "fsync_dir of a folder");
	ok(ug_fileio_fsync_dir(missing) != 0, "fsync_dir of a missing folder fails");
	free(missing);
	free(buf);
	free(objs);
	free(path);
}

static const struct tap_case cases[] = {
	TAP_CASE("fileio: write all completes short writes", test_write_all_completes_short_writes),
	TAP_CASE("fileio: write all reports a failed write", test_write_all_reports_a_failed_write),
	TAP_CASE("fileio: read of a missing file is not found", test_read_of_a_missing_file_is_not_found),
	TAP_CASE("fileio: read gives the whole file nul terminated", test_read_gives_the_whole_file_nul_terminated),
	TAP_CASE("fileio: pread all stops at the end of the file", test_pread_all_stops_at_the_end_of_the_file),
	TAP_CASE("fileio: mkdirs of an existing path succeeds", test_mkdirs_of_an_existing_path_succeeds),
	TAP_CASE("fileio: mkdir parents stops before the name", test_mkdir_parents_stops_before_the_name),
	TAP_CASE("fileio: mkdirs refuses a file in the way", test_mkdirs_refuses_a_file_in_the_way),
	TAP_CASE("fileio: dir each of an empty folder visits nothing", test_dir_each_of_an_empty_folder_visits_nothing),
	TAP_CASE("fileio: dir each visits every entry", test_dir_each_visits_every_entry),
	TAP_CASE("fileio: dir each stops when the visitor says", test_dir_each_stops_when_the_visitor_says),
	TAP_CASE("fileio: dir each of a missing folder is not found", test_dir_each_of_a_missing_folder_is_not_found),
	TAP_CASE("fileio: write durable keeps an existing name", test_write_durable_keeps_an_existing_name),
};

int main(void)
{
	int status;

	dir = tmpdir_new("fileio");
	if (!dir) {
		printf("1..1\nnot ok 1 - fileio: a scratch folder\n");
		return 1;
	}
	status = TAP_RUN(cases);
	rm_rf(dir);
	free(dir);
	return status;
}
