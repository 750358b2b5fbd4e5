/* The object database: reads objects from an ordered list of backends, with a memory-capped cache. */
#ifndef UG_ODB_H
#define UG_ODB_H

#include "oid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ug_odb ug_odb;
typedef struct ug_odb_backend ug_odb_backend;

/*
 * An object as read: immutable and reference-counted, shared between threads.
 * data holds size bytes followed by one NUL (not counted in size), so text
 * parsers may rely on a terminator. Release with ug_object_free().
 */
typedef struct ug_object {
	ug_oid oid;
	ug_otype type;
	size_t size;
	const unsigned char *data;
} ug_object;

/* Drop one reference; NULL is a no-op. */
void ug_object_free(ug_object *obj);
/* Take another reference; returns obj. */
ug_object *ug_object_dup(ug_object *obj);

/*
 * Thread safety: an ug_odb may be used by any number of threads at once for
 * every function below; adding backends and setting limits happen before the
 * odb is shared.
 */
int ug_odb_new(ug_odb **out, ug_hash_algo algo);
void ug_odb_free(ug_odb *odb);
ug_hash_algo ug_odb_algo(const ug_odb *odb);

/* Append a backend (the odb owns it from now on, also on failure). Backends are
 * asked in the order added: not-found means "try the next", any other error stops. */
int ug_odb_add_backend(ug_odb *odb, ug_odb_backend *backend);

/* The standard git layout under objects_dir: packs, then loose objects, then each
 * alternate listed in objects/info/alternates (recursively, depth-limited). */
int ug_odb_add_git(ug_odb *odb, const char *objects_dir);
/* The ugit layout: uncompressed "TYPE\0CONTENT" files under objects_dir/<hex>. */
int ug_odb_add_ugit(ug_odb *odb, const char *objects_dir);

/* Memory cap in bytes for cached objects and delta bases together (default 256 MiB). */
void ug_odb_set_cache_limit(ug_odb *odb, size_t bytes);
/* Check every object read against its id (mount option verify). */
void ug_odb_set_verify(ug_odb *odb, bool verify);

/* Read a whole object. *out is a new reference (ug_object_free). */
int ug_odb_read(ug_object **out, ug_odb *odb, const ug_oid *oid);
/*
 * A stream over an object's content, for objects too big to hold whole: 0
 * and *out set when it is stored whole (a loose object, an undeltified pack
 * entry); 0 and *out NULL when it is stored otherwise (read it whole then).
 * *out: ug_zstream_free (zinflate.h). With verify set, no stream is given.
 */
typedef struct ug_zstream ug_zstream;
int ug_odb_stream(ug_zstream **out, ug_odb *odb, const ug_oid *oid, ug_otype *type, size_t *size);

/* Type and size without inflating the whole object. */
int ug_odb_read_header(ug_odb *odb, const ug_oid *oid, ug_otype *type, size_t *size);
bool ug_odb_exists(ug_odb *odb, const ug_oid *oid);
/* Present in a backend now: no pack rescan, no fetch (a partial clone's check of what to fetch). */
bool ug_odb_exists_local(ug_odb *odb, const ug_oid *oid);

/* Asked for an object that no backend has even after a rescan (a partial clone
 * fetches it): 0 means "ask the backends once more", an error is returned as
 * the read's. ctx is borrowed; NULL fn removes the hook. Set before sharing. */
typedef int (*ug_odb_missing_fn)(void *ctx, const ug_oid *oid);
void ug_odb_set_missing(ug_odb *odb, ug_odb_missing_fn fn, void *ctx);

/* Resolve an abbreviated id of len hex digits (4 <= len <= hexsz) over every backend.
 * UG_ENOTFOUND, UG_EAMBIGUOUS (several objects), UG_EINVALID (not hex, too short). */
int ug_odb_resolve_prefix(ug_odb *odb, const char *hex, size_t len, ug_oid *out);
/* A burst of such lookups on the calling thread, many at one instant (as git
 * log --format=%h makes): between begin and end, each folder of loose
 * objects is listed at most once, so an object written there meanwhile may be
 * missed. The listings are the thread's, freed at end. */
