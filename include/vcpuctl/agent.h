/* agent.h - the QEMU guest agent: the guest's own view of its CPUs.
 *
 * Plugging a vCPU (QMP device_add) and onlining it (the guest kernel starts
 * using it) are separate steps, as libvirt keeps setvcpus and guestvcpus
 * apart.  This module is the second: a client for qemu-ga on the unix socket
 * of its virtio-serial chardev, on the same session layer as QMP (session.h).
 *
 * The agent has no greeting and no capabilities step.  A connection starts
 * with guest-sync-delimited and a random id: the agent answers with a 0xff
 * byte and then the id, so whatever is still in the channel from an earlier
 * client (stale replies, half a message) is thrown away.  qemu-ga processes
 * requests in order and one at a time, so after the sync each reply belongs
 * to the request just sent.  A call that times out leaves the channel in an
 * unknown state; the next call syncs again first.
 *
 * QEMU owns the chardev socket, so connect() succeeds whether or not an
 * agent runs in the guest; an absent agent shows up as a sync that is never
 * answered, and the error says so.
 *
 * Every error is VC_EXIT_AGENT ("vcpu 3: guest-set-vcpus: ...") except out
 * of memory (VC_EXIT_INTERNAL); the set/show helpers below document theirs.
 *
 * Guest CPUs are named by the guest's logical id ("cpu3" in
 * /sys/devices/system/cpu), which is not vcpuctl's vCPU index in general;
 * agent_view_query() works out which is which (see AGENT_MAP_*).
 */
#ifndef VCPUCTL_AGENT_H
#define VCPUCTL_AGENT_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/err.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/session.h"
#include "vcpuctl/topology.h"

/* Default bound on connect, sync and each reply. */
#define AGENT_DEFAULT_TIMEOUT_MS 5000

struct agent;
struct agent_opts;

/* ---- client ---------------------------------------------------------- */

/* Connect to the agent's socket (PATH or unix:PATH) and sync.  timeout_ms
 * bounds connect, the sync and, later, every reply (<= 0: no bound).
 * Returns a new session, or NULL with err set. */
struct agent *agent_open(const char *path, int timeout_ms, struct vc_err *err);

/* agent_open() over tp (session.h; copied, ctx stays the caller's)
 * instead of a socket, for the fuzz target; name stands for the path in
 * messages. */
struct agent *agent_open_transport(const struct sess_transport *tp,
				   const char *name, int timeout_ms,
				   struct vc_err *err);

/* agent_open() of o->path with o->timeout_ms, logging to o->trace. */
struct agent *agent_open_opts(const struct agent_opts *o, struct vc_err *err);

/* Close and free; NULL is fine. */
void agent_close(struct agent *a);

/* Class of the last error reply, or "" (borrowed). */
const char *agent_last_error_class(const struct agent *a);

/* Commands sent after the connection's first sync (syncs not counted). */
unsigned agent_round_trips(const struct agent *a);

/* ---- guest-get-vcpus / guest-set-vcpus -------------------------------- */

struct agent_gcpu {
	int logical_id;       /* the guest's CPU number */
	bool online;
	bool can_offline;     /* false for CPUs the guest cannot offline (cpu0 on x86) */
};

struct agent_gcpus {
	struct agent_gcpu *cpus;  /* owned, sorted by logical_id */
	size_t n;
};

/* guest-get-vcpus.  Returns 0 or -1 with err set (a reply of the wrong
 * shape is an agent error naming the entry). */
int agent_get_vcpus(struct agent *a, struct agent_gcpus *out,
		    struct vc_err *err);
void agent_gcpus_free(struct agent_gcpus *g);
/* The entry for logical id, or NULL when the guest does not list it. */
const struct agent_gcpu *agent_gcpus_find(const struct agent_gcpus *g,
					  int logical_id);

enum agent_change_state {
	AGENT_CHANGE_PENDING,   /* not sent yet */
	AGENT_CHANGE_DONE,      /* the agent reports it processed */
	AGENT_CHANGE_FAILED,    /* the agent stopped at this entry */
	AGENT_CHANGE_NOT_TRIED, /* after the failed entry: not attempted */
};

struct agent_change {
	int logical_id;
	bool online;            /* wanted state */
	enum agent_change_state state;
};

/* Refuse a change before anything is sent: ids the guest does not list
 * (VC_EXIT_USAGE), and for offlining the boot CPU (logical id 0) and CPUs
 * with can-offline false (VC_EXIT_IMPOSSIBLE).  The message names every
 * offending CPU ("guest CPUs 0,4 cannot be taken offline: ...").  PURE. */
int agent_check_changes(const struct agent_gcpus *g,
			const struct agent_change *ch, size_t n,
			struct vc_err *err);

