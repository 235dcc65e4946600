/* cli.c - common options, connecting, and reporting failures. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/audit.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/discover.h"
#include "vcpuctl/lock.h"
#include "vcpuctl/pending.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/resize.h"
#include "vcpuctl/util.h"

#define DEFAULT_QMP_TIMEOUT_MS 10000
/* Long enough to queue behind a change that waits for a slow unplug (5 s by
 * default), short enough that a stuck holder is noticed. */
#define DEFAULT_LOCK_TIMEOUT_MS 30000

const char *cli_exit_codes(void)
{
	static char text[2048];
	size_t len, i;

	if (text[0])
		return text;
	len = (size_t)snprintf(text, sizeof(text), "Exit status:\n");
	for (i = 0; i < vc_exit_codes_n && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "  %2d  %s\n",
					vc_exit_codes[i].code, vc_exit_codes[i].meaning);
	return text;
}

enum {
	OPT_QMP_TIMEOUT = 0x100,
	OPT_JSON,
	OPT_STATS,
	OPT_TRACE,
	OPT_LOCK_TIMEOUT,
	OPT_NO_SYSLOG,
	OPT_AUDIT,
};

/* --no-syslog, held in c->audit until the end so that it wins over an
 * --audit in any order. */
#define NO_SYSLOG_SEEN (1u << 16)

static const struct argp_option common_options[] = {
	{ "socket", 's', "PATH", 0,
	  "QMP socket: PATH, unix:PATH, tcp:HOST:PORT, or the monitor of a running "
	  "QEMU: name:NAME (its -name) or pid:PID, as 'vcpuctl ls' lists them "
	  "(default: $VCPUCTL_SOCKET)", 0 },
	{ "json", OPT_JSON, NULL, 0, "print one JSON document on stdout", 0 },
	{ "quiet", 'q', NULL, 0, "print nothing on success", 0 },
	{ "qmp-timeout", OPT_QMP_TIMEOUT, "SEC", 0,
	  "give up on connect, greeting or any reply after SEC seconds (default 10; 0: never)", 0 },
	{ "stats", OPT_STATS, NULL, 0, "print QMP round trips (all, and of the change itself) and elapsed time on stderr", 0 },
	{ "trace", OPT_TRACE, "FILE", 0,
	  "log every QMP and guest agent message to FILE (default: $VCPUCTL_QMP_TRACE)", 0 },
	{ 0 }
};

