/* Internals of the FUSE driver: node kinds, the node table, the daemon state, shared helpers. */
/*
 * Errors in fs/: a function that can fail returns 0 (or a non-negative result
 * its comment names) or a negative errno, the value a FUSE reply takes. A core
 * code (UG_E*) becomes one once, where the core call's result enters fs/:
 * ugfs_err in the working view's own steps, whose failures are reported with
 * the core's message (ug_error_last); ugfs_errno where a reply to the kernel
 * is made of it (it logs the failures that become EIO). Set the message with
 * ug_error/ug_error_os before converting when a person will read it.
 * Not (yet) this way: the caches and readers over core objects (treecache_get,
 * blobs_get, blobs_read, logcache_get, refsnap_load, refsnap_peel,
 * prefetch_start, lastchange.h) return core codes, converted by their callers;
 * wrappers of one system call (up_* in work.h) act as the call (-1 with errno);
 * ugfs_main and ugfs_client (fs.h) return exit statuses.
 */
#ifndef UGFS_FS_INTERNAL_H
#define UGFS_FS_INTERNAL_H

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)
#include <fuse_lowlevel.h>

#include "fs.h"

#include "commit.h"
#include "commitgraph.h"
#include "odb.h"
#include "oid.h"
#include "refs.h"
#include "repo.h"
#include "tree.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* Every node of the mount is one of these. */
enum kind {
	K_ROOT,
	K_HEAD,      /* symlink to branches/NAME or commits/OID */
	K_REFDIR,    /* branches/, tags/, log/ and their subfolders for names with "/" */
	K_REFLINK,   /* branches/NAME, tags/NAME: symlink to commits/OID */
	K_COMMITS,   /* commits/ */
	K_COMMIT,    /* commits/OID: the snapshot's root */
	K_ABBREV,    /* commits/ABBREV: symlink to the full id */
	K_LOGBRANCH, /* log/BRANCH/: the first-parent history */
	K_LOGENTRY,  /* log/BRANCH/N_DATE_SHORT_SUBJECT: symlink to commits/OID */
	K_TREE,      /* a folder inside a snapshot */
	K_BLOB,      /* a file inside a snapshot */
	K_LINK,      /* a symlink inside a snapshot */
	K_GITLINK,   /* a submodule inside a snapshot: an empty folder */
	K_VBRANCH,   /* versions/BRANCH/: the branch tip's root folder */
	K_VTREE,     /* versions/BRANCH/a/: a folder of the tip's tree */
	K_VFILE,     /* versions/BRANCH/a/f/: the versions of file a/f */
	K_VENTRY,    /* versions/BRANCH/a/f/N_DATE_SHORT_SUBJECT: symlink to commits/OID/a/f */
	K_WORK,      /* work/: the working view's top */
	K_WNODE,     /* anything below work/: what it is comes from the overlay (work.c) */
	K_NKINDS
};

/* The ref namespaces a K_REFDIR can show. */
enum ns { NS_HEADS, NS_TAGS, NS_LOG, NS_VERSIONS };

/* Fixed node ids of the top level; everything else is numbered from FIRST_DYNAMIC. */
enum {
	INO_ROOT = FUSE_ROOT_ID,
	INO_HEAD,
	INO_BRANCHES,
	INO_TAGS,
	INO_COMMITS,
	INO_LOG,
	INO_WORK,
	INO_VERSIONS,
	FIRST_DYNAMIC = 16,
};

/*
 * A node the kernel knows. Identity is (parent, name); the fields after
 * `name` describe what it shows and never change after creation, so a
 * handler may read them without the table lock while the kernel holds a
 * lookup on the node (which it does for every request naming it).
 */
struct node {
	fuse_ino_t ino;
	uint64_t nlookup;       /* under the table lock */
	bool orphan;            /* under the table lock: an unlinked work/ file kept in the state folder */
	fuse_ino_t parent;
	char *name;
	struct node *next_ino;  /* hash chains, under the table lock */
	struct node *next_name;

