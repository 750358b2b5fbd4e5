/* ugitfs: the command that mounts a repository (also run as mount.ugitfs by mount(8)), syncs, reports status. */
#include "fs.h"

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)
#include <fuse_lowlevel.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MEMORY ((size_t)256 << 20)
/* glibc's malloc for the daemon: heap in transparent huge pages, grown 8 MiB at a time. */
#define HEAP_TUNABLES "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=8388608"

static const char usage[] =
	"usage: ugitfs [-f] [-d] [-o OPT[,OPT...]] REPOSITORY MOUNTPOINT\n"
	"       ugitfs --sync [-m MESSAGE] MOUNTPOINT\n"
	"       ugitfs --status MOUNTPOINT\n"
	"       ugitfs --help | --version\n"
	"\n"
	"Mounts a git or ugit repository's history as files: HEAD, branches/, tags/,\n"
	"commits/<id>/, log/<branch>/ and the writable working view work/.\n"
	"\n"
	"options:\n"
	"  -f                 stay in the foreground, log to stderr\n"
	"  -d                 debug: foreground, and log every FUSE request\n"
	"  -o ro              no working view: every path is read-only\n"
	"  -o branch=NAME     the branch work/ shows and commits to (default: HEAD's)\n"
	"  -o autosync=SECS   commit pending changes after SECS seconds without a write\n"
	"  -o author='NAME <EMAIL>'  identity of the commits made on sync\n"
	"  -o verify          check that every object read hashes to its id\n"
	"  -o memory=SIZE     cap for the daemon's caches (K, M, G suffixes; default 256M)\n"
	"  -o mtime=change|commit  snapshot times: when each path last changed (default),\n"
	"                     or the snapshot's own commit time\n"
	"  -o fetch_timeout=SECS  partial clones: give up a fetch of missing objects after SECS (default 30)\n"
	"  and the standard FUSE options (allow_other, ...); default_permissions is\n"
	"  always on: the kernel checks every access against the modes shown.\n"
	"Unmount with: fusermount3 -u MOUNTPOINT\n";

/* Options of ours, and fstab-only ones that mount(8) passes along and we drop. */
enum opt_kind { O_RO, O_RW, O_BRANCH, O_AUTOSYNC, O_AUTHOR, O_VERIFY, O_MEMORY, O_MTIME, O_FETCH_TIMEOUT, O_DROP };

static const struct {
	const char *name;
	bool value; /* takes "=VALUE" */
	enum opt_kind kind;
} known[] = {
	{ "ro", false, O_RO },		  { "rw", false, O_RW },	    { "branch", true, O_BRANCH },
	{ "autosync", true, O_AUTOSYNC }, { "author", true, O_AUTHOR },	    { "verify", false, O_VERIFY },
	{ "memory", true, O_MEMORY },	  { "auto", false, O_DROP },	    { "noauto", false, O_DROP },
	{ "user", false, O_DROP },	  { "users", false, O_DROP },	    { "nouser", false, O_DROP },
	{ "_netdev", false, O_DROP },	  { "nofail", false, O_DROP },	    { "defaults", false, O_DROP },
	{ "mtime", true, O_MTIME },
	{ "fetch_timeout", true, O_FETCH_TIMEOUT },
};

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end || v < (1u << 20))
		return -1; /* below 1 MiB nothing useful fits */
	*out = (size_t)v;
	return 0;
}

/* Take one option ("name" or "name=value") from -o: ours are applied, others kept for libfuse. */
static int take_option(struct ugfs_options *o, char *opt, char **fuse_opts)
{
	char *eq = strchr(opt, '=');
	size_t nlen = eq ? (size_t)(eq - opt) : strlen(opt);
	const char *value = eq ? eq + 1 : NULL;

	if (!*opt)
		return 0;
	if (!strncmp(opt, "x-", 2))
		return 0; /* systemd and util-linux annotations */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strlen(known[i].name) != nlen || strncmp(known[i].name, opt, nlen))
			continue;
		if (known[i].value != !!eq) {
			fprintf(stderr, "ugitfs: option '%s' %s\n", known[i].name,
				known[i].value ? "needs a value (NAME=VALUE)" : "takes no value");
			return -1;
		}
		switch (known[i].kind) {
		case O_RO: o->ro = true; break;
		case O_RW: o->ro = false; break;
		case O_BRANCH: o->branch = value; break;
		case O_AUTHOR: o->author = value; break;
		case O_VERIFY: o->verify = true; break;
		case O_DROP: break;
		case O_AUTOSYNC: {
			char *end;
			unsigned long v = strtoul(value, &end, 10);

			if (!*value || *end || v > 86400 * 365) {
				fprintf(stderr, "ugitfs: option autosync: '%s' is not a number of seconds\n", value);
				return -1;
			}
			o->autosync = (unsigned)v;
			break;
		}
		case O_MTIME:
			if (strcmp(value, "change") && strcmp(value, "commit")) {
				fprintf(stderr, "ugitfs: option mtime: '%s' is neither 'change' nor 'commit'\n", value);
				return -1;
			}
			o->mtime_commit = !strcmp(value, "commit");
			break;
		case O_FETCH_TIMEOUT: {
			char *end;
			unsigned long v = strtoul(value, &end, 10);

			if (!*value || *end || v < 1 || v > 86400) {
				fprintf(stderr, "ugitfs: option fetch_timeout: '%s' is not a number of seconds\n", value);
				return -1;
			}
			o->fetch_timeout = (unsigned)v;
			break;
		}
		case O_MEMORY:
			if (parse_size(value, &o->memory)) {
				fprintf(stderr, "ugitfs: option memory: '%s' is not a size of at least 1M\n", value);
				return -1;
			}
			break;
		}
		return 0;
	}
	/* not ours: libfuse decides, and names it if unknown */
	size_t have = *fuse_opts ? strlen(*fuse_opts) : 0;
	char *s = realloc(*fuse_opts, have + strlen(opt) + 2);

	if (!s)
		return -1;
	sprintf(s + have, "%s%s", have ? "," : "", opt);
	*fuse_opts = s;
	return 0;
}

