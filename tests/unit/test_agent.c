/* test_agent.c - the guest agent client against a forked scripted agent,
 * the match of guest CPUs to vCPUs (guestmap.h) on it, and the pure
 * checks of agent_check_changes(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "peer.h"
#include "vcpuctl/agent.h"
#include "vcpuctl/guestmap.h"
#include "vcpuctl/output.h"
#include "vcpuctl/jsonstream.h"
#include "vcpuctl/util.h"

/* How the fake agent behaves. */
enum fake_mode {
	FAKE_NORMAL,
	FAKE_SILENT,        /* reads, never answers */
	FAKE_GARBAGE,       /* junk and stale answers before the sync answer */
	FAKE_PARTIAL,       /* guest-set-vcpus processes one entry */
	FAKE_REFUSE,        /* guest-set-vcpus: error reply */
};

struct fake {
	pid_t pid;
	char dir[64];
	char path[100];
};

static void fake_send(int fd, const char *s, size_t n)
{
	peer_write_all(fd, s, n);
}

static void fake_reply(int fd, json_t *msg, enum fake_mode mode)
{
	const char *cmd = json_string_value(json_object_get(msg, "execute"));
	json_t *args = json_object_get(msg, "arguments");
	char buf[512];
	int n;

	if (!cmd)
		return;
	if (!strcmp(cmd, "guest-sync-delimited")) {
		if (mode == FAKE_GARBAGE) {
			fake_send(fd, "junk\x01{\"return\": 5}\n{\"half\": [", 29);
			fake_send(fd, "\xff{\"return\": 7}\n", 16);
		}
		n = snprintf(buf, sizeof(buf), "\xff{\"return\": %" JSON_INTEGER_FORMAT "}\n",
			     json_integer_value(json_object_get(args, "id")));
		fake_send(fd, buf, (size_t)n);
	} else if (!strcmp(cmd, "guest-get-vcpus")) {
		n = snprintf(buf, sizeof(buf), "%s",
			     "{\"return\": [{\"online\": false, \"can-offline\": true, \"logical-id\": 2},"
			     " {\"online\": true, \"can-offline\": false, \"logical-id\": 0},"
			     " {\"online\": false, \"can-offline\": true, \"logical-id\": 1}]}\n");
		fake_send(fd, buf, (size_t)n);
	} else if (!strcmp(cmd, "guest-set-vcpus")) {
		if (mode == FAKE_REFUSE)
			n = snprintf(buf, sizeof(buf), "%s",
				     "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\n");
		else
			n = snprintf(buf, sizeof(buf), "{\"return\": %zu}\n",
				     mode == FAKE_PARTIAL ? (size_t)1
				     : json_array_size(json_object_get(args, "vcpus")));
		fake_send(fd, buf, (size_t)n);
	} else {
		n = snprintf(buf, sizeof(buf), "%s",
			     "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"disabled\"}}\n");
		fake_send(fd, buf, (size_t)n);
	}
}

static void __attribute__((noreturn)) fake_run(int lfd, enum fake_mode mode)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct vc_err err;
	struct jstream js;
	json_t *msg;
	char buf[4096];
	ssize_t n;
	int fd;

	if (poll(&pfd, 1, 5000) <= 0)
		_exit(4);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(4);
	js_init(&js);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			_exit(0);
		if (js_feed(&js, buf, (size_t)n, &err) < 0)
			_exit(4);
		while (js_next(&js, &msg, &err) == 1) {
			if (mode != FAKE_SILENT)
				fake_reply(fd, msg, mode);
			json_decref(msg);
		}
	}
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	assert_int_equal(peer_mkdir(f->dir, sizeof(f->dir)), 0);
	snprintf(f->path, sizeof(f->path), "%s/qga.sock", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0)
		fake_run(lfd, mode);
	close(lfd);
}

static void fake_stop(struct fake *f)
{
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	unlink(f->path);
	rmdir(f->dir);
}

static void test_sync_and_get_vcpus(void **state)
{
	struct agent_gcpus g = { 0 };
	struct vc_err err = { 0 };
	struct fake f;
	struct agent *a;

	(void)state;
	fake_start(&f, FAKE_NORMAL);
	a = agent_open(f.path, 2000, &err);
	assert_non_null(a);
	assert_int_equal(agent_get_vcpus(a, &g, &err), 0);
	assert_int_equal(g.n, 3);
	/* sorted by logical id */
	assert_int_equal(g.cpus[0].logical_id, 0);
	assert_true(g.cpus[0].online);
	assert_false(g.cpus[0].can_offline);
	assert_int_equal(g.cpus[2].logical_id, 2);
	assert_non_null(agent_gcpus_find(&g, 1));
	assert_null(agent_gcpus_find(&g, 3));
	assert_int_equal(agent_round_trips(a), 1);
	agent_gcpus_free(&g);
	agent_close(a);
	fake_stop(&f);
}

