/* cmd.h - the subcommands.  Each takes argv with argv[0] the command name
 * and returns the process exit code (enum vc_exit). */
#ifndef VCPUCTL_CMD_H
#define VCPUCTL_CMD_H

#include <argp.h>
#include <stdint.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/tune.h"

int cmd_ls(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_events(int argc, char **argv);

/* The tuning options (--cgroup, --cpuset, --mems, --quota, --period,
 * --affinity, --sched) as an argp child for set, add and tune; input:
 * struct tune_opts * (tune.h).  cmd_tune_cgroup_argp has --cgroup alone,
 * for del.  Both live in cmd_tune.c. */
extern const struct argp cmd_tune_argp;
extern const struct argp cmd_tune_cgroup_argp;

/* What tune and wait take: the common options, tuning options and one
 * LIST.  cmd_list_args_init() sets the defaults and binds in; in the
 * command's parser, cmd_list_arg() takes the LIST (ARGP_KEY_ARG), once.
 * cmd_list_run() parses argv with argp into a, copies the LIST, the
 * tuning and timeout_ms into req and runs the flow (cli_run_flow());
 * VC_EXIT_USAGE for bad arguments.  The tuning options are freed either
 * way.  In cmd_tune.c. */
struct cmd_list_args {
	struct cli_common common;
	struct tune_opts tune;
	struct cli_inputs in;
	const char *list_text;
	int64_t timeout_ms;
};
void cmd_list_args_init(struct cmd_list_args *a);
void cmd_list_arg(struct argp_state *state, struct cmd_list_args *a,
		  char *arg);
int cmd_list_run(const struct argp *argp, int argc, char **argv,
		 struct cmd_list_args *a, struct resize_request *req,
		 cli_flow_run run, cli_flow_print print);

#endif
