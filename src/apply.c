/* apply.c - runs a plan's steps on QEMU, checks plugs, waits for removals.
 *
 * Round trips matter here: a plug of n vCPUs costs the planner's one query,
 * n device_adds and one query-cpus-fast.  No topology refresh between
 * device_adds, and no sleep where an event can wake the wait.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/util.h"

/* First fallback poll while waiting for removals, then doubling to the
 * maximum.  Events normally end the wait long before, and while the guest
 * keeps sending news of the pending removals (ACPI "eject in progress",
 * DEVICE_DELETED) the poll is put off: a guest ejects vCPUs one after
 * another, ~70-250 ms each, and a query meanwhile would only cost a round
 * trip. */
#define POLL_FIRST_MS 50
#define POLL_MAX_MS 1000

/* A plug into a slot whose core QEMU is still tearing down is retried for
 * this long, first after PLUG_RETRY_FIRST_MS, then twice as long each time
 * up to PLUG_RETRY_MAX_MS (plug_leaving_slot). */
#define PLUG_LEAVING_MS 2000
#define PLUG_RETRY_FIRST_MS 10
#define PLUG_RETRY_MAX_MS 200

/* ACPI OST source values QEMU reports: 3 is an eject request (Notify),
 * 0x103 the _EJx processing. */
#define OST_SRC_EJECT_REQUEST 3
#define OST_SRC_EJECT_PROCESS 0x103
#define OST_STATUS_IN_PROGRESS 132

const char *apply_state_name(enum apply_state s)
{
	switch (s) {
	case APPLY_NOT_DONE: return "not-done";
	case APPLY_PLUGGED: return "plugged";
	case APPLY_REMOVED: return "removed";
	case APPLY_PENDING: return "pending";
	case APPLY_REJECTED: return "rejected";
	case APPLY_FAILED: return "failed";
	}
	return "unknown";
}

const char *apply_ost_status_text(long status)
{
	switch (status) {
	case 0: return "success";
	case 1: return "failure";
	case 2: return "unrecognized notify";
	case 128: return "eject not supported";
	case 129: return "device in use";
	case 130: return "device busy";
	case 131: return "dependencies busy";
	case 132: return "eject in progress";
	}
	return "unknown status";
}

static bool ost_is_rejection(long status)
{
	return status == 1 || (status >= 128 && status <= 131);
}

static void item_set(struct apply_item *it, enum apply_state state,
		     const char *reason)
{
	it->state = state;
	free(it->reason);
	it->reason = reason ? strdup(reason) : NULL;
}

void apply_result_free(struct apply_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->items[i].device_id);
		free(r->items[i].qom_path);
		free(r->items[i].reason);
	}
	free(r->items);
	free(r->error);
	memset(r, 0, sizeof(*r));
	r->online_after = -1;
}

static int result_init(struct apply_result *r, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->online_after = -1;
	if (!n)
		return 0;
	r->items = calloc(n, sizeof(*r->items));
	if (!r->items)
		return -1;
	r->n = n;
	return 0;
}

static char *path_for_new_device(const char *id)
{
	char *s;

	if (asprintf(&s, "/machine/peripheral/%s", id) < 0)
		return NULL;
	return s;
}

static void set_error(struct apply_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct apply_result *r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!r->error)
		r->error = s;
	else
		free(s);
}

/* The exit code for the whole run, from the states of its items. */
static int result_code(const struct apply_result *r, int failure_code)
{
	size_t i;
	bool done = false, failed = false, rejected = false, pending = false;

	for (i = 0; i < r->n; i++) {
		switch (r->items[i].state) {
		case APPLY_PLUGGED:
		case APPLY_REMOVED:
			done = true;
			break;
		case APPLY_FAILED:
			failed = true;
			break;
		case APPLY_REJECTED:
			rejected = true;
			break;
		case APPLY_PENDING:
			pending = true;
			break;
		case APPLY_NOT_DONE:
			break;
		}
	}
	if (failed) {
		/* Anything already changed makes it partial, whatever failed. */
		if (done || pending || rejected)
			return VC_EXIT_PARTIAL;
		return failure_code ? failure_code : VC_EXIT_QEMU;
	}
	if (rejected)
		return VC_EXIT_GUEST;
	if (pending && r->timed_out)
		return VC_EXIT_TIMEOUT;
	return VC_EXIT_OK;
}

