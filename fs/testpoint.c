/* Test points: named places in the daemon where tests kill it or hold it, as the environment asks at start. */
#include "fs_internal.h"

#include "log.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A copy of variable name's value (malloc'ed), NULL when unset or out of memory (then said). */
static char *env_copy(const char *name)
{
	const char *value = getenv(name);
	char *copy = value ? strdup(value) : NULL;

	if (value && !copy)
		ug_log(UG_LOG_WARNING, "%s ignored: out of memory", name);
	return copy;
}

void testpoint_init(struct testpoint *tp)
{
	char *colon;

	memset(tp, 0, sizeof(*tp));
	tp->kill_at = env_copy("UGITFS_TEST_KILL_AT");
	tp->hold_at = env_copy("UGITFS_TEST_HOLD_AT");
	if (!tp->hold_at)
		return;
	colon = strchr(tp->hold_at, ':'); /* the point's name has none, the file's may */
	if (colon && colon[1] && asprintf(&tp->held, "%s.held", colon + 1) >= 0) {
		*colon = '\0';
		tp->hold_file = colon + 1;
		return;
	}
	ug_log(UG_LOG_WARNING, "UGITFS_TEST_HOLD_AT ignored: not <point>:<file>, or out of memory");
	free(tp->hold_at);
	tp->hold_at = NULL;
	tp->held = NULL;
}

void testpoint_release(struct testpoint *tp)
{
	free(tp->kill_at);
	free(tp->hold_at);
	free(tp->held);
	memset(tp, 0, sizeof(*tp));
}

/* Hold here while the hold file exists, having made the ".held" file that says so. */
static void hold(const struct testpoint *tp)
{
	int fd;

	if (access(tp->hold_file, F_OK))
		return;
	fd = open(tp->held, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	while (access(tp->hold_file, F_OK) == 0)
		usleep(10000);
}

void testpoint_pass(const struct testpoint *tp, const char *point)
{
	if (tp->kill_at && !strcmp(tp->kill_at, point))
		raise(SIGKILL);
	if (tp->hold_at && !strcmp(tp->hold_at, point))
		hold(tp);
}
