/* cmd_resize.c - "set", "plan", "add" and "del": one request shape, one
 * flow.  Glue only: parse, connect, query, plan, apply, report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/apply.h"
#include "vcpuctl/audit.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/report.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"
#include "vcpuctl/util.h"

/* Largest vCPU index a list may name before we know the VM: QEMU's own
 * limit is far below it, and the planner names the VM's real range. */
#define LIST_LIMIT 65536
/* As in libvirt: how long an unplug is waited for by default. */
#define DEFAULT_TIMEOUT_MS 5000

enum resize_mode { MODE_SET, MODE_PLAN, MODE_ADD, MODE_DEL };

struct resize_args {
	struct cli_common common;
	enum resize_mode mode;
	const char *command;
	const char *count_text;   /* --count */
	const char *list_text;    /* LIST, or --add/--del for plan */
	enum plan_kind kind;
	struct plan_request place; /* --node, --spread, --granularity */
	long min, max;
	bool dry_run, no_wait;
	int64_t timeout_ms;
	struct tune_opts tune;    /* set, add: placement of new vCPU threads;
	                             del: --cgroup only */
	struct agent_opts agent;  /* set, add, del: --guest-agent and friends */
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
		state->child_inputs[0] = &a->common;
		if (a->mode != MODE_PLAN) {
			state->child_inputs[1] = &a->tune;
			state->child_inputs[2] = &a->agent;
		}
		return 0;
	case 'c':
		a->count_text = arg;
		a->kind = PLAN_SET_COUNT;
		return 0;
	case OPT_MIN:
	case OPT_MAX:
		if (!vc_parse_long(arg, 1, 1 << 20, key == OPT_MIN ? &a->min : &a->max))
			argp_error(state, "--%s: '%s' is not a positive whole number",
				   key == OPT_MIN ? "min" : "max", arg);
		return 0;
	case OPT_DRY_RUN:
		a->dry_run = true;
		return 0;
	case OPT_NO_WAIT:
		a->no_wait = true;
		return 0;
	case 't':
		if (!vc_parse_seconds(arg, &a->timeout_ms))
			argp_error(state, "--timeout: '%s' is not a number of seconds", arg);
		return 0;
	case OPT_NODE:
		if (!vc_parse_long(arg, 0, 1023, &a->place.node) || *arg == '+')
			argp_error(state, "--node: '%s' is not a guest node (0 to 1023)", arg);
		a->place.node_set = true;
		return 0;
	case OPT_SPREAD:
		if (strcmp(arg, "nodes"))
			argp_error(state, "--spread: '%s': the only choice is 'nodes'", arg);
		a->place.spread_nodes = true;
		return 0;
	case OPT_GRANULARITY: {
		struct vc_err err = { 0 };

		if (plan_parse_granularity(arg, &a->place.unit, &err) < 0)
			argp_error(state, "%s", err.msg);
		a->place.unit_set = true;
		return 0;
	}
	case OPT_ADD:
	case OPT_DEL:
		if (a->list_text)
			argp_error(state, "give only one of --add and --del");
		a->list_text = arg;
		a->kind = key == OPT_ADD ? PLAN_ADD_LIST : PLAN_DEL_LIST;
		return 0;
	case ARGP_KEY_ARG:
		if ((a->mode != MODE_ADD && a->mode != MODE_DEL) || a->list_text)
			argp_error(state, "unexpected argument '%s'", arg);
		a->list_text = arg;
		return 0;
	case ARGP_KEY_END:
		if ((a->mode == MODE_ADD || a->mode == MODE_DEL) && !a->list_text)
			argp_error(state, "name the vCPUs: a LIST such as 4, 4-7 or 4,6");
		if ((a->mode == MODE_SET || a->mode == MODE_PLAN) &&
		    !a->count_text && !a->list_text)
			argp_error(state, "give --count N, +K or -K");
		if (a->count_text && a->list_text)
			argp_error(state, "give either --count or a list of vCPUs, not both");
		if (a->list_text && (a->place.node_set || a->place.spread_nodes ||
				     a->place.unit_set))
			argp_error(state, "--node, --spread and --granularity apply to --count, not to a list of vCPUs");
		if (a->place.node_set && a->place.spread_nodes)
			argp_error(state, "give either --node or --spread nodes, not both");
		if (a->min > 0 && a->max > 0 && a->min > a->max)
			argp_error(state, "--min %ld is above --max %ld", a->min, a->max);
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
		      "waits later.  'vcpuctl --help' lists the exit codes.";
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
		args_doc = "LIST";
		doc = "Plug the named vCPUs." LIST_DOC;
		break;
	case MODE_DEL:
		tables[0] = change_options;
		args_doc = "LIST";
		doc = "Unplug the named vCPUs, and wait until the guest released them." LIST_DOC;
		break;
	}
	for (t = 0; t < 4 && tables[t]; t++)
		for (i = 0; tables[t][i].name; i++) {
			/* add never waits: a plug has nothing to wait for */
			if (a->mode == MODE_ADD && (tables[t][i].key == OPT_NO_WAIT ||
						    tables[t][i].key == 't'))
				continue;
			opts[n++] = tables[t][i];
		}
	memset(&opts[n], 0, sizeof(opts[n]));
	memset(&argp, 0, sizeof(argp));
	argp.options = opts;
	argp.parser = parse_resize;
	argp.args_doc = args_doc;
	argp.doc = doc;
	argp.children = a->mode == MODE_PLAN ? common_child :
			a->mode == MODE_DEL ? unplug_children : plug_children;
	return argp_parse(&argp, argc, argv, 0, NULL, a);
}

