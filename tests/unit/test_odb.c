/* Unit tests of the object database: loose and ugit objects, packs appearing and vanishing, prefixes, cache, verify. */
#include "cache.h"
#include "error.h"
#include "headcache.h"
#include "log.h"
#include "odb.h"
#include "packgen.h"
#include "tap.h"
#include "zinflate.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[64];
static int log_lines;
static char last_log[1024];

static void sink(ug_log_level level, const char *line)
{
	(void)level;
	log_lines++;
	snprintf(last_log, sizeof(last_log), "%s", line);
}

static void path_of(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", tmp, rel);
}

static void run(const char *fmt, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg);
	if (system(cmd))
		tap_diag("command failed: %s", cmd);
}

/* Write a loose file by hand: zlib of raw bytes, under the given hex name. */
static void put_loose(const char *objects, const char *hex, const void *raw, size_t len)
{
	char path[512];
	unsigned char *z;
	size_t zlen;

	snprintf(path, sizeof(path), "%s/%.2s", objects, hex);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/%.2s/%s", objects, hex, hex + 2);
	unlink(path);
	ug_zdeflate(&z, &zlen, "", 0, raw, len, 6);
	pg_write_file(path, z, zlen);
	free(z);
}

static int count_tmp(const char *d)
{
	DIR *dir = opendir(d);
	struct dirent *de;
	int n = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		n += !strncmp(de->d_name, "tmp_obj_", 8);
	closedir(dir);
	return n;
}

static int read_str(ug_odb *odb, const ug_oid *oid, const char *want, size_t len)
{
	ug_object *obj;
	int err = ug_odb_read(&obj, odb, oid);

	if (err)
		return err;
	err = obj->size == len && !memcmp(obj->data, want, len) && obj->data[len] == 0 ? 0 : 99;
	ug_object_free(obj);
	return err;
}

struct reader_arg {
	ug_odb *odb;
	ug_oid *oids;
	int n;
	int fails;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;

	for (int round = 0; round < 200; round++)
		for (int i = 0; i < a->n; i++) {
			ug_object *o;

			if (ug_odb_read(&o, a->odb, &a->oids[i]) && a->fails++ == 0)
				tap_diag("read %d: %s", i, ug_error_last());
			ug_object_free(o);
		}
	return NULL;
}

static void *refresher(void *p)
{
	for (int i = 0; i < 300; i++)
		ug_odb_refresh(p);
	return NULL;
}

/* The git odb over objects, the blob "hello\n" in it, shared by the cases in order. */
static char objects[256];
static ug_odb *odb;
static ug_oid hello;

/* Write pe (n entries) as pack NAME into the objects folder; idx gets the .idx's path. */
static void put_pack(struct pg_entry *pe, size_t n, const char *name, char *idx, size_t idxsz)
{
	char path[400];
	struct pg_pack pk;

	pg_build(pe, n, UG_HASH_SHA1, 2, &pk);
	snprintf(path, sizeof(path), "%s/pack", objects);
	pg_write(&pk, path, name, idx, idxsz);
	pg_free(&pk);
}

/* loose: write, read back, the file is git's */
static void loose_write(void)
{
	char path[512], hex[UG_OID_MAXHEX + 1];
	struct stat st;

	require_int(ug_odb_new(&odb, UG_HASH_SHA1), 0, "new odb");
	require_int(ug_odb_add_git(odb, objects), 0, "add git objects dir");
	require_int(ug_odb_write(odb, &hello, UG_OBJ_BLOB, "hello\n", 6), 0, "write a blob");
	ok(!strcmp(ug_oid_tohex(hex, &hello, UG_HASH_SHA1), "ce013625030ba8dba906f756967f9e9ca394464a"),
	   "its id is git's");
	snprintf(path, sizeof(path), "%s/ce/013625030ba8dba906f756967f9e9ca394464a", objects);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0444, "loose file exists with mode 0444");
	is_int(read_str(odb, &hello, "hello\n", 6), 0, "read it back");
	snprintf(path, sizeof(path),
		 "test \"$(git --git-dir=%s/repo.git cat-file blob ce013625030ba8dba906f756967f9e9ca394464a)\" = hello",
		 tmp);
	ok(system(path) == 0, "git reads our loose object");
	snprintf(path, sizeof(path), "%s/ce", objects);
	is_int(count_tmp(path), 0, "no temp file left behind");
}

static void loose_write_again(void)
{
	char path[512];
	struct stat st;
	ug_oid oid2;
	ino_t ino;

	require(odb, "the odb is open");
	snprintf(path, sizeof(path), "%s/ce/013625030ba8dba906f756967f9e9ca394464a", objects);
	stat(path, &st);
	ino = st.st_ino;
	is_int(ug_odb_write(odb, &oid2, UG_OBJ_BLOB, "hello\n", 6), 0, "writing it again succeeds");
	ok(ug_oid_equal(&hello, &oid2) && stat(path, &st) == 0 && st.st_ino == ino,
	   "second write is a no-op");
}

static void loose_header(void)
{
	ug_otype type;
	size_t size;

	require(odb, "the odb is open");
	is_int(ug_odb_read_header(odb, &hello, &type, &size), 0, "header of a loose object");
	ok(type == UG_OBJ_BLOB && size == 6, "header gives blob, 6");
	ok(ug_odb_exists(odb, &hello), "exists");
}

static void absent_object(void)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_object *obj;
	ug_oid oid2;

	require(odb, "the odb is open");
	ug_odb_hash(odb, &oid2, UG_OBJ_BLOB, "other", 5);
	ok(!ug_odb_exists(odb, &oid2), "absent object does not exist");
	is_int(ug_odb_read(&obj, odb, &oid2), UG_ENOTFOUND, "reading it is not found");
	ok(strstr(ug_error_last(), ug_oid_tohex(hex, &oid2, UG_HASH_SHA1)) != NULL,
	   "message names it: %s", ug_error_last());
}

static void bad_type(void)
{
	ug_oid oid2;

	require(odb, "the odb is open");
	is_int(ug_odb_write(odb, &oid2, (ug_otype)5, "x", 1), UG_EINVALID, "bad type refused");
}

