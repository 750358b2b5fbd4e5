/* Object ids (SHA-1 and SHA-256), their hex form, and hashing through OpenSSL. */
#ifndef UG_OID_H
#define UG_OID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UG_OID_MAXRAW 32
#define UG_OID_MAXHEX 64

typedef enum {
	UG_HASH_SHA1 = 1,
	UG_HASH_SHA256 = 2,
} ug_hash_algo;

/* An object id. Bytes past the algorithm's length are always zero, so two ids
 * of one repository compare with memcmp over the whole array. */
typedef struct {
	unsigned char id[UG_OID_MAXRAW];
} ug_oid;

/* Object types; the numbers are git's pack type codes. */
typedef enum {
	UG_OBJ_BAD = -1,
	UG_OBJ_NONE = 0,
	UG_OBJ_COMMIT = 1,
	UG_OBJ_TREE = 2,
	UG_OBJ_BLOB = 3,
	UG_OBJ_TAG = 4,
	UG_OBJ_OFS_DELTA = 6,
	UG_OBJ_REF_DELTA = 7,
} ug_otype;

size_t ug_hash_rawsz(ug_hash_algo algo); /* 20 or 32 */
size_t ug_hash_hexsz(ug_hash_algo algo); /* 40 or 64 */
const char *ug_hash_name(ug_hash_algo algo); /* "sha1" or "sha256" */

/* "commit", "tree", "blob", "tag"; NULL for other values. Static storage. */
const char *ug_otype_name(ug_otype type);
/* The type named by the len bytes at name, or UG_OBJ_BAD. */
ug_otype ug_otype_parse(const char *name, size_t len);

/* Parse exactly hexsz(algo) hex digits (either case). UG_EINVALID otherwise. */
int ug_oid_fromhex(ug_oid *out, const char *hex, size_t len, ug_hash_algo algo);
/* Write hexsz(algo) lowercase digits and a NUL into out[hexsz+1]; returns out. */
char *ug_oid_tohex(char *out, const ug_oid *oid, ug_hash_algo algo);
void ug_oid_fromraw(ug_oid *out, const unsigned char *raw, ug_hash_algo algo);
int ug_oid_cmp(const ug_oid *a, const ug_oid *b);
bool ug_oid_equal(const ug_oid *a, const ug_oid *b);
bool ug_oid_iszero(const ug_oid *oid);
/* True if the first n hex digits of oid equal those of prefix. */
bool ug_oid_prefix_match(const ug_oid *oid, const ug_oid *prefix, size_t n);
/* Merge one candidate match of a prefix into a lookup's result: *found the
 * first one, *count the distinct ids seen, stopping at 2 (ambiguous). */
void ug_oid_prefix_merge(ug_oid *found, int *count, const ug_oid *candidate);
/* Parse a prefix of 1..hexsz hex digits into the leading bytes of out (the rest zero). */
int ug_oid_prefix_fromhex(ug_oid *out, const char *hex, size_t len, ug_hash_algo algo);
bool ug_is_hex(const char *s, size_t len);

/* Incremental hashing. Not thread-safe per context; contexts are independent. */
typedef struct {
	void *md; /* EVP_MD_CTX, owned */
	ug_hash_algo algo;
} ug_hash_ctx;

int ug_hash_init(ug_hash_ctx *ctx, ug_hash_algo algo);
void ug_hash_update(ug_hash_ctx *ctx, const void *data, size_t len);
/* Writes the digest and releases the context (no _release needed after it). */
int ug_hash_final(ug_hash_ctx *ctx, ug_oid *out);
/* Release a context without finishing it. */
void ug_hash_release(ug_hash_ctx *ctx);

int ug_hash_buf(ug_oid *out, ug_hash_algo algo, const void *data, size_t len);
/* The git object id: hash of "TYPE SIZE\0" followed by the content. */
int ug_hash_object(ug_oid *out, ug_hash_algo algo, ug_otype type, const void *data, size_t len);
/* Write git's object header "TYPE SIZE" plus NUL into buf[32]; returns its length. */
size_t ug_object_header(char *buf, ug_otype type, size_t len);

#endif
