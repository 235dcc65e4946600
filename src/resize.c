/* resize.c - the flow of a change (set, add, del), of "wait" and of
 * "tune", from a checked request to a result.  Policy lives here so the
 * commands only parse, call and print; the guest steps around the plug
 * and unplug are in resize_guest.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/audit.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/report.h"
#include "vcpuctl/resize.h"
#include "vcpuctl/util.h"

static void warn(struct resize_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct resize_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vc_msgs_addv(res->warnings, &res->n_warnings, RESIZE_MAX_WARNINGS, fmt, ap);
	va_end(ap);
}

/* The one rule for when threads cannot be tuned at all: the reason, or
 * NULL when they can. */
static const char *resize_tune_skip(const struct topology *t, pid_t qemu_pid)
{
	if (!t->per_vcpu_threads)
		return t->thread_warning ? t->thread_warning
					 : "QEMU reports no per-vCPU threads";
	if (qemu_pid <= 0)
		return "QEMU's pid is unknown (not a local unix socket), so its "
		       "threads cannot be told apart from others";
	return NULL;
}

/* --cgroup auto needs QEMU's pid, known once connected; what it chose is
 * told with the warnings. */
static int cgroup_auto(struct qmp *q, struct resize_result *res, struct vc_err *err)
{
	if (tune_cgroup_auto(&res->cg, qmp_peer_pid(q), err) < 0)
		return -1;
	if (res->cg.note)
		warn(res, "%s", res->cg.note);
	return 0;
}

int resize_prepare(struct resize_request *req, struct resize_result *res,
		   struct vc_err *err)
{
	memset(res, 0, sizeof(*res));
	res->change_round_trips = -1;
	res->preq.min = res->preq.max = -1;
	if (sel_parse(&req->sel, &res->preq, err) < 0)
		return -1;
	if (req->tune && req->tune->cgroup && !req->plan_only &&
	    tune_cgroup_resolve(req->tune->cgroup, TUNE_CGROUP_ROOT, &res->cg, err) < 0)
		return -1;
	/* A record that is required must be possible before there is
	 * anything to record. */
	if ((req->audit & AUDIT_LINUX_REQUIRED) && !req->plan_only &&
	    audit_linux_probe(err) < 0) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		return vc_err_set(err, VC_EXIT_USAGE, "--audit: %s; nothing was changed", why);
	}
	return 0;
}

/* "<command>: <why>; <what was done>" for the line after a failure. */
static void set_failure(struct resize_result *res, const char *command,
			const char *why)
{
	char *progress = report_progress(&res->apply);

	vc_err_set(&res->failure, res->code, "%s: %s%s%s", command, why,
		   progress ? "; " : "", progress ? progress : "");
	free(progress);
}

/* Tune the threads of the vCPUs just plugged (res->topo is the refreshed
 * topology).  A vCPU that cannot be tuned stays plugged; its item says
 * why, and the code becomes VC_EXIT_NOT_TUNED if nothing worse happened. */
static void tune_plugged(const struct resize_request *req, struct qmp *q,
			 struct resize_result *res)
{
	const struct topology *t = &res->topo;
	struct apply_result *r = &res->apply;
	pid_t pid = qmp_peer_pid(q);
	const char *skip;
	bool failed = false;
	size_t i;
	int k;

	for (i = 0; i < r->n && r->items[i].state != APPLY_PLUGGED; i++)
		;
	if (!req->tune || !tune_opts_any(req->tune) || i == r->n)
		return;
	skip = resize_tune_skip(t, pid);
	for (i = 0; i < r->n; i++) {
		struct apply_item *it = &r->items[i];
		char *why = NULL;

		if (it->state != APPLY_PLUGGED)
			continue;
		it->tune = skip ? APPLY_TUNE_SKIPPED : APPLY_TUNE_DONE;
		for (k = it->first; !skip && k < it->first + it->count; k++) {
			struct vc_err err = { 0 };
			long tid = (size_t)k < t->n_vcpus ? t->vcpus[k].thread_id : -1;

			if (!tune_thread_on_node(req->tune, &res->cg, k,
						 tune_vcpu_node(t, k), pid,
						 (pid_t)tid, &err))
				continue;
			/* The first failure names the item; the others still run. */
			if (it->tune != APPLY_TUNE_FAILED &&
			    asprintf(&why, "plugged, not tuned: %s", err.msg) >= 0) {
				free(it->reason);
				it->reason = why;
			}
			it->tune = APPLY_TUNE_FAILED;
			if (!r->error)
				r->error = strdup(it->reason ? it->reason : err.msg);
			failed = true;
		}
	}
	if (skip)
		warn(res, "tuning skipped: %s", skip);
	if (failed && r->code == VC_EXIT_OK)
		r->code = VC_EXIT_NOT_TUNED;
}

