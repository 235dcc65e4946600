/* audit.c - the records of a vCPU change, Linux audit and syslog: format,
 * identify, send. */
#include <errno.h>
#include <libaudit.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "vcpuctl/audit.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/qmp.h"

#define AUDIT_TAG "vcpuctl"

/* Append "key=value" to a growing string; value quoted or hex-encoded. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *text, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *s;

		while (b->len + n + 1 > cap)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, text, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A value a log parser can split on: "text" when it is plain printable
 * ASCII without quotes, else the bytes in hex (no quotes), so a VM named
 * 'a" user="root' cannot forge a field. */
static void sb_value(struct sbuf *b, const char *key, const char *v)
{
	const unsigned char *p;
	bool plain = true;

	if (!v) {
		sb_printf(b, " %s=?", key);
		return;
	}
	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"')
			plain = false;
	if (plain) {
		sb_printf(b, " %s=\"", key);
		sb_add(b, v, strlen(v));
		sb_add(b, "\"", 1);
		return;
	}
	sb_printf(b, " %s=", key);
	for (p = (const unsigned char *)v; *p; p++)
		sb_printf(b, "%02X", *p);
}

/* A bare token (uuid, cpulist, op): only the characters such values have. */
static void sb_token(struct sbuf *b, const char *key, const char *v, const char *none)
{
	const char *p;

	if (!v || !*v) {
		sb_printf(b, " %s=%s", key, none);
		return;
	}
	for (p = v; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-,^_.", *p)) {
			sb_value(b, key, v);
			return;
		}
	sb_printf(b, " %s=%s", key, v);
}

static void sb_count(struct sbuf *b, const char *key, int n)
{
	if (n < 0)
		sb_printf(b, " %s=?", key);
	else
		sb_printf(b, " %s=%d", key, n);
}

char *audit_syslog_format(const struct audit_record *r)
{
	struct sbuf b = { 0 };

	sb_add(&b, "", 0);
	sb_token(&b, "op", r->op, "?");
	sb_value(&b, "vm", r->vm_name);
	sb_token(&b, "uuid", r->vm_uuid, "?");
	sb_count(&b, "old-vcpus", r->old_vcpus);
	sb_count(&b, "new-vcpus", r->new_vcpus);
	sb_token(&b, "vcpus", r->vcpus, "-");
	sb_token(&b, "pending", r->pending, "-");
	sb_printf(&b, " result=%s", r->success ? "success" : "failure");
	sb_value(&b, "reason", r->reason);
	sb_value(&b, "user", r->user);
	sb_printf(&b, "(%u)", (unsigned)r->uid);
	if (r->auid >= 0)
		sb_printf(&b, " auid=%ld", r->auid);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	/* Drop the leading blank every field starts with. */
	memmove(b.s, b.s + 1, b.len);
	return b.s;
}

int audit_targets_parse(const char *where)
{
	static const struct { const char *name; int targets; } words[] = {
		{ "auto", AUDIT_TO_SYSLOG | AUDIT_TO_LINUX },
		{ "linux", AUDIT_TO_LINUX | AUDIT_LINUX_REQUIRED },
		{ "syslog", AUDIT_TO_SYSLOG },
		{ "both", AUDIT_TO_SYSLOG | AUDIT_TO_LINUX | AUDIT_LINUX_REQUIRED },
		{ "none", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(where, words[i].name))
			return words[i].targets;
	return -1;
}

/* QEMU's UUID, or NULL when the reply is not one: it goes into the record
 * bare, so nothing else may pass. */
static const char *uuid_or_null(const char *u)
{
	size_t i;

	if (!u || strlen(u) != 36)
		return NULL;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !strchr("0123456789abcdefABCDEF", u[i]))
			return NULL;
	}
	return u;
}

char *audit_linux_format(const struct audit_vcpu_record *r)
{
	char name[AUDIT_VM_NAME_MAX + 1], *vm, *msg = NULL;
	char old_n[16] = "?", new_n[16] = "?";

	snprintf(name, sizeof(name), "%s", r->vm_name ? r->vm_name : "?");
	vm = audit_encode_nv_string("vm", name, 0);
	if (!vm)
		return NULL;
	if (r->old_vcpus >= 0)
		snprintf(old_n, sizeof(old_n), "%d", r->old_vcpus);
	if (r->new_vcpus >= 0)
		snprintf(new_n, sizeof(new_n), "%d", r->new_vcpus);
	if (asprintf(&msg, "virt=%s resrc=vcpu reason=update %s uuid=%s "
		     "old-vcpu=%s new-vcpu=%s", r->virt ? r->virt : "?", vm,
		     uuid_or_null(r->vm_uuid) ? r->vm_uuid : "?", old_n, new_n) < 0)
		msg = NULL;
	free(vm);
	return msg;
}

static bool have_cap_audit_write(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return true;	/* unknown: let the kernel decide */
	return data[CAP_TO_INDEX(CAP_AUDIT_WRITE)].effective & CAP_TO_MASK(CAP_AUDIT_WRITE);
}

