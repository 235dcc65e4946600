/* cmd_events.c - "vcpuctl events": stream the VM's QMP events as JSON
 * lines, plus vcpuctl's own vcpu-added / vcpu-removed events.
 *
 * QEMU's events do not say reliably which vCPUs came or went (on x86 a
 * removal ends with a DEVICE_DELETED for ".../vcpuN/lapic" only; a pseries
 * core of 8 threads is one device), so the vCPU events come from comparing
 * topology snapshots: one at start, another after every CPU-related event,
 * and one every second, since another QMP monitor may plug CPUs without any
 * event reaching this one.  One vcpu-* line per vCPU index.
 *
 * Glue only: the events come from qmp.c, the snapshots from topology.c.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/pending.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/util.h"

/* How often the topology is re-read when no event says it changed. */
#define EVENTS_POLL_MS 1000
/* How long a vcpu-removed waits for the VM's lock to update the record. */
#define EVENTS_LOCK_MS 500

struct events_args {
	struct cli_common common;
	struct cli_inputs in;   /* what the option groups fill in */
	int64_t timeout_ms;     /* --timeout; 0: none */
	long count;             /* --count; 0: none */
	bool vcpu_only;         /* --vcpu-only */
	long printed;
};

enum {
	OPT_VCPU_ONLY = 0x300,
};

static const struct argp_option events_options[] = {
	{ "timeout", 't', "SEC", 0,
	  "stop after SEC seconds (default: run until stopped)", 0 },
	{ "count", 'n', "N", 0,
	  "stop after N lines; with --timeout, exit 7 if fewer came", 0 },
	{ "vcpu-only", OPT_VCPU_ONLY, NULL, 0,
	  "print only the vcpu-added and vcpu-removed events", 0 },
	{ 0 }
};

static error_t events_parse(int key, char *arg, struct argp_state *state)
{
	struct events_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		a->in.common = &a->common;
		state->child_inputs[0] = &a->in;
		return 0;
	case 't':
		if (!vc_parse_seconds(arg, &a->timeout_ms))
			argp_error(state, "--timeout: '%s' is not a number of seconds", arg);
		return 0;
	case 'n':
		if (!vc_parse_long(arg, 1, 1L << 30, &a->count))
			argp_error(state, "--count: '%s' is not a positive whole number", arg);
		return 0;
	case OPT_VCPU_ONLY:
		a->vcpu_only = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp_child events_children[] = {
	{ &cli_common_argp, 0, "Common options:", 10 },
	{ 0 }
};

static const struct argp events_argp = {
	events_options, events_parse, NULL,
	"Print the VM's QMP events as they come, one JSON object per line, "
	"flushed line by line.  Besides QEMU's own events, print "
	"{\"event\": \"vcpu-added\"} and {\"event\": \"vcpu-removed\"} once per "
	"vCPU that was plugged or unplugged, with its index, device_id, "
	"qom_path, thread_id and cpu_index in \"data\"."
	"\v--count counts every line printed (only vCPU events with "
	"--vcpu-only).  Exit 0 when --count lines were printed, or when "
	"--timeout passed without --count; 7 when --timeout passed before "
	"--count lines; 3 when QEMU closed the connection.  Output is always "
	"JSON; --json is accepted for symmetry.  QEMU serves one QMP client "
	"at a time: while this runs, other vcpuctl commands on the same socket "
	"wait.  'vcpuctl --help' lists the exit codes.",
	events_children, NULL, NULL
};

static bool events_done(const struct events_args *a)
{
	return a->count > 0 && a->printed >= a->count;
}

/* Print one line and count it.  Steals ev. */
static void events_emit(struct events_args *a, json_t *ev)
{
	if (events_done(a)) {
		json_decref(ev);
		return;
	}
	a->printed++;
	if (a->common.quiet)
		json_decref(ev);
	else
		cli_print_json(ev);
}

static json_t *event_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return json_pack("{s:I,s:I}", "seconds", (json_int_t)tv.tv_sec,
			 "microseconds", (json_int_t)tv.tv_usec);
}

