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
 */
#ifndef VCPUCTL_RESIZE_H
#define VCPUCTL_RESIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/apply.h"
#include "vcpuctl/err.h"
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
};

#define RESIZE_MAX_WARNINGS 8

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
	struct agent_outcome guest_off, guest_on;
	const struct agent_outcome *guest; /* borrowed: the guest step to show
	                                      (on if any, else off), or NULL */
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
