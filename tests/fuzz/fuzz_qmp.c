/* fuzz_qmp.c - libFuzzer target for a whole QMP session.
 *
 * The input is everything "QEMU" says: a thread in this process listens on
 * a unix socket, writes the input to the client and then hangs up, while
 * the client side runs the real code path: qmp_open() (connect, greeting,
 * capabilities), then, picked by the input's first byte, what "show",
 * "set" (plug and unplug) or "wait" do: topology queries, the planner,
 * apply_plan() with its event handling and wait, apply_find_pending().
 * Because the peer always hangs up after its last byte, no step may wait
 * for the timeout; a hang is a bug libFuzzer reports.
 *
 * Replies are matched by id, so seeds carry the ids vcpuctl sends:
 * "vc-1" for qmp_capabilities, "vc-2" for the next command, and so on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"
#include "fuzz_main.h"

/* Bounds every read; the peer's hang-up normally ends each step at once. */
#define FUZZ_QMP_TIMEOUT_MS 3000

static char sock_path[108];
static int listen_fd = -1;

struct peer {
	const uint8_t *data;
	size_t size;
};

static void remove_socket(void)
{
	if (sock_path[0])
		unlink(sock_path);
}

static void listen_once(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (listen_fd >= 0)
		return;
	snprintf(sock_path, sizeof(sock_path), "/tmp/vcpuctl-fuzz-qmp.%d.sock",
		 (int)getpid());
	unlink(sock_path);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 4)) {
		perror("fuzz_qmp: listen");
		abort();
	}
	atexit(remove_socket);
}

/* QEMU's side: say everything, hang up, then swallow the commands until
 * the client closes. */
static void *peer_main(void *arg)
{
	struct peer *p = arg;
	char buf[4096];
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = accept(listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while (off < p->size) {
		n = send(fd, p->data + off, p->size - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EINTR)
			break;
	close(fd);
	return NULL;
}

/* What the exit code promises must hold: success after a wait leaves
 * nothing pending or failed, and "QEMU refused; nothing was changed" (4)
 * means nothing was changed. */
static void check_result(const struct apply_result *r)
{
	size_t i;

	if (r->code < 0 || r->code > VC_EXIT_AGENT)
		abort();
	for (i = 0; i < r->n; i++) {
		const struct apply_item *it = &r->items[i];

		if (!it->device_id || !it->qom_path)
			abort();
		if (r->code == VC_EXIT_OK && it->state != APPLY_PLUGGED &&
		    it->state != APPLY_REMOVED)
			abort();
		if (r->code == VC_EXIT_QEMU &&
		    (it->state == APPLY_PLUGGED || it->state == APPLY_REMOVED ||
		     it->state == APPLY_PENDING || it->state == APPLY_REJECTED ||
		     (it->reason && strstr(it->reason, "was accepted"))))
			abort();
	}
}

static void session(struct qmp *q, unsigned mode)
{
	struct plan_request req = { .kind = PLAN_SET_COUNT, .min = -1, .max = -1 };
	struct apply_opts o = { .wait = true, .timeout_ms = 2000 };
	struct apply_result r = { 0 };
	struct vc_err err = { 0 };
	struct topology t;
	struct plan p;
	json_t *ev;

	switch (mode % 4) {
	case 0:		/* show */
		if (topo_query(q, &t, &err) == 0)
			topo_free(&t);
		break;
	case 1:		/* set --count max */
	case 2:		/* set to the boot CPUs: unplug all that can go */
		if (topo_query_hotpluggable(q, &t, &err) < 0)
			break;
		req.count = mode % 4 == 1 ? t.max : t.online - t.removable;
		if (req.count < 1)
			req.count = 1;
		if (plan_make(&t, &req, &p, &err) == 0) {
			apply_plan(q, &t, &p, &o, &r);
			check_result(&r);
			apply_result_free(&r);
			plan_free(&p);
		}
		topo_free(&t);
		break;
	case 3:		/* wait */
		if (topo_query(q, &t, &err) < 0)
			break;
		if (apply_find_pending(q, &t, NULL, NULL, &r, &err) == 0) {
			apply_wait(q, &t, &r, 2000);
			check_result(&r);
		}
		apply_result_free(&r);
		topo_free(&t);
		break;
	}
	while (qmp_wait_event(q, 0, &err) > 0)
		while ((ev = qmp_event_pop(q)))
			json_decref(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_err err = { 0 };
	struct peer p;
	pthread_t th;
	struct qmp *q;

	if (size < 1)
		return 0;
	listen_once();
	p.data = data + 1;
	p.size = size - 1;
	if (pthread_create(&th, NULL, peer_main, &p))
		abort();
	q = qmp_open(sock_path, FUZZ_QMP_TIMEOUT_MS, &err);
	if (q) {
		session(q, data[0]);
		qmp_close(q);
	} else if (!err.msg[0] || !err.code) {
		abort();
	}
	pthread_join(th, NULL);
	return 0;
}
