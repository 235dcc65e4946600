/* main.c - "vcpuctl [COMMON-OPTION...] COMMAND [OPTION...]": global options
 * and dispatch only. */
#include <argp.h>
#include <stdbool.h>
#include <stdlib.h>
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

	fprintf(f, "Usage: vcpuctl [COMMON-OPTION...] COMMAND [OPTION...]\n"
		"Change the vCPUs of a running QEMU virtual machine through QMP.\n\n"
		"Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'vcpuctl COMMAND --help' lists the options of a command.\n"
		"Options common to every command (-s/--socket, --json, -q/--quiet,\n"
		"--stats, --qmp-timeout, --trace, --lock-timeout, --no-syslog) go\n"
		"before or after COMMAND: 'vcpuctl -s SOCK set --count 8' is\n"
		"'vcpuctl set -s SOCK --count 8'.\n"
		"The QMP socket comes from -s/--socket or $VCPUCTL_SOCKET.\n\n"
		"%s\nReport bugs to the vcpuctl project.\n", cli_exit_codes());
}

/* Length of the run of common options at argv[1..]: each with its argument
 * ("-s PATH", "-sPATH", "-qs PATH", "--socket PATH", "--socket=PATH").
 * Stops at the first word that is not one; 0 when there is none.  Sets
 * *bad to the word of an option it does not know, or one whose argument
 * is missing (*missing). */
static int leading_options(int argc, char **argv, const char **bad, bool *missing)
{
	int i = 1;

	*bad = NULL;
	*missing = false;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		const char *a = argv[i];
		int need = 0;

		if (!strcmp(a, "--"))
			break;
		if (a[1] == '-') {
			need = cli_global_option_arity(a + 2, true);
			if (need > 0 && strchr(a, '='))
				need = 0;
		} else {
			const char *p;

			for (p = a + 1; *p; p++) {
				need = cli_global_option_arity(p, false);
				if (need != 0)
					break;
			}
			if (need > 0 && p[1])   /* -sPATH */
				need = 0;
		}
		if (need < 0) {
			*bad = a;
			return i - 1;
		}
		if (need > 0 && i + 1 >= argc) {
			*bad = a;
			*missing = true;
			return i - 1;
		}
		i += 1 + need;
	}
	return i - 1;
}

int main(int argc, char **argv)
{
	const char *bad;
	bool missing;
	int lead;
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
	/* Common options before the command move to just after it, where the
	 * command's own parser reads them: the same meaning, the same errors. */
	lead = leading_options(argc, argv, &bad, &missing);
	if (lead > 0 || bad) {
		char *cmd;

		if (bad && missing) {
			fprintf(stderr, "vcpuctl: option '%s' needs an argument\n", bad);
			return VC_EXIT_USAGE;
		}
		if (bad && (!strcmp(bad, "--help") || !strcmp(bad, "-h"))) {
			usage(stdout);
			return VC_EXIT_OK;
		}
		if (bad) {
			fprintf(stderr, "vcpuctl: unknown option '%s' before the command; "
				"'vcpuctl --help' lists the commands and the common options\n", bad);
			return VC_EXIT_USAGE;
		}
		if (lead + 1 >= argc) {
			fprintf(stderr, "vcpuctl: no command after the options; "
				"'vcpuctl --help' lists them\n");
			return VC_EXIT_USAGE;
		}
		cmd = argv[lead + 1];
		memmove(argv + 2, argv + 1, (size_t)lead * sizeof(*argv));
		argv[1] = cmd;
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
