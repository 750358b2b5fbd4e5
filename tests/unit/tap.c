/* The TAP producer behind tap.h. Single-threaded use. */
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Checks made so far and how many failed; in_case while tap_run() runs a case. */
static int count, failed;
static bool in_case;

static bool report(bool cond, const char *file, int line, const char *fmt, va_list ap)
{
	count++;
	if (!cond)
		failed++;
	if (in_case) {
		/* the case's TAP line comes after it: a failed check is told as diagnostics,
		 * a passing one only when TAP_VERBOSE is set */
		if (!cond || getenv("TAP_VERBOSE")) {
			if (cond)
				printf("#   ok: ");
			else
				printf("#   failed at %s:%d: ", file, line);
			vprintf(fmt, ap);
			printf("\n");
		}
		fflush(stdout);
		return cond;
	}
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
	fflush(stdout);
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

/* Run one case (run() or, when it is NULL, run_row(row)); true when it passed. */
static bool run_one(const struct tap_case *c, size_t row, size_t number)
{
	int count0 = count, failed0 = failed;
	bool pass;

	in_case = true;
	if (c->run)
		c->run();
	else
		c->run_row(row);
	in_case = false;
	pass = failed == failed0 && count > count0;
	if (count == count0)
		printf("#   the case made no check\n");
	if (c->run)
		printf("%s %zu - %s\n", pass ? "ok" : "not ok", number, c->name);
	else
		printf("%s %zu - %s: %s\n", pass ? "ok" : "not ok", number, c->name, c->row_name(row));
	fflush(stdout);
	return pass;
}

int tap_run(const struct tap_case *cases, size_t n)
{
	size_t i, row, total = 0, number = 0, cases_failed = 0;

	for (i = 0; i < n; i++)
		total += cases[i].run ? 1 : cases[i].rows;
	printf("1..%zu\n", total);
	fflush(stdout);
	for (i = 0; i < n; i++)
		for (row = 0; row < (cases[i].run ? 1 : cases[i].rows); row++)
			cases_failed += !run_one(&cases[i], row, ++number);
	printf("# %d checks in %zu cases, %zu cases failed\n", count, total, cases_failed);
	return cases_failed ? 1 : 0;
}
