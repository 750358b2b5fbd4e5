/* Trees: the git binary and ugit text formats, hiding hostile entries, lookup by name, and writing. */
#include "tree.h"

#include "array.h"
#include "error.h"
#include "log.h"
#include "odb.h"
#include "repo.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Modes beyond 7 octal digits are not modes. */
#define MAX_MODE_DIGITS 7

ug_otype ug_mode_type(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0040000: return UG_OBJ_TREE;
	case 0160000: return UG_OBJ_COMMIT;
	default: return UG_OBJ_BLOB;
	}
}

int ug_tree_name_ok(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return 0;
	if ((len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2)))
		return 0;
	if (len == 4 && !strncasecmp(name, ".git", 4))
		return 0;
	return 1;
}

/* git's canon_mode, except that a type git does not know is refused rather
 * than taken for a gitlink. 0 for a bad mode. */
static uint32_t canon_mode(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0100000: return (mode & 0100) ? UG_MODE_EXEC : UG_MODE_BLOB;
	case 0120000: return UG_MODE_LINK;
	case 0040000: return UG_MODE_TREE;
	case 0160000: return UG_MODE_GITLINK;
	default: return 0;
	}
}

int ug_tree_next_raw(const unsigned char *data, size_t len, size_t *pos, ug_hash_algo algo, ug_tree_entry *e)
{
	size_t rawsz = ug_hash_rawsz(algo), p = *pos, digits = 0;
	const unsigned char *nul;
	uint32_t mode = 0;

	if (p >= len)
		return 1;
	for (; p < len && data[p] != ' '; p++) {
		if (data[p] < '0' || data[p] > '7' || ++digits > 7)
			return UG_ECORRUPT;
		mode = mode * 8 + (uint32_t)(data[p] - '0');
	}
	if (p >= len || !digits || !(e->mode = canon_mode(mode)))
		return UG_ECORRUPT;
	p++;
	nul = memchr(data + p, '\0', len - p);
	if (!nul || len - (size_t)(nul + 1 - data) < rawsz)
		return UG_ECORRUPT;
	e->name = (const char *)data + p;
	e->namelen = (size_t)(nul - (data + p));
	p = (size_t)(nul + 1 - data);
	ug_oid_fromraw(&e->oid, data + p, algo);
	*pos = p + rawsz;
	return 0;
}

/* The length of the stored entry at data + pos (mode, name, id): 0 when it is cut short. */
static size_t raw_span(const unsigned char *data, size_t len, size_t pos, size_t rawsz)
{
	const unsigned char *nul = memchr(data + pos, '\0', len - pos);

	if (!nul || (size_t)(data + len - (nul + 1)) < rawsz)
		return 0;
	return (size_t)(nul + 1 - (data + pos)) + rawsz;
}

/* Step older (at *po) past what sorts before now; 0 (*old set, *po past it)
 * when it holds now's name, 1 when it does not, or UG_ECORRUPT. */
static int raw_match(const unsigned char *older, size_t olen, size_t *po, ug_hash_algo algo,
		     const ug_tree_entry *now, ug_tree_entry *old)
{
	const ug_tree_entry *prev = NULL;
	ug_tree_entry seen;

	while (*po < olen) {
		size_t q = *po;
		int c;

		if (ug_tree_next_raw(older, olen, &q, algo, old) || (prev && ug_tree_entry_cmp(prev, old) >= 0))
			return UG_ECORRUPT;
		c = ug_tree_entry_cmp(now, old);
		if (c < 0)
			return 1;
		*po = q;
		if (c == 0)
			return 0;
		seen = *old;
		prev = &seen;
	}
	return 1;
}

