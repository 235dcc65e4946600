/* fuzz_agent.c - libFuzzer target for the guest agent client, in process.
 *
 * The input is everything the agent says.  The client runs over a memory
 * transport (agent_open_transport()) instead of a socket, so an input
 * costs no thread, no socket and no wait:
 * agent_open() (guest-sync-delimited), then, picked by the first byte,
 * guest-get-vcpus, the match of guest CPUs to vCPUs (guestmap.h, which
 * reads /sys/.../firmware_node/path through guest-file-open/-read/-close),
 * guest-set-vcpus, or the guest steps of a resize on that one session:
 * resize_guest_offline_before_unplug() of vCPUs 1-3 (match, offline,
 * match again), resize_guest_online_after_plug() of vCPUs 4-5.
 *
 * The agent answers each request after it arrives, and the client drops
 * whatever came before its sync was answered; so the transport hands the
 * input over a line per read, only when the client reads.  The first byte
 * also shapes the delivery (see struct mem):
 *   bits 0-1  flow: 0 get-vcpus, 1 match, 2 set-vcpus, 3 offline-first;
 *             with bit 6: 4 online-after-plug, 5 match twice (the paths
 *             cached), 6 and 7 as 2 and 3
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
 * inside the VM, and puts no other CPU on the boot vCPU; offline-first
 * offlines CPUs only on an ACPI match, never guest CPU 0, and onlines
 * none; online-after-plug offlines none; either's exit code means what
 * resize.h says.
 *
 * The sync id is random in vcpuctl; here getrandom() is replaced so it is
 * always AGENT_FUZZ_ID, and seeds can answer the sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/apply.h"
#include "vcpuctl/guestmap.h"
#include "vcpuctl/output.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/resize.h"
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
/* Where the renderers write when not verbose: they run either way. */
static FILE *quiet;

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
	quiet = fopen("/dev/null", "w");
	if (!quiet)
		abort();
	atexit(free_topo);
}

