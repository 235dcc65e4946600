/* err.c - formatting of struct vc_err and the names of exit codes. */
#include <stdio.h>
#include <string.h>

#include "vcpuctl/err.h"

static void vset(struct vc_err *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int vc_err_set(struct vc_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int vc_err_errno(struct vc_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	return -1;
}

int vc_err_prefix(struct vc_err *err, const char *fmt, ...)
{
	char old[VC_ERR_MSG_MAX];
	va_list ap;
	size_t len;

	if (!err)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", old);
	return -1;
}

void vc_err_clear(struct vc_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

/* The one table of exit codes: --help prints it (cli_exit_codes()), and
 * the tests hold README and the man page against that. */
const struct vc_exit_info vc_exit_codes[] = {
	{ VC_EXIT_OK, "ok", "success, or nothing to do" },
	{ VC_EXIT_INTERNAL, "internal", "internal error" },
	{ VC_EXIT_USAGE, "usage", "usage error: bad option, count or cpulist" },
	{ VC_EXIT_CONN, "connection",
	  "cannot talk to QEMU: socket, timeout, connection closed, bad reply" },
	{ VC_EXIT_QEMU, "qemu-refused", "QEMU refused the change; nothing was changed" },
	{ VC_EXIT_IMPOSSIBLE, "impossible",
	  "the target cannot be reached in this topology; nothing was sent" },
	{ VC_EXIT_GUEST, "guest-rejected", "the guest rejected an unplug" },
	{ VC_EXIT_TIMEOUT, "timeout", "timed out; removals are still pending" },
	{ VC_EXIT_PARTIAL, "partial", "partial: some steps were done, then one failed" },
	{ VC_EXIT_NOT_TUNED, "not-tuned", "plugged, but thread tuning failed; or a removed vCPU's cgroup was left" },
	{ VC_EXIT_NOT_ONLINE, "not-online", "plugged, but not brought online in the guest" },
	{ VC_EXIT_BUSY, "busy", "busy: another vcpuctl holds this VM's lock" },
	{ VC_EXIT_AGENT, "agent", "guest agent error" },
};
const size_t vc_exit_codes_n = sizeof(vc_exit_codes) / sizeof(vc_exit_codes[0]);

const char *vc_exit_name(int code)
{
	size_t i;

	for (i = 0; i < vc_exit_codes_n; i++)
		if (vc_exit_codes[i].code == code)
			return vc_exit_codes[i].name;
	/* A change stopped by a signal before its first step. */
	if (code > 128 && code < 160)
		return "interrupted";
	return "unknown";
}
