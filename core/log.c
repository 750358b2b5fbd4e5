/* The core's log sink. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static void stderr_sink(ug_log_level level, const char *line)
{
	(void)level;
	fprintf(stderr, "ugitfs: %s\n", line);
}

static ug_log_sink sink = stderr_sink;
static ug_log_level max_level = UG_LOG_INFO;

void ug_log_set_sink(ug_log_sink s)
{
	sink = s ? s : stderr_sink;
}

void ug_log_set_level(ug_log_level max)
{
	max_level = max;
}

void ug_log(ug_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sink(level, line);
}
