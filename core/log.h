/* The core's log: one line per event (a corrupt object, a hidden tree entry), to a sink the program chooses. */
#ifndef UG_LOG_H
#define UG_LOG_H

typedef enum { UG_LOG_ERROR = 3, UG_LOG_WARNING = 4, UG_LOG_INFO = 6, UG_LOG_DEBUG = 7 } ug_log_level;

/* The sink gets one line without newline. Default: stderr, "ugitfs: LINE".
 * Set once before threads start; the sink must be thread-safe. */
typedef void (*ug_log_sink)(ug_log_level level, const char *line);
void ug_log_set_sink(ug_log_sink sink);
void ug_log_set_level(ug_log_level max); /* drop messages above max (default INFO) */

void ug_log(ug_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
