/* Ref snapshots: an immutable view of HEAD, branches and tags, replaced when inotify sees refs change. */
#include "fs_internal.h"
#include "work.h"

#include "array.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "tag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static void snap_free(struct refsnap *s)
{
	if (!s)
		return;
	ug_ref_list_release(&s->heads);
	ug_ref_list_release(&s->tags);
	free(s->head_target);
	free(s);
}

/* Symbolic refs among branches and tags show what they resolve to; one that
 * resolves to nothing (a loop, a missing target) is left out, with a log line. */
static void resolve_symbolic(ug_refdb *db, ug_ref_list *l)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->count; i++) {
		ug_ref *r = &l->refs[i];

		if (r->target) {
			if (ug_refs_resolve(db, r->name, &r->oid, NULL)) {
				ug_log(UG_LOG_WARNING, "ref %s: %s", r->name, ug_error_last());
				ug_ref_release(r);
				continue;
			}
			r->peeled_known = false;
		}
		l->refs[kept++] = *r;
	}
	l->count = kept;
}

static struct refsnap *snap_read(struct fs *fs)
{
	ug_refdb *db = ug_repo_refdb(fs->repo);
	struct refsnap *s = calloc(1, sizeof(*s));
	ug_ref head;

	if (!s)
		return NULL;
	s->refcount = 1;
	s->loaded = time(NULL);
	if (ug_refs_list(db, "refs/heads/", &s->heads) || ug_refs_list(db, "refs/tags/", &s->tags)) {
		ug_log(UG_LOG_ERROR, "cannot list refs: %s", ug_error_last());
		ug_ref_list_release(&s->heads);
		ug_ref_list_release(&s->tags);
	}
	resolve_symbolic(db, &s->heads);
	resolve_symbolic(db, &s->tags);
	if (ug_refs_read(db, "HEAD", &head) == 0) {
		if (head.target)
			s->head_target = strdup(head.target);
		ug_ref_release(&head);
	}
	s->head_valid = ug_refs_resolve(db, "HEAD", &s->head_oid, NULL) == 0;
	return s;
}

static bool lists_equal(const ug_ref_list *a, const ug_ref_list *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->refs[i].name, b->refs[i].name) || !ug_oid_equal(&a->refs[i].oid, &b->refs[i].oid))
			return false;
	return true;
}

static bool snaps_equal(const struct refsnap *a, const struct refsnap *b)
{
	if (!a || !b)
		return false;
	if (!a->head_target != !b->head_target || a->head_valid != b->head_valid)
		return false;
	if (a->head_target && strcmp(a->head_target, b->head_target))
		return false;
	if (a->head_valid && !ug_oid_equal(&a->head_oid, &b->head_oid))
		return false;
	return lists_equal(&a->heads, &b->heads) && lists_equal(&a->tags, &b->tags);
}

struct refsnap *refsnap_get(struct fs *fs)
{
	struct refsnap *s;

	pthread_mutex_lock(&fs->snap_lock);
	s = fs->snap;
	s->refcount++;
	pthread_mutex_unlock(&fs->snap_lock);
	return s;
}

void refsnap_put(struct fs *fs, struct refsnap *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&fs->snap_lock);
	last = --s->refcount == 0;
	pthread_mutex_unlock(&fs->snap_lock);
	if (last)
		snap_free(s);
}

int refsnap_load(struct fs *fs)
{
	struct refsnap *s = snap_read(fs);

	if (!s)
		return UG_ENOMEM;
	pthread_mutex_lock(&fs->snap_lock);
	s->generation = 1;
	fs->snap = s;
	pthread_mutex_unlock(&fs->snap_lock);
	return 0;
}

int refsnap_peel(struct fs *fs, const ug_ref *ref, ug_oid *out)
{
	ug_otype type;
	int err;

	if (ref->peeled_known) {
		*out = ref->peeled;
		err = ug_odb_read_header(ug_repo_odb(fs->repo), out, &type, &(size_t){ 0 });
	} else {
		err = ug_tag_peel(fs->repo, &ref->oid, out, &type);
	}
	if (err)
		return err;
	return type == UG_OBJ_COMMIT ? 0 : UG_ENOTFOUND;
}

/* Invalidation: what the kernel caches of ref-dependent nodes is dropped after a change. */
struct stale {
	fuse_ino_t ino, parent;
	enum kind kind;
	char *name;
};

