/* ugit: revisions, history walks, merge bases, and the commands that read history (log, show, k, ...). */
#include "ugit_internal.h"

#include "tag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- object id sets ---- */

bool ugit_seen_add(ug_oidset *s, const ug_oid *oid)
{
	if (ug_oid_iszero(oid))
		return false; /* the zero id is no object: a walk skips it */
	int rc = ug_oidset_add(s, oid);
	if (rc < 0) {
		fputs("ugit: out of memory\n", stderr);
		exit(UGIT_FAIL);
	}
	return rc == 1;
}

/* ---- the walk of the Python tool ---- */

void ugit_walk_init(ugit_walk *w)
{
	memset(w, 0, sizeof(*w)); /* seen starts zeroed, an empty ug_oidset */
}

void ugit_walk_release(ugit_walk *w)
{
	free(w->q);
	ug_oidset_release(&w->seen);
	memset(w, 0, sizeof(*w));
}

static void grow(ugit_walk *w)
{
	if (w->len < w->cap)
		return;
	size_t ncap = w->cap ? w->cap * 2 : 32;
	ug_oid *q = ugit_xmalloc(ncap * sizeof(ug_oid));
	for (size_t i = 0; i < w->len; i++)
		q[i] = w->q[(w->head + i) % w->cap];
	free(w->q);
	w->q = q;
	w->cap = ncap;
	w->head = 0;
}

void ugit_walk_push(ugit_walk *w, const ug_oid *oid)
{
	grow(w);
	w->q[(w->head + w->len) % w->cap] = *oid;
	w->len++;
}

static void push_front(ugit_walk *w, const ug_oid *oid)
{
	grow(w);
	w->head = (w->head + w->cap - 1) % w->cap;
	w->q[w->head] = *oid;
	w->len++;
}

bool ugit_walk_next(ugit_walk *w, ug_oid *out)
{
	while (w->len) {
		ug_oid oid = w->q[w->head];
		w->head = (w->head + 1) % w->cap;
		w->len--;
		if (ugit_seen_add(&w->seen, &oid)) {
			*out = oid;
			return true;
		}
	}
	return false;
}

void ugit_walk_parents(ugit_walk *w, const ug_oid *parents, size_t n)
{
	if (n == 0)
		return;
	push_front(w, &parents[0]);
	for (size_t i = 1; i < n; i++)
		ugit_walk_push(w, &parents[i]);
}

/* ---- revisions ---- */

int ugit_merge_head(ugit_ctx *c, ug_oid *out)
{
	char *path = ugit_fmt("%s/MERGE_HEAD", c->gitdir);
	unsigned char *buf;
	size_t len;
	int rc = ugit_file_read(path, &buf, &len);
	free(path);
	if (rc < 0)
		return rc;
	/* Python strips it; git ends it with a newline (and may list several). */
	size_t n = 0;
	while (n < len && buf[n] != '\n' && buf[n] != ' ' && buf[n] != '\r' && buf[n] != '\t')
		n++;
	if (n == 0)
		rc = ug_error(UG_ENOTFOUND, "MERGE_HEAD is empty");
	else if (ug_oid_fromhex(out, (const char *)buf, n, c->algo) < 0)
		rc = ug_error(UG_ECORRUPT, "MERGE_HEAD does not hold an object id");
	free(buf);
	return rc;
}

int ugit_head(ugit_ctx *c, ug_oid *out, char **final)
{
	*final = NULL;
	int rc = ug_refs_resolve(c->refs, "HEAD", out, final);
	if (rc == 0 && !*final)
		*final = ugit_xstrdup("HEAD");
	if (rc == UG_ENOTFOUND && !*final)
		return ug_error(UG_ECORRUPT, "the repository has no HEAD");
	return rc;
}

