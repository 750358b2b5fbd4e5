/* ugtool: inspect and write a repository through the core, for tests and benchmarks (not installed). */
#include "commit.h"
#include "error.h"
#include "log.h"
#include "odb.h"
#include "oid.h"
#include "refs.h"
#include "repo.h"
#include "tag.h"
#include "tree.h"
#include "walk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every command returns 0, a positive exit status it chose (cat-file -e), or a
 * negative core code whose message main() prints as one line. Usage errors use
 * USAGE, which no core function returns.
 */
#define USAGE (-2)

static const char usage_text[] =
	"usage: ugtool [--verify] [--cache-limit BYTES] REPO COMMAND [ARGS]\n"
	"  info | cat-file -t|-s|-p|-e OBJ | batch | batch-check | rev-parse REV...\n"
	"  for-each-ref [PREFIX] | symbolic-ref NAME [TARGET] | ls-tree [-r] [-z] TREEISH\n"
	"  log-first-parent REV | rev-list-all | hash-object [-w] [-t TYPE] FILE|-\n"
	"  mktree [-z] < LINES | commit-tree TREE [-p PARENT]... -m MSG\n"
	"  update-ref [-m MSG] NAME NEW [OLD] | update-ref -d NAME [OLD]\n";

struct tool {
	ug_repo *repo;
	ug_odb *odb;
	ug_refdb *refdb;
	ug_hash_algo algo;
	size_t hexsz;
};

static int usage(const char *what)
{
	return ug_error(USAGE, "%s (run ugtool without arguments for usage)", what);
}

static void log_sink(ug_log_level level, const char *line)
{
	(void)level;
	fprintf(stderr, "ugtool-log: %s\n", line);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fputs("ugtool: out of memory\n", stderr);
		exit(-UG_ENOMEM);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("ugtool: out of memory\n", stderr);
		exit(-UG_ENOMEM);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* A growable byte buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->cap - b->len < len + 1) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap - b->len < len + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

