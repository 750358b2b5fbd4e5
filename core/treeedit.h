/* Building a new tree from a base tree plus edits by path, writing only the trees that change. */
#ifndef UG_TREEEDIT_H
#define UG_TREEEDIT_H

#include "oid.h"

#include <stdint.h>

struct ug_repo;

typedef struct ug_treeedit ug_treeedit;

/*
 * Start from base_tree (NULL or zero: the empty tree). Nothing is read until
 * an edit needs it: only the folders along edited paths are loaded. The repo
 * must outlive the editor. *out: ug_treeedit_free. Not thread-safe: one
 * editor, one thread.
 */
int ug_treeedit_new(ug_treeedit **out, struct ug_repo *repo, const ug_oid *base_tree);
void ug_treeedit_free(ug_treeedit *ed);

/*
 * Put an entry at path ("a/b/c.txt": "/"-separated, no leading, trailing or
 * doubled slash, every name one git accepts) with mode (UG_MODE_*) and id.
 * Missing folders are created; a file (or symlink, or submodule) in the way of
 * a folder is replaced by the folder; whatever was at path (a whole folder
 * too) is replaced. mode UG_MODE_TREE puts a whole existing tree there.
 * The last edit of a path wins. UG_EINVALID for a bad path or mode, or a
 * zero id; errors reading the base (UG_ECORRUPT, UG_ENOTFOUND) as they come.
 */
int ug_treeedit_set(ug_treeedit *ed, const char *path, uint32_t mode, const ug_oid *oid);

/* Remove the file or whole folder at path. Removing what is not there (or
 * what lies under a file) is not an error and changes nothing; a base tree
 * that cannot be read is. */
int ug_treeedit_remove(ug_treeedit *ed, const char *path);

/*
 * Write the trees that changed, deepest first, through ug_tree_create (so git
 * and ugit repositories alike), and give the root's id. Folders left empty
 * are dropped, as git never stores an empty tree (the root excepted: it may
 * be the empty tree). Subtrees no edit touched keep their ids without being
 * read; a folder that is rewritten loses the entries the tree reader hides
 * (hostile names, duplicates). The editor stays usable: more edits and
 * another write may follow. After a failure other than UG_EINVALID from
 * any function the editor may hold part of that edit: free it.
 */
int ug_treeedit_write(ug_treeedit *ed, ug_oid *out);

#endif
