/* fuzz_agent.c - libFuzzer target for the guest agent client, in process.
 *
 * The input is everything the agent says.  The client runs over a memory
 * transport (agent_open_transport()) instead of a socket, so an input
 * costs no thread, no socket and no wait:
 * agent_open() (guest-sync-delimited), then, picked by the first byte,
 * guest-get-vcpus, the match of guest CPUs to vCPUs (which reads
 * /sys/.../firmware_node/path through guest-file-open/-read/-close),
 * guest-set-vcpus, or the offline-first sequence (match, offline the
 * mapped CPUs, match again).
 *
 * The agent answers each request after it arrives, and the client drops
 * whatever came before its sync was answered; so the transport hands the
 * input over a line per read, only when the client reads.  The first byte
 * also shapes the delivery (see struct mem):
 *   bits 0-1  flow: 0 get-vcpus, 1 match, 2 set-vcpus, 3 offline-first
 *   bit 2     the end of the input is a timeout, not a hang-up
 *   bit 3     everything left in one read (many messages per read)
 *   bits 4-5  each line cut into reads of 1, 3 or 7 bytes (0: whole)
 * The seeds of the socket-based target (first byte 0, 1 or 2) mean what
 * they meant there.
 *
 * Beyond "no crash": what callers rely on holds.  A failure has a message
 * and an agent or internal exit code; guest-set-vcpus never reports more
 * changes than it was asked for, and its states say exactly which; a
 * guest-get-vcpus list is sorted and unique; an ACPI match is one to one,
 * inside the VM, and puts no other CPU on the boot vCPU; CPUs are offlined
 * only on an ACPI match.
 *
 * The sync id is random in vcpuctl; here getrandom() is replaced so it is
 * always AGENT_FUZZ_ID, and seeds can answer the sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/sock.h"
#include "vcpuctl/topology.h"
#include "fuzz_main.h"

#define FUZZ_AGENT_TIMEOUT_MS 3000
/* What agent_random_id() makes of the bytes below: (4242 & 0x7fffffff) | 1. */
#define AGENT_FUZZ_RAW 4242u

static struct topology topo;
static bool topo_ready;
/* FUZZ_AGENT_VERBOSE set: say what each input came to (for seed writers). */
static bool verbose;

#define SAY(...) do { if (verbose) fprintf(stderr, "  " __VA_ARGS__); } while (0)

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

static void free_topo(void)
{
	topo_free(&topo);
}

static void setup_once(void)
{
	struct vc_err err = { 0 };
	json_t *doc;

	if (topo_ready)
		return;
	doc = json_loads(topo_json, 0, NULL);
	if (!doc || topo_build_json(&topo, json_object_get(doc, "hp"),
			       json_object_get(doc, "cf"), 0, &err) < 0) {
		fprintf(stderr, "fuzz_agent: topology: %s\n", err.msg);
		abort();
	}
	json_decref(doc);
	topo_ready = true;
	verbose = getenv("FUZZ_AGENT_VERBOSE") != NULL;
	atexit(free_topo);
}

/* The agent's side of the channel. */
struct mem {
	const uint8_t *data;
	size_t size, off;
	size_t chunk;       /* bytes per read within a line; 0: the whole line */
	bool flood;         /* everything left in one read */
	bool end_timeout;   /* past the end: SOCK_TIMEOUT, not SOCK_CLOSED */
	unsigned requests;  /* request lines the client sent */
	unsigned set_vcpus; /* of which guest-set-vcpus */
	size_t line_left;   /* bytes of the current line not yet read */
};

static ssize_t mem_recv(void *ctx, void *buf, size_t cap, int64_t deadline)
{
	struct mem *m = ctx;
	const uint8_t *nl;
	size_t n;

	(void)deadline;
	if (m->off >= m->size)
		return m->end_timeout ? SOCK_TIMEOUT : SOCK_CLOSED;
	if (!m->line_left) {
		nl = memchr(m->data + m->off, '\n', m->size - m->off);
		m->line_left = m->flood || !nl ? m->size - m->off
			     : (size_t)(nl - (m->data + m->off)) + 1;
	}
	n = m->line_left;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	if (n > cap)
		n = cap;
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	m->line_left -= n;
	return (ssize_t)n;
}

static int mem_send(void *ctx, const void *buf, size_t len, int64_t deadline)
{
	static const char set[] = "\"guest-set-vcpus\"";
	struct mem *m = ctx;

	(void)deadline;
	if (memchr(buf, '\n', len))
		m->requests++;
	if (memmem(buf, len, set, sizeof(set) - 1))
		m->set_vcpus++;
	return 0;
}

static void check_err(const struct vc_err *err)
{
	SAY("error %d: %s\n", err->code, err->msg);
	if (!err->msg[0] ||
	    (err->code != VC_EXIT_AGENT && err->code != VC_EXIT_INTERNAL))
		abort();
}

static void check_gcpus(const struct agent_gcpus *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->cpus[i].logical_id < 0 ||
		    (i && g->cpus[i].logical_id <= g->cpus[i - 1].logical_id) ||
		    agent_gcpus_find(g, g->cpus[i].logical_id) != &g->cpus[i])
			abort();
}

/* An ACPI match is one to one, inside the VM, and keeps the boot vCPU for
 * guest CPU 0; without one, no entry is matched. */
