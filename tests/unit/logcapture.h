/* The core's log lines captured for unit tests: ug_log_set_sink(log_capture) keeps and counts them. */
#ifndef UG_TEST_LOGCAPTURE_H
#define UG_TEST_LOGCAPTURE_H

#include "log.h"

#include <stdio.h>
#include <string.h>

/* The lines logged since the last log_reset(), each ending in a newline (cut when full), and their count. */
static char logbuf[16384];
static int loglines;

static inline void log_capture(ug_log_level level, const char *line)
{
	size_t l = strlen(logbuf);

	(void)level;
	loglines++;
	snprintf(logbuf + l, sizeof(logbuf) - l, "%s\n", line);
}

static inline void log_reset(void)
{
	logbuf[0] = '\0';
	loglines = 0;
}

#endif
