/* ugit: ordered path maps (Python dict order) and the JSON index that stores one. */
#include "ugit_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEAD UINT32_MAX

void ugit_pmap_init(ugit_pmap *m)
{
	memset(m, 0, sizeof(*m));
}

void ugit_pmap_release(ugit_pmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot holding path, or the empty slot where it would go. */
static size_t find_slot(const ugit_pmap *m, const char *path, bool *found)
{
	size_t mask = m->nslots - 1, i = (size_t)hash_path(path) & mask;
	size_t first_dead = SIZE_MAX;
	for (;;) {
		uint32_t s = m->slots[i];
		if (s == 0) {
			*found = false;
			return first_dead != SIZE_MAX ? first_dead : i;
		}
		if (s == DEAD) {
			if (first_dead == SIZE_MAX)
				first_dead = i;
		} else if (!strcmp(m->v[s - 1].path, path)) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static void rehash(ugit_pmap *m)
{
	size_t want = 16;
	while (want < m->live * 3)
		want *= 2;
	free(m->slots);
	m->slots = ugit_xmalloc(want * sizeof(uint32_t));
	memset(m->slots, 0, want * sizeof(uint32_t));
	m->nslots = want;
	m->used = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (!m->v[i].live)
			continue;
		bool found;
		size_t s = find_slot(m, m->v[i].path, &found);
		m->slots[s] = (uint32_t)(i + 1);
		m->used++;
	}
}

const ug_oid *ugit_pmap_get(const ugit_pmap *m, const char *path)
{
	if (!m->nslots)
		return NULL;
	bool found;
	size_t s = find_slot(m, path, &found);
	return found ? &m->v[m->slots[s] - 1].oid : NULL;
}

bool ugit_pmap_set(ugit_pmap *m, const char *path, const ug_oid *oid)
{
	if (!m->nslots || (m->used + 1) * 2 > m->nslots)
		rehash(m);
	bool found;
	size_t s = find_slot(m, path, &found);
	if (found) {
		m->v[m->slots[s] - 1].oid = *oid;
		return true;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		if (m->cap >= DEAD - 1) {
			fputs("ugit: too many paths\n", stderr);
			exit(UGIT_FAIL);
		}
		m->v = ugit_xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	ugit_pentry *e = &m->v[m->n];
	e->path = ugit_xstrdup(path);
	e->oid = *oid;
	e->live = true;
	if (m->slots[s] == 0)
		m->used++;
	m->slots[s] = (uint32_t)(m->n + 1);
	m->n++;
	m->live++;
	return false;
}

bool ugit_pmap_del(ugit_pmap *m, const char *path)
{
	if (!m->nslots)
		return false;
	bool found;
	size_t s = find_slot(m, path, &found);
	if (!found)
		return false;
	ugit_pentry *e = &m->v[m->slots[s] - 1];
	e->live = false;
	free(e->path);
	e->path = NULL;
	m->slots[s] = DEAD;
	m->live--;
	return true;
}

void ugit_pmap_union(ugit_pmap *out, const ugit_pmap *const *maps, size_t nmaps)
{
	static const ug_oid zero;
	for (size_t k = 0; k < nmaps; k++)
		for (size_t i = 0; i < maps[k]->n; i++)
			if (maps[k]->v[i].live && !ugit_pmap_get(out, maps[k]->v[i].path))
				ugit_pmap_set(out, maps[k]->v[i].path, &zero);
}

bool ugit_oid_same(const ug_oid *a, const ug_oid *b)
{
	if (!a || !b)
		return a == b;
	return ug_oid_equal(a, b);
}

/* ---- JSON, as Python's json.dump(dict) writes it: ", " and ": ", ASCII only ---- */

typedef struct {
	char *p;
	size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->p = ugit_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_u(sbuf *b, unsigned cp)
{
	char tmp[8];
	snprintf(tmp, sizeof(tmp), "\\u%04x", cp & 0xffffu);
	sb_put(b, tmp, 6);
}

/*
 * Decode one UTF-8 character strictly (as Python's decoder: no overlong forms,
 * no surrogates, nothing above U+10FFFF). Returns its length, or 0 when the
 * byte at s starts no valid character.
 */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, min = 0x800, c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* A path as Python's json would write the str that os.fsdecode made of it:
 * bytes that are no UTF-8 became lone surrogates U+DC80..U+DCFF. */
static void put_json_string(sbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	sb_put(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned cp;
		size_t k = utf8_char(s + i, n - i, &cp);
		if (!k) {
			sb_u(b, 0xdc00 + s[i]);
			i++;
			continue;
		}
		i += k;
		switch (cp) {
		case '"': sb_put(b, "\\\"", 2); continue;
		case '\\': sb_put(b, "\\\\", 2); continue;
		case '\n': sb_put(b, "\\n", 2); continue;
		case '\r': sb_put(b, "\\r", 2); continue;
		case '\t': sb_put(b, "\\t", 2); continue;
		case '\b': sb_put(b, "\\b", 2); continue;
		case '\f': sb_put(b, "\\f", 2); continue;
		}
		if (cp >= 0x20 && cp < 0x7f) {
			char ch = (char)cp;
			sb_put(b, &ch, 1);
		} else if (cp < 0x10000) {
			sb_u(b, cp);
		} else {
			cp -= 0x10000;
			sb_u(b, 0xd800 + (cp >> 10));
			sb_u(b, 0xdc00 + (cp & 0x3ff));
		}
	}
	sb_put(b, "\"", 1);
}

char *ugit_index_encode(const ugit_pmap *m, ug_hash_algo algo, size_t *len)
{
	sbuf b = {0};
	sb_put(&b, "{", 1);
	bool first = true;
	for (size_t i = 0; i < m->n; i++) {
		const ugit_pentry *e = &m->v[i];
		if (!e->live)
			continue;
		if (!first)
			sb_put(&b, ", ", 2);
		first = false;
		put_json_string(&b, e->path);
		char hex[UG_OID_MAXHEX + 1];
		ug_oid_tohex(hex, &e->oid, algo);
		sb_put(&b, ": \"", 3);
		sb_put(&b, hex, strlen(hex));
		sb_put(&b, "\"", 1);
	}
	sb_put(&b, "}", 1);
	*len = b.len;
	return b.p;
}

/* ---- the reader: a strict JSON object of strings, from hostile bytes ---- */

typedef struct {
	const char *s;
	size_t i, n;
} jparse;

static void skip_ws(jparse *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\r'))
		p->i++;
}

static int hex4(jparse *p, unsigned *out)
{
	if (p->n - p->i < 4)
		return -1;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		char ch = p->s[p->i++];
		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (unsigned)(ch - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(sbuf *b, unsigned cp)
{
	unsigned char t[4];
	size_t n;
	if (cp < 0x80) {
		t[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		t[0] = (unsigned char)(0xc0 | (cp >> 6));
		t[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		t[0] = (unsigned char)(0xe0 | (cp >> 12));
		t[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		t[0] = (unsigned char)(0xf0 | (cp >> 18));
		t[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
	}
	sb_put(b, t, n);
}

/* A JSON string into bytes: \udc80..\udcff alone are the raw bytes they escaped. */
static int parse_string(jparse *p, sbuf *out)
{
	out->len = 0;
	sb_put(out, "", 0);
	if (p->i >= p->n || p->s[p->i] != '"')
		return -1;
	p->i++;
	while (p->i < p->n) {
		unsigned char ch = (unsigned char)p->s[p->i++];
		if (ch == '"')
			return 0;
		if (ch < 0x20)
			return -1;
		if (ch != '\\') {
			sb_put(out, &ch, 1);
			continue;
		}
		if (p->i >= p->n)
			return -1;
		char e = p->s[p->i++];
		unsigned cp;
		switch (e) {
		case '"': case '\\': case '/': sb_put(out, &e, 1); continue;
		case 'b': sb_put(out, "\b", 1); continue;
		case 'f': sb_put(out, "\f", 1); continue;
		case 'n': sb_put(out, "\n", 1); continue;
		case 'r': sb_put(out, "\r", 1); continue;
		case 't': sb_put(out, "\t", 1); continue;
		case 'u': break;
		default: return -1;
		}
		if (hex4(p, &cp))
			return -1;
		if (cp >= 0xd800 && cp <= 0xdbff && p->n - p->i >= 6 && p->s[p->i] == '\\' &&
		    p->s[p->i + 1] == 'u') {
			size_t save = p->i;
			unsigned lo;
			p->i += 2;
			if (!hex4(p, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
				put_utf8(out, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
				continue;
			}
			p->i = save;
		}
		if (cp >= 0xdc80 && cp <= 0xdcff) {
			unsigned char raw = (unsigned char)(cp - 0xdc00);
			sb_put(out, &raw, 1);
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			return -1; /* a lone surrogate no file name can hold */
		} else if (cp == 0) {
			return -1;
		} else {
			put_utf8(out, cp);
		}
	}
	return -1;
}

int ugit_index_decode(ugit_ctx *c, const char *buf, size_t len, ugit_pmap *out)
{
	jparse p = {buf, 0, len};
	sbuf key = {0}, val = {0};
	int rc = 0;
	skip_ws(&p);
	if (p.i >= p.n || p.s[p.i++] != '{')
		goto bad;
	skip_ws(&p);
	if (p.i < p.n && p.s[p.i] == '}') {
		p.i++;
		goto end;
	}
	for (;;) {
		skip_ws(&p);
		if (parse_string(&p, &key))
			goto bad;
		skip_ws(&p);
		if (p.i >= p.n || p.s[p.i++] != ':')
			goto bad;
		skip_ws(&p);
		if (parse_string(&p, &val))
			goto bad;
		ug_oid oid;
		if (strlen(key.p) != key.len || !ugit_path_ok(key.p)) {
			rc = ug_error(UG_ECORRUPT, "index: bad path \"%s\"", key.p);
			goto done;
		}
		if (val.len != c->hexsz || ug_oid_fromhex(&oid, val.p, val.len, c->algo) < 0) {
			rc = ug_error(UG_ECORRUPT, "index: bad object id for \"%s\"", key.p);
			goto done;
		}
		ugit_pmap_set(out, key.p, &oid);
		skip_ws(&p);
		if (p.i < p.n && p.s[p.i] == ',') {
			p.i++;
			continue;
		}
		if (p.i < p.n && p.s[p.i] == '}') {
			p.i++;
			break;
		}
		goto bad;
	}
end:
	skip_ws(&p);
	if (p.i != p.n)
		goto bad;
	goto done;
bad:
	rc = ug_error(UG_ECORRUPT, "index: not a JSON object of paths and ids (byte %zu)", p.i);
done:
	free(key.p);
	free(val.p);
	return rc;
}

int ugit_index_read(ugit_ctx *c, ugit_pmap *out)
{
	char *path = ugit_fmt("%s/index", c->gitdir);
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = ugit_file_read(path, &buf, &len);
	if (rc == UG_ENOTFOUND) {
		rc = 0;
	} else if (rc == 0) {
		rc = ugit_index_decode(c, (const char *)buf, len, out);
	}
	free(buf);
	free(path);
	return rc;
}

int ugit_index_write(ugit_ctx *c, const ugit_pmap *index)
{
	size_t len;
	char *json = ugit_index_encode(index, c->algo, &len);
	char *path = ugit_fmt("%s/index", c->gitdir);
	int rc = ugit_repo_file_write(path, json, len);
	free(path);
	free(json);
	return rc;
}
