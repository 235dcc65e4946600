/* apply.h - carry out a plan on a live QEMU, and wait for removals.
 *
 * A plug sends its device_adds back to back and then reads
 * query-cpus-fast once to check that every new vCPU is there with its
 * thread.  An unplug sends every device_del first and then waits for all of
 * them together: woken by events (DEVICE_DELETED naming the device or a
 * path under it, ACPI_DEVICE_OST eject failures, DEVICE_UNPLUG_GUEST_ERROR),
 * and polling query-hotpluggable-cpus only as the fallback, since events
 * sent while no client was connected are lost.
 *
 * If step k of n fails, nothing after it is sent; every step's outcome is
 * kept so the caller can say what was done and what was not.
 */
#ifndef VCPUCTL_APPLY_H
#define VCPUCTL_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/err.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/topology.h"

struct qmp;

enum apply_state {
	APPLY_NOT_DONE,   /* not sent: an earlier step failed */
	APPLY_PLUGGED,    /* device_add accepted and the vCPUs are listed */
	APPLY_REMOVED,    /* the guest released it; QEMU no longer lists it */
	APPLY_PENDING,    /* device_del accepted; removal not finished */
	APPLY_REJECTED,   /* the guest refused the removal */
	APPLY_FAILED,     /* QEMU refused, or the result could not be checked */
};

/* Thread tuning of a plugged item (set by the caller after apply_plan). */
enum apply_tune {
	APPLY_TUNE_NONE,      /* none asked for, or not a plug */
	APPLY_TUNE_DONE,      /* every vCPU of the item was tuned */
	APPLY_TUNE_FAILED,    /* plugged, not tuned: reason says why */
	APPLY_TUNE_SKIPPED,   /* no per-vCPU threads: nothing could be tuned */
};

/* Where "wait" learnt that a removal is pending (bits of apply_item.source). */
enum {
	APPLY_SOURCE_LIST = 1 << 0,    /* named in wait's LIST */
	APPLY_SOURCE_RECORD = 1 << 1,  /* the record of requested removals (pending.h) */
	APPLY_SOURCE_ACPI = 1 << 2,    /* QEMU's ACPI status: eject in progress */
};

struct apply_item {
	enum plan_op op;
	int first, count;     /* vCPU indexes first .. first+count-1 */
	char *device_id;      /* owned */
	char *qom_path;       /* owned: the entity's QOM path */
	enum apply_state state;
	char *reason;         /* owned; why FAILED / REJECTED / NOT_DONE, or
	                         "plugged, not tuned: ..." */
	enum apply_tune tune;
	unsigned source;      /* wait: APPLY_SOURCE_* bits; 0 for a change */
};

struct apply_opts {
	bool wait;            /* wait for removals; false for --no-wait */
	int64_t timeout_ms;   /* bound on that wait; <= 0: no bound */
};

struct apply_result {
	struct apply_item *items; /* owned */
	size_t n;
	int code;             /* exit code that sums the run up */
	char *error;          /* owned: what stopped the run, or NULL */
	int online_after;     /* online vCPUs after, -1 when not known */
	bool timed_out;
	int signo;            /* the SIGINT, SIGTERM or SIGHUP that cut the
	                         run short (no steps after it, the wait ended
	                         as on a timeout), or 0 */
};

/* Run plan p, made from topology t.  Returns r->code.  SIGINT, SIGTERM and
 * SIGHUP are caught from here on (util.h): one stops the run before its
 * next step (VC_EXIT_PARTIAL when earlier steps were done, else 128 + the
 * signal's number) or ends the wait for removals (VC_EXIT_TIMEOUT when
 * some are still pending), and r->signo says which.  When QEMU could be
 * asked afterwards, t is replaced by the refreshed topology (thread ids
 * included after a plug) and r->online_after is set. */
int apply_plan(struct qmp *q, struct topology *t, const struct plan *p,
	       const struct apply_opts *o, struct apply_result *r);

/* Fill r with the removals "vcpuctl wait" should wait for: the online
 * entities of the vCPUs in list, or when list is NULL the union of those
 * in recorded (may be NULL: the vCPUs the record of requested removals
 * names, already reconciled with t) and those whose last ACPI OST event is
 * "eject in progress" (query-acpi-ospm-status); each item's source says
 * which.  Rejections QEMU reports for them come back as APPLY_REJECTED.
 * Returns 0 or -1. */
int apply_find_pending(struct qmp *q, const struct topology *t,
		       const struct cpulist *list, const struct cpulist *recorded,
		       struct apply_result *r, struct vc_err *err);

/* "record", "acpi", "record, acpi"...: the sources of an item, or NULL
 * when it has none or only wait's LIST (borrowed). */
const char *apply_source_text(unsigned source);

/* Wait until no item of r is APPLY_PENDING, or timeout_ms passes (<= 0: no
 * bound), or SIGINT, SIGTERM or SIGHUP comes (a timeout then).  Refreshes t when it can.  Returns r->code. */
int apply_wait(struct qmp *q, struct topology *t, struct apply_result *r,
	       int64_t timeout_ms);

/* Append to r a removal asked for earlier (the record's, pending.h) that
 * no item of r covers yet, as APPLY_PENDING with source: so a change
 * reports it, and waits for it when it waits.  Returns 0, or -1 on out of
 * memory. */
int apply_track(struct apply_result *r, int first, int count,
		const char *device_id, const char *qom_path, unsigned source);

void apply_result_free(struct apply_result *r);

/* "plugged", "removed", "pending", "rejected", "failed", "not-done". */
const char *apply_state_name(enum apply_state s);

/* Decode an ACPI _OST status code ("eject not supported" for 128). */
const char *apply_ost_status_text(long status);

#endif
