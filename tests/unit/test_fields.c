/* test_fields.c - the column model: a field entry gives both the table
 * cell and the JSON member, -o picks columns, and the writer's bytes are
 * jansson's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vcpuctl/fields.h"
#include "vcpuctl/output.h"
#include "vcpuctl/topology.h"

static const char *const names[] = { "alpha", "b\"eta", "gamma" };

static void get_name(const void *c, size_t i, struct fv *v)
{
	(void)c;
	fv_str(v, names[i]);
}

static void get_weight(const void *c, size_t i, struct fv *v)
{
	(void)c;
	fv_int_or_null(v, i == 1 ? -1 : (long long)(i * 100));
}

/* The new per-row field: one entry, nothing else. */
static void get_probe(const void *c, size_t i, struct fv *v)
{
	(void)c;
	fv_int(v, 4000 + (long long)i);
}

static const struct field demo_fields[] = {
	{ .key = "name", .header = "NAME", .type = FT_STRING, .get = get_name },
	{ .key = "weight", .header = "WEIGHT", .type = FT_INT, .right = true,
	  .get = get_weight },
	{ .key = "probe", .header = "PROBE", .type = FT_INT, .right = true,
	  .get = get_probe },
};

static const struct field_set demo = { demo_fields, 3 };

static char *render_table(const struct field_set *set, const char *spec,
			  const void *ctx, size_t n)
{
	struct field_cols cols;
	struct vc_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fields_select(set, spec, ctx, &cols, &err), 0);
	assert_int_equal(fields_table(&cols, ctx, n, f), 0);
	fclose(f);
	return buf;
}

static char *render_rows(const struct field_set *set, const void *ctx, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jw *w;

	assert_non_null(f);
	w = jw_new(f);
	jw_begin_object(w);
	jw_rows(w, "rows", set, ctx, n);
	jw_end_object(w);
	assert_int_equal(jw_end(w), 0);
	fclose(f);
	return buf;
}

static void test_one_entry_gives_cell_and_member(void **state)
{
	char *table, *json;

	(void)state;
	table = render_table(&demo, NULL, NULL, 3);
	assert_string_equal(table,
			    "NAME   WEIGHT  PROBE\n"
			    "alpha       0   4000\n"
			    "b\"eta       -   4001\n"
			    "gamma     200   4002\n");
	json = render_rows(&demo, NULL, 3);
	assert_string_equal(json,
			    "{\"rows\":[{\"name\":\"alpha\",\"weight\":0,\"probe\":4000},"
			    "{\"name\":\"b\\\"eta\",\"weight\":null,\"probe\":4001},"
			    "{\"name\":\"gamma\",\"weight\":200,\"probe\":4002}]}");
	free(table);
	free(json);
}

static void test_select_columns(void **state)
{
	struct field_cols cols;
	struct vc_err err = { 0 };
	char *table;

	(void)state;
	table = render_table(&demo, "probe,Name", NULL, 2);
	assert_string_equal(table, "PROBE  NAME\n 4000  alpha\n 4001  b\"eta\n");
	free(table);
	assert_int_equal(fields_select(&demo, "NAME,SIZE", NULL, &cols, &err), -1);
	assert_int_equal(err.code, VC_EXIT_USAGE);
	assert_string_equal(err.msg, "--output: unknown column 'SIZE'; columns: NAME,WEIGHT,PROBE");
}

/* Writer bytes equal jansson's compact ASCII dump, escapes included. */
static void test_writer_matches_jansson(void **state)
{
	char *mine, *ref;
	json_t *doc;

	(void)state;
	mine = render_rows(&demo, NULL, 3);
	doc = json_loads(mine, 0, NULL);
	assert_non_null(doc);
	ref = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	assert_string_equal(mine, ref);
	free(ref);
	json_decref(doc);
	free(mine);
}

static const char hotpluggable[] =
	"[{\"type\": \"qemu64-x86_64-cpu\", \"vcpus-count\": 1,"
	"  \"props\": {\"socket-id\": 0, \"core-id\": 1, \"thread-id\": 0}},"
	" {\"type\": \"qemu64-x86_64-cpu\", \"vcpus-count\": 1,"
	"  \"qom-path\": \"/machine/unattached/device[0]\","
	"  \"props\": {\"socket-id\": 0, \"core-id\": 0, \"thread-id\": 0}}]";
static const char cpus_fast[] =
	"[{\"cpu-index\": 0, \"qom-path\": \"/machine/unattached/device[0]\","
	"  \"thread-id\": 4242, \"target\": \"x86_64\","
	"  \"props\": {\"socket-id\": 0, \"core-id\": 0, \"thread-id\": 0}}]";

/* For show: every column that is also a member prints that member's
 * value (the text getters aside), so both come from one entry. */
static void test_show_columns_are_members(void **state)
{
	struct topology t;
	struct vc_err err = { 0 };
	json_t *doc, *row;
	struct out_show s = { .t = &t };
	char *buf = NULL, spec[64], want[64];
	size_t len = 0, k, i;
	FILE *f;

	(void)state;
	assert_int_equal(topo_build(&t, hotpluggable, strlen(hotpluggable),
				    cpus_fast, strlen(cpus_fast), 1, &err), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(out_show_doc(&s, f), 0);
	fclose(f);
	doc = json_loads(buf, 0, NULL);
	assert_non_null(doc);
	free(buf);
	for (k = 0; k < out_vcpu_fields.n; k++) {
		const struct field *fl = &out_vcpu_fields.fields[k];

		if (!fl->key || !fl->header || fl->text)
			continue;
		snprintf(spec, sizeof(spec), "%s", fl->header);
		buf = NULL;
		f = open_memstream(&buf, &len);
		assert_int_equal(out_show_table(&s, spec, f, &err), 0);
		fclose(f);
		for (i = 0; i < t.n_vcpus; i++) {
			json_t *m;

			row = json_array_get(json_object_get(doc, "vcpus"), i);
			m = json_object_get(row, fl->key);
			if (json_is_integer(m))
				snprintf(want, sizeof(want), "\n%*lld\n",
					 (int)strlen(fl->header), (long long)json_integer_value(m));
			else if (json_is_string(m))
				snprintf(want, sizeof(want), "\n%s", json_string_value(m));
			else
				snprintf(want, sizeof(want), "\n%*s", fl->right ? (int)strlen(fl->header) : 0, "-");
			if (!strstr(buf, want))
				fail_msg("column %s, vCPU %zu: want '%s' in\n%s", fl->header, i, want, buf);
		}
		free(buf);
	}
	json_decref(doc);
	topo_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_entry_gives_cell_and_member),
		cmocka_unit_test(test_select_columns),
		cmocka_unit_test(test_writer_matches_jansson),
		cmocka_unit_test(test_show_columns_are_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