struct stale_list {
	struct stale *v;
	size_t n, cap;
};

static void collect(struct node *n, void *arg)
{
	struct stale_list *l = arg;
	struct stale *v = ug_array_grow(l->v, &l->cap, l->n + 1, sizeof(*v), 64);

	if (!v)
		return;
	l->v = v;
	l->v[l->n].name = strdup(n->name);
	if (!l->v[l->n].name)
		return;
	l->v[l->n].ino = n->ino;
	l->v[l->n].parent = n->parent;
	l->v[l->n].kind = n->kind;
	l->n++;
}

/* Called with no lock held: the kernel may call back into the filesystem. */
static void invalidate_refs(struct fs *fs)
{
	struct stale_list l = { 0 };
	unsigned mask = 1u << K_HEAD | 1u << K_REFDIR | 1u << K_REFLINK | 1u << K_LOGBRANCH |
			1u << K_LOGENTRY | 1u << K_ROOT | 1u << K_VBRANCH | 1u << K_VTREE | 1u << K_VFILE |
			1u << K_VENTRY;

	node_foreach(fs, mask, collect, &l);
	for (size_t i = 0; i < l.n; i++) {
		struct stale *s = &l.v[i];

		if (s->ino >= FIRST_DYNAMIC)
			fuse_lowlevel_notify_inval_entry(fs->se, s->parent, s->name, strlen(s->name));
		if (s->kind != K_LOGENTRY)
			fuse_lowlevel_notify_inval_inode(fs->se, s->ino, 0, 0);
		free(s->name);
	}
	free(l.v);
}

/* Re-read the refs; if anything changed, publish and invalidate. */
static void reload(struct fs *fs)
{
	struct refsnap *s = snap_read(fs), *old;
	/* a fetch that deepens (or unshallows) a shallow clone rewrites shallow:
	 * the same refs then have longer histories */
	int deepened = ug_repo_refresh_shallow(fs->repo);
	bool same;

	if (deepened < 0)
		ug_log(UG_LOG_WARNING, "%s", ug_error_last());
	if (deepened > 0)
		logcache_forget(fs->logs);
	if (!s)
		return;
	pthread_mutex_lock(&fs->snap_lock);
	old = fs->snap;
	same = snaps_equal(old, s) && deepened <= 0;
	if (!same) {
		s->generation = old->generation + 1;
		fs->snap = s;
	}
	pthread_mutex_unlock(&fs->snap_lock);
	if (same) {
		snap_free(s);
		return;
	}
	refsnap_put(fs, old);
	if (fs->se)
		invalidate_refs(fs);
	work_ref_changed(fs);
}

/* The watcher: inotify on the ref directories, a poll fallback when that fails. */
enum { MAX_WATCHES = 8192 };

