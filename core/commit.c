/* Commits: parsing the git and ugit formats (leniently, within bounds), idents and dates, and writing. */
#include "commit.h"

#include "array.h"
#include "error.h"
#include "odb.h"
#include "repo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void ug_commit_free(ug_commit *c)
{
	if (!c)
		return;
	free(c->parents);
	free(c->buf_);
	free(c);
}

const char *ug_commit_subject(const ug_commit *c, size_t *len)
{
	const char *nl = memchr(c->message, '\n', c->message_len);

	*len = nl ? (size_t)(nl - c->message) : c->message_len;
	return c->message;
}

int ug_ident_parse_time(const char *ident, size_t len, int64_t *time, int *tz_minutes)
{
	size_t i, gt = len;
	int64_t t = 0;
	int tz = 0, sign;

	for (i = len; i > 0; i--) {
		if (ident[i - 1] == '>') {
			gt = i - 1;
			break;
		}
	}
	if (gt == len)
		return ug_error(UG_ECORRUPT, "ident without '>'");
	i = gt + 1;
	while (i < len && ident[i] == ' ')
		i++;
	if (i >= len || ident[i] < '0' || ident[i] > '9')
		return ug_error(UG_ECORRUPT, "ident without a date");
	for (; i < len && ident[i] >= '0' && ident[i] <= '9'; i++) {
		if (t > (INT64_MAX - 9) / 10)
			return ug_error(UG_ECORRUPT, "ident date out of range");
		t = t * 10 + (ident[i] - '0');
	}
	if (i >= len || ident[i] != ' ')
		return ug_error(UG_ECORRUPT, "ident without a time zone");
	while (i < len && ident[i] == ' ')
		i++;
	if (len - i < 5 || (ident[i] != '+' && ident[i] != '-'))
		return ug_error(UG_ECORRUPT, "ident with a bad time zone");
	sign = ident[i] == '-' ? -1 : 1;
	for (size_t k = 1; k <= 4; k++)
		if (ident[i + k] < '0' || ident[i + k] > '9')
			return ug_error(UG_ECORRUPT, "ident with a bad time zone");
	tz = ((ident[i + 1] - '0') * 10 + (ident[i + 2] - '0')) * 60 +
	     (ident[i + 3] - '0') * 10 + (ident[i + 4] - '0');
	for (i += 5; i < len; i++)
		if (ident[i] != ' ' && ident[i] != '\t' && ident[i] != '\r')
			return ug_error(UG_ECORRUPT, "ident with junk after the time zone");
	*time = t;
	*tz_minutes = sign * tz;
	return 0;
}

/* A header "KEY ID\n" at data[*pos]; advances *pos past the newline. */
static bool id_line(const unsigned char *data, size_t len, size_t *pos, const char *key,
		    ug_hash_algo algo, ug_oid *out)
{
	size_t kl = strlen(key), hexsz = ug_hash_hexsz(algo), p = *pos;

	if (len - p < kl + hexsz + 1 || memcmp(data + p, key, kl) || data[p + kl + hexsz] != '\n')
		return false;
	if (ug_oid_fromhex(out, (const char *)data + p + kl, hexsz, algo))
		return false;
	*pos = p + kl + hexsz + 1;
	return true;
}

static bool starts(const unsigned char *line, size_t ll, const char *key)
{
	size_t kl = strlen(key);

	return ll >= kl && !memcmp(line, key, kl);
}

/* The commit time of a ugit commit: its object file's mtime (ugit stores no date). */
static int64_t ugit_time(struct ug_repo *repo, const ug_oid *oid)
{
	char hex[UG_OID_MAXHEX + 1], *path = NULL;
	struct stat st;
	int64_t t = 0;

	if (!oid || asprintf(&path, "%s/objects/%s", ug_repo_gitdir(repo),
			     ug_oid_tohex(hex, oid, UG_HASH_SHA1)) < 0)
		return 0;
	if (!stat(path, &st))
		t = (int64_t)st.st_mtime;
	free(path);
	return t;
}

/* The parent lines from data[*pos] into c (hex names c in messages). */
static int parse_parents(ug_commit *c, const unsigned char *data, size_t len, size_t *pos,
			 ug_hash_algo algo, const char *hex)
{
	size_t palloc = 0;
	ug_oid parent, *np;

	while (*pos < len && starts(data + *pos, len - *pos, "parent ")) {
		if (!id_line(data, len, pos, "parent ", algo, &parent))
			return ug_error(UG_ECORRUPT, "commit %s: bad parent line", hex);
		np = ug_array_grow(c->parents, &palloc, c->nparents + 1, sizeof(*np), 2);
		if (!np)
			return ug_error(UG_ENOMEM, "out of memory");
		c->parents = np;
		c->parents[c->nparents++] = parent;
	}
	return 0;
}