/* a larger object, and an empty one */
static void big_and_empty(void)
{
	char hex[UG_OID_MAXHEX + 1];
	size_t biglen = 1 << 20;
	unsigned char *big;
	ug_oid oid2;

	require(odb, "the odb is open");
	big = malloc(biglen);
	for (size_t i = 0; i < biglen; i++)
		big[i] = (unsigned char)(i % 251);
	if (is_int(ug_odb_write(odb, &oid2, UG_OBJ_BLOB, big, biglen), 0, "write 1 MiB"))
		is_int(read_str(odb, &oid2, (const char *)big, biglen), 0, "1 MiB reads back");
	free(big);
	require_int(ug_odb_write(odb, &oid2, UG_OBJ_TREE, "", 0), 0, "write the empty tree");
	ok(!strcmp(ug_oid_tohex(hex, &oid2, UG_HASH_SHA1), "4b825dc642cb6eb9a060e54bf8d69288fbee4904"),
	   "empty tree id");
	is_int(read_str(odb, &oid2, "", 0), 0, "empty tree reads back");
}

/* a write that fails midway (file size limit) leaves no temp file */
static void write_over_size_limit(void)
{
	char path[512], hex[UG_OID_MAXHEX + 1];
	size_t biglen = 1 << 20;
	struct rlimit old, small;
	uint32_t x = 12345;
	unsigned char *big;
	ug_oid noise, oid2;
	int err;

	require(odb, "the odb is open");
	big = malloc(biglen);
	for (size_t i = 0; i < biglen; i++)
		big[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
	ug_odb_hash(odb, &noise, UG_OBJ_BLOB, big, biglen);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	small = (struct rlimit){ 4096, old.rlim_max }; /* the soft limit only: it can go back up */
	setrlimit(RLIMIT_FSIZE, &small);
	err = ug_odb_write(odb, &oid2, UG_OBJ_BLOB, big, biglen);
	setrlimit(RLIMIT_FSIZE, &old);
	ok(err < 0, "write over the file size limit fails: %s", ug_error_last());
	ok(strstr(ug_error_last(), ug_oid_tohex(hex, &noise, UG_HASH_SHA1)) != NULL,
	   "message names the object");
	snprintf(path, sizeof(path), "%s/%.2s", objects, hex);
	is_int(count_tmp(path), 0, "no temp file left after the failure");
	ok(!ug_odb_exists(odb, &noise), "and no object");
	if (is_int(ug_odb_write(odb, &oid2, UG_OBJ_BLOB, big, biglen), 0, "the same write then works"))
		is_int(read_str(odb, &oid2, (const char *)big, biglen), 0, "and reads back");
	free(big);
}

static void git_fsck_accepts(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "git --git-dir=%s/repo.git fsck --strict 2>/dev/null >/dev/null", tmp);
	ok(system(cmd) == 0, "git fsck --strict accepts what we wrote");
}

/* hostile loose objects */
static const struct {
	const char *raw;
	size_t len;
	const char *what;
} hostile[] = {
	{ "blob 06\0hello\n", 14, "leading zero in the size" },
	{ "blob  6\0hello\n", 14, "two spaces" },
	{ "blub 6\0hello\n", 13, "unknown type" },
	{ "blob 7\0hello\n", 13, "size larger than the content" },
	{ "blob 5\0hello\n", 13, "size smaller than the content" },
	{ "blob 6hello\n", 12, "no NUL" },
	{ "blob 1099511627776\0hello\n", 25, "a size of terabytes" },
	{ "blob -6\0hello\n", 14, "negative size" },
	{ "blob\0hello\n", 11, "no size" },
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static const char *hostile_name(size_t i)
{
	return hostile[i].what;
}

/* The core returns the message; the caller logs it once (fs/errors.c). */
static void hostile_loose(size_t i)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_object *obj;
	ug_oid oid2;

	require(odb, "the odb is open");
	log_lines = 0;
	ug_hash_buf(&oid2, UG_HASH_SHA1, hostile[i].raw, hostile[i].len);
	ug_oid_tohex(hex, &oid2, UG_HASH_SHA1);
	put_loose(objects, hex, hostile[i].raw, hostile[i].len);
	is_int(ug_odb_read(&obj, odb, &oid2), UG_ECORRUPT, "loose object with %s is corrupt", hostile[i].what);
	if (i == 0)
		ok(strstr(ug_error_last(), hex) != NULL, "message names it: %s", ug_error_last());
	is_int(log_lines, 0, "corrupt reads are not logged by the core (%s)", last_log);
}

/* The loose file of the blob "abc" (path to fill), its id, and its zlib stream z; free *z. */
static void abc_file(char *path, size_t n, ug_oid *oid, unsigned char **z, size_t *zlen)
{
	char hex[UG_OID_MAXHEX + 1], h[64];
	size_t hl = ug_object_header(h, UG_OBJ_BLOB, 3);

	ug_zdeflate(z, zlen, h, hl, "abc", 3, 6);
	ug_hash_object(oid, UG_HASH_SHA1, UG_OBJ_BLOB, "abc", 3);
	ug_oid_tohex(hex, oid, UG_HASH_SHA1);
	snprintf(path, n, "%s/%.2s", objects, hex);
	mkdir(path, 0777);
	snprintf(path, n, "%s/%.2s/%s", objects, hex, hex + 2);
}

/* garbage after the stream, and a truncated file */
static void garbage_and_truncated(void)
{
	unsigned char *z;
	size_t zlen;
	char path[512];
	ug_object *obj;
	ug_oid oid2;

	require(odb, "the odb is open");
	abc_file(path, sizeof(path), &oid2, &z, &zlen);
	z = realloc(z, zlen + 3);
	memcpy(z + zlen, "xyz", 3);
	pg_write_file(path, z, zlen + 3);
	is_int(ug_odb_read(&obj, odb, &oid2), UG_ECORRUPT, "garbage after the zlib stream");
	pg_write_file(path, z, zlen - 3);
	is_int(ug_odb_read(&obj, odb, &oid2), UG_ECORRUPT, "truncated loose file");
	free(z);
}