/* A candidate ref name: 1 and *out when it names a commit-ish, 0 when absent. */
static int try_ref(ugit_ctx *c, const char *name, ug_oid *out)
{
	if (!strcmp(name, "MERGE_HEAD")) {
		int rc = ugit_merge_head(c, out);
		return rc == 0 ? 1 : rc == UG_ENOTFOUND ? 0 : rc;
	}
	if (strcmp(name, "HEAD") && (strncmp(name, "refs/", 5) || !ug_refname_valid(name)))
		return 0;
	ug_ref ref = {0};
	int rc = ug_refs_read(c->refs, name, &ref);
	ug_ref_release(&ref);
	if (rc == UG_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	char *final = NULL;
	rc = ug_refs_resolve(c->refs, name, out, &final);
	if (rc == UG_ENOTFOUND)
		rc = ug_error(UG_ENOTFOUND, "%s: %s has no commits yet", name, final ? final : name);
	free(final);
	return rc < 0 ? rc : 1;
}

int ugit_rev(ugit_ctx *c, const char *name, ug_oid *out)
{
	if (!strcmp(name, "@"))
		name = "HEAD";
	static const char *const forms[] = {"%s", "refs/%s", "refs/tags/%s", "refs/heads/%s",
					    "refs/remotes/%s"};
	size_t nforms = c->is_ugit ? 4 : 5;
	for (size_t i = 0; *name && i < nforms; i++) {
		char *ref = ugit_fmt(forms[i], name);
		int rc = try_ref(c, ref, out);
		free(ref);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return 0;
	}
	size_t len = strlen(name);
	if (len == c->hexsz && ug_is_hex(name, len)) {
		ug_oid_fromhex(out, name, len, c->algo);
		if (ug_odb_exists(c->odb, out))
			return 0;
	} else if (len >= 4 && len < c->hexsz && ug_is_hex(name, len)) {
		int rc = ug_odb_resolve_prefix(c->odb, name, len, out);
		if (rc == UG_EAMBIGUOUS)
			return ug_error(UG_EAMBIGUOUS, "%s is ambiguous: several objects start with it", name);
		if (rc == 0)
			return 0;
	}
	return ug_error(UG_ENOTFOUND, "unknown revision or object '%s'", name);
}

int ugit_rev_commit(ugit_ctx *c, const char *name, ug_oid *out)
{
	ug_oid oid;
	int rc = ugit_rev(c, name, &oid);
	if (rc < 0)
		return rc;
	ug_otype type;
	rc = ug_tag_peel(c->repo, &oid, out, &type);
	if (rc < 0)
		return rc;
	if (type != UG_OBJ_COMMIT)
		return ug_error(UG_EINVALID, "'%s' is a %s, not a commit", name,
				ug_otype_name(type) ? ug_otype_name(type) : "strange object");
	return 0;
}

int ugit_is_ancestor(ugit_ctx *c, const ug_oid *anc, const ug_oid *tip, bool *result)
{
	ugit_walk w;
	ugit_walk_init(&w);
	ugit_walk_push(&w, tip);
	ug_oid oid;
	int rc = 0;
	*result = false;
	while (ugit_walk_next(&w, &oid)) {
		if (ug_oid_equal(&oid, anc)) {
			*result = true;
			break;
		}
		ug_commit *cm;
		rc = ug_commit_lookup(&cm, c->repo, &oid);
		if (rc < 0)
			break;
		ugit_walk_parents(&w, cm->parents, cm->nparents);
		ug_commit_free(cm);
	}
	ugit_walk_release(&w);
	return rc;
}

/*
 * The common ancestors C of a and b are closed under "parent of", so the best
 * ones (those that are no ancestor of another common one) are exactly the
 * members of C that are no parent of a member of C. Several best ones (a
 * criss-cross) are broken by the smaller id, so the answer does not depend on
 * the order of a and b.
 */
int ugit_merge_base(ugit_ctx *c, const ug_oid *a, const ug_oid *b, ug_oid *out)
{
	ugit_walk w;
	ug_oidset anc_a = {0}, parents_of_c = {0};
	ug_oid *common = NULL;
	size_t ncommon = 0, capcommon = 0;
	int rc = 0;
	ug_oid oid;

	ugit_walk_init(&w);
	ugit_walk_push(&w, a);
	while (rc == 0 && ugit_walk_next(&w, &oid)) {
		ug_commit *cm;
		rc = ug_commit_lookup(&cm, c->repo, &oid);
		if (rc < 0)
			break;
		ugit_seen_add(&anc_a, &oid);
		ugit_walk_parents(&w, cm->parents, cm->nparents);
		ug_commit_free(cm);
	}
	ugit_walk_release(&w);

	ugit_walk_init(&w);
	ugit_walk_push(&w, b);
	while (rc == 0 && ugit_walk_next(&w, &oid)) {
		ug_commit *cm;
		rc = ug_commit_lookup(&cm, c->repo, &oid);
		if (rc < 0)
			break;
		if (ug_oidset_contains(&anc_a, &oid)) {
			if (ncommon == capcommon) {
				capcommon = capcommon ? capcommon * 2 : 16;
				common = ugit_xrealloc(common, capcommon * sizeof(ug_oid));
			}
			common[ncommon++] = oid;
			for (size_t i = 0; i < cm->nparents; i++)
				ugit_seen_add(&parents_of_c, &cm->parents[i]);
		}
		ugit_walk_parents(&w, cm->parents, cm->nparents);
		ug_commit_free(cm);
	}
	ugit_walk_release(&w);

	if (rc == 0) {
		bool found = false;
		for (size_t i = 0; i < ncommon; i++) {
			if (ug_oidset_contains(&parents_of_c, &common[i]))
				continue;
			if (!found || ug_oid_cmp(&common[i], out) < 0)
				*out = common[i];
			found = true;
		}
		if (!found)
			rc = UG_ENOTFOUND;
	}
	free(common);
	ug_oidset_release(&anc_a);
	ug_oidset_release(&parents_of_c);
	return rc;
}

/* ---- printing commits ---- */

/* Length of a line break of Python's str.splitlines at s, or 0. */
static size_t line_break(const unsigned char *s, size_t n)
{
	switch (s[0]) {
	case '\r': return n > 1 && s[1] == '\n' ? 2 : 1;
	case '\n': case 0x0b: case 0x0c: case 0x1c: case 0x1d: case 0x1e: return 1;
	case 0xc2: return n > 1 && s[1] == 0x85 ? 2 : 0;
	case 0xe2: return n > 2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9) ? 3 : 0;
	}
	return 0;
}