/* query-hotpluggable-cpus rebuilt from a topology, with the given items'
 * entities marked plugged at their new paths, so a plug can be checked
 * with query-cpus-fast alone. */
static json_t *hotpluggable_after_plug(const struct topology *t,
				       const struct plan *p,
				       const struct apply_result *r)
{
	json_t *list = json_array();
	size_t i;

	if (!list)
		return NULL;
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];
		const char *path = e->qom_path;
		json_t *o;
		size_t s;

		for (s = 0; s < p->n_steps; s++)
			if (p->steps[s].entity == i && p->steps[s].op == PLAN_OP_ADD &&
			    r->items[s].state == APPLY_PLUGGED)
				path = r->items[s].qom_path;
		o = json_pack("{s:o,s:i,s:s}", "props", topo_entity_props(e),
			      "vcpus-count", e->vcpus_count, "type", e->type);
		if (!o || (path && json_object_set_new(o, "qom-path", json_string(path)))) {
			json_decref(o);
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, o);
	}
	return list;
}

/* Check every plugged item against a fresh query-cpus-fast, and replace t
 * with the topology that includes them.  Returns 0; VC_EXIT_CONN when the
 * connection was lost before the check; otherwise VC_EXIT_PARTIAL when
 * the check failed or QEMU does not list a vCPU whose device_add it
 * accepted (the VM changed, just not as asked). */
static int check_plugs(struct qmp *q, struct topology *t, const struct plan *p,
		       struct apply_result *r)
{
	struct vc_err err = { 0 };
	struct topology fresh = { 0 };
	const char *cpus;
	json_t *hp;
	char *hp_text;
	size_t i, len;
	int k, rc = 0;

	hp = hotpluggable_after_plug(t, p, r);
	hp_text = hp ? json_dumps(hp, JSON_COMPACT) : NULL;
	json_decref(hp);
	if (!hp_text) {
		set_error(r, "out of memory");
		return VC_EXIT_INTERNAL;
	}
	if (qmp_call_text(q, "query-cpus-fast", NULL, &cpus, &len, &err) < 0 ||
	    topo_build(&fresh, hp_text, strlen(hp_text), cpus, len,
		       qmp_peer_pid(q), &err) < 0) {
		free(hp_text);
		set_error(r, "checking the new vCPUs: %s", err.msg);
		for (i = 0; i < r->n; i++)
			if (r->items[i].state == APPLY_PLUGGED)
				item_set(&r->items[i], APPLY_FAILED,
					 "device_add was accepted, but the result could not be checked");
		/* QEMU refusing the query is no "nothing was changed". */
		return err.code == VC_EXIT_CONN ? VC_EXIT_CONN : VC_EXIT_PARTIAL;
	}
	free(hp_text);
	for (i = 0; i < r->n; i++) {
		struct apply_item *it = &r->items[i];
		char why[256];

		if (it->state != APPLY_PLUGGED)
			continue;
		for (k = it->first; k < it->first + it->count; k++) {
			const struct topo_vcpu *v;

			if (k < 0 || (size_t)k >= fresh.n_vcpus)
				break;
			v = &fresh.vcpus[k];
			if (!v->qom_path) {
				snprintf(why, sizeof(why),
					 "device_add was accepted, but QEMU does not list vCPU %d", k);
				item_set(it, APPLY_FAILED, why);
				set_error(r, "%s: %s", it->device_id, why);
				rc = VC_EXIT_PARTIAL;
				break;
			}
		}
	}
	topo_free(t);
	*t = fresh;
	r->online_after = t->online;
	return rc;
}

/* Does a DEVICE_DELETED path name the device or something under it?  A
 * plain prefix test would let vcpu1 match vcpu10. */
static bool path_is_under(const char *path, const char *dev)
{
	size_t n = strlen(dev);

	return !strncmp(path, dev, n) && (path[n] == '\0' || path[n] == '/');
}