	enum kind kind;
	enum ns ns;             /* K_REFDIR */
	uint32_t mode;          /* git mode of snapshot nodes (K_COMMIT: a tree) */
	ug_oid oid;             /* commit (K_COMMIT, K_ABBREV, K_LOGENTRY), tree/blob/gitlink id */
	ug_oid tree;            /* K_COMMIT: its tree */
	int64_t time;           /* snapshot nodes: the commit's committer time */
	uint64_t size;          /* snapshot nodes: object size */
	char *ref;              /* K_REFDIR: prefix ("" or "a/b/"); K_REFLINK, K_LOGBRANCH and versions/
				 * nodes: the branch's short name */
	unsigned depth;         /* K_REFLINK, K_LOGENTRY, K_VENTRY: folders between the mount root and
				 * the link; K_VBRANCH, K_VTREE, K_VFILE: folders down to and with itself */
	ug_oid snap;            /* K_COMMIT, K_TREE: the snapshot's commit */
	char *path;             /* K_COMMIT, K_TREE: the folder's path in it ("" for the root, "a/b");
				 * versions/ nodes: the path in the branch's tree (K_VENTRY: its file's) */
};

/* What a child looks like before it becomes a node (filled by lookup and listing code). */
struct child {
	const char *name;
	enum kind kind;
	enum ns ns;
	uint32_t mode;
	ug_oid oid;
	ug_oid tree;
	int64_t time;
	uint64_t size;
	const char *ref;
	unsigned depth;
	bool broken;            /* its object is unreadable: listed by name, lookup fails */
	char *owned;            /* storage behind name/ref when they were built; freed by child_release */
};