/* The agent's side of the channel. */
struct mem {
	const uint8_t *data;
	size_t size, off;
	size_t chunk;       /* bytes per read within a line; 0: the whole line */
	bool flood;         /* everything left in one read */
	bool end_timeout;   /* past the end: SOCK_TIMEOUT, not SOCK_CLOSED */
	unsigned set_vcpus; /* of which guest-set-vcpus */
	unsigned onlined;   /* guest-set-vcpus entries online: true */
	unsigned offlined;  /* online: false */
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

/* Of guest-set-vcpus requests, count what each entry asks.  Guest CPU
 * 0 is never offlined, whatever the guest said. */
static int mem_send(void *ctx, const void *buf, size_t len, int64_t deadline)
{
	static const char set[] = "\"guest-set-vcpus\"";
	struct mem *m = ctx;
	json_t *req, *e;
	size_t i;

	(void)deadline;
	if (!memmem(buf, len, set, sizeof(set) - 1))
		return 0;
	m->set_vcpus++;
	req = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, NULL);
	json_array_foreach(json_object_get(json_object_get(req, "arguments"),
					   "vcpus"), i, e) {
		if (json_is_true(json_object_get(e, "online"))) {
			m->onlined++;
		} else {
			m->offlined++;
			if (json_integer_value(json_object_get(e, "logical-id")) == 0)
				abort();
		}
	}
	json_decref(req);
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
static void check_view(const struct gmap_view *v)
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
		if (v->how == GMAP_NONE || (size_t)idx >= v->n_vcpus ||
		    v->logical[idx] != v->guest.cpus[i].logical_id ||
		    (idx == 0 && v->guest.cpus[i].logical_id != 0))
			abort();
	}
	for (i = 0; i < v->n_vcpus; i++)
		if (v->logical[i] >= 0 &&
		    (v->how == GMAP_NONE ||
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

static int flow_view(struct agent *a, struct gmap_paths *paths,
		     struct gmap_view *v)
{
	struct vc_err err = { 0 };
	int i;

	if (gmap_view_query(a, paths, &topo, v, &err) < 0) {
		check_err(&err);
		return -1;
	}
	check_view(v);
	SAY("view: %zu guest CPUs, match %s%s%s\n", v->guest.n,
	    gmap_how_name(v->how) ? gmap_how_name(v->how) : "none",
	    v->note ? ": " : "", v->note ? v->note : "");
	out_guest_view_text(verbose ? stderr : quiet, v, &topo);
	for (i = 0; i < 8; i++) {
		gmap_view_vcpu(v, i);
		gmap_view_mismatch(v, &topo, i);
	}
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

static void check_outcome(const struct resize_guest_outcome *out, int rc,
			  int fail_code)
{
	size_t i;

	SAY("%s: %d%s%s\n", out->online ? "online" : "offline", rc,
	    out->error ? ": " : "", out->error ? out->error : "");
	if (rc != out->code ||
	    (rc && rc != fail_code && rc != VC_EXIT_INTERNAL) ||
	    (rc && !out->error))
		abort();
	for (i = 0; rc == 0 && i < out->n; i++)
		if (out->online ? out->items[i].state != RESIZE_GUEST_ONLINE
				: out->items[i].state != RESIZE_GUEST_OFFLINE &&
				  out->items[i].state != RESIZE_GUEST_WAS_OFFLINE)
			abort();
}

/* --guest-offline-first before unplugging vCPUs 1-3. */
static void flow_offline_first(struct agent_link *l, struct mem *m)
{
	struct plan_step st = { .op = PLAN_OP_DEL, .first = 1, .count = 3 };
	struct plan p = { .steps = &st, .n_steps = 1 };
	struct agent_opts o = { .path = "fuzz", .offline_first = true };
	struct resize_guest_outcome out;
	int rc;

	l->opts = &o;
	rc = resize_guest_offline_before_unplug(l, &topo, &p, &out);
	check_outcome(&out, rc, VC_EXIT_AGENT);
	/* out.how is the last match's; a refusal to act names the first. */
	if (m->onlined ||
	    (m->set_vcpus && out.error &&
	     !strncmp(out.error, "not offlining first", 19)))
		abort();
	resize_guest_outcome_free(&out);
	l->opts = NULL;
}

/* --guest-agent after plugging vCPUs 4-5; a short wait, as each round
 * without news sleeps until it. */
static void flow_online_after_plug(struct agent_link *l, struct mem *m)
{
	struct apply_item it = { .op = PLAN_OP_ADD, .first = 4, .count = 2,
				 .state = APPLY_PLUGGED };
	struct apply_result r = { .items = &it, .n = 1 };
	struct agent_opts o = { .path = "fuzz" };
	struct resize_guest_outcome out;
	int rc;

	l->opts = &o;
	rc = resize_guest_online_after_plug(l, &topo, &r, 1, &out);
	check_outcome(&out, rc, VC_EXIT_NOT_ONLINE);
	if (m->offlined)
		abort();
	resize_guest_outcome_free(&out);
	l->opts = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 0, 1, 3, 7 };
	struct sess_transport tp = { mem_recv, mem_send, NULL };
	struct vc_err err = { 0 };
	struct agent_link link;
	struct gmap_paths *paths;
	struct gmap_view v;
	struct mem m = { 0 };
	struct agent *a;
	unsigned flow;

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
	/* The resize steps take the session as a command holds it. */
	agent_link_init(&link, NULL);
	link.a = a;
	link.tried = true;
	flow = (data[0] & 3) | ((data[0] >> 4) & 4);
	switch (flow) {
	case 0:
		flow_get(a);
		break;
	case 1:
	case 5:
		/* One record of paths for both: the second match reads none
		 * the first one read. */
		paths = gmap_paths_new(&err);
		if (!paths)
			abort();
		if (flow_view(a, paths, &v) == 0)
			gmap_view_free(&v);
		if (flow == 5 && flow_view(a, paths, &v) == 0)
			gmap_view_free(&v);
		gmap_paths_free(paths);
		break;
	case 2:
	case 6:
		flow_set(a);
		break;
	case 3:
	case 7:
		flow_offline_first(&link, &m);
		break;
	case 4:
		flow_online_after_plug(&link, &m);
		break;
	}
	agent_link_close(&link);
	return 0;
}
