/* resize.h - the whole flow of one change, from a checked request to a
 * result: take vCPUs offline in the guest (--guest-offline-first), apply
 * the plan, tune the new threads, sweep the vcpuN cgroups of vCPUs QEMU
 * no longer lists,
 * bring new vCPUs online in the guest, combine the exit codes; then
 * (resize_audit(), after the result is shown) the audit record.  Also the flows of "wait" (pending removals) and
 * "tune" (running vCPUs).
 *
 * Nothing here prints: warnings and the failure line come back in the
 * result, and cmd_*.c show them (cli.h) next to the result's rendering.
 *
 * Each flow has two halves.  resize_prepare() checks everything the user
 * typed (LIST, count, --cgroup) before QEMU is touched.  resize_run(),
 * resize_wait() and resize_tune() then take the open session; they return
 * -1 with err when they stop before changing anything (err then is the
 * command's whole failure, for cli_fail()), and otherwise the run's exit
 * code, with result->failure saying why when it is not 0.
 *
 * The guest steps (resize_guest.c) are declared here too: resize_run()
 * calls them, and the fuzz target drives them on a session of its own.
 */
#ifndef VCPUCTL_RESIZE_H
#define VCPUCTL_RESIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/apply.h"
#include "vcpuctl/err.h"
#include "vcpuctl/guestmap.h"
#include "vcpuctl/pending.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/selector.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"

struct qmp;

struct resize_request {
	const char *command;            /* "set", "plan", "add", "del", "wait",
	                                   "tune": names messages and the audit */
	struct sel sel;                 /* which vCPUs; sel.list is filled by
	                                   resize_prepare() and owned here */
	bool plan_only;                 /* plan, or --dry-run: change nothing */
	bool wait;                      /* wait for removals (not --no-wait) */
	int64_t timeout_ms;             /* bound on that wait; <= 0: none */
	const struct tune_opts *tune;   /* NULL: no tuning, no cgroups */
	const struct agent_opts *agent; /* NULL: no guest step */
	unsigned audit;                 /* where the audit records go: enum
	                                   audit_target bits (audit.h) */
	const char *socket;             /* the QMP socket's spec, once
	                                   connected (cli_connect resolves
	                                   name:/pid:): keys the record of
	                                   requested removals (pending.h);
	                                   NULL: no record */
	bool resend;                    /* --resend: device_del again for
	                                   removals already recorded */
};

#define RESIZE_MAX_WARNINGS 8

/* ---- the guest steps -------------------------------------------------- */

enum resize_guest_state {
	RESIZE_GUEST_ONLINE,     /* the guest reports it online */
	RESIZE_GUEST_OFFLINE,    /* the guest reports it offline */
	RESIZE_GUEST_ABSENT,     /* the guest does not list it (not seen in time) */
	RESIZE_GUEST_FAILED,     /* guest-set-vcpus refused it */
	RESIZE_GUEST_NOT_TRIED,  /* not attempted: the agent failed first */
	RESIZE_GUEST_UNMAPPED,   /* its guest CPU could not be told apart */
	RESIZE_GUEST_WAS_OFFLINE,  /* offline in the guest before vcpuctl asked */
};

struct resize_guest_vcpu {
	int index;              /* vCPU index */
	int logical_id;         /* guest CPU, -1 when unknown */
	enum resize_guest_state state;
};

/* What one guest step did, vCPU by vCPU. */
struct resize_guest_outcome {
	bool online;            /* what was wanted: online (plug) or offline */
	struct resize_guest_vcpu *items;  /* owned, by vCPU index */
	size_t n;
	enum gmap_how how;
	int code;               /* 0, or the exit code (see below) */
	char *error;            /* owned: what went wrong, or NULL */
	int64_t elapsed_ms;     /* time the guest step took */
};

/* After a plug: bring every vCPU that r reports APPLY_PLUGGED online in the
 * guest, and wait (up to timeout_ms; <= 0: no bound) until the agent
 * reports each one online.  t is the topology after the plug; guest paths
 * read before it are read again.  Without l->opts->path or with nothing
 * plugged: returns 0 and out is empty.
 * Returns 0 when all are online, else VC_EXIT_NOT_ONLINE with out->error
 * saying why (agent unreachable, vCPU not seen by the guest in time,
 * refused) and each vCPU's state in out.  Never touches QEMU: the plug
 * result in r stands as it is.  VC_EXIT_INTERNAL on out of memory. */