/* The parts of a commit kept as text: spans of the object's bytes. */
typedef struct {
	const unsigned char *author, *committer, *msg;
	size_t alen, clen, mlen;
} text_parts;

/* The other headers from data[pos] up to the blank line (the first author
 * and committer kept; multi-line ones, gpgsig and mergetag, continue on
 * lines starting with a space and are skipped), then the message. */
static void scan_headers(const unsigned char *data, size_t len, size_t pos, text_parts *t)
{
	while (pos < len) {
		const unsigned char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;

		pos += ll + (nl ? 1 : 0);
		if (ll == 0 && nl) {
			t->msg = data + pos;
			t->mlen = len - pos;
			break;
		}
		if (!t->author && starts(line, ll, "author ")) {
			t->author = line + 7;
			t->alen = ll - 7;
		} else if (!t->committer && starts(line, ll, "committer ")) {
			t->committer = line + 10;
			t->clen = ll - 10;
		}
	}
}

/* n bytes of s and a NUL at p; the byte after them. */
static char *put_text(char *p, const unsigned char *s, size_t n)
{
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p + n + 1;
}

/* c's strings, in the one allocation that backs them. */
static int copy_text(ug_commit *c, const text_parts *t)
{
	char *p = c->buf_ = malloc(t->alen + t->clen + t->mlen + 3);

	if (!p)
		return ug_error(UG_ENOMEM, "out of memory");
	c->author = p;
	p = put_text(p, t->author, t->alen);
	c->committer = p;
	p = put_text(p, t->committer, t->clen);
	c->message = p;
	put_text(p, t->msg, t->mlen);
	c->message_len = t->mlen;
	return 0;
}

int ug_commit_parse(ug_commit **out, struct ug_repo *repo, const ug_oid *oid,
		    const unsigned char *data, size_t len)
{
	/* repo may be NULL (tests of bytes): git format, SHA-1 */
	ug_hash_algo algo = repo ? ug_repo_algo(repo) : UG_HASH_SHA1;
	bool ugit = repo && ug_repo_format(repo) == UG_FORMAT_UGIT;
	char hex[UG_OID_MAXHEX + 1];
	text_parts t = { 0 };
	size_t pos = 0;
	ug_commit *c;
	int err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ug_error(UG_ENOMEM, "out of memory");
	if (oid)
		c->oid = *oid;
	ug_oid_tohex(hex, &c->oid, algo);
	if (!id_line(data, len, &pos, "tree ", algo, &c->tree))
		err = ug_error(UG_ECORRUPT, "commit %s: no valid tree line", hex);
	else
		err = parse_parents(c, data, len, &pos, algo, hex);
	if (err) {
		ug_commit_free(c);
		return err;
	}
	/* A shallow clone's boundary: git shows these commits without parents
	 * (the parents are not in the repository). */
	if (repo && c->nparents && ug_repo_is_shallow(repo, &c->oid))
		c->nparents = 0;
	scan_headers(data, len, pos, &t);
	if (ugit)
		t.alen = t.clen = 0; /* ugit has no authors (ugitfs(1), "Repositories") */
	if ((err = copy_text(c, &t))) {
		ug_commit_free(c);
		return err;
	}
	if (ugit) {
		c->time = ugit_time(repo, oid);
	} else if (!t.clen || ug_ident_parse_time(c->committer, t.clen, &c->time, &c->tz_minutes)) {
		/* git's reader shows a commit with a broken date at time 0, as we do */
		c->time = 0;
		c->tz_minutes = 0;
	}
	*out = c;
	return 0;
}

int ug_commit_lookup(ug_commit **out, struct ug_repo *repo, const ug_oid *oid)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_object *obj;
	int err;

	*out = NULL;
	if ((err = ug_odb_read(&obj, ug_repo_odb(repo), oid)))
		return err;
	if (obj->type != UG_OBJ_COMMIT) {
		err = ug_error(UG_ECORRUPT, "object %s is a %s, not a commit",
			       ug_oid_tohex(hex, oid, ug_repo_algo(repo)),
			       ug_otype_name(obj->type) ? ug_otype_name(obj->type) : "?");
		ug_object_free(obj);
		return err;
	}
	err = ug_commit_parse(out, repo, oid, obj->data, obj->size);
	ug_object_free(obj);
	return err;
}

