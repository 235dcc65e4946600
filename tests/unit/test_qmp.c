/* test_qmp.c - the QMP session against a scripted peer (peer.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "peer.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/util.h"

#define GREETING \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, " \
	"\"major\": 10}, \"package\": \"Debian 1:10.0.2+ds-1~bpo12+1\"}, " \
	"\"capabilities\": [\"oob\"]}}\r\n"
#define S(t) { PEER_SEND, (t), 0, NULL }
#define X(c) { PEER_EXPECT, (c), 0, NULL }
#define OK_ID(v) S("{\"return\": " v ", \"id\": \"%ID%\"}\r\n")
#define HELLO S(GREETING), X("qmp_capabilities"), OK_ID("{}")
#define END { PEER_END, NULL, 0, NULL }

static struct qmp *open_peer(struct peer *p, const struct peer_step *script,
			     int timeout_ms, struct vc_err *err)
{
	assert_int_equal(peer_start_unix(p, script), 0);
	return qmp_open(p->path, timeout_ms, err);
}

static void close_peer(struct qmp *q, struct peer *p)
{
	qmp_close(q);
	assert_int_equal(peer_finish(p), 0);
}

static void test_greeting_and_call(void **state)
{
	static const struct peer_step script[] = {
		HELLO, X("query-status"), OK_ID("{\"running\": true}"), END,
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	json_t *r;
	char *trace = NULL;
	size_t tlen = 0;
	FILE *tf = open_memstream(&trace, &tlen);

	(void)state;
	q = open_peer(&p, script, 2000, &err);
	assert_non_null(q);
	assert_string_equal(qmp_version(q), "10.0.2");
	assert_string_equal(qmp_package(q), "Debian 1:10.0.2+ds-1~bpo12+1");
	assert_int_equal(qmp_peer_pid(q), p.pid);
	assert_int_equal(qmp_round_trips(q), 0);
	assert_true(qmp_fd(q) >= 0);
	qmp_set_trace(q, tf);
	r = qmp_call(q, "query-status", NULL, &err);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "running")));
	assert_int_equal(qmp_round_trips(q), 1);
	assert_string_equal(qmp_last_error_class(q), "");
	json_decref(r);
	fflush(tf);
	/* The capabilities took vc-1, so this command is vc-2. */
	assert_string_equal(trace,
		"> {\"execute\":\"query-status\",\"id\":\"vc-2\"}\n"
		"< {\"return\":{\"running\":true},\"id\":\"vc-2\"}\n");
	close_peer(q, &p);	/* closes tf: the session owns its trace */
	free(trace);
}

static void test_unknown_id_dropped(void **state)
{
	static const struct peer_step script[] = {
		HELLO, X("query-cpus-fast"),
		S("{\"return\": [\"stale\"], \"id\": \"vc-99\"}\r\n"
		  "{\"return\": [\"no id\"]}\r\n"),
		OK_ID("[\"mine\"]"), END,
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	json_t *r;

	(void)state;
	q = open_peer(&p, script, 2000, &err);
	assert_non_null(q);
	r = qmp_call(q, "query-cpus-fast", NULL, &err);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_array_get(r, 0)), "mine");
	assert_int_equal(qmp_event_count(q), 0);
	json_decref(r);
	close_peer(q, &p);
}

