/* The entry names of log/BRANCH/, computed once per branch tip and kept within a budget. */
#include "fs_internal.h"

#include "error.h"
#include "walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slot {
	ug_oid tip;
	struct loglist list;
	size_t bytes;
	int refs;
	uint64_t used; /* LRU clock */
	uint64_t gen;  /* the cache's generation when built */
	bool busy;     /* in use (filled) */
};

struct logcache {
	pthread_mutex_t lock;
	struct slot *slots;
	unsigned nslots;
	uint64_t clock;
	uint64_t gen; /* lists of an older generation are never handed out again */
	size_t bytes, limit; /* of the lists kept (busy slots) */
};

int logcache_new(struct logcache **out, unsigned nslots, size_t limit)
{
	struct logcache *lc = calloc(1, sizeof(*lc));

	if (!lc || !(lc->slots = calloc(nslots, sizeof(*lc->slots)))) {
		free(lc);
		return UG_ENOMEM;
	}
	pthread_mutex_init(&lc->lock, NULL);
	lc->nslots = nslots;
	lc->limit = limit;
	*out = lc;
	return 0;
}

static void list_release(struct loglist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
	free(l->oids);
	free(l->times);
	memset(l, 0, sizeof(*l));
}

void logcache_free(struct logcache *lc)
{
	if (!lc)
		return;
	for (unsigned i = 0; i < lc->nslots; i++)
		list_release(&lc->slots[i].list);
	pthread_mutex_destroy(&lc->lock);
	free(lc->slots);
	free(lc);
}

/* The shortest abbreviation of at least 7 digits that names only this object. */
static void short_id(struct fs *fs, const ug_oid *oid, char *out)
{
	char hex[UG_OID_MAXHEX + 1];

	ug_oid_tohex(hex, oid, fs->algo);
	for (size_t len = 7; len < fs->hexsz; len++) {
		ug_oid found;

		if (ug_odb_resolve_prefix(ug_repo_odb(fs->repo), hex, len, &found) == 0 &&
		    ug_oid_equal(&found, oid)) {
			memcpy(out, hex, len);
			out[len] = '\0';
			return;
		}
	}
	strcpy(out, hex);
}

/* The subject as a file name: "/" and control characters become "_", at most
 * 60 bytes, never ending inside a UTF-8 sequence. */
static void clean_subject(const char *msg, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len && msg[i] != '\n' && n < 60; i++) {
		unsigned char c = (unsigned char)msg[i];

		out[n++] = (c < 0x20 || c == 0x7f || c == '/') ? '_' : (char)c;
	}
	if (n == 60 && len > 60 && ((unsigned char)msg[60] & 0xc0) == 0x80) {
		/* cut inside a character: drop its leading bytes */
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
			n--;
	}
	out[n] = '\0';
}

static void format_date(int64_t t, char *out, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		snprintf(out, size, "0000-00-00T00-00-00Z");
	else
		strftime(out, size, "%Y-%m-%dT%H-%M-%SZ", &tm);
}

/* The log being built: newest first, its names' parts after the number. */
struct building {
	struct fs *fs;
	ug_oid *oids;
	int64_t *times;
	char **tails;           /* "DATE_SHORTID_SUBJECT" */
	size_t n, cap;
};

static int grow(struct building *b)
{
	size_t cap = b->cap ? 2 * b->cap : 256;
	ug_oid *o = realloc(b->oids, cap * sizeof(*o));
	int64_t *t = o ? realloc(b->times, cap * sizeof(*t)) : NULL;
	char **n = t ? realloc(b->tails, cap * sizeof(*n)) : NULL;

	if (o)
		b->oids = o;
	if (t)
		b->times = t;
	if (!n)
		return UG_ENOMEM;
	b->tails = n;
	b->cap = cap;
	return 0;
}

/* One commit of the first-parent walk: its id, time and name's tail. */
static int add_commit(void *arg, const ug_commit *c)
{
	struct building *b = arg;
	char date[32], sid[UG_OID_MAXHEX + 1], subject[64], tail[192];
	size_t slen;
	const char *s = ug_commit_subject(c, &slen);

	if (b->n == b->cap && grow(b))
		return UG_ENOMEM;
	clean_subject(s, slen, subject);
	format_date(c->time, date, sizeof(date));
	short_id(b->fs, &c->oid, sid);
	snprintf(tail, sizeof(tail), "%s_%s_%s", date, sid, subject);
	if (!(b->tails[b->n] = strdup(tail)))
		return UG_ENOMEM;
	b->oids[b->n] = c->oid;
	b->times[b->n++] = c->time;
	return 0;
}

/* The log of tip, oldest first, each commit read once; the short ids of one
 * log are found in one burst of lookups (each loose folder listed once). */
