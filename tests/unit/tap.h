/* A minimal TAP producer for the core's unit tests: named cases run by tap_run(), checked by ok(). */
#ifndef UG_TAP_H
#define UG_TAP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A test file is a table of cases and a main() that runs it:
 *
 *	static void blob_id_is_gits(void) { require(...); ok(...); }
 *	static const struct tap_case cases[] = {
 *		TAP_CASE("oid: a blob's id is git's", blob_id_is_gits),
 *		TAP_ROWS("delta: refused", refused_row, NBAD, bad_name), // one case per row
 *	};
 *	int main(void) { return TAP_RUN(cases); }
 *
 * tap_run() prints the plan first, then one "ok N - name" or "not ok N - name" per case: a
 * case fails when any of its checks fails (each failure is told in "# " lines) or when it made
 * no check at all. require() fails the case and returns from it, for setup a case cannot go on
 * without.
 */
struct tap_case {
	const char *name;
	void (*run)(void);
	/*
	 * Or a case per row of a table of vectors (run is NULL): run_row(i) for each of the rows,
	 * each its own TAP line "name: row_name(i)". row_name may return a static buffer.
	 */
	void (*run_row)(size_t i);
	size_t rows;
	const char *(*row_name)(size_t i);
};
/* The entries of a table: one case, or one case per row of a table of vectors. */
#define TAP_CASE(name_, run_) { .name = (name_), .run = (run_) }
#define TAP_ROWS(name_, run_row_, rows_, row_name_) \
	{ .name = (name_), .run_row = (run_row_), .rows = (rows_), .row_name = (row_name_) }

/* Run the cases in order; returns the exit status: 0 when every case passed. */
int tap_run(const struct tap_case *cases, size_t n);
#define TAP_RUN(cases) tap_run((cases), sizeof(cases) / sizeof((cases)[0]))

/*
 * One check; returns cond. The description is a printf format. Inside a case it is told only
 * when it fails (or, with TAP_VERBOSE set in the environment, as "#   ok: ..." when it passes);
 * outside tap_run() (the old style) every check is a TAP line of its own.
 */
bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The old style: print the plan after the checks and return the exit status. */
int tap_done(void);
/* A diagnostic line ("# ..."). */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ok(cond, ...) tap_ok((cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define done_testing() tap_done()

/* A check the rest of the case depends on: on failure the case fails and returns. */
#define require(cond, ...)                  \
	do {                                \
		if (!ok((cond), __VA_ARGS__)) \
			return;             \
	} while (0)
#define require_int(got, want, ...)                  \
	do {                                         \
		if (!is_int((got), (want), __VA_ARGS__)) \
			return;                      \
	} while (0)

#endif