void cli_bind_children(struct argp_state *state,
		       const struct argp_child *children, struct cli_inputs *in)
{
	size_t i;

	for (i = 0; children && children[i].argp; i++)
		state->child_inputs[i] = in;
}

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	struct cli_common *c = ((struct cli_inputs *)state->input)->common;

	switch (key) {
	case 's':
		c->socket = arg;
		return 0;
	case OPT_JSON:
		c->json = true;
		return 0;
	case 'q':
		c->quiet = true;
		return 0;
	case OPT_STATS:
		c->stats = true;
		return 0;
	case OPT_TRACE:
		c->trace = arg;
		return 0;
	case OPT_QMP_TIMEOUT:
		if (!vc_parse_seconds(arg, &c->qmp_timeout_ms))
			argp_error(state, "--qmp-timeout: '%s' is not a number of seconds", arg);
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

const struct argp cli_common_argp = {
	common_options, common_parse, NULL, NULL, NULL, NULL, NULL
};

static const struct argp_option change_options[] = {
	{ "lock-timeout", OPT_LOCK_TIMEOUT, "SEC", 0,
	  "wait at most SEC seconds for another vcpuctl changing this VM, then exit 11 "
	  "(default 30; 0: no limit)", 0 },
	{ "audit", OPT_AUDIT, "WHERE", 0,
	  "where the audit record of the change goes: auto (syslog, and Linux audit "
	  "where the kernel takes it), linux, syslog, both or none; linux and both "
	  "refuse the change when the kernel would not take the Linux record "
	  "(default auto)", 0 },
	{ "no-syslog", OPT_NO_SYSLOG, NULL, 0,
	  "write no syslog record (the Linux audit record stays)", 0 },
	{ 0 }
};

static error_t change_parse(int key, char *arg, struct argp_state *state)
{
	struct cli_common *c = ((struct cli_inputs *)state->input)->common;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = state->input;
		c->lock = true;
		c->audit = AUDIT_TO_SYSLOG | AUDIT_TO_LINUX;
		return 0;
	case ARGP_KEY_END:
		if (c->audit & NO_SYSLOG_SEEN)
			c->audit &= ~(AUDIT_TO_SYSLOG | NO_SYSLOG_SEEN);
		return 0;
	case OPT_LOCK_TIMEOUT:
		if (!vc_parse_seconds(arg, &c->lock_timeout_ms))
			argp_error(state, "--lock-timeout: '%s' is not a number of seconds", arg);
		return 0;
	case OPT_NO_SYSLOG:
		c->audit |= NO_SYSLOG_SEEN;
		return 0;
	case OPT_AUDIT: {
		int to = audit_targets_parse(arg);

		if (to < 0)
			argp_error(state, "--audit: '%s' is not auto, linux, syslog, both or none", arg);
		c->audit = (unsigned)to | (c->audit & NO_SYSLOG_SEEN);
		return 0;
	}
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp_child change_children[] = {
	{ &cli_common_argp, 0, NULL, 0 },
	{ 0 }
};

const struct argp cli_change_argp = {
	change_options, change_parse, NULL, NULL, change_children, NULL, NULL
};

/* How many arguments option opt (the text after "-" or "--") takes, from
 * tables: 0 or 1, or -1 when it is none of them.  Long names may be
 * abbreviated as argp allows; an ambiguous one is left for argp to refuse. */
static int table_arity(const struct argp_option *tab, const char *opt, bool is_long)
{
	const struct argp_option *o, *hit = NULL;
	size_t n = strcspn(opt, "=");

	for (o = tab; o->name || o->key; o++) {
		if (!is_long) {
			if (o->key == (unsigned char)opt[0])
				return o->arg ? 1 : 0;
			continue;
		}
		if (!o->name || strncmp(o->name, opt, n))
			continue;
		if (o->name[n] == '\0')
			return o->arg ? 1 : 0;
		hit = o;	/* a prefix; argp settles any ambiguity */
	}
	return hit ? (hit->arg ? 1 : 0) : -1;
}

int cli_global_option_arity(const char *opt, bool is_long)
{
	int a = table_arity(common_options, opt, is_long);

	return a >= 0 ? a : table_arity(change_options, opt, is_long);
}

void cli_common_init(struct cli_common *c)
{
	memset(c, 0, sizeof(*c));
	c->socket = getenv("VCPUCTL_SOCKET");
	if (c->socket && !*c->socket)
		c->socket = NULL;
	c->trace = getenv("VCPUCTL_QMP_TRACE");
	c->qmp_timeout_ms = DEFAULT_QMP_TIMEOUT_MS;
	c->lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS;
	c->lock_fd = -1;
	c->start_ms = vc_now_ms();
	c->change_round_trips = -1;
}

/* name:NAME / pid:PID become the monitor's own spec, so the lock and the
 * audit record name the socket whichever way it was given.  A monitor
 * another client holds fails here, at once: QEMU would only have let us
 * wait for a greeting that never comes. */
static int cli_resolve_socket(struct cli_common *c, struct vc_err *err)
{
	static char *resolved;
	bool held;
	char *spec = disc_resolve_socket(c->socket, &held, err);

	if (!spec || held) {
		free(spec);
		return -1;
	}
	free(resolved);
	resolved = spec;
	c->socket = resolved;
	return 0;
}

struct qmp *cli_connect(struct cli_common *c, struct vc_err *err)
{
	struct qmp *q;
	FILE *trace;

	if (!c->socket) {
		vc_err_set(err, VC_EXIT_USAGE,
			   "no QMP socket: give -s PATH or set VCPUCTL_SOCKET");
		return NULL;
	}
	if (disc_is_selector(c->socket) && cli_resolve_socket(c, err) < 0)
		return NULL;
	/* Before connecting: QEMU would make a second client wait for the
	 * greeting anyway, and the lock turns that wait into a clear "busy". */
	if (c->lock && c->lock_fd < 0) {
		int fd = lock_acquire(c->socket, c->lock_timeout_ms > 0 ?
				      c->lock_timeout_ms : -1, err);

		if (fd == -1)
			return NULL;
		c->lock_fd = fd;   /* -2: a socket that does not exist; */
		if (fd < 0)        /* qmp_open() says why */
			c->lock_fd = -1;
	}
	q = qmp_open(c->socket, (int)c->qmp_timeout_ms, err);
	if (!q)
		return NULL;
	if (c->trace && *c->trace) {
		trace = fopen(c->trace, "a");
		if (!trace) {
			vc_err_errno(err, VC_EXIT_USAGE, errno, "--trace %s", c->trace);
			qmp_close(q);
			return NULL;
		}
		setvbuf(trace, NULL, _IOLBF, 0);
		qmp_set_trace(q, trace);
	}
	return q;
}

void cli_pending_read(const struct cli_common *c, struct qmp *q,
		      const struct topology *t, struct pending *p)
{
	struct vc_err err = { 0 };
	size_t i;

	if (pending_load(c->socket, qmp_peer_pid(q), qmp_version(q), p, &err) < 0)
		cli_warn(c, "record of pending removals not read: %s", err.msg);
	else
		pending_reconcile(p, t, NULL);
	for (i = 0; i < p->n_warnings; i++)
		cli_warn(c, "%s", p->warnings[i]);
}

void cli_unlock(struct cli_common *c)
{
	lock_release(c->lock_fd);
	c->lock_fd = -1;
}

static void cli_flow_warn(const struct cli_common *c,
			  const struct resize_result *res, size_t from)
{
	for (; from < res->n_warnings; from++)
		cli_warn(c, "%s", res->warnings[from]);
}

int cli_run_flow(struct cli_common *c, struct resize_request *req,
		 cli_flow_run run, cli_flow_print print)
{
	struct resize_result res = { 0 };
	struct vc_err err = { 0 };
	struct qmp *q = NULL;
	size_t seen;
	int code;

	if (resize_prepare(req, &res, &err) == 0 && (q = cli_connect(c, &err)))
		req->socket = c->socket; /* as cli_connect resolved it */
	if (!q || run(q, req, &res, &err) < 0) {
		code = cli_fail(c, &err);
		goto out;
	}
	cli_flow_warn(c, &res, 0);
	if (print(c, req, &res) < 0 && !res.code)
		vc_err_set(&res.failure, res.code = VC_EXIT_INTERNAL,
			   "%s: out of memory", req->command);
	code = res.code ? cli_fail_after(c, &res.failure) : VC_EXIT_OK;
	seen = res.n_warnings;
	resize_audit(q, req, &res);
	cli_flow_warn(c, &res, seen);
out:
	c->change_round_trips = res.change_round_trips;
	cli_stats(c, q);
	cli_unlock(c);
	resize_result_free(&res);
	resize_request_free(req);
	qmp_close(q);
	return code;
}

void cli_stats(const struct cli_common *c, const struct qmp *q)
{
	if (!c->stats)
		return;
	fprintf(stderr, "vcpuctl: stats: qmp_round_trips=%u", q ? qmp_round_trips(q) : 0);
	if (c->change_round_trips >= 0)
		fprintf(stderr, " change_round_trips=%ld", c->change_round_trips);
	fprintf(stderr, " elapsed_ms=%lld\n", (long long)(vc_now_ms() - c->start_ms));
}

void cli_print_json(json_t *doc)
{
	if (!doc)
		return;
	json_dumpf(doc, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(doc);
}

int cli_fail_after(const struct cli_common *c, const struct vc_err *err)
{
	(void)c;
	fprintf(stderr, "vcpuctl: %s\n", err->msg[0] ? err->msg : "unknown error");
	return err->code ? err->code : VC_EXIT_INTERNAL;
}

int cli_fail(const struct cli_common *c, const struct vc_err *err)
{
	int code = cli_fail_after(c, err);

	if (c && c->json)
		cli_print_json(json_pack("{s:{s:i,s:s,s:s}}", "error",
					 "exit_code", code,
					 "name", vc_exit_name(code),
					 "message", err->msg));
	return code;
}

void cli_warn(const struct cli_common *c, const char *fmt, ...)
{
	va_list ap;

	if (c && c->quiet)
		return;
	fputs("vcpuctl: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
