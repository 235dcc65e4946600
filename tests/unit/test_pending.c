/* test_pending.c - the record of pending removals: its key, the reader's
 * refusals and their messages, the atomic write and load round trip,
 * reconciliation with a topology, and the updates a change makes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vcpuctl/output.h"
#include "vcpuctl/pending.h"

static const struct pending_key key = {
	.socket = "2049-4242", .pid = 4242, .start = 123456, .qemu = "",
};

#define HEAD "{\"format\":\"vcpuctl-pending/1\",\"socket\":\"2049-4242\"," \
	"\"qemu_pid\":4242,\"qemu_start\":123456,\"qemu_version\":\"\""
#define E1 "{\"vcpu\":1,\"count\":1,\"device_id\":\"vcpu1\"," \
	"\"qom_path\":\"/machine/peripheral/vcpu1\",\"requested_at\":100,\"timeout_ms\":5000}"
#define E2 "{\"vcpu\":2,\"count\":1,\"device_id\":\"vcpu2\"," \
	"\"qom_path\":\"/machine/peripheral/vcpu2\",\"requested_at\":90,\"timeout_ms\":0}"
#define E3 "{\"vcpu\":3,\"count\":1,\"device_id\":\"vcpu3\"," \
	"\"qom_path\":\"/machine/peripheral/vcpu3\",\"requested_at\":90,\"timeout_ms\":0}"

/* vCPU 0 boot, 1-2 plugged as vcpu1, vcpu2; 3 offline. */
static const char hotpluggable[] =
	"[{\"props\":{\"socket-id\":3},\"vcpus-count\":1,\"type\":\"t\"},"
	"{\"props\":{\"socket-id\":2},\"vcpus-count\":1,"
	"\"qom-path\":\"/machine/peripheral/vcpu2\",\"type\":\"t\"},"
	"{\"props\":{\"socket-id\":1},\"vcpus-count\":1,"
	"\"qom-path\":\"/machine/peripheral/vcpu1\",\"type\":\"t\"},"
	"{\"props\":{\"socket-id\":0},\"vcpus-count\":1,"
	"\"qom-path\":\"/machine/unattached/device[0]\",\"type\":\"t\"}]";

static void parse_ok(const char *text, struct pending *p)
{
	struct vc_err why = { 0 };

	if (pending_parse(text, strlen(text), &key, p, &why) < 0) {
		print_error("parse failed: %s\n", why.msg);
		fail();
	}
}

static void assert_refused(const char *text, const char *want)
{
	struct vc_err why = { 0 };
	struct pending p;

	assert_int_equal(pending_parse(text, strlen(text), &key, &p, &why), -1);
	assert_int_equal(p.n, 0);
	assert_null(p.e);
	if (!strstr(why.msg, want)) {
		print_error("got '%s', want '%s'\n", why.msg, want);
		fail();
	}
}

static void test_parse_and_format(void **state)
{
	struct pending p, again;
	char *text;

	(void)state;
	parse_ok(HEAD ",\"entries\":[" E1 "," E2 "]}", &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.e[0].vcpu, 1);
	assert_string_equal(p.e[1].qom_path, "/machine/peripheral/vcpu2");
	assert_int_equal(p.e[0].timeout_ms, 5000);
	text = pending_vcpus_text(&p);
	assert_string_equal(text, "1-2");
	free(text);
	text = pending_format(&p);
	assert_non_null(text);
	parse_ok(text, &again);
	assert_int_equal(again.n, 2);
	assert_int_equal(again.e[1].requested_at, 90);
	free(text);
	pending_free(&again);
	pending_free(&p);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_refused("{\"format\":", "not a record: not JSON");
	assert_refused("[]", "not a record: 'format'");
	assert_refused(HEAD "}", "no 'entries' array");
	assert_refused(HEAD ",\"entries\":[" E1 "," E1 "]}", "vCPU 1 is listed twice");
	assert_refused(HEAD ",\"entries\":[{\"vcpu\":1}]}", "entry 1: not an object of 6");
	assert_refused(HEAD ",\"entries\":[" E1 "],\"entries\":[]}", "not JSON");
	assert_refused("{\"format\":\"vcpuctl-pending/1\",\"socket\":\"2049-9\","
		       "\"qemu_pid\":4242,\"qemu_start\":123456,\"qemu_version\":\"\","
		       "\"entries\":[]}", "of another VM: socket 2049-9, not 2049-4242");
	assert_refused("{\"format\":\"vcpuctl-pending/1\",\"socket\":\"2049-4242\","
		       "\"qemu_pid\":4242,\"qemu_start\":99,\"qemu_version\":\"\","
		       "\"entries\":[]}",
		       "of an earlier QEMU on this socket: pid 4242 started at tick 99");
	assert_refused(HEAD ",\"entries\":[{\"vcpu\":1,\"count\":1,\"device_id\":\"a\\nb\","
		       "\"qom_path\":\"/x\",\"requested_at\":1,\"timeout_ms\":1}]}",
		       "'device_id' or 'qom_path' is not a device");
}