static void test_garbage_before_sync(void **state)
{
	struct agent_gcpus g = { 0 };
	struct vc_err err = { 0 };
	struct fake f;
	struct agent *a;

	(void)state;
	fake_start(&f, FAKE_GARBAGE);
	a = agent_open(f.path, 2000, &err);
	assert_non_null(a);
	/* the stale {"return": 7} must not be taken for this reply */
	assert_int_equal(agent_get_vcpus(a, &g, &err), 0);
	assert_int_equal(g.n, 3);
	agent_gcpus_free(&g);
	agent_close(a);
	fake_stop(&f);
}

static void test_silent_agent(void **state)
{
	struct vc_err err = { 0 };
	struct fake f;
	struct agent *a;
	int64_t t0 = vc_now_ms();

	(void)state;
	fake_start(&f, FAKE_SILENT);
	a = agent_open(f.path, 300, &err);
	assert_null(a);
	assert_int_equal(err.code, VC_EXIT_AGENT);
	assert_non_null(strstr(err.msg, "no answer to guest-sync-delimited within 0.3 s"));
	assert_non_null(strstr(err.msg, "not running in the guest"));
	assert_true(vc_now_ms() - t0 < 2000);
	fake_stop(&f);
}

static void test_no_socket(void **state)
{
	struct vc_err err = { 0 };

	(void)state;
	assert_null(agent_open("/nonexistent/qga.sock", 300, &err));
	assert_int_equal(err.code, VC_EXIT_AGENT);
	assert_non_null(strstr(err.msg, "no such socket"));
}

static void test_set_partial(void **state)
{
	struct agent_change ch[3] = {
		{ 1, true, AGENT_CHANGE_PENDING },
		{ 2, true, AGENT_CHANGE_PENDING },
		{ 3, true, AGENT_CHANGE_PENDING },
	};
	struct vc_err err = { 0 };
	struct fake f;
	struct agent *a;

	(void)state;
	fake_start(&f, FAKE_PARTIAL);
	a = agent_open(f.path, 2000, &err);
	assert_non_null(a);
	assert_int_equal(agent_set_vcpus(a, ch, 3, &err), 1);
	assert_int_equal(ch[0].state, AGENT_CHANGE_DONE);
	assert_int_equal(ch[1].state, AGENT_CHANGE_FAILED);
	assert_int_equal(ch[2].state, AGENT_CHANGE_NOT_TRIED);
	assert_string_equal(agent_change_state_name(ch[2].state), "not-tried");
	agent_close(a);
	fake_stop(&f);
}

static void test_set_refused(void **state)
{
	struct agent_change ch[2] = {
		{ 2, true, AGENT_CHANGE_PENDING },
		{ 3, true, AGENT_CHANGE_PENDING },
	};
	struct vc_err err = { 0 };
	struct fake f;
	struct agent *a;

	(void)state;
	fake_start(&f, FAKE_REFUSE);
	a = agent_open(f.path, 2000, &err);
	assert_non_null(a);
	assert_int_equal(agent_set_vcpus(a, ch, 2, &err), -1);
	assert_int_equal(err.code, VC_EXIT_AGENT);
	assert_string_equal(err.msg, "guest CPU 2: guest-set-vcpus: GenericError: no");
	assert_int_equal(ch[0].state, AGENT_CHANGE_FAILED);
	assert_int_equal(ch[1].state, AGENT_CHANGE_NOT_TRIED);
	assert_string_equal(agent_last_error_class(a), "GenericError");
	agent_close(a);
	fake_stop(&f);
}

static void test_check_changes(void **state)
{
	struct agent_gcpu cpus[] = {
		{ 0, true, false }, { 1, true, false }, { 2, true, true },
		{ 3, false, true },
	};
	struct agent_gcpus g = { cpus, 4 };
	struct agent_change ok[] = { { 2, false, 0 }, { 3, true, 0 } };
	struct agent_change boot[] = { { 0, false, 0 }, { 1, false, 0 } };
	struct agent_change fixed[] = { { 1, false, 0 } };
	struct agent_change missing[] = { { 4, true, 0 }, { 6, true, 0 } };
	struct agent_change online0[] = { { 0, true, 0 } };
	struct vc_err err = { 0 };

	(void)state;
	assert_int_equal(agent_check_changes(&g, ok, 2, &err), 0);
	assert_int_equal(agent_check_changes(&g, online0, 1, &err), 0);
	assert_int_equal(agent_check_changes(&g, boot, 2, &err), -1);
	assert_int_equal(err.code, VC_EXIT_IMPOSSIBLE);
	assert_non_null(strstr(err.msg, "guest CPUs 0-1 cannot be taken offline"));
	assert_int_equal(agent_check_changes(&g, fixed, 1, &err), -1);
	assert_non_null(strstr(err.msg, "guest CPU 1 cannot be taken offline: the guest reports can-offline false"));
	assert_int_equal(agent_check_changes(&g, missing, 2, &err), -1);
	assert_int_equal(err.code, VC_EXIT_IMPOSSIBLE);
	assert_non_null(strstr(err.msg, "guest CPUs 4,6: the guest does not list them"));
}