/* a file far larger than any stream of its size: refused before it is read whole */
static void fat_loose_file(void)
{
	unsigned char *z, *fat;
	size_t zlen, big = 1 << 20;
	char path[512];
	ug_object *obj;
	ug_oid oid2;

	require(odb, "the odb is open");
	abc_file(path, sizeof(path), &oid2, &z, &zlen);
	fat = calloc(1, big);
	memcpy(fat, z, zlen);
	pg_write_file(path, fat, big);
	is_int(ug_odb_read(&obj, odb, &oid2), UG_ECORRUPT, "a 1 MiB file for 3 bytes is corrupt");
	ok(strstr(ug_error_last(), "more than any zlib stream") != NULL,
	   "refused from its size (%s)", ug_error_last());
	free(fat);
	pg_write_file(path, z, zlen);
	if (is_int(ug_odb_read(&obj, odb, &oid2), 0, "the intact file reads"))
		ug_object_free(obj);
	free(z);
}

/* verify: a loose file whose content is another object's */
static ug_oid impostor;

static void verify_off(void)
{
	char hex[UG_OID_MAXHEX + 1];

	require(odb, "the odb is open");
	ug_hash_object(&impostor, UG_HASH_SHA1, UG_OBJ_BLOB, "impostor", 8);
	ug_oid_tohex(hex, &impostor, UG_HASH_SHA1);
	put_loose(objects, hex, "blob 6\0hello\n", 13);
	is_int(read_str(odb, &impostor, "hello\n", 6), 0, "without verify, a mismatch goes unseen");
}

static void verify_on(void)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_object *obj;
	int before;

	ug_odb_free(odb);
	ug_odb_new(&odb, UG_HASH_SHA1);
	require_int(ug_odb_add_git(odb, objects), 0, "add git objects dir");
	ug_odb_set_verify(odb, true);
	before = log_lines;
	is_int(ug_odb_read(&obj, odb, &impostor), UG_ECORRUPT, "verify catches the mismatch");
	ok(strstr(ug_error_last(), ug_oid_tohex(hex, &impostor, UG_HASH_SHA1)) && strstr(ug_error_last(), "hashes to"),
	   "message: %s", ug_error_last());
	is_int(log_lines - before, 0, "no log line from the core: the message is the caller's to log");
	is_int(read_str(odb, &hello, "hello\n", 6), 0, "verify passes a good object");
	ug_odb_set_verify(odb, false);
}

static void prefixes(void)
{
	ug_oid oid2;

	require(odb, "the odb is open");
	is_int(ug_odb_resolve_prefix(odb, "ce013625", 8, &oid2), 0, "8-digit prefix resolves");
	ok(ug_oid_equal(&hello, &oid2), "to the object");
	is_int(ug_odb_resolve_prefix(odb, "ce013", 5, &oid2), 0, "odd 5-digit prefix resolves");
	is_int(ug_odb_resolve_prefix(odb, "ce0", 3, &oid2), UG_EINVALID, "3 digits are too few");
	is_int(ug_odb_resolve_prefix(odb, "ce0g", 4, &oid2), UG_EINVALID, "not hex");
	is_int(ug_odb_resolve_prefix(odb, "ce013625030ba8dba906f756967f9e9ca394464a", 40, &oid2), 0,
	       "a full id resolves");
	is_int(ug_odb_resolve_prefix(odb, "ce013625030ba8dba906f756967f9e9ca394464a0", 41, &oid2),
	       UG_EINVALID, "41 digits refused");
	is_int(ug_odb_resolve_prefix(odb, "ffff", 4, &oid2), UG_ENOTFOUND, "no match is not found");
}

/* two contents whose ids share 5 digits: pa stored loose, pb later in a pack; hex is pa's id */
static char pa[32], pb[32], pa_hex[UG_OID_MAXHEX + 1];

static void prefix_unique(void)
{
	static ug_oid ids[5000];
	bool done = false;
	ug_oid oid, oid2;

	require(odb, "the odb is open");
	for (int i = 0; i < 5000 && !done; i++) {
		snprintf(pa, sizeof(pa), "content %d\n", i);
		ug_hash_object(&ids[i], UG_HASH_SHA1, UG_OBJ_BLOB, pa, strlen(pa));
		for (int k = 0; k < i && !done; k++)
			if (ug_oid_prefix_match(&ids[i], &ids[k], 5)) {
				snprintf(pb, sizeof(pb), "content %d\n", k);
				done = true;
			}
	}
	require(done, "two blobs share 5 digits");
	ug_odb_write(odb, &oid, UG_OBJ_BLOB, pa, strlen(pa));
	ug_oid_tohex(pa_hex, &oid, UG_HASH_SHA1);
	is_int(ug_odb_resolve_prefix(odb, pa_hex, 5, &oid2), 0, "unique while one is stored");
}

/* A burst of lookups lists each loose folder once: an object written after its
 * folder was listed is missed until the burst ends. */
static void prefix_burst(void)
{
	static const char text[] = "written during a burst\n";
	char hex[UG_OID_MAXHEX + 1];
	ug_oid id, got;

	require(odb, "the odb is open");
	ug_hash_object(&id, UG_HASH_SHA1, UG_OBJ_BLOB, text, strlen(text));
	ug_oid_tohex(hex, &id, UG_HASH_SHA1);
	ug_odb_prefix_burst_begin(odb);
	is_int(ug_odb_resolve_prefix(odb, "ce013625", 8, &got), 0, "in a burst, a loose object resolves");
	ok(ug_oid_equal(&got, &hello), "to itself");
	is_int(ug_odb_resolve_prefix(odb, hex, 8, &got), UG_ENOTFOUND, "in a burst, a missing one is not found");
	ok(ug_odb_write(odb, &got, UG_OBJ_BLOB, text, strlen(text)) == 0, "then it is written");
	is_int(ug_odb_resolve_prefix(odb, hex, 8, &got), UG_ENOTFOUND, "its folder was listed: the burst misses it");
	ug_odb_prefix_burst_end(odb);
	is_int(ug_odb_resolve_prefix(odb, hex, 8, &got), 0, "after the burst it resolves");
	ok(ug_oid_equal(&got, &id), "to the object written");
}

