/* test_jsonstream.c - framing of JSON objects in a byte stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vcpuctl/jsonstream.h"

/* Feed all of s in one go and collect every complete message into an
 * array (new reference).  Asserts the stream stays well-formed. */
static json_t *feed_all(struct jstream *js, const char *s, size_t n)
{
	struct vc_err err;
	json_t *all = json_array(), *msg;
	int r;

	assert_int_equal(js_feed(js, s, n, &err), 0);
	while ((r = js_next(js, &msg, &err)) == 1)
		json_array_append_new(all, msg);
	assert_int_equal(r, 0);
	return all;
}

static void test_split_every_boundary(void **state)
{
	static const char two[] =
		"{\"return\": {\"a\": \"}{\\\"\"}, \"id\": \"vc-1\"}\r\n"
		"{\"event\": \"X\", \"data\": [1, {\"b\": []}]}\r\n";
	size_t n = strlen(two), cut;
	struct vc_err err;
	json_t *msg;

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		struct jstream js;
		json_t *got = json_array();
		int r;

		js_init(&js);
		assert_int_equal(js_feed(&js, two, cut, &err), 0);
		while ((r = js_next(&js, &msg, &err)) == 1)
			json_array_append_new(got, msg);
		assert_int_equal(r, 0);
		assert_int_equal(js_feed(&js, two + cut, n - cut, &err), 0);
		while ((r = js_next(&js, &msg, &err)) == 1)
			json_array_append_new(got, msg);
		assert_int_equal(r, 0);
		assert_int_equal(json_array_size(got), 2);
		assert_string_equal(json_string_value(json_object_get(
			json_object_get(json_array_get(got, 0), "return"), "a")),
			"}{\"");
		assert_string_equal(json_string_value(json_object_get(
			json_array_get(got, 1), "event")), "X");
		json_decref(got);
		js_free(&js);
	}
}

static void test_many_in_one_feed(void **state)
{
	struct jstream js;
	char *s = malloc(100 * 40), *p = s;
	json_t *all;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		p += sprintf(p, "{\"event\": \"E\", \"n\": %d}\r\n", i);
	js_init(&js);
	all = feed_all(&js, s, (size_t)(p - s));
	assert_int_equal(json_array_size(all), 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(json_integer_value(json_object_get(
			json_array_get(all, (size_t)i), "n")), i);
	json_decref(all);
	js_free(&js);
	free(s);
}

static void test_pretty_printed(void **state)
{
	static const char pretty[] =
		"{\n    \"return\": [\n        {\n            \"props\": {\n"
		"                \"core-id\": 1\n            }\n        }\n"
		"    ],\n    \"id\": \"vc-3\"\n}\n"
		"{\n    \"event\": \"RESUME\"\n}\n";
	struct jstream js;
	json_t *all;
	size_t i;

	(void)state;
	js_init(&js);
	/* Line by line, as a pretty monitor writes it. */
	all = json_array();
	for (i = 0; i < strlen(pretty);) {
		const char *nl = strchr(pretty + i, '\n');
		size_t len = (size_t)(nl - (pretty + i)) + 1;
		json_t *part = feed_all(&js, pretty + i, len);

		json_array_extend(all, part);
		json_decref(part);
		i += len;
	}
	assert_int_equal(json_array_size(all), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(all, 0), "id")), "vc-3");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(all, 1), "event")), "RESUME");
	json_decref(all);
	js_free(&js);
}

static void test_strings_with_braces(void **state)
{
	static const char s[] =
		"{\"desc\": \"a { b [ c \\\\\", \"x\": \"\\\"}\\\\\\\"{\"}";
	struct jstream js;
	json_t *all;

	(void)state;
	js_init(&js);
	all = feed_all(&js, s, strlen(s));
	assert_int_equal(json_array_size(all), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(all, 0), "desc")), "a { b [ c \\");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(all, 0), "x")), "\"}\\\"{");
	json_decref(all);
	js_free(&js);
}

