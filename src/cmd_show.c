/* cmd_show.c - "vcpuctl show": every possible vCPU, one row each. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/output.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"

static const char show_doc[] =
	"Print the VM's vCPU topology: one row per possible vCPU with its "
	"topology ids, NUMA node, state (online/offline), whether it can be "
	"unplugged (yes, no, or boot for a CPU QEMU started with), its device "
	"id and host thread, then a summary line.  vCPU indexes are the ones "
	"'add' and 'del' take."
	"\v--json prints one document: the topology model described in the "
	"README, plus \"qemu\": {\"version\", \"package\"}.";

static const struct argp_child show_children[] = {
	{ &cli_common_argp, 0, NULL, 0 },
	{ 0 }
};

static error_t show_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = state->input;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp show_argp = {
	NULL, show_parse, NULL, show_doc, show_children, NULL, NULL
};

/* The topology document with the QEMU it came from in front. */
static json_t *show_json(const struct topology *t, const struct qmp *q)
{
	json_t *doc, *model;

	model = topo_to_json(t);
	doc = json_pack("{s:{s:s,s:s}}", "qemu",
			"version", qmp_version(q) ? qmp_version(q) : "",
			"package", qmp_package(q) ? qmp_package(q) : "");
	if (!model || !doc || json_object_update(doc, model)) {
		json_decref(model);
		json_decref(doc);
		return NULL;
	}
	json_decref(model);
	return doc;
}

int cmd_show(int argc, char **argv)
{
	struct cli_common c;
	struct vc_err err = { 0 };
	struct topology t;
	struct qmp *q;
	json_t *doc;
	int rc = VC_EXIT_OK;

	cli_common_init(&c);
	argp_parse(&show_argp, argc, argv, 0, NULL, &c);
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
	if (c.json) {
		doc = show_json(&t, q);
		if (doc)
			cli_print_json(doc);
		else
			rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
	} else if (!c.quiet) {
		if (out_topology_table(&t, stdout))
			rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
		fflush(stdout);
	}
	cli_stats(&c, q);
	qmp_close(q);
	topo_free(&t);
	return rc ? cli_fail(&c, &err) : VC_EXIT_OK;
}