void ug_odb_prefix_burst_begin(ug_odb *odb);
void ug_odb_prefix_burst_end(ug_odb *odb);

/* Write an object (into the first backend that writes) durably: the data is
 * fsync'ed and renamed into place and its directory fsync'ed before this returns.
 * Writing an object that already exists is a no-op. */
int ug_odb_write(ug_odb *odb, ug_oid *out, ug_otype type, const void *data, size_t len);

/*
 * Durability in bulk, for writing many objects at once: between begin and end,
 * ug_odb_write on this thread does not fsync each object and folder; end makes
 * everything written durable with one syncfs() of the file system holding the
 * objects, and returns its error (a write that failed on the way to the disk
 * since begin). Batches do not nest. Objects must not be published (a ref
 * pointing at them) before end returns 0.
 */
int ug_odb_batch_begin(ug_odb *odb);
int ug_odb_batch_end(ug_odb *odb);

/* Compute the id the odb would give to this content, without writing. */
int ug_odb_hash(ug_odb *odb, ug_oid *out, ug_otype type, const void *data, size_t len);

/* Re-scan backends for new packs (also done once automatically on a miss). */
int ug_odb_refresh(ug_odb *odb);

/* Statistics for tests and the daemon's status. */
typedef struct {
	size_t cache_bytes, cache_limit, cache_objects;
	uint64_t hits, misses;
} ug_odb_stats;
void ug_odb_get_stats(ug_odb *odb, ug_odb_stats *out);

/*
 * The backend interface. Every function returns 0, UG_ENOTFOUND, or another
 * error. Backends must be safe for concurrent calls.
 */
struct ug_odb_backend {
	/* Whole object; *data is malloc'ed with size+1 bytes, the last one NUL. */
	int (*read)(ug_odb_backend *b, const ug_oid *oid, ug_otype *type,
		    unsigned char **data, size_t *size);
	int (*read_header)(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, size_t *size);
	/* As ug_odb_stream for this backend; UG_ENOTFOUND when not here. NULL:
	 * this backend never streams. */
	int (*stream)(ug_odb_backend *b, const ug_oid *oid, ug_otype *type, size_t *size,
		      ug_zstream **out);
	/* Count matches of the first len hex digits of prefix; set *found to one
	 * (the first) and add their number to *count, stopping after 2. */
	int (*find_prefix)(ug_odb_backend *b, const ug_oid *prefix, size_t len,
			   ug_oid *found, int *count);
	/* NULL for read-only backends. The id is computed by the caller. */
	int (*write)(ug_odb_backend *b, const ug_oid *oid, ug_otype type, const void *data, size_t len);
	/* How this backend names objects: git "TYPE SIZE\0" headers or ugit "TYPE\0". */
	int (*hash)(ug_odb_backend *b, ug_oid *out, ug_otype type, const void *data, size_t len);
	int (*refresh)(ug_odb_backend *b); /* may be NULL */
	void (*free)(ug_odb_backend *b);
};

/* Read a whole object (its type and size only when data is NULL) bypassing
 * the cache, counting nesting so that delta loops across packs end with
 * UG_ECORRUPT (the packs read their REF_DELTA bases stored elsewhere so). */
int ug_odb_read_nested(ug_odb *odb, const ug_oid *oid, ug_otype *type,
		       unsigned char **data, size_t *size);

typedef struct ug_cache ug_cache;
/*
 * The same for a scan that reads each object once and in order (a history
 * walk reading every version of a folder): packs resolve deltas with bases
 * (ug_cache_new, the caller's) instead of the odb's delta-base cache. A
 * small cache of the scan's own recent bases serves it as well, and a long
 * scan then neither evicts the bases other readers reuse nor fills memory
 * with bases nobody asks for again (each new page costs a fault).
 */
int ug_odb_read_scan(ug_odb *odb, ug_cache *bases, const ug_oid *oid, ug_otype *type,
		     unsigned char **data, size_t *size);

#endif
