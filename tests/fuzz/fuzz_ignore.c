/* Fuzz target: gitignore rules (two nested .gitignore files) matched against paths from the input. */
#include "fuzz_util.h"

#include "error.h"
#include "ignore.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PATHS 64

static void ask(const ug_ignore *ig, const char *path, bool is_dir)
{
	ug_ignore_rule rule;
	int m = ug_ignore_match(ig, path, is_dir);
	int e = ug_ignore_explain(ig, path, is_dir, &rule);

	FUZZ_CHECK(m == 0 || m == 1 || m == UG_ENOMEM);
	FUZZ_CHECK(e == 0 || e == 1 || e == UG_ENOMEM);
	/* explain and match agree on the deciding rule */
	if (m >= 0 && e >= 0)
		FUZZ_CHECK(m == (e == 1 && !rule.negative));
	if (e == 1)
		FUZZ_CHECK(rule.source && rule.pattern && rule.line >= 1);
	m = ug_ignore_match_entry(ig, path, is_dir);
	FUZZ_CHECK(m == 0 || m == 1 || m == UG_ENOMEM);
}

/*
 * Input: parts separated by FUZZ_SEP: the top .gitignore, the .gitignore of
 * folder "a", then paths to match, one a line (each as a file and as a folder).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_part parts[3];
	size_t n = fuzz_split(data, size, parts, 3), count = 0;
	ug_ignore *ig;
	char *paths, *line, *save = NULL;

	fuzz_init();
	if (ug_ignore_new(&ig, NULL))
		return 0;
	ug_ignore_add_file(ig, "", (const char *)parts[0].data, parts[0].len);
	if (n > 1)
		ug_ignore_add_file(ig, "a", (const char *)parts[1].data, parts[1].len);
	ask(ig, "a/b", false);
	ask(ig, "a", true);
	if (n > 2) {
		paths = fuzz_strndup(parts[2].data, parts[2].len);
		for (line = strtok_r(paths, "\n", &save); line && count < MAX_PATHS;
		     line = strtok_r(NULL, "\n", &save), count++) {
			size_t l = strlen(line);

			/* the API's contract: relative, no leading or trailing slash */
			if (line[0] == '/' || line[l - 1] == '/' || strstr(line, "//"))
				continue;
			ask(ig, line, false);
			ask(ig, line, true);
		}
		free(paths);
	}
	ug_ignore_free(ig);
	return 0;
}
