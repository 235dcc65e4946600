/* cli.h - what every subcommand shares: the common options, connecting,
 * and how a failure is shown.
 *
 * Each src/cmd_*.c owns its argp parser and lists cli_common_argp as a
 * child, handing it a struct cli_common through child_inputs[0].  A command
 * that changes the VM lists cli_change_argp instead: the same options plus
 * --lock-timeout, --audit and --no-syslog, and listing it is what makes the command
 * lock the VM (cli_connect) and audit its changes (audit.h).
 */
#ifndef VCPUCTL_CLI_H
#define VCPUCTL_CLI_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "vcpuctl/err.h"

struct qmp;

struct cli_common {
	const char *socket;      /* -s/--socket, else $VCPUCTL_SOCKET */
	bool json;               /* --json: one JSON document on stdout */
	bool quiet;              /* --quiet: print nothing on success */
	bool stats;              /* --stats: QMP round trips and time, on stderr */
	int64_t qmp_timeout_ms;  /* --qmp-timeout: connect, greeting, each reply */
	const char *trace;       /* --trace FILE, else $VCPUCTL_QMP_TRACE */
	int64_t start_ms;        /* when the command started, for --stats */
	long change_round_trips; /* round trips of the change itself, before
	                            the audit record's queries; -1: not marked */
	/* Set by cli_change_argp; false for read-only commands. */
	bool lock;               /* cli_connect() takes the VM's lock first */
	unsigned audit;          /* where records go: enum audit_target bits
	                            (--audit, --no-syslog); 0: nowhere */
	int64_t lock_timeout_ms; /* --lock-timeout; <= 0: wait forever */
	int lock_fd;             /* held lock (lock.h), or -1 */
};

/* Options: -s/--socket, --json, -q/--quiet, --stats, --qmp-timeout,
 * --trace.  Input: struct cli_common *. */
extern const struct argp cli_common_argp;

/* cli_common_argp's options plus --lock-timeout SEC, --audit WHERE and
 * --no-syslog, for the commands that change the VM.  Its ARGP_KEY_INIT sets
 * c->lock and c->audit (to --audit=auto).  Input: struct cli_common * (it hands the same pointer on to
 * its cli_common_argp child). */
extern const struct argp cli_change_argp;

/* Set defaults (from the environment) before parsing. */
void cli_common_init(struct cli_common *c);

/* Connect to c->socket; fails with VC_EXIT_USAGE when no socket was named.
 * When c->lock is set, first takes the VM's lock (lock.h), waiting up to
 * c->lock_timeout_ms; VC_EXIT_BUSY when another vcpuctl keeps it.  The lock
 * stays held, in c->lock_fd, until cli_unlock() or the process exits, so it
 * covers the change, the wait and the audit record. */
struct qmp *cli_connect(struct cli_common *c, struct vc_err *err);

/* Drop the lock cli_connect() took, if any.  Optional: exit drops it too. */
void cli_unlock(struct cli_common *c);

/* Print --stats line for session q (may be NULL) if asked for. */
void cli_stats(const struct cli_common *c, const struct qmp *q);

/* Report err: "vcpuctl: <msg>" on stderr; with --json also
 * {"error": {"exit_code": N, "name": "...", "message": "..."}} on stdout.
 * Returns err->code (VC_EXIT_INTERNAL if it was 0). */
int cli_fail(const struct cli_common *c, const struct vc_err *err);

/* Print a JSON document on stdout, one line, flushed.  Steals doc. */
void cli_print_json(json_t *doc);

/* Print "vcpuctl: warning: <msg>" on stderr unless --quiet. */
void cli_warn(const struct cli_common *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The exit-code table, as printed by "vcpuctl --help". */
extern const char cli_exit_codes_text[];

#endif