static struct apply_item *find_pending(struct apply_result *r, const char *id,
				       const char *path)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct apply_item *it = &r->items[i];

		if (it->state != APPLY_PENDING)
			continue;
		if (id && (!strcmp(id, it->device_id) ||
			   (it->qom_path && !strcmp(id, it->qom_path))))
			return it;
		if (path && it->qom_path && path_is_under(path, it->qom_path))
			return it;
	}
	return NULL;
}

/* Apply one QEMU event to the pending removals.  Returns true when it
 * concerned one of them: the guest is answering, so polling can wait. */
static bool handle_event(struct apply_result *r, const struct qmp_event *ev)
{
	struct apply_item *it;
	char why[128];

	switch (ev->kind) {
	case QMP_EV_DEVICE_DELETED:
		it = find_pending(r, ev->device, ev->path);
		if (it)
			item_set(it, APPLY_REMOVED, NULL);
		return it != NULL;
	case QMP_EV_UNPLUG_GUEST_ERROR:
		it = find_pending(r, ev->device, ev->path);
		if (it)
			item_set(it, APPLY_REJECTED,
				 "rejected by the guest (DEVICE_UNPLUG_GUEST_ERROR)");
		return it != NULL;
	case QMP_EV_ACPI_OST:
		if (!ev->device || (ev->ost_source != OST_SRC_EJECT_REQUEST &&
				    ev->ost_source != OST_SRC_EJECT_PROCESS))
			return false;
		it = find_pending(r, ev->device, NULL);
		if (!it)
			return false;
		/* Anything else (132, eject in progress) is news, not an end. */
		if (!ost_is_rejection(ev->ost_status))
			return true;
		snprintf(why, sizeof(why), "rejected by the guest: ACPI _OST status %ld (%s)",
			 ev->ost_status, apply_ost_status_text(ev->ost_status));
		item_set(it, APPLY_REJECTED, why);
		return true;
	case QMP_EV_OTHER:
		break;
	}
	return false;
}

/* Returns the number of events that concerned a pending removal. */
static size_t drain_events(struct qmp *q, struct apply_result *r)
{
	struct qmp_event ev;
	size_t news = 0;

	while (qmp_event_next(q, &ev)) {
		news += handle_event(r, &ev);
		qmp_event_clear(&ev);
	}
	return news;
}

static size_t count_pending(const struct apply_result *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->items[i].state == APPLY_PENDING;
	return n;
}

/* Settle pending items by what QEMU lists now: a pending entity that is
 * gone from both replies was removed; one whose device query-cpus-fast
 * still lists (topology.h: leaving) is not yet.  Replaces t.  Returns 0,
 * or -1 with err set. */
static int settle_by_topology(struct qmp *q, struct topology *t,
			      struct apply_result *r, struct vc_err *err)
{
	struct topology fresh = { 0 };
	size_t i;

	if (topo_query(q, &fresh, err) < 0)
		return -1;
	for (i = 0; i < r->n; i++) {
		struct apply_item *it = &r->items[i];

		if (it->state == APPLY_PENDING &&
		    !topo_find_alias(&fresh, it->qom_path) &&
		    !topo_find_alias(&fresh, it->device_id) &&
		    !topo_leaving(&fresh, it->qom_path))
			item_set(it, APPLY_REMOVED, NULL);
	}
	r->online_after = fresh.online;
	if (t) {
		topo_free(t);
		*t = fresh;
	} else {
		topo_free(&fresh);
	}
	return 0;
}