/* Length of a whitespace character of Python's str.isspace at s, or 0. */
static size_t space_char(const unsigned char *s, size_t n)
{
	if ((s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x20))
		return 1;
	if (n > 1 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n > 2 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;
	if (n > 2 && s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 ||
						       s[2] == 0xa9 || s[2] == 0xaf))
		return 3;
	if (n > 2 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;
	if (n > 2 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;
	return 0;
}

static bool blank(const unsigned char *s, size_t n)
{
	while (n) {
		size_t k = space_char(s, n);
		if (!k)
			return false;
		s += k;
		n -= k;
	}
	return true;
}

void ugit_print_commit(ugit_ctx *c, const ug_commit *cm, const char *refs)
{
	char hex[UG_OID_MAXHEX + 1];
	printf("commit %s%s%s%s\n\n", ug_oid_tohex(hex, &cm->oid, c->algo), refs ? " (" : "",
	       refs ? refs : "", refs ? ")" : "");
	/* The message's lines (split as str.splitlines does), joined by "\n",
	 * each indented by four spaces unless it is only whitespace. */
	const unsigned char *m = (const unsigned char *)cm->message;
	size_t n = cm->message_len, i = 0;
	bool first = true;
	while (i < n) {
		size_t start = i, brk = 0;
		while (i < n && !(brk = line_break(m + i, n - i)))
			i++;
		if (!first)
			fputc('\n', stdout);
		first = false;
		if (!blank(m + start, i - start))
			fputs("    ", stdout);
		fwrite(m + start, 1, i - start, stdout);
		i += brk;
	}
	fputs("\n\n", stdout);
}

/* ---- refs by the commit they point at (decorations of log) ---- */

typedef struct {
	ug_oid oid;
	char *name;
	size_t order;
} deco;

typedef struct {
	deco *v;
	size_t n, cap;
} deco_list;

static void deco_add(deco_list *l, const ug_oid *oid, const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = ugit_xrealloc(l->v, l->cap * sizeof(deco));
	}
	l->v[l->n].oid = *oid;
	l->v[l->n].name = ugit_xstrdup(name);
	l->v[l->n].order = l->n;
	l->n++;
}

static void deco_release(deco_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

static int cmp_deco(const void *pa, const void *pb)
{
	const deco *a = pa, *b = pb;
	int r = ug_oid_cmp(&a->oid, &b->oid);
	if (r)
		return r;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* The commit a ref value stands for (tags peeled), or false. */
static bool peel_commit(ugit_ctx *c, const ug_oid *oid, const ug_oid *peeled, bool peeled_known,
			ug_oid *out)
{
	if (peeled_known && !ug_oid_iszero(peeled)) {
		*out = *peeled;
		return true;
	}
	ug_otype type;
	if (c->is_ugit) {
		*out = *oid; /* ugit has no tag objects */
		return true;
	}
	if (ug_tag_peel(c->repo, oid, out, &type) < 0 || type != UG_OBJ_COMMIT)
		return false;
	return true;
}

/* HEAD, MERGE_HEAD, then every ref under refs/ in name order, as the Python
 * tool's iter_refs lists them (its refs/ order is the file system's). */
static int collect_refs(ugit_ctx *c, deco_list *out)
{
	ug_oid oid;
	char *final = NULL;
	int rc = ugit_head(c, &oid, &final);
	free(final);
	if (rc == 0)
		deco_add(out, &oid, "HEAD");
	else if (rc != UG_ENOTFOUND)
		return rc;
	if (ugit_merge_head(c, &oid) == 0)
		deco_add(out, &oid, "MERGE_HEAD");
	ug_ref_list list = {0};
	rc = ug_refs_list(c->refs, "", &list);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < list.count; i++) {
		ug_ref *r = &list.refs[i];
		ug_oid target = r->oid, commit;
		if (r->target && ug_refs_resolve(c->refs, r->name, &target, NULL) < 0)
			continue;
		if (peel_commit(c, &target, &r->peeled, r->peeled_known && !r->target, &commit))
			deco_add(out, &commit, r->name);
	}
	ug_ref_list_release(&list);
	return 0;
}

/* ---- commands ---- */

int ugit_cmd_cat_file(ugit_ctx *c, ugit_args *a)
{
	ug_oid oid;
	if (ugit_rev(c, a->pos[0], &oid) < 0)
		return ugit_fail("%s", ug_error_last());
	ug_object *obj;
	if (ug_odb_read(&obj, c->odb, &oid) < 0)
		return ugit_fail("%s", ug_error_last());
	fwrite(obj->data, 1, obj->size, stdout);
	ug_object_free(obj);
	return 0;
}

int ugit_cmd_hash_object(ugit_ctx *c, ugit_args *a)
{
	unsigned char *buf;
	size_t len;
	if (ugit_file_read(a->pos[0], &buf, &len) < 0)
		return ugit_fail("%s", ug_error_last());
	ug_oid oid;
	int rc = ug_odb_write(c->odb, &oid, UG_OBJ_BLOB, buf, len);
	free(buf);
	if (rc < 0)
		return ugit_fail_core("cannot store %s", a->pos[0]);
	char hex[UG_OID_MAXHEX + 1];
	printf("%s\n", ug_oid_tohex(hex, &oid, c->algo));
	return 0;
}

int ugit_cmd_log(ugit_ctx *c, ugit_args *a)
{
	ug_oid tip;
	if (ugit_rev_commit(c, a->npos ? a->pos[0] : "@", &tip) < 0)
		return ugit_fail("%s", ug_error_last());
	deco_list refs = {0};
	if (collect_refs(c, &refs) < 0) {
		deco_release(&refs);
		return ugit_fail_core("cannot list the refs");
	}
	if (refs.n)
		qsort(refs.v, refs.n, sizeof(deco), cmp_deco);

	ugit_walk w;
	ugit_walk_init(&w);
	ugit_walk_push(&w, &tip);
	ug_oid oid;
	int rc = 0;
	char *names = NULL;
	size_t cap = 0;
	while (ugit_walk_next(&w, &oid)) {
		ug_commit *cm;
		char hex[UG_OID_MAXHEX + 1];
		if (ug_commit_lookup(&cm, c->repo, &oid) < 0) {
			rc = ugit_fail_core("cannot read commit %s", ug_oid_tohex(hex, &oid, c->algo));
			break;
		}
		/* the names of the refs at this commit, in their list order */
		size_t len = 0, lo = 0, hi = refs.n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (ug_oid_cmp(&refs.v[mid].oid, &oid) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < refs.n && ug_oid_equal(&refs.v[i].oid, &oid); i++) {
			size_t k = strlen(refs.v[i].name);
			if (len + k + 3 > cap) {
				cap = (len + k + 3) * 2;
				names = ugit_xrealloc(names, cap);
			}
			if (len) {
				memcpy(names + len, ", ", 2);
				len += 2;
			}
			memcpy(names + len, refs.v[i].name, k + 1);
			len += k;
		}
		ugit_print_commit(c, cm, len ? names : NULL);
		ugit_walk_parents(&w, cm->parents, cm->nparents);
		ug_commit_free(cm);
	}
	free(names);
	ugit_walk_release(&w);
	deco_release(&refs);
	return rc;
}

int ugit_cmd_show(ugit_ctx *c, ugit_args *a)
{
	ug_oid oid;
	if (ugit_rev_commit(c, a->npos ? a->pos[0] : "@", &oid) < 0)
		return ugit_fail("%s", ug_error_last());
	ug_commit *cm;
	if (ug_commit_lookup(&cm, c->repo, &oid) < 0)
		return ugit_fail("%s", ug_error_last());
	ugit_pmap from, to;
	ugit_pmap_init(&from);
	ugit_pmap_init(&to);
	int rc = 0;
	if ((cm->nparents && ugit_commit_flatten(c, &cm->parents[0], &from) < 0) ||
	    ugit_tree_flatten(c, &cm->tree, &to) < 0) {
		rc = ugit_fail("%s", ug_error_last());
	} else {
		ugit_print_commit(c, cm, NULL);
		if (ugit_diff_maps(c, &from, &to, false, false) < 0)
			rc = ugit_fail("%s", ug_error_last());
	}
	ugit_pmap_release(&from);
	ugit_pmap_release(&to);
	ug_commit_free(cm);
	return rc;
}

int ugit_cmd_merge_base(ugit_ctx *c, ugit_args *a)
{
	ug_oid x, y, base;
	if (ugit_rev_commit(c, a->pos[0], &x) < 0 || ugit_rev_commit(c, a->pos[1], &y) < 0)
		return ugit_fail("%s", ug_error_last());
	int rc = ugit_merge_base(c, &x, &y, &base);
	if (rc == UG_ENOTFOUND)
		return ugit_fail("%s and %s have no common ancestor", a->pos[0], a->pos[1]);
	if (rc < 0)
		return ugit_fail("%s", ug_error_last());
	char hex[UG_OID_MAXHEX + 1];
	printf("%s\n", ug_oid_tohex(hex, &base, c->algo));
	return 0;
}

static int create_ref(ugit_ctx *c, const char *ref, const ug_oid *oid, const char *what,
		      const char *name, const char *msg)
{
	if (!ug_refname_valid(ref))
		return ugit_fail("'%s' is not a valid %s name", name, what);
	ug_ref old = {0};
	int rc = ug_refs_read(c->refs, ref, &old);
	ug_ref_release(&old);
	if (rc == 0)
		return ugit_fail("a %s named '%s' already exists", what, name);
	if (rc != UG_ENOTFOUND)
		return ugit_fail("%s", ug_error_last());
	static const ug_oid zero;
	if (ug_refs_update(c->refs, ref, oid, &zero, ugit_ident(c), msg) < 0)
		return ugit_fail_core("cannot create %s", ref);
	return 0;
}

int ugit_cmd_tag(ugit_ctx *c, ugit_args *a)
{
	ug_oid oid;
	if (ugit_rev(c, a->npos > 1 ? a->pos[1] : "@", &oid) < 0)
		return ugit_fail("%s", ug_error_last());
	char *ref = ugit_fmt("refs/tags/%s", a->pos[0]);
	int rc = create_ref(c, ref, &oid, "tag", a->pos[0], "tag: created");
	free(ref);
	return rc;
}

int ugit_cmd_branch(ugit_ctx *c, ugit_args *a)
{
	char hex[UG_OID_MAXHEX + 1];
	if (a->npos == 0) {
		ug_ref head = {0};
		int rc = ug_refs_read(c->refs, "HEAD", &head);
		if (rc < 0 && rc != UG_ENOTFOUND)
			return ugit_fail("%s", ug_error_last());
		ug_ref_list list = {0};
		if (ug_refs_list(c->refs, "refs/heads/", &list) < 0) {
			ug_ref_release(&head);
			return ugit_fail_core("cannot list the branches");
		}
		for (size_t i = 0; i < list.count; i++) {
			const char *name = list.refs[i].name;
			bool cur = head.target && !strcmp(head.target, name);
			printf("%c %s\n", cur ? '*' : ' ', name + strlen("refs/heads/"));
		}
		ug_ref_list_release(&list);
		ug_ref_release(&head);
		return 0;
	}
	ug_oid oid;
	const char *start = a->npos > 1 ? a->pos[1] : "@";
	if (ugit_rev_commit(c, start, &oid) < 0)
		return ugit_fail("%s", ug_error_last());
	char *ref = ugit_fmt("refs/heads/%s", a->pos[0]);
	char *msg = ugit_fmt("branch: Created from %s", start);
	int rc = create_ref(c, ref, &oid, "branch", a->pos[0], msg);
	free(msg);
	free(ref);
	if (rc == 0)
		printf("Branch %s created at %.10s\n", a->pos[0], ug_oid_tohex(hex, &oid, c->algo));
	return rc;
}

int ugit_cmd_reset(ugit_ctx *c, ugit_args *a)
{
	ug_oid oid, old;
	if (ugit_rev_commit(c, a->pos[0], &oid) < 0)
		return ugit_fail("%s", ug_error_last());
	char *final = NULL;
	int rc = ugit_head(c, &old, &final);
	if (rc == UG_ENOTFOUND)
		memset(&old, 0, sizeof(old));
	else if (rc < 0) {
		free(final);
		return ugit_fail("%s", ug_error_last());
	}
	char hex[UG_OID_MAXHEX + 1];
	char *msg = ugit_fmt("reset: moving to %s", ug_oid_tohex(hex, &oid, c->algo));
	rc = ug_refs_update(c->refs, final, &oid, &old, ugit_ident(c), msg);
	if (rc < 0)
		rc = ugit_fail_core("cannot move %s", final);
	free(msg);
	free(final);
	return rc;
}

/* ---- k: the graph ---- */

/* A DOT string: quotes and backslashes escaped, control bytes shown as '?'. */
static void dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fputc('\\', f);
		fputc(ch < 0x20 ? '?' : ch, f);
	}
	fputc('"', f);
}

