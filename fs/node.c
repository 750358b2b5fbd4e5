/* The node table: node ids the kernel holds, found by id and by (parent, name), counted per libfuse. */
#include "fs_internal.h"

#include "array.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The top level is fixed: these nodes exist for the whole mount. */
static const struct {
	fuse_ino_t ino;
	const char *name;
	enum kind kind;
	enum ns ns;
} fixed[] = {
	{ INO_ROOT, "", K_ROOT, 0 },
	{ INO_HEAD, "HEAD", K_HEAD, 0 },
	{ INO_BRANCHES, "branches", K_REFDIR, NS_HEADS },
	{ INO_TAGS, "tags", K_REFDIR, NS_TAGS },
	{ INO_COMMITS, "commits", K_COMMITS, 0 },
	{ INO_LOG, "log", K_REFDIR, NS_LOG },
	{ INO_VERSIONS, "versions", K_REFDIR, NS_VERSIONS },
	{ INO_WORK, "work", K_WORK, 0 },
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static size_t ino_slot(const struct fs *fs, fuse_ino_t ino)
{
	return mix(ino) & (fs->buckets - 1);
}

static size_t name_slot(const struct fs *fs, fuse_ino_t parent, const char *name)
{
	return mix(str_hash(name, parent)) & (fs->buckets - 1);
}

static void link_node(struct fs *fs, struct node *n)
{
	size_t i = ino_slot(fs, n->ino), j = name_slot(fs, n->parent, n->name);

	n->next_ino = fs->by_ino[i];
	fs->by_ino[i] = n;
	n->next_name = fs->by_name[j];
	fs->by_name[j] = n;
}

/* Double the buckets when the table is full; on allocation failure keep going with long chains. */
static void grow(struct fs *fs)
{
	size_t old = fs->buckets;
	struct node **oi = fs->by_ino, **on = fs->by_name;
	struct node **ni = calloc(old * 2, sizeof(*ni)), **nn = calloc(old * 2, sizeof(*nn));

	if (!ni || !nn) {
		free(ni);
		free(nn);
		return;
	}
	fs->by_ino = ni;
	fs->by_name = nn;
	fs->buckets = old * 2;
	for (size_t i = 0; i < old; i++) {
		for (struct node *n = oi[i], *next; n; n = next) {
			next = n->next_ino;
			link_node(fs, n);
		}
	}
	free(oi);
	free(on);
}

static struct node *new_node(fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->ino = ino;
	n->parent = parent;
	return n;
}

static void free_node(struct node *n)
{
	free(n->name);
	free(n->ref);
	free(n->path);
	free(n);
}

int node_table_init(struct fs *fs)
{
	pthread_mutex_init(&fs->table_lock, NULL);
	fs->buckets = 1024;
	fs->by_ino = calloc(fs->buckets, sizeof(*fs->by_ino));
	fs->by_name = calloc(fs->buckets, sizeof(*fs->by_name));
	if (!fs->by_ino || !fs->by_name)
		return -ENOMEM;
	fs->next_ino = FIRST_DYNAMIC;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct node *n = new_node(fixed[i].ino, fixed[i].ino == INO_ROOT ? 0 : INO_ROOT, fixed[i].name);

		if (!n)
			return -ENOMEM;
		n->kind = fixed[i].kind;
		n->ns = fixed[i].ns;
		n->ref = strdup("");
		if (!n->ref) {
			free_node(n);
			return -ENOMEM;
		}
		n->nlookup = 1; /* never forgotten */
		link_node(fs, n);
		fs->nnodes++;
	}
	return 0;
}

void node_table_free(struct fs *fs)
{
	for (size_t i = 0; fs->by_ino && i < fs->buckets; i++) {
		for (struct node *n = fs->by_ino[i], *next; n; n = next) {
			next = n->next_ino;
			free_node(n);
		}
	}
	free(fs->by_ino);
	free(fs->by_name);
	fs->by_ino = fs->by_name = NULL;
	pthread_mutex_destroy(&fs->table_lock);
}