/* the second one in a pack: ambiguity across backends */
static void prefix_ambiguous(void)
{
	char idx[512];
	struct pg_entry pe[4];
	ug_oid oid2;

	require(odb && pa_hex[0], "the odb is open, with a blob sharing 5 digits with another");
	pe[0] = pg_plain(UG_OBJ_BLOB, pb, strlen(pb), UG_HASH_SHA1);
	pe[1] = pg_plain(UG_OBJ_BLOB, "packed one\n", 11, UG_HASH_SHA1);
	pe[2] = pg_plain(UG_OBJ_BLOB, "hello\n", 6, UG_HASH_SHA1); /* also loose */
	put_pack(pe, 3, "pack-one", idx, sizeof(idx));
	/* the odb was opened before the pack existed: a miss refreshes */
	is_int(read_str(odb, &pe[1].oid, "packed one\n", 11), 0, "a pack added later is found");
	is_int(ug_odb_resolve_prefix(odb, pa_hex, 5, &oid2), UG_EAMBIGUOUS, "loose and packed: ambiguous");
	is_int(ug_odb_resolve_prefix(odb, pa_hex, 40, &oid2), 0, "the full id is not");
	is_int(ug_odb_resolve_prefix(odb, "ce01", 4, &oid2), 0,
	       "one object both loose and packed is not ambiguous");
}

/* packs vanishing: an opened pack keeps working until refresh drops it */
static void pack_vanishing(void)
{
	char idx[512];
	struct pg_entry pe[4];
	ug_object *obj;

	require(odb, "the odb is open");
	pe[0] = pg_plain(UG_OBJ_BLOB, "gc one\n", 7, UG_HASH_SHA1);
	pe[1] = pg_plain(UG_OBJ_BLOB, "gc two\n", 7, UG_HASH_SHA1);
	pe[2] = pg_plain(UG_OBJ_BLOB, "gc three\n", 9, UG_HASH_SHA1);
	put_pack(pe, 3, "pack-gc", idx, sizeof(idx));
	is_int(ug_odb_refresh(odb), 0, "refresh");
	is_int(read_str(odb, &pe[0].oid, "gc one\n", 7), 0, "object of the new pack");
	unlink(idx);
	snprintf(idx, sizeof(idx), "%s/pack/pack-gc.pack", objects);
	unlink(idx);
	is_int(read_str(odb, &pe[1].oid, "gc two\n", 7), 0, "deleted pack still reads through its map");
	read_str(odb, &pe[1].oid, "gc two\n", 7); /* a blob's second read puts it in the cache */
	is_int(ug_odb_refresh(odb), 0, "refresh after the deletion");
	is_int(ug_odb_read(&obj, odb, &pe[2].oid), UG_ENOTFOUND, "then its objects are gone");
	is_int(read_str(odb, &pe[1].oid, "gc two\n", 7), 0, "except what the cache holds");
}

/* a header read once is kept: asked again, it is answered after its pack is gone */
static void headers_kept(void)
{
	char idx[512];
	struct pg_entry pe[1];
	ug_object *obj;
	ug_otype type = UG_OBJ_BAD;
	size_t size = 0;

	require(odb, "the odb is open");
	pe[0] = pg_plain(UG_OBJ_BLOB, "sized blob\n", 11, UG_HASH_SHA1);
	put_pack(pe, 1, "pack-head", idx, sizeof(idx));
	is_int(ug_odb_refresh(odb), 0, "refresh");
	is_int(ug_odb_read_header(odb, &pe[0].oid, &type, &size), 0, "a header from the pack");
	ok(type == UG_OBJ_BLOB && size == 11, "blob, 11 bytes");
	unlink(idx);
	snprintf(idx, sizeof(idx), "%s/pack/pack-head.pack", objects);
	unlink(idx);
	is_int(ug_odb_refresh(odb), 0, "refresh after the pack is gone");
	is_int(ug_odb_read(&obj, odb, &pe[0].oid), UG_ENOTFOUND, "its content is gone");
	type = UG_OBJ_BAD;
	size = 0;
	is_int(ug_odb_read_header(odb, &pe[0].oid, &type, &size), 0, "its header is still known");
	ok(type == UG_OBJ_BLOB && size == 11, "as it was: blob, 11 bytes");
}

/* the table of sizes fits the bytes it is given: one slot at the least, and a
 * new size forgets what the old table kept */
static void headcache_fits(void)
{
	ug_headcache *c = NULL;
	ug_oid a, b;
	ug_otype type;
	size_t size;

	require(!ug_headcache_new(&c, 0), "a table of no bytes");
	ug_hash_object(&a, UG_HASH_SHA1, UG_OBJ_BLOB, "a", 1);
	ug_hash_object(&b, UG_HASH_SHA1, UG_OBJ_BLOB, "b", 1);
	ug_headcache_put(c, &a, UG_OBJ_BLOB, 1);
	ok(ug_headcache_get(c, &a, &type, &size) && size == 1, "still keeps one id");
	ug_headcache_put(c, &b, UG_OBJ_BLOB, 2);
	ok(!ug_headcache_get(c, &a, &type, &size), "one slot: the newer id takes it");
	ug_headcache_set_bytes(c, 1 << 20);
	ok(!ug_headcache_get(c, &b, &type, &size), "resized: what was kept is forgotten");
	ug_headcache_put(c, &a, UG_OBJ_BLOB, 1);
	ug_headcache_put(c, &b, UG_OBJ_BLOB, 2);
	ok(ug_headcache_get(c, &a, &type, &size) && ug_headcache_get(c, &b, &type, &size) && size == 2,
	   "a larger table keeps both (their slots differ)");
	ug_headcache_free(c);
}

/* a delta "hello\n" + "abc" */
static unsigned char dl[32];