/* audit_open(), or -1 with err set to why there is no audit here. */
static int linux_open(struct vc_err *err)
{
	int fd = audit_open(), e = errno;

	if (fd >= 0)
		return fd;
	/* What audit_open() reports for a kernel built without audit. */
	if (e == EPROTONOSUPPORT || e == EINVAL || e == EAFNOSUPPORT)
		return vc_err_set(err, VC_EXIT_USAGE, "Linux audit: this kernel has no audit support");
	return vc_err_errno(err, VC_EXIT_USAGE, e, "Linux audit: audit_open");
}

int audit_linux_probe(struct vc_err *err)
{
	int fd, enabled, e;

	if (!have_cap_audit_write())
		return vc_err_set(err, VC_EXIT_USAGE,
				  "Linux audit: not permitted (needs root or CAP_AUDIT_WRITE)");
	fd = linux_open(err);
	if (fd < 0)
		return -1;
	errno = 0;
	enabled = audit_is_enabled(fd);
	e = errno;
	audit_close(fd);
	if (enabled != 0)
		return 0;
	/* A kernel with audit disabled takes a record and drops it, so
	 * asking is the only way to know it is lost. */
	if (e == EPERM)	/* no CAP_AUDIT_CONTROL to ask with */
		return 0;
	if (e == ECONNREFUSED)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "Linux audit: the kernel takes no records from this user namespace");
	return vc_err_set(err, VC_EXIT_USAGE, "Linux audit: disabled in the kernel");
}

int audit_linux_send(const char *msg, bool success, struct vc_err *err)
{
	int fd = linux_open(err), rc, e;

	if (fd < 0) {
		err->code = VC_EXIT_INTERNAL;
		return -1;
	}
	errno = 0;
	/* No hostname, address or tty: libaudit fills in "?" and the
	 * caller's terminal, as for libvirt's local callers. */
	rc = audit_log_user_message(fd, AUDIT_VIRT_RESOURCE, msg, NULL, NULL, NULL,
				    success);
	e = errno;
	audit_close(fd);
	if (rc > 0)
		return 0;
	/* libaudit returns 0, not an error, when the kernel refuses a
	 * process without privilege or from another user namespace. */
	if (rc < 0 && (e || -rc > 0))
		return vc_err_errno(err, VC_EXIT_INTERNAL, e ? e : -rc,
				    "Linux audit: the record was not taken");
	return vc_err_set(err, VC_EXIT_INTERNAL, "Linux audit: the kernel refused the record");
}

int audit_syslog_send(const char *socket_path, int severity, const char *msg,
	       struct vc_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char stamp[32], *line = NULL;
	struct tm tm;
	time_t now = time(NULL);
	int fd, len, e;

	if (!socket_path) {
		socket_path = getenv("VCPUCTL_SYSLOG_SOCKET");
		if (!socket_path || !*socket_path)
			socket_path = AUDIT_DEFAULT_SOCKET;
	}
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return vc_err_set(err, VC_EXIT_INTERNAL,
				  "syslog socket %s: path too long", socket_path);
	strcpy(sa.sun_path, socket_path);

	/* syslog(3)'s own local format: "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG". */
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %T", &tm);
	len = asprintf(&line, "<%d>%s %s[%ld]: %s", LOG_AUTHPRIV | severity,
		       stamp, AUDIT_TAG, (long)getpid(), msg);
	if (len < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EPROTOTYPE) {
			e = errno;
			goto fail;
		}
		/* Some syslog daemons listen on a stream socket; syslog(3)
		 * then ends each record with a NUL. */
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			e = errno;
			goto fail;
		}
		len++;
	}
	if (send(fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		e = errno;
		goto fail;
	}
	close(fd);
	free(line);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(line);
	return vc_err_errno(err, VC_EXIT_INTERNAL, e, "syslog socket %s", socket_path);
}

/* The vCPUs of r's items whose state is in the mask (1u << state). */
static char *items_list(const struct apply_result *r, unsigned mask)
{
	struct cpulist l;
	size_t i, top = 0;
	char *text = NULL;
	int k;

	for (i = 0; i < r->n; i++)
		if ((size_t)(r->items[i].first + r->items[i].count) > top)
			top = (size_t)(r->items[i].first + r->items[i].count);
	if (!top || cpulist_init(&l, top) < 0)
		return NULL;
	for (i = 0; i < r->n; i++)
		if (mask & (1u << r->items[i].state))
			for (k = 0; k < r->items[i].count; k++)
				cpulist_set(&l, (size_t)(r->items[i].first + k));
	if (cpulist_count(&l))
		text = cpulist_format(&l);
	cpulist_free(&l);
	return text;
}

/* Online count after the run: QEMU's word when apply refreshed it, else
 * what the replies imply (pending removals are still online). */
static int count_after(const struct plan *p, const struct apply_result *r)
{
	int n = p->from;
	size_t i;

	if (r->online_after >= 0)
		return r->online_after;
	for (i = 0; i < r->n; i++) {
		if (r->items[i].state == APPLY_PLUGGED)
			n += r->items[i].count;
		else if (r->items[i].state == APPLY_REMOVED)
			n -= r->items[i].count;
	}
	return n;
}

