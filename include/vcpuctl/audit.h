/* audit.h - the records of a vCPU change: a Linux audit record as libvirt
 * writes it, and a syslog record.
 *
 * The Linux audit record (audit_linux_*) goes through libaudit to the
 * kernel's audit subsystem, type AUDIT_VIRT_RESOURCE (2501), with the fields
 * and meanings of libvirt's virDomainAuditVcpu():
 *
 *   type=VIRT_RESOURCE msg=audit(...): pid=4242 uid=0 auid=1000 ses=3
 *     msg='virt=kvm resrc=vcpu reason=update vm="web1" uuid=4b6f...
 *     old-vcpu=1 new-vcpu=4 exe="/usr/bin/vcpuctl" hostname=? addr=?
 *     terminal=pts/0 res=success'
 *
 * We write "virt=... new-vcpu=N"; libaudit adds exe, hostname, addr,
 * terminal and res; the kernel adds pid, uid, and auid and ses from the
 * caller's login session (/proc/self/loginuid), so the record names the
 * operator where libvirt's names libvirtd.  virt is "kvm" when QEMU runs
 * with KVM, else "qemu" (libvirt's name for TCG).  vm is encoded as libaudit
 * encodes untrusted strings (audit_encode_nv_string: quoted, or hex when it
 * holds a blank, a quote, a control or a non-ASCII byte).  old-vcpu is the
 * online count before the change; new-vcpu the count QEMU holds afterwards,
 * so a partial change shows what it really did, with res=failed (libvirt
 * writes the count it asked for).  Removals still pending are still
 * online.  One record per change.
 *
 * The syslog record, in the spirit of the same line:
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
/* libaudit's own functions share the audit_ prefix (audit_send, audit_open):
 * ours say syslog or linux after it. */
#ifndef VCPUCTL_AUDIT_H
#define VCPUCTL_AUDIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/err.h"
#include "vcpuctl/plan.h"

struct qmp;

#define AUDIT_DEFAULT_SOCKET "/dev/log"

/* Longer VM names are cut to this many bytes before encoding, so that no
 * name can push res= past the end of the kernel's record. */
#define AUDIT_VM_NAME_MAX 1024

/* Where the records of a change go: a set of these bits. */
enum audit_target {
	AUDIT_TO_SYSLOG = 1u << 0,
	AUDIT_TO_LINUX = 1u << 1,
	/* The Linux record is required: the change is refused, before QEMU
	 * is touched, when audit_linux_probe() says the kernel will not take
	 * it. */
	AUDIT_LINUX_REQUIRED = 1u << 2,
};

/* --audit=WHERE: "auto" (syslog, and Linux where the kernel takes it),
 * "linux" (Linux only, required), "syslog", "both" (Linux required) or
 * "none".  Returns the targets, or -1 for any other word. */
int audit_targets_parse(const char *where);

/* The Linux record's message, as libaudit's audit_log_user_message() takes
 * it. */
struct audit_vcpu_record {
	const char *virt;      /* "kvm", "qemu"; NULL: unknown */
	const char *vm_name;   /* query-name; NULL: unknown */
	const char *vm_uuid;   /* query-uuid; NULL or not a UUID: unknown */
	int old_vcpus;         /* online before; < 0: unknown */
	int new_vcpus;         /* online after; < 0: unknown */
};

/* "virt=kvm resrc=vcpu reason=update vm=\"web1\" uuid=... old-vcpu=1
 * new-vcpu=4": a new string the caller frees, or NULL on out of memory.
 * Unknowns are "?" (vm="?"). */
char *audit_linux_format(const struct audit_vcpu_record *r);

/* Whether the kernel will take a Linux audit record from this process:
 * it must hold CAP_AUDIT_WRITE (root does), the kernel must have audit
 * and have it enabled.  Returns 0, or -1 with err set (VC_EXIT_USAGE) to
 * one of "Linux audit: not permitted (needs root or CAP_AUDIT_WRITE)",
 * "Linux audit: this kernel has no audit support", "Linux audit: disabled
 * in the kernel", "Linux audit: the kernel takes no records from this
 * user namespace", "Linux audit: audit_open: <strerror>".  A process with
 * CAP_AUDIT_WRITE but not CAP_AUDIT_CONTROL cannot ask whether audit is
 * enabled: it passes. */
int audit_linux_probe(struct vc_err *err);

/* Send msg as one AUDIT_VIRT_RESOURCE record, res=success or res=failed.
 * Returns 0, or -1 with err set ("Linux audit: ...", VC_EXIT_INTERNAL). */
int audit_linux_send(const char *msg, bool success, struct vc_err *err);

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
char *audit_syslog_format(const struct audit_record *r);

/* Send msg as one record to socket_path (NULL: $VCPUCTL_SYSLOG_SOCKET, else
 * /dev/log), with the given severity (LOG_NOTICE...).  Returns 0, or -1 with
 * err set (VC_EXIT_INTERNAL: "syslog socket /dev/log: No such file or
 * directory"); callers warn and carry on, an audit failure never fails the
 * change itself. */
int audit_syslog_send(const char *socket_path, int severity, const char *msg,
	       struct vc_err *err);

/* Record one change, the plan p run as op with result r, to the targets
 * (enum audit_target bits).  Asks QEMU, after the change so the queries do
 * not slow it down, for query-kvm (Linux record only), query-name and
 * query-uuid; fills in the user, formats and sends.  The Linux record is
 * sent only when audit_linux_probe() passes.  Records nothing when p had
 * no steps.  Returns 0 when every record asked for was written, else -1
 * with syslog_err and/or linux_err set (code 0 in the one that was
 * written); callers warn and carry on, an audit failure never fails the
 * change itself. */
int audit_resize(struct qmp *q, const char *op, const struct plan *p,
		 const struct apply_result *r, unsigned targets,
		 struct vc_err *syslog_err, struct vc_err *linux_err);

#endif