int apply_wait(struct qmp *q, struct topology *t, struct apply_result *r,
	       int64_t timeout_ms)
{
	int64_t deadline = vc_deadline(timeout_ms);
	int64_t next_poll = vc_now_ms() + POLL_FIRST_MS;
	int interval = POLL_FIRST_MS;
	struct vc_err err = { 0 };
	bool settled = false;	/* the last poll found nothing pending */
	size_t news;

	r->timed_out = false;
	vc_catch_stop_signals();
	for (;;) {
		int64_t now;
		int left, rc;

		news = drain_events(q, r);
		if (!count_pending(r))
			break;
		if (vc_stop_signal) {
			r->signo = vc_stop_signal;
			r->timed_out = true;
			set_error(r, "interrupted by %s while waiting; removals still pending",
				  vc_signal_name(r->signo));
			break;
		}
		now = vc_now_ms();
		if (news)
			next_poll = now + interval;
		if (now >= next_poll) {
			if (settle_by_topology(q, t, r, &err) < 0)
				goto lost;
			drain_events(q, r);
			settled = !count_pending(r);
			if (settled)
				break;
			interval = interval * 2 > POLL_MAX_MS ? POLL_MAX_MS : interval * 2;
			next_poll = vc_now_ms() + interval;
			continue;
		}
		if (deadline >= 0 && now >= deadline) {
			r->timed_out = true;
			break;
		}
		left = (int)(next_poll - now);
		if (deadline >= 0 && deadline - now < left)
			left = (int)(deadline - now);
		rc = qmp_wait_event(q, left, &err);
		if (rc < 0)
			goto lost;
	}
	/* One look at QEMU's own list settles what events said and gives the
	 * count after; a poll that just did so need not be repeated. */
	if (!settled && settle_by_topology(q, t, r, &err) < 0)
		goto lost;
	r->code = result_code(r, 0);
	return r->code;
lost:
	/* The device_dels were accepted; what became of them is unknown, and
	 * the items still say pending. */
	set_error(r, "waiting for removals: %s", err.msg);
	r->code = VC_EXIT_CONN;
	return r->code;
}

/* QEMU's device_add error for an id in use: "Duplicate device ID 'vcpu6'"
 * (GenericError) names the id. */
static bool is_duplicate_id(const struct vc_err *err, const char *id)
{
	char want[VC_ERR_MSG_MAX];

	snprintf(want, sizeof(want), "Duplicate device ID '%s'", id);
	return err->code == VC_EXIT_QEMU && strstr(err->msg, want);
}

/* Does query-cpus-fast list a vCPU at or under path?  1 or 0; -1 with err
 * set when the query failed. */
static int cpus_fast_lists_under(struct qmp *q, const char *path,
				 struct vc_err *err)
{
	json_t *rows = qmp_call(q, "query-cpus-fast", NULL, err), *row;
	size_t i;
	int found = 0;

	if (!rows)
		return -1;
	json_array_foreach(rows, i, row) {
		const char *qom = json_string_value(json_object_get(row, "qom-path"));

		if (qom && path_is_under(qom, path)) {
			found = 1;
			break;
		}
	}
	json_decref(rows);
	return found;
}

/* A device_add of a free slot failed.  QEMU removes a core in steps (on
 * pseries its threads one by one, answering the monitor in between):
 * query-hotpluggable-cpus shows the slot free, which is what the plan
 * read, while the device, and so its id, and its last threads in
 * query-cpus-fast are not gone yet; the device_add then fails with
 * "Duplicate device ID".  Only on that failure, and only for an id no
 * plugged entity of t holds (that is a true duplicate), query-cpus-fast
 * is read: while it lists a vCPU under the device's path the device is
 * leaving, and the device_add is sent again after a pause, for at most
 * PLUG_LEAVING_MS.  The common path costs no round trip more.  Returns
 * the reply, or NULL with err set: the last device_add's error, or, when
 * the device was still leaving at the bound, VC_EXIT_TIMEOUT saying so. */
static json_t *plug_leaving_slot(struct qmp *q, const struct topology *t,
				 const struct apply_item *it, json_t *args,
				 struct vc_err *err)
{
	int64_t deadline = vc_now_ms() + PLUG_LEAVING_MS;
	int pause = PLUG_RETRY_FIRST_MS, tries = 1;
	const struct topo_entity *holder = topo_find_alias(t, it->device_id);
	struct vc_err qerr = { 0 };