/* With --cgroup, every run that removes or waits leaves no vcpuN behind
 * for a vCPU QEMU no longer lists, whichever run saw it go.  What QEMU
 * lists comes from res->topo; this run's items say what finished or is
 * still pending since it was read.  A cgroup that stays is named, and
 * makes the run VC_EXIT_NOT_TUNED when nothing worse happened. */
static void sweep_cgroups(const char *command, struct resize_result *res)
{
	const struct topology *t = &res->topo;
	const struct apply_result *r = &res->apply;
	struct vc_err err = { 0 };
	unsigned char *use;
	size_t i;
	int k;

	if (res->cg.mode == TUNE_CG_NONE)
		return;
	use = calloc(t->n_vcpus + 1, 1);
	if (!use) {
		warn(res, "cgroups of removed vCPUs not looked at: out of memory");
		return;
	}
	for (i = 0; i < t->n_vcpus; i++)
		use[i] = t->vcpus[i].online ? TUNE_VCPU_LISTED : TUNE_VCPU_GONE;
	for (i = 0; i < r->n; i++) {
		const struct apply_item *it = &r->items[i];

		if (it->op != PLAN_OP_DEL ||
		    (it->state != APPLY_REMOVED && it->state != APPLY_PENDING))
			continue;
		for (k = it->first; k < it->first + it->count && (size_t)k < t->n_vcpus; k++)
			use[k] = it->state == APPLY_REMOVED ? TUNE_VCPU_GONE
							    : TUNE_VCPU_PENDING;
	}
	if (tune_cgroup_sweep(&res->cg, use, t->n_vcpus, &res->sweep, &err) < 0)
		warn(res, "cgroups of removed vCPUs not looked at: %s", err.msg);
	free(use);
	if (res->sweep.n_left && res->code == VC_EXIT_OK) {
		res->code = res->apply.code = VC_EXIT_NOT_TUNED;
		vc_err_set(&res->failure, res->code, "%s: %zu cgroup%s of removed vCPUs left",
			   command, res->sweep.n_left, res->sweep.n_left > 1 ? "s" : "");
	}
}

/* How long "wait" waits for the VM's lock to update the record; a change
 * holding it that long will reconcile the record itself. */
#define RECORD_LOCK_MS 2000

/* The record's warnings become the run's. */
static void record_warnings(struct resize_result *res)
{
	size_t i;

	for (i = 0; i < res->pend.n_warnings; i++) {
		warn(res, "%s", res->pend.warnings[i]);
		free(res->pend.warnings[i]);
	}
	res->pend.n_warnings = 0;
}

/* The record of this VM's requested removals, reconciled with res->topo,
 * whose entities it names are then marked leaving: set plans against
 * where the VM is going. */
static void record_load(struct qmp *q, const struct resize_request *req,
			struct resize_result *res)
{
	struct vc_err why = { 0 };
	size_t i;

	if (!req->socket)
		return;
	/* A record that cannot be had at all (no lock directory, no memory)
	 * costs what it would have told, not the command. */
	if (pending_load(req->socket, qmp_peer_pid(q), qmp_version(q), &res->pend,
			 &why) < 0) {
		warn(res, "record of pending removals not read: %s", why.msg);
		pending_free(&res->pend);
		return;
	}
	pending_reconcile(&res->pend, &res->topo, NULL);
	record_warnings(res);
	for (i = 0; i < res->pend.n; i++) {
		const struct topo_vcpu *v = &res->topo.vcpus[res->pend.e[i].vcpu];

		res->topo.ents[v->entity].leaving = true;
	}
}

/* The removals still leaving from earlier runs belong to this result too:
 * shown as pending and, when the run waits, waited for. */
static int record_track(const struct resize_request *req, struct qmp *q,
			struct resize_result *res)
{
	struct apply_result *r = &res->apply;
	size_t i, before = r->n;

	if (req->sel.kind == PLAN_ADD_LIST)
		return 0;
	for (i = 0; i < res->pend.n; i++) {
		const struct pending_entry *e = &res->pend.e[i];

		if (req->sel.kind == PLAN_DEL_LIST &&
		    !cpulist_has(&req->sel.list, (size_t)e->vcpu))
			continue;
		if (apply_track(r, e->vcpu, e->count, e->device_id, e->qom_path,
				APPLY_SOURCE_RECORD) < 0) {
			r->code = VC_EXIT_INTERNAL;
			return -1;
		}
	}
	if (r->n > before && req->wait && r->code == VC_EXIT_OK)
		apply_wait(q, &res->topo, r, req->timeout_ms);
	return 0;
}

