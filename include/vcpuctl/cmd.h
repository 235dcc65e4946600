/* cmd.h - the subcommands.  Each takes argv with argv[0] the command name
 * and returns the process exit code (enum vc_exit). */
#ifndef VCPUCTL_CMD_H
#define VCPUCTL_CMD_H

int cmd_show(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_wait(int argc, char **argv);

#endif
