/* gitignore rules as git applies them: .gitignore files of the working view, info/exclude, core.excludesFile. */
#ifndef UG_IGNORE_H
#define UG_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

struct ug_repo;

typedef struct ug_ignore ug_ignore;

/*
 * The rule that decided a path, as `git check-ignore -v` shows it. Every
 * pointer is borrowed from the ug_ignore and lives as long as it.
 */
typedef struct {
	const char *source;  /* "a/b/.gitignore" (".gitignore" at the top), or the
			      * path of info/exclude or of the core.excludesFile file */
	size_t line;         /* 1-based line in source */
	const char *pattern; /* the line as written, after trimming ("!x", "d/") */
	bool negative;       /* a "!" rule: the path is not ignored */
} ug_ignore_rule;

/*
 * A new rule set holding the repository's info/exclude (in its common
 * directory) and the file named by core.excludesFile (default
 * $XDG_CONFIG_HOME/git/ignore or ~/.config/git/ignore; "~/" and "~user/"
 * expanded; a relative name is taken from the working tree, or the gitdir of
 * a bare repository). Missing files add nothing; an unreadable one is logged
 * and skipped. repo may be NULL: then both are empty. *out: ug_ignore_free.
 *
 * Matching is case-sensitive: core.ignoreCase is not honoured.
 *
 * Thread safety: adding rules is single-threaded; once built, matching may
 * run from many threads at once.
 */
int ug_ignore_new(ug_ignore **out, struct ug_repo *repo);
void ug_ignore_free(ug_ignore *ig);

/*
 * Add the rules of the .gitignore of folder dir_relpath ("" for the top of the
 * working view, "a/b" for a nested one; "/"-separated, no leading slash) from
 * its len bytes at buf, which the caller read (and copied: buf is not kept).
 * Adding a second file for the same folder appends its rules after the first.
 * Files over 100 MiB are refused with UG_EINVALID (and add nothing). git
 * reads no .gitignore that is a symlink, nor one inside an excluded folder
 * (harmless to add: the parent rule decides first).
 */
int ug_ignore_add_file(ug_ignore *ig, const char *dir_relpath, const char *buf, size_t len);

/*
 * Is relpath (relative to the top of the working view, "/"-separated, no
 * leading or trailing slash) ignored? is_dir tells whether it is a folder,
 * for rules with a trailing "/". This handles the parent rule itself: a path
 * inside an excluded folder is ignored whatever its own rules say, as git
 * does. Returns 1 (ignored), 0 (not), or UG_ENOMEM.
 */
int ug_ignore_match(const ug_ignore *ig, const char *relpath, bool is_dir);

/*
 * The same question for a walker that never descends into excluded folders:
 * only relpath's own rules are looked at, its parents are assumed not
 * excluded (cheaper: no parent is matched again).
 */
int ug_ignore_match_entry(const ug_ignore *ig, const char *relpath, bool is_dir);

/*
 * Which rule decides relpath (parents first, as ug_ignore_match)? Returns 1
 * and fills *rule when a rule matched (a negative one means not ignored), 0
 * when none did, or UG_ENOMEM.
 */
int ug_ignore_explain(const ug_ignore *ig, const char *relpath, bool is_dir, ug_ignore_rule *rule);

#endif
