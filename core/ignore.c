/* gitignore matching as git does it: line syntax, precedence, and wildmatch compiled to a small NFA. */
#include "ignore.h"

#include "array.h"
#include "config.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bigger rule files are refused: no real one comes near, and a hostile one
 * must not make the daemon allocate without bound. */
#define MAX_FILE_SIZE (100u << 20)

/* Rule flags. */
enum {
	F_NEGATIVE = 1,  /* "!pattern" */
	F_MUSTBEDIR = 2, /* "pattern/" */
	F_NODIR = 4,     /* no "/" inside: matched against the basename */
	F_ENDSWITH = 8,  /* "*literal": compared with the end of the basename */
	F_NEVER = 16,    /* a malformed class or a trailing "\": git never matches it */
};

/*
 * The wildcard part of a pattern as tokens. Every kind but the stars consumes
 * one character. A double star and a slash at a folder boundary match
 * nothing or anything ending in a slash (so "a/x/b" and "a/b" both match
 * the pattern a, slash, double star, slash, b): they compile to T_DIRS
 * (consumes nothing; may jump over the two tokens after it), T_STARSTAR and
 * the slash.
 */
enum { T_LIT, T_ANY, T_CLASS, T_STAR, T_STARSTAR, T_DIRS };

typedef struct {
	uint8_t kind;
	uint8_t ch;   /* T_LIT */
	uint32_t cls; /* T_CLASS: index into rule.classes */
} tok;

typedef struct {
	uint8_t bits[32]; /* 256-bit member set, negation already applied */
} cclass;

typedef struct {
	char *text;      /* the trimmed line, NUL-terminated: shown by explain */
	const char *pat; /* into text: after "!", without a trailing "/" */
	size_t patlen;
	size_t prefix;   /* length of pat's leading part without wildcards */
	unsigned flags;
	size_t line;
	bool pathname;   /* the wildcard part is matched with "/" special */
	tok *toks;       /* the wildcard part (see rule_match) */
	size_t ntoks, minlen;
	char *must;      /* the longest run of literals every match holds */
	size_t mustlen;
	cclass *classes;
	size_t nclasses;
} rule;

typedef struct {
	char *dir;      /* "" for the top, "a/b" */
	size_t dirlen;
	char *source;   /* shown by explain */
	rule *rules;
	size_t count, alloc;
} rulelist;

struct ug_ignore {
	rulelist **dirs; /* sorted by dir */
	size_t ndirs, adirs;
	rulelist *info;   /* info/exclude: after every .gitignore */
	rulelist *global; /* core.excludesFile: last */
};

/* ---- compiling a pattern ---- */

static bool glob_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

static void setbit(cclass *c, unsigned char ch)
{
	c->bits[ch >> 3] |= (uint8_t)(1u << (ch & 7));
}

static bool hasbit(const cclass *c, unsigned char ch)
{
	return c->bits[ch >> 3] & (1u << (ch & 7));
}

/* git's own ASCII-only character classes (bytes >= 0x80 are in none). */
static bool in_named_class(int which, unsigned c)
{
	bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
	bool digit = c >= '0' && c <= '9', print = c >= 0x20 && c <= 0x7e;
	bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';

	switch (which) {
	case 0: return upper || lower || digit;                 /* alnum */
	case 1: return upper || lower;                          /* alpha */
	case 2: return c == ' ' || c == '\t';                   /* blank */
	case 3: return c < 0x20 || c == 0x7f;                   /* cntrl */
	case 4: return digit;                                   /* digit */
	case 5: return print && c != ' ';                       /* graph */
	case 6: return lower;                                   /* lower */
	case 7: return print;                                   /* print */
	case 8: return print && !upper && !lower && !digit && c != ' '; /* punct */
	case 9: return space;                                   /* space */
	case 10: return upper;                                  /* upper */
	case 11: return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); /* xdigit */
	default: return false;
	}
}

static const char *const class_names[] = {
	"alnum", "alpha", "blank", "cntrl", "digit", "graph",
	"lower", "print", "punct", "space", "upper", "xdigit",
};

