/* Fuzz target: git config text, and reading values back by key (string, bool, integer). */
#include "fuzz_util.h"

#include "config.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Keys asked of every config, besides those the input names. */
static const char *const fixed_keys[] = {
	"core.bare", "core.repositoryformatversion", "extensions.objectformat", "user.name",
	"remote.origin.url", "branch.main.remote", "core.excludesfile", "a.b.c.d",
};

static void ask(ug_config *cfg, const char *key)
{
	const char *v;
	bool b;
	int64_t i;

	if (!ug_config_get(cfg, key, &v) && v)
		FUZZ_CHECK(strlen(v) < (size_t)1 << 30);
	ug_config_get_bool(cfg, key, &b);
	ug_config_get_int(cfg, key, &i);
}

/* Input: the config text, then optionally FUZZ_SEP and keys to ask, one a line. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_part parts[2];
	size_t n = fuzz_split(data, size, parts, 2);
	ug_config *cfg;
	char *keys, *line, *save = NULL;
	int err;

	fuzz_init();
	if (ug_config_new(&cfg))
		return 0;
	err = ug_config_add_buf(cfg, (const char *)parts[0].data, parts[0].len, "fuzz");
	FUZZ_CHECK(!err || err == UG_ECORRUPT || err == UG_ENOMEM);
	for (size_t i = 0; i < sizeof(fixed_keys) / sizeof(fixed_keys[0]); i++)
		ask(cfg, fixed_keys[i]);
	if (n == 2) {
		keys = fuzz_strndup(parts[1].data, parts[1].len);
		for (line = strtok_r(keys, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			ask(cfg, line);
		free(keys);
	}
	ug_config_free(cfg);
	return 0;
}
