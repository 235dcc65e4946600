/* err.h - error values carried up from modules, and the exit codes.
 *
 * Modules never print.  A failing function fills a struct vc_err with a
 * message that names the object and the cause, and the exit code the
 * failure maps to; callers may prefix context ("vcpu5: device_del: ...").
 * Only src/main.c and src/cmd_*.c turn an error into output.
 */
#ifndef VCPUCTL_ERR_H
#define VCPUCTL_ERR_H

#include <stdarg.h>

/* Exit codes.  Each means one thing, described once in vc_exit_codes[]
 * (err.c), which --help prints; tests/cli/exitcodes.bats holds README and
 * the man page against it. */
enum vc_exit {
	VC_EXIT_OK = 0,          /* success, or nothing to do */
	VC_EXIT_INTERNAL = 1,    /* internal error (out of memory, a bug) */
	VC_EXIT_USAGE = 2,       /* bad command line: option, count, cpulist */
	VC_EXIT_CONN = 3,        /* cannot talk to QEMU: socket, timeout, closed, garbage */
	VC_EXIT_QEMU = 4,        /* QEMU refused a command; nothing was changed */
	VC_EXIT_IMPOSSIBLE = 5,  /* target not reachable in this topology; nothing sent */
	VC_EXIT_GUEST = 6,       /* the guest rejected an unplug */
	VC_EXIT_TIMEOUT = 7,     /* timed out; removals still pending */
	VC_EXIT_PARTIAL = 8,     /* some steps done, then one failed */
	VC_EXIT_NOT_TUNED = 9,   /* plugged, but thread tuning failed */
	VC_EXIT_NOT_ONLINE = 10, /* plugged, but not brought online in the guest */
	VC_EXIT_BUSY = 11,       /* another vcpuctl holds this VM's lock */
	VC_EXIT_AGENT = 12,      /* guest agent missing, silent or failing */
};

#define VC_ERR_MSG_MAX 1024

struct vc_err {
	int code;                 /* enum vc_exit; 0 when no error */
	char msg[VC_ERR_MSG_MAX]; /* human-readable, no trailing newline */
};

/* Set err (if non-NULL) to code and a formatted message.  Returns -1 so
 * callers can write "return vc_err_set(err, ...);". */
int vc_err_set(struct vc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like vc_err_set, appending ": strerror(errnum)". */
int vc_err_errno(struct vc_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the message already in err with "<formatted>: ".  Keeps code.
 * Returns -1. */
int vc_err_prefix(struct vc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vc_err_clear(struct vc_err *err);

struct vc_exit_info {
	int code;
	const char *name;        /* for --json: "timeout" */
	const char *meaning;     /* for --help, README, man page */
};

/* Every exit code, in order. */
extern const struct vc_exit_info vc_exit_codes[];
extern const size_t vc_exit_codes_n;

/* Name of an exit code, e.g. "timeout" for VC_EXIT_TIMEOUT (for --json);
 * "unknown" for none. */
const char *vc_exit_name(int code);

#endif