	if (holder && holder->online)
		return NULL;
	while (is_duplicate_id(err, it->device_id)) {
		struct timespec ts;
		json_t *ret;
		int64_t now;
		int leaving = cpus_fast_lists_under(q, it->qom_path, &qerr);

		if (leaving < 0) {
			if (qerr.code == VC_EXIT_CONN)
				*err = qerr;
			return NULL;
		}
		if (!leaving)
			return NULL;
		now = vc_now_ms();
		if (now >= deadline) {
			vc_err_set(err, VC_EXIT_TIMEOUT,
				   "device_add: QEMU is still removing the earlier "
				   "device %s (query-cpus-fast lists its vCPUs, "
				   "query-hotpluggable-cpus shows its slot free); "
				   "%d tries in %d ms; try again later",
				   it->device_id, tries, PLUG_LEAVING_MS);
			return NULL;
		}
		if (pause > deadline - now)
			pause = (int)(deadline - now);
		/* Events that come meanwhile wait in the socket. */
		ts.tv_sec = pause / 1000;
		ts.tv_nsec = (long)(pause % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		pause = pause * 2 > PLUG_RETRY_MAX_MS ? PLUG_RETRY_MAX_MS : pause * 2;
		tries++;
		vc_err_clear(err);
		ret = qmp_call(q, "device_add", args, err);
		if (ret)
			return ret;
	}
	return NULL;
}

int apply_plan(struct qmp *q, struct topology *t, const struct plan *p,
	       const struct apply_opts *o, struct apply_result *r)
{
	struct vc_err err = { 0 };
	bool plugged = false, pending = false;
	int failure_code = 0, signal_code = 0;
	size_t i;

	if (result_init(r, p->n_steps) < 0) {
		r->code = VC_EXIT_INTERNAL;
		set_error(r, "out of memory");
		return r->code;
	}
	for (i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		struct apply_item *it = &r->items[i];

		it->op = s->op;
		it->first = s->first;
		it->count = s->count;
		it->device_id = strdup(s->device_id);
		it->qom_path = s->op == PLAN_OP_ADD ? path_for_new_device(s->device_id)
			: (t->ents[s->entity].qom_path ?
			   strdup(t->ents[s->entity].qom_path) : NULL);
		if (!it->device_id || !it->qom_path) {
			r->code = VC_EXIT_INTERNAL;
			set_error(r, "out of memory");
			return r->code;
		}
		item_set(it, APPLY_NOT_DONE, "not sent: an earlier step failed");
	}
	if (!p->n_steps) {
		r->online_after = t->online;
		r->code = VC_EXIT_OK;
		return r->code;
	}

	vc_catch_stop_signals();
	for (i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		struct apply_item *it = &r->items[i];
		json_t *cmd, *ret;
		const char *name;
		size_t k;

		if (vc_stop_signal) {
			char why[64];

			r->signo = vc_stop_signal;
			snprintf(why, sizeof(why), "not sent: interrupted by %s",
				 vc_signal_name(r->signo));
			for (k = i; k < p->n_steps; k++)
				item_set(&r->items[k], APPLY_NOT_DONE, why);
			set_error(r, "interrupted by %s after step %zu of %zu; "
				  "the steps after it were not sent",
				  vc_signal_name(r->signo), i, p->n_steps);
			signal_code = i ? VC_EXIT_PARTIAL : 128 + r->signo;
			break;
		}
		cmd = plan_step_command(t, s);
		name = json_string_value(json_object_get(cmd, "execute"));
		if (!cmd || !name) {
			json_decref(cmd);
			set_error(r, "out of memory");
			failure_code = VC_EXIT_INTERNAL;
			item_set(it, APPLY_FAILED, "out of memory");
			break;
		}
		ret = qmp_call(q, name, json_object_get(cmd, "arguments"), &err);
		if (!ret && s->op == PLAN_OP_ADD)
			ret = plug_leaving_slot(q, t, it, json_object_get(cmd, "arguments"),
						&err);
		if (!ret) {
			char why[VC_ERR_MSG_MAX + 64];

			size_t nl = strlen(name);
			/* Transport errors already name the command. */
			bool named = !strncmp(err.msg, name, nl) &&
				     err.msg[nl] == ':';

			/* Without a reply nobody knows whether QEMU ran it. */
			snprintf(why, sizeof(why), "%s%s%s%s", named ? "" : name,
				 named ? "" : ": ", err.msg,
				 err.code == VC_EXIT_CONN ?
				 " (whether QEMU carried it out is unknown)" : "");
			item_set(it, APPLY_FAILED, why);
			set_error(r, "%s: %s (step %zu of %zu)", it->device_id, why,
				  i + 1, p->n_steps);
			failure_code = err.code;
			json_decref(cmd);
			break;
		}
		json_decref(ret);
		json_decref(cmd);
		if (s->op == PLAN_OP_ADD) {
			item_set(it, APPLY_PLUGGED, NULL);
			plugged = true;
		} else {
			item_set(it, APPLY_PENDING, NULL);
			pending = true;
		}
	}

	/* After a lost connection nothing more can be learnt; report what the
	 * replies said. */
	if (failure_code == VC_EXIT_CONN) {
		r->code = result_code(r, VC_EXIT_CONN);
		return r->code;
	}
	if (plugged) {
		int check = check_plugs(q, t, p, r);

		/* QEMU accepted those device_adds: the VM changed, so this is
		 * never "refused, nothing changed". */
		if (check)
			failure_code = failure_code ? VC_EXIT_PARTIAL : check;
	}
	if (pending) {
		if (o->wait) {
			/* A QEMU that died during the wait leaves the removals'
			 * outcome unknown: that is the result, not success. */
			if (apply_wait(q, t, r, o->timeout_ms) == VC_EXIT_CONN)
				return r->code;
		} else {
			/* Events that came with the replies (pseries sends
			 * DEVICE_DELETED before the device_del reply) still
			 * count; no extra round trip. */
			drain_events(q, r);
		}
	}
	r->code = result_code(r, failure_code);
	/* Cut short with nothing failed or pending-past-a-wait: say so. */
	if (signal_code && r->code == VC_EXIT_OK)
		r->code = signal_code;
	return r->code;
}

int apply_find_pending(struct qmp *q, const struct topology *t,
		       const struct cpulist *list, struct apply_result *r,
		       struct vc_err *err)
{
	json_t *ost = NULL;
	size_t i, n = 0;
	bool *want;