/* set/del, under the VM's lock: what this run asked for and what became
 * of it.  A record not written is a warning, never a failed change. */
static void record_store(const struct resize_request *req,
			 struct resize_result *res)
{
	struct vc_err err = { 0 };

	if (!req->socket || !res->pend.path[0])
		return;
	if (pending_update(&res->pend, &res->apply, pending_now(), req->timeout_ms,
			   req->resend) < 0)
		vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
	else
		pending_store(&res->pend, &err);
	if (err.code)
		warn(res, "record of pending removals not written: %s", err.msg);
	record_warnings(res);
}

/* wait: the removals that ended leave the record.  wait holds no lock
 * while it waits, so the record is read again under the lock. */
static void record_settle(struct qmp *q, const struct resize_request *req,
			  struct resize_result *res)
{
	struct vc_err err = { 0 };
	struct pending fresh;

	if (!req->socket || !res->pend.path[0])
		return;
	if (pending_settle(req->socket, qmp_peer_pid(q), qmp_version(q), &res->topo,
			   &res->apply, RECORD_LOCK_MS, &fresh, &err) < 0)
		warn(res, "record of pending removals not updated: %s", err.msg);
	/* Its load's warnings were told already, with the first load. */
	pending_free(&fresh);
}

/* wait: what is pending, from LIST, or from the record and QEMU. */
static int wait_find(struct qmp *q, const struct resize_request *req,
		     struct resize_result *res, struct vc_err *err)
{
	const struct cpulist *list = req->sel.list_text ? &req->sel.list : NULL;
	struct cpulist rec;
	int rc;

	if (pending_vcpus(&res->pend, res->topo.n_vcpus, &rec) < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	rc = apply_find_pending(q, &res->topo, list, &rec, &res->apply, err);
	cpulist_free(&rec);
	return rc;
}

void resize_audit(struct qmp *q, const struct resize_request *req,
		  struct resize_result *res)
{
	struct vc_err syslog_err = { 0 }, linux_err = { 0 };

	if (!res->applied ||
	    !audit_resize(q, req->command, &res->plan, &res->apply, req->audit,
			  &syslog_err, &linux_err))
		return;
	if (linux_err.code)
		warn(res, "audit record not written: %s", linux_err.msg);
	if (syslog_err.code)
		warn(res, "audit record not written: %s", syslog_err.msg);
}

int resize_run(struct qmp *q, const struct resize_request *req,
	       struct resize_result *res, struct vc_err *err)
{
	struct apply_opts opts = { .wait = req->wait, .timeout_ms = req->timeout_ms };
	struct agent_link agent;
	bool hw_failed;

	res->preq.resend = req->resend;
	if ((!req->plan_only && cgroup_auto(q, res, err) < 0) ||
	    topo_query_hotpluggable(q, &res->topo, err) < 0) {
		res->change_round_trips = qmp_round_trips(q);
		return -1;
	}
	record_load(q, req, res);
	if ((req->tune && tune_node_pins_check(req->tune, &res->topo, err) < 0) ||
	    plan_make(&res->topo, &res->preq, &res->plan, err) < 0) {
		res->change_round_trips = qmp_round_trips(q);
		return -1;
	}
	if (req->plan_only) {
		res->change_round_trips = qmp_round_trips(q);
		return res->code = VC_EXIT_OK;
	}