int resize_guest_online_after_plug(struct agent_link *l,
				   const struct topology *t,
				   const struct apply_result *r,
				   int64_t timeout_ms,
				   struct resize_guest_outcome *out);

/* Before an unplug, with l->opts->offline_first: take the vCPUs of p's
 * PLAN_OP_DEL steps offline in the guest.  Only done with an exact (ACPI)
 * match: an assumed one could offline the wrong CPU.  Returns 0 (also
 * when there is nothing to do), or VC_EXIT_AGENT with out->error set when
 * some could not be offlined (a vCPU the guest does not list stays
 * "absent": it is not known to be offline).  The unplug may go ahead
 * either way: the guest kernel offlines a CPU itself before it ejects
 * it. */
int resize_guest_offline_before_unplug(struct agent_link *l,
				       const struct topology *t,
				       const struct plan *p,
				       struct resize_guest_outcome *out);

void resize_guest_outcome_free(struct resize_guest_outcome *out);

/* "online", "offline", "absent", "failed", "not-tried", "unmapped",
 * "already-offline". */
const char *resize_guest_state_name(enum resize_guest_state s);

/* The vCPUs of out in state s, as a cpulist ("2-3"), and how many in
 * *count.  Caller frees; NULL when none (or out of memory). */
char *resize_guest_vcpus(const struct resize_guest_outcome *out,
			 enum resize_guest_state s, size_t *count);

/* ---- a change's flow -------------------------------------------------- */

/* One vCPU of "tune". */
struct resize_tuned {
	int index;
	long thread_id;       /* <= 0: unknown */
	bool tuned;
	char *reason;         /* owned: why not tuned, or NULL */
};

struct resize_result {
	struct topology topo;         /* after the change when it could be read
	                                 again, else before it */
	struct plan plan;
	struct apply_result apply;    /* also wait's pending removals */
	struct resize_guest_outcome guest_off, guest_on;
	const struct resize_guest_outcome *guest; /* borrowed: the guest step
	                                             to show (on if any, else
	                                             off), or NULL */
	struct resize_tuned *tuned;   /* owned: "tune", one per named vCPU */
	size_t n_tuned, n_tuned_ok;
	const char *tune_skipped;     /* borrowed: why nothing was tuned, or NULL */
	struct tune_sweep sweep;      /* --cgroup: the vcpuN cgroups removed,
	                                 kept for pending removals, or left */
	bool applied;                 /* commands were sent to QEMU */
	int code;                     /* the run's exit code */
	struct vc_err failure;        /* when code != 0: "set: ...; done: ..." */
	char *warnings[RESIZE_MAX_WARNINGS]; /* owned, in the order they arose */
	size_t n_warnings;
	long change_round_trips;      /* round trips before the audit's queries */
	struct pending pend;          /* the record of requested removals, as
	                                 reconciled with topo */
	/* private to resize.c */
	struct plan_request preq;
	struct tune_cgroup cg;
};

/* Check req's texts, --cgroup and, when req->audit requires it, that the
 * kernel will take the Linux audit record; nothing is sent.  Returns 0 or
 * -1 with err (VC_EXIT_USAGE, or tune_cgroup_resolve()'s code). */
int resize_prepare(struct resize_request *req, struct resize_result *res,
		   struct vc_err *err);

/* set/plan/add/del: query, plan and, unless req->plan_only, the change. */
int resize_run(struct qmp *q, const struct resize_request *req,
	       struct resize_result *res, struct vc_err *err);

/* After resize_run() and once the result is shown: the audit records of a
 * change that was sent (audit.h), to req->audit's targets.  Each record
 * not written is one warning (added to res->warnings), never a failed
 * change. */
void resize_audit(struct qmp *q, const struct resize_request *req,
		  struct resize_result *res);

/* wait: the removals pending for req->sel's list (or all the guest is
 * ejecting), waited for up to req->timeout_ms; cgroups of removed vCPUs
 * go. */
int resize_wait(struct qmp *q, const struct resize_request *req,
		struct resize_result *res, struct vc_err *err);

/* tune: req->tune applied to the running vCPUs of req->sel's list; one
 * that cannot be tuned does not stop the others (VC_EXIT_NOT_TUNED). */
int resize_tune(struct qmp *q, const struct resize_request *req,
		struct resize_result *res, struct vc_err *err);

void resize_result_free(struct resize_result *res);
void resize_request_free(struct resize_request *req);

#endif