	want = calloc(t->n_ents ? t->n_ents : 1, sizeof(*want));
	if (!want)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	if (list) {
		long k;

		for (k = cpulist_next(list, 0); k >= 0; k = cpulist_next(list, k + 1)) {
			if ((size_t)k >= t->n_vcpus) {
				free(want);
				return vc_err_set(err, VC_EXIT_USAGE,
						  "vCPU %ld does not exist: this VM has vCPUs 0-%zu",
						  k, t->n_vcpus ? t->n_vcpus - 1 : 0);
			}
			i = t->vcpus[k].entity;
			if (t->ents[i].online)
				want[i] = true;
		}
	}
	/* QEMU's ACPI status tells which ejects the guest is working on and
	 * which it refused.  Machines without ACPI do not have it. */
	ost = qmp_call(q, "query-acpi-ospm-status", NULL, err);
	if (!ost && err->code == VC_EXIT_CONN) {
		free(want);
		return -1;
	}
	vc_err_clear(err);
	if (!list && json_is_array(ost)) {
		json_t *info;

		json_array_foreach(ost, i, info) {
			const char *dev = json_string_value(json_object_get(info, "device"));
			const struct topo_entity *e;

			if (!dev || json_integer_value(json_object_get(info, "status")) !=
			    OST_STATUS_IN_PROGRESS)
				continue;
			e = topo_find_alias(t, dev);
			if (e && e->online)
				want[e - t->ents] = true;
		}
	}
	for (i = 0; i < t->n_ents; i++)
		n += want[i];
	if (result_init(r, n) < 0) {
		free(want);
		json_decref(ost);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	n = 0;
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];
		struct apply_item *it;

		if (!want[i])
			continue;
		it = &r->items[n++];
		it->op = PLAN_OP_DEL;
		it->first = e->first;
		it->count = e->vcpus_count;
		it->device_id = strdup(topo_entity_device_id(e));
		it->qom_path = strdup(e->qom_path);
		it->state = APPLY_PENDING;
	}
	free(want);
	/* A named vCPU whose last eject request the guest refused will not go
	 * away by waiting. */
	if (list && json_is_array(ost)) {
		json_t *info;

		json_array_foreach(ost, i, info) {
			json_t *raw = json_pack("{s:s,s:{s:O}}", "event", "ACPI_DEVICE_OST",
						"data", "info", info);
			struct qmp_event ev;

			if (!raw)
				continue;
			qmp_event_decode(raw, &ev);
			handle_event(r, &ev);
			qmp_event_clear(&ev);
		}
	}
	json_decref(ost);
	for (i = 0; i < r->n; i++)
		if (!r->items[i].device_id || !r->items[i].qom_path)
			return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	return 0;
}
