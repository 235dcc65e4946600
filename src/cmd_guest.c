/* cmd_guest.c - "vcpuctl guest": the guest's own view of its CPUs through
 * the guest agent, and onlining or offlining them (guest-set-vcpus).
 *
 * Glue only: parse, connect to the agent (and to QMP when a socket is
 * named, to show which vCPU each guest CPU is), check, change, report.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/guestmap.h"
#include "vcpuctl/output.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/selector.h"
#include "vcpuctl/topology.h"


struct guest_args {
	struct cli_common common;
	struct agent_opts agent;
	const char *online_text;   /* --online LIST */
	const char *offline_text;  /* --offline LIST */
	struct cli_inputs in;
};

enum {
	OPT_ONLINE = 0x400,
	OPT_OFFLINE,
};

static const char guest_doc[] =
	"Show the guest's own view of its CPUs, from the QEMU guest agent: "
	"each CPU's number in the guest, whether it is online, and whether the "
	"guest can take it offline.  --online and --offline change it "
	"(guest-set-vcpus).  A vCPU that 'set' or 'add' plugged is not used by "
	"the guest until it is online there."
	"\vLIST is a cpulist of guest CPU numbers (cpuN in the guest's "
	"/sys/devices/system/cpu), which are not vCPU indexes in general: the "
	"guest numbers CPUs in the order it saw them.  With a QMP socket "
	"(-s or $VCPUCTL_SOCKET) the VCPU column says which vCPU each one is.  "
	"The agent's socket comes from --guest-agent or $VCPUCTL_AGENT_SOCKET.  "
	"Exit status: 2 for bad input found before the agent is asked; 5 "
	"when the guest's own state makes the change impossible (a CPU it "
	"does not list, the boot CPU, can-offline false), nothing sent; 12 "
	"when the agent is missing, silent, answers nonsense or fails a "
	"change.";

static const struct argp_option guest_options[] = {
	{ "online", OPT_ONLINE, "LIST", 0, "bring these guest CPUs online", 0 },
	{ "offline", OPT_OFFLINE, "LIST", 0, "take these guest CPUs offline", 0 },
	{ 0 }
};

static const struct argp_child guest_children[] = {
	{ &agent_argp, 0, "Guest agent:", 5 },
	{ &cli_common_argp, 0, "Common options:", 10 },
	{ 0 }
};

static error_t guest_parse(int key, char *arg, struct argp_state *state)
{
	struct guest_args *g = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		cli_bind_children(state, guest_children, &g->in);
		return 0;
	case OPT_ONLINE:
		g->online_text = arg;
		return 0;
	case OPT_OFFLINE:
		g->offline_text = arg;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return EINVAL;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp guest_argp = {
	guest_options, guest_parse, NULL, guest_doc, guest_children, NULL, NULL
};

/* The changes asked for, in CPU order; an id in both lists is an error. */
static int guest_changes(const struct guest_args *g, struct agent_change **out,
			 size_t *n, struct vc_err *err)
{
	struct cpulist on = { 0 }, off = { 0 };
	size_t i, cap;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (g->online_text &&
	    sel_parse_list(g->online_text, &on, err) < 0)
		goto done;
	if (g->offline_text &&
	    sel_parse_list(g->offline_text, &off, err) < 0)
		goto done;
	cap = cpulist_count(&on) + cpulist_count(&off);
	*out = calloc(cap + 1, sizeof(**out));
	if (!*out) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		goto done;
	}
	for (i = 0; i < SEL_LIST_LIMIT; i++) {
		bool a = on.bits && cpulist_has(&on, i);
		bool b = off.bits && cpulist_has(&off, i);

		if (a && b) {
			vc_err_set(err, VC_EXIT_USAGE,
				   "guest CPU %zu is in both --online and --offline", i);
			goto done;
		}
		if (a || b) {
			(*out)[*n].logical_id = (int)i;
			(*out)[*n].online = a;
			(*n)++;
		}
	}
	rc = 0;
done:
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	cpulist_free(&on);
	cpulist_free(&off);
	return rc;
}

/* A topology for the VCPU column, when a QMP socket is named.  Not having
 * one is no error: the guest's view stands alone. */
static bool guest_topology(struct guest_args *g, struct topology *t)
{
	struct vc_err err = { 0 };
	struct qmp *q;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!g->common.socket)
		return false;
	q = cli_connect(&g->common, &err);
	if (!q) {
		cli_warn(&g->common, "no vCPU indexes: %s", err.msg);
		return false;
	}
	rc = topo_query(q, t, &err);
	qmp_close(q);
	if (rc < 0) {
		cli_warn(&g->common, "no vCPU indexes: %s", err.msg);
		return false;
	}
	return true;
}

/* Apply the changes that are not already in effect; unchanged[i] marks
 * those.  Returns 0 or -1 with err (agent trouble or a partial change). */
static int guest_apply(struct agent *a, const struct gmap_view *v,
		       struct agent_change *ch, size_t n, bool *unchanged,
		       struct vc_err *err)
{
	struct agent_change *send;
	size_t *which, k = 0, i, failed = n, not_tried = 0;
	const struct agent_gcpu *c;
	int done, rc = 0;

