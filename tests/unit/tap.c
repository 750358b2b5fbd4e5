/* The TAP producer behind tap.h. Single-threaded use. */
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>

static int count, failed;

static bool report(bool cond, const char *file, int line, const char *fmt, va_list ap)
{
	count++;
	if (!cond)
		failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", count);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(cond, file, line, fmt, ap);
	va_end(ap);
	return r;
}

bool tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(got == want, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#   got %lld, want %lld\n", got, want);
	return r;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int tap_done(void)
{
	printf("1..%d\n", count);
	if (count == 0) {
		printf("# no checks ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
