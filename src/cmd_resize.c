/* cmd_resize.c - "set", "plan", "add" and "del": one request shape, one
 * flow (resize.h).  Glue only: parse, connect, call, print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/output.h"
#include "vcpuctl/resize.h"
#include "vcpuctl/util.h"
/* As in libvirt: how long an unplug is waited for by default. */
#define DEFAULT_TIMEOUT_MS 5000

enum resize_mode { MODE_SET, MODE_PLAN, MODE_ADD, MODE_DEL };

struct resize_args {
	struct cli_common common;
	struct cli_inputs in;     /* what the option groups fill in */
	enum resize_mode mode;
	const char *command;
	struct sel sel;           /* --count/--min/--max, LIST, or --add/--del */
	bool dry_run, no_wait, resend;
	int64_t timeout_ms;
	struct tune_opts tune;    /* set, add: placement of new vCPU threads;
	                             del: --cgroup only */
	struct agent_opts agent;  /* set, add, del: --guest-agent and friends */
	const struct argp_child *children;
};

enum {
	OPT_MIN = 0x200,
	OPT_MAX,
	OPT_NO_WAIT,
	OPT_ADD,
	OPT_DEL,
	OPT_DRY_RUN,
	OPT_NODE,
	OPT_SPREAD,
	OPT_GRANULARITY,
	OPT_RESEND,
};

static const struct argp_option count_options[] = {
	{ "count", 'c', "N|+K|-K", 0,
	  "target number of online vCPUs, or a change by K", 0 },
	{ "min", OPT_MIN, "N", 0, "clamp the target to at least N instead of failing", 0 },
	{ "max", OPT_MAX, "N", 0, "clamp the target to at most N instead of failing", 0 },
	{ 0 }
};

static const struct argp_option placement_options[] = {
	{ "node", OPT_NODE, "N", 0,
	  "plug or unplug only vCPUs whose slot is on guest NUMA node N (the "
	  "count is still the VM's total)", 0 },
	{ "spread", OPT_SPREAD, "nodes", 0,
	  "plug on the guest node with the fewest online vCPUs, unplug from the "
	  "one with the most", 0 },
	{ "granularity", OPT_GRANULARITY, "UNIT", 0,
	  "move whole units: socket, die, module, cluster, core or thread "
	  "(default: what QEMU plugs at once)", 0 },
	{ 0 }
};

static const struct argp_option change_options[] = {
	{ "dry-run", OPT_DRY_RUN, NULL, 0,
	  "print the plan (with --json, the exact QMP commands) and change nothing", 0 },
	{ "no-wait", OPT_NO_WAIT, NULL, 0,
	  "return once QEMU accepted the removals; list those still pending", 0 },
	{ "timeout", 't', "SEC", 0,
	  "wait at most SEC seconds for removals (default 5; 0: no limit)", 0 },
	{ "resend", OPT_RESEND, NULL, 0,
	  "send device_del again for removals an earlier run asked for and the "
	  "guest has not finished (some guests need a second request)", 0 },
	{ 0 }
};

static const struct argp_option plan_list_options[] = {
	{ "add", OPT_ADD, "LIST", 0, "plan plugging the vCPUs in LIST", 0 },
	{ "del", OPT_DEL, "LIST", 0, "plan unplugging the vCPUs in LIST", 0 },
	{ 0 }
};