static json_t *json_id(long v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static void emit_vcpu(struct events_args *a, const char *name,
		      const struct topology *t, const struct topo_vcpu *v)
{
	const struct topo_entity *e = &t->ents[v->entity];
	const char *dev = e->qom_path ? topo_entity_device_id(e) : NULL;

	events_emit(a, json_pack("{s:s,s:{s:i,s:s?,s:s?,s:o,s:o},s:o}",
				 "event", name,
				 "data", "index", v->index, "device_id", dev,
				 "qom_path", v->qom_path ? v->qom_path : e->qom_path,
				 "thread_id", json_id(v->thread_id),
				 "cpu_index", json_id(v->cpu_index),
				 "timestamp", event_now()));
}

/* The same vCPU slot, but a different vCPU: unplugged and plugged again
 * between two snapshots. */
static bool vcpu_replaced(const struct topo_vcpu *old, const struct topo_vcpu *new)
{
	if (old->thread_id > 0 && new->thread_id > 0 && old->thread_id != new->thread_id)
		return true;
	return old->qom_path && new->qom_path && strcmp(old->qom_path, new->qom_path);
}

/* Emit the vCPU events that take snapshot old to snapshot new: removals
 * first, in index order, then additions.  Returns how many removals. */
static size_t emit_diff(struct events_args *a, const struct topology *old,
			const struct topology *new)
{
	size_t n = old->n_vcpus < new->n_vcpus ? old->n_vcpus : new->n_vcpus;
	size_t i, removed = 0;

	for (i = 0; i < n; i++) {
		const struct topo_vcpu *o = &old->vcpus[i], *w = &new->vcpus[i];

		if (o->online && (!w->online || vcpu_replaced(o, w))) {
			emit_vcpu(a, "vcpu-removed", old, o);
			removed++;
		}
	}
	for (i = 0; i < n; i++) {
		const struct topo_vcpu *o = &old->vcpus[i], *w = &new->vcpus[i];

		if (w->online && (!o->online || vcpu_replaced(o, w)))
			emit_vcpu(a, "vcpu-added", new, w);
	}
	return removed;
}

/* vCPUs seen leaving close their entries in the record of requested
 * removals (pending.h), as a finished "wait" would: those QEMU no longer
 * lists at all by reconciliation with t, those whose entity has just left
 * query-hotpluggable-cpus (events' own vcpu-removed) by name. */
static void close_record(const struct events_args *a, struct qmp *q,
			 const struct topology *old, const struct topology *t)
{
	struct apply_item items[64];
	struct apply_result gone = { .items = items };
	struct vc_err err = { 0 };
	struct pending p;
	size_t i;

	for (i = 0; i < old->n_ents && gone.n < 64; i++) {
		const struct topo_entity *e = &old->ents[i];
		const struct topo_entity *now = topo_find_alias(t, e->qom_path ? e->qom_path : "");

		if (!e->online || (now && now->online))
			continue;
		items[gone.n++] = (struct apply_item){
			.op = PLAN_OP_DEL, .state = APPLY_REMOVED, .first = e->first,
			.count = e->vcpus_count, .qom_path = e->qom_path,
			.device_id = (char *)topo_entity_device_id(e),
		};
	}
	if (pending_settle(a->common.socket, qmp_peer_pid(q), qmp_version(q), t,
			   &gone, EVENTS_LOCK_MS, &p, &err) < 0)
		cli_warn(&a->common, "record of pending removals not updated: %s",
			 err.msg);
	for (i = 0; i < p.n_warnings; i++)
		cli_warn(&a->common, "%s", p.warnings[i]);
	pending_free(&p);
}

/* Print what is queued.  Returns true when one of them concerns CPUs. */
static bool drain(struct events_args *a, struct qmp *q)
{
	struct qmp_event ev;
	bool cpu = false;

	while (qmp_event_next(q, &ev)) {
		cpu |= ev.kind != QMP_EV_OTHER;
		if (!a->vcpu_only) {
			events_emit(a, ev.raw);
			ev.raw = NULL;
		}
		qmp_event_clear(&ev);
	}
	return cpu;
}

static int events_loop(struct events_args *a, struct qmp *q, struct topology *snap,
		       struct vc_err *err)
{
	int64_t deadline = vc_deadline(a->timeout_ms);
	int64_t next_poll = vc_now_ms() + EVENTS_POLL_MS;

	for (;;) {
		bool refresh = drain(a, q);
		int64_t now = vc_now_ms();
		int wait_ms, rc;

		if (events_done(a))
			return VC_EXIT_OK;
		if (refresh || now >= next_poll) {
			struct topology fresh = { 0 };

			if (topo_query(q, &fresh, err) < 0)
				return -1;
			if (emit_diff(a, snap, &fresh))
				close_record(a, q, snap, &fresh);
			topo_free(snap);
			*snap = fresh;
			next_poll = vc_now_ms() + EVENTS_POLL_MS;
			/* Events that came with the query replies first. */
			continue;
		}
		if (deadline >= 0 && now >= deadline)
			return a->count > 0 ? VC_EXIT_TIMEOUT : VC_EXIT_OK;
		wait_ms = (int)(next_poll - now);
		if (deadline >= 0 && deadline - now < wait_ms)
			wait_ms = (int)(deadline - now);
		rc = qmp_wait_event(q, wait_ms, err);
		if (rc < 0) {
			/* QEMU's last words (SHUTDOWN) still go out. */
			drain(a, q);
			return -1;
		}
	}
}

int cmd_events(int argc, char **argv)
{
	struct events_args a;
	struct topology snap = { 0 };
	struct vc_err err = { 0 };
	struct qmp *q = NULL;
	int code;

	memset(&a, 0, sizeof(a));
	cli_common_init(&a.common);
	if (argp_parse(&events_argp, argc, argv, 0, NULL, &a))
		return VC_EXIT_USAGE;

	q = cli_connect(&a.common, &err);
	if (!q || topo_query(q, &snap, &err) < 0) {
		code = cli_fail(&a.common, &err);
		goto out;
	}
	code = events_loop(&a, q, &snap, &err);
	if (code < 0)
		code = cli_fail(&a.common, &err);
	else if (code == VC_EXIT_TIMEOUT)
		fprintf(stderr, "vcpuctl: events: %ld of %ld events before the timeout\n",
			a.printed, a.count);
out:
	cli_stats(&a.common, q);
	topo_free(&snap);
	qmp_close(q);
	return code;
}