static void test_events_queued_in_order(void **state)
{
	static const struct peer_step script[] = {
		HELLO, S("{\"event\": \"EARLY\"}\r\n"), X("device_del"),
		S("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
		  "\"event\": \"DEVICE_DELETED\", \"data\": {\"n\": 1}}\r\n"),
		S("{\"event\": \"DEVICE_DELETED\", \"data\": {\"n\": 2}}\r\n"
		  "{\"event\": \"ACPI_DEVICE_OST\", \"data\": {\"n\": 3}}"),
		OK_ID("{}"), END,
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	json_t *r, *args, *ev;
	int i;

	(void)state;
	q = open_peer(&p, script, 2000, &err);
	assert_non_null(q);
	args = json_pack("{s:s}", "id", "vcpu5");
	r = qmp_call(q, "device_del", args, &err);
	json_decref(args);
	assert_non_null(r);
	json_decref(r);
	assert_int_equal(qmp_event_count(q), 4);
	assert_int_equal(qmp_wait_event(q, 0, &err), 1);
	ev = qmp_event_pop(q);
	assert_string_equal(json_string_value(json_object_get(ev, "event")),
			    "EARLY");
	json_decref(ev);
	for (i = 1; i <= 3; i++) {
		ev = qmp_event_pop(q);
		assert_non_null(ev);
		assert_int_equal(json_integer_value(json_object_get(
			json_object_get(ev, "data"), "n")), i);
		json_decref(ev);
	}
	assert_null(qmp_event_pop(q));
	assert_int_equal(qmp_event_count(q), 0);
	close_peer(q, &p);
}

static void test_error_reply(void **state)
{
	static const struct peer_step script[] = {
		HELLO, X("device_del"),
		S("{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": "
		  "\"Device 'vcpu5' not found\"}, \"id\": \"%ID%\"}\r\n"),
		X("query-status"), OK_ID("{}"), END,
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	json_t *r;

	(void)state;
	q = open_peer(&p, script, 2000, &err);
	assert_non_null(q);
	r = qmp_call(q, "device_del", NULL, &err);
	assert_null(r);
	assert_int_equal(err.code, VC_EXIT_QEMU);
	assert_string_equal(err.msg,
			    "DeviceNotFound: Device 'vcpu5' not found");
	assert_string_equal(qmp_last_error_class(q), "DeviceNotFound");
	/* The session goes on, and the class is only the last call's. */
	r = qmp_call(q, "query-status", NULL, &err);
	assert_non_null(r);
	json_decref(r);
	assert_string_equal(qmp_last_error_class(q), "");
	close_peer(q, &p);
}

static void test_malformed_replies(void **state)
{
	static const struct peer_step script[] = {
		HELLO,
		X("query-a"), S("{\"id\": \"%ID%\"}\r\n"),
		X("query-b"), S("{\"error\": \"boom\", \"id\": \"%ID%\"}\r\n"),
		X("query-c"), S("{\"return\": 1, \"error\": {}, \"id\": \"%ID%\"}\r\n"),
		X("query-d"), S("[1]\r\n"),
		END,
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;

	(void)state;
	q = open_peer(&p, script, 2000, &err);
	assert_non_null(q);
	assert_null(qmp_call(q, "query-a", NULL, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg, "query-a: malformed reply from QEMU: "
			    "neither \"return\" nor \"error\"");
	assert_null(qmp_call(q, "query-b", NULL, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg, "query-b: malformed error reply from QEMU");
	assert_string_equal(qmp_last_error_class(q), "");
	assert_null(qmp_call(q, "query-c", NULL, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_non_null(strstr(err.msg, "query-c: malformed reply"));
	assert_null(qmp_call(q, "query-d", NULL, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg,
			    "query-d: top-level JSON value is not an object");
	close_peer(q, &p);
}

static void test_eof_mid_reply(void **state)
{
	static const struct peer_step script[] = {
		HELLO, X("query-cpus-fast"),
		S("{\"return\": [{\"cpu-index\": 0, "),
		{ PEER_CLOSE, NULL, 0, NULL },
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	int64_t t0;

	(void)state;
	q = open_peer(&p, script, 5000, &err);
	assert_non_null(q);
	t0 = vc_now_ms();
	assert_null(qmp_call(q, "query-cpus-fast", NULL, &err));
	assert_true(vc_now_ms() - t0 < 2000);
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg,
			    "query-cpus-fast: QEMU closed the connection");
	/* Later calls fail at once, without SIGPIPE. */
	assert_null(qmp_call(q, "query-status", NULL, &err));
	assert_string_equal(err.msg, "query-status: QEMU closed the connection");
	assert_int_equal(qmp_wait_event(q, 1000, &err), -1);
	assert_int_equal(err.code, VC_EXIT_CONN);
	close_peer(q, &p);
}

/* The peer is gone before the command is even written. */
static void test_send_to_dead_peer(void **state)
{
	static const struct peer_step script[] = {
		HELLO, { PEER_CLOSE, NULL, 0, NULL },
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	int i;

	(void)state;
	q = open_peer(&p, script, 2000, &err);
	assert_non_null(q);
	assert_int_equal(peer_finish(&p), 0);
	for (i = 0; i < 3; i++) {
		assert_null(qmp_call(q, "query-status", NULL, &err));
		assert_int_equal(err.code, VC_EXIT_CONN);
		assert_string_equal(err.msg,
				    "query-status: QEMU closed the connection");
	}
	qmp_close(q);
}

/* A socket that listens but never accepts, like a monitor that is serving
 * another client. */
static void test_no_greeting(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vc_err err = { 0 };
	char dir[64], want[256];
	int64_t t0, dt;
	int lfd;

	(void)state;
	assert_int_equal(peer_mkdir(dir, sizeof(dir)), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/busy.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	t0 = vc_now_ms();
	assert_null(qmp_open(sa.sun_path, 1000, &err));
	dt = vc_now_ms() - t0;
	assert_true(dt >= 990 && dt < 1500);
	assert_int_equal(err.code, VC_EXIT_CONN);
	snprintf(want, sizeof(want), "%s: no QMP greeting within 1 s: the "
		 "monitor is busy with another client, or QEMU is not answering",
		 sa.sun_path);
	assert_string_equal(err.msg, want);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
}

static void test_reply_timeout(void **state)
{
	static const struct peer_step script[] = {
		HELLO, X("query-status"), END,
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	int64_t t0, dt;

	(void)state;
	q = open_peer(&p, script, 300, &err);
	assert_non_null(q);
	t0 = vc_now_ms();
	assert_null(qmp_call(q, "query-status", NULL, &err));
	dt = vc_now_ms() - t0;
	assert_true(dt >= 290 && dt < 1300);
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg, "query-status: no reply within 0.3 s");
	close_peer(q, &p);
}

#define BIG_ITEMS 300000

/* A reply of about 6 MiB, written in one go. */
static void send_big_reply(int fd, const char *id)
{
	size_t cap = (size_t)BIG_ITEMS * 24 + 256, n = 0;
	char *s = malloc(cap);
	int i;

	n += (size_t)sprintf(s, "{\"return\": [");
	for (i = 0; i < BIG_ITEMS; i++)
		n += (size_t)sprintf(s + n, "%s{\"n\": %d, \"s\": \"}\"}",
				     i ? "," : "", i);
	n += (size_t)sprintf(s + n, "], \"id\": \"%s\"}\r\n", id);
	peer_write_all(fd, s, n);
	free(s);
}

static void test_big_reply(void **state)
{
	static const struct peer_step script[] = {
		HELLO, X("query-qmp-schema"),
		{ PEER_CALL, NULL, 0, send_big_reply }, END,
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	json_t *r;

	(void)state;
	q = open_peer(&p, script, 5000, &err);
	assert_non_null(q);
	r = qmp_call(q, "query-qmp-schema", NULL, &err);
	assert_non_null(r);
	assert_int_equal(json_array_size(r), BIG_ITEMS);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(r, BIG_ITEMS - 1), "n")), BIG_ITEMS - 1);
	json_decref(r);
	close_peer(q, &p);
}

static void test_wait_event(void **state)
{
	static const struct peer_step script[] = {
		HELLO, { PEER_SLEEP, NULL, 200, NULL },
		S("{\"return\": {}, \"id\": \"vc-77\"}\r\n"),
		S("{\"event\": \"DEVICE_DELETED\"}\r\n"),
		{ PEER_SLEEP, NULL, 100, NULL },
		{ PEER_CLOSE, NULL, 0, NULL },
	};
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	json_t *ev;
	int64_t t0;

	(void)state;
	q = open_peer(&p, script, 2000, &err);
	assert_non_null(q);
	t0 = vc_now_ms();
	assert_int_equal(qmp_wait_event(q, 0, &err), 0);
	assert_int_equal(qmp_wait_event(q, 50, &err), 0);
	assert_true(vc_now_ms() - t0 >= 45);
	assert_int_equal(qmp_wait_event(q, 5000, &err), 1);
	assert_int_equal(qmp_event_count(q), 1);
	ev = qmp_event_pop(q);
	assert_string_equal(json_string_value(json_object_get(ev, "event")),
			    "DEVICE_DELETED");
	json_decref(ev);
	assert_int_equal(qmp_wait_event(q, -1, &err), -1);
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_non_null(strstr(err.msg, "QEMU closed the connection"));
	close_peer(q, &p);
}

static void test_specs(void **state)
{
	static const struct peer_step script[] = { HELLO, END };
	struct vc_err err = { 0 };
	struct peer p;
	struct qmp *q;
	char spec[160];

	(void)state;
	assert_int_equal(peer_start_unix(&p, script), 0);
	snprintf(spec, sizeof(spec), "unix:%s", p.path);
	q = qmp_open(spec, 2000, &err);
	assert_non_null(q);
	assert_int_equal(qmp_peer_pid(q), p.pid);
	close_peer(q, &p);

	assert_int_equal(peer_start_tcp(&p, script), 0);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", p.port);
	q = qmp_open(spec, 2000, &err);
	assert_non_null(q);
	assert_string_equal(qmp_version(q), "10.0.2");
	assert_int_equal(qmp_peer_pid(q), 0);
	close_peer(q, &p);
}

static void test_connect_errors(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vc_err err = { 0 };
	char dir[64], path[128], want[256];
	int fd;

	(void)state;
	assert_null(qmp_open("/nonexistent-vcpuctl/qmp.sock", 1000, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg, "/nonexistent-vcpuctl/qmp.sock: "
			    "No such file or directory");

	assert_int_equal(peer_mkdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/plain", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(qmp_open(path, 1000, &err));
	snprintf(want, sizeof(want), "%s: not a socket", path);
	assert_string_equal(err.msg, want);
	assert_null(qmp_open(dir, 1000, &err));
	snprintf(want, sizeof(want), "%s: not a socket", dir);
	assert_string_equal(err.msg, want);
	unlink(path);

	/* A socket file nobody listens on: QEMU died and left it behind. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_null(qmp_open(sa.sun_path, 1000, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_non_null(strstr(err.msg, sa.sun_path));
	assert_non_null(strstr(err.msg, "connection refused"));
	unlink(sa.sun_path);
	rmdir(dir);

	assert_null(qmp_open("tcp:127.0.0.1", 1000, &err));
	assert_non_null(strstr(err.msg, "expected tcp:HOST:PORT"));
	assert_null(qmp_open("", 1000, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
}

static void test_not_qmp(void **state)
{
	static const struct peer_step garbage[] = { S("SSH-2.0-OpenSSH\r\n"), END };
	static const struct peer_step other[] = { S("{\"hello\": 1}\r\n"), END };
	struct vc_err err = { 0 };
	struct peer p;

	(void)state;
	assert_int_equal(peer_start_unix(&p, garbage), 0);
	assert_null(qmp_open(p.path, 2000, &err));
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_non_null(strstr(err.msg, "greeting: unexpected byte 0x53"));
	assert_int_equal(peer_finish(&p), 0);

	assert_int_equal(peer_start_unix(&p, other), 0);
	assert_null(qmp_open(p.path, 2000, &err));
	assert_non_null(strstr(err.msg, "not a QMP monitor"));
	assert_int_equal(peer_finish(&p), 0);
}

/* The CPU events, decoded in one place for apply's wait and events. */
static void test_event_decode(void **state)
{
	static const struct { const char *json; enum qmp_event_kind kind;
		const char *device, *path; long src, status; } cases[] = {
		{ "{\"event\": \"DEVICE_DELETED\", \"data\": {\"path\": \"/machine/peripheral/vcpu1/lapic\"}}",
		  QMP_EV_DEVICE_DELETED, NULL, "/machine/peripheral/vcpu1/lapic", -1, -1 },
		{ "{\"event\": \"DEVICE_UNPLUG_GUEST_ERROR\", \"data\": {\"device\": \"vcpu1\", \"path\": \"/machine/peripheral/vcpu1\"}}",
		  QMP_EV_UNPLUG_GUEST_ERROR, "vcpu1", "/machine/peripheral/vcpu1", -1, -1 },
		{ "{\"event\": \"ACPI_DEVICE_OST\", \"data\": {\"info\": {\"device\": \"vcpu2\", \"source\": 3, \"status\": 128}}}",
		  QMP_EV_ACPI_OST, "vcpu2", NULL, 3, 128 },
		{ "{\"event\": \"ACPI_DEVICE_OST\", \"data\": {\"info\": {\"source\": 3, \"status\": 0}}}",
		  QMP_EV_ACPI_OST, NULL, NULL, 3, 0 },
		{ "{\"event\": \"ACPI_DEVICE_OST\", \"data\": {\"info\": 7}}", QMP_EV_OTHER, NULL, NULL, -1, -1 },
		{ "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": 5}}", QMP_EV_DEVICE_DELETED, NULL, NULL, -1, -1 },
		{ "{\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 1}}", QMP_EV_OTHER, NULL, NULL, -1, -1 },
		{ "{\"event\": 1}", QMP_EV_OTHER, NULL, NULL, -1, -1 },
	};
	struct qmp_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *raw = json_loads(cases[i].json, 0, NULL);

		assert_non_null(raw);
		qmp_event_decode(raw, &ev);
		assert_int_equal(ev.kind, cases[i].kind);
		assert_ptr_equal(ev.raw, raw);
		if (cases[i].device)
			assert_string_equal(ev.device, cases[i].device);
		else
			assert_null(ev.device);
		if (cases[i].path)
			assert_string_equal(ev.path, cases[i].path);
		else
			assert_null(ev.path);
		assert_int_equal(ev.ost_source, cases[i].src);
		assert_int_equal(ev.ost_status, cases[i].status);
		qmp_event_clear(&ev);
		assert_null(ev.raw);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_and_call),
		cmocka_unit_test(test_event_decode),
		cmocka_unit_test(test_unknown_id_dropped),
		cmocka_unit_test(test_events_queued_in_order),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_malformed_replies),
		cmocka_unit_test(test_eof_mid_reply),
		cmocka_unit_test(test_send_to_dead_peer),
		cmocka_unit_test(test_no_greeting),
		cmocka_unit_test(test_reply_timeout),
		cmocka_unit_test(test_big_reply),
		cmocka_unit_test(test_wait_event),
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_not_qmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
