/* ugit: fetch and push between two ugit repositories on this machine (objects first, refs last). */
#include "ugit_internal.h"

#include "tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy one object unless dst has it, checking that it hashes to its id. */
static int copy_object(ugit_ctx *c, ug_odb *src, ug_odb *dst, const ug_oid *oid)
{
	if (ug_odb_exists(dst, oid))
		return 0;
	ug_object *obj;
	int rc = ug_odb_read(&obj, src, oid);
	if (rc < 0)
		return rc;
	ug_oid got;
	rc = ug_odb_write(dst, &got, obj->type, obj->data, obj->size);
	ug_object_free(obj);
	if (rc == 0 && !ug_oid_equal(&got, oid)) {
		char hex[UG_OID_MAXHEX + 1];
		rc = ug_error(UG_ECORRUPT, "object %s does not hash to its id", ug_oid_tohex(hex, oid, c->algo));
	}
	return rc;
}

/* Every object reachable from the tips, read from src and written to dst
 * when missing there. Trees are walked with an explicit stack. */
static int copy_reachable(ugit_ctx *c, ug_repo *src, ug_repo *dst, const ug_oid *tips, size_t ntips)
{
	ug_odb *so = ug_repo_odb(src), *dodb = ug_repo_odb(dst);
	ugit_walk w;
	ug_oidset seen = {0};
	ug_oid *stack = NULL;
	size_t nstack = 0, cap = 0;
	ugit_walk_init(&w);
	for (size_t i = 0; i < ntips; i++)
		ugit_walk_push(&w, &tips[i]);
	int rc = 0;
	ug_oid oid;
	while (rc == 0 && ugit_walk_next(&w, &oid)) {
		rc = copy_object(c, so, dodb, &oid);
		ug_commit *cm;
		if (rc == 0)
			rc = ug_commit_lookup(&cm, src, &oid);
		if (rc < 0)
			break;
		ugit_walk_parents(&w, cm->parents, cm->nparents);
		if (ugit_seen_add(&seen, &cm->tree)) {
			if (nstack == cap) {
				cap = cap ? cap * 2 : 64;
				stack = ugit_xrealloc(stack, cap * sizeof(ug_oid));
			}
			stack[nstack++] = cm->tree;
		}
		ug_commit_free(cm);
		while (rc == 0 && nstack) {
			ug_oid t = stack[--nstack];
			ug_tree *tree;
			rc = copy_object(c, so, dodb, &t);
			if (rc == 0)
				rc = ug_tree_lookup(&tree, src, &t);
			if (rc < 0)
				break;
			for (size_t i = 0; i < tree->count && rc == 0; i++) {
				const ug_tree_entry *e = &tree->entries[i];
				if (e->mode == UG_MODE_GITLINK || !ugit_seen_add(&seen, &e->oid))
					continue;
				if (e->mode != UG_MODE_TREE) {
					rc = copy_object(c, so, dodb, &e->oid);
					continue;
				}
				if (nstack == cap) {
					cap = cap ? cap * 2 : 64;
					stack = ugit_xrealloc(stack, cap * sizeof(ug_oid));
				}
				stack[nstack++] = e->oid;
			}
			ug_tree_free(tree);
		}
	}
	free(stack);
	ug_oidset_release(&seen);
	ugit_walk_release(&w);
	return rc;
}

static int open_other(ugit_ctx *c, const char *path, ug_repo **out)
{
	if (ug_repo_open(out, path) < 0)
		return ugit_fail_core("cannot open the repository %s", path);
	if (ug_repo_format(*out) != UG_FORMAT_UGIT || ug_repo_algo(*out) != c->algo) {
		ug_repo_free(*out);
		*out = NULL;
		return ugit_fail("%s is not a ugit repository", path);
	}
	return 0;
}

int ugit_cmd_fetch(ugit_ctx *c, ugit_args *a)
{
	ug_repo *remote;
	if (open_other(c, a->pos[0], &remote))
		return UGIT_FAIL;
	ug_refdb *rrefs = ug_repo_refdb(remote);
	ug_ref_list list = {0};
	int rc = ug_refs_list(rrefs, "refs/heads/", &list);
	ug_oid *tips = ugit_xmalloc(sizeof(ug_oid) * (list.count + 1));
	size_t n = 0;
	for (size_t i = 0; rc == 0 && i < list.count; i++) {
		rc = ug_refs_resolve(rrefs, list.refs[i].name, &tips[i], NULL);
		n++;
	}
	if (rc == 0)
		rc = copy_reachable(c, remote, c->repo, tips, n);
	/* every object is here; now the refs/remote/ names may point at them */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *ref = ugit_fmt("refs/remote/%s", list.refs[i].name + strlen("refs/heads/"));
		rc = ug_refs_update(c->refs, ref, &tips[i], NULL, ugit_ident(c), "fetch");
		free(ref);
	}
	if (rc < 0)
		rc = ugit_fail_core("fetch from %s failed", a->pos[0]);
	free(tips);
	ug_ref_list_release(&list);
	ug_repo_free(remote);
	return rc;
}

int ugit_cmd_push(ugit_ctx *c, ugit_args *a)
{
	char *ref = ugit_fmt("refs/heads/%s", a->pos[1]);
	ug_repo *remote = NULL;
	ug_oid ours, theirs;
	int rc = 0;
	if (!ug_refname_valid(ref)) {
		rc = ugit_fail("'%s' is not a valid branch name", a->pos[1]);
		goto out;
	}
	if (ug_refs_resolve(c->refs, ref, &ours, NULL) < 0) {
		rc = ugit_fail("there is no branch named '%s' here", a->pos[1]);
		goto out;
	}
	if (open_other(c, a->pos[0], &remote)) {
		rc = UGIT_FAIL;
		goto out;
	}
	ug_refdb *rrefs = ug_repo_refdb(remote);
	rc = ug_refs_resolve(rrefs, ref, &theirs, NULL);
	if (rc == UG_ENOTFOUND) {
		memset(&theirs, 0, sizeof(theirs));
	} else if (rc < 0) {
		rc = ugit_fail_core("cannot read %s in %s", ref, a->pos[0]);
		goto out;
	} else if (ug_oid_equal(&theirs, &ours)) {
		rc = 0; /* already there */
		goto out;
	} else {
		/* no force: their tip must be in our history */
		bool anc = false;
		if (ug_odb_exists(c->odb, &theirs) && ugit_is_ancestor(c, &theirs, &ours, &anc) < 0) {
			rc = ugit_fail("%s", ug_error_last());
			goto out;
		}
		if (!anc) {
			rc = ugit_fail("push rejected: %s in %s has commits that yours lacks (fetch and merge first)",
				       a->pos[1], a->pos[0]);
			goto out;
		}
	}
	rc = copy_reachable(c, c->repo, remote, &ours, 1);
	if (rc == 0)
		rc = ug_refs_update(rrefs, ref, &ours, &theirs, ugit_ident(c), "push");
	if (rc < 0)
		rc = ugit_fail_core("push to %s failed", a->pos[0]);
out:
	if (remote)
		ug_repo_free(remote);
	free(ref);
	return rc;
}