/*
 * Parse the class starting at p[*pos] == '[' into c, as git's wildmatch
 * reads it: "!" or "^" negates, the first member may be "]", "\" escapes,
 * "a-z" ranges (a "-" first or last is literal), "[:name:]" named classes.
 * On return *pos is past the closing "]". false when malformed (no closing
 * "]", an unknown class name, a dangling "\"): git then never matches.
 */
static bool parse_class(const char *p, size_t n, size_t *pos, cclass *c)
{
	size_t i = *pos + 1;
	bool negated = false, first = true;
	int prev = -1; /* previous single member, for a range; -1: none */

	memset(c, 0, sizeof(*c));
	if (i < n && (p[i] == '!' || p[i] == '^')) {
		negated = true;
		i++;
	}
	for (;; i++) {
		unsigned char ch;

		if (i >= n)
			return false;
		ch = (unsigned char)p[i];
		if (ch == ']' && !first)
			break;
		first = false;
		if (ch == '\\') {
			if (++i >= n)
				return false;
			ch = (unsigned char)p[i];
			setbit(c, ch);
			prev = ch;
		} else if (ch == '-' && prev >= 0 && i + 1 < n && p[i + 1] != ']') {
			unsigned char hi;

			i++;
			if (p[i] == '\\' && ++i >= n)
				return false;
			hi = (unsigned char)p[i];
			for (unsigned x = (unsigned)prev; x <= hi; x++)
				setbit(c, (unsigned char)x);
			prev = -1;
		} else if (ch == '[' && i + 1 < n && p[i + 1] == ':') {
			size_t s = i + 2, e = s;
			size_t k;

			while (e < n && p[e] != ']')
				e++;
			if (e >= n)
				return false;
			if (e == s || p[e - 1] != ':') {
				/* no ":]": the "[" is an ordinary member */
				setbit(c, '[');
				prev = '[';
				continue;
			}
			for (k = 0; k < sizeof(class_names) / sizeof(class_names[0]); k++)
				if (strlen(class_names[k]) == e - 1 - s &&
				    !memcmp(class_names[k], p + s, e - 1 - s))
					break;
			if (k == sizeof(class_names) / sizeof(class_names[0]))
				return false;
			for (unsigned x = 0; x < 256; x++)
				if (in_named_class((int)k, x))
					setbit(c, (unsigned char)x);
			i = e;
			prev = -1;
		} else {
			setbit(c, ch);
			prev = ch;
		}
	}
	if (negated)
		for (size_t k = 0; k < sizeof(c->bits); k++)
			c->bits[k] = (uint8_t)~c->bits[k];
	*pos = i + 1;
	return true;
}

/* Room for r's tokens (at most one per byte) and classes (one per "["). */
static int alloc_tokens(rule *r, const char *p, size_t n)
{
	size_t ncl = 0;

	for (size_t k = 0; k < n; k++)
		ncl += p[k] == '[';
	r->toks = malloc((n ? n : 1) * sizeof(*r->toks));
	r->classes = malloc((ncl ? ncl : 1) * sizeof(*r->classes));
	if (!r->toks || !r->classes)
		return ug_error(UG_ENOMEM, "out of memory");
	return 0;
}

/* The run of stars at p[*i] as token t: one "*", or a "**" at folder
 * boundaries (a T_DIRS and a T_STARSTAR when a slash follows). */
static void compile_stars(rule *r, tok *t, const char *p, size_t n, size_t *i, size_t *nt)
{
	size_t j = *i;

	while (j < n && p[j] == '*')
		j++;
	if (!r->pathname) {
		t->kind = T_STARSTAR;
	} else if (j - *i == 1) {
		t->kind = T_STAR;
	} else if ((*i == 0 || p[*i - 1] == '/') &&
		   (j == n || p[j] == '/' || (p[j] == '\\' && j + 1 < n && p[j + 1] == '/'))) {
		t->kind = T_STARSTAR;
		if (j < n && p[j] == '/') {
			t->kind = T_DIRS; /* then a T_STARSTAR, then the slash */
			t = &r->toks[(*nt)++];
			t->kind = T_STARSTAR;
			t->ch = 0;
			t->cls = 0;
		}
	} else {
		t->kind = T_STAR; /* "**" inside a name is one "*" */
	}
	*i = j;
}