/* A VM of 4 possible vCPUs, one per hotplug unit, vCPUs 0 to plugged - 1
 * in it. */
static void topo_plugged(struct topology *t, int plugged)
{
	char hp[1024], cf[512], *h = hp, *c = cf;
	struct vc_err err = { 0 };
	json_t *jh, *jc;
	int i;

	h += sprintf(h, "[");
	c += sprintf(c, "[");
	for (i = 0; i < 4; i++) {
		h += sprintf(h, "%s{\"props\": {\"core-id\": %d}, \"vcpus-count\": 1, \"type\": \"t\"", i ? "," : "", i);
		if (i < plugged) {
			h += sprintf(h, ", \"qom-path\": \"/machine/peripheral/vcpu%d\"", i);
			c += sprintf(c, "%s{\"qom-path\": \"/machine/peripheral/vcpu%d\", \"cpu-index\": %d, \"thread-id\": %d}",
				     i ? "," : "", i, i, 100 + i);
		}
		h += sprintf(h, "}");
	}
	sprintf(h, "]");
	sprintf(c, "]");
	jh = json_loads(hp, 0, NULL);
	jc = json_loads(cf, 0, NULL);
	assert_int_equal(topo_build_json(t, jh, jc, 0, &err), 0);
	json_decref(jh);
	json_decref(jc);
}

/* The match against an agent whose guest-file-* are disabled: by number
 * when QEMU's online vCPUs are the guest's CPUs, else none; the paths
 * are not asked for again on the same record. */
static void test_match_without_acpi(void **state)
{
	struct gmap_paths *paths;
	struct gmap_view v;
	struct vc_err err = { 0 };
	struct topology t;
	struct fake f;
	struct agent *a;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	fake_start(&f, FAKE_NORMAL);
	a = agent_open(f.path, 2000, &err);
	assert_non_null(a);
	paths = gmap_paths_new(&err);
	assert_non_null(paths);
	topo_plugged(&t, 3);
	assert_int_equal(gmap_view_query(a, paths, &t, &v, &err), 0);
	assert_int_equal(v.how, GMAP_IDENTITY);
	assert_string_equal(gmap_how_name(v.how), "identity");
	assert_int_equal(gmap_view_vcpu(&v, 2)->logical_id, 2);
	assert_null(gmap_view_vcpu(&v, 3));
	assert_false(gmap_view_mismatch(&v, &t, 0));
	assert_true(gmap_view_mismatch(&v, &t, 1));
	/* guest-get-vcpus, and one guest-file-open that failed */
	assert_int_equal(agent_round_trips(a), 2);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	out_guest_view_text(out, &v, &t);
	fclose(out);
	assert_string_equal(buf,
		"guest: 1 of 3 CPUs online (guest agent; matched to vCPUs by number, assumed)\n"
		"guest: vCPU 1 is online in QEMU but offline in the guest (guest CPU 1)\n"
		"guest: vCPU 2 is online in QEMU but offline in the guest (guest CPU 2)\n");
	free(buf);
	gmap_view_free(&v);
	topo_free(&t);

	topo_plugged(&t, 2);
	assert_int_equal(gmap_view_query(a, paths, &t, &v, &err), 0);
	assert_int_equal(v.how, GMAP_NONE);
	assert_null(gmap_how_name(v.how));
	assert_non_null(strstr(v.note, "cannot match guest CPUs to vCPUs"));
	assert_null(gmap_view_vcpu(&v, 0));
	assert_false(gmap_view_mismatch(&v, &t, 2));
	assert_int_equal(agent_round_trips(a), 3);
	gmap_view_free(&v);
	topo_free(&t);

	assert_int_equal(gmap_view_query(a, paths, NULL, &v, &err), 0);
	assert_string_equal(v.note, "no QMP socket: vCPU indexes unknown");
	assert_int_equal(v.n_vcpus, 0);
	assert_int_equal(v.guest.n, 3);
	gmap_view_free(&v);
	gmap_paths_free(paths);
	agent_close(a);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_and_get_vcpus),
		cmocka_unit_test(test_garbage_before_sync),
		cmocka_unit_test(test_silent_agent),
		cmocka_unit_test(test_no_socket),
		cmocka_unit_test(test_set_partial),
		cmocka_unit_test(test_set_refused),
		cmocka_unit_test(test_check_changes),
		cmocka_unit_test(test_match_without_acpi),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