	/* One agent session for the guest steps on both sides of the change,
	 * opened by the first that needs it.  A failed offline is no reason
	 * to keep the vCPUs: the guest kernel offlines a CPU itself before it
	 * ejects it. */
	agent_link_init(&agent, req->agent);
	if (resize_guest_offline_before_unplug(&agent, &res->topo, &res->plan,
					       &res->guest_off))
		warn(res, "guest: %s; unplugging anyway", res->guest_off.error);
	apply_plan(q, &res->topo, &res->plan, &opts, &res->apply);
	res->applied = true;
	if (record_track(req, q, res) < 0 && !res->apply.error)
		res->apply.error = strdup("out of memory");
	record_store(req, res);
	tune_plugged(req, q, res);
	/* The plug result stands whatever the guest does next. */
	resize_guest_online_after_plug(&agent, &res->topo, &res->apply,
				       req->timeout_ms, &res->guest_on);
	agent_link_close(&agent);
	res->guest = res->guest_on.n ? &res->guest_on :
		     res->guest_off.n ? &res->guest_off : NULL;
	hw_failed = res->apply.code != VC_EXIT_OK;
	if (!hw_failed)
		res->apply.code = res->guest_on.code; /* the document's exit_code
		                                          is the process's */
	res->code = res->apply.code;
	if (hw_failed)
		set_failure(res, req->command, res->apply.error ? res->apply.error
					       : vc_exit_name(res->code));
	else if (res->guest_on.code)
		vc_err_set(&res->failure, res->code,
			   "%s: plugged, but not online in the guest: %s", req->command,
			   res->guest_on.error ? res->guest_on.error : "agent error");
	sweep_cgroups(req->command, res);
	/* The audit record's queries come after the change, so they never
	 * delay it; --stats counts them apart. */
	res->change_round_trips = qmp_round_trips(q);
	return res->code;
}

int resize_wait(struct qmp *q, const struct resize_request *req,
		struct resize_result *res, struct vc_err *err)
{
	if (cgroup_auto(q, res, err) < 0 ||
	    topo_query_hotpluggable(q, &res->topo, err) < 0)
		return -1;
	record_load(q, req, res);
	if (wait_find(q, req, res, err) < 0)
		return -1;
	res->code = apply_wait(q, &res->topo, &res->apply, req->timeout_ms);
	record_settle(q, req, res);
	if (res->code)
		set_failure(res, req->command,
			    res->apply.error ? res->apply.error :
			    res->code == VC_EXIT_TIMEOUT ?
			    "timed out; removals still pending" : vc_exit_name(res->code));
	sweep_cgroups(req->command, res);
	return res->code;
}

int resize_tune(struct qmp *q, const struct resize_request *req,
		struct resize_result *res, struct vc_err *err)
{
	const struct cpulist *list = &req->sel.list;
	struct vc_err why = { 0 };
	pid_t pid;
	long k;

	if (cgroup_auto(q, res, err) < 0 || topo_query(q, &res->topo, err) < 0 ||
	    sel_check(&req->sel, &res->topo, err) < 0 ||
	    tune_node_pins_check(req->tune, &res->topo, err) < 0)
		return -1;
	res->tuned = calloc(cpulist_count(list) + 1, sizeof(*res->tuned));
	if (!res->tuned)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	pid = qmp_peer_pid(q);
	res->tune_skipped = resize_tune_skip(&res->topo, pid);
	if (res->tune_skipped)
		warn(res, "tuning skipped: %s", res->tune_skipped);
	for (k = cpulist_next(list, 0); k >= 0; k = cpulist_next(list, (size_t)k + 1)) {
		const struct topo_vcpu *v = &res->topo.vcpus[k];
		struct resize_tuned *o = &res->tuned[res->n_tuned++];

		o->index = (int)k;
		o->thread_id = v->thread_id;
		vc_err_clear(&why);
		if (res->tune_skipped)
			vc_err_set(&why, VC_EXIT_OK, "skipped: %s", res->tune_skipped);
		else if (!v->online)
			vc_err_set(&why, VC_EXIT_NOT_TUNED, "vCPU %ld is offline", k);
		else if (tune_thread_on_node(req->tune, &res->cg, (int)k,
					     tune_vcpu_node(&res->topo, (int)k),
					     pid, (pid_t)v->thread_id, &why) == 0)
			o->tuned = true;
		if (o->tuned) {
			res->n_tuned_ok++;
			continue;
		}
		o->reason = strdup(why.msg);
		if (why.code)
			res->code = VC_EXIT_NOT_TUNED;
	}
	if (res->code)
		vc_err_set(&res->failure, res->code, "%s: %zu of %zu vCPUs not tuned",
			   req->command, res->n_tuned - res->n_tuned_ok, res->n_tuned);
	return res->code;
}

void resize_result_free(struct resize_result *res)
{
	size_t i;

	for (i = 0; i < res->n_warnings; i++)
		free(res->warnings[i]);
	for (i = 0; i < res->n_tuned; i++)
		free(res->tuned[i].reason);
	free(res->tuned);
	resize_guest_outcome_free(&res->guest_on);
	resize_guest_outcome_free(&res->guest_off);
	apply_result_free(&res->apply);
	plan_free(&res->plan);
	topo_free(&res->topo);
	tune_cgroup_free(&res->cg);
	pending_free(&res->pend);
	tune_sweep_free(&res->sweep);
	memset(res, 0, sizeof(*res));
}

void resize_request_free(struct resize_request *req)
{
	sel_free(&req->sel);
}