/* The token at p[*i], moving *i past it; false (and F_NEVER) when it is
 * unfinished: a trailing "\" or a malformed class. */
static bool compile_token(rule *r, const char *p, size_t n, size_t *i, size_t *nt)
{
	unsigned char c = (unsigned char)p[*i];
	tok *t = &r->toks[(*nt)++];

	t->ch = 0;
	t->cls = 0;
	if (c == '\\') {
		if (*i + 1 >= n) {
			r->flags |= F_NEVER;
			return false;
		}
		t->kind = T_LIT;
		t->ch = (uint8_t)p[*i + 1];
		*i += 2;
	} else if (c == '?') {
		t->kind = T_ANY;
		(*i)++;
	} else if (c == '[') {
		if (!parse_class(p, n, i, &r->classes[r->nclasses])) {
			r->flags |= F_NEVER;
			return false;
		}
		if (r->pathname)
			r->classes[r->nclasses].bits['/' >> 3] &= (uint8_t)~(1u << ('/' & 7));
		t->kind = T_CLASS;
		t->cls = (uint32_t)r->nclasses++;
	} else if (c == '*') {
		compile_stars(r, t, p, n, i, nt);
	} else {
		t->kind = T_LIT;
		t->ch = c;
		(*i)++;
	}
	return true;
}

/* The fewest bytes a match consumes, and the longest run of literals every
 * match holds, kept: a quick memmem rejects most texts before the NFA. */
static int find_must(rule *r)
{
	size_t best = 0;

	r->minlen = 0;
	for (size_t k = 0, run = 0; k < r->ntoks; k++) {
		if (r->toks[k].kind == T_DIRS) {
			k += 2; /* its slash may be skipped */
			run = 0;
			continue;
		}
		r->minlen += r->toks[k].kind <= T_CLASS;
		run = r->toks[k].kind == T_LIT ? run + 1 : 0;
		if (run > r->mustlen) {
			r->mustlen = run;
			best = k + 1 - run;
		}
	}
	if (r->mustlen) {
		r->must = malloc(r->mustlen);
		if (!r->must)
			return ug_error(UG_ENOMEM, "out of memory");
		for (size_t k = 0; k < r->mustlen; k++)
			r->must[k] = (char)r->toks[best + k].ch;
	}
	return 0;
}

/*
 * Compile the wildcard part p[0..n) of r. pathname: "/" is special (a "*" or
 * "?" or class does not match it; "**" at folder boundaries does). The start
 * of p counts as a boundary even when git stripped a literal prefix before
 * it, as git's matcher sees only what follows the prefix.
 */
static int compile(rule *r, const char *p, size_t n, bool pathname)
{
	size_t i = 0, nt = 0;
	int err;

	r->pathname = pathname;
	if ((err = alloc_tokens(r, p, n)))
		return err;
	while (i < n)
		if (!compile_token(r, p, n, &i, &nt))
			return 0; /* the last token is unfinished; nothing is matched */
	r->ntoks = nt;
	return find_must(r);
}

/* Follow the epsilon moves of the stars (all forward, so one pass). */
static void closure(const rule *r, uint8_t *s)
{
	for (size_t i = 0; i < r->ntoks; i++) {
		if (!s[i] || r->toks[i].kind < T_STAR)
			continue;
		s[i + 1] = 1;
		if (r->toks[i].kind == T_DIRS)
			s[i + 3] = 1; /* past its T_STARSTAR and "/" */
	}
}