/* "Name <email>" as fsck --strict wants it: a name, one space, <email>, nothing after. */
static bool ident_ok(const char *id)
{
	const char *lt = strchr(id, '<'), *gt = strchr(id, '>');

	if (!lt || !gt || gt < lt || gt[1] != '\0' || strchr(lt + 1, '<') || strchr(gt + 1, '>'))
		return false;
	if (strchr(id, '\n') || lt - id < 2 || lt[-1] != ' ')
		return false;
	return true;
}

/* The date of a new commit: now, or GIT_AUTHOR_DATE/GIT_COMMITTER_DATE when
 * they hold git's raw form "EPOCH +HHMM" (or "@EPOCH +HHMM"); other date
 * formats in those variables are ignored. */
static void commit_date(const char *env, int64_t *t, int *tz)
{
	const char *v = getenv(env);
	struct tm tm;
	time_t now;

	if (v && *v) {
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "x> %s", v[0] == '@' ? v + 1 : v);

		if (n > 0 && (size_t)n < sizeof(buf) && !ug_ident_parse_time(buf, (size_t)n, t, tz))
			return;
	}
	now = time(NULL);
	*t = (int64_t)now;
	*tz = localtime_r(&now, &tm) ? (int)(tm.tm_gmtoff / 60) : 0;
}

static int check_type(ug_odb *odb, const ug_oid *oid, ug_otype want, ug_hash_algo algo)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_otype type;
	size_t size;
	int err = ug_odb_read_header(odb, oid, &type, &size);

	if (err == UG_ENOTFOUND)
		return ug_error(UG_EINVALID, "%s %s does not exist", ug_otype_name(want),
				ug_oid_tohex(hex, oid, algo));
	if (err)
		return err;
	if (type != want)
		return ug_error(UG_EINVALID, "%s is not a %s", ug_oid_tohex(hex, oid, algo),
				ug_otype_name(want));
	return 0;
}

int ug_commit_create(struct ug_repo *repo, ug_oid *out, const ug_oid *tree,
		     const ug_oid *parents, size_t nparents, const char *author,
		     const char *committer, const char *message)
{
	bool ugit = ug_repo_format(repo) == UG_FORMAT_UGIT;
	ug_hash_algo algo = ug_repo_algo(repo);
	ug_odb *odb = ug_repo_odb(repo);
	char hex[UG_OID_MAXHEX + 1], *buf = NULL;
	size_t size = 0, mlen;
	FILE *f;
	int err;

	if (!message)
		message = "";
	mlen = strlen(message);
	if (!ugit && (!author || !committer || !ident_ok(author) || !ident_ok(committer)))
		return ug_error(UG_EINVALID, "bad ident '%s' (want \"Name <email>\")",
				author && !ident_ok(author) ? author : committer ? committer : "(null)");
	if ((err = check_type(odb, tree, UG_OBJ_TREE, algo)))
		return err;
	for (size_t i = 0; i < nparents; i++)
		if ((err = check_type(odb, &parents[i], UG_OBJ_COMMIT, algo)))
			return err;
	f = open_memstream(&buf, &size);
	if (!f)
		return ug_error(UG_ENOMEM, "out of memory");
	fprintf(f, "tree %s\n", ug_oid_tohex(hex, tree, algo));
	for (size_t i = 0; i < nparents; i++)
		fprintf(f, "parent %s\n", ug_oid_tohex(hex, &parents[i], algo));
	if (ugit) {
		/* ugit's layout: the message and a newline, unless it has one already */
		fprintf(f, "\n%s", message);
		if (!mlen || message[mlen - 1] != '\n')
			fputc('\n', f);
	} else {
		int64_t at, ct;
		int atz, ctz;

		commit_date("GIT_AUTHOR_DATE", &at, &atz);
		commit_date("GIT_COMMITTER_DATE", &ct, &ctz);
		fprintf(f, "author %s %lld %c%02d%02d\n", author, (long long)at, atz < 0 ? '-' : '+',
			abs(atz) / 60, abs(atz) % 60);
		fprintf(f, "committer %s %lld %c%02d%02d\n\n%s", committer, (long long)ct,
			ctz < 0 ? '-' : '+', abs(ctz) / 60, abs(ctz) % 60, message);
		if (mlen && message[mlen - 1] != '\n')
			fputc('\n', f);
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	err = ug_odb_write(odb, out, UG_OBJ_COMMIT, buf, size);
	free(buf);
	return err;
}