int ug_tree_raw_changes(const unsigned char *newer, size_t nlen, const unsigned char *older, size_t olen,
			ug_hash_algo algo, int (*fn)(void *ctx, const ug_tree_entry *now, const ug_tree_entry *old),
			void *ctx)
{
	size_t rawsz = ug_hash_rawsz(algo), pn = 0, po = 0;
	ug_tree_entry now, old, last;
	bool parsed = false;
	int r;

	while (pn < nlen) {
		size_t span = raw_span(newer, nlen, pn, rawsz);

		if (!span)
			return UG_ECORRUPT;
		if (span <= olen - po && !memcmp(newer + pn, older + po, span)) {
			pn += span;
			po += span;
			continue;
		}
		if (ug_tree_next_raw(newer, nlen, &pn, algo, &now) || (parsed && ug_tree_entry_cmp(&last, &now) >= 0))
			return UG_ECORRUPT;
		last = now;
		parsed = true;
		r = raw_match(older, olen, &po, algo, &now, &old);
		if (r < 0)
			return r;
		if (r == 1 || now.mode != old.mode || !ug_oid_equal(&now.oid, &old.oid))
			r = fn(ctx, &now, r == 1 ? NULL : &old);
		if (r)
			return r;
	}
	return 0;
}

void ug_tree_free(ug_tree *tree)
{
	if (!tree)
		return;
	free(tree->entries);
	free(tree->byname_);
	free(tree->names_);
	free(tree);
}

/* Printable form of a hostile name for a log line (truncated, control bytes as '?'). */
static void printable(char *out, size_t outsz, const char *name, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)name[i];

		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[o] = '\0';
}

typedef struct {
	const char *name;
	size_t len;
	uint32_t idx;
} name_key;

