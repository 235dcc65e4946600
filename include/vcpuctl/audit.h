/* audit.h - one syslog record per vCPU change, in the spirit of libvirt's
 * VIRT_RESOURCE audit line:
 *
 *   vcpuctl[PID]: op=set vm="web1" uuid=4b6f... old-vcpus=1 new-vcpus=4
 *     vcpus=1-3 pending=- result=success reason="ok" user="root"(0) auid=1000
 *
 * Sent as a datagram "<PRI>Mmm dd hh:mm:ss vcpuctl[PID]: MSG", the format
 * syslog(3) uses on the local socket, to /dev/log or to
 * $VCPUCTL_SYSLOG_SOCKET when that is set.  Facility LOG_AUTHPRIV, severity
 * LOG_NOTICE for success and LOG_WARNING for failure: who changed a VM's
 * resources is security-relevant, and authpriv keeps it out of
 * world-readable logs.  The socket is written directly rather than through
 * syslog(3) so its path can be chosen and a missing socket reported.
 *
 * Field values: vm and reason are double-quoted, or hex-encoded without
 * quotes when they hold a quote, a control or a non-ASCII byte (as the
 * Linux audit tools do); "?" means unknown, "-" an empty list.
 */
#ifndef VCPUCTL_AUDIT_H
#define VCPUCTL_AUDIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/err.h"
#include "vcpuctl/plan.h"

struct qmp;

#define AUDIT_DEFAULT_SOCKET "/dev/log"

struct audit_record {
	const char *op;        /* "set", "add", "del", ... */
	const char *vm_name;   /* query-name; NULL: unknown */
	const char *vm_uuid;   /* query-uuid; NULL: unknown */
	int old_vcpus;         /* online before; < 0: unknown */
	int new_vcpus;         /* online after; < 0: unknown */
	const char *vcpus;     /* cpulist of the vCPUs commands were sent for */
	const char *pending;   /* cpulist of removals still pending, or NULL */
	bool success;
	const char *reason;    /* "ok", or the exit name and the error */
	const char *user;      /* login name of the real uid; NULL: unknown */
	uid_t uid;
	long auid;             /* audit login uid; < 0: unset */
};

/* The record's message, without "<PRI>" and tag: a new string the caller
 * frees, or NULL on out of memory. */
char *audit_format(const struct audit_record *r);

/* Send msg as one record to socket_path (NULL: $VCPUCTL_SYSLOG_SOCKET, else
 * /dev/log), with the given severity (LOG_NOTICE...).  Returns 0, or -1 with
 * err set (VC_EXIT_INTERNAL: "syslog socket /dev/log: No such file or
 * directory"); callers warn and carry on, an audit failure never fails the
 * change itself. */
int audit_send(const char *socket_path, int severity, const char *msg,
	       struct vc_err *err);

/* Record one change: the plan p, run as op with result r.  Asks QEMU for
 * query-name and query-uuid (two round trips, after the change so they do
 * not slow it down), fills in the user, formats and sends.  Records nothing
 * when p had no steps.  Returns 0, or -1 with err set when the record could
 * not be sent. */
int audit_resize(struct qmp *q, const char *op, const struct plan *p,
		 const struct apply_result *r, struct vc_err *err);

#endif