/* Does the wildcard part of r match all of text? 1, 0, or UG_ENOMEM. */
static int wild_match(const rule *r, const unsigned char *text, size_t len)
{
	uint8_t small[2][256], *cur, *nxt;
	size_t m = r->ntoks;
	int matched;

	if (len < r->minlen || (r->mustlen && !memmem(text, len, r->must, r->mustlen)))
		return 0;
	if (m + 1 <= sizeof(small[0])) {
		cur = small[0];
		nxt = small[1];
	} else {
		cur = malloc(2 * (m + 1));
		if (!cur)
			return ug_error(UG_ENOMEM, "out of memory");
		nxt = cur + m + 1;
	}
	memset(cur, 0, m + 1);
	cur[0] = 1;
	closure(r, cur);
	for (size_t k = 0; k < len; k++) {
		unsigned char c = text[k];
		uint8_t *swap;
		bool any = false;

		memset(nxt, 0, m + 1);
		for (size_t i = 0; i < m; i++) {
			const tok *t = &r->toks[i];

			if (!cur[i])
				continue;
			switch (t->kind) {
			case T_LIT: nxt[i + 1] |= c == t->ch; break;
			case T_ANY: nxt[i + 1] |= !(r->pathname && c == '/'); break;
			case T_CLASS: nxt[i + 1] |= hasbit(&r->classes[t->cls], c); break;
			case T_STAR: nxt[i] |= !(r->pathname && c == '/'); break;
			case T_STARSTAR: nxt[i] = 1; break;
			default: break; /* T_DIRS consumes nothing */
			}
		}
		closure(r, nxt);
		for (size_t i = 0; i <= m && !any; i++)
			any = nxt[i];
		swap = cur;
		cur = nxt;
		nxt = swap;
		if (!any)
			break;
	}
	matched = cur[m];
	if (m + 1 > sizeof(small[0]))
		free(cur < nxt ? cur : nxt);
	return matched;
}

/* git's trailing-space rule: unescaped trailing spaces go (not tabs). */
static size_t trim_spaces(const char *s, size_t n)
{
	size_t cut = n;
	bool in_spaces = false;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ') {
			if (!in_spaces)
				cut = i;
			in_spaces = true;
			continue;
		}
		if (s[i] == '\\' && ++i >= n)
			return n; /* a final "\" keeps everything */
		in_spaces = false;
		cut = n;
	}
	return in_spaces ? cut : n;
}

static void rule_release(rule *r)
{
	free(r->text);
	free(r->toks);
	free(r->classes);
	free(r->must);
}

/* Parse one trimmed line (NUL-free) into a rule. */
static int rule_init(rule *r, const char *line, size_t len, size_t lineno)
{
	const char *p;
	size_t n;
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->line = lineno;
	r->text = malloc(len + 1);
	if (!r->text)
		return ug_error(UG_ENOMEM, "out of memory");
	memcpy(r->text, line, len);
	r->text[len] = '\0';
	p = r->text;
	n = len;
	if (n && p[0] == '!') {
		r->flags |= F_NEGATIVE;
		p++;
		n--;
	}
	if (n && p[n - 1] == '/') {
		r->flags |= F_MUSTBEDIR;
		n--;
	}
	if (!memchr(p, '/', n))
		r->flags |= F_NODIR;
	while (r->prefix < n && !glob_special((unsigned char)p[r->prefix]))
		r->prefix++;
	r->pat = p;
	r->patlen = n;
	if (r->flags & F_NODIR) {
		bool tail_plain = n > 0 && p[0] == '*';

		for (size_t i = 1; i < n && tail_plain; i++)
			tail_plain = !glob_special((unsigned char)p[i]);
		if (tail_plain)
			r->flags |= F_ENDSWITH;
		else if (r->prefix < n)
			err = compile(r, p, n, false);
	} else {
		err = compile(r, p + r->prefix, n - r->prefix, true);
	}
	if (err)
		rule_release(r);
	return err;
}

/*
 * Does r match path (plen bytes; its basename starts at baseoff), which lies
 * inside the folder of r's file (dirlen bytes of path, 0 at the top)?
 */
