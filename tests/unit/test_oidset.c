/* Unit tests of the set of object ids (oidset.h), one function per case. */
#include "error.h"
#include "oidset.h"
#include "tap.h"

#include <string.h>

/* A distinct id for each n: its bytes spell n, the rest zero. */
static ug_oid id_of(unsigned n)
{
	ug_oid oid;

	memset(&oid, 0, sizeof(oid));
	memcpy(oid.id, &n, sizeof(n));
	return oid;
}

static void test_an_empty_set_contains_nothing(void)
{
	ug_oidset s = { 0 };
	ug_oid a = id_of(1);

	ok(!ug_oidset_contains(&s, &a), "an empty set contains nothing");
	is_int((long long)s.count, 0, "an empty set counts 0");
	ug_oidset_release(&s);
	ug_oidset_release(NULL);
	ok(s.slots == NULL && s.cap == 0, "release of an empty set (and of NULL) is harmless");
}

static void test_insert_then_contains(void)
{
	ug_oidset s = { 0 };
	ug_oid a = id_of(1), b = id_of(2);

	is_int(ug_oidset_add(&s, &a), 1, "add of a new id: 1");
	ok(ug_oidset_contains(&s, &a), "the id added is in");
	ok(!ug_oidset_contains(&s, &b), "an id not added is not");
	is_int((long long)s.count, 1, "one id counted");
	ug_oidset_release(&s);
	ok(s.count == 0 && s.slots == NULL, "release empties the set");
}

static void test_a_duplicate_is_added_once(void)
{
	ug_oidset s = { 0 };
	ug_oid a = id_of(7), again = id_of(7);

	is_int(ug_oidset_add(&s, &a), 1, "first add: 1");
	is_int(ug_oidset_add(&s, &again), 0, "add of an equal id: 0 (there already)");
	is_int((long long)s.count, 1, "a duplicate is counted once");
	ug_oidset_release(&s);
}

static void test_the_set_grows_and_keeps_every_id(void)
{
	enum { N = 5000 };
	ug_oidset s = { 0 };
	size_t first_cap;
	bool all = true, none = true;
	ug_oid x = id_of(0);

	ug_oidset_add(&s, &x);
	first_cap = s.cap;
	for (unsigned i = 1; i < N; i++) {
		x = id_of(i);
		if (ug_oidset_add(&s, &x) != 1)
			all = false;
	}
	ok(all, "%d distinct ids each added once", N);
	is_int((long long)s.count, N, "all counted");
	ok(s.cap > first_cap && (s.cap & (s.cap - 1)) == 0 && s.cap >= 2 * s.count,
	   "the set grew, a power of two at most half full (cap %zu)", s.cap);
	for (unsigned i = 0; i < N; i++) {
		x = id_of(i);
		all = all && ug_oidset_contains(&s, &x);
		x = id_of(N + i);
		none = none && !ug_oidset_contains(&s, &x);
	}
	ok(all, "every id is still in after growing");
	ok(none, "no id that was not added is in");
	ug_oidset_release(&s);
}

static const struct tap_case cases[] = {
	TAP_CASE("oidset: an empty set contains nothing", test_an_empty_set_contains_nothing),
	TAP_CASE("oidset: insert then contains", test_insert_then_contains),
	TAP_CASE("oidset: a duplicate is added once", test_a_duplicate_is_added_once),
	TAP_CASE("oidset: the set grows and keeps every id", test_the_set_grows_and_keeps_every_id),
};

int main(void)
{
	return TAP_RUN(cases);
}