static void check_view(const struct agent_view *v)
{
	size_t i;
	int idx;

	check_gcpus(&v->guest);
	if (v->n_vcpus != topo.n_vcpus)
		abort();
	for (i = 0; i < v->guest.n; i++) {
		idx = v->vcpu_of[i];
		if (idx < 0)
			continue;
		if (v->how == AGENT_MAP_NONE || (size_t)idx >= v->n_vcpus ||
		    v->logical[idx] != v->guest.cpus[i].logical_id ||
		    (idx == 0 && v->guest.cpus[i].logical_id != 0))
			abort();
	}
	for (i = 0; i < v->n_vcpus; i++)
		if (v->logical[i] >= 0 &&
		    (v->how == AGENT_MAP_NONE ||
		     !agent_gcpus_find(&v->guest, v->logical[i])))
			abort();
}

/* States after agent_set_vcpus() returned rc for n changes. */
static void check_changes(const struct agent_change *ch, size_t n, int rc)
{
	size_t i;

	if (rc > (int)n)
		abort();
	for (i = 0; i < n; i++) {
		enum agent_change_state want;

		if (rc >= 0)
			want = (int)i < rc ? AGENT_CHANGE_DONE
			     : (int)i == rc ? AGENT_CHANGE_FAILED
			     : AGENT_CHANGE_NOT_TRIED;
		else if (ch[0].state == AGENT_CHANGE_PENDING)
			want = AGENT_CHANGE_PENDING;
		else
			want = i ? AGENT_CHANGE_NOT_TRIED : AGENT_CHANGE_FAILED;
		if (ch[i].state != want)
			abort();
	}
}

static void flow_get(struct agent *a)
{
	struct agent_change ch[2] = {
		{ .logical_id = 0, .online = false },
		{ .logical_id = 5, .online = true },
	};
	struct vc_err err = { 0 };
	struct agent_gcpus g;
	int i;

	if (agent_get_vcpus(a, &g, &err) < 0) {
		check_err(&err);
		return;
	}
	check_gcpus(&g);
	SAY("get: %zu guest CPUs\n", g.n);
	for (i = 0; i < 8; i++)
		agent_gcpus_find(&g, i);
	if (agent_check_changes(&g, ch, 2, &err) == 0 || !err.msg[0])
		abort();	/* cpu0 can never be offlined */
	agent_check_changes(&g, ch + 1, 1, &err);
	agent_gcpus_free(&g);
}

static int flow_view(struct agent *a, struct agent_view *v)
{
	struct vc_err err = { 0 };
	char *text;
	int i;

	if (agent_view_query(a, &topo, v, &err) < 0) {
		check_err(&err);
		return -1;
	}
	check_view(v);
	text = agent_view_text(v, &topo);
	SAY("view: %zu guest CPUs, match %s%s%s\n%s", v->guest.n,
	    agent_map_name(v->how) ? agent_map_name(v->how) : "none",
	    v->note ? ": " : "", v->note ? v->note : "", text ? text : "");
	for (i = 0; i < 8; i++) {
		agent_view_vcpu(v, i);
		agent_view_mismatch(v, &topo, i);
	}
	free(text);
	return 0;
}

static void flow_set(struct agent *a)
{
	struct agent_change ch[3] = {
		{ .logical_id = 1, .online = true },
		{ .logical_id = 2, .online = false },
		{ .logical_id = 3, .online = true },
	};
	struct vc_err err = { 0 };
	int rc;

	rc = agent_set_vcpus(a, ch, 3, &err);
	SAY("set: %d\n", rc);
	if (rc < 0)
		check_err(&err);
	check_changes(ch, 3, rc);
}

/* What --guest-offline-first does: offline the online vCPUs 1-3 in the
 * guest, trusting only an ACPI match, then look again. */
static void flow_offline_first(struct agent *a, struct mem *m)
{
	struct agent_change ch[3];
	struct vc_err err = { 0 };
	const struct agent_gcpu *g;
	struct agent_view v;
	unsigned sent = m->set_vcpus;
	size_t n = 0;
	int i, rc;

	if (flow_view(a, &v) < 0)
		return;
	for (i = 1; v.how == AGENT_MAP_ACPI && i < 4; i++) {
		g = agent_view_vcpu(&v, i);
		if (g && g->online && g->logical_id != 0)
			ch[n++] = (struct agent_change){ .logical_id = g->logical_id };
	}
	if (n && agent_check_changes(&v.guest, ch, n, &err) == 0) {
		rc = agent_set_vcpus(a, ch, n, &err);
		SAY("offline %zu: %d\n", n, rc);
		if (rc < 0)
			check_err(&err);
		check_changes(ch, n, rc);
	}
	if (v.how != AGENT_MAP_ACPI && m->set_vcpus != sent)
		abort();
	agent_view_free(&v);
	if (flow_view(a, &v) == 0)
		agent_view_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 0, 1, 3, 7 };
	struct sess_transport tp = { mem_recv, mem_send, NULL };
	struct vc_err err = { 0 };
	struct agent_view v;
	struct mem m = { 0 };
	struct agent *a;

	if (size < 1)
		return 0;
	setup_once();
	m.data = data + 1;
	m.size = size - 1;
	m.end_timeout = data[0] & 0x04;
	m.flood = data[0] & 0x08;
	m.chunk = chunks[(data[0] >> 4) & 3];
	tp.ctx = &m;
	a = agent_open_transport(&tp, "fuzz", FUZZ_AGENT_TIMEOUT_MS, &err);
	if (!a) {
		check_err(&err);
		return 0;
	}
	switch (data[0] & 3) {
	case 0:
		flow_get(a);
		break;
	case 1:
		if (flow_view(a, &v) == 0)
			agent_view_free(&v);
		break;
	case 2:
		flow_set(a);
		break;
	case 3:
		flow_offline_first(a, &m);
		break;
	}
	agent_close(a);
	return 0;
}
