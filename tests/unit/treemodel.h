/* A flat model of a tree's files for tests (path, mode, id), turned into a real tree by git's index. */
#ifndef UG_TEST_TREEMODEL_H
#define UG_TEST_TREEMODEL_H

#include "gitutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *path;
	unsigned mode;
	char id[65];
} mentry;

typedef struct {
	mentry *v;
	size_t n, alloc;
} model;

static inline void model_free(model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Is a equal to b or below the folder b? */
static inline bool path_at_or_under(const char *a, const char *b)
{
	size_t bl = strlen(b);

	return !strncmp(a, b, bl) && (a[bl] == '\0' || a[bl] == '/');
}

/* Remove path and everything under it. */
static inline void model_remove(model *m, const char *path)
{
	size_t kept = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (path_at_or_under(m->v[i].path, path))
			free(m->v[i].path);
		else
			m->v[kept++] = m->v[i];
	}
	m->n = kept;
}

/* Put a file at path: whatever is at path or under it goes, and so does a
 * file at any of its parent folders. */
static inline void model_set(model *m, const char *path, unsigned mode, const char *id)
{
	size_t kept = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (path_at_or_under(m->v[i].path, path) || path_at_or_under(path, m->v[i].path))
			free(m->v[i].path);
		else
			m->v[kept++] = m->v[i];
	}
	m->n = kept;
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 32;
		m->v = realloc(m->v, m->alloc * sizeof(*m->v));
		if (!m->v)
			abort();
	}
	m->v[m->n].path = strdup(path);
	m->v[m->n].mode = mode;
	snprintf(m->v[m->n].id, sizeof(m->v[m->n].id), "%s", id);
	m->n++;
}

static inline void model_copy(model *dst, const model *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		model_set(dst, src->v[i].path, src->v[i].mode, src->v[i].id);
}

/* A file depth folders deep: "l0/l1/.../leaf". */
static inline void deep_path(char *out, size_t outsz, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(out + n, outsz - n, "l%d/", i);
	snprintf(out + n, outsz - n, "leaf");
}

/* A start of every kind: a file, an executable, a symlink, a submodule, and a
 * folder d with files and a subfolder e; the i-th of them is blobs[i]. */
static inline void model_every_kind(model *m, char (*blobs)[65])
{
	static const struct {
		const char *path;
		unsigned mode;
	} kinds[] = {
		{ "a.txt", 0100644 }, { "exe", 0100755 }, { "link", 0120000 }, { "sub", 0160000 },
		{ "d/x", 0100644 }, { "d/y", 0100644 }, { "d/e/f", 0100644 },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		model_set(m, kinds[i].path, kinds[i].mode, blobs[i]);
}

/* The id of the tree holding exactly m, as git's index writes it (hex,
 * malloc'ed), or NULL. tmp is a scratch folder. */
static inline char *model_tree(const model *m, const char *repo, const char *tmp)
{
	char *list, *idx, *out;
	size_t len;
	FILE *f;

	if (asprintf(&list, "%s/index-info", tmp) < 0 || asprintf(&idx, "%s/model-index", tmp) < 0)
		return NULL;
	f = fopen(list, "w");
	if (!f)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		fprintf(f, "%o %s\t%s\n", m->v[i].mode, m->v[i].id, m->v[i].path);
	fclose(f);
	out = sh_out(&len, "cd '%s' && rm -f '%s' && GIT_INDEX_FILE='%s' git update-index --add --index-info < '%s'"
		     " && GIT_INDEX_FILE='%s' git write-tree", repo, idx, idx, list, idx);
	free(list);
	free(idx);
	if (out && len && out[len - 1] == '\n')
		out[len - 1] = '\0';
	return out;
}

/* Write n blobs "blob-<tag>-<i>" into repo (one git process); their ids in ids[i] (hex). */
static inline int make_blobs(const char *repo, const char *tmp, const char *tag, size_t n, char (*ids)[65])
{
	char *out, *p;
	size_t len;

	if (sh("cd '%s' && for i in $(seq 0 %zu); do printf 'blob-%s-%%s' $i > blob$i; done", tmp, n - 1, tag))
		return -1;
	out = sh_out(&len, "cd '%s' && git hash-object -w $(seq -f '%s/blob%%.0f' 0 %zu)", repo, tmp, n - 1);
	if (!out)
		return -1;
	p = out;
	for (size_t i = 0; i < n; i++) {
		char *nl = strchr(p, '\n');

		if (!nl || (size_t)(nl - p) >= 65) {
			free(out);
			return -1;
		}
		memcpy(ids[i], p, (size_t)(nl - p));
		ids[i][nl - p] = '\0';
		p = nl + 1;
	}
	free(out);
	return 0;
}

#endif