	send = calloc(n + 1, sizeof(*send));
	which = calloc(n + 1, sizeof(*which));
	if (!send || !which) {
		free(send);
		free(which);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	for (i = 0; i < n; i++) {
		c = agent_gcpus_find(&v->guest, ch[i].logical_id);
		unchanged[i] = c && c->online == ch[i].online;
		ch[i].state = unchanged[i] ? AGENT_CHANGE_DONE : AGENT_CHANGE_PENDING;
		if (!unchanged[i]) {
			send[k] = ch[i];
			which[k++] = i;
		}
	}
	done = agent_set_vcpus(a, send, k, err);
	for (i = 0; i < k; i++) {
		ch[which[i]].state = send[i].state;
		if (send[i].state == AGENT_CHANGE_FAILED)
			failed = which[i];
		not_tried += send[i].state == AGENT_CHANGE_NOT_TRIED;
	}
	if (done < 0) {
		rc = -1;
	} else if ((size_t)done < k) {
		rc = vc_err_set(err, VC_EXIT_AGENT,
				"guest-set-vcpus: the guest changed %d of %zu CPUs; guest CPU %d could not be brought %s%s",
				done, k, ch[failed].logical_id,
				ch[failed].online ? "online" : "offline",
				not_tried ? ", and the CPUs after it were not tried" : "");
	}
	free(send);
	free(which);
	return rc;
}

static void guest_print_changes(const struct agent_change *ch, size_t n,
				const bool *unchanged, FILE *f)
{
	const char *want;
	size_t i;

	for (i = 0; i < n; i++) {
		want = ch[i].online ? "online" : "offline";
		if (unchanged[i])
			fprintf(f, "guest CPU %d: already %s\n", ch[i].logical_id, want);
		else if (ch[i].state == AGENT_CHANGE_DONE)
			fprintf(f, "guest CPU %d: %s\n", ch[i].logical_id, want);
		else if (ch[i].state == AGENT_CHANGE_FAILED)
			fprintf(f, "guest CPU %d: failed to go %s\n", ch[i].logical_id, want);
		else
			fprintf(f, "guest CPU %d: not tried (%s)\n", ch[i].logical_id, want);
	}
}

static int guest_run(struct guest_args *g)
{
	struct agent_change *ch = NULL;
	struct gmap_view v = { 0 };
	struct vc_err err = { 0 }, err2 = { 0 };
	struct topology t;
	struct agent *a = NULL;
	struct gmap_paths *paths = NULL;
	bool have_topo, *unchanged = NULL;
	size_t n = 0;
	int rc = VC_EXIT_OK, changed = 0;

	if (guest_changes(g, &ch, &n, &err) < 0)
		return cli_fail(&g->common, &err);
	if (!g->agent.path) {
		free(ch);
		vc_err_set(&err, VC_EXIT_USAGE,
			   "no guest agent socket: give --guest-agent PATH or set VCPUCTL_AGENT_SOCKET");
		return cli_fail(&g->common, &err);
	}
	unchanged = calloc(n + 1, sizeof(*unchanged));
	if (!unchanged) {
		free(ch);
		vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
		return cli_fail(&g->common, &err);
	}
	have_topo = guest_topology(g, &t);
	g->agent.trace = g->common.trace;
	a = agent_open_opts(&g->agent, &err);
	if (!a || !(paths = gmap_paths_new(&err)) ||
	    gmap_view_query(a, paths, have_topo ? &t : NULL, &v, &err) < 0)
		goto fail;
	if (n) {
		if (agent_check_changes(&v.guest, ch, n, &err) < 0)
			goto fail;
		changed = guest_apply(a, &v, ch, n, unchanged, &err);
		gmap_view_free(&v);
		/* Show what the guest says now, whatever the change did. */
		if (gmap_view_query(a, paths, have_topo ? &t : NULL, &v,
				    &err2) < 0 &&
		    !changed) {
			err = err2;
			goto fail;
		}
	}
	if (g->common.json) {
		if (out_guest_doc(stdout, &v, ch, n, unchanged,
				  changed ? err.msg : NULL) < 0) {
			vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
			goto fail;
		}
	} else if (!g->common.quiet || changed) {
		guest_print_changes(ch, n, unchanged, stdout);
		if (v.guest.cpus && out_guest_table(stdout, &v) < 0) {
			vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
			goto fail;
		}
		fflush(stdout);
	}
	if (changed) {
		if (!err.code)
			err.code = VC_EXIT_AGENT;
		rc = cli_fail_after(&g->common, &err);
	}
	goto out;
fail:
	rc = cli_fail(&g->common, &err);
out:
	gmap_view_free(&v);
	gmap_paths_free(paths);
	agent_close(a);
	if (have_topo)
		topo_free(&t);
	free(unchanged);
	free(ch);
	return rc;
}

int cmd_guest(int argc, char **argv)
{
	struct guest_args g;
	const char *env;

	memset(&g, 0, sizeof(g));
	cli_common_init(&g.common);
	agent_opts_init(&g.agent);
	g.in = (struct cli_inputs){ .common = &g.common, .agent = &g.agent };
	env = getenv("VCPUCTL_AGENT_SOCKET");
	if (env && *env)
		g.agent.path = env;
	if (argp_parse(&guest_argp, argc, argv, 0, NULL, &g))
		return VC_EXIT_USAGE;
	return guest_run(&g);
}