static int build(struct fs *fs, const ug_oid *tip, struct loglist *l, size_t *bytes)
{
	struct building b = { .fs = fs };
	size_t n;
	int err;

	ug_odb_prefix_burst_begin(ug_repo_odb(fs->repo));
	err = ug_walk_first_parent_each(fs->repo, tip, add_commit, &b);
	ug_odb_prefix_burst_end(ug_repo_odb(fs->repo));
	n = b.n;
	l->names = err ? NULL : calloc(n ? n : 1, sizeof(*l->names));
	l->oids = err ? NULL : malloc((n ? n : 1) * sizeof(*l->oids));
	l->times = err ? NULL : malloc((n ? n : 1) * sizeof(*l->times));
	if (!err && (!l->names || !l->oids || !l->times))
		err = UG_ENOMEM;
	*bytes = n * (sizeof(char *) + sizeof(ug_oid) + sizeof(int64_t));
	for (size_t i = 0; !err && i < n; i++) {
		size_t k = n - 1 - i; /* b is newest first; entry i is oldest first */

		if (asprintf(&l->names[i], "%06zu_%s", i + 1, b.tails[k]) < 0) {
			l->names[i] = NULL;
			err = UG_ENOMEM;
			break;
		}
		l->oids[i] = b.oids[k];
		l->times[i] = b.times[k];
		l->count = i + 1;
		*bytes += strlen(l->names[i]) + 1;
	}
	for (size_t k = 0; k < n; k++)
		free(b.tails[k]);
	free(b.tails);
	free(b.oids);
	free(b.times);
	if (err)
		list_release(l);
	return err;
}

/* The kept list of tip, with one more reference; NULL if none. Under the lock. */
static const struct loglist *find_kept(struct logcache *lc, const ug_oid *tip)
{
	for (unsigned i = 0; i < lc->nslots; i++) {
		struct slot *s = &lc->slots[i];

		if (s->busy && s->gen == lc->gen && ug_oid_equal(&s->tip, tip)) {
			s->refs++;
			s->used = ++lc->clock;
			return &s->list;
		}
	}
	return NULL;
}

/* The slot a new list takes: a free one, else the least recently used that
 * nobody reads; NULL when every slot is being read. Under the lock. */
static struct slot *free_slot(struct logcache *lc)
{
	struct slot *victim = NULL;

	for (unsigned i = 0; i < lc->nslots; i++) {
		struct slot *s = &lc->slots[i];

		if (s->refs)
			continue;
		if (!s->busy)
			return s;
		if (!victim || s->used < victim->used)
			victim = s;
	}
	return victim;
}

/* Within the budget: lists nobody reads go, least recently used first. Under the lock. */
static void trim(struct logcache *lc)
{
	while (lc->bytes > lc->limit) {
		struct slot *cold = NULL;

		for (unsigned i = 0; i < lc->nslots; i++)
			if (lc->slots[i].busy && !lc->slots[i].refs && (!cold || lc->slots[i].used < cold->used))
				cold = &lc->slots[i];
		if (!cold)
			break;
		lc->bytes -= cold->bytes;
		list_release(&cold->list);
		cold->busy = false;
	}
}

/* Hand out a private copy of l, freed by logcache_put: every slot is being read. */
static int keep_private(struct loglist *l, const struct loglist **out)
{
	struct slot *s = calloc(1, sizeof(*s));

	if (!s) {
		list_release(l);
		return UG_ENOMEM;
	}
	s->list = *l;
	s->refs = -1; /* marks a private list */
	*out = &s->list;
	return 0;
}

int logcache_get(struct fs *fs, const ug_oid *tip, const struct loglist **out)
{
	struct logcache *lc = fs->logs;
	struct loglist l = { 0 };
	struct slot *victim;
	size_t bytes = 0;
	int err;

	pthread_mutex_lock(&lc->lock);
	*out = find_kept(lc, tip);
	pthread_mutex_unlock(&lc->lock);
	if (*out)
		return 0;
	err = build(fs, tip, &l, &bytes);
	if (err)
		return err;
	pthread_mutex_lock(&lc->lock);
	victim = free_slot(lc);
	if (!victim) {
		pthread_mutex_unlock(&lc->lock);
		return keep_private(&l, out);
	}
	if (victim->busy)
		lc->bytes -= victim->bytes;
	list_release(&victim->list);
	*victim = (struct slot){ .tip = *tip, .list = l, .bytes = bytes, .refs = 1, .used = ++lc->clock,
				 .gen = lc->gen, .busy = true };
	lc->bytes += bytes;
	trim(lc);
	*out = &victim->list;
	pthread_mutex_unlock(&lc->lock);
	return 0;
}

void logcache_forget(struct logcache *lc)
{
	pthread_mutex_lock(&lc->lock);
	lc->gen++;
	for (unsigned i = 0; i < lc->nslots; i++) {
		struct slot *s = &lc->slots[i];

		if (s->busy && !s->refs) {
			lc->bytes -= s->bytes;
			list_release(&s->list);
			s->busy = false;
		}
	}
	pthread_mutex_unlock(&lc->lock);
}

void logcache_put(struct fs *fs, const struct loglist *list)
{
	struct logcache *lc = fs->logs;

	if (!list)
		return;
	pthread_mutex_lock(&lc->lock);
	for (unsigned i = 0; i < lc->nslots; i++) {
		if (&lc->slots[i].list == list) {
			lc->slots[i].refs--;
			pthread_mutex_unlock(&lc->lock);
			return;
		}
	}
	pthread_mutex_unlock(&lc->lock);
	/* a private list (see logcache_get) */
	struct slot *s = (struct slot *)((char *)list - offsetof(struct slot, list));

	list_release(&s->list);
	free(s);
}