/* guest-set-vcpus with the n changes, in order.  qemu-ga stops at the first
 * CPU it cannot change and answers with how many it processed, so entry k
 * (if k < n) is marked FAILED and the rest NOT_TRIED.  Returns the number
 * processed (n on full success); -1 with err set when nothing could be
 * learnt (transport trouble: every entry stays PENDING) or the very first
 * entry failed (an error reply: entry 0 FAILED, the rest NOT_TRIED, err
 * holds the guest's reason). */
int agent_set_vcpus(struct agent *a, struct agent_change *ch, size_t n,
		    struct vc_err *err);

/* "pending", "done", "failed", "not-tried". */
const char *agent_change_state_name(enum agent_change_state s);

/* ---- the guest's CPUs next to QEMU's vCPUs --------------------------- */

/* How guest logical ids were matched to vCPU indexes.
 *
 * Linux numbers CPUs in the order it first sees them: the boot CPUs from
 * the firmware tables, then each hot-added CPU as it arrives, and (x86,
 * since 4.9) it keeps an APIC id's number for the rest of the boot.  A
 * guest that saw vCPU 5 plugged before vCPU 3 calls them cpu1 and cpu2.
 * So the numbers alone say nothing; the ACPI device behind each CPU does.
 * QEMU names every possible CPU's ACPI device "C%03X" after its position
 * in the machine's possible-CPU list (hw/acpi/cpu.c), and Linux links
 * cpuN/firmware_node to it.  On x86 that position is QEMU's cpu-index and
 * the possible list is in APIC id order, which is vcpuctl's topology
 * order, so C<i> is vCPU index i.
 */
enum agent_map_how {
	AGENT_MAP_NONE,     /* no match: the guest's view is shown alone */
	/* exact: /sys/devices/system/cpu/cpuN/firmware_node/path read with
	 * guest-file-open/-read (a Linux guest on an ACPI machine), every one
	 * a QEMU CPU name ("\_SB_.CPUS.C005") */
	AGENT_MAP_ACPI,
	/* assumed: the guest lists exactly the logical ids that equal the
	 * online vCPU indexes, which holds when vCPUs were plugged in
	 * ascending order since boot (what "set" does).  Used when the
	 * guest's files cannot be read; never used to choose CPUs to offline. */
	AGENT_MAP_IDENTITY,
};

/* "acpi", "identity", or NULL for NONE. */
const char *agent_map_name(enum agent_map_how how);

struct agent_view {
	struct agent_gcpus guest;   /* guest-get-vcpus */
	size_t n_vcpus;             /* topology.n_vcpus */
	int *logical;               /* owned, per vCPU index: guest logical id,
	                               -1 when the guest does not list it or the
	                               match is unknown */
	int *vcpu_of;               /* owned, per guest.cpus[i]: vCPU index or -1 */
	enum agent_map_how how;
	char *note;                 /* owned: why the match is NONE, or NULL */
};

/* Ask the guest (guest-get-vcpus) and match its CPUs to t's vCPUs.  t may
 * be NULL: no match then.  ACPI_CPU paths already read are kept in the
 * session, so calling this in a loop costs one call per new CPU.  Returns 0
 * or -1 with err set; *v is then empty. */
int agent_view_query(struct agent *a, const struct topology *t,
		     struct agent_view *v, struct vc_err *err);
void agent_view_free(struct agent_view *v);

/* The guest's entry for vCPU index, or NULL when unknown or not listed. */
const struct agent_gcpu *agent_view_vcpu(const struct agent_view *v,
					 int index);

/* vCPU online in QEMU whose guest CPU is known to be offline or missing,
 * or offline in QEMU but listed by the guest. */
bool agent_view_mismatch(const struct agent_view *v, const struct topology *t,
			 int index);

/* ---- "set" and "show" helpers ----------------------------------------- */

/* The command-line side, shared by guest, set and show. */
struct agent_opts {
	const char *path;       /* --guest-agent PATH; NULL: no agent step */
	const char *trace;      /* --trace FILE: every agent message is appended
	                           there as "ga> json" / "ga< json"; NULL: none */
	bool offline_first;     /* --guest-offline-first (set, del) */
	int64_t timeout_ms;     /* --agent-timeout SEC */
};

/* Defaults: no path (set and show act on the guest only when asked),
 * AGENT_DEFAULT_TIMEOUT_MS. */
void agent_opts_init(struct agent_opts *o);

/* argp children, input struct agent_opts *:
 * agent_argp: --guest-agent PATH, --agent-timeout SEC (show, guest);
 * agent_resize_argp: those and --guest-offline-first (set, del). */
