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

const char *vc_exit_name(int code)
{
	switch (code) {
	case VC_EXIT_OK: return "ok";
	case VC_EXIT_INTERNAL: return "internal";
	case VC_EXIT_USAGE: return "usage";
	case VC_EXIT_CONN: return "connection";
	case VC_EXIT_QEMU: return "qemu-refused";
	case VC_EXIT_IMPOSSIBLE: return "impossible";
	case VC_EXIT_GUEST: return "guest-rejected";
	case VC_EXIT_TIMEOUT: return "timeout";
	case VC_EXIT_PARTIAL: return "partial";
	case VC_EXIT_NOT_TUNED: return "not-tuned";
	case VC_EXIT_NOT_ONLINE: return "not-online";
	case VC_EXIT_BUSY: return "busy";
	case VC_EXIT_AGENT: return "agent";
	}
	/* A change stopped by a signal before its first step. */
	if (code > 128 && code < 160)
		return "interrupted";
	return "unknown";
}
