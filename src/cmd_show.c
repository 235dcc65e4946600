/* cmd_show.c - "vcpuctl show": every possible vCPU, one row each. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/fields.h"
#include "vcpuctl/guestmap.h"
#include "vcpuctl/output.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"

static const char show_doc[] =
	"Print the VM's vCPU topology: one row per possible vCPU with its "
	"topology ids, NUMA node, state (online/offline), whether it can be "
	"unplugged (yes, no, or boot for a CPU QEMU started with), its device "
	"id and host thread, the thread's CPU affinity, scheduler policy and "
	"cgroup (only for threads of a QEMU on this host), then a summary "
	"line.  vCPU indexes are the ones 'add', 'del' and 'tune' take."
	"  With --guest-agent, the guest's own view too (guest agent): which "
	"vCPUs are online in the guest, and where QEMU and the guest disagree."
	"\v--json prints one document: the topology model described in the "
	"README, plus \"qemu\": {\"version\", \"package\"}.";

struct show_args {
	struct cli_common c;
	struct agent_opts agent;
	struct cli_inputs in;
	const char *columns;     /* -o/--output COLS */
};

static const struct argp_option show_options[] = {
	{ "output", 'o', "COLS", 0,
	  "print only these table columns, comma-separated (e.g. INDEX,STATE,HOST-TID; "
	  "the columns are listed below); --json always has every member", 0 },
	{ 0 }
};

static const struct argp_child show_children[] = {
	{ &cli_common_argp, 0, NULL, 0 },
	{ &agent_argp, 0, "Guest agent:", 5 },
	{ 0 }
};

static error_t show_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		cli_bind_children(state, show_children,
				  &((struct show_args *)state->input)->in);
		return 0;
	case 'o':
		((struct show_args *)state->input)->columns = arg;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	}
	return ARGP_ERR_UNKNOWN;
}

/* The list of columns after the help text comes from the field table. */
static char *show_help(int key, const char *text, void *input)
{
	char *cols, *out;

	(void)input;
	if (key != ARGP_KEY_HELP_POST_DOC)
		return (char *)text;
	cols = fields_help(&out_vcpu_fields);
	if (!cols || asprintf(&out, "%s\n\nColumns (-o; hidden ones only when named):\n%s",
			      text ? text : "", cols) < 0)
		out = NULL;
	free(cols);
	return out ? out : (char *)text;
}

static const struct argp show_argp = {
	show_options, show_parse, NULL, show_doc, show_children, show_help, NULL
};

int cmd_show(int argc, char **argv)
{
	struct show_args s;
	struct gmap_view gv = { 0 };
	struct vc_err err = { 0 }, gerr = { 0 };
	struct out_show out = { 0 };
	struct tune_thread_info *info = NULL;
	struct topology t = { 0 };
	struct pending pend = { 0 };
	struct qmp *q;
	int rc = VC_EXIT_OK;

	memset(&s, 0, sizeof(s));
	cli_common_init(&s.c);
	agent_opts_init(&s.agent);
	s.in = (struct cli_inputs){ .common = &s.c, .agent = &s.agent };
	argp_parse(&show_argp, argc, argv, 0, NULL, &s);
	s.agent.trace = s.c.trace;
	q = cli_connect(&s.c, &err);
	if (!q)
		return cli_fail(&s.c, &err);
	if (topo_query(q, &t, &err)) {
		cli_stats(&s.c, q);
		qmp_close(q);
		return cli_fail(&s.c, &err);
	}
	if (t.thread_warning)
		cli_warn(&s.c, "%s", t.thread_warning);
	cli_pending_read(&s.c, q, &t, &pend);
	info = tune_threads_read(&t, qmp_peer_pid(q));
	if (s.agent.path && gmap_view_fetch(&s.agent, &t, &gv, &gerr) < 0)
		out.guest_error = gerr.msg;
	out.t = &t;
	out.info = info;
	out.guest = s.agent.path && !gerr.code ? &gv : NULL;
	out.version = qmp_version(q);
	out.package = qmp_package(q);
	out.pend = &pend;
	out.now = pending_now();
	if (!info) {
		rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
	} else if (s.c.json) {
		if (out_show_doc(&out, stdout) < 0)
			rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
	} else if (!s.c.quiet) {
		if (out_show_table(&out, s.columns, stdout, &err) < 0)
			rc = err.code;
		if (out.guest)
			out_guest_view_text(stdout, &gv, &t);
		fflush(stdout);
	}
	cli_stats(&s.c, q);
	qmp_close(q);
	tune_threads_free(info, t.n_vcpus);
	topo_free(&t);
	pending_free(&pend);
	gmap_view_free(&gv);
	if (rc)
		return cli_fail(&s.c, &err);
	/* QEMU's view was shown; the guest's could not be. */
	if (gerr.code) {
		vc_err_prefix(&gerr, "guest agent");
		return cli_fail_after(&s.c, &gerr);
	}
	return VC_EXIT_OK;
}
