/* cmd_count.c - "vcpuctl count": online, maximum and removable vCPUs. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/output.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"

static const char count_doc[] =
	"Print how many vCPUs are online, the most the VM can have, and how "
	"many online vCPUs can be unplugged, as \"online N\", \"max N\" and "
	"\"removable N\" lines, then \"pending N\": the online vCPUs whose "
	"removal an earlier run asked for (set --no-wait) and the guest has not "
	"finished, from the record of pending removals."
	"  On a VM with guest NUMA nodes, a line \"node N: online N of N vCPUs, "
	"N removable\" follows for each node."
	"\v--json prints {\"online\": N, \"max\": N, \"removable\": N, \"pending\": N, \"nodes\": "
	"[{\"node\": N, \"online\": N, \"max\": N, \"removable\": N}]}.";

static const struct argp_child count_children[] = {
	{ &cli_common_argp, 0, NULL, 0 },
	{ 0 }
};

static error_t count_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		cli_bind_children(state, count_children, state->input);
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp count_argp = {
	NULL, count_parse, NULL, count_doc, count_children, NULL, NULL
};

int cmd_count(int argc, char **argv)
{
	struct cli_common c;
	struct cli_inputs in = { .common = &c };
	int rc = 0;
	struct vc_err err = { 0 };
	struct topology t;
	struct pending pend = { 0 };
	struct qmp *q;

	cli_common_init(&c);
	argp_parse(&count_argp, argc, argv, 0, NULL, &in);
	q = cli_connect(&c, &err);
	if (!q)
		return cli_fail(&c, &err);
	if (topo_query(q, &t, &err)) {
		cli_stats(&c, q);
		qmp_close(q);
		return cli_fail(&c, &err);
	}
	if (t.thread_warning)
		cli_warn(&c, "%s", t.thread_warning);
	cli_pending_read(&c, q, &t, &pend);
	if (c.json)
		rc = out_count_doc(stdout, &t, &pend);
	else if (!c.quiet) {
		printf("online %d\nmax %d\nremovable %d\npending %zu\n",
		       t.online, t.max, t.removable, out_pending_vcpus(&pend));
		out_nodes_text(&t, stdout);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = -1;
	cli_stats(&c, q);
	qmp_close(q);
	topo_free(&t);
	pending_free(&pend);
	if (rc < 0) {
		vc_err_set(&err, VC_EXIT_INTERNAL, "writing the counts: %s", strerror(errno));
		return cli_fail(&c, &err);
	}
	return VC_EXIT_OK;
}
