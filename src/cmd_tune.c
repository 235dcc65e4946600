/* cmd_tune.c - "vcpuctl tune LIST": cgroup, affinity and scheduler for
 * vCPUs that already run; and the tuning options that set and add share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/output.h"
#include "vcpuctl/resize.h"
#include "vcpuctl/tune.h"

enum {
	OPT_CGROUP = 0x300,
	OPT_CPUSET,
	OPT_MEMS,
	OPT_QUOTA,
	OPT_PERIOD,
	OPT_AFFINITY,
	OPT_SCHED,
	OPT_NODE_AFFINITY,
};

static const struct argp_option tune_options[] = {
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "the VM's cgroup, relative to each controller's mount (v1: cpu, cpuacct, "
	  "cpuset) or absolute under " TUNE_CGROUP_ROOT "; each vCPU gets a child "
	  "cgroup vcpuN (needs root: write access to the cgroup); auto: where QEMU's "
	  "threads already are (the parent of their vcpuN or emulator)", 0 },
	{ "cpuset", OPT_CPUSET, "LIST", 0,
	  "host CPUs for the vCPU's cgroup (default: the VM cgroup's)", 0 },
	{ "mems", OPT_MEMS, "LIST", 0,
	  "NUMA nodes for the vCPU's cgroup (default: the VM cgroup's)", 0 },
	{ "quota", OPT_QUOTA, "US|max", 0,
	  "CPU bandwidth: microseconds per period, at least 1000, or max", 0 },
	{ "period", OPT_PERIOD, "US", 0,
	  "CPU bandwidth period in microseconds, 1000 to 1000000", 0 },
	{ "affinity", OPT_AFFINITY, "[V:]LIST", 0,
	  "pin the vCPU threads to host CPUs LIST (0-3,^2; r: all); V:LIST pins "
	  "vCPU V only; may be repeated (pinning outside one's own threads needs "
	  "CAP_SYS_NICE)", 0 },
	{ "node-affinity", OPT_NODE_AFFINITY, "NODE:LIST", 0,
	  "pin the vCPUs on guest NUMA node NODE to host CPUs LIST (and make LIST "
	  "their cpuset.cpus with --cgroup); may be repeated; V:LIST of "
	  "--affinity still wins for vCPU V", 0 },
	{ "sched", OPT_SCHED, "POLICY[:PRIO]", 0,
	  "scheduler policy: other, batch, idle, fifo:N or rr:N (N from 1 to 99; "
	  "fifo and rr need CAP_SYS_NICE)", 0 },
	{ 0 }
};

static const struct argp_option cgroup_options[] = {
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "the VM's cgroup, as given to set or add: the cgroups vcpuN of the "
	  "removed vCPUs are removed (needs root); auto: found as for set", 0 },
	{ 0 }
};

static error_t tune_parse(int key, char *arg, struct argp_state *state)
{
	struct tune_opts *o = ((struct cli_inputs *)state->input)->tune;
	struct vc_err err = { 0 };
	int rc;

	switch (key) {
	case OPT_CGROUP:
		if (o->cgroup)
			argp_error(state, "--cgroup was given twice");
		o->cgroup = arg;
		return 0;
	case OPT_CPUSET:
		rc = tune_parse_cpuset(o, arg, &err);
		break;
	case OPT_MEMS:
		rc = tune_parse_mems(o, arg, &err);
		break;
	case OPT_QUOTA:
		rc = tune_parse_quota(o, arg, &err);
		break;
	case OPT_PERIOD:
		rc = tune_parse_period(o, arg, &err);
		break;
	case OPT_AFFINITY:
		rc = tune_parse_affinity(o, arg, &err);
		break;
	case OPT_SCHED:
		rc = tune_parse_sched(o, arg, &err);
		break;
	case OPT_NODE_AFFINITY:
		rc = tune_parse_node_affinity(o, arg, &err);
		break;
	case ARGP_KEY_END:
		rc = tune_opts_check(o, &err);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	if (rc < 0)
		argp_error(state, "%s", err.msg);
	return 0;
}

const struct argp cmd_tune_argp = {
	tune_options, tune_parse, NULL, NULL, NULL, NULL, NULL
};

const struct argp cmd_tune_cgroup_argp = {
	cgroup_options, tune_parse, NULL, NULL, NULL, NULL, NULL
};

static const struct argp_child tune_children[] = {
	{ &cmd_tune_argp, 0, "Tuning:", 5 },
	{ &cli_common_argp, 0, "Common options:", 10 },
	{ 0 }
};

static error_t parse_main(int key, char *arg, struct argp_state *state)
{
	struct cmd_list_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		cli_bind_children(state, tune_children, &a->in);
		return 0;
	case ARGP_KEY_ARG:
		cmd_list_arg(state, a, arg);
		return 0;
	case ARGP_KEY_END:
		if (!a->list_text)
			argp_error(state, "name the vCPUs: a LIST such as 1, 1-3 or 0-7,^2");
		if (!tune_opts_any(&a->tune))
			argp_error(state, "give at least one of --cgroup, --affinity, --node-affinity and --sched");
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp tune_argp = {
	NULL, parse_main, "LIST",
	"Give running vCPUs the cgroup, affinity and scheduler that set and add "
	"give new ones, like 'virsh vcpupin' and 'virsh schedinfo'."
	"\vLIST is a cpulist of vCPU indexes as 'vcpuctl show' numbers them.  "
	"One vCPU that cannot be tuned does not stop the others; each failure "
	"is named, and the exit status is then 9.  Without per-vCPU threads "
	"(single-threaded TCG) nothing is tuned and a warning says why.  "
	"'vcpuctl --help' lists the exit codes.",
	tune_children, NULL, NULL
};

static int print_tune(const struct cli_common *c,
		      const struct resize_request *req,
		      const struct resize_result *res)
{
	(void)req;
	if (c->json)
		return out_tune_doc(stdout, res->tuned, res->n_tuned, res->code,
				    res->tune_skipped);
	if (!c->quiet || res->code)
		out_tune_text(stdout, res->tuned, res->n_tuned, res->n_tuned_ok);
	return 0;
}

void cmd_list_args_init(struct cmd_list_args *a)
{
	memset(a, 0, sizeof(*a));
	cli_common_init(&a->common);
	tune_opts_init(&a->tune);
	a->in.common = &a->common;
	a->in.tune = &a->tune;
}

void cmd_list_arg(struct argp_state *state, struct cmd_list_args *a,
		  char *arg)
{
	if (a->list_text)
		argp_error(state, "unexpected argument '%s'", arg);
	a->list_text = arg;
}

int cmd_list_run(const struct argp *argp, int argc, char **argv,
		 struct cmd_list_args *a, struct resize_request *req,
		 cli_flow_run run, cli_flow_print print)
{
	int code = VC_EXIT_USAGE;

	if (!argp_parse(argp, argc, argv, 0, NULL, a)) {
		req->sel.list_text = a->list_text;
		req->tune = &a->tune;
		req->timeout_ms = a->timeout_ms;
		code = cli_run_flow(&a->common, req, run, print);
	}
	tune_opts_free(&a->tune);
	return code;
}

int cmd_tune(int argc, char **argv)
{
	struct resize_request req = { .command = "tune" };
	struct cmd_list_args a;

	cmd_list_args_init(&a);
	return cmd_list_run(&tune_argp, argc, argv, &a, &req, resize_tune,
			    print_tune);
}