/* REF_DELTA against a loose base */
static void thin_pack(void)
{
	char idx[512];
	struct pg_entry pe[1];
	size_t dlen = pg_delta(dl, 6, 9, "\x90\x06\x03" "abc", 6), size;
	ug_otype type;

	require(odb, "the odb is open");
	pe[0] = (struct pg_entry){ .type = UG_OBJ_REF_DELTA, .data = dl, .len = dlen, .base_oid = hello };
	ug_hash_object(&pe[0].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "hello\nabc", 9);
	put_pack(pe, 1, "pack-thin", idx, sizeof(idx));
	is_int(read_str(odb, &pe[0].oid, "hello\nabc", 9), 0, "REF_DELTA on a base in another pack or loose");
	is_int(ug_odb_read_header(odb, &pe[0].oid, &type, &size), 0, "and its header");
	ok(type == UG_OBJ_BLOB && size == 9, "blob, 9");
}

/* a scan reads a chain with its own delta-base cache, not the odb's */
static void scan_own_bases(void)
{
	static unsigned char d1[32], d2[32];
	char idx[512];
	struct pg_entry pe[3];
	ug_cache *bases = NULL;
	ug_cache_stats st;
	ug_odb_stats before, after;
	unsigned char *data;
	ug_otype type;
	size_t size;
	bool same = true;

	require(odb && !ug_cache_new(&bases, 1 << 20, 1 << 19), "the odb is open, a scan cache made");
	pe[0] = pg_plain(UG_OBJ_BLOB, "scan\n", 5, UG_HASH_SHA1);
	pe[1] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = d1, .base = 0,
				   .len = pg_delta(d1, 5, 8, "\x90\x05\x03" "abc", 6) };
	ug_hash_object(&pe[1].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "scan\nabc", 8);
	pe[2] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = d2, .base = 1,
				   .len = pg_delta(d2, 8, 11, "\x90\x08\x03" "def", 6) };
	ug_hash_object(&pe[2].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "scan\nabcdef", 11);
	put_pack(pe, 3, "pack-scan", idx, sizeof(idx));
	ug_odb_refresh(odb);
	ug_odb_get_stats(odb, &before);
	for (int i = 0; i < 3; i++) {
		same &= ug_odb_read_scan(odb, bases, &pe[2].oid, &type, &data, &size) == 0 &&
			type == UG_OBJ_BLOB && size == 11 && !memcmp(data, "scan\nabcdef", 12);
		free(data);
	}
	ok(same, "three scan reads give the object's bytes");
	ug_cache_get_stats(bases, &st);
	ok(st.count == 2 && st.hits == 2, "the chain's two bases are in the scan's cache as made, "
	   "then found (count %zu, hits %llu)", st.count, (unsigned long long)st.hits);
	ug_odb_get_stats(odb, &after);
	ok(after.cache_bytes == before.cache_bytes && after.cache_objects == before.cache_objects,
	   "the odb's own caches are untouched (%zu bytes before, %zu after)", before.cache_bytes,
	   after.cache_bytes);
	is_int(read_str(odb, &pe[2].oid, "scan\nabcdef", 11), 0, "a plain read after the scan");
	ug_odb_get_stats(odb, &after);
	ok(after.cache_bytes == before.cache_bytes, "made once by the odb, no base is kept there yet");
	ug_cache_free(bases);
}

/* a REF_DELTA loop across two packs */
static void loop_across_packs(void)
{
	char path[400], idx[512];
	struct pg_entry la, lb;
	struct pg_pack pk;
	size_t dlen = pg_delta(dl, 6, 9, "\x90\x06\x03" "abc", 6), size;
	ug_object *obj;
	ug_otype type;

	require(odb, "the odb is open");
	la = (struct pg_entry){ .type = UG_OBJ_REF_DELTA, .data = dl, .len = dlen };
	lb = la;
	ug_hash_object(&la.oid, UG_HASH_SHA1, UG_OBJ_BLOB, "loop a", 6);
	ug_hash_object(&lb.oid, UG_HASH_SHA1, UG_OBJ_BLOB, "loop b", 6);
	la.base_oid = lb.oid;
	lb.base_oid = la.oid;
	snprintf(path, sizeof(path), "%s/pack", objects);
	pg_build(&la, 1, UG_HASH_SHA1, 2, &pk);
	pg_write(&pk, path, "pack-loopa", idx, sizeof(idx));
	pg_free(&pk);
	pg_build(&lb, 1, UG_HASH_SHA1, 2, &pk);
	pg_write(&pk, path, "pack-loopb", idx, sizeof(idx));
	pg_free(&pk);
	ug_odb_refresh(odb);
	is_int(ug_odb_read(&obj, odb, &la.oid), UG_ECORRUPT, "REF_DELTA loop across packs is corrupt");
	ok(strstr(ug_error_last(), "loop") != NULL, "message: %s", ug_error_last());
	is_int(ug_odb_read_header(odb, &lb.oid, &type, &size), UG_ECORRUPT, "and so is its header");
}

/* alternates: relative, with comments, cycles */
static void alternates(void)
{
	char path[512], text[1024];
	struct stat st;
	ug_odb *a;
	ug_oid o1, o2;

	run("mkdir -p %s/alt1/objects/info %s/alt2/objects/info", tmp);
	ug_odb_new(&a, UG_HASH_SHA1);
	snprintf(path, sizeof(path), "%s/alt2/objects", tmp);
	ug_odb_add_git(a, path);
	ug_odb_write(a, &o2, UG_OBJ_BLOB, "in alt2\n", 8);
	ug_odb_free(a);
	snprintf(path, sizeof(path), "%s/alt1/objects/info/alternates", tmp);
	snprintf(text, sizeof(text), "# a comment\n\n../../alt2/objects\n%s\n%s/alt1/objects\n", objects, tmp);
	pg_write_file(path, text, strlen(text));
	snprintf(path, sizeof(path), "%s/alt2/objects/info/alternates", tmp);
	snprintf(text, sizeof(text), "%s/alt1/objects\n/nonexistent/objects\n", tmp);
	pg_write_file(path, text, strlen(text));
	snprintf(path, sizeof(path), "%s/alt1/objects", tmp);
	ug_odb_new(&a, UG_HASH_SHA1);
	is_int(ug_odb_add_git(a, path), 0, "alternates with a cycle and a missing entry load");
	is_int(read_str(a, &o2, "in alt2\n", 8), 0, "object of a relative alternate");
	ug_hash_object(&o1, UG_HASH_SHA1, UG_OBJ_BLOB, "hello\n", 6);
	is_int(read_str(a, &o1, "hello\n", 6), 0, "object of an absolute alternate");
	is_int(ug_odb_write(a, &o1, UG_OBJ_BLOB, "hello\n", 6), 0, "write of an alternate's object");
	snprintf(path, sizeof(path), "%s/alt1/objects/ce", tmp);
	ok(stat(path, &st) != 0, "is a no-op");
	ug_odb_free(a);
}

