/* A reader of git config files: sections, subsections, quoting, escapes, continuations, bools. */
#include "config.h"

#include "array.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * What is left out on purpose: [include] and [includeIf] are read as ordinary
 * keys and not followed (ugitfs needs a handful of keys, never from included
 * files); values are not interpolated (no "~/" expansion).
 */

/* Config files beyond this are refused rather than read into memory. */
#define MAX_CONFIG_FILE (16u << 20)

typedef struct {
	char *key;   /* canonical: lowercase section, exact subsection, lowercase name */
	char *value; /* NULL for a key without "=" */
} entry;

struct ug_config {
	entry *entries;
	size_t count, alloc;
};

int ug_config_new(ug_config **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : ug_error(UG_ENOMEM, "out of memory");
}

void ug_config_free(ug_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->count; i++) {
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg);
}

/* A growable byte string for the parser. */
typedef struct {
	char *buf;
	size_t len, alloc;
} sbuf;

static int sb_add(sbuf *sb, char c)
{
	char *p = ug_array_grow(sb->buf, &sb->alloc, sb->len + 2, 1, 64);

	if (!p)
		return ug_error(UG_ENOMEM, "out of memory");
	sb->buf = p;
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
	return 0;
}

static char *sb_dup(const sbuf *sb)
{
	char *p = malloc(sb->len + 1);

	if (p) {
		if (sb->len)
			memcpy(p, sb->buf, sb->len);
		p[sb->len] = '\0';
	}
	return p;
}

/* The parser's cursor. get() returns the next char, folding "\r\n" into '\n'
 * and reporting the end of input as a '\n' (with eof set), as git does, so
 * the last line needs no newline. */
typedef struct {
	const char *buf;
	size_t len, pos;
	int line;
	int eof;
	const char *origin;
} cursor;

static int get(cursor *c)
{
	int ch;

	if (c->pos >= c->len) {
		c->eof = 1;
		return '\n';
	}
	ch = (unsigned char)c->buf[c->pos++];
	if (ch == '\r' && c->pos < c->len && c->buf[c->pos] == '\n')
		ch = (unsigned char)c->buf[c->pos++];
	if (ch == '\n')
		c->line++;
	return ch;
}

static int iskeychar(int ch)
{
	return isalnum(ch) || ch == '-';
}

static int corrupt(cursor *c, int line, const char *what)
{
	return ug_error(UG_ECORRUPT, "%s:%d: bad config line (%s)", c->origin, line, what);
}

static int add_entry(ug_config *cfg, const sbuf *key, const sbuf *value, int has_value)
{
	entry e, *p = ug_array_grow(cfg->entries, &cfg->alloc, cfg->count + 1, sizeof(*p), 32);

	if (!p)
		return ug_error(UG_ENOMEM, "out of memory");
	cfg->entries = p;
	e.key = sb_dup(key);
	e.value = has_value ? sb_dup(value) : NULL;
	if (!e.key || (has_value && !e.value)) {
		free(e.key);
		free(e.value);
		return ug_error(UG_ENOMEM, "out of memory");
	}
	cfg->entries[cfg->count++] = e;
	return 0;
}

/* After '[': read "name]", "name.sub]" (old syntax, sub lowercased) or
 * 'name "sub"]' into sec as the canonical "name" or "name.sub" prefix. */
static int parse_section(cursor *c, sbuf *sec)
{
	int line = c->line, ch;

	sec->len = 0;
	for (;;) {
		ch = get(c);
		if (c->eof || ch == '\n')
			return corrupt(c, line, "unterminated section header");
		if (ch == ']')
			break;
		if (isspace(ch))
			goto subsection;
		if (!iskeychar(ch) && ch != '.')
			return corrupt(c, line, "bad character in section name");
		if (sb_add(sec, (char)tolower(ch)))
			return UG_ENOMEM;
	}
	if (sec->len == 0)
		return corrupt(c, line, "empty section name");
	return 0;

subsection:
	if (sec->len == 0)
		return corrupt(c, line, "empty section name");
	do
		ch = get(c);
	while (!c->eof && ch != '\n' && isspace(ch));
	if (ch != '"')
		return corrupt(c, line, "expected a quoted subsection");
	if (sb_add(sec, '.'))
		return UG_ENOMEM;
	for (;;) {
		ch = get(c);
		if (c->eof || ch == '\n')
			return corrupt(c, line, "unterminated subsection");
		if (ch == '"')
			break;
		if (ch == '\\') {
			ch = get(c);
			if (c->eof || ch == '\n')
				return corrupt(c, line, "unterminated subsection");
		}
		if (sb_add(sec, (char)ch))
			return UG_ENOMEM;
	}
	if (get(c) != ']')
		return corrupt(c, line, "expected ']' after the subsection");
	return 0;
}