static void print_failure(const struct resize_args *a, const struct apply_result *r)
{
	char *progress = report_progress(r);

	fprintf(stderr, "vcpuctl: %s: %s%s%s\n", a->command,
		r->error ? r->error : vc_exit_name(r->code),
		progress ? "; " : "", progress ? progress : "");
	free(progress);
}

/* Tune the threads of the vCPUs just plugged (t is the refreshed
 * topology).  A vCPU that cannot be tuned stays plugged; its item says
 * why, and the run's code becomes VC_EXIT_NOT_TUNED if nothing worse
 * happened. */
static void tune_plugged(struct resize_args *a, const struct tune_cgroup *cg,
			 struct qmp *q, const struct topology *t,
			 struct apply_result *r)
{
	const char *skip = NULL;
	bool failed = false;
	pid_t pid = qmp_peer_pid(q);
	size_t i;
	int k;

	for (i = 0; i < r->n && r->items[i].state != APPLY_PLUGGED; i++)
		;
	if (!tune_opts_any(&a->tune) || i == r->n)
		return;
	if (!t->per_vcpu_threads)
		skip = t->thread_warning ? t->thread_warning : "QEMU reports no per-vCPU threads";
	else if (pid <= 0)
		skip = "QEMU's pid is unknown (not a local unix socket)";
	for (i = 0; i < r->n; i++) {
		struct apply_item *it = &r->items[i];
		char *why = NULL;

		if (it->state != APPLY_PLUGGED)
			continue;
		it->tune = skip ? APPLY_TUNE_SKIPPED : APPLY_TUNE_DONE;
		for (k = it->first; !skip && k < it->first + it->count; k++) {
			struct vc_err err = { 0 };
			long tid = (size_t)k < t->n_vcpus ? t->vcpus[k].thread_id : -1;

			if (!tune_thread_on_node(&a->tune, cg, k,
						 tune_vcpu_node(t, k), pid,
						 (pid_t)tid, &err))
				continue;
			/* The first failure names the item; the others still run. */
			if (it->tune != APPLY_TUNE_FAILED &&
			    asprintf(&why, "plugged, not tuned: %s", err.msg) >= 0) {
				free(it->reason);
				it->reason = why;
			}
			it->tune = APPLY_TUNE_FAILED;
			if (!r->error)
				r->error = strdup(it->reason ? it->reason : err.msg);
			failed = true;
		}
	}
	if (skip)
		cli_warn(&a->common, "tuning skipped: %s", skip);
	if (failed && r->code == VC_EXIT_OK)
		r->code = VC_EXIT_NOT_TUNED;
}

/* The cgroups vcpuN of removed vCPUs go once their threads are gone; one
 * left behind is worth a warning, not a failed unplug. */
static void remove_cgroups(struct resize_args *a, const struct tune_cgroup *cg,
			   const struct apply_result *r)
{
	struct vc_err err = { 0 };
	int failed = tune_cgroup_remove_removed(cg, r, &err);

	if (failed)
		cli_warn(&a->common, "%s%s", err.msg,
			 failed > 1 ? " (and more cgroups)" : "");
}

/* The result on stdout: one JSON document, or the text table; the guest
 * agent's outcome (when it was asked) goes with it. */
static void print_result(const struct resize_args *a, const struct topology *t,
			 const struct plan *p, const struct apply_result *r,
			 const struct agent_outcome *guest)
{
	json_t *doc;
	char *text;

	if (a->common.json) {
		doc = report_result_json(a->command, t, p, r);
		if (doc && guest)
			json_object_set_new(doc, "guest", agent_outcome_to_json(guest));
		cli_print_json(doc);
		return;
	}
	if (a->common.quiet && !r->code)
		return;
	report_result_text(stdout, a->command, t, p, r);
	text = guest ? agent_outcome_text(guest) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
}