/* Split a -o argument at commas ("\," keeps a comma in a value). */
static int take_options(struct ugfs_options *o, char *arg, char **fuse_opts)
{
	char *start = arg, *w = arg;

	for (char *r = arg;; r++) {
		if (*r == '\\' && r[1]) {
			*w++ = *++r;
			continue;
		}
		if (*r == ',' || !*r) {
			bool end = !*r;

			*w = '\0';
			if (take_option(o, start, fuse_opts))
				return -1;
			if (end)
				return 0;
			start = w = r + 1;
			continue;
		}
		*w++ = *r;
	}
}

static int bad_usage(const char *why)
{
	fprintf(stderr, "ugitfs: %s\n", why);
	fprintf(stderr, "Try 'ugitfs --help'.\n");
	return 2;
}

/*
 * A fresh mount fills its caches, and each new page of them costs a fault:
 * about 10 us in a virtual machine, half of a history walk's CPU there. In
 * transparent huge pages a heap faults once per 2 MiB instead. glibc reads
 * its tunables only when a program starts, so the command runs itself once
 * more with them set; that run puts the caller's GLIBC_TUNABLES back (or
 * none), so that git and hooks started later never see ours. Nothing
 * changes where huge pages are off, and a failed exec goes on untuned.
 */
static void tune_heap(char **argv)
{
	const char *mark = getenv("UGITFS_HEAP"), *was = getenv("GLIBC_TUNABLES");
	char *tunables, self[PATH_MAX];
	ssize_t n;

	if (mark) {
		if (*mark)
			setenv("GLIBC_TUNABLES", mark + 1, 1); /* "=" then the caller's value */
		else
			unsetenv("GLIBC_TUNABLES");
		unsetenv("UGITFS_HEAP");
		return;
	}
	if (asprintf(&tunables, "%s%s%s", was ? was : "", was ? ":" : "", HEAP_TUNABLES) < 0)
		return;
	if (was) {
		char *keep;

		if (asprintf(&keep, "=%s", was) >= 0) {
			setenv("UGITFS_HEAP", keep, 1);
			free(keep);
		}
	} else {
		setenv("UGITFS_HEAP", "", 1);
	}
	/* by its own path, not /proc/self/exe: ps and pgrep then still see "ugitfs" */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0 && getenv("UGITFS_HEAP") && !setenv("GLIBC_TUNABLES", tunables, 1)) {
		self[n] = '\0';
		execv(self, argv);
	}
	free(tunables);
	if (was) /* still here: go on as the caller started us */
		setenv("GLIBC_TUNABLES", was, 1);
	else
		unsetenv("GLIBC_TUNABLES");
	unsetenv("UGITFS_HEAP");
}

int main(int argc, char **argv)
{
	struct ugfs_options o = { .memory = DEFAULT_MEMORY };
	char *fuse_opts = NULL, *base = basename(argv[0]);
	const char *pos[2];
	int npos = 0, status;
	/* As mount.ugitfs, mount(8) calls "SOURCE DIR [-sfnv] [-o OPTS] [-t TYPE]". */
	bool helper = !strncmp(base, "mount.", 6);
	const char *request = NULL, *message = NULL;

	tune_heap(argv);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
			printf("ugitfs %s (libfuse %s)\n", UGITFS_VERSION, fuse_pkgversion());
			return 0;
		} else if (!strcmp(a, "--sync") || !strcmp(a, "--status")) {
			request = a + 2;
		} else if (!strncmp(a, "-o", 2)) {
			/* split in place: the values of our options point into argv */
			char *arg = a[2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (!arg)
				return bad_usage("option -o needs a value");
			status = take_options(&o, arg, &fuse_opts);
			if (status) {
				free(fuse_opts);
				return 1;
			}
		} else if (!strcmp(a, "-m") && request && !strcmp(request, "sync")) {
			if (i + 1 >= argc)
				return bad_usage("option -m needs a message");
			message = argv[++i];
		} else if (!strcmp(a, "-f")) {
			if (!helper) /* for mount(8), -f means "fake": not ours to honour */
				o.foreground = true;
		} else if (!strcmp(a, "-d")) {
			o.debug = o.foreground = true;
		} else if (helper && (!strcmp(a, "-s") || !strcmp(a, "-n") || !strcmp(a, "-v"))) {
			continue;
		} else if (helper && !strcmp(a, "-t")) {
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "ugitfs: unknown option '%s'\n", a);
			return 2;
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			return bad_usage("too many arguments");
		}
	}
	if (request) {
		if (npos != 1 || fuse_opts) {
			free(fuse_opts);
			return bad_usage(!strcmp(request, "sync") ? "usage: ugitfs --sync [-m MESSAGE] MOUNTPOINT"
								  : "usage: ugitfs --status MOUNTPOINT");
		}
		return ugfs_client(pos[0], request, message);
	}
	if (npos != 2)
		return bad_usage("expected REPOSITORY and MOUNTPOINT");
	o.repo = pos[0];
	o.mountpoint = pos[1];
	o.fuse_opts = fuse_opts ? fuse_opts : "";
	status = ugfs_main(&o);
	free(fuse_opts);
	return status;
}