static struct node *find_ino(struct fs *fs, fuse_ino_t ino)
{
	for (struct node *n = fs->by_ino[ino_slot(fs, ino)]; n; n = n->next_ino)
		if (n->ino == ino)
			return n;
	return NULL;
}

struct node *node_get(struct fs *fs, fuse_ino_t ino)
{
	struct node *n;

	pthread_mutex_lock(&fs->table_lock);
	n = find_ino(fs, ino);
	pthread_mutex_unlock(&fs->table_lock);
	return n;
}

/* A snapshot folder knows its commit and path, for its last-change times;
 * a versions/ node its path in the branch's tree. */
static int snapshot_path(struct node *n, const struct node *parent, const struct child *c)
{
	if (c->kind == K_COMMIT) {
		n->snap = c->oid;
		n->path = strdup("");
	} else if ((c->kind == K_TREE || c->kind == K_VTREE || c->kind == K_VFILE) && parent->path) {
		n->snap = parent->snap;
		if (asprintf(&n->path, "%s%s%s", parent->path, *parent->path ? "/" : "", c->name) < 0)
			n->path = NULL;
	} else if (c->kind == K_VBRANCH) {
		n->path = strdup("");
	} else if (c->kind == K_VENTRY && parent->path) {
		n->path = strdup(parent->path);
	} else {
		return 0;
	}
	return n->path ? 0 : -ENOMEM;
}

struct node *node_child(struct fs *fs, struct node *parent, const struct child *c)
{
	struct node *n;

	pthread_mutex_lock(&fs->table_lock);
	for (n = fs->by_name[name_slot(fs, parent->ino, c->name)]; n; n = n->next_name) {
		/* A ref may now name something else under the same name: then the old
		 * node stays for the kernel's sake and a new one takes the name. */
		if (n->parent == parent->ino && !strcmp(n->name, c->name) && n->kind == c->kind &&
		    ug_oid_equal(&n->oid, &c->oid) && n->mode == c->mode)
			break;
	}
	if (!n) {
		n = new_node(fs->next_ino, parent->ino, c->name);
		if (n && ((c->ref && !(n->ref = strdup(c->ref))) || snapshot_path(n, parent, c))) {
			free_node(n);
			n = NULL;
		}
		if (!n) {
			pthread_mutex_unlock(&fs->table_lock);
			return NULL;
		}
		fs->next_ino++;
		n->kind = c->kind;
		n->ns = c->ns;
		n->mode = c->mode;
		n->oid = c->oid;
		n->tree = c->tree;
		n->time = c->time;
		n->size = c->size;
		n->depth = c->depth;
		if (fs->nnodes >= fs->buckets)
			grow(fs);
		link_node(fs, n);
		fs->nnodes++;
	}
	n->nlookup++;
	pthread_mutex_unlock(&fs->table_lock);
	return n;
}

static void unlink_node(struct fs *fs, struct node *n)
{
	struct node **p;

	for (p = &fs->by_ino[ino_slot(fs, n->ino)]; *p != n; p = &(*p)->next_ino)
		;
	*p = n->next_ino;
	for (p = &fs->by_name[name_slot(fs, n->parent, n->name)]; *p != n; p = &(*p)->next_name)
		;
	*p = n->next_name;
}

bool node_forget(struct fs *fs, fuse_ino_t ino, uint64_t count)
{
	struct node *n;
	bool orphan = false;

	if (ino < FIRST_DYNAMIC)
		return false;
	pthread_mutex_lock(&fs->table_lock);
	n = find_ino(fs, ino);
	if (n) {
		n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
		if (n->nlookup == 0) {
			orphan = n->orphan;
			unlink_node(fs, n);
			fs->nnodes--;
			free_node(n);
		}
	}
	pthread_mutex_unlock(&fs->table_lock);
	return orphan;
}

