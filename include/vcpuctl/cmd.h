/* cmd.h - the subcommands.  Each takes argv with argv[0] the command name
 * and returns the process exit code (enum vc_exit). */
#ifndef VCPUCTL_CMD_H
#define VCPUCTL_CMD_H

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

struct argp;
/* The tuning options (--cgroup, --cpuset, --mems, --quota, --period,
 * --affinity, --sched) as an argp child for set, add and tune; input:
 * struct tune_opts * (tune.h).  cmd_tune_cgroup_argp has --cgroup alone,
 * for del.  Both live in cmd_tune.c. */
extern const struct argp cmd_tune_argp;
extern const struct argp cmd_tune_cgroup_argp;
int cmd_events(int argc, char **argv);

#endif