static int read_stream(FILE *f, const char *what, struct buf *out)
{
	char chunk[65536];
	size_t n;

	buf_add(out, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	if (ferror(f))
		return ug_error_os(UG_ERROR, "cannot read %s", what);
	return 0;
}

static char *hex(const struct tool *t, const ug_oid *oid, char out[UG_OID_MAXHEX + 1])
{
	return ug_oid_tohex(out, oid, t->algo);
}

/* A full id is parsed directly (the batch fast path); anything else goes through revparse. */
static int resolve(struct tool *t, const char *rev, ug_oid *out)
{
	size_t len = strlen(rev);

	if (len == t->hexsz && ug_is_hex(rev, len))
		return ug_oid_fromhex(out, rev, len, t->algo);
	return ug_repo_revparse(t->repo, rev, out);
}

/* Peel tags and commits down to a tree, as git's TREEISH does. */
static int resolve_tree(struct tool *t, const char *rev, ug_oid *tree)
{
	ug_oid oid, peeled;
	ug_otype type;
	ug_commit *c;
	char h[UG_OID_MAXHEX + 1];
	int err;

	if ((err = resolve(t, rev, &oid)) < 0)
		return err;
	if ((err = ug_tag_peel(t->repo, &oid, &peeled, &type)) < 0)
		return err;
	if (type == UG_OBJ_TREE) {
		*tree = peeled;
		return 0;
	}
	if (type != UG_OBJ_COMMIT)
		return ug_error(UG_EINVALID, "%s (%s) is not a tree-ish", rev, hex(t, &peeled, h));
	if ((err = ug_commit_lookup(&c, t->repo, &peeled)) < 0)
		return err;
	*tree = c->tree;
	ug_commit_free(c);
	return 0;
}

static int resolve_commit(struct tool *t, const char *rev, ug_oid *commit)
{
	ug_oid oid;
	ug_otype type;
	char h[UG_OID_MAXHEX + 1];
	int err;

	if ((err = resolve(t, rev, &oid)) < 0)
		return err;
	if ((err = ug_tag_peel(t->repo, &oid, commit, &type)) < 0)
		return err;
	if (type != UG_OBJ_COMMIT)
		return ug_error(UG_EINVALID, "%s (%s) is not a commit", rev, hex(t, commit, h));
	return 0;
}

/* "Name <email>" from git's environment variables, else the repository's default. */
static char *ident(struct tool *t, const char *who)
{
	char kn[32], ke[32];
	const char *name, *email;
	char *s;
	size_t n;

	snprintf(kn, sizeof(kn), "GIT_%s_NAME", who);
	snprintf(ke, sizeof(ke), "GIT_%s_EMAIL", who);
	name = getenv(kn);
	email = getenv(ke);
	if (!name || !email)
		return ug_repo_default_ident(t->repo);
	n = strlen(name) + strlen(email) + 4;
	s = xmalloc(n);
	snprintf(s, n, "%s <%s>", name, email);
	return s;
}

/* ---- info, cat-file, batch ------------------------------------------------ */

static int cmd_info(struct tool *t, int argc, char **argv)
{
	const char *wd = ug_repo_workdir(t->repo);

	(void)argv;
	if (argc != 0)
		return usage("info takes no arguments");
	printf("format %s\n", ug_repo_format(t->repo) == UG_FORMAT_UGIT ? "ugit" : "git");
	printf("hash %s\n", ug_hash_name(t->algo));
	printf("gitdir %s\n", ug_repo_gitdir(t->repo));
	printf("workdir %s\n", wd ? wd : "-");
	return 0;
}

static int cmd_cat_file(struct tool *t, int argc, char **argv)
{
	ug_object *obj;
	ug_otype type;
	ug_oid oid;
	size_t size;
	int err;

	if (argc != 2 || strlen(argv[0]) != 2 || argv[0][0] != '-' || !strchr("tspe", argv[0][1]))
		return usage("cat-file -t|-s|-p|-e OBJ");
	switch (argv[0][1]) {
	case 'e':
		/* git's -e: silent, status 1 when the object is absent or unreadable. */
		if (resolve(t, argv[1], &oid) < 0)
			return 1;
		return ug_odb_exists(t->odb, &oid) ? 0 : 1;
	case 't':
	case 's':
		if ((err = resolve(t, argv[1], &oid)) < 0)
			return err;
		if ((err = ug_odb_read_header(t->odb, &oid, &type, &size)) < 0)
			return err;
		if (argv[0][1] == 't')
			printf("%s\n", ug_otype_name(type));
		else
			printf("%zu\n", size);
		return 0;
	default:
		if ((err = resolve(t, argv[1], &oid)) < 0)
			return err;
		if ((err = ug_odb_read(&obj, t->odb, &oid)) < 0)
			return err;
		fwrite(obj->data, 1, obj->size, stdout);
		ug_object_free(obj);
		return 0;
	}
}

/* git cat-file --batch / --batch-check on names read from stdin, one a line. */
static int batch(struct tool *t, bool contents)
{
	char h[UG_OID_MAXHEX + 1];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		ug_object *obj = NULL;
		ug_otype type;
		ug_oid oid;
		size_t size;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		err = resolve(t, line, &oid);
		if (err == 0) {
			if (contents) {
				err = ug_odb_read(&obj, t->odb, &oid);
				if (err == 0) {
					type = obj->type;
					size = obj->size;
				}
			} else {
				err = ug_odb_read_header(t->odb, &oid, &type, &size);
			}
		}
		if (err == UG_ENOTFOUND || err == UG_EAMBIGUOUS || err == UG_EINVALID) {
			printf("%s %s\n", line, err == UG_EAMBIGUOUS ? "ambiguous" : "missing");
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		printf("%s %s %zu\n", hex(t, &oid, h), ug_otype_name(type), size);
		if (obj) {
			fwrite(obj->data, 1, obj->size, stdout);
			putchar('\n');
			ug_object_free(obj);
		}
	}
	free(line);
	return err;
}

static int cmd_batch(struct tool *t, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage("batch reads ids from stdin");
	return batch(t, true);
}

static int cmd_batch_check(struct tool *t, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage("batch-check reads ids from stdin");
	return batch(t, false);
}

/* ---- refs ----------------------------------------------------------------- */

static int cmd_rev_parse(struct tool *t, int argc, char **argv)
{
	char h[UG_OID_MAXHEX + 1];
	ug_oid oid;
	int i, err;

	if (argc < 1)
		return usage("rev-parse REV...");
	for (i = 0; i < argc; i++) {
		if ((err = ug_repo_revparse(t->repo, argv[i], &oid)) < 0)
			return err;
		printf("%s\n", hex(t, &oid, h));
	}
	return 0;
}

/* git's pattern rule: "refs/heads" matches refs/heads/x, not refs/headsx. */
static bool ref_matches(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) != 0)
		return false;
	return n == 0 || prefix[n - 1] == '/' || name[n] == '/' || name[n] == '\0';
}