/* A fresh odb over objects with a cache of 64 KiB, 100 blobs of 2000 bytes written in it;
 * NULL (and the case failed) when the objects dir does not open. */
static ug_odb *cache_odb(ug_oid *ids)
{
	char buf[4096];
	ug_odb *c;

	ug_odb_new(&c, UG_HASH_SHA1);
	if (!is_int(ug_odb_add_git(c, objects), 0, "add git objects dir")) {
		ug_odb_free(c);
		return NULL;
	}
	ug_odb_set_cache_limit(c, 64 * 1024);
	for (int i = 0; i < 100; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		snprintf(buf, 16, "%d", i);
		ug_odb_write(c, &ids[i], UG_OBJ_BLOB, buf, 2000);
	}
	return c;
}

static void read_twice(ug_odb *c, const ug_oid *oid)
{
	ug_object *obj;

	for (int twice = 0; twice < 2; twice++) {
		ug_odb_read(&obj, c, oid);
		ug_object_free(obj);
	}
}

/* the cache: capped, counts hits */
static void cache_capped(void)
{
	ug_oid ids[100];
	ug_odb *c = cache_odb(ids);
	ug_object *obj;
	ug_odb_stats s;
	bool capped = true;
	uint64_t hits;

	if (!c)
		return;
	ug_odb_read(&obj, c, &ids[0]);
	ug_object_free(obj);
	ug_odb_get_stats(c, &s);
	is_int((long long)s.cache_objects, 0, "a blob read once is not kept");
	for (int i = 0; i < 100; i++) {
		read_twice(c, &ids[i]);
		ug_odb_get_stats(c, &s);
		capped &= s.cache_bytes <= s.cache_limit;
	}
	ok(capped, "cache bytes never over the limit (%zu <= %zu)", s.cache_bytes, s.cache_limit);
	is_int((long long)s.cache_limit, 64 * 1024, "limit reported");
	ok(s.cache_objects > 5 && s.cache_objects < 40, "some objects kept (%zu)", s.cache_objects);
	hits = s.hits;
	ug_odb_read(&obj, c, &ids[99]);
	ug_object_free(obj);
	ug_odb_get_stats(c, &s);
	is_int((long long)(s.hits - hits), 1, "rereading the last object is a hit");
	ug_odb_read(&obj, c, &ids[0]);
	ug_object_free(obj);
	ug_odb_get_stats(c, &s);
	is_int((long long)(s.hits - hits), 1, "the first one was evicted");
	ug_odb_free(c);
}

/* large objects not kept, trees kept, a held object outlives its eviction */
static void cache_what_is_kept(void)
{
	ug_oid ids[100], oid;
	ug_odb *c = cache_odb(ids);
	unsigned char *big;
	ug_object *obj;
	ug_odb_stats s;
	size_t count;

	if (!c)
		return;
	big = calloc(1, 40000);
	for (int i = 0; i < 100; i++)
		read_twice(c, &ids[i]);
	ug_odb_get_stats(c, &s);
	count = s.cache_objects;
	ug_odb_write(c, &oid, UG_OBJ_BLOB, big, 40000);
	ug_odb_read(&obj, c, &oid);
	ug_object_free(obj);
	ug_odb_read(&obj, c, &oid);
	ug_odb_get_stats(c, &s);
	ok(obj && obj->size == 40000, "a large object is returned");
	is_int((long long)s.cache_objects, (long long)count, "but not kept");
	ug_object_free(obj);
	ug_odb_write(c, &oid, UG_OBJ_TREE, "", 0);
	ug_odb_read(&obj, c, &oid);
	ug_object_free(obj);
	ug_odb_get_stats(c, &s);
	is_int((long long)s.cache_objects, (long long)count + 1, "a tree read once is kept");
	ug_odb_read(&obj, c, &ids[5]);
	ug_odb_set_cache_limit(c, 0);
	ug_odb_get_stats(c, &s);
	ok(s.cache_bytes == 0 && obj && obj->data[0] == '5', "held object survives a cache flush");
	ug_object_free(obj);
	ug_odb_free(c);
	free(big);
}

/* threads reading while another refreshes */
static void threads(void)
{
	char idx[512];
	unsigned char d[32];
	struct pg_entry pe[2];
	struct reader_arg ra[3];
	pthread_t t[4];
	ug_oid ids[3];
	ug_odb *c;

	ug_odb_new(&c, UG_HASH_SHA1);
	ug_odb_add_git(c, objects);
	ug_odb_set_cache_limit(c, 0); /* every read goes to the backends */
	pe[0] = pg_plain(UG_OBJ_BLOB, "thread one\n", 11, UG_HASH_SHA1);
	pe[1] = (struct pg_entry){ .type = UG_OBJ_OFS_DELTA, .data = d, .base = 0,
				   .len = pg_delta(d, 11, 14, "\x90\x0b\x03xyz", 6) };
	ug_hash_object(&pe[1].oid, UG_HASH_SHA1, UG_OBJ_BLOB, "thread one\nxyz", 14);
	put_pack(pe, 2, "pack-threads", idx, sizeof(idx));
	ids[0] = pe[0].oid;
	ids[1] = pe[1].oid;
	ug_hash_object(&ids[2], UG_HASH_SHA1, UG_OBJ_BLOB, "hello\n", 6);
	for (int i = 0; i < 3; i++) {
		ra[i] = (struct reader_arg){ c, ids, 3, 0 };
		pthread_create(&t[i], NULL, reader, &ra[i]);
	}
	pthread_create(&t[3], NULL, refresher, c);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	is_int(ra[0].fails + ra[1].fails + ra[2].fails, 0, "concurrent reads during refreshes");
	ug_odb_free(c);
}

