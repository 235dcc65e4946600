/* cmd_tune.c - "vcpuctl tune LIST": cgroup, affinity and scheduler for
 * vCPUs that already run; and the tuning options that set and add share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"

/* Largest vCPU index LIST may name before the VM is known. */
#define LIST_LIMIT 65536

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
	  "cgroup vcpuN (needs root: write access to the cgroup)", 0 },
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
	  "removed vCPUs are removed (needs root)", 0 },
	{ 0 }
};

static error_t tune_parse(int key, char *arg, struct argp_state *state)
{
	struct tune_opts *o = state->input;
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

struct tune_args {
	struct cli_common common;
	struct tune_opts tune;
	const char *list_text;
};

static error_t parse_main(int key, char *arg, struct argp_state *state)
{
	struct tune_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->tune;
		state->child_inputs[1] = &a->common;
		return 0;
	case ARGP_KEY_ARG:
		if (a->list_text)
			argp_error(state, "unexpected argument '%s'", arg);
		a->list_text = arg;
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

static const struct argp_child tune_children[] = {
	{ &cmd_tune_argp, 0, "Tuning:", 5 },
	{ &cli_common_argp, 0, "Common options:", 10 },
	{ 0 }
};

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

struct outcome {
	int index;
	long tid;
	bool tuned;
	char *reason;   /* owned, NULL when tuned */
};

static void print_text(const struct outcome *out, size_t n, size_t tuned)
{
	size_t i;

	for (i = 0; i < n; i++) {
		printf("vCPU %-4d ", out[i].index);
		if (out[i].tid > 0)
			printf("thread %-8ld ", out[i].tid);
		if (out[i].tuned)
			printf("tuned\n");
		else
			printf("not tuned: %s\n", out[i].reason ? out[i].reason : "?");
	}
	printf("tune: %zu of %zu vCPUs tuned\n", tuned, n);
}

static json_t *outcome_json(const struct outcome *out, size_t n, int code,
			    const char *warning)
{
	json_t *rows = json_array();
	size_t i;

	for (i = 0; rows && i < n; i++)
		json_array_append_new(rows, json_pack("{s:i,s:o,s:b,s:s?}",
			"index", out[i].index,
			"thread_id", out[i].tid > 0 ? json_integer(out[i].tid) : json_null(),
			"tuned", out[i].tuned, "reason", out[i].reason));
	return json_pack("{s:s,s:i,s:s,s:s?,s:o}", "command", "tune",
			 "exit_code", code, "result", vc_exit_name(code),
			 "warning", warning, "vcpus", rows ? rows : json_array());
}

static int tune_run(struct tune_args *a)
{
	struct tune_cgroup cg = { 0 };
	struct cpulist list = { 0 };
	struct topology t = { 0 };
	struct vc_err err = { 0 };
	struct outcome *out = NULL;
	struct qmp *q = NULL;
	const char *skip = NULL;
	size_t n = 0, tuned = 0, i;
	pid_t pid;
	long k;
	int code = VC_EXIT_OK;

	if (cpulist_parse(a->list_text, LIST_LIMIT, &list, &err) < 0)
		return cli_fail(&a->common, &err);
	if (a->tune.cgroup &&
	    tune_cgroup_resolve(a->tune.cgroup, TUNE_CGROUP_ROOT, &cg, &err) < 0)
		goto fail;
	q = cli_connect(&a->common, &err);
	if (!q || topo_query(q, &t, &err) < 0 ||
	    tune_node_pins_check(&a->tune, &t, &err) < 0)
		goto fail;
	for (k = cpulist_next(&list, 0); k >= 0; k = cpulist_next(&list, (size_t)k + 1)) {
		if ((size_t)k >= t.n_vcpus) {
			vc_err_set(&err, VC_EXIT_USAGE,
				   "vCPU %ld does not exist: this VM has vCPUs 0-%zu",
				   k, t.n_vcpus ? t.n_vcpus - 1 : 0);
			goto fail;
		}
	}
	out = calloc(cpulist_count(&list) + 1, sizeof(*out));
	if (!out) {
		vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
		goto fail;
	}
	pid = qmp_peer_pid(q);
	if (!t.per_vcpu_threads)
		skip = t.thread_warning ? t.thread_warning : "QEMU reports no per-vCPU threads";
	else if (pid <= 0)
		skip = "QEMU's pid is unknown (not a local unix socket), so its threads cannot be told apart from others";
	if (skip)
		cli_warn(&a->common, "tuning skipped: %s", skip);
	for (k = cpulist_next(&list, 0); k >= 0; k = cpulist_next(&list, (size_t)k + 1)) {
		const struct topo_vcpu *v = &t.vcpus[k];
		struct outcome *o = &out[n++];

		o->index = (int)k;
		o->tid = v->thread_id;
		vc_err_clear(&err);
		if (skip)
			vc_err_set(&err, VC_EXIT_OK, "skipped: %s", skip);
		else if (!v->online)
			vc_err_set(&err, VC_EXIT_NOT_TUNED, "vCPU %ld is offline", k);
		else if (tune_thread_on_node(&a->tune, &cg, (int)k,
					     tune_vcpu_node(&t, (int)k), pid,
					     (pid_t)v->thread_id, &err) == 0)
			o->tuned = true;
		if (o->tuned) {
			tuned++;
			continue;
		}
		o->reason = strdup(err.msg);
		if (err.code)
			code = VC_EXIT_NOT_TUNED;
	}
	if (a->common.json)
		cli_print_json(outcome_json(out, n, code, skip));
	else if (!a->common.quiet || code)
		print_text(out, n, tuned);
	if (code)
		fprintf(stderr, "vcpuctl: tune: %zu of %zu vCPUs not tuned\n", n - tuned, n);
	goto out;
fail:
	code = cli_fail(&a->common, &err);
out:
	cli_stats(&a->common, q);
	for (i = 0; i < n; i++)
		free(out[i].reason);
	free(out);
	topo_free(&t);
	tune_cgroup_free(&cg);
	cpulist_free(&list);
	qmp_close(q);
	return code;
}

int cmd_tune(int argc, char **argv)
{
	struct tune_args a;
	int code;

	memset(&a, 0, sizeof(a));
	cli_common_init(&a.common);
	tune_opts_init(&a.tune);
	if (argp_parse(&tune_argp, argc, argv, 0, NULL, &a)) {
		tune_opts_free(&a.tune);
		return VC_EXIT_USAGE;
	}
	code = tune_run(&a);
	tune_opts_free(&a.tune);
	return code;
}
