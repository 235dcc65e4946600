/* cmd_wait.c - "vcpuctl wait [LIST]": wait until removals finish.
 *
 * What is pending is learnt from QEMU, never from a file of ours: the
 * named vCPUs that are still plugged, or, with no LIST, the vCPUs whose
 * last ACPI OST event says the guest is ejecting them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/report.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"
#include "vcpuctl/util.h"

#define LIST_LIMIT 65536
#define DEFAULT_TIMEOUT_MS 5000

struct wait_args {
	struct cli_common common;
	struct tune_opts tune;    /* --cgroup: remove vcpuN of removed vCPUs */
	const char *list_text;
	int64_t timeout_ms;
};

static const struct argp_option wait_options[] = {
	{ "timeout", 't', "SEC", 0,
	  "wait at most SEC seconds (default 5; 0: no limit)", 0 },
	{ 0 }
};

static error_t parse_wait(int key, char *arg, struct argp_state *state)
{
	struct wait_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->common;
		state->child_inputs[1] = &a->tune;
		return 0;
	case 't':
		if (!vc_parse_seconds(arg, &a->timeout_ms))
			argp_error(state, "--timeout: '%s' is not a number of seconds", arg);
		return 0;
	case ARGP_KEY_ARG:
		if (a->list_text)
			argp_error(state, "unexpected argument '%s'", arg);
		a->list_text = arg;
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp_child common_child[] = {
	{ &cli_common_argp, 0, "Common options:", 10 },
	{ &cmd_tune_cgroup_argp, 0, "Cgroups (after 'set --no-wait --cgroup'):", 5 },
	{ 0 }
};

static const struct argp wait_argp = {
	wait_options, parse_wait, "[LIST]",
	"Wait until pending vCPU removals finish.  With LIST (as 'set --no-wait' "
	"prints it), wait until those vCPUs are unplugged.  Without it, wait for "
	"the removals the guest is working on, as QEMU's ACPI status reports them."
	"\vExit 0 when nothing is pending any more, 6 when the guest rejected a "
	"named vCPU's removal, 7 on timeout.  'vcpuctl --help' lists all exit codes.",
	common_child, NULL, NULL
};

int cmd_wait(int argc, char **argv)
{
	struct wait_args a;
	struct apply_result r = { 0 };
	struct topology t = { 0 };
	struct cpulist list = { 0 };
	struct tune_cgroup cg = { 0 };
	struct vc_err err = { 0 };
	struct qmp *q = NULL;
	int code;

	memset(&a, 0, sizeof(a));
	cli_common_init(&a.common);
	tune_opts_init(&a.tune);
	a.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (argp_parse(&wait_argp, argc, argv, 0, NULL, &a)) {
		tune_opts_free(&a.tune);
		return VC_EXIT_USAGE;
	}
	if ((a.list_text && cpulist_parse(a.list_text, LIST_LIMIT, &list, &err) < 0) ||
	    (a.tune.cgroup &&
	     tune_cgroup_resolve(a.tune.cgroup, TUNE_CGROUP_ROOT, &cg, &err) < 0)) {
		code = cli_fail(&a.common, &err);
		goto out;
	}

	q = cli_connect(&a.common, &err);
	if (q && !tune_cgroup_auto(&cg, qmp_peer_pid(q), &err) && cg.note && !a.common.quiet)
		fprintf(stderr, "vcpuctl: %s\n", cg.note);
	if (!q || err.code || topo_query_hotpluggable(q, &t, &err) < 0 ||
	    apply_find_pending(q, &t, a.list_text ? &list : NULL, &r, &err) < 0) {
		code = cli_fail(&a.common, &err);
		goto out;
	}
	code = apply_wait(q, &t, &r, a.timeout_ms);
	if (tune_cgroup_remove_removed(&cg, &r, &err))
		cli_warn(&a.common, "%s", err.msg);
	if (a.common.json)
		cli_print_json(report_result_json("wait", &t, NULL, &r));
	else if (!a.common.quiet || code)
		report_result_text(stdout, "wait", &t, NULL, &r);
	if (code) {
		char *progress = report_progress(&r);

		fprintf(stderr, "vcpuctl: wait: %s%s%s\n",
			r.error ? r.error : (code == VC_EXIT_TIMEOUT ?
					     "timed out; removals still pending" :
					     vc_exit_name(code)),
			progress ? "; " : "", progress ? progress : "");
		free(progress);
	}
out:
	cli_stats(&a.common, q);
	apply_result_free(&r);
	topo_free(&t);
	cpulist_free(&list);
	tune_cgroup_free(&cg);
	tune_opts_free(&a.tune);
	qmp_close(q);
	return code;
}