static void dot_ref(ugit_ctx *c, FILE *f, const char *name, const char *target, const ug_oid *oid)
{
	char hex[UG_OID_MAXHEX + 1];
	dot_str(f, name);
	fputs(" [shape=note]\n", f);
	dot_str(f, name);
	fputs(" -> ", f);
	dot_str(f, target ? target : ug_oid_tohex(hex, oid, c->algo));
	fputc('\n', f);
}

static int build_graph(ugit_ctx *c, FILE *f)
{
	ugit_walk w;
	ugit_walk_init(&w);
	fputs("digraph commits {\n", f);
	ug_ref head = {0};
	int rc = ug_refs_read(c->refs, "HEAD", &head);
	if (rc == 0) {
		ug_oid oid = head.oid;
		dot_ref(c, f, "HEAD", head.target, &oid);
		if (!head.target)
			ugit_walk_push(&w, &oid);
	}
	ug_ref_release(&head);
	if (rc < 0 && rc != UG_ENOTFOUND)
		goto out;
	ug_oid mh;
	if (ugit_merge_head(c, &mh) == 0) {
		dot_ref(c, f, "MERGE_HEAD", NULL, &mh);
		ugit_walk_push(&w, &mh);
	}
	ug_ref_list list = {0};
	rc = ug_refs_list(c->refs, "", &list);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < list.count; i++) {
		ug_ref *r = &list.refs[i];
		ug_oid commit;
		if (r->target) {
			dot_ref(c, f, r->name, r->target, NULL);
		} else if (peel_commit(c, &r->oid, &r->peeled, r->peeled_known, &commit)) {
			/* an annotated tag points at its commit in the picture */
			dot_ref(c, f, r->name, NULL, &commit);
			ugit_walk_push(&w, &commit);
		} else {
			dot_ref(c, f, r->name, NULL, &r->oid);
		}
	}
	ug_ref_list_release(&list);
	ug_oid oid;
	while (ugit_walk_next(&w, &oid)) {
		ug_commit *cm;
		char hex[UG_OID_MAXHEX + 1], phex[UG_OID_MAXHEX + 1];
		if (ug_commit_lookup(&cm, c->repo, &oid) < 0) {
			rc = -1;
			goto out;
		}
		ug_oid_tohex(hex, &oid, c->algo);
		fprintf(f, "\"%s\" [shape=box style=filled label=\"%.10s\"]\n", hex, hex);
		for (size_t i = 0; i < cm->nparents; i++)
			fprintf(f, "\"%s\" -> \"%s\"\n", hex, ug_oid_tohex(phex, &cm->parents[i], c->algo));
		ugit_walk_parents(&w, cm->parents, cm->nparents);
		ug_commit_free(cm);
	}
	fputs("}\n", f);
	rc = 0;
out:
	ugit_walk_release(&w);
	return rc;
}

int ugit_cmd_k(ugit_ctx *c, ugit_args *a)
{
	const char *out = a->output;
	if (out) {
		size_t n = strlen(out);
		if (n < 5 || (strcmp(out + n - 4, ".png") && strcmp(out + n - 4, ".svg"))) {
			fprintf(stderr, "ugit k: the output must be a .png or .svg file; ");
			return ugit_usage(c);
		}
	}
	char *dot = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&dot, &len);
	if (!f)
		return ugit_fail("out of memory");
	int rc = build_graph(c, f);
	fclose(f);
	if (rc < 0) {
		free(dot);
		return ugit_fail_core("cannot draw the graph");
	}
	if (!out)
		fwrite(dot, 1, len, stdout);
	else if (ugit_render_dot(dot, len, out) < 0)
		rc = ugit_fail("%s", ug_error_last());
	free(dot);
	return rc ? UGIT_FAIL : 0;
}
