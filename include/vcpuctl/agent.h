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
 * of memory (VC_EXIT_INTERNAL) and agent_check_changes()'s.
 *
 * Guest CPUs are named by the guest's logical id ("cpu3" in
 * /sys/devices/system/cpu), which is not vcpuctl's vCPU index in general;
 * guestmap.h works out which is which.  The guest steps of a resize that
 * use this client are the resize module's (resize.h).
 */
#ifndef VCPUCTL_AGENT_H
#define VCPUCTL_AGENT_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "vcpuctl/err.h"
#include "vcpuctl/session.h"

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

/* ---- guest files ------------------------------------------------------ */

/* Read a small guest file (at most size - 1 bytes of it) through
 * guest-file-open/-read/-close into buf, NUL-terminated.  Returns 0 or -1
 * with err: the first call that failed, whose error reply (a disabled
 * command, no such file) is the agent's. */
int agent_read_file(struct agent *a, const char *path, char *buf,
		    size_t size, struct vc_err *err);

/* ---- command line ----------------------------------------------------- */

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

/* ---- one session per command ------------------------------------------ */

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

#endif