/* ugit objects: the folder, and a fresh odb over it */
static char ugit_objects[256];

static ug_odb *ugit_odb(void)
{
	ug_odb *u;

	snprintf(ugit_objects, sizeof(ugit_objects), "%s/ugit/.ugit/objects", tmp);
	run("mkdir -p %s/ugit/.ugit/objects", tmp);
	if (!is_int(ug_odb_new(&u, UG_HASH_SHA1), 0, "ugit odb"))
		return NULL;
	if (!is_int(ug_odb_add_ugit(u, ugit_objects), 0, "add ugit objects dir")) {
		ug_odb_free(u);
		return NULL;
	}
	return u;
}

static void ugit_write(void)
{
	char path[512], raw[64], hex[UG_OID_MAXHEX + 1];
	ug_odb *u = ugit_odb();
	ug_oid oid, oid2;
	ug_otype type;
	size_t size, got;
	FILE *f;

	if (!u)
		return;
	if (!is_int(ug_odb_write(u, &oid, UG_OBJ_BLOB, "hello\n", 6), 0, "write a ugit blob"))
		goto out;
	ug_hash_buf(&oid2, UG_HASH_SHA1, "blob\0hello\n", 11);
	ok(ug_oid_equal(&oid, &oid2), "id is SHA-1 of \"blob\\0hello\\n\"");
	snprintf(path, sizeof(path), "%s/%s", ugit_objects, ug_oid_tohex(hex, &oid, UG_HASH_SHA1));
	f = fopen(path, "rb");
	got = f ? fread(raw, 1, sizeof(raw), f) : 0;
	if (f)
		fclose(f);
	ok(got == 11 && !memcmp(raw, "blob\0hello\n", 11), "file holds exactly TYPE\\0CONTENT");
	is_int(read_str(u, &oid, "hello\n", 6), 0, "read it back");
	is_int(ug_odb_read_header(u, &oid, &type, &size), 0, "header");
	ok(type == UG_OBJ_BLOB && size == 6, "blob, 6");
out:
	ug_odb_free(u);
}

static void ugit_again_prefix_hash(void)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_odb *u = ugit_odb();
	ug_oid oid, oid2;

	if (!u)
		return;
	ug_hash_buf(&oid, UG_HASH_SHA1, "blob\0hello\n", 11);
	ug_oid_tohex(hex, &oid, UG_HASH_SHA1);
	is_int(ug_odb_write(u, &oid2, UG_OBJ_BLOB, "hello\n", 6), 0, "write again: no-op");
	is_int(ug_odb_resolve_prefix(u, hex, 6, &oid2), 0, "prefix resolves");
	ok(ug_oid_equal(&oid, &oid2), "to it");
	is_int(ug_odb_hash(u, &oid2, UG_OBJ_TREE, "", 0), 0, "hash");
	ug_hash_buf(&oid, UG_HASH_SHA1, "tree", 5);
	ok(ug_oid_equal(&oid, &oid2), "the empty ugit tree is SHA-1 of \"tree\\0\"");
	ug_odb_free(u);
}

/* The ugit file of "blob\0original" (path to fill) holding bytes; its id in oid. */
static void ugit_put(ug_oid *oid, char *path, size_t n, const char *bytes, size_t len)
{
	char hex[UG_OID_MAXHEX + 1];

	ug_hash_buf(oid, UG_HASH_SHA1, "blob\0original", 13);
	snprintf(path, n, "%s/%s", ugit_objects, ug_oid_tohex(hex, oid, UG_HASH_SHA1));
	pg_write_file(path, bytes, len);
}

/* tampered files */
static void ugit_tampered(void)
{
	ug_odb *u = ugit_odb();
	ug_object *obj;
	ug_oid oid, oid2;
	char path[512];

	if (!u)
		return;
	ugit_put(&oid2, path, sizeof(path), "blob\0tampered", 13);
	is_int(read_str(u, &oid2, "tampered", 8), 0, "tampered object reads without verify");
	ug_odb_set_verify(u, true);
	is_int(ug_odb_read(&obj, u, &oid2), UG_ECORRUPT, "verify catches it (ugit hash)");
	is_int(ug_odb_write(u, &oid, UG_OBJ_COMMIT, "tree x\n\nm\n", 10), 0, "verified odb writes");
	is_int(read_str(u, &oid, "tree x\n\nm\n", 10), 0, "and verifies its own writes");
	ug_odb_free(u);
}

/* hostile files */
static void ugit_hostile(void)
{
	ug_odb *u = ugit_odb();
	ug_object *obj;
	ug_otype type;
	char path[512];
	size_t size;
	ug_oid oid2;

	if (!u)
		return;
	ugit_put(&oid2, path, sizeof(path), "blub\0x", 6);
	is_int(ug_odb_read(&obj, u, &oid2), UG_ECORRUPT, "unknown ugit type is corrupt");
	pg_write_file(path, "blobxxxxxxxxxxx", 15);
	is_int(ug_odb_read(&obj, u, &oid2), UG_ECORRUPT, "no NUL is corrupt");
	is_int(ug_odb_read_header(u, &oid2, &type, &size), UG_ECORRUPT, "its header too");
	ug_odb_free(u);
}

/* over the size limit: the header is refused as the whole read is */
static void ugit_over_limit(void)
{
	size_t old = ug_zinflate_max_size(), size;
	ug_odb *u = ugit_odb();
	ug_object *obj;
	ug_otype type;
	char path[512];
	ug_oid oid2;

	if (!u)
		return;
	ugit_put(&oid2, path, sizeof(path), "blob\0twenty bytes here", 23);
	ug_zinflate_set_max_size(10);
	is_int(ug_odb_read(&obj, u, &oid2), UG_ECORRUPT, "a ugit object over the limit: read refused");
	is_int(ug_odb_read_header(u, &oid2, &type, &size), UG_ECORRUPT,
	       "and its header too (%s)", ug_error_last());
	ug_zinflate_set_max_size(old);
	ug_odb_free(u);
}