/* The value after '=': quotes toggle, # and ; start a comment outside them,
 * whitespace outside quotes is trimmed at both ends and kept inside, escapes
 * \n \t \b \\ \" and a backslash-newline continuation. */
static int parse_value(cursor *c, sbuf *val)
{
	int line = c->line, quoted = 0, comment = 0, ch;
	size_t spaces = 0;

	val->len = 0;
	for (;;) {
		ch = get(c);
		if (ch == '\n') {
			if (quoted)
				return corrupt(c, line, "unterminated quote");
			return 0;
		}
		if (comment)
			continue;
		if (!quoted && isspace(ch)) {
			if (val->len)
				spaces++; /* kept only if more value follows */
			continue;
		}
		if (!quoted && (ch == '#' || ch == ';')) {
			comment = 1;
			continue;
		}
		for (; spaces; spaces--)
			if (sb_add(val, ' '))
				return UG_ENOMEM;
		if (ch == '"') {
			quoted = !quoted;
			continue;
		}
		if (ch == '\\') {
			ch = get(c); /* at the end of the file: '\n', a continuation to nothing, as in git */
			switch (ch) {
			case '\n': continue;
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'b': ch = '\b'; break;
			case '\\': case '"': break;
			default: return corrupt(c, line, "unknown escape");
			}
		}
		if (sb_add(val, (char)ch))
			return UG_ENOMEM;
	}
}

int ug_config_add_buf(ug_config *cfg, const char *buf, size_t len, const char *origin)
{
	cursor c = { buf, len, 0, 1, 0, origin ? origin : "config" };
	sbuf sec = { 0 }, key = { 0 }, val = { 0 };
	int err = 0, ch;

	/* A UTF-8 byte order mark is allowed before anything else. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		c.pos = 3;
	for (;;) {
		int line = c.line;

		ch = get(&c);
		if (c.eof)
			break;
		if (ch == '\n' || isspace(ch))
			continue;
		if (ch == '#' || ch == ';') {
			while (get(&c) != '\n')
				;
			continue;
		}
		if (ch == '[') {
			if ((err = parse_section(&c, &sec)))
				break;
			continue;
		}
		if (!isalpha(ch)) {
			err = corrupt(&c, line, "expected a key name");
			break;
		}
		if (sec.len == 0) {
			err = corrupt(&c, line, "key before any section");
			break;
		}
		/* key = "section[.sub]" + "." + lowercase name */
		key.len = 0;
		for (size_t i = 0; i < sec.len && !err; i++)
			err = sb_add(&key, sec.buf[i]);
		if (!err)
			err = sb_add(&key, '.');
		while (!err && iskeychar(ch)) {
			err = sb_add(&key, (char)tolower(ch));
			ch = get(&c);
		}
		if (err)
			break;
		while (ch == ' ' || ch == '\t')
			ch = get(&c);
		if (ch == '\n') {
			if ((err = add_entry(cfg, &key, NULL, 0)))
				break;
			continue;
		}
		/* as in git, even a comment needs the "=" first */
		if (ch != '=') {
			err = corrupt(&c, line, "bad character in key name");
			break;
		}
		if ((err = parse_value(&c, &val)))
			break;
		if ((err = add_entry(cfg, &key, &val, 1)))
			break;
	}
	free(sec.buf);
	free(key.buf);
	free(val.buf);
	return err;
}

/* Read all of fd into a new buffer (*buf, malloc'ed; *len bytes), refusing
 * more than MAX_CONFIG_FILE. Reads to the end rather than trusting st_size, so
 * a character device (/dev/null) or a pipe reads as git reads it: a stream. */
