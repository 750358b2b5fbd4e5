/* Annotated tags: parsing "object/type/tag/tagger" headers and peeling chains of tags. */
#include "tag.h"

#include "error.h"
#include "odb.h"
#include "repo.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* git's limit on tags of tags is generous; ours stops hostile chains. */
#define MAX_PEEL 32

void ug_tag_free(ug_tag *tag)
{
	if (!tag)
		return;
	free(tag->buf_);
	free(tag);
}

/* The line at data[*pos] if it starts with key: its value and length. */
static bool header(const unsigned char *data, size_t len, size_t *pos, const char *key,
		   const unsigned char **val, size_t *vlen)
{
	size_t kl = strlen(key), p = *pos;
	const unsigned char *nl;

	if (len - p < kl || memcmp(data + p, key, kl))
		return false;
	nl = memchr(data + p + kl, '\n', len - p - kl);
	if (!nl)
		return false;
	*val = data + p + kl;
	*vlen = (size_t)(nl - *val);
	*pos = (size_t)(nl - data) + 1;
	return true;
}

int ug_tag_parse(ug_tag **out, const ug_oid *oid, const unsigned char *data, size_t len,
		 ug_hash_algo algo)
{
	const unsigned char *v, *name, *tagger = NULL, *msg = NULL;
	size_t vlen, nlen, tlen = 0, mlen = 0, pos = 0;
	char hex[UG_OID_MAXHEX + 1];
	ug_tag *t;
	char *p;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return ug_error(UG_ENOMEM, "out of memory");
	if (oid)
		t->oid = *oid;
	ug_oid_tohex(hex, &t->oid, algo);
	if (!header(data, len, &pos, "object ", &v, &vlen) || vlen != ug_hash_hexsz(algo) ||
	    ug_oid_fromhex(&t->target, (const char *)v, vlen, algo)) {
		ug_tag_free(t);
		return ug_error(UG_ECORRUPT, "tag %s: no valid object line", hex);
	}
	if (!header(data, len, &pos, "type ", &v, &vlen) ||
	    (t->target_type = ug_otype_parse((const char *)v, vlen)) == UG_OBJ_BAD) {
		ug_tag_free(t);
		return ug_error(UG_ECORRUPT, "tag %s: no valid type line", hex);
	}
	if (!header(data, len, &pos, "tag ", &name, &nlen)) {
		ug_tag_free(t);
		return ug_error(UG_ECORRUPT, "tag %s: no tag name line", hex);
	}
	if (header(data, len, &pos, "tagger ", &v, &vlen)) {
		tagger = v;
		tlen = vlen;
	}
	/* Further headers (gpgsig and the like) up to the blank line. */
	while (pos < len) {
		const unsigned char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;

		pos += ll + (nl ? 1 : 0);
		if (ll == 0 && nl) {
			msg = data + pos;
			mlen = len - pos;
			break;
		}
	}
	t->buf_ = malloc(nlen + tlen + mlen + 3);
	if (!t->buf_) {
		ug_tag_free(t);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	p = t->buf_;
	t->name = p;
	memcpy(p, name, nlen);
	p[nlen] = '\0';
	p += nlen + 1;
	t->tagger = p;
	if (tlen)
		memcpy(p, tagger, tlen);
	p[tlen] = '\0';
	p += tlen + 1;
	t->message = p;
	if (mlen)
		memcpy(p, msg, mlen);
	p[mlen] = '\0';
	*out = t;
	return 0;
}

int ug_tag_peel(struct ug_repo *repo, const ug_oid *oid, ug_oid *out, ug_otype *type)
{
	ug_hash_algo algo = ug_repo_algo(repo);
	ug_odb *odb = ug_repo_odb(repo);
	char hex[UG_OID_MAXHEX + 1];
	ug_oid cur = *oid;
	int err;

	for (int depth = 0; depth <= MAX_PEEL; depth++) {
		ug_object *obj;
		ug_otype t;
		ug_tag *tag;
		size_t size;

		if ((err = ug_odb_read_header(odb, &cur, &t, &size)))
			return err;
		if (t != UG_OBJ_TAG) {
			*out = cur;
			if (type)
				*type = t;
			return 0;
		}
		if (depth == MAX_PEEL)
			break;
		if ((err = ug_odb_read(&obj, odb, &cur)))
			return err;
		err = ug_tag_parse(&tag, &cur, obj->data, obj->size, algo);
		ug_object_free(obj);
		if (err)
			return err;
		cur = tag->target;
		ug_tag_free(tag);
	}
	return ug_error(UG_ECORRUPT, "tag %s: more than %d tags deep", ug_oid_tohex(hex, oid, algo),
			MAX_PEEL);
}
