/* test_cpulist.c - cpulist_parse / cpulist_format: accepted forms, every
 * rejected form with its message, and round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vcpuctl/cpulist.h"

/* Parse s with limit and return its canonical text (caller frees). */
static char *parse_format(const char *s, size_t limit)
{
	struct cpulist l;
	struct vc_err err = { 0 };
	char *text;

	if (cpulist_parse(s, limit, &l, &err)) {
		print_error("cpulist_parse('%s') failed: %s\n", s, err.msg);
		fail();
	}
	text = cpulist_format(&l);
	assert_non_null(text);
	cpulist_free(&l);
	return text;
}

static void assert_parses_to(const char *s, size_t limit, const char *want)
{
	char *got = parse_format(s, limit);

	assert_string_equal(got, want);
	free(got);
}

static void assert_rejected(const char *s, size_t limit, const char *want_msg)
{
	struct cpulist l;
	struct vc_err err = { 0 };

	assert_int_equal(cpulist_parse(s, limit, &l, &err), -1);
	assert_int_equal(err.code, VC_EXIT_USAGE);
	assert_string_equal(err.msg, want_msg);
	assert_null(l.bits);
}

static void test_single(void **state)
{
	struct cpulist l;
	struct vc_err err = { 0 };

	(void)state;
	assert_int_equal(cpulist_parse("5", 8, &l, &err), 0);
	assert_int_equal(cpulist_count(&l), 1);
	assert_true(cpulist_has(&l, 5));
	assert_false(cpulist_has(&l, 4));
	assert_false(cpulist_has(&l, 6));
	assert_false(cpulist_has(&l, 1000));
	assert_int_equal(cpulist_next(&l, 0), 5);
	assert_int_equal(cpulist_next(&l, 5), 5);
	assert_int_equal(cpulist_next(&l, 6), -1);
	cpulist_free(&l);
}

static void test_forms(void **state)
{
	(void)state;
	assert_parses_to("4-7", 8, "4-7");
	assert_parses_to("4,6", 8, "4,6");
	assert_parses_to("0-7,^2", 8, "0-1,3-7");
	assert_parses_to("0-3,^1-2", 8, "0,3");
	assert_parses_to("7,0", 8, "0,7");
	assert_parses_to("3-3", 8, "3");
	assert_parses_to("0-2,1-5", 8, "0-5");
	/* An exclusion only takes away what came before it. */
	assert_parses_to("^1,0-3", 8, "0-3");
	assert_parses_to("0-7,^0-7,4", 8, "4");
	assert_parses_to("0", 1, "0");
	assert_parses_to("1048575", 1u << 20, "1048575");
}

static void test_count(void **state)
{
	struct cpulist l;
	struct vc_err err = { 0 };

	(void)state;
	assert_int_equal(cpulist_parse("0-99,^10-19,200", 256, &l, &err), 0);
	assert_int_equal(cpulist_count(&l), 91);
	assert_int_equal(cpulist_next(&l, 10), 20);
	assert_int_equal(cpulist_next(&l, 100), 200);
	cpulist_free(&l);
}

static void test_rejected(void **state)
{
	(void)state;
	assert_rejected("", 8, "cpulist is empty");
	assert_rejected(" 1", 8, "cpulist ' 1': ' 1' is not N or N-M");
	assert_rejected("1, 2", 8, "cpulist '1, 2': ' 2' is not N or N-M");
	assert_rejected("1 ", 8, "cpulist '1 ': '1 ' is not N or N-M");
	assert_rejected("1 - 3", 8, "cpulist '1 - 3': '1 - 3' is not N or N-M");
	assert_rejected("3-1", 8, "cpulist '3-1': '3-1' runs backwards");
	assert_rejected("8", 8, "cpulist '8': 8 is too large (the highest is 7)");
	assert_rejected("2-9", 8, "cpulist '2-9': 9 is too large (the highest is 7)");
	assert_rejected("0-3,^12", 8, "cpulist '0-3,^12': 12 is too large (the highest is 7)");
	assert_rejected("99999999999999999999999", 8,
			"cpulist '99999999999999999999999': '99999999999999999999999' is too large");
	assert_rejected("1-99999999999999999999999", 8,
			"cpulist '1-99999999999999999999999': '1-99999999999999999999999' is too large");
	assert_rejected("1,,2", 8, "cpulist '1,,2': empty item");
	assert_rejected(",1", 8, "cpulist ',1': empty item");
	assert_rejected("1,", 8, "cpulist '1,': empty item");
	assert_rejected("4-x", 8, "cpulist '4-x': '4-x' is not N or N-M");
	assert_rejected("4-", 8, "cpulist '4-': '4-' is not N or N-M");
	assert_rejected("-4", 8, "cpulist '-4': '-4' is not N or N-M");
	assert_rejected("+4", 8, "cpulist '+4': '+4' is not N or N-M");
	assert_rejected("0x4", 8, "cpulist '0x4': '0x4' is not N or N-M");
	assert_rejected("1-2-3", 8, "cpulist '1-2-3': '1-2-3' is not N or N-M");
	assert_rejected("^", 8, "cpulist '^': '' is not N or N-M");
	assert_rejected("^^1", 8, "cpulist '^^1': '^1' is not N or N-M");
	assert_rejected("r", 8, "cpulist 'r': 'r' is not N or N-M");
	assert_rejected("0-3,^0-3", 8, "cpulist '0-3,^0-3' selects nothing");
	assert_rejected("^2", 8, "cpulist '^2' selects nothing");
}

static void test_bad_limit(void **state)
{
	struct cpulist l;
	struct vc_err err = { 0 };

	(void)state;
	assert_int_equal(cpulist_parse("0", 0, &l, &err), -1);
	assert_int_equal(err.code, VC_EXIT_INTERNAL);
	assert_int_equal(cpulist_parse("0", (1u << 20) + 1, &l, &err), -1);
	assert_int_equal(err.code, VC_EXIT_INTERNAL);
}

static void test_format_round_trip(void **state)
{
	static const char *const lists[] = {
		"0-3,5,7-9", "0", "7", "0-7", "1,3,5,7", "0-1,6-7", "62-64,127",
	};
	size_t i;
	char *once, *twice;

	(void)state;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		once = parse_format(lists[i], 128);
		assert_string_equal(once, lists[i]);
		twice = parse_format(once, 128);
		assert_string_equal(twice, once);
		free(once);
		free(twice);
	}
}

static void test_format_built(void **state)
{
	struct cpulist l;
	char *text;
	size_t i;

	(void)state;
	assert_int_equal(cpulist_init(&l, 16), 0);
	text = cpulist_format(&l);
	assert_string_equal(text, "");
	free(text);
	cpulist_set(&l, 15);
	cpulist_set(&l, 0);
	cpulist_set(&l, 1);
	cpulist_set(&l, 99); /* beyond nbits: ignored */
	text = cpulist_format(&l);
	assert_string_equal(text, "0-1,15");
	free(text);
	cpulist_free(&l);

	/* Long output forces the buffer to grow. */
	assert_int_equal(cpulist_init(&l, 20000), 0);
	for (i = 0; i < 20000; i += 2)
		cpulist_set(&l, i);
	text = cpulist_format(&l);
	assert_non_null(text);
	assert_int_equal(strncmp(text, "0,2,4,", 6), 0);
	assert_string_equal(text + strlen(text) - 6, ",19998");
	free(text);
	cpulist_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_bad_limit),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_built),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