static int resize_run(struct resize_args *a)
{
	struct tune_cgroup cg = { 0 };
	struct plan_request req = { .min = -1, .max = -1 };
	struct apply_opts opts = { 0 };
	struct apply_result r = { 0 };
	struct topology t = { 0 };
	struct cpulist list = { 0 };
	struct plan p = { 0 };
	struct vc_err err = { 0 };
	struct qmp *q = NULL;
	bool applied = false;
	struct agent_outcome guest_off = { 0 }, guest_on = { 0 };
	bool hw_failed;
	int code;

	/* Everything the user typed is checked before QEMU is touched. */
	req = a->place;
	req.kind = a->kind;
	req.min = a->min > 0 ? a->min : -1;
	req.max = a->max > 0 ? a->max : -1;
	if (a->count_text && plan_parse_count(a->count_text, &req, &err) < 0)
		return cli_fail(&a->common, &err);
	if (a->list_text) {
		if (cpulist_parse(a->list_text, LIST_LIMIT, &list, &err) < 0)
			return cli_fail(&a->common, &err);
		req.list = &list;
	}
	if (a->tune.cgroup && !a->dry_run && a->mode != MODE_PLAN &&
	    tune_cgroup_resolve(a->tune.cgroup, TUNE_CGROUP_ROOT, &cg, &err) < 0)
		goto fail;

	q = cli_connect(&a->common, &err);
	if (!q)
		goto fail;
	if (topo_query_hotpluggable(q, &t, &err) < 0)
		goto fail;
	if (tune_node_pins_check(&a->tune, &t, &err) < 0)
		goto fail;
	if (plan_make(&t, &req, &p, &err) < 0)
		goto fail;

	if (a->mode == MODE_PLAN || a->dry_run) {
		if (a->common.json) {
			json_t *doc = plan_to_json(&t, &p);

			json_object_set_new(doc, "max", json_integer(t.max));
			cli_print_json(doc);
		} else if (!a->common.quiet) {
			report_plan_text(stdout, &t, &p);
		}
		code = VC_EXIT_OK;
		goto out;
	}

	opts.wait = !a->no_wait;
	opts.timeout_ms = a->timeout_ms;
	/* A failed offline is no reason to keep the vCPUs: the guest kernel
	 * offlines a CPU itself before it ejects it. */
	if (agent_offline_before_unplug(&a->agent, &t, &p, &guest_off))
		cli_warn(&a->common, "guest: %s; unplugging anyway", guest_off.error);
	apply_plan(q, &t, &p, &opts, &r);
	applied = true;
	tune_plugged(a, &cg, q, &t, &r);
	remove_cgroups(a, &cg, &r);
	/* The plug result stands whatever the guest does next. */
	agent_online_after_plug(&a->agent, &t, &r, a->timeout_ms, &guest_on);
	hw_failed = r.code != VC_EXIT_OK;
	if (!hw_failed)
		r.code = guest_on.code;	/* the document's exit_code is the process's */
	code = r.code;
	print_result(a, &t, &p, &r,
		     guest_on.n ? &guest_on : guest_off.n ? &guest_off : NULL);
	if (hw_failed)
		print_failure(a, &r);
	else if (guest_on.code)
		fprintf(stderr, "vcpuctl: %s: plugged, but not online in the guest: %s\n",
			a->command, guest_on.error ? guest_on.error : "agent error");
	goto out;

fail:
	code = cli_fail(&a->common, &err);
out:
	/* The audit record's queries come after the change, so they never
	 * delay it; --stats counts them apart. */
	if (q)
		a->common.change_round_trips = qmp_round_trips(q);
	if (applied && a->common.syslog &&
	    audit_resize(q, a->command, &p, &r, &err) < 0)
		cli_warn(&a->common, "audit record not written: %s", err.msg);
	cli_stats(&a->common, q);
	cli_unlock(&a->common);
	agent_outcome_free(&guest_on);
	agent_outcome_free(&guest_off);
	apply_result_free(&r);
	plan_free(&p);
	topo_free(&t);
	cpulist_free(&list);
	tune_cgroup_free(&cg);
	qmp_close(q);
	return code;
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
	a.kind = kind;
	a.timeout_ms = DEFAULT_TIMEOUT_MS;
	tune_opts_init(&a.tune);
	agent_opts_init(&a.agent);
	if (parse_args(&a, argc, argv)) {
		tune_opts_free(&a.tune);
		return VC_EXIT_USAGE;
	}
	code = resize_run(&a);
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