static int cmp_name(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* By name, then by stored position: the first of equal names sorts first. */
static int cmp_key(const void *pa, const void *pb)
{
	const name_key *a = pa, *b = pb;
	int c = cmp_name(a->name, a->len, b->name, b->len);

	if (c)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Hide the bad entries of tree (entries already filled in stored order) and
 * build the sorted index. Each hidden entry gets one log line. */
static int finish(ug_tree *tree, ug_hash_algo algo)
{
	char hex[UG_OID_MAXHEX + 1], shown[128];
	name_key *keys;
	bool *hide;
	uint32_t *newidx;
	size_t n = tree->count, kept = 0;

	keys = malloc((n ? n : 1) * sizeof(*keys));
	hide = calloc(n ? n : 1, sizeof(*hide));
	newidx = malloc((n ? n : 1) * sizeof(*newidx));
	if (!keys || !hide || !newidx) {
		free(keys);
		free(hide);
		free(newidx);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	ug_oid_tohex(hex, &tree->oid, algo);
	for (size_t i = 0; i < n; i++) {
		keys[i].name = tree->entries[i].name;
		keys[i].len = tree->entries[i].namelen;
		keys[i].idx = (uint32_t)i;
		if (!ug_tree_name_ok(keys[i].name, keys[i].len)) {
			hide[i] = true;
			printable(shown, sizeof(shown), keys[i].name, keys[i].len);
			ug_log(UG_LOG_WARNING, "tree %s: hiding an entry named '%s'", hex, shown);
		}
	}
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 1; i < n; i++) {
		if (!hide[keys[i].idx] &&
		    !cmp_name(keys[i].name, keys[i].len, keys[i - 1].name, keys[i - 1].len)) {
			hide[keys[i].idx] = true;
			printable(shown, sizeof(shown), keys[i].name, keys[i].len);
			ug_log(UG_LOG_WARNING, "tree %s: hiding a duplicate entry named '%s'", hex, shown);
		}
	}
	/* Compact in stored order, then translate the sorted index. */
	for (size_t i = 0; i < n; i++) {
		if (hide[i])
			continue;
		newidx[i] = (uint32_t)kept;
		tree->entries[kept++] = tree->entries[i];
	}
	tree->hidden = n - kept;
	tree->count = kept;
	tree->byname_ = malloc((kept ? kept : 1) * sizeof(*tree->byname_));
	if (!tree->byname_) {
		free(keys);
		free(hide);
		free(newidx);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	kept = 0;
	for (size_t i = 0; i < n; i++)
		if (!hide[keys[i].idx])
			tree->byname_[kept++] = newidx[keys[i].idx];
	free(keys);
	free(hide);
	free(newidx);
	return 0;
}

static int add_entry(ug_tree *tree, size_t *alloc, uint32_t mode, const ug_oid *oid,
		     const char *name, size_t namelen, size_t *names_used)
{
	ug_tree_entry *e;

	if (tree->count == UINT32_MAX)
		return ug_error(UG_ECORRUPT, "too many tree entries");
	if (!(e = ug_array_grow(tree->entries, alloc, tree->count + 1, sizeof(*e), 16)))
		return ug_error(UG_ENOMEM, "out of memory");
	tree->entries = e;
	e = &tree->entries[tree->count++];
	e->mode = mode;
	e->oid = *oid;
	e->name = tree->names_ + *names_used;
	e->namelen = namelen;
	memcpy(tree->names_ + *names_used, name, namelen);
	tree->names_[*names_used + namelen] = '\0';
	*names_used += namelen + 1;
	return 0;
}

/* "MODE SP NAME NUL RAWID"*; every read checked against len. An entry of a
 * type git does not know is hidden (one log line, counted in *skipped): the
 * rest of the folder still reads. */
static int parse_git(ug_tree *tree, const unsigned char *data, size_t len, ug_hash_algo algo,
		     const char *hex, size_t *skipped)
{
	size_t rawsz = ug_hash_rawsz(algo), pos = 0, alloc = 0, used = 0, n = 0;
	int err;

	while (pos < len) {
		uint32_t mode = 0, canon;
		size_t digits = 0;
		const unsigned char *name, *nul;
		ug_oid oid;

		n++;
		while (pos < len && data[pos] != ' ') {
			if (data[pos] < '0' || data[pos] > '7' || ++digits > MAX_MODE_DIGITS)
				return ug_error(UG_ECORRUPT, "tree %s: entry %zu: bad mode", hex, n);
			mode = mode * 8 + (uint32_t)(data[pos] - '0');
			pos++;
		}
		if (pos >= len || digits == 0)
			return ug_error(UG_ECORRUPT, "tree %s: entry %zu: truncated or empty mode", hex, n);
		pos++; /* the space */
		name = data + pos;
		nul = memchr(name, '\0', len - pos);
		if (!nul)
			return ug_error(UG_ECORRUPT, "tree %s: entry %zu: name not terminated", hex, n);
		pos = (size_t)(nul - data) + 1;
		if (len - pos < rawsz)
			return ug_error(UG_ECORRUPT, "tree %s: entry %zu: truncated object id", hex, n);
		ug_oid_fromraw(&oid, data + pos, algo);
		pos += rawsz;
		canon = canon_mode(mode);
		if (!canon) {
			char shown[128];

			printable(shown, sizeof(shown), (const char *)name, (size_t)(nul - name));
			ug_log(UG_LOG_WARNING, "tree %s: hiding an entry named '%s' of unknown mode %o",
			       hex, shown, mode);
			(*skipped)++;
			continue;
		}
		err = add_entry(tree, &alloc, canon, &oid, (const char *)name, (size_t)(nul - name), &used);
		if (err)
			return err;
	}
	return 0;
}

/* ugit: "TYPE SP HEX SP NAME\n" lines, the last newline optional. */
static int parse_ugit(ug_tree *tree, const unsigned char *data, size_t len, const char *hex)
{
	size_t pos = 0, alloc = 0, used = 0, n = 0;
	int err;

	while (pos < len) {
		const unsigned char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		uint32_t mode;
		ug_oid oid;

		n++;
		pos += ll + (nl ? 1 : 0);
		if (ll >= 5 && !memcmp(line, "blob ", 5))
			mode = UG_MODE_BLOB;
		else if (ll >= 5 && !memcmp(line, "tree ", 5))
			mode = UG_MODE_TREE;
		else
			return ug_error(UG_ECORRUPT, "tree %s: line %zu: not a blob or tree entry", hex, n);
		if (ll < 5 + 40 + 1 || line[45] != ' ' ||
		    ug_oid_fromhex(&oid, (const char *)line + 5, 40, UG_HASH_SHA1))
			return ug_error(UG_ECORRUPT, "tree %s: line %zu: bad object id", hex, n);
		err = add_entry(tree, &alloc, mode, &oid, (const char *)line + 46, ll - 46, &used);
		if (err)
			return err;
	}
	return 0;
}

int ug_tree_parse(ug_tree **out, struct ug_repo *repo, const ug_oid *oid,
		  const unsigned char *data, size_t len)
{
	/* repo may be NULL (tests of bytes): git format, SHA-1 */
	ug_hash_algo algo = repo ? ug_repo_algo(repo) : UG_HASH_SHA1;
	bool ugit = repo && ug_repo_format(repo) == UG_FORMAT_UGIT;
	char hex[UG_OID_MAXHEX + 1];
	size_t skipped = 0;
	ug_tree *tree;
	int err;

	*out = NULL;
	tree = calloc(1, sizeof(*tree));
	if (!tree)
		return ug_error(UG_ENOMEM, "out of memory");
	if (oid)
		tree->oid = *oid;
	ug_oid_tohex(hex, &tree->oid, algo);
	/* Names take at most len bytes with their NULs (each entry spends a
	 * separator byte on its name's terminator). */
	tree->names_ = malloc(len + 1);
	if (!tree->names_) {
		ug_tree_free(tree);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	err = ugit ? parse_ugit(tree, data, len, hex) : parse_git(tree, data, len, algo, hex, &skipped);
	/* A tree naming its own id is a hash fixed point: only forged bytes do
	 * that, and a reader descending into it would never stop. */
	for (size_t i = 0; !err && oid && i < tree->count; i++) {
		const ug_tree_entry *e = &tree->entries[i];

		if (e->mode == UG_MODE_TREE && ug_oid_equal(&e->oid, oid)) {
			char shown[128];

			printable(shown, sizeof(shown), e->name, e->namelen);
			err = ug_error(UG_ECORRUPT, "tree %s: entry '%s' is the tree itself", hex, shown);
		}
	}
	if (!err)
		err = finish(tree, algo);
	tree->hidden += skipped;
	if (err) {
		ug_tree_free(tree);
		return err;
	}
	*out = tree;
	return 0;
}

int ug_tree_lookup(ug_tree **out, struct ug_repo *repo, const ug_oid *oid)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_object *obj;
	int err;

	*out = NULL;
	if ((err = ug_odb_read(&obj, ug_repo_odb(repo), oid)))
		return err;
	if (obj->type != UG_OBJ_TREE) {
		err = ug_error(UG_ECORRUPT, "object %s is a %s, not a tree",
			       ug_oid_tohex(hex, oid, ug_repo_algo(repo)),
			       ug_otype_name(obj->type) ? ug_otype_name(obj->type) : "?");
		ug_object_free(obj);
		return err;
	}
	err = ug_tree_parse(out, repo, oid, obj->data, obj->size);
	ug_object_free(obj);
	return err;
}

const ug_tree_entry *ug_tree_find(const ug_tree *tree, const char *name, size_t namelen)
{
	size_t lo = 0, hi = tree->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const ug_tree_entry *e = &tree->entries[tree->byname_[mid]];
		int c = cmp_name(e->name, e->namelen, name, namelen);

		if (!c)
			return e;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int ug_tree_entry_cmp(const ug_tree_entry *a, const ug_tree_entry *b)
{
	size_t n = a->namelen < b->namelen ? a->namelen : b->namelen;
	int c = memcmp(a->name, b->name, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = n < a->namelen ? (unsigned char)a->name[n] : (a->mode == UG_MODE_TREE ? '/' : 0);
	cb = n < b->namelen ? (unsigned char)b->name[n] : (b->mode == UG_MODE_TREE ? '/' : 0);
	return (int)ca - (int)cb;
}

static int cmp_git_order(const void *pa, const void *pb)
{
	return ug_tree_entry_cmp(*(const ug_tree_entry *const *)pa, *(const ug_tree_entry *const *)pb);
}

static int cmp_plain_order(const void *pa, const void *pb)
{
	const ug_tree_entry *a = *(const ug_tree_entry *const *)pa;
	const ug_tree_entry *b = *(const ug_tree_entry *const *)pb;

	return cmp_name(a->name, a->namelen, b->name, b->namelen);
}

/* Grow-as-needed output buffer for the serializer. */
typedef struct {
	char *buf;
	size_t len, alloc;
} obuf;

static int put(obuf *o, const void *data, size_t len)
{
	char *p = ug_array_grow(o->buf, &o->alloc, o->len + len, 1, 256);

	if (!p)
		return ug_error(UG_ENOMEM, "out of memory");
	o->buf = p;
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

int ug_tree_create(struct ug_repo *repo, ug_oid *out, const ug_tree_entry *entries, size_t count)
{
	bool ugit = ug_repo_format(repo) == UG_FORMAT_UGIT;
	ug_hash_algo algo = ug_repo_algo(repo);
	const ug_tree_entry **sorted;
	obuf o = { NULL, 0, 0 };
	int err = 0;

	sorted = malloc((count ? count : 1) * sizeof(*sorted));
	if (!sorted)
		return ug_error(UG_ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const ug_tree_entry *e = &entries[i];

		sorted[i] = e;
		if (!ug_tree_name_ok(e->name, e->namelen) || (ugit && memchr(e->name, '\n', e->namelen)))
			err = ug_error(UG_EINVALID, "cannot write a tree entry named '%.*s'",
				       (int)(e->namelen > 200 ? 200 : e->namelen), e->name);
		else if (e->mode != UG_MODE_TREE && e->mode != UG_MODE_BLOB && e->mode != UG_MODE_EXEC &&
			 e->mode != UG_MODE_LINK && e->mode != UG_MODE_GITLINK)
			err = ug_error(UG_EINVALID, "%s: bad mode %o", e->name, e->mode);
		else if (ugit && e->mode == UG_MODE_GITLINK)
			err = ug_error(UG_EINVALID, "%s: a ugit tree cannot hold a submodule", e->name);
		if (err)
			goto out;
	}
	qsort(sorted, count, sizeof(*sorted), cmp_plain_order);
	for (size_t i = 1; i < count; i++) {
		if (!cmp_plain_order(&sorted[i - 1], &sorted[i])) {
			err = ug_error(UG_EINVALID, "duplicate tree entry '%s'", sorted[i]->name);
			goto out;
		}
	}
	if (!ugit)
		qsort(sorted, count, sizeof(*sorted), cmp_git_order);
	for (size_t i = 0; i < count && !err; i++) {
		const ug_tree_entry *e = sorted[i];
		char head[32], hex[UG_OID_MAXHEX + 1];
		int hl;

		if (ugit) {
			hl = snprintf(head, sizeof(head), "%s ", e->mode == UG_MODE_TREE ? "tree" : "blob");
			if (!(err = put(&o, head, (size_t)hl)) &&
			    !(err = put(&o, ug_oid_tohex(hex, &e->oid, UG_HASH_SHA1), 40)) &&
			    !(err = put(&o, " ", 1)) && !(err = put(&o, e->name, e->namelen)))
				err = put(&o, "\n", 1);
		} else {
			/* "%o" writes trees as "40000", as git does */
			hl = snprintf(head, sizeof(head), "%o ", (unsigned)e->mode);
			if (!(err = put(&o, head, (size_t)hl)) && !(err = put(&o, e->name, e->namelen)) &&
			    !(err = put(&o, "", 1)))
				err = put(&o, e->oid.id, ug_hash_rawsz(algo));
		}
	}
	if (!err)
		err = ug_odb_write(ug_repo_odb(repo), out, UG_OBJ_TREE, o.buf ? o.buf : "", o.len);
out:
	free(o.buf);
	free(sorted);
	return err;
}