static int read_stream(int fd, const char *path, char **buf, size_t *len)
{
	size_t alloc = 4096, got = 0;
	char *b = malloc(alloc), *nb;

	*buf = NULL;
	*len = 0;
	if (!b)
		return ug_error(UG_ENOMEM, "out of memory");
	for (;;) {
		ssize_t n;

		if (got == alloc) {
			if (alloc > MAX_CONFIG_FILE) {
				free(b);
				return ug_error(UG_ECORRUPT, "%s: not a config file (over %u bytes)", path,
						MAX_CONFIG_FILE);
			}
			nb = realloc(b, alloc * 2);
			if (!nb) {
				free(b);
				return ug_error(UG_ENOMEM, "out of memory");
			}
			b = nb;
			alloc *= 2;
		}
		n = read(fd, b + got, alloc - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = ug_error_os(UG_ERROR, "%s", path);

			free(b);
			return err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > MAX_CONFIG_FILE) {
		free(b);
		return ug_error(UG_ECORRUPT, "%s: not a config file (over %u bytes)", path, MAX_CONFIG_FILE);
	}
	*buf = b;
	*len = got;
	return 0;
}

int ug_config_add_file(ug_config *cfg, const char *path)
{
	struct stat st;
	char *buf;
	size_t got;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return ug_error_os(UG_ERROR, "%s", path);
	}
	if (fstat(fd, &st) < 0) {
		err = ug_error_os(UG_ERROR, "%s", path);
		close(fd);
		return err;
	}
	if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && (uint64_t)st.st_size > MAX_CONFIG_FILE)) {
		close(fd);
		return ug_error(UG_ECORRUPT, "%s: not a config file (a folder, or over %u bytes)", path,
				MAX_CONFIG_FILE);
	}
	err = read_stream(fd, path, &buf, &got);
	close(fd);
	if (err)
		return err;
	err = ug_config_add_buf(cfg, buf, got, path);
	free(buf);
	return err;
}

/* Canonicalize "Section.Sub.Name": lowercase the part before the first dot
 * and after the last one. Newly malloc'ed; NULL if key has no dot. */
static char *canonical(const char *key)
{
	const char *first = strchr(key, '.'), *last = strrchr(key, '.');
	size_t len = strlen(key);
	char *k;

	if (!first || first == key || last[1] == '\0')
		return NULL;
	k = malloc(len + 1);
	if (!k)
		return NULL;
	for (size_t i = 0; i <= len; i++) {
		const char *p = key + i;

		k[i] = (p < first || p > last) ? (char)tolower((unsigned char)*p) : *p;
	}
	return k;
}

int ug_config_get(ug_config *cfg, const char *key, const char **value)
{
	char *k = canonical(key);

	if (!k)
		return ug_error(UG_EINVALID, "bad config key '%s'", key);
	for (size_t i = cfg->count; i-- > 0;) {
		if (!strcmp(cfg->entries[i].key, k)) {
			free(k);
			*value = cfg->entries[i].value;
			return 0;
		}
	}
	free(k);
	return ug_error(UG_ENOTFOUND, "config key '%s' not set", key);
}

/* Parse an integer with an optional k/m/g suffix, as git does. */
static int parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end)
		return -1;
	if (v > INT64_MAX / mul || v < INT64_MIN / mul)
		return -1;
	*out = (int64_t)v * mul;
	return 0;
}

int ug_config_get_int(ug_config *cfg, const char *key, int64_t *value)
{
	const char *v;
	int err = ug_config_get(cfg, key, &v);

	if (err)
		return err;
	if (parse_int(v, value))
		return ug_error(UG_EINVALID, "config %s: bad integer '%s'", key, v ? v : "");
	return 0;
}

int ug_config_get_bool(ug_config *cfg, const char *key, bool *value)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char *v;
	int64_t n;
	int err = ug_config_get(cfg, key, &v);

	if (err)
		return err;
	if (!v) {
		*value = true; /* "[core] bare" alone means true */
		return 0;
	}
	if (!*v) {
		*value = false;
		return 0;
	}
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(v, yes[i])) {
			*value = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*value = false;
			return 0;
		}
	}
	if (!parse_int(v, &n)) {
		*value = n != 0;
		return 0;
	}
	return ug_error(UG_EINVALID, "config %s: bad boolean '%s'", key, v);
}
