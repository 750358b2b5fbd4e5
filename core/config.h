/* Git config files: a reader for the subset ugitfs needs (sections, subsections, includes ignored). */
#ifndef UG_CONFIG_H
#define UG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ug_config ug_config;

/* An empty config. */
int ug_config_new(ug_config **out);
void ug_config_free(ug_config *cfg);

/* Parse a file and add its values (later values win). A missing file is not an
 * error (returns 0, adds nothing); a malformed one is UG_ECORRUPT naming path and line. */
int ug_config_add_file(ug_config *cfg, const char *path);
/* Parse text (for tests). */
int ug_config_add_buf(ug_config *cfg, const char *buf, size_t len, const char *origin);

/* key is "section.name" or "section.subsection.name"; section and name compare
 * case-insensitively, subsection exactly. The last value wins. *value is
 * borrowed for the config's life; a key without "=" has value NULL and exists.
 * Returns UG_ENOTFOUND when absent. */
int ug_config_get(ug_config *cfg, const char *key, const char **value);
/* Boolean: true/yes/on/1 (or no value), false/no/off/0/"". UG_EINVALID otherwise. */
int ug_config_get_bool(ug_config *cfg, const char *key, bool *value);
int ug_config_get_int(ug_config *cfg, const char *key, int64_t *value);

#endif