static void test_reconcile(void **state)
{
	struct vc_err err = { 0 };
	struct topology t;
	struct pending p;
	size_t done;

	(void)state;
	assert_int_equal(topo_build(&t, hotpluggable, sizeof(hotpluggable) - 1,
				    NULL, 0, 0, &err), 0);
	/* vcpu3 is gone: done, no warning.  vCPU 0 is QEMU's boot CPU:
	 * QEMU contradicts the entry, dropped with a warning. */
	parse_ok(HEAD ",\"entries\":[" E1 "," E3 ",{\"vcpu\":0,\"count\":1,"
		 "\"device_id\":\"cpu0\",\"qom_path\":\"/machine/unattached/device[0]\","
		 "\"requested_at\":1,\"timeout_ms\":0}]}", &p);
	pending_reconcile(&p, &t, &done);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.e[0].vcpu, 1);
	assert_int_equal(done, 1);
	assert_int_equal(p.n_warnings, 1);
	assert_non_null(strstr(p.warnings[0], "vCPU 0 (cpu0) dropped: QEMU has another device there"));
	assert_non_null(pending_find(&p, 1));
	assert_null(pending_find(&p, 2));
	pending_free(&p);
	topo_free(&t);
}

static void test_update_and_close(void **state)
{
	struct apply_item items[2] = {
		{ .op = PLAN_OP_DEL, .first = 2, .count = 1, .device_id = "vcpu2",
		  .qom_path = "/machine/peripheral/vcpu2", .state = APPLY_PENDING },
		{ .op = PLAN_OP_DEL, .first = 1, .count = 1, .device_id = "vcpu1",
		  .qom_path = "/machine/peripheral/vcpu1", .state = APPLY_PENDING },
	};
	struct apply_result r = { .items = items, .n = 2 };
	struct pending p;

	(void)state;
	parse_ok(HEAD ",\"entries\":[" E1 "]}", &p);
	/* A repeat keeps the time of the first request; a resend renews it. */
	assert_int_equal(pending_update(&p, &r, 200, 3000, false), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(pending_find(&p, 1)->requested_at, 100);
	assert_int_equal(pending_find(&p, 2)->requested_at, 200);
	assert_int_equal(pending_find(&p, 2)->timeout_ms, 3000);
	assert_int_equal(pending_update(&p, &r, 300, 3000, true), 0);
	assert_int_equal(pending_find(&p, 1)->requested_at, 300);
	assert_int_equal(pending_age_s(pending_find(&p, 1), 304), 4);
	assert_true(pending_overdue(pending_find(&p, 1), 304));
	assert_false(pending_overdue(pending_find(&p, 1), 302));
	items[0].state = APPLY_REMOVED;
	assert_int_equal(pending_update(&p, &r, 300, 3000, false), 0);
	assert_null(pending_find(&p, 2));
	/* An event's path under the device closes it; vcpu1 is no prefix
	 * of vcpu10. */
	assert_false(pending_close(&p, NULL, "/machine/peripheral/vcpu10/lapic"));
	assert_true(pending_close(&p, NULL, "/machine/peripheral/vcpu1/lapic"));
	assert_int_equal(p.n, 0);
	pending_free(&p);
}

static void test_store_and_load(void **state)
{
	char dir[] = "/tmp/test_pending.XXXXXX", sock[128], path[1200];
	struct vc_err err = { 0 };
	struct pending p, got;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("VCPUCTL_LOCK_DIR", dir, 1);
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	f = fopen(sock, "w");
	assert_non_null(f);
	fclose(f);
	/* Nothing there: an empty record, no warning. */
	assert_int_equal(pending_load(sock, getpid(), "10.0.2", &p, &err), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.n_warnings, 0);
	assert_int_not_equal(p.key.start, 0);
	snprintf(path, sizeof(path), "%s", p.path);
	{
		struct apply_item it = { .op = PLAN_OP_DEL, .first = 1, .count = 1,
					 .device_id = "vcpu1",
					 .qom_path = "/machine/peripheral/vcpu1",
					 .state = APPLY_PENDING };
		struct apply_result r = { .items = &it, .n = 1 };

		assert_int_equal(pending_update(&p, &r, 100, 5000, false), 0);
	}
	assert_int_equal(pending_store(&p, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(pending_load(sock, getpid(), "10.0.2", &got, &err), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.n_warnings, 0);
	pending_free(&got);
	/* Another pid on the same socket: ignored with a warning. */
	assert_int_equal(pending_load(sock, getppid(), "10.0.2", &got, &err), 0);
	assert_int_equal(got.n, 0);
	assert_int_equal(got.n_warnings, 1);
	assert_non_null(strstr(got.warnings[0], "of an earlier QEMU on this socket"));
	pending_free(&got);
	/* Damaged: ignored with a warning. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"format\":\"vcpuctl-pending/1\",", f);
	fclose(f);
	assert_int_equal(pending_load(sock, getpid(), "10.0.2", &got, &err), 0);
	assert_int_equal(got.n, 0);
	assert_non_null(strstr(got.warnings[0], "ignored: not a record: not JSON"));
	pending_free(&got);
	/* No entries left: the file goes. */
	p.n = 0;
	assert_int_equal(pending_store(&p, &err), 0);
	assert_int_equal(stat(path, &st), -1);
	p.n = 1;
	pending_free(&p);
	unlink(sock);
	rmdir(dir);
	unsetenv("VCPUCTL_LOCK_DIR");
}

/* show: STATE removing, the removal member, the summary line; count's
 * pending. */
static void test_show_and_count(void **state)
{
	struct vc_err err = { 0 };
	struct topology t;
	struct pending p;
	struct out_show s = { .t = &t, .pend = &p, .now = 140 };
	char *buf = NULL;
	size_t len = 0;
	json_t *doc;
	FILE *f;

	(void)state;
	assert_int_equal(topo_build(&t, hotpluggable, sizeof(hotpluggable) - 1,
				    NULL, 0, 0, &err), 0);
	parse_ok(HEAD ",\"entries\":[" E1 "]}", &p);
	f = open_memstream(&buf, &len);
	assert_int_equal(out_show_table(&s, "INDEX,STATE", f, &err), 0);
	fclose(f);
	assert_non_null(strstr(buf, "    1  removing\n"));
	assert_non_null(strstr(buf, "    2  online\n"));
	assert_non_null(strstr(buf, "\n1 removal pending for 40 s, overdue: past the 5 s "
			       "timeout of the command that asked\n"));
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(out_show_doc(&s, f), 0);
	fclose(f);
	doc = json_loads(buf, 0, NULL);
	assert_non_null(doc);
	free(buf);
	assert_int_equal(json_integer_value(json_object_get(doc, "pending")), 1);
	buf = json_dumps(json_object_get(json_array_get(json_object_get(doc, "vcpus"), 1),
					 "removal"), JSON_COMPACT);
	assert_string_equal(buf, "{\"requested_at\":\"1970-01-01T00:01:40Z\","
			    "\"age_s\":40,\"overdue\":true}");
	free(buf);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(doc, "vcpus"), 2),
						 "removal")));
	json_decref(doc);
	f = open_memstream(&buf, &len);
	assert_int_equal(out_count_doc(f, &t, &p), 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"removable\":2,\"pending\":1,"));
	free(buf);
	pending_free(&p);
	topo_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_reconcile),
		cmocka_unit_test(test_update_and_close),
		cmocka_unit_test(test_store_and_load),
		cmocka_unit_test(test_show_and_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