/* js_skip_value(): a string ends at the first quote after an even run
 * of backslashes; braces and quotes inside strings do not count. */
static void test_skip_value_escapes(void **state)
{
	static const struct { const char *text; size_t len; } cases[] = {
		{ "\"a\",", 3 },
		{ "\"\",", 2 },
		{ "\"a\\\"\",", 5 },            /* "a\""     */
		{ "\"a\\\\\",", 5 },            /* "a\\"     */
		{ "\"a\\\\\\\"b\",", 8 },       /* "a\\\"b"  */
		{ "\"\\\\\\\\\",", 6 },         /* "\\\\"    */
		{ "{\"k\": \"x\\\"}\", \"j\": [1]},", 23 },
		{ "[\"]\", \"\\\\\"]]", 11 },
		{ "\"open\\\"", 7 },            /* no closing quote: the end */
		{ "12,", 2 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text, *end = t + strlen(t);

		assert_int_equal(js_skip_value(t, end) - t, cases[i].len);
	}
}

/* js_key_is(): a key's raw bytes against a name, escapes decoded. */
static void test_key_is(void **state)
{
	static const struct { const char *key; const char *name; bool is; } cases[] = {
		{ "core-id", "core-id", true },
		{ "core", "core-id", false },
		{ "core-idx", "core-id", false },
		{ "", "", true },
		{ "", "a", false },
		{ "core\\u002did", "core-id", true },
		{ "\\u0063ore-id", "core-id", true },
		{ "core\\u002dix", "core-id", false },
		{ "cor\\u0065", "core", true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(js_key_is(cases[i].key, strlen(cases[i].key),
					   cases[i].name), cases[i].is);
}

static void test_ff_and_whitespace_skipped(void **state)
{
	static const char s[] = "\xff\xff \r\n\t{\"return\": 1}\xff\r\n{\"a\": 2}\xff";
	struct jstream js;
	json_t *all;

	(void)state;
	js_init(&js);
	all = feed_all(&js, s, sizeof(s) - 1);
	assert_int_equal(json_array_size(all), 2);
	json_decref(all);
	js_free(&js);
}

/* Feed s, then take messages until an error; returns the error text. */
static int expect_error(const char *s, size_t n, struct vc_err *err)
{
	struct jstream js;
	json_t *msg;
	int r, got = 0;

	js_init(&js);
	if (js_feed(&js, s, n, err) == 0) {
		while ((r = js_next(&js, &msg, err)) == 1) {
			json_decref(msg);
			got++;
		}
		assert_int_equal(r, -1);
	}
	assert_int_equal(err->code, VC_EXIT_CONN);
	js_free(&js);
	return got;
}

static void test_stray_garbage(void **state)
{
	static const char s[] = "{\"a\": 1}\r\nhello {\"b\": 2}";
	struct vc_err err;

	(void)state;
	/* The message before the garbage still comes out. */
	assert_int_equal(expect_error(s, strlen(s), &err), 1);
	assert_non_null(strstr(err.msg, "0x68"));
	expect_error("[1, 2]", 6, &err);
	assert_non_null(strstr(err.msg, "not an object"));
	expect_error("{\"a\": }", 7, &err);
	assert_non_null(strstr(err.msg, "malformed JSON"));
}

/* {"a": [[...]]} nested depth levels deep, counting the outer object. */
static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 16), *p = s;
	int i;

	p += sprintf(p, "{\"a\": ");
	for (i = 1; i < depth; i++)
		*p++ = '[';
	p += sprintf(p, "\"[{\"");
	for (i = 1; i < depth; i++)
		*p++ = ']';
	strcpy(p, "}");
	return s;
}

static void test_too_deep(void **state)
{
	struct vc_err err;
	struct jstream js;
	json_t *all;
	char *s;

	(void)state;
	s = nested(JS_MAX_DEPTH + 1);
	expect_error(s, strlen(s), &err);
	assert_non_null(strstr(err.msg, "deeper than 64"));
	free(s);

	/* Exactly at the limit is fine, and brackets in strings do not
	 * count. */
	s = nested(JS_MAX_DEPTH);
	js_init(&js);
	all = feed_all(&js, s, strlen(s));
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);
	js_free(&js);
	free(s);
}

