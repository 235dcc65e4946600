/* fuzz_agent.c - libFuzzer target for the guest agent client.
 *
 * As in fuzz_qmp.c, the input is everything the agent says: a thread
 * serves it on a unix socket, a line per request, and hangs up, while the
 * real client runs:
 * agent_open() (connect, guest-sync-delimited), then, picked by the first
 * byte, guest-get-vcpus, the match of guest CPUs to vCPUs (which reads
 * /sys/.../firmware_node/path through guest-file-open/-read/-close), or
 * guest-set-vcpus.
 *
 * The sync id is random in vcpuctl; here getrandom() is replaced so it is
 * always AGENT_FUZZ_ID, and seeds can answer the sync.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/topology.h"
#include "fuzz_main.h"

#define FUZZ_AGENT_TIMEOUT_MS 3000
/* What agent_random_id() makes of the bytes below: (4242 & 0x7fffffff) | 1. */
#define AGENT_FUZZ_RAW 4242u

static char sock_path[108];
static int listen_fd = -1;
static struct topology topo;

/* x86, 8 possible vCPUs, 0 a boot CPU and 1-3 plugged as vcpu1-3. */
static const char topo_json[] =
	"{\"hp\": ["
	"{\"props\": {\"core-id\": 0, \"socket-id\": 0}, \"vcpus-count\": 1, \"type\": \"t\", \"qom-path\": \"/machine/unattached/device[0]\"},"
	"{\"props\": {\"core-id\": 1, \"socket-id\": 0}, \"vcpus-count\": 1, \"type\": \"t\", \"qom-path\": \"/machine/peripheral/vcpu1\"},"
	"{\"props\": {\"core-id\": 2, \"socket-id\": 0}, \"vcpus-count\": 1, \"type\": \"t\", \"qom-path\": \"/machine/peripheral/vcpu2\"},"
	"{\"props\": {\"core-id\": 3, \"socket-id\": 0}, \"vcpus-count\": 1, \"type\": \"t\", \"qom-path\": \"/machine/peripheral/vcpu3\"},"
	"{\"props\": {\"core-id\": 0, \"socket-id\": 1}, \"vcpus-count\": 1, \"type\": \"t\"},"
	"{\"props\": {\"core-id\": 1, \"socket-id\": 1}, \"vcpus-count\": 1, \"type\": \"t\"},"
	"{\"props\": {\"core-id\": 2, \"socket-id\": 1}, \"vcpus-count\": 1, \"type\": \"t\"},"
	"{\"props\": {\"core-id\": 3, \"socket-id\": 1}, \"vcpus-count\": 1, \"type\": \"t\"}],"
	"\"cf\": ["
	"{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"thread-id\": 100},"
	"{\"qom-path\": \"/machine/peripheral/vcpu1\", \"cpu-index\": 1, \"thread-id\": 101},"
	"{\"qom-path\": \"/machine/peripheral/vcpu2\", \"cpu-index\": 2, \"thread-id\": 102},"
	"{\"qom-path\": \"/machine/peripheral/vcpu3\", \"cpu-index\": 3, \"thread-id\": 103}]}";

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	unsigned int v = AGENT_FUZZ_RAW;

	(void)flags;
	memset(buf, 0, len);
	memcpy(buf, &v, len < sizeof(v) ? len : sizeof(v));
	return (ssize_t)len;
}

static void remove_socket(void)
{
	if (sock_path[0])
		unlink(sock_path);
	topo_free(&topo);
}

static void setup_once(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vc_err err = { 0 };
	json_t *doc;

	if (listen_fd >= 0)
		return;
	doc = json_loads(topo_json, 0, NULL);
	if (!doc || topo_build_json(&topo, json_object_get(doc, "hp"),
			       json_object_get(doc, "cf"), 0, &err) < 0) {
		fprintf(stderr, "fuzz_agent: topology: %s\n", err.msg);
		abort();
	}
	json_decref(doc);
	snprintf(sock_path, sizeof(sock_path), "/tmp/vcpuctl-fuzz-agent.%d.sock",
		 (int)getpid());
	unlink(sock_path);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 4)) {
		perror("fuzz_agent: listen");
		abort();
	}
	atexit(remove_socket);
}

struct peer {
	const uint8_t *data;
	size_t size;
};

/* Wait up to REPLY_WAIT_MS (short: every line not answering a request
 * costs it) for the client's next request line.  Returns
 * the number of request lines seen (>= 0), or -1 when the client hung up. */
#define REPLY_WAIT_MS 5
static int peer_wait_request(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096];
	ssize_t n, i;
	int lines = 0;

	while (!lines && poll(&pfd, 1, REPLY_WAIT_MS) > 0) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR))
			return -1;
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	return lines;
}

/* The agent's side.  qemu-ga answers each request after it arrives, and
 * vcpuctl drops whatever came before its sync was answered, so the input
 * goes out one line per request (or after REPLY_WAIT_MS, when the client
 * waits for more of a message); then the peer hangs up. */
static void *peer_main(void *arg)
{
	struct peer *p = arg;
	const uint8_t *nl;
	size_t off = 0, len;
	ssize_t n;
	int fd, pending = 0, r;

	fd = accept(listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while (off < p->size) {
		if (pending == 0) {
			r = peer_wait_request(fd);
			if (r < 0)
				break;
			pending += r;
		}
		if (pending > 0)
			pending--;
		nl = memchr(p->data + off, '\n', p->size - off);
		len = nl ? (size_t)(nl - (p->data + off)) + 1 : p->size - off;
		while (len > 0) {
			n = send(fd, p->data + off, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto done;
			off += (size_t)n;
			len -= (size_t)n;
		}
	}
done:
	shutdown(fd, SHUT_WR);
	while (peer_wait_request(fd) >= 0)
		;
	close(fd);
	return NULL;
}

static void session(struct agent *a, unsigned mode)
{
	struct agent_change ch[3] = {
		{ .logical_id = 1, .online = true },
		{ .logical_id = 2, .online = false },
		{ .logical_id = 3, .online = true },
	};
	struct vc_err err = { 0 };
	struct agent_gcpus g;
	struct agent_view v;
	int n, i;

	switch (mode % 3) {
	case 0:
		if (agent_get_vcpus(a, &g, &err) == 0) {
			for (i = 0; i < 8; i++)
				agent_gcpus_find(&g, i);
			agent_gcpus_free(&g);
		}
		break;
	case 1:
		if (agent_view_query(a, &topo, &v, &err) == 0) {
			char *text = agent_view_text(&v, &topo);

			for (i = 0; i < 8; i++) {
				agent_view_vcpu(&v, i);
				agent_view_mismatch(&v, &topo, i);
			}
			free(text);
			agent_view_free(&v);
		}
		break;
	case 2:
		n = agent_set_vcpus(a, ch, 3, &err);
		if (n > 3)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_err err = { 0 };
	struct peer p;
	pthread_t th;
	struct agent *a;

	if (size < 1)
		return 0;
	setup_once();
	p.data = data + 1;
	p.size = size - 1;
	if (pthread_create(&th, NULL, peer_main, &p))
		abort();
	a = agent_open(sock_path, FUZZ_AGENT_TIMEOUT_MS, &err);
	if (a) {
		session(a, data[0]);
		agent_close(a);
	} else if (!err.msg[0] || !err.code) {
		abort();
	}
	pthread_join(th, NULL);
	return 0;
}