void node_foreach(struct fs *fs, unsigned mask, void (*fn)(struct node *, void *), void *arg)
{
	pthread_mutex_lock(&fs->table_lock);
	for (size_t i = 0; i < fs->buckets; i++)
		for (struct node *n = fs->by_ino[i]; n; n = n->next_ino)
			if (mask & (1u << n->kind))
				fn(n, arg);
	pthread_mutex_unlock(&fs->table_lock);
}

/* The path of a work/ node below work/ ("" for work/ itself), built from its
 * parents; NULL for a node that was unlinked, or without memory. */
char *node_path(struct fs *fs, fuse_ino_t ino)
{
	const struct node **chain = NULL, **c;
	size_t depth = 0, cap = 0, len = 0;
	char *out = NULL, *p;

	pthread_mutex_lock(&fs->table_lock);
	for (const struct node *n = find_ino(fs, ino); n && n->ino != INO_WORK; n = find_ino(fs, n->parent)) {
		if (n->kind != K_WNODE || !n->parent)
			goto out; /* unlinked, or not under work/ */
		if (!(c = ug_array_grow(chain, &cap, depth + 1, sizeof(*c), 16)))
			goto out;
		chain = c;
		chain[depth++] = n;
		len += strlen(n->name) + 1;
	}
	out = p = malloc(len + 1);
	for (size_t i = depth; out && i-- > 0;)
		p += sprintf(p, "%s%s", chain[i]->name, i ? "/" : "");
	if (out)
		*p = '\0';
out:
	pthread_mutex_unlock(&fs->table_lock);
	free(chain);
	return out;
}

static struct node *find_name(struct fs *fs, fuse_ino_t parent, const char *name)
{
	for (struct node *n = fs->by_name[name_slot(fs, parent, name)]; n; n = n->next_name)
		if (n->parent == parent && !strcmp(n->name, name))
			return n;
	return NULL;
}

static void unlink_name(struct fs *fs, struct node *n)
{
	struct node **p = &fs->by_name[name_slot(fs, n->parent, n->name)];

	while (*p != n)
		p = &(*p)->next_name;
	*p = n->next_name;
}

fuse_ino_t node_find_sized(struct fs *fs, fuse_ino_t parent, const char *name, uint64_t *size)
{
	struct node *n;
	fuse_ino_t ino;

	pthread_mutex_lock(&fs->table_lock);
	n = find_name(fs, parent, name);
	ino = n ? n->ino : 0;
	*size = n ? n->size : 0;
	pthread_mutex_unlock(&fs->table_lock);
	return ino;
}

fuse_ino_t node_find(struct fs *fs, fuse_ino_t parent, const char *name)
{
	uint64_t size;

	return node_find_sized(fs, parent, name, &size);
}

void node_detach(struct fs *fs, fuse_ino_t parent, const char *name, bool orphan)
{
	struct node *n;

	pthread_mutex_lock(&fs->table_lock);
	n = find_name(fs, parent, name);
	if (n && n->ino >= FIRST_DYNAMIC) {
		/* it lives on (by id) while the kernel holds it, under no name */
		unlink_name(fs, n);
		n->parent = 0;
		n->name[0] = '\0';
		n->orphan |= orphan;
		n->next_name = fs->by_name[name_slot(fs, 0, "")];
		fs->by_name[name_slot(fs, 0, "")] = n;
	}
	pthread_mutex_unlock(&fs->table_lock);
}

int node_move(struct fs *fs, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname)
{
	struct node *n;
	char *copy = strdup(newname);

	if (!copy)
		return -ENOMEM;
	node_detach(fs, newparent, newname, false);
	pthread_mutex_lock(&fs->table_lock);
	n = find_name(fs, parent, name);
	if (n) {
		unlink_name(fs, n);
		free(n->name);
		n->name = copy;
		n->parent = newparent;
		n->next_name = fs->by_name[name_slot(fs, newparent, newname)];
		fs->by_name[name_slot(fs, newparent, newname)] = n;
		copy = NULL;
	}
	pthread_mutex_unlock(&fs->table_lock);
	free(copy);
	return 0;
}