static int rule_match(const rule *r, const char *path, size_t plen, size_t baseoff,
		      size_t dirlen, bool is_dir)
{
	const char *name;
	size_t nlen, lead, lit;

	if ((r->flags & F_MUSTBEDIR) && !is_dir)
		return 0;
	if (r->flags & F_NEVER)
		return 0;
	if (r->flags & F_NODIR) {
		name = path + baseoff;
		nlen = plen - baseoff;
		if (r->prefix == r->patlen)
			return nlen == r->patlen && !memcmp(name, r->pat, nlen);
		if (r->flags & F_ENDSWITH)
			return nlen >= r->patlen - 1 &&
			       !memcmp(r->pat + 1, name + nlen - (r->patlen - 1), r->patlen - 1);
		return wild_match(r, (const unsigned char *)name, nlen);
	}
	/* anchored: matched against the path below the rule's folder */
	name = path + (dirlen ? dirlen + 1 : 0);
	nlen = plen - (size_t)(name - path);
	lead = r->pat[0] == '/';
	lit = r->prefix - lead;
	if (lit) {
		if (lit > nlen || memcmp(r->pat + lead, name, lit))
			return 0;
		name += lit;
		nlen -= lit;
		if (r->prefix == r->patlen && !nlen)
			return 1;
	}
	return wild_match(r, (const unsigned char *)name, nlen);
}

/* The last rule of l matching path: 1 and *out set, 0 for none, or an error. */
static int list_match(const rulelist *l, const char *path, size_t plen, size_t baseoff,
		      bool is_dir, const rule **out)
{
	for (size_t i = l->count; i-- > 0;) {
		int m = rule_match(&l->rules[i], path, plen, baseoff, l->dirlen, is_dir);

		if (m < 0)
			return m;
		if (m) {
			*out = &l->rules[i];
			return 1;
		}
	}
	return 0;
}

/* ---- rule lists ---- */

static void list_free(rulelist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		rule_release(&l->rules[i]);
	free(l->rules);
	free(l->dir);
	free(l->source);
	free(l);
}

static rulelist *list_new(const char *dir, size_t dirlen, const char *source)
{
	rulelist *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->dir = strndup(dir, dirlen);
	l->dirlen = dirlen;
	l->source = strdup(source);
	if (!l->dir || !l->source) {
		list_free(l);
		return NULL;
	}
	return l;
}

/* Parse a whole rule file into l, as git reads one: a UTF-8 BOM skipped, "\r\n"
 * ends a line too, "#" starts a comment, a NUL ends the line's pattern. */
static int list_parse(rulelist *l, const char *buf, size_t len)
{
	size_t pos = 0, lineno = 0;

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos, n;
		const char *nul;
		rule *p;
		int err;

		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll == 0 || line[0] == '#')
			continue;
		n = ll;
		if (line[n - 1] == '\r')
			n--;
		nul = memchr(line, '\0', n);
		if (nul)
			n = (size_t)(nul - line);
		n = trim_spaces(line, n);
		p = ug_array_grow(l->rules, &l->alloc, l->count + 1, sizeof(*p), 16);
		if (!p)
			return ug_error(UG_ENOMEM, "out of memory");
		l->rules = p;
		if ((err = rule_init(&l->rules[l->count], line, n, lineno)))
			return err;
		l->count++;
	}
	return 0;
}

