/* test_resize_guest.c - the guest steps of a change (resize_guest.c)
 * where no agent answers, and the renderings of their outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/output.h"
#include "vcpuctl/resize.h"

static void test_outcome_text_json(void **state)
{
	struct resize_guest_vcpu items[] = {
		{ 1, 1, RESIZE_GUEST_ONLINE }, { 2, 2, RESIZE_GUEST_ONLINE },
		{ 3, -1, RESIZE_GUEST_ABSENT },
	};
	struct resize_guest_outcome o = {
		.online = true, .items = items, .n = 3, .how = GMAP_ACPI,
		.code = VC_EXIT_NOT_ONLINE,
		.error = (char *)"the guest has not seen vCPU 3 within 5 s",
	};
	struct apply_result r = { .online_after = -1 };
	json_t *all, *doc;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	out_guest_outcome_text(f, &o);
	fclose(f);
	assert_string_equal(buf, "guest: vCPUs 1-2 online; vCPU 3 absent "
			    "(the guest has not seen vCPU 3 within 5 s)\n");
	free(buf);
	buf = NULL;
	/* The result document's "guest" member. */
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(out_result_doc(f, "set", NULL, NULL, &r, &o, NULL), 0);
	fclose(f);
	all = json_loads(buf, 0, NULL);
	free(buf);
	assert_non_null(all);
	doc = json_incref(json_object_get(all, "guest"));
	json_decref(all);
	assert_non_null(doc);
	assert_false(json_is_true(json_object_get(doc, "ok")));
	assert_string_equal(json_string_value(json_object_get(doc, "mapping")), "acpi");
	assert_int_equal(json_array_size(json_object_get(doc, "vcpus")), 3);
	assert_true(json_is_null(json_object_get(json_array_get(
		json_object_get(doc, "vcpus"), 2), "guest_cpu")));
	json_decref(doc);
}

static void test_no_path_is_a_no_op(void **state)
{
	struct agent_opts o;
	struct agent_link l;
	struct resize_guest_outcome out;
	struct apply_item it = { .op = PLAN_OP_ADD, .first = 1, .count = 1,
				 .state = APPLY_PLUGGED };
	struct apply_result r = { .items = &it, .n = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	agent_opts_init(&o);
	agent_link_init(&l, &o);
	assert_int_equal(resize_guest_online_after_plug(&l, NULL, &r, 1000, &out), 0);
	assert_int_equal(out.n, 0);
	/* Nothing to say for a step that did nothing. */
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	out_guest_outcome_text(f, &out);
	fclose(f);
	assert_int_equal(len, 0);
	free(buf);
	resize_guest_outcome_free(&out);
	o.path = "/nonexistent/qga.sock";
	o.timeout_ms = 300;
	assert_int_equal(resize_guest_online_after_plug(&l, NULL, &r, 1000, &out),
			 VC_EXIT_NOT_ONLINE);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.items[0].state, RESIZE_GUEST_NOT_TRIED);
	assert_non_null(strstr(out.error, "no such socket"));
	resize_guest_outcome_free(&out);
	/* The open is tried once per command: a later step gets its error. */
	assert_int_equal(resize_guest_online_after_plug(&l, NULL, &r, 1000, &out),
			 VC_EXIT_NOT_ONLINE);
	assert_non_null(strstr(out.error, "no such socket"));
	resize_guest_outcome_free(&out);
	agent_link_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_text_json),
		cmocka_unit_test(test_no_path_is_a_no_op),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
