/* cli.h - what every subcommand shares: the common options, connecting,
 * and how a failure is shown.
 *
 * Each src/cmd_*.c owns its argp parser and lists cli_common_argp (and
 * the tuning and agent groups it takes) as children.  Children find what
 * they fill in by name, not by position: the command hands every child
 * the same struct cli_inputs (cli_bind_children()), and each takes its own
 * member, so reordering a children array cannot send options astray.  A command
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
struct pending;
struct topology;
struct tune_opts;
struct agent_opts;
struct resize_request;
struct resize_result;

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

/* What a command's option groups fill in.  A group whose member is NULL
 * here is not among the command's children. */
struct cli_inputs {
	struct cli_common *common;   /* cli_common_argp, cli_change_argp */
	struct tune_opts *tune;      /* cmd_tune_argp, cmd_tune_cgroup_argp */
	struct agent_opts *agent;    /* agent_argp, agent_resize_argp */
};

/* In a command's ARGP_KEY_INIT: hand in to each of children (the command
 * argp's NULL-terminated children array). */
void cli_bind_children(struct argp_state *state,
		       const struct argp_child *children, struct cli_inputs *in);

/* Options: -s/--socket, --json, -q/--quiet, --stats, --qmp-timeout,
 * --trace.  Input: struct cli_inputs * (its common). */
extern const struct argp cli_common_argp;

/* cli_common_argp's options plus --lock-timeout SEC, --audit WHERE and
 * --no-syslog, for the commands that change the VM.  Its ARGP_KEY_INIT sets
 * c->lock and c->audit (to --audit=auto).  Input: struct cli_inputs *
 * (handed on to its cli_common_argp child). */
extern const struct argp cli_change_argp;

/* Whether opt is one of the options above (cli_common_argp's or
 * cli_change_argp's), which main() accepts before the command too: opt is
 * the text after "--" (is_long; "name" or "name=value", a unique prefix
 * allowed) or after "-" (its first character).  Returns how many
 * arguments it takes, 0 or 1, or -1 for no such option. */
int cli_global_option_arity(const char *opt, bool is_long);

/* Set defaults (from the environment) before parsing. */
void cli_common_init(struct cli_common *c);

/* Connect to c->socket; fails with VC_EXIT_USAGE when no socket was named.
 * A "name:NAME" or "pid:PID" socket is first resolved through a scan of
 * /proc (discover.h: exit codes and messages there) and c->socket then
 * points at the monitor's "unix:PATH" / "tcp:HOST:PORT".
 * When c->lock is set, first takes the VM's lock (lock.h), waiting up to
 * c->lock_timeout_ms; VC_EXIT_BUSY when another vcpuctl keeps it.  The lock
 * stays held, in c->lock_fd, until cli_unlock() or the process exits, so it
 * covers the change, the wait and the audit record. */
struct qmp *cli_connect(struct cli_common *c, struct vc_err *err);

/* show, count: the record of requested removals (pending.h) of the VM
 * behind c->socket and q, reconciled with t, into p (pending_free()).
 * Read-only; its warnings go out through cli_warn().  A record that
 * cannot be read at all is an empty one, with a warning. */
void cli_pending_read(const struct cli_common *c, struct qmp *q,
		      const struct topology *t, struct pending *p);

/* Drop the lock cli_connect() took, if any.  Optional: exit drops it too. */
void cli_unlock(struct cli_common *c);

/* Print --stats line for session q (may be NULL) if asked for. */
void cli_stats(const struct cli_common *c, const struct qmp *q);

/* The one way a command fails.  cli_fail(): nothing was printed yet, so
 * "vcpuctl: <msg>" on stderr and, with --json, {"error": {"exit_code": N,
 * "name": "...", "message": "..."}} on stdout.  cli_fail_after(): the
 * command's result is out already (its document carries the exit code),
 * so the stderr line alone.  Both return err->code (VC_EXIT_INTERNAL if it
 * was 0). */
int cli_fail(const struct cli_common *c, const struct vc_err *err);
int cli_fail_after(const struct cli_common *c, const struct vc_err *err);

/* How a command runs a step of the resize flow (resize.h) and ends: req
 * checked (resize_prepare()) before QEMU is touched, then cli_connect(),
 * run, res's warnings, print (returns < 0 when out of memory), the audit
 * records of a change that was sent, --stats, the lock dropped, req and
 * res freed.  Returns the exit code: cli_fail() for what failed before a
 * result, else res->code (cli_fail_after()) or VC_EXIT_OK. */
typedef int (*cli_flow_run)(struct qmp *q, const struct resize_request *req,
			    struct resize_result *res, struct vc_err *err);
typedef int (*cli_flow_print)(const struct cli_common *c,
			      const struct resize_request *req,
			      const struct resize_result *res);
int cli_run_flow(struct cli_common *c, struct resize_request *req,
		 cli_flow_run run, cli_flow_print print);

/* Print a JSON document on stdout, one line, flushed.  Steals doc. */
void cli_print_json(json_t *doc);

/* Print "vcpuctl: warning: <msg>" on stderr unless --quiet. */
void cli_warn(const struct cli_common *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The exit-code table as "vcpuctl --help" prints it ("Exit status:" and
 * a line per code of vc_exit_codes[]); borrowed. */
const char *cli_exit_codes(void);

#endif