static int cmd_for_each_ref(struct tool *t, int argc, char **argv)
{
	const char *prefix = argc > 0 ? argv[0] : "";
	char h[UG_OID_MAXHEX + 1];
	ug_ref_list list;
	size_t i;
	int err;

	if (argc > 1)
		return usage("for-each-ref [PREFIX]");
	if ((err = ug_refs_list(t->refdb, prefix, &list)) < 0)
		return err;
	for (i = 0; i < list.count; i++) {
		const ug_ref *r = &list.refs[i];
		ug_oid oid = r->oid;
		ug_otype type;
		size_t size;

		if (!ref_matches(r->name, prefix))
			continue;
		/* A symbolic ref shows its target's value; a dangling one is skipped, as git does. */
		if (r->target && ug_refs_resolve(t->refdb, r->name, &oid, NULL) < 0)
			continue;
		if ((err = ug_odb_read_header(t->odb, &oid, &type, &size)) < 0)
			break;
		printf("%s %s\t%s\n", hex(t, &oid, h), ug_otype_name(type), r->name);
	}
	ug_ref_list_release(&list);
	return err;
}

static int cmd_symbolic_ref(struct tool *t, int argc, char **argv)
{
	ug_ref ref;
	int err;

	if (argc == 2)
		return ug_refs_set_symbolic(t->refdb, argv[0], argv[1]);
	if (argc != 1)
		return usage("symbolic-ref NAME [TARGET]");
	if ((err = ug_refs_read(t->refdb, argv[0], &ref)) < 0)
		return err;
	if (ref.target)
		printf("%s\n", ref.target);
	else
		err = ug_error(UG_EINVALID, "ref %s is not a symbolic ref", argv[0]);
	ug_ref_release(&ref);
	return err;
}

static int cmd_update_ref(struct tool *t, int argc, char **argv)
{
	const char *msg = "ugtool: update-ref";
	bool del = false;
	ug_oid new_oid, old_oid;
	char *who;
	int err;

	while (argc > 0 && argv[0][0] == '-') {
		if (!strcmp(argv[0], "-d")) {
			del = true;
			argc--, argv++;
		} else if (!strcmp(argv[0], "-m") && argc > 1) {
			msg = argv[1];
			argc -= 2, argv += 2;
		} else {
			return usage("update-ref: unknown option");
		}
	}
	if (del) {
		if (argc < 1 || argc > 2)
			return usage("update-ref -d NAME [OLD]");
		if (argc == 2 && (err = resolve(t, argv[1], &old_oid)) < 0)
			return err;
		return ug_refs_delete(t->refdb, argv[0], argc == 2 ? &old_oid : NULL);
	}
	if (argc < 2 || argc > 3)
		return usage("update-ref [-m MSG] NAME NEW [OLD]");
	if ((err = resolve(t, argv[1], &new_oid)) < 0)
		return err;
	if (argc == 3) {
		/* An all-zero OLD means "must not exist"; it does not name an object. */
		size_t len = strlen(argv[2]);

		if (len == t->hexsz && strspn(argv[2], "0") == len)
			memset(&old_oid, 0, sizeof(old_oid));
		else if ((err = resolve(t, argv[2], &old_oid)) < 0)
			return err;
	}
	who = ident(t, "COMMITTER");
	err = ug_refs_update(t->refdb, argv[0], &new_oid, argc == 3 ? &old_oid : NULL, who, msg);
	free(who);
	return err;
}

/* ---- trees ---------------------------------------------------------------- */

