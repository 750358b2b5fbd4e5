/* Unit tests of growing arrays (array.h), one function per case. */
#include "array.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

static void test_an_empty_array_starts_at_first(void)
{
	size_t cap = 0;
	int *v = ug_array_grow(NULL, &cap, 1, sizeof(*v), 16);

	require(v != NULL, "room for one element in an empty array");
	is_int((long long)cap, 16, "an empty array grows to first elements");
	v[15] = 7; /* the room is real (the sanitizers check) */
	free(v);
	cap = 0;
	v = ug_array_grow(NULL, &cap, 0, sizeof(*v), 4);
	ok(v != NULL && cap == 4, "no array and no need: still an array, so NULL means failure only");
	free(v);
}

static void test_room_already_there_changes_nothing(void)
{
	size_t cap = 8;
	int *v = malloc(cap * sizeof(*v));
	int *w;

	require(v != NULL, "an array of 8");
	w = ug_array_grow(v, &cap, 8, sizeof(*v), 2);
	ok(w == v, "need within the room: the same array");
	is_int((long long)cap, 8, "need within the room: the same capacity");
	free(w);
}

static void test_a_full_array_doubles_and_keeps_its_elements(void)
{
	size_t cap = 0, n = 0;
	unsigned *v = NULL;
	bool kept = true;

	for (unsigned i = 0; i < 1000; i++) {
		unsigned *w = ug_array_grow(v, &cap, n + 1, sizeof(*v), 4);

		require(w != NULL, "growing to %u elements", i + 1);
		v = w;
		v[n++] = i;
	}
	for (unsigned i = 0; i < 1000; i++)
		kept = kept && v[i] == i;
	ok(kept, "every element kept through the moves");
	is_int((long long)cap, 1024, "capacity doubled from 4: 1024 for 1000");
	free(v);
}

static void test_need_past_twice_the_room_is_met(void)
{
	size_t cap = 4;
	char *v = malloc(cap);
	char *w;

	require(v != NULL, "an array of 4");
	w = ug_array_grow(v, &cap, 100, 1, 2);
	require(w != NULL, "room for 100");
	is_int((long long)cap, 100, "need beyond twice the room: exactly need");
	w[99] = 1;
	free(w);
}

static void test_a_size_past_size_max_is_refused(void)
{
	size_t cap = 4;
	char *v = malloc(4 * 16);
	char *w;

	require(v != NULL, "an array of 4");
	w = ug_array_grow(v, &cap, SIZE_MAX / 8, 16, 2);
	ok(w == NULL, "a size in bytes past SIZE_MAX: refused");
	is_int((long long)cap, 4, "refused: the capacity as it was");
	w = ug_array_grow(v, &cap, 5, 16, 2);
	ok(w != NULL && cap == 8, "refused: the array still usable");
	free(w ? w : v);
}

static const struct tap_case cases[] = {
	TAP_CASE("array: an empty array starts at first", test_an_empty_array_starts_at_first),
	TAP_CASE("array: room already there changes nothing", test_room_already_there_changes_nothing),
	TAP_CASE("array: a full array doubles and keeps its elements",
		 test_a_full_array_doubles_and_keeps_its_elements),
	TAP_CASE("array: need past twice the room is met", test_need_past_twice_the_room_is_met),
	TAP_CASE("array: a size past SIZE_MAX is refused", test_a_size_past_size_max_is_refused),
};

int main(void)
{
	return TAP_RUN(cases);
}