static int cmp_dir(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* Binary search: the list of folder dir, or the index where it would go. */
static const rulelist *find_dir(const ug_ignore *ig, const char *dir, size_t dirlen, size_t *where)
{
	size_t lo = 0, hi = ig->ndirs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_dir(ig->dirs[mid]->dir, ig->dirs[mid]->dirlen, dir, dirlen);

		if (!c) {
			if (where)
				*where = mid;
			return ig->dirs[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (where)
		*where = lo;
	return NULL;
}

int ug_ignore_add_file(ug_ignore *ig, const char *dir_relpath, const char *buf, size_t len)
{
	size_t dirlen = strlen(dir_relpath), where;
	rulelist *l, **p;
	char *source = NULL;
	int err;

	while (dirlen && dir_relpath[dirlen - 1] == '/')
		dirlen--;
	while (dirlen && dir_relpath[0] == '/') {
		dir_relpath++;
		dirlen--;
	}
	if (len > MAX_FILE_SIZE)
		return ug_error(UG_EINVALID, "%.*s%s.gitignore: over %u bytes, not read", (int)dirlen,
				dir_relpath, dirlen ? "/" : "", MAX_FILE_SIZE);
	l = (rulelist *)find_dir(ig, dir_relpath, dirlen, &where);
	if (!l) {
		if (asprintf(&source, "%.*s%s.gitignore", (int)dirlen, dir_relpath, dirlen ? "/" : "") < 0)
			return ug_error(UG_ENOMEM, "out of memory");
		l = list_new(dir_relpath, dirlen, source);
		free(source);
		if (!l)
			return ug_error(UG_ENOMEM, "out of memory");
		p = ug_array_grow(ig->dirs, &ig->adirs, ig->ndirs + 1, sizeof(*p), 8);
		if (!p) {
			list_free(l);
			return ug_error(UG_ENOMEM, "out of memory");
		}
		ig->dirs = p;
		memmove(ig->dirs + where + 1, ig->dirs + where, (ig->ndirs - where) * sizeof(*ig->dirs));
		ig->dirs[where] = l;
		ig->ndirs++;
	}
	err = list_parse(l, buf, len);
	return err;
}

/* ---- the repository's own files ---- */

/* Load one repository-level file into a new list (*out stays NULL when the
 * file is missing or unreadable; the latter is logged, as git warns). */
static int load_file(rulelist **out, const char *path)
{
	char *buf;
	size_t len;
	int err;

	*out = NULL;
	err = ug_fileio_read(path, MAX_FILE_SIZE, &buf, &len);
	if (err == UG_ENOTFOUND)
		return 0;
	if (err == UG_ENOMEM)
		return err;
	if (err) {
		ug_log(UG_LOG_WARNING, "ignoring exclude file: %s", ug_error_last());
		return 0;
	}
	*out = list_new("", 0, path);
	if (!*out) {
		free(buf);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	err = list_parse(*out, buf, len);
	free(buf);
	if (err) {
		list_free(*out);
		*out = NULL;
	}
	return err;
}

static const char *home_dir(void)
{
	const char *home = getenv("HOME");

	return home && *home ? home : NULL;
}

/* core.excludesFile as git interpolates a path: "~/" and "~user/" expanded,
 * relative names taken from where git runs (the working tree, or the gitdir
 * when bare). NULL in *out when there is none to read. */
static int excludes_path(char **out, ug_repo *repo)
{
	const char *v = NULL, *home, *xdg;
	int r;

	*out = NULL;
	if (ug_config_get(ug_repo_config(repo), "core.excludesfile", &v)) {
		xdg = getenv("XDG_CONFIG_HOME");
		home = home_dir();
		if (xdg && *xdg)
			r = asprintf(out, "%s/git/ignore", xdg);
		else if (home)
			r = asprintf(out, "%s/.config/git/ignore", home);
		else
			return 0;
		return r < 0 ? ug_error(UG_ENOMEM, "out of memory") : 0;
	}
	if (!v) {
		ug_log(UG_LOG_WARNING, "core.excludesFile has no value: not read");
		return 0;
	}
	if (!*v)
		return 0;
	if (v[0] == '~') {
		const char *rest = strchr(v, '/');
		size_t ulen = rest ? (size_t)(rest - v - 1) : strlen(v + 1);

		if (!rest)
			rest = "";
		if (ulen == 0) {
			home = home_dir();
		} else {
			char user[256];
			struct passwd *pw;

			if (ulen >= sizeof(user))
				return 0;
			memcpy(user, v + 1, ulen);
			user[ulen] = '\0';
			pw = getpwnam(user);
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home) {
			ug_log(UG_LOG_WARNING, "core.excludesFile %s: no such home directory", v);
			return 0;
		}
		r = asprintf(out, "%s%s", home, rest);
	} else if (v[0] == '/') {
		r = asprintf(out, "%s", v);
	} else {
		const char *base = ug_repo_workdir(repo) ? ug_repo_workdir(repo) : ug_repo_gitdir(repo);

		r = asprintf(out, "%s/%s", base, v);
	}
	return r < 0 ? ug_error(UG_ENOMEM, "out of memory") : 0;
}

int ug_ignore_new(ug_ignore **out, ug_repo *repo)
{
	ug_ignore *ig = calloc(1, sizeof(*ig));
	char *path = NULL;
	int err = 0;

	*out = NULL;
	if (!ig)
		return ug_error(UG_ENOMEM, "out of memory");
	if (repo) {
		if (asprintf(&path, "%s/info/exclude", ug_repo_commondir(repo)) < 0) {
			err = ug_error(UG_ENOMEM, "out of memory");
			goto done;
		}
		if ((err = load_file(&ig->info, path)))
			goto done;
		free(path);
		path = NULL;
		if ((err = excludes_path(&path, repo)))
			goto done;
		if (path && (err = load_file(&ig->global, path)))
			goto done;
	}
done:
	free(path);
	if (err) {
		ug_ignore_free(ig);
		return err;
	}
	*out = ig;
	return 0;
}

void ug_ignore_free(ug_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->ndirs; i++)
		list_free(ig->dirs[i]);
	free(ig->dirs);
	list_free(ig->info);
	list_free(ig->global);
	free(ig);
}

/* ---- deciding ---- */

/*
 * The rule that decides path (its first plen bytes) by its own rules, not
 * looking at its parents: the .gitignore files from its folder up to the
 * top (deeper first), then info/exclude, then core.excludesFile; in each,
 * the last matching line. 1 with *r and *l set, 0 when none matched.
 */
static int decide(const ug_ignore *ig, const char *path, size_t plen, bool is_dir,
		  const rule **r, const rulelist **l)
{
	size_t baseoff = plen;
	int m;

	while (baseoff > 0 && path[baseoff - 1] != '/')
		baseoff--;
	if (baseoff == plen)
		return 0; /* no name: "" or a trailing slash */
	/* each folder containing path, deepest first; the top last */
	for (size_t end = baseoff; ; ) {
		size_t dirlen = end ? end - 1 : 0;
		const rulelist *dl = find_dir(ig, path, dirlen, NULL);

		if (dl && (m = list_match(dl, path, plen, baseoff, is_dir, r))) {
			*l = dl;
			return m;
		}
		if (!end)
			break;
		end = dirlen;
		while (end > 0 && path[end - 1] != '/')
			end--;
	}
	if (ig->info && (m = list_match(ig->info, path, plen, baseoff, is_dir, r))) {
		*l = ig->info;
		return m;
	}
	if (ig->global && (m = list_match(ig->global, path, plen, baseoff, is_dir, r))) {
		*l = ig->global;
		return m;
	}
	return 0;
}

static void fill(ug_ignore_rule *out, const rule *r, const rulelist *l)
{
	out->source = l->source;
	out->line = r->line;
	out->pattern = r->text;
	out->negative = r->flags & F_NEGATIVE;
}

int ug_ignore_explain(const ug_ignore *ig, const char *relpath, bool is_dir, ug_ignore_rule *out)
{
	size_t plen = strlen(relpath);
	const rulelist *l;
	const rule *r;
	int m;

	/* A folder that is excluded hides everything below it: git does not even
	 * read the rules inside it. */
	for (size_t i = 0; i < plen; i++) {
		if (relpath[i] != '/')
			continue;
		m = decide(ig, relpath, i, true, &r, &l);
		if (m < 0)
			return m;
		if (m && !(r->flags & F_NEGATIVE)) {
			fill(out, r, l);
			return 1;
		}
	}
	if (!plen)
		return 0;
	m = decide(ig, relpath, plen, is_dir, &r, &l);
	if (m > 0)
		fill(out, r, l);
	return m;
}

int ug_ignore_match(const ug_ignore *ig, const char *relpath, bool is_dir)
{
	ug_ignore_rule r;
	int m = ug_ignore_explain(ig, relpath, is_dir, &r);

	return m > 0 ? !r.negative : m;
}

int ug_ignore_match_entry(const ug_ignore *ig, const char *relpath, bool is_dir)
{
	const rulelist *l;
	const rule *r;
	size_t plen = strlen(relpath);
	int m;

	if (!plen)
		return 0;
	m = decide(ig, relpath, plen, is_dir, &r, &l);
	return m > 0 ? !(r->flags & F_NEGATIVE) : m;
}
