/* A minimal TAP producer for the core's unit tests: ok(), is_int(), done_testing(). */
#ifndef UG_TAP_H
#define UG_TAP_H

#include <stdbool.h>

/* Report one check; returns cond. The description is a printf format. */
bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Print the plan and return the exit status: 0 when every check passed. */
int tap_done(void);
/* A diagnostic line ("# ..."). */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ok(cond, ...) tap_ok((cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define done_testing() tap_done()

#endif
