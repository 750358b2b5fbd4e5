/* ugit: the command line of the seed tool ugit ("DIY Git in Python"), on the ugitfs core. */
#include "ugit_internal.h"

#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where a command may run. */
enum {
	IN_NONE = 0, /* no repository needed (init) */
	IN_ANY = 1,  /* a ugit or a git repository */
	IN_UGIT = 2, /* needs ugit's index or ugit's layout */
};

typedef struct {
	const char *name;
	int (*run)(ugit_ctx *c, ugit_args *a);
	int where;
	int min_pos, max_pos; /* max_pos < 0: any number */
	unsigned opts;
	const char *usage; /* the arguments */
	const char *help;
} ugit_cmd;

static const ugit_cmd commands[] = {
	{"init", ugit_cmd_init, IN_NONE, 0, 0, 0, "", "create an empty repository in .ugit"},
	{"hash-object", ugit_cmd_hash_object, IN_ANY, 1, 1, 0, "FILE", "store a file as a blob, print its id"},
	{"cat-file", ugit_cmd_cat_file, IN_ANY, 1, 1, 0, "OBJECT", "print an object's content"},
	{"write-tree", ugit_cmd_write_tree, IN_UGIT, 0, 0, 0, "", "store the index as trees, print the id"},
	{"read-tree", ugit_cmd_read_tree, IN_UGIT, 1, 1, 0, "TREE", "replace the index with a tree"},
	{"commit", ugit_cmd_commit, IN_UGIT, 0, 0, OPT_MESSAGE, "-m MESSAGE", "record the index as a commit"},
	{"log", ugit_cmd_log, IN_ANY, 0, 1, 0, "[REV]", "list commits from REV (default @)"},
	{"show", ugit_cmd_show, IN_ANY, 0, 1, 0, "[REV]", "print a commit and its diff"},
	{"diff", ugit_cmd_diff, IN_ANY, 0, 2, OPT_CACHED, "[--cached] [COMMIT [COMMIT]]",
	 "show changes"},
	{"checkout", ugit_cmd_checkout, IN_UGIT, 1, 1, OPT_FORCE, "[--force] NAME",
	 "switch to a branch or commit"},
	{"tag", ugit_cmd_tag, IN_ANY, 1, 2, 0, "NAME [REV]", "create a tag"},
	{"branch", ugit_cmd_branch, IN_ANY, 0, 2, 0, "[NAME [START]]", "list or create branches"},
	{"k", ugit_cmd_k, IN_ANY, 0, 0, OPT_OUTPUT, "[-o FILE.png|FILE.svg]",
	 "the commit graph as Graphviz DOT"},
	{"status", ugit_cmd_status, IN_UGIT, 0, 0, 0, "", "show the branch and the changes"},
	{"reset", ugit_cmd_reset, IN_UGIT, 1, 1, 0, "COMMIT", "move the current branch to COMMIT"},
	{"merge", ugit_cmd_merge, IN_UGIT, 1, 1, OPT_FORCE, "[--force] COMMIT",
	 "merge COMMIT into the working tree"},
	{"merge-base", ugit_cmd_merge_base, IN_ANY, 2, 2, 0, "COMMIT1 COMMIT2",
	 "print the best common ancestor"},
	{"fetch", ugit_cmd_fetch, IN_UGIT, 1, 1, 0, "PATH", "copy another repository's branches"},
	{"push", ugit_cmd_push, IN_UGIT, 2, 2, 0, "PATH BRANCH", "send a branch to another repository"},
	{"add", ugit_cmd_add, IN_UGIT, 1, -1, 0, "PATH...", "stage files"},
};

typedef struct {
	char shortopt; /* 0: none */
	const char *longopt;
	unsigned bit;
	bool takes_value;
} ugit_opt;

static const ugit_opt options[] = {
	{'m', "--message", OPT_MESSAGE, true},
	{0, "--cached", OPT_CACHED, false},
	{'f', "--force", OPT_FORCE, false},
	{'o', "--output", OPT_OUTPUT, true},
};

static const ugit_cmd *current;

void *ugit_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("ugit: out of memory\n", stderr);
		exit(UGIT_FAIL);
	}
	return p;
}

void *ugit_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("ugit: out of memory\n", stderr);
		exit(UGIT_FAIL);
	}
	return q;
}

char *ugit_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(ugit_xmalloc(n), s, n);
}

char *ugit_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = ugit_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* One line, whatever the message holds: newlines would make two. */
static void put_line(const char *s)
{
	for (; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, stderr);
}

int ugit_fail(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fputs("ugit: ", stderr);
	put_line(buf);
	fputc('\n', stderr);
	return UGIT_FAIL;
}

int ugit_fail_core(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	const char *why = ug_error_last();
	return ugit_fail("%s%s%s", buf, *why ? ": " : "", why);
}

static void usage_line(FILE *f, const ugit_cmd *cmd)
{
	fprintf(f, "usage: ugit %s%s%s\n", cmd->name, *cmd->usage ? " " : "", cmd->usage);
}

int ugit_usage(const ugit_ctx *c)
{
	(void)c;
	fflush(stdout);
	usage_line(stderr, current);
	return UGIT_USAGE;
}

static void full_usage(FILE *f)
{
	fputs("usage: ugit COMMAND [ARGS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].usage);
		fprintf(f, "  %-42s %s\n", left, commands[i].help);
	}
	fputs("\nREV is @ (HEAD), a ref name (NAME, refs/NAME, refs/tags/NAME, refs/heads/NAME)\n"
	      "or an object id. See ugit(1).\n",
	      f);
}