/* FNV-1a of a string, from seed: the fs's hash tables and listed-name numbers. */
static inline uint64_t str_hash(const char *s, uint64_t seed)
{
	uint64_t h = 1469598103934665603ULL ^ seed;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static inline void child_release(struct child *c)
{
	free(c->owned);
	c->owned = NULL;
}

/* An immutable view of the refs, replaced as a whole when they change. */
struct refsnap {
	int refcount;           /* under fs->snap_lock */
	uint64_t generation;
	ug_ref_list heads;      /* refs/heads/ */
	ug_ref_list tags;       /* refs/tags/ */
	char *head_target;      /* HEAD's symbolic target ("refs/heads/main"), NULL if detached */
	bool head_valid;        /* HEAD resolves to head_oid */
	ug_oid head_oid;
	int64_t loaded;         /* time of loading, for folder mtimes */
};

/* testpoint.c: named points where tests act on the daemon, set once at start
 * from the environment and read-only after (any thread): UGITFS_TEST_KILL_AT=
 * <point> kills it there (SIGKILL); UGITFS_TEST_HOLD_AT=<point>:<file> holds
 * it there while <file> exists, having made "<file>.held". Points: the steps
 * of a sync and of a rename in work/ (work_test_point), "push-store" (push.c). */
struct testpoint {
	char *kill_at;          /* NULL unless set */
	char *hold_at;          /* NULL unless set; hold_file follows its NUL */
	const char *hold_file;
	char *held;             /* hold_file with ".held" added */
};
/* Read the environment (a malformed or unaffordable hook is logged and left unset). */
void testpoint_init(struct testpoint *tp);
/* Free what testpoint_init made. */
void testpoint_release(struct testpoint *tp);
/* The daemon is at point: kill or hold as set; nothing, and no allocation, unset. */
void testpoint_pass(const struct testpoint *tp, const char *point);

struct treecache;
struct logcache;
struct blobs;
struct work;
struct prefetch;
struct push;

/* The daemon state: the session userdata. Every field documents its lock. */
struct fs {
	struct ugfs_options opts;
	ug_repo *repo;          /* thread-safe by the core's contract */
	ug_hash_algo algo;
	size_t hexsz;
	uid_t uid;
	gid_t gid;
	int64_t mount_time;
	struct fuse_session *se;
	bool no_open;               /* the kernel sends no open/release: reads and writes go by node */

	pthread_mutex_t table_lock; /* the node table */
	struct node **by_ino;
	struct node **by_name;
	size_t buckets, nnodes;
	fuse_ino_t next_ino;

	pthread_mutex_t snap_lock;  /* the current ref snapshot pointer and refcounts */
	struct refsnap *snap;

	struct work *work;          /* the working view (work.h), NULL without one */
	char *mount_real;           /* the mount point's absolute path */
	struct treecache *trees;    /* internally locked */
	struct blobs *blobs;        /* internally locked */
	struct logcache *logs;      /* internally locked */
	struct lastchange *changes; /* internally locked (lastchange.h) */
	ug_commitgraph *graph;      /* immutable, NULL without a usable commit-graph */
	struct prefetch *prefetch;  /* internally locked; NULL unless a partial clone */
	struct push *push;          /* internally locked; NULL for a partial clone */
	struct testpoint tests;     /* read-only after start */

	pthread_t watcher;
	bool watcher_running;
	int watch_stop[2];          /* pipe: write a byte to stop the watcher */
};

/* node.c: the table. Lookup counts follow the libfuse contract. */
int node_table_init(struct fs *fs);
void node_table_free(struct fs *fs);
/* The node of ino with the table lock released; NULL if unknown. See struct node. */
struct node *node_get(struct fs *fs, fuse_ino_t ino);
/* Find or create the node for c under parent and add one lookup; NULL on ENOMEM. */
struct node *node_child(struct fs *fs, struct node *parent, const struct child *c);
/* Drop n lookups of ino. True when that freed a node marked orphan: its file,
 * unlinked while the kernel held it, can go now (the caller's job: work_forget). */
bool node_forget(struct fs *fs, fuse_ino_t ino, uint64_t n);
/* work/ nodes: the path below work/ (malloc'ed; NULL if unlinked), unlink, rename. */
char *node_path(struct fs *fs, fuse_ino_t ino);
fuse_ino_t node_find(struct fs *fs, fuse_ino_t parent, const char *name); /* 0 if none */
/* The same, with the node's size (snapshot nodes: the object's). */
fuse_ino_t node_find_sized(struct fs *fs, fuse_ino_t parent, const char *name, uint64_t *size);
void node_detach(struct fs *fs, fuse_ino_t parent, const char *name, bool orphan);
int node_move(struct fs *fs, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname);
/* Call fn for every node of one of the kinds in mask (1 << kind), with the lock
 * held: fn must only copy what it needs. */
void node_foreach(struct fs *fs, unsigned mask, void (*fn)(struct node *, void *), void *arg);

/* treecache.c: parsed trees shared between threads, within a byte budget. */
int treecache_new(struct treecache **out, size_t limit);
void treecache_free(struct treecache *tc);
/* A parsed tree; release with treecache_put. Core error codes. */
int treecache_get(struct fs *fs, const ug_oid *oid, const ug_tree **out);
/* The same when it is parsed already, else NULL (nothing read). */
const ug_tree *treecache_peek(struct fs *fs, const ug_oid *oid);
void treecache_put(struct fs *fs, const ug_tree *tree);

/* blobs.c: the blobs being read, held inflated within a byte budget. */
int blobs_new(struct blobs **out, size_t limit);
void blobs_free(struct blobs *b);
/* A new reference to the whole object (ug_object_free). Core error codes. */
int blobs_get(struct fs *fs, const ug_oid *oid, ug_object **out);
/* Is a blob of this size read through a stream (blobs_read) rather than whole? */
bool blobs_streams(struct fs *fs, uint64_t size);
/* Up to len bytes at off of blob oid into buf through a stream, in memory
 * that does not grow with the blob. 1 (nothing read) when the blob is not
 * stored whole and must be read with blobs_get; else core error codes. */
int blobs_read(struct fs *fs, const ug_oid *oid, uint64_t off, void *buf, size_t len, size_t *got);
/* Reply to a READ of size bytes at off of blob oid, whose header
 * says total bytes: streamed when big and stored whole, else held whole. */
void blob_reply(fuse_req_t req, struct fs *fs, const ug_oid *oid, uint64_t total, size_t size, off_t off);

/* refsnap.c: ref snapshots and the watcher that replaces them. */
int refsnap_load(struct fs *fs);
struct refsnap *refsnap_get(struct fs *fs);
void refsnap_put(struct fs *fs, struct refsnap *snap);
/* Peel a tag ref to a commit id; UG_ENOTFOUND if it names no commit. */
int refsnap_peel(struct fs *fs, const ug_ref *ref, ug_oid *out);
void refsnap_release_all(struct fs *fs);
int watcher_start(struct fs *fs);
void watcher_stop(struct fs *fs);

/* logcache.c: the names of log/BRANCH/, computed once per branch tip. */
struct logcache_entry;
int logcache_new(struct logcache **out, unsigned slots, size_t limit);
void logcache_free(struct logcache *lc);
struct loglist {
	size_t count;
	char **names;           /* entry names, oldest first */
	ug_oid *oids;
	int64_t *times;         /* committer times */
};
/* The log of a branch whose tip is tip; release with logcache_put. */
int logcache_get(struct fs *fs, const ug_oid *tip, const struct loglist **out);
void logcache_put(struct fs *fs, const struct loglist *list);
/* Build every log again from now on (the history itself changed: a shallow
 * clone was deepened); lists being read stay valid until put. */
void logcache_forget(struct logcache *lc);

/* prefetch.c: partial clones. Start after daemonizing (a thread; logs that the
 * repository is partial); a no-op for other repositories. Core error codes. */
int prefetch_start(struct fs *fs);
void prefetch_stop(struct fs *fs);
/* Before a folder's entries are used: fetch all its missing objects in one
 * request (once per folder), and its subtree in the background. */
void prefetch_folder(struct fs *fs, const ug_tree *tree);
/* The same for the base folder behind a folder of work/, without the subtree. */
void prefetch_work(struct fs *fs, fuse_ino_t dir);
/* Before a base folder dir/name of work/ is copied up (a rename): all of it, now. */
void prefetch_work_subtree(struct fs *fs, fuse_ino_t dir, const char *name);

/* push.c: answers before the questions, from two threads: a folder's small
 * files put into the kernel's page cache once two of them are read
 * (fuse_lowlevel_notify_store, within a byte budget per folder), and a
 * folder's subfolders' last-change times once eight of them are listed.
 * Nothing for a partial clone. Core error codes. */
int push_start(struct fs *fs);
/* Stop the threads; loop_ended: nobody else answers the kernel now, so
 * requests a store waits on are answered here meanwhile. */
void push_stop(struct fs *fs, bool loop_ended);
/* The file (node) of the folder dir (node), whose tree is tree, was read
 * from its start. The second file read pushes: a diff -r of neighbour
 * snapshots reads the one file of a folder that differs, a copy reads them all. */
void push_folder(struct fs *fs, fuse_ino_t dir, fuse_ino_t file, const ug_oid *tree);
/* A subfolder of the folder dir (node) of snapshot commit, at path with tree,
 * was listed: at the eighth, the times of all its subfolders are found in
 * the background (last first), within the last-change cache. */
void push_times(struct fs *fs, fuse_ino_t dir, const ug_oid *commit, const char *path, const ug_oid *tree);

/* stop.c: SIGTERM, SIGINT and SIGHUP (those not ignored at start, as nohup
 * does) stop the background lanes while the loop still answers the kernel
 * (a lane's store may wait on a READ), then end the loop. stop_install
 * before mounting; stop_start from the loop's thread after daemonizing;
 * stop_end after the loop: the signal that ended it, or 0. -1: cannot. */
int stop_install(void);
void stop_remove(void);
int stop_start(struct fs *fs);
int stop_end(void);

/* views.c: what each kind of node shows. */
void view_stat(struct fs *fs, const struct node *n, struct stat *st);
/* Find child name of dir n; 0, or a negative errno. */
int view_lookup(struct fs *fs, struct node *n, const char *name, struct child *out);
/* Produce the children of dir n into a listing; 0 or negative errno. */
struct listing;
int view_list(struct fs *fs, struct node *n, struct listing **out);
void listing_free(struct fs *fs, struct listing *l);
/* The i-th child (0-based) of a listing; 0, 1 at the end, or negative errno. */
int listing_at(struct fs *fs, struct listing *l, size_t i, struct child *out);
int view_readlink(struct fs *fs, const struct node *n, char *buf, size_t size);
int view_xattr_list(struct fs *fs, const struct node *n, char *buf, size_t size, size_t *len);
int view_xattr_get(struct fs *fs, const struct node *n, const char *name, char **value, size_t *len);

/* errors.c: where core codes become errno values (see the rule at the top). */
/* Map a core error code to an errno, for a reply to the kernel. Codes that
 * become EIO (corrupt or unreadable data) log one line: call it once per failure. */
int ugfs_errno(int code);
/* 0 or the negative errno of a core code, logging nothing: the core's message
 * (ug_error_last) stays for whoever reports the failure. */
int ugfs_err(int code);

#endif