/* git's default path quoting (core.quotePath=true): C-style, octal for bytes >= 0x80. */
static void put_quoted(const char *name, size_t len)
{
	size_t i;
	bool need = false;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
			need = true;
	}
	if (!need) {
		fwrite(name, 1, len, stdout);
		return;
	}
	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		switch (c) {
		case '\a': fputs("\\a", stdout); break;
		case '\b': fputs("\\b", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\v': fputs("\\v", stdout); break;
		case '\f': fputs("\\f", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		default:
			if (c < 0x20 || c >= 0x7f)
				printf("\\%03o", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

/* One tree being listed: the stack of these replaces recursion. */
struct frame {
	ug_tree *tree;
	size_t next;
	char *prefix; /* the path of this tree with a trailing "/", "" at the top; owned */
};

static void frames_free(struct frame *st, size_t n)
{
	while (n > 0) {
		n--;
		ug_tree_free(st[n].tree);
		free(st[n].prefix);
	}
	free(st);
}

/* One line of ls-tree: mode, type, id, path (quoted as git does unless -z). */
static void print_entry(struct tool *t, const struct frame *f, const ug_tree_entry *e, bool nul)
{
	char h[UG_OID_MAXHEX + 1];

	printf("%06o %s %s\t", (unsigned)e->mode, ug_otype_name(ug_mode_type(e->mode)), hex(t, &e->oid, h));
	if (nul) {
		fputs(f->prefix, stdout);
		fwrite(e->name, 1, e->namelen, stdout);
		putchar('\0');
	} else {
		struct buf path = { 0 };

		buf_add(&path, f->prefix, strlen(f->prefix));
		buf_add(&path, e->name, e->namelen);
		put_quoted(path.p, path.len);
		putchar('\n');
		free(path.p);
	}
}

/* Push the subtree e of the top frame; *st may move. Hostile bytes can make a
 * tree contain itself (ids are not checked unless verifying): a cycle is
 * refused instead of looping. */
static int descend(struct tool *t, struct frame **st, size_t *depth, size_t *cap, const ug_tree_entry *e)
{
	char h[UG_OID_MAXHEX + 1];
	struct buf path = { 0 };
	const struct frame *f;
	ug_tree *sub;
	int err;

	for (size_t i = 0; i < *depth; i++)
		if (ug_oid_equal(&(*st)[i].tree->oid, &e->oid))
			return ug_error(UG_ECORRUPT, "tree %s contains itself", hex(t, &e->oid, h));
	if ((err = ug_tree_lookup(&sub, t->repo, &e->oid)) < 0)
		return err;
	if (*depth == *cap) {
		*cap *= 2;
		*st = xrealloc(*st, *cap * sizeof(**st));
	}
	f = &(*st)[*depth - 1];
	buf_add(&path, f->prefix, strlen(f->prefix));
	buf_add(&path, e->name, e->namelen);
	buf_addc(&path, '/');
	(*st)[*depth] = (struct frame){ .tree = sub, .next = 0, .prefix = path.p };
	(*depth)++;
	return 0;
}

static int cmd_ls_tree(struct tool *t, int argc, char **argv)
{
	bool recurse = false, nul = false;
	struct frame *st;
	size_t depth = 1, cap = 16;
	ug_oid root;
	int err;

	for (; argc > 0 && argv[0][0] == '-' && argv[0][1]; argc--, argv++) {
		if (!strcmp(argv[0], "-r"))
			recurse = true;
		else if (!strcmp(argv[0], "-z"))
			nul = true;
		else
			return usage("ls-tree [-r] [-z] TREEISH");
	}
	if (argc != 1)
		return usage("ls-tree [-r] [-z] TREEISH");
	if ((err = resolve_tree(t, argv[0], &root)) < 0)
		return err;
	st = xmalloc(cap * sizeof(*st));
	if ((err = ug_tree_lookup(&st[0].tree, t->repo, &root)) < 0) {
		free(st);
		return err;
	}
	st[0].next = 0;
	st[0].prefix = xstrdup("");
	while (depth > 0 && !err) {
		struct frame *f = &st[depth - 1];
		const ug_tree_entry *e;

		if (f->next == f->tree->count) {
			ug_tree_free(f->tree);
			free(f->prefix);
			depth--;
			continue;
		}
		e = &f->tree->entries[f->next++];
		if (recurse && e->mode == UG_MODE_TREE)
			err = descend(t, &st, &depth, &cap, e);
		else
			print_entry(t, f, e, nul);
	}
	frames_free(st, depth);
	return err;
}

/* Undo git's C-style quoting of a path (mktree input); the quotes are included in s. */
static int unquote(const char *s, size_t len, struct buf *out)
{
	size_t i;

	if (len < 2 || s[len - 1] != '"')
		return ug_error(UG_EINVALID, "bad quoted name: %.*s", (int)len, s);
	for (i = 1; i + 1 < len; i++) {
		const char *p;
		char c = s[i];

		if (c != '\\') {
			buf_addc(out, c);
			continue;
		}
		if (++i + 1 >= len)
			return ug_error(UG_EINVALID, "bad quoted name: %.*s", (int)len, s);
		c = s[i];
		if ((p = strchr("abtnvfr\"\\", c)) && c) {
			static const char val[] = "\a\b\t\n\v\f\r\"\\";

			buf_addc(out, val[p - "abtnvfr\"\\"]);
		} else if (c >= '0' && c <= '3' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '7' &&
			   s[i + 2] >= '0' && s[i + 2] <= '7') {
			buf_addc(out, (char)((c - '0') * 64 + (s[i + 1] - '0') * 8 + (s[i + 2] - '0')));
			i += 2;
		} else {
			return ug_error(UG_EINVALID, "bad escape in name: %.*s", (int)len, s);
		}
	}
	return 0;
}

/* Parse "MODE SP TYPE SP OID TAB NAME" (git mktree's input). */
static int parse_tree_line(struct tool *t, const char *line, size_t len, bool nul,
			   ug_tree_entry *e, struct buf *name)
{
	const char *sp1, *sp2, *tab;
	char *end;
	unsigned long mode;
	ug_otype type;
	int err;

	sp1 = memchr(line, ' ', len);
	tab = memchr(line, '\t', len);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line + len - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || !tab || tab < sp2)
		return ug_error(UG_EINVALID, "bad mktree line: %.*s", (int)len, line);
	errno = 0;
	mode = strtoul(line, &end, 8);
	if (end != sp1 || errno || mode > 0177777)
		return ug_error(UG_EINVALID, "bad mode in: %.*s", (int)len, line);
	type = ug_otype_parse(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (type == UG_OBJ_BAD || type != ug_mode_type((uint32_t)mode))
		return ug_error(UG_EINVALID, "mode and type disagree in: %.*s", (int)len, line);
	if ((err = ug_oid_fromhex(&e->oid, sp2 + 1, (size_t)(tab - sp2 - 1), t->algo)) < 0)
		return ug_error(UG_EINVALID, "bad id in: %.*s", (int)len, line);
	e->mode = (uint32_t)mode;
	tab++;
	if (!nul && tab < line + len && *tab == '"')
		return unquote(tab, (size_t)(line + len - tab), name);
	buf_add(name, tab, (size_t)(line + len - tab));
	return 0;
}

static int cmd_mktree(struct tool *t, int argc, char **argv)
{
	bool nul = argc == 1 && !strcmp(argv[0], "-z");
	struct buf in = { 0 };
	struct buf *names = NULL;
	ug_tree_entry *entries = NULL;
	size_t count = 0, cap = 0, pos = 0, i;
	char h[UG_OID_MAXHEX + 1];
	ug_oid oid;
	int err = 0;

	if (argc > 1 || (argc == 1 && !nul))
		return usage("mktree [-z] < ls-tree lines");
	if ((err = read_stream(stdin, "stdin", &in)) < 0)
		goto out;
	while (pos < in.len) {
		char *end = memchr(in.p + pos, nul ? '\0' : '\n', in.len - pos);
		size_t len = end ? (size_t)(end - (in.p + pos)) : in.len - pos;

		if (len > 0) {
			if (count == cap) {
				cap = cap ? 2 * cap : 64;
				entries = xrealloc(entries, cap * sizeof(*entries));
				names = xrealloc(names, cap * sizeof(*names));
			}
			memset(&names[count], 0, sizeof(names[count]));
			memset(&entries[count], 0, sizeof(entries[count]));
			err = parse_tree_line(t, in.p + pos, len, nul, &entries[count], &names[count]);
			count++;
			if (err < 0)
				goto out;
		}
		pos += len + 1;
	}
	/* Names are set only now, when every buffer has its final address. */
	for (i = 0; i < count; i++) {
		buf_add(&names[i], "", 0);
		entries[i].name = names[i].p;
		entries[i].namelen = names[i].len;
	}
	if ((err = ug_tree_create(t->repo, &oid, entries, count)) == 0)
		printf("%s\n", hex(t, &oid, h));
out:
	for (i = 0; i < count; i++)
		free(names[i].p);
	free(names);
	free(entries);
	free(in.p);
	return err;
}

/* ---- objects and commits -------------------------------------------------- */

static int cmd_hash_object(struct tool *t, int argc, char **argv)
{
	ug_otype type = UG_OBJ_BLOB;
	bool write = false;
	struct buf data = { 0 };
	char h[UG_OID_MAXHEX + 1];
	ug_oid oid;
	FILE *f;
	int err;

	while (argc > 1) {
		if (!strcmp(argv[0], "-w")) {
			write = true;
			argc--, argv++;
		} else if (!strcmp(argv[0], "-t") && argc > 2) {
			type = ug_otype_parse(argv[1], strlen(argv[1]));
			if (type == UG_OBJ_BAD)
				return usage("hash-object: unknown type");
			argc -= 2, argv += 2;
		} else {
			break;
		}
	}
	if (argc != 1)
		return usage("hash-object [-w] [-t TYPE] FILE|-");
	if (!strcmp(argv[0], "-")) {
		err = read_stream(stdin, "stdin", &data);
	} else {
		if (!(f = fopen(argv[0], "rb")))
			return ug_error_os(UG_ERROR, "cannot open %s", argv[0]);
		err = read_stream(f, argv[0], &data);
		fclose(f);
	}
	if (err == 0) {
		if (write)
			err = ug_odb_write(t->odb, &oid, type, data.p, data.len);
		else
			err = ug_odb_hash(t->odb, &oid, type, data.p, data.len);
	}
	if (err == 0)
		printf("%s\n", hex(t, &oid, h));
	free(data.p);
	return err;
}

static int cmd_commit_tree(struct tool *t, int argc, char **argv)
{
	ug_oid tree, *parents;
	size_t nparents = 0;
	struct buf msg = { 0 };
	char h[UG_OID_MAXHEX + 1];
	char *author = NULL, *committer = NULL;
	bool have_msg = false;
	ug_oid oid;
	int i, err;

	if (argc < 1)
		return usage("commit-tree TREE [-p PARENT]... -m MSG");
	parents = xmalloc((size_t)argc * sizeof(*parents));
	if ((err = resolve_tree(t, argv[0], &tree)) < 0)
		goto out;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			if ((err = resolve_commit(t, argv[++i], &parents[nparents])) < 0)
				goto out;
			nparents++;
		} else if (!strcmp(argv[i], "-m") && i + 1 < argc) {
			/* Like git: several -m are paragraphs; the message ends with a newline. */
			if (have_msg)
				buf_addc(&msg, '\n');
			buf_add(&msg, argv[i + 1], strlen(argv[i + 1]));
			if (msg.len == 0 || msg.p[msg.len - 1] != '\n')
				buf_addc(&msg, '\n');
			have_msg = true;
			i++;
		} else {
			err = usage("commit-tree TREE [-p PARENT]... -m MSG");
			goto out;
		}
	}
	if (!have_msg) {
		err = usage("commit-tree needs -m MSG");
		goto out;
	}
	author = ident(t, "AUTHOR");
	committer = ident(t, "COMMITTER");
	if ((err = ug_commit_create(t->repo, &oid, &tree, parents, nparents, author, committer,
				    msg.p)) == 0)
		printf("%s\n", hex(t, &oid, h));
out:
	free(author);
	free(committer);
	free(msg.p);
	free(parents);
	return err;
}

/* ---- history -------------------------------------------------------------- */

static int cmd_log_first_parent(struct tool *t, int argc, char **argv)
{
	char h[UG_OID_MAXHEX + 1];
	ug_oid tip, *chain;
	size_t count, i;
	int err;

	if (argc != 1)
		return usage("log-first-parent REV");
	if ((err = resolve_commit(t, argv[0], &tip)) < 0)
		return err;
	if ((err = ug_walk_first_parent(t->repo, &tip, &chain, &count)) < 0)
		return err;
	for (i = 0; i < count; i++)
		printf("%s\n", hex(t, &chain[i], h));
	free(chain);
	return 0;
}

static int cmd_rev_list_all(struct tool *t, int argc, char **argv)
{
	char h[UG_OID_MAXHEX + 1];
	ug_ref_list list;
	ug_walk *w;
	ug_oid oid;
	size_t i;
	int err;

	(void)argv;
	if (argc != 0)
		return usage("rev-list-all takes no arguments");
	if ((err = ug_walk_new(&w, t->repo)) < 0)
		return err;
	if ((err = ug_refs_list(t->refdb, "", &list)) < 0)
		goto out;
	for (i = 0; i < list.count && err == 0; i++) {
		oid = list.refs[i].oid;
		if (list.refs[i].target && ug_refs_resolve(t->refdb, list.refs[i].name, &oid, NULL) < 0)
			continue;
		/* One unreadable tip (a hostile tag) must not hide the others. */
		if ((err = ug_walk_push(w, &oid)) < 0 && err != UG_ENOMEM) {
			ug_log(UG_LOG_WARNING, "skipping %s: %s", list.refs[i].name, ug_error_last());
			err = 0;
		}
	}
	ug_ref_list_release(&list);
	/* HEAD counts too (a detached HEAD may be the only way to a commit);
	 * an unborn HEAD adds nothing. */
	if (err == 0 && ug_refs_resolve(t->refdb, "HEAD", &oid, NULL) == 0 &&
	    (err = ug_walk_push(w, &oid)) < 0 && err != UG_ENOMEM) {
		ug_log(UG_LOG_WARNING, "skipping HEAD: %s", ug_error_last());
		err = 0;
	}
	while (err == 0 && (err = ug_walk_next(w, &oid)) == 0)
		printf("%s\n", hex(t, &oid, h));
	if (err == UG_ENOTFOUND)
		err = 0;
out:
	ug_walk_free(w);
	return err;
}

/* ---- dispatch ------------------------------------------------------------- */

static const struct command {
	const char *name;
	int (*run)(struct tool *t, int argc, char **argv);
} commands[] = {
	{ "info", cmd_info },
	{ "cat-file", cmd_cat_file },
	{ "batch", cmd_batch },
	{ "batch-check", cmd_batch_check },
	{ "rev-parse", cmd_rev_parse },
	{ "for-each-ref", cmd_for_each_ref },
	{ "symbolic-ref", cmd_symbolic_ref },
	{ "update-ref", cmd_update_ref },
	{ "ls-tree", cmd_ls_tree },
	{ "mktree", cmd_mktree },
	{ "hash-object", cmd_hash_object },
	{ "commit-tree", cmd_commit_tree },
	{ "log-first-parent", cmd_log_first_parent },
	{ "rev-list-all", cmd_rev_list_all },
};

/* Print the last error as one line and turn its code into the exit status. */
static int fail(int code)
{
	const char *msg = ug_error_last();
	size_t i;

	if (!*msg)
		msg = ug_error_name(code);
	fputs("ugtool: ", stderr);
	for (i = 0; msg[i]; i++)
		fputc(msg[i] == '\n' || msg[i] == '\r' ? ' ' : msg[i], stderr);
	fputc('\n', stderr);
	return code < -125 ? 125 : -code;
}

int main(int argc, char **argv)
{
	static char outbuf[1 << 20];
	const struct command *cmd = NULL;
	bool verify = false;
	long long cache_limit = -1;
	struct tool t = { 0 };
	size_t i;
	int err;

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	ug_log_set_sink(log_sink);
	argc--, argv++;
	while (argc > 0 && argv[0][0] == '-') {
		if (!strcmp(argv[0], "--verify")) {
			verify = true;
			argc--, argv++;
		} else if (!strcmp(argv[0], "--cache-limit") && argc > 1) {
			cache_limit = atoll(argv[1]);
			argc -= 2, argv += 2;
		} else {
			break;
		}
	}
	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "ugtool: unknown command %s\n%s", argv[1], usage_text);
		return 2;
	}
	if ((err = ug_repo_open(&t.repo, argv[0])) < 0)
		return fail(err);
	t.odb = ug_repo_odb(t.repo);
	t.refdb = ug_repo_refdb(t.repo);
	t.algo = ug_repo_algo(t.repo);
	t.hexsz = ug_hash_hexsz(t.algo);
	ug_odb_set_verify(t.odb, verify);
	if (cache_limit >= 0)
		ug_odb_set_cache_limit(t.odb, (size_t)cache_limit);

	err = cmd->run(&t, argc - 2, argv + 2);
	if (fflush(stdout) != 0 && err == 0)
		err = ug_error_os(UG_ERROR, "cannot write the output");
	if (err == USAGE) {
		fprintf(stderr, "ugtool: %s\n%s", ug_error_last(), usage_text);
		err = 2;
	} else if (err < 0) {
		err = fail(err); /* before freeing: the message must be the command's */
	}
	ug_repo_free(t.repo);
	return err;
}
