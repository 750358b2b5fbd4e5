/* Object ids: hex conversion, comparison, and hashing through OpenSSL's EVP. */
#include "oid.h"

#include "error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
	[UG_OBJ_COMMIT] = "commit",
	[UG_OBJ_TREE] = "tree",
	[UG_OBJ_BLOB] = "blob",
	[UG_OBJ_TAG] = "tag",
};

size_t ug_hash_rawsz(ug_hash_algo algo)
{
	return algo == UG_HASH_SHA256 ? 32 : 20;
}

size_t ug_hash_hexsz(ug_hash_algo algo)
{
	return 2 * ug_hash_rawsz(algo);
}

const char *ug_hash_name(ug_hash_algo algo)
{
	return algo == UG_HASH_SHA256 ? "sha256" : "sha1";
}

const char *ug_otype_name(ug_otype type)
{
	if (type < UG_OBJ_COMMIT || type > UG_OBJ_TAG)
		return NULL;
	return type_names[type];
}

ug_otype ug_otype_parse(const char *name, size_t len)
{
	for (int t = UG_OBJ_COMMIT; t <= UG_OBJ_TAG; t++)
		if (strlen(type_names[t]) == len && !memcmp(type_names[t], name, len))
			return (ug_otype)t;
	return UG_OBJ_BAD;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool ug_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (hexval((unsigned char)s[i]) < 0)
			return false;
	return true;
}

int ug_oid_prefix_fromhex(ug_oid *out, const char *hex, size_t len, ug_hash_algo algo)
{
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > ug_hash_hexsz(algo))
		return ug_error(UG_EINVALID, "bad object id length %zu", len);
	for (size_t i = 0; i < len; i++) {
		int v = hexval((unsigned char)hex[i]);
		if (v < 0)
			return ug_error(UG_EINVALID, "not a hex object id: %.*s", (int)len, hex);
		out->id[i / 2] |= (unsigned char)(i % 2 ? v : v << 4);
	}
	return 0;
}

int ug_oid_fromhex(ug_oid *out, const char *hex, size_t len, ug_hash_algo algo)
{
	if (len != ug_hash_hexsz(algo))
		return ug_error(UG_EINVALID, "not a full object id: %.*s", (int)(len > 80 ? 80 : len), hex);
	return ug_oid_prefix_fromhex(out, hex, len, algo);
}

char *ug_oid_tohex(char *out, const ug_oid *oid, ug_hash_algo algo)
{
	static const char digits[] = "0123456789abcdef";
	size_t raw = ug_hash_rawsz(algo);

	for (size_t i = 0; i < raw; i++) {
		out[2 * i] = digits[oid->id[i] >> 4];
		out[2 * i + 1] = digits[oid->id[i] & 15];
	}
	out[2 * raw] = '\0';
	return out;
}

void ug_oid_fromraw(ug_oid *out, const unsigned char *raw, ug_hash_algo algo)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, raw, ug_hash_rawsz(algo));
}

int ug_oid_cmp(const ug_oid *a, const ug_oid *b)
{
	return memcmp(a->id, b->id, UG_OID_MAXRAW);
}

bool ug_oid_equal(const ug_oid *a, const ug_oid *b)
{
	return !memcmp(a->id, b->id, UG_OID_MAXRAW);
}

bool ug_oid_iszero(const ug_oid *oid)
{
	static const ug_oid zero;
	return ug_oid_equal(oid, &zero);
}

bool ug_oid_prefix_match(const ug_oid *oid, const ug_oid *prefix, size_t n)
{
	size_t whole = n / 2;

	if (memcmp(oid->id, prefix->id, whole))
		return false;
	return n % 2 == 0 || (oid->id[whole] & 0xf0) == (prefix->id[whole] & 0xf0);
}

void ug_oid_prefix_merge(ug_oid *found, int *count, const ug_oid *candidate)
{
	if (*count == 0) {
		*found = *candidate;
		*count = 1;
	} else if (*count == 1 && !ug_oid_equal(found, candidate)) {
		*count = 2;
	}
}

int ug_hash_init(ug_hash_ctx *ctx, ug_hash_algo algo)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	ctx->md = NULL;
	ctx->algo = algo;
	if (!md)
		return ug_error(UG_ENOMEM, "cannot allocate a hash context");
	if (!EVP_DigestInit_ex(md, algo == UG_HASH_SHA256 ? EVP_sha256() : EVP_sha1(), NULL)) {
		EVP_MD_CTX_free(md);
		return ug_error(UG_ERROR, "cannot start a %s hash", ug_hash_name(algo));
	}
	ctx->md = md;
	return 0;
}

void ug_hash_update(ug_hash_ctx *ctx, const void *data, size_t len)
{
	EVP_DigestUpdate(ctx->md, data, len);
}

int ug_hash_final(ug_hash_ctx *ctx, ug_oid *out)
{
	unsigned int n = 0;
	int ok;

	memset(out, 0, sizeof(*out));
	ok = EVP_DigestFinal_ex(ctx->md, out->id, &n);
	ug_hash_release(ctx);
	return ok ? 0 : ug_error(UG_ERROR, "hash failed");
}

void ug_hash_release(ug_hash_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
}

int ug_hash_buf(ug_oid *out, ug_hash_algo algo, const void *data, size_t len)
{
	ug_hash_ctx ctx;
	int err = ug_hash_init(&ctx, algo);

	if (err)
		return err;
	ug_hash_update(&ctx, data, len);
	return ug_hash_final(&ctx, out);
}

size_t ug_object_header(char *buf, ug_otype type, size_t len)
{
	const char *name = ug_otype_name(type);
	int n = snprintf(buf, 32, "%s %zu", name ? name : "bad", len);

	return (size_t)n + 1; /* the NUL belongs to the header */
}

int ug_hash_object(ug_oid *out, ug_hash_algo algo, ug_otype type, const void *data, size_t len)
{
	char hdr[32];
	size_t hdrlen = ug_object_header(hdr, type, len);
	ug_hash_ctx ctx;
	int err = ug_hash_init(&ctx, algo);

	if (err)
		return err;
	ug_hash_update(&ctx, hdr, hdrlen);
	ug_hash_update(&ctx, data, len);
	return ug_hash_final(&ctx, out);
}