struct watcher {
	int fd;
	int count;
	bool failed; /* a watch could not be added: poll every second instead */
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void add_watch(struct watcher *w, const char *dir)
{
	uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
			IN_DELETE_SELF | IN_ONLYDIR;

	if (w->count >= MAX_WATCHES || inotify_add_watch(w->fd, dir, mask) < 0) {
		if (errno != ENOENT && !w->failed) {
			ug_log(UG_LOG_WARNING, "cannot watch %s (%s): checking refs every second",
			       dir, strerror(errno));
			w->failed = true;
		}
		return;
	}
	w->count++;
}

/* Folders still to watch: a stack of paths. */
struct to_watch {
	const char *dir;        /* the folder being read */
	char **stack;
	size_t n, cap;
};

/* Push a subfolder of the folder being read (hidden ones are no refs). */
static int push_subfolder(void *arg, int dirfd, const char *name, unsigned char type)
{
	struct to_watch *t = arg;
	char path[PATH_MAX], **s;

	(void)dirfd;
	if (type != DT_DIR || name[0] == '.')
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", t->dir, name) >= (int)sizeof(path))
		return 0;
	if (!(s = ug_array_grow(t->stack, &t->cap, t->n + 1, sizeof(*s), 16)))
		return 1; /* out of memory: watch what is known */
	t->stack = s;
	if ((t->stack[t->n] = strdup(path)))
		t->n++;
	return 0;
}

/* Watch dir and every folder below it, iteratively (a ref tree's depth is not ours to trust). */
static void add_tree(struct watcher *w, const char *root)
{
	struct to_watch t = { .cap = 16 };

	t.stack = malloc(t.cap * sizeof(*t.stack));
	if (!t.stack || !(t.stack[t.n++] = strdup(root))) {
		free(t.stack);
		return;
	}
	while (t.n > 0) {
		char *dir = t.stack[--t.n];

		add_watch(w, dir);
		t.dir = dir;
		ug_fileio_dir_each(dir, push_subfolder, &t); /* a folder gone meanwhile has none */
		free(dir);
	}
	free(t.stack);
}

static void add_roots(struct fs *fs, struct watcher *w)
{
	char **roots = ug_refdb_watch_roots(ug_repo_refdb(fs->repo));

	for (size_t i = 0; roots && roots[i]; i++) {
		if (ends_with(roots[i], "/refs"))
			add_tree(w, roots[i]);
		else
			add_watch(w, roots[i]);
	}
	if (!roots)
		w->failed = true;
	ug_strv_free(roots);
}

/* Does this event possibly change a ref? Lock files, the index and logs do not. */
static bool relevant(const struct inotify_event *ev)
{
	if (ev->mask & (IN_DELETE_SELF | IN_Q_OVERFLOW | IN_IGNORED))
		return true;
	if (!ev->len)
		return true;
	if (ends_with(ev->name, ".lock"))
		return false;
	return strcmp(ev->name, "index") && strcmp(ev->name, "logs") && strcmp(ev->name, "objects") &&
	       strcmp(ev->name, "FETCH_HEAD") && strcmp(ev->name, "ORIG_HEAD") &&
	       strcmp(ev->name, "COMMIT_EDITMSG") && strncmp(ev->name, "ugitfs", 6);
}

/* Read pending events; true if any may have changed a ref. New folders get watches. */
static bool drain(struct fs *fs, struct watcher *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false, rewatch = false;
	ssize_t len;

	while ((len = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
				rewatch = true;
			if (ev->mask & IN_Q_OVERFLOW)
				rewatch = true;
			any |= relevant(ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (rewatch) /* re-adding a watch on a watched folder is harmless */
		add_roots(fs, w);
	return any;
}

static void *watch_main(void *arg)
{
	struct fs *fs = arg;
	struct watcher w = { .fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC) };

	if (w.fd < 0) {
		ug_log(UG_LOG_WARNING, "inotify unavailable (%s): checking refs every second", strerror(errno));
		w.failed = true;
	} else {
		add_roots(fs, &w);
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = fs->watch_stop[0], .events = POLLIN },
				       { .fd = w.fd, .events = POLLIN } };
		int r = poll(p, w.fd >= 0 ? 2 : 1, w.failed ? 1000 : -1);

		if (r < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (r > 0 && w.fd >= 0 && (p[1].revents & POLLIN)) {
			bool any = drain(fs, &w);

			/* git updates a ref in steps (lock, write, rename, reflog): let
			 * the burst settle briefly, then read once. */
			while (poll(&p[1], 1, 20) > 0)
				any |= drain(fs, &w);
			if (!any)
				continue;
		}
		reload(fs);
	}
	if (w.fd >= 0)
		close(w.fd);
	return NULL;
}

int watcher_start(struct fs *fs)
{
	if (pipe2(fs->watch_stop, O_CLOEXEC))
		return ug_error_os(UG_ERROR, "cannot create a pipe");
	if (pthread_create(&fs->watcher, NULL, watch_main, fs)) {
		close(fs->watch_stop[0]);
		close(fs->watch_stop[1]);
		return ug_error(UG_ERROR, "cannot start the ref watcher");
	}
	fs->watcher_running = true;
	return 0;
}

void watcher_stop(struct fs *fs)
{
	if (!fs->watcher_running)
		return;
	if (write(fs->watch_stop[1], "x", 1) < 0)
		ug_log(UG_LOG_WARNING, "cannot stop the ref watcher: %s", strerror(errno));
	pthread_join(fs->watcher, NULL);
	close(fs->watch_stop[0]);
	close(fs->watch_stop[1]);
	fs->watcher_running = false;
}

void refsnap_release_all(struct fs *fs)
{
	snap_free(fs->snap);
	fs->snap = NULL;
}