static long login_uid(void)
{
	FILE *f = fopen("/proc/self/loginuid", "re");
	unsigned long v;
	long auid = -1;

	if (!f)
		return -1;
	/* 4294967295 is (uid_t)-1: no login session (a daemon, cron). */
	if (fscanf(f, "%lu", &v) == 1 && v != 4294967295UL)
		auid = (long)v;
	fclose(f);
	return auid;
}

static char *query_string(struct qmp *q, const char *cmd, const char *key)
{
	struct vc_err err = { 0 };
	json_t *ret = qmp_call(q, cmd, NULL, &err);
	const char *s = json_string_value(json_object_get(ret, key));
	char *out = s && *s ? strdup(s) : NULL;

	json_decref(ret);
	return out;
}

/* "kvm" or "qemu" as libvirt names the domain type; NULL: unknown. */
static const char *virt_type(struct qmp *q)
{
	struct vc_err err = { 0 };
	json_t *ret = qmp_call(q, "query-kvm", NULL, &err);
	json_t *enabled = json_object_get(ret, "enabled");
	const char *virt = json_is_boolean(enabled) ?
		(json_is_true(enabled) ? "kvm" : "qemu") : NULL;

	json_decref(ret);
	return virt;
}

static int syslog_record(const char *op, const char *name, const char *uuid,
			 const struct plan *p, const struct apply_result *r,
			 struct vc_err *err)
{
	struct audit_record rec = { 0 };
	struct passwd *pw;
	char *sent, *pending, *msg, *reason = NULL;
	int rc;

	sent = items_list(r, ~(1u << APPLY_NOT_DONE));
	pending = items_list(r, 1u << APPLY_PENDING);
	if (r->code && asprintf(&reason, "%s: %s", vc_exit_name(r->code),
				r->error ? r->error : "failed") < 0)
		reason = NULL;

	rec.op = op;
	rec.vm_name = name;
	rec.vm_uuid = uuid;
	rec.old_vcpus = p->from;
	rec.new_vcpus = count_after(p, r);
	rec.vcpus = sent;
	rec.pending = pending;
	rec.success = r->code == VC_EXIT_OK;
	rec.reason = r->code ? (reason ? reason : vc_exit_name(r->code)) : "ok";
	rec.uid = getuid();
	pw = getpwuid(rec.uid);
	rec.user = pw ? pw->pw_name : NULL;
	rec.auid = login_uid();

	msg = audit_syslog_format(&rec);
	if (!msg)
		rc = vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	else
		rc = audit_syslog_send(NULL, rec.success ? LOG_NOTICE : LOG_WARNING, msg, err);
	free(msg);
	free(sent);
	free(pending);
	free(reason);
	return rc;
}

static int linux_record(const char *virt, const char *name, const char *uuid,
			const struct plan *p, const struct apply_result *r,
			struct vc_err *err)
{
	struct audit_vcpu_record rec = {
		.virt = virt, .vm_name = name, .vm_uuid = uuid,
		.old_vcpus = p->from, .new_vcpus = count_after(p, r),
	};
	char *msg = audit_linux_format(&rec);
	int rc;

	if (!msg)
		return vc_err_set(err, VC_EXIT_INTERNAL, "Linux audit: out of memory");
	/* res= is about the vCPUs, as libvirt's: threads left untuned or a
	 * guest that did not online them are not a failed hotplug. */
	rc = audit_linux_send(msg, r->code == VC_EXIT_OK || r->code == VC_EXIT_NOT_TUNED ||
			      r->code == VC_EXIT_NOT_ONLINE, err);
	free(msg);
	return rc;
}

int audit_resize(struct qmp *q, const char *op, const struct plan *p,
		 const struct apply_result *r, unsigned targets,
		 struct vc_err *syslog_err, struct vc_err *linux_err)
{
	const char *virt = NULL;
	char *name, *uuid;
	int rc = 0;

	if (!p->n_steps || !(targets & (AUDIT_TO_SYSLOG | AUDIT_TO_LINUX)))
		return 0;
	/* Asked first, so a kernel that would drop the record costs no
	 * query. */
	if ((targets & AUDIT_TO_LINUX) && audit_linux_probe(linux_err) < 0) {
		targets &= ~(unsigned)AUDIT_TO_LINUX;
		rc = -1;
	}
	if (!(targets & (AUDIT_TO_SYSLOG | AUDIT_TO_LINUX)))
		return rc;
	/* Identity after the change: an audit record must not make the
	 * change itself slower.  Unknown when QEMU is gone. */
	if (q && (targets & AUDIT_TO_LINUX))
		virt = virt_type(q);
	name = q ? query_string(q, "query-name", "name") : NULL;
	uuid = q ? query_string(q, "query-uuid", "UUID") : NULL;
	if ((targets & AUDIT_TO_LINUX) &&
	    linux_record(virt, name, uuid, p, r, linux_err) < 0)
		rc = -1;
	if ((targets & AUDIT_TO_SYSLOG) &&
	    syslog_record(op, name, uuid, p, r, syslog_err) < 0)
		rc = -1;
	free(name);
	free(uuid);
	return rc;
}