const char *ugit_ident(ugit_ctx *c)
{
	if (!c->ident)
		c->ident = ug_repo_default_ident(c->repo);
	return c->ident ? c->ident : "ugit <ugit@localhost>";
}

static const ugit_opt *find_short(char ch)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (options[i].shortopt && options[i].shortopt == ch)
			return &options[i];
	return NULL;
}

static const ugit_opt *find_long(const char *arg, size_t len)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strlen(options[i].longopt) == len && !memcmp(options[i].longopt, arg, len))
			return &options[i];
	return NULL;
}

static void set_opt(ugit_args *a, const ugit_opt *o, const char *value)
{
	switch (o->bit) {
	case OPT_MESSAGE: a->message = value; break;
	case OPT_OUTPUT: a->output = value; break;
	case OPT_CACHED: a->cached = true; break;
	case OPT_FORCE: a->force = true; break;
	}
}

/* argparse-like: options anywhere, "--opt=value", "-mVALUE", "--" ends options.
 * Returns 0, UGIT_USAGE, or -1 for --help. */
static int parse_args(const ugit_cmd *cmd, int argc, char **argv, ugit_args *a)
{
	bool only_pos = false;
	for (int i = 0; i < argc; i++) {
		char *arg = argv[i];
		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			a->pos[a->npos++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			only_pos = true;
			continue;
		}
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return -1;
		const ugit_opt *o;
		const char *value = NULL;
		if (arg[1] == '-') {
			const char *eq = strchr(arg, '=');
			o = find_long(arg, eq ? (size_t)(eq - arg) : strlen(arg));
			if (o && eq) {
				if (!o->takes_value)
					o = NULL;
				else
					value = eq + 1;
			}
		} else {
			o = find_short(arg[1]);
			if (o && arg[2]) {
				if (!o->takes_value)
					o = NULL;
				else
					value = arg + 2;
			}
		}
		if (!o || !(cmd->opts & o->bit)) {
			fprintf(stderr, "ugit %s: unknown option %s; ", cmd->name, arg);
			usage_line(stderr, cmd);
			return UGIT_USAGE;
		}
		if (o->takes_value && !value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "ugit %s: option %s needs a value; ", cmd->name, arg);
				usage_line(stderr, cmd);
				return UGIT_USAGE;
			}
			value = argv[++i];
		}
		set_opt(a, o, value);
	}
	if (a->npos < cmd->min_pos || (cmd->max_pos >= 0 && a->npos > cmd->max_pos) ||
	    ((cmd->opts & OPT_MESSAGE) && !a->message)) {
		usage_line(stderr, cmd);
		return UGIT_USAGE;
	}
	return 0;
}

static void log_sink(ug_log_level level, const char *line)
{
	fprintf(stderr, "ugit: %s%s\n", level <= UG_LOG_ERROR ? "error: " : "warning: ", line);
}

static int open_repo(ugit_ctx *c, const ugit_cmd *cmd)
{
	int rc = ug_repo_open(&c->repo, ".");
	if (rc == UG_ENOTFOUND) {
		char cwd[PATH_MAX];
		return ugit_fail("%s is no ugit or git repository (ugit init makes one)",
				 getcwd(cwd, sizeof(cwd)) ? cwd : ".");
	}
	if (rc < 0)
		return ugit_fail_core("cannot open the repository");
	c->odb = ug_repo_odb(c->repo);
	c->refs = ug_repo_refdb(c->repo);
	c->algo = ug_repo_algo(c->repo);
	c->hexsz = ug_hash_hexsz(c->algo);
	c->is_ugit = ug_repo_format(c->repo) == UG_FORMAT_UGIT;
	c->gitdir = ug_repo_gitdir(c->repo);
	if (cmd->where == IN_UGIT && !c->is_ugit)
		return ugit_fail("%s needs a ugit repository (this is a git repository)", cmd->name);
	return 0;
}

int main(int argc, char **argv)
{
	ug_log_set_sink(log_sink);
	if (argc < 2) {
		full_usage(stderr);
		return UGIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		full_usage(stdout);
		return UGIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ugit (ugitfs) %s\n", UGITFS_VERSION);
		return UGIT_OK;
	}
	const ugit_cmd *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "ugit: '%s' is not a ugit command; see ugit --help\n", argv[1]);
		return UGIT_USAGE;
	}
	current = cmd;

	ugit_args args = {0};
	args.pos = ugit_xmalloc(sizeof(char *) * (size_t)argc);
	int rc = parse_args(cmd, argc - 2, argv + 2, &args);
	if (rc < 0) {
		usage_line(stdout, cmd);
		printf("%s\n", cmd->help);
		free(args.pos);
		return UGIT_OK;
	}
	if (rc) {
		free(args.pos);
		return rc;
	}

	ugit_ctx ctx = {0};
	ctx.cmd = cmd->name;
	if (cmd->where != IN_NONE)
		rc = open_repo(&ctx, cmd);
	if (!rc)
		rc = cmd->run(&ctx, &args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE && !rc)
			rc = ugit_fail("cannot write the output: %s", strerror(errno));
	}
	if (ctx.repo)
		ug_repo_free(ctx.repo);
	free(ctx.ident);
	free(args.pos);
	return rc;
}
