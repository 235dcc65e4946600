/* cmd_wait.c - "vcpuctl wait [LIST]": wait until removals finish.
 *
 * What is pending: the named vCPUs that are still plugged, or, with no
 * LIST, the union of the record of requested removals (pending.h; what
 * earlier runs asked for, as QEMU still confirms it) and the vCPUs whose
 * last ACPI OST event says the guest is ejecting them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/output.h"
#include "vcpuctl/resize.h"
#include "vcpuctl/util.h"

#define DEFAULT_TIMEOUT_MS 5000

static const struct argp_option wait_options[] = {
	{ "timeout", 't', "SEC", 0,
	  "wait at most SEC seconds (default 5; 0: no limit)", 0 },
	{ 0 }
};

static const struct argp_child wait_children[] = {
	{ &cli_common_argp, 0, "Common options:", 10 },
	{ &cmd_tune_cgroup_argp, 0, "Cgroups (after 'set --no-wait --cgroup'):", 5 },
	{ 0 }
};

static error_t parse_wait(int key, char *arg, struct argp_state *state)
{
	struct cmd_list_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		cli_bind_children(state, wait_children, &a->in);
		return 0;
	case 't':
		if (!vc_parse_seconds(arg, &a->timeout_ms))
			argp_error(state, "--timeout: '%s' is not a number of seconds", arg);
		return 0;
	case ARGP_KEY_ARG:
		cmd_list_arg(state, a, arg);
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp wait_argp = {
	wait_options, parse_wait, "[LIST]",
	"Wait until pending vCPU removals finish.  With LIST (as 'set --no-wait' "
	"prints it), wait until those vCPUs are unplugged.  Without it, wait for "
	"the removals earlier runs asked for (the record of pending removals "
	"beside the VM's lock, as QEMU still confirms it) and those the guest is "
	"working on (QEMU's ACPI status); each vCPU says which (record, acpi)."
	"\vExit 0 when nothing is pending any more, 6 when the guest rejected a "
	"named vCPU's removal, 7 on timeout.  'vcpuctl --help' lists all exit codes.",
	wait_children, NULL, NULL
};

static int print_wait(const struct cli_common *c,
		      const struct resize_request *req,
		      const struct resize_result *res)
{
	if (c->json)
		return out_result_doc(stdout, req->command, &res->topo, NULL,
				      &res->apply, NULL, &res->sweep);
	if (!c->quiet || res->code)
		out_result_text(stdout, req->command, &res->topo, NULL,
				&res->apply, &res->sweep);
	return 0;
}

int cmd_wait(int argc, char **argv)
{
	struct resize_request req = {
		.command = "wait",
		.sel.kind = PLAN_DEL_LIST,
	};
	struct cmd_list_args a;

	cmd_list_args_init(&a);
	a.timeout_ms = DEFAULT_TIMEOUT_MS;
	return cmd_list_run(&wait_argp, argc, argv, &a, &req, resize_wait,
			    print_wait);
}
