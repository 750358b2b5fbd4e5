/* Fuzz target: commit parsing (git SHA-1, git SHA-256, ugit) and the identity line's time. */
#include "fuzz_util.h"

#include "commit.h"
#include "error.h"

#include <string.h>

/*
 * Input: one byte choosing the format (0 git SHA-1, 1 git SHA-256, 2 ugit,
 * modulo 3), then the commit's content.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ug_commit *c;
	ug_oid oid;
	int64_t t;
	size_t len;
	int tz, err;

	fuzz_init();
	if (size < 1)
		return 0;
	memset(&oid, 0xa5, sizeof(oid));
	err = ug_commit_parse(&c, fuzz_format_repo(data[0]), &oid, data + 1, size - 1);
	if (err) {
		FUZZ_CHECK(err == UG_ECORRUPT || err == UG_ENOMEM);
		return 0;
	}
	FUZZ_CHECK(c->author && c->committer && c->message);
	FUZZ_CHECK(c->message[c->message_len] == '\0');
	FUZZ_CHECK(c->nparents == 0 || c->parents);
	(void)ug_commit_subject(c, &len);
	FUZZ_CHECK(len <= c->message_len);
	ug_ident_parse_time(c->author, strlen(c->author), &t, &tz);
	ug_ident_parse_time(c->committer, strlen(c->committer), &t, &tz);
	ug_commit_free(c);
	return 0;
}