static void test_oversize(void **state)
{
	size_t n = JS_MAX_MESSAGE + 16, i;
	char *s = malloc(n);
	struct vc_err err;
	struct jstream js;
	int r = 0;

	(void)state;
	memcpy(s, "{\"a\": \"", 7);
	memset(s + 7, 'x', n - 7);
	js_init(&js);
	for (i = 0; i < n && r == 0; i += 65536)
		r = js_feed(&js, s + i, n - i < 65536 ? n - i : 65536, &err);
	assert_int_equal(r, -1);
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg, "message exceeds 8 MiB limit");
	js_free(&js);
	free(s);
}

/* {"return": ["xxx...", ...], "id": "big"} of about 4 MiB. */
static char *big_message(size_t *len)
{
	size_t cap = 4u * 1024 * 1024 + 4096, n = 0;
	char *s = malloc(cap);
	int i;

	n += (size_t)sprintf(s, "{\"return\": [");
	for (i = 0; n < 4u * 1024 * 1024; i++) {
		n += (size_t)sprintf(s + n, "%s{\"k\": \"v\\\"%d}\", \"p\": [%d]}",
				     i ? ", " : "", i, i);
	}
	n += (size_t)sprintf(s + n, "], \"id\": \"big\"}\r\n");
	*len = n;
	return s;
}

static void big_in_chunks(size_t chunk)
{
	struct jstream js;
	struct vc_err err;
	json_t *msg = NULL, *arr;
	size_t len, i, n;
	char *s = big_message(&len);

	js_init(&js);
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		assert_int_equal(js_feed(&js, s + i, n, &err), 0);
		/* Nothing comes out until the closing brace is in. */
		if (i + n < len - 2)
			assert_int_equal(js_next(&js, &msg, &err), 0);
	}
	assert_int_equal(js_next(&js, &msg, &err), 1);
	assert_string_equal(json_string_value(json_object_get(msg, "id")), "big");
	arr = json_object_get(msg, "return");
	assert_true(json_array_size(arr) > 100000);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(arr, 7), "k")), "v\"7}");
	json_decref(msg);
	assert_int_equal(js_next(&js, &msg, &err), 0);
	js_free(&js);
	free(s);
}

static void test_big_7_byte_chunks(void **state)
{
	(void)state;
	big_in_chunks(7);
}

static void test_big_64k_chunks(void **state)
{
	(void)state;
	big_in_chunks(65536);
}

static void test_reset(void **state)
{
	struct jstream js;
	struct vc_err err;
	json_t *msg;

	(void)state;
	js_init(&js);
	assert_int_equal(js_feed(&js, "{\"a\": \"half", 11, &err), 0);
	js_reset(&js);
	assert_int_equal(js_feed(&js, "{\"b\": 1}", 8, &err), 0);
	assert_int_equal(js_next(&js, &msg, &err), 1);
	assert_non_null(json_object_get(msg, "b"));
	json_decref(msg);
	assert_int_equal(js_next(&js, &msg, &err), 0);
	assert_null(msg);
	js_free(&js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_every_boundary),
		cmocka_unit_test(test_many_in_one_feed),
		cmocka_unit_test(test_pretty_printed),
		cmocka_unit_test(test_strings_with_braces),
		cmocka_unit_test(test_skip_value_escapes),
		cmocka_unit_test(test_key_is),
		cmocka_unit_test(test_ff_and_whitespace_skipped),
		cmocka_unit_test(test_stray_garbage),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_big_7_byte_chunks),
		cmocka_unit_test(test_big_64k_chunks),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