static error_t parse_resize(int key, char *arg, struct argp_state *state)
{
	struct resize_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		cli_bind_children(state, a->children, &a->in);
		return 0;
	case 'c':
		a->sel.count_text = arg;
		a->sel.kind = PLAN_SET_COUNT;
		return 0;
	case OPT_MIN:
	case OPT_MAX:
		if (!vc_parse_long(arg, 1, 1 << 20, key == OPT_MIN ? &a->sel.min : &a->sel.max))
			argp_error(state, "--%s: '%s' is not a positive whole number",
				   key == OPT_MIN ? "min" : "max", arg);
		return 0;
	case OPT_DRY_RUN:
		a->dry_run = true;
		return 0;
	case OPT_NO_WAIT:
		a->no_wait = true;
		return 0;
	case OPT_RESEND:
		a->resend = true;
		return 0;
	case 't':
		if (!vc_parse_seconds(arg, &a->timeout_ms))
			argp_error(state, "--timeout: '%s' is not a number of seconds", arg);
		return 0;
	case OPT_NODE:
		if (!vc_parse_long(arg, 0, 1023, &a->sel.node) || *arg == '+')
			argp_error(state, "--node: '%s' is not a guest node (0 to 1023)", arg);
		a->sel.node_set = true;
		return 0;
	case OPT_SPREAD:
		if (strcmp(arg, "nodes"))
			argp_error(state, "--spread: '%s': the only choice is 'nodes'", arg);
		a->sel.spread_nodes = true;
		return 0;
	case OPT_GRANULARITY: {
		struct vc_err err = { 0 };

		if (plan_parse_granularity(arg, &a->sel.unit, &err) < 0)
			argp_error(state, "%s", err.msg);
		a->sel.unit_set = true;
		return 0;
	}
	case OPT_ADD:
	case OPT_DEL:
		if (a->sel.list_text)
			argp_error(state, "give only one of --add and --del");
		a->sel.list_text = arg;
		a->sel.kind = key == OPT_ADD ? PLAN_ADD_LIST : PLAN_DEL_LIST;
		return 0;
	case ARGP_KEY_ARG:
		if ((a->mode != MODE_ADD && a->mode != MODE_DEL) || a->sel.list_text)
			argp_error(state, "unexpected argument '%s'", arg);
		a->sel.list_text = arg;
		return 0;
	case ARGP_KEY_END:
		if ((a->mode == MODE_ADD || a->mode == MODE_DEL) && !a->sel.list_text)
			argp_error(state, "name the vCPUs: a LIST such as 4, 4-7 or 4,6");
		if ((a->mode == MODE_SET || a->mode == MODE_PLAN) &&
		    !a->sel.count_text && !a->sel.list_text)
			argp_error(state, "give --count N, +K or -K");
		if (a->sel.count_text && a->sel.list_text)
			argp_error(state, "give either --count or a list of vCPUs, not both");
		if (a->sel.list_text && (a->sel.node_set || a->sel.spread_nodes ||
					 a->sel.unit_set))
			argp_error(state, "--node, --spread and --granularity apply to --count, not to a list of vCPUs");
		if (a->sel.node_set && a->sel.spread_nodes)
			argp_error(state, "give either --node or --spread nodes, not both");
		if (a->sel.min > 0 && a->sel.max > 0 && a->sel.min > a->sel.max)
			argp_error(state, "--min %ld is above --max %ld", a->sel.min, a->sel.max);
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp_child common_child[] = {
	{ &cli_common_argp, 0, "Common options:", 10 },
	{ 0 }
};

static const struct argp_child plug_children[] = {
	{ &cli_change_argp, 0, "Common options:", 10 },
	{ &cmd_tune_argp, 0, "Tuning of the new vCPU threads (as libvirt does):", 5 },
	{ &agent_resize_argp, 0, "Guest (through the QEMU guest agent):", 6 },
	{ 0 }
};

static const struct argp_child unplug_children[] = {
	{ &cli_change_argp, 0, "Common options:", 10 },
	{ &cmd_tune_cgroup_argp, 0, "Cgroups:", 5 },
	{ &agent_resize_argp, 0, "Guest (through the QEMU guest agent):", 6 },
	{ 0 }
};

#define LIST_DOC \
	"\vLIST is a cpulist of vCPU indexes as 'vcpuctl show' numbers them: " \
	"5, 4-7, 4,6 or 0-7,^2.  An entity that holds several vCPUs " \
	"(a pseries core) must be named whole.  'vcpuctl --help' lists the exit codes."

/* One argp per command; the option tables above are shared. */
static int parse_args(struct resize_args *a, int argc, char **argv)
{
	struct argp_option opts[32];
	const struct argp_option *tables[4] = { NULL, NULL, NULL, NULL };
	const char *args_doc = NULL, *doc = NULL;
	size_t n = 0, t, i;
	struct argp argp;

	switch (a->mode) {
	case MODE_SET:
		tables[0] = count_options;
		tables[1] = placement_options;
		tables[2] = change_options;
		doc = "Plug or unplug vCPUs until N are online.  +K and -K change the "
		      "count by K.  Plugs take the lowest free slots in topology order; "
		      "unplugs take the highest removable vCPUs first; boot CPUs stay.  "
		      "--node, --spread and --granularity choose where instead."
		      "\vAn unplug waits until the guest has released each vCPU (up to "
		      "--timeout); with --no-wait it returns at once and 'vcpuctl wait' "
		      "waits later.  The count plans against where the VM is going: "
		      "vCPUs whose removal an earlier run asked for count as gone "
		      "(-K counts from online minus pending), and a repeated request "
		      "sends nothing new unless --resend.  'vcpuctl --help' lists "
		      "the exit codes.";
		break;
	case MODE_PLAN:
		tables[0] = count_options;
		tables[1] = placement_options;
		tables[2] = plan_list_options;
		doc = "Print the steps 'set --count', 'add' or 'del' would take, and "
		      "change nothing.  With --json, the exact QMP commands.";
		break;
	case MODE_ADD:
		tables[0] = change_options;
		tables[1] = placement_options;  /* hidden: see below */
		args_doc = "LIST";
		doc = "Plug the named vCPUs." LIST_DOC;
		break;
	case MODE_DEL:
		tables[0] = change_options;
		tables[1] = placement_options;
		args_doc = "LIST";
		doc = "Unplug the named vCPUs, and wait until the guest released them." LIST_DOC;
		break;
	}
	for (t = 0; t < 4 && tables[t]; t++)
		for (i = 0; tables[t][i].name; i++) {
			/* add never waits: a plug has nothing to wait for */
			if (a->mode == MODE_ADD && (tables[t][i].key == OPT_NO_WAIT ||
						    tables[t][i].key == 't' ||
						    tables[t][i].key == OPT_RESEND))
				continue;
			opts[n] = tables[t][i];
			/* add and del name their vCPUs.  Their placement options
			 * are there only to be refused by name: argp would take
			 * "--node" for --node-affinity. */
			if ((a->mode == MODE_ADD || a->mode == MODE_DEL) &&
			    tables[t] == placement_options)
				opts[n].flags |= OPTION_HIDDEN;
			n++;
		}
	memset(&opts[n], 0, sizeof(opts[n]));
	memset(&argp, 0, sizeof(argp));
	argp.options = opts;
	argp.parser = parse_resize;
	argp.args_doc = args_doc;
	argp.doc = doc;
	argp.children = a->children;
	return argp_parse(&argp, argc, argv, 0, NULL, a);
}

/* The result on stdout: the plan (plan, --dry-run), or one JSON document
 * or the text lines with the guest agent's outcome (when it was asked). */
static int print_result(const struct cli_common *c,
			const struct resize_request *req,
			const struct resize_result *res)
{
	if (req->plan_only) {
		if (c->json)
			return out_plan_doc(stdout, &res->topo, &res->plan);
		if (!c->quiet)
			out_plan_text(stdout, &res->topo, &res->plan);
		return 0;
	}
	if (c->json)
		return out_result_doc(stdout, req->command, &res->topo, &res->plan,
				      &res->apply, res->guest, &res->sweep);
	if (c->quiet && !res->code)
		return 0;
	out_result_text(stdout, req->command, &res->topo, &res->plan, &res->apply,
			&res->sweep);
	if (res->guest)
		out_guest_outcome_text(stdout, res->guest);
	return 0;
}

static int resize_cmd_run(struct resize_args *a)
{
	struct resize_request req = {
		.command = a->command,
		.sel = a->sel,
		.plan_only = a->mode == MODE_PLAN || a->dry_run,
		.wait = !a->no_wait,
		.timeout_ms = a->timeout_ms,
		.tune = a->mode == MODE_PLAN ? NULL : &a->tune,
		.agent = a->mode == MODE_PLAN ? NULL : &a->agent,
		.audit = a->common.audit,
		.resend = a->resend,
	};

	return cli_run_flow(&a->common, &req, resize_run, print_result);
}

static int resize_main(enum resize_mode mode, const char *command,
		       enum plan_kind kind, int argc, char **argv)
{
	struct resize_args a;
	int code;

	memset(&a, 0, sizeof(a));
	cli_common_init(&a.common);
	a.mode = mode;
	a.command = command;
	a.sel.kind = kind;
	a.timeout_ms = DEFAULT_TIMEOUT_MS;
	tune_opts_init(&a.tune);
	agent_opts_init(&a.agent);
	a.in.common = &a.common;
	a.in.tune = &a.tune;
	a.in.agent = &a.agent;
	a.children = mode == MODE_PLAN ? common_child :
		     mode == MODE_DEL ? unplug_children : plug_children;
	if (parse_args(&a, argc, argv)) {
		tune_opts_free(&a.tune);
		return VC_EXIT_USAGE;
	}
	a.agent.trace = a.common.trace;
	code = resize_cmd_run(&a);
	tune_opts_free(&a.tune);
	return code;
}

int cmd_set(int argc, char **argv)
{
	return resize_main(MODE_SET, "set", PLAN_SET_COUNT, argc, argv);
}

int cmd_plan(int argc, char **argv)
{
	return resize_main(MODE_PLAN, "plan", PLAN_SET_COUNT, argc, argv);
}

int cmd_add(int argc, char **argv)
{
	return resize_main(MODE_ADD, "add", PLAN_ADD_LIST, argc, argv);
}

int cmd_del(int argc, char **argv)
{
	return resize_main(MODE_DEL, "del", PLAN_DEL_LIST, argc, argv);
}