extern const struct argp agent_argp;
extern const struct argp agent_resize_argp;

enum agent_vcpu_state {
	AGENT_VCPU_ONLINE,     /* the guest reports it online */
	AGENT_VCPU_OFFLINE,    /* the guest reports it offline */
	AGENT_VCPU_ABSENT,     /* the guest does not list it (not seen in time) */
	AGENT_VCPU_FAILED,     /* guest-set-vcpus refused it */
	AGENT_VCPU_NOT_TRIED,  /* not attempted: the agent failed first */
	AGENT_VCPU_UNMAPPED,   /* its guest CPU could not be told apart */
	AGENT_VCPU_WAS_OFFLINE,  /* offline in the guest before vcpuctl asked */
};

struct agent_vcpu_outcome {
	int index;              /* vCPU index */
	int logical_id;         /* guest CPU, -1 when unknown */
	enum agent_vcpu_state state;
};

struct agent_outcome {
	bool online;            /* what was wanted: online (plug) or offline */
	struct agent_vcpu_outcome *items;  /* owned, by vCPU index */
	size_t n;
	enum agent_map_how how;
	int code;               /* 0, or the exit code (see below) */
	char *error;            /* owned: what went wrong, or NULL */
	int64_t elapsed_ms;     /* time the guest step took */
};

/* The guest agent session of one command (set, add, del): opened when a
 * step first needs it, then shared by every step of the command, and
 * closed by agent_link_close().  A failed open is not retried: each later
 * step gets the same error. */
struct agent_link {
	const struct agent_opts *opts;  /* borrowed; NULL: no guest step */
	struct agent *a;                /* owned; NULL until opened */
	bool tried;
	struct vc_err err;              /* why the open failed */
};

void agent_link_init(struct agent_link *l, const struct agent_opts *o);
/* The session, opened at the first call; NULL with *err a copy of why. */
struct agent *agent_link_get(struct agent_link *l, struct vc_err *err);
void agent_link_close(struct agent_link *l);

/* After a plug: bring every vCPU that r reports APPLY_PLUGGED online in the
 * guest, and wait (up to timeout_ms; <= 0: no bound) until the agent
 * reports each one online.  t is the topology after the plug; guest paths
 * read before it are read again.  Without l->opts->path or with nothing
 * plugged: returns 0 and out is empty.
 * Returns 0 when all are online, else VC_EXIT_NOT_ONLINE with out->error
 * saying why (agent unreachable, vCPU not seen by the guest in time,
 * refused) and each vCPU's state in out.  Never touches QEMU: the plug
 * result in r stands as it is.  VC_EXIT_INTERNAL on out of memory. */
int agent_online_after_plug(struct agent_link *l,
			    const struct topology *t,
			    const struct apply_result *r, int64_t timeout_ms,
			    struct agent_outcome *out);

/* Before an unplug, with l->opts->offline_first: take the vCPUs of p's PLAN_OP_DEL
 * steps offline in the guest.  Only done with an exact (ACPI) match: an
 * assumed one could offline the wrong CPU.  Returns 0 (also when there is
 * nothing to do), or VC_EXIT_AGENT with out->error set when some could not
 * be offlined (a vCPU the guest does not list stays "absent": it is not
 * known to be offline).  The unplug may go ahead either way: the guest
 * kernel offlines a CPU itself before it ejects it. */
int agent_offline_before_unplug(struct agent_link *l,
				const struct topology *t, const struct plan *p,
				struct agent_outcome *out);

void agent_outcome_free(struct agent_outcome *out);

/* "online", "offline", "absent", "failed", "not-tried", "unmapped". */
const char *agent_vcpu_state_name(enum agent_vcpu_state s);

/* One line for people, no newline, e.g. "guest: vCPUs 1-3 online" or
 * "guest: vCPUs 1-2 online; vCPU 3 absent: ...".  Caller frees; NULL when
 * out is empty or on out of memory. */
char *agent_outcome_text(const struct agent_outcome *out);

/* For the text form of show: lines (each ending in "\n") summing up the
 * guest's view and naming every mismatch, e.g.
 *   guest: 2 of 4 CPUs online (agent; match by ACPI id)
 *   guest: vCPU 3 is online in QEMU but offline in the guest (guest CPU 2)
 * Caller frees; NULL on out of memory. */
char *agent_view_text(const struct agent_view *v, const struct topology *t);

/* Open o->path with o->timeout_ms and run agent_view_query(): the one call
 * "show --guest-agent" needs.  Returns 0 or -1 with err (VC_EXIT_AGENT). */
int agent_view_fetch(const struct agent_opts *o, const struct topology *t,
		     struct agent_view *v, struct vc_err *err);

#endif