static void ugit_sha1_only(void)
{
	ug_odb *u;

	snprintf(ugit_objects, sizeof(ugit_objects), "%s/ugit/.ugit/objects", tmp);
	ug_odb_new(&u, UG_HASH_SHA256);
	is_int(ug_odb_add_ugit(u, ugit_objects), UG_EINVALID, "ugit is SHA-1 only");
	ug_odb_free(u);
}

/* SHA-256 loose round trip */
static void sha256_loose(void)
{
	char path[512], hex[UG_OID_MAXHEX + 1];
	ug_oid oid, oid2;
	ug_odb *s;

	run("git init -q --bare --object-format=sha256 %s/repo256.git", tmp);
	snprintf(path, sizeof(path), "%s/repo256.git/objects", tmp);
	ug_odb_new(&s, UG_HASH_SHA256);
	if (!is_int(ug_odb_add_git(s, path), 0, "sha256 objects dir") ||
	    !is_int(ug_odb_write(s, &oid, UG_OBJ_BLOB, "hello\n", 6), 0, "sha256 write"))
		goto out;
	ok(!strcmp(ug_oid_tohex(hex, &oid, UG_HASH_SHA256),
		   "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4"),
	   "sha256 id is git's");
	is_int(read_str(s, &oid, "hello\n", 6), 0, "sha256 read back");
	is_int(ug_odb_resolve_prefix(s, "2cf8d83", 7, &oid2), 0, "sha256 prefix");
	snprintf(path, sizeof(path), "test \"$(git --git-dir=%s/repo256.git cat-file blob %s)\" = hello", tmp, hex);
	ok(system(path) == 0, "git reads our sha256 loose object");
out:
	ug_odb_free(s);
}

static void missing_objects_dir(void)
{
	ug_odb *o;

	require_int(ug_odb_new(&o, UG_HASH_SHA1), 0, "new odb");
	is_int(ug_odb_add_git(o, "/nonexistent/objects"), UG_ENOTFOUND, "missing objects dir");
	ug_odb_free(o);
}

static const struct tap_case cases[] = {
	TAP_CASE("loose: a written blob is git's file, mode 0444, read by git, no temp file", loose_write),
	TAP_CASE("loose: writing it again is a no-op", loose_write_again),
	TAP_CASE("loose: its header gives type and size, it exists", loose_header),
	TAP_CASE("loose: an absent object is not found, named in the message", absent_object),
	TAP_CASE("odb: writing a bad type is refused", bad_type),
	TAP_CASE("loose: 1 MiB and the empty tree round-trip", big_and_empty),
	TAP_CASE("loose: a write over the file size limit fails, leaving no temp file", write_over_size_limit),
	TAP_CASE("loose: git fsck --strict accepts what we wrote", git_fsck_accepts),
	TAP_ROWS("loose: corrupt, not logged by the core", hostile_loose, NHOSTILE, hostile_name),
	TAP_CASE("loose: garbage after the zlib stream, a truncated file are corrupt", garbage_and_truncated),
	TAP_CASE("loose: a file far larger than its stream is refused from its size", fat_loose_file),
	TAP_CASE("verify: without it, a mismatched loose file goes unseen", verify_off),
	TAP_CASE("verify: it catches the mismatch without logging, passes a good object", verify_on),
	TAP_CASE("prefix: lengths, hex, full ids, no match", prefixes),
	TAP_CASE("prefix: unique while one of two similar blobs is stored", prefix_unique),
	TAP_CASE("prefix: a pack added later is found, loose and packed are ambiguous", prefix_ambiguous),
	TAP_CASE("prefix: a burst of lookups lists each loose folder once", prefix_burst),
	TAP_CASE("pack: a deleted pack reads through its map until refresh drops it", pack_vanishing),
	TAP_CASE("pack: a REF_DELTA on a loose base reads, header too", thin_pack),
	TAP_CASE("headers: a type and size read once are kept by id", headers_kept),
	TAP_CASE("headers: the table fits the bytes it is given", headcache_fits),
	TAP_CASE("scan: a chain read with the scan's own delta-base cache, not the odb's", scan_own_bases),
	TAP_CASE("pack: a REF_DELTA loop across two packs is corrupt", loop_across_packs),
	TAP_CASE("alternates: relative, commented, cyclic, missing; writes of theirs are no-ops", alternates),
	TAP_CASE("cache: capped, counting hits, evicting the oldest", cache_capped),
	TAP_CASE("cache: large objects not kept, trees kept, held objects survive a flush", cache_what_is_kept),
	TAP_CASE("odb: threads read while another refreshes", threads),
	TAP_CASE("ugit: a written blob is TYPE NUL CONTENT under its SHA-1, reads back", ugit_write),
	TAP_CASE("ugit: writing again, prefixes, the empty tree's hash", ugit_again_prefix_hash),
	TAP_CASE("ugit: a tampered object reads unless verified", ugit_tampered),
	TAP_CASE("ugit: an unknown type or no NUL is corrupt", ugit_hostile),
	TAP_CASE("ugit: an object over the size limit is refused, header too", ugit_over_limit),
	TAP_CASE("ugit: SHA-1 only", ugit_sha1_only),
	TAP_CASE("loose: SHA-256 round trip, read by git", sha256_loose),
	TAP_CASE("odb: a missing objects dir is not found", missing_objects_dir),
};

int main(void)
{
	int status;

	ug_log_set_sink(sink);
	strcpy(tmp, "/tmp/ugtest-odb-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	run("git init -q --bare %s/repo.git", tmp);
	path_of(objects, sizeof(objects), "repo.git/objects");
	status = TAP_RUN(cases);
	ug_odb_free(odb);
	run("rm -rf %s", tmp);
	return status;
}
