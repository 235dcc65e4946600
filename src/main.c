/* main.c - "vcpuctl COMMAND [OPTIONS]": global options and dispatch only. */
#include <argp.h>
#include <stdio.h>
#include <string.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/err.h"

#ifndef VCPUCTL_VERSION
#define VCPUCTL_VERSION "0.0.0"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "ls",    cmd_ls,    "list the QEMU processes on this host and their QMP sockets" },
	{ "show",  cmd_show,  "print the vCPU topology" },
	{ "count", cmd_count, "print online, maximum and removable counts" },
	{ "plan",  cmd_plan,  "show the steps 'set', 'add' or 'del' would take" },
	{ "set",   cmd_set,   "plug or unplug vCPUs to reach a count" },
	{ "add",   cmd_add,   "plug the named vCPUs" },
	{ "del",   cmd_del,   "unplug the named vCPUs" },
	{ "wait",  cmd_wait,  "wait until pending removals finish" },
	{ "guest", cmd_guest, "show or change which CPUs are online in the guest (agent)" },
	{ "tune",  cmd_tune,  "set cgroup, affinity and scheduler of running vCPUs" },
	{ "events", cmd_events, "stream QMP events and vcpu-added/vcpu-removed" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: vcpuctl COMMAND [OPTION...]\n"
		"Change the vCPUs of a running QEMU virtual machine through QMP.\n\n"
		"Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'vcpuctl COMMAND --help' lists the options of a command.\n"
		"The QMP socket comes from -s/--socket or $VCPUCTL_SOCKET.\n\n"
		"%s\nReport bugs to the vcpuctl project.\n", cli_exit_codes_text);
}

int main(int argc, char **argv)
{
	size_t i;

	argp_err_exit_status = VC_EXIT_USAGE;
	if (argc < 2) {
		usage(stderr);
		return VC_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return VC_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("vcpuctl %s\n", VCPUCTL_VERSION);
		return VC_EXIT_OK;
	}
	for (i = 0; i < N_COMMANDS; i++) {
		static char name[64];

		if (strcmp(argv[1], commands[i].name))
			continue;
		/* argp names the program after argv[0]: "vcpuctl set: ..." */
		snprintf(name, sizeof(name), "vcpuctl %s", commands[i].name);
		argv[1] = name;
		return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "vcpuctl: unknown command '%s'; 'vcpuctl --help' lists them\n",
		argv[1]);
	return VC_EXIT_USAGE;
}
