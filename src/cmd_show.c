/* cmd_show.c - "vcpuctl show": every possible vCPU, one row each. */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/output.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"

static const char show_doc[] =
	"Print the VM's vCPU topology: one row per possible vCPU with its "
	"topology ids, NUMA node, state (online/offline), whether it can be "
	"unplugged (yes, no, or boot for a CPU QEMU started with), its device "
	"id and host thread, the thread's CPU affinity, scheduler policy and "
	"cgroup (only for threads of a QEMU on this host), then a summary "
	"line.  vCPU indexes are the ones 'add', 'del' and 'tune' take."
	"  With --guest-agent, the guest's own view too (guest agent): which "
	"vCPUs are online in the guest, and where QEMU and the guest disagree."
	"\v--json prints one document: the topology model described in the "
	"README, plus \"qemu\": {\"version\", \"package\"}.";

struct show_args {
	struct cli_common c;
	struct agent_opts agent;
	struct cli_inputs in;
};

static const struct argp_child show_children[] = {
	{ &cli_common_argp, 0, NULL, 0 },
	{ &agent_argp, 0, "Guest agent:", 5 },
	{ 0 }
};

static error_t show_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		cli_bind_children(state, show_children,
				  &((struct show_args *)state->input)->in);
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

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* QEMU's threads, sorted (caller frees), or NULL when they cannot be
 * listed or out of memory.  One directory read instead of one failing
 * lookup per vCPU: thousands of vCPUs whose threads are gone (or belong
 * to no QEMU here) cost tens of ms that way. */
static pid_t *list_tasks(pid_t pid, size_t *n)
{
	char path[64];
	struct dirent *d;
	pid_t *tids = NULL, *grown;
	size_t cap = 0;
	DIR *dir;

	*n = 0;
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	dir = opendir(path);
	if (!dir)
		return NULL;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(tids, cap * sizeof(*tids));
			if (!grown) {
				free(tids);
				closedir(dir);
				return NULL;
			}
			tids = grown;
		}
		tids[(*n)++] = (pid_t)atol(d->d_name);
	}
	closedir(dir);
	if (!tids)
		tids = malloc(sizeof(*tids));
	if (tids)
		qsort(tids, *n, sizeof(*tids), tid_cmp);
	return tids;
}

/* What each vCPU thread has now (an array of t->n_vcpus, caller frees
 * with free_threads), or NULL on out of memory. */
static struct tune_thread_info *read_threads(const struct topology *t, pid_t pid)
{
	struct tune_thread_info *info = calloc(t->n_vcpus + 1, sizeof(*info));
	pid_t *tids = NULL, tid;
	size_t i, n = 0;

	if (!info)
		return NULL;
	if (pid > 0)
		tids = list_tasks(pid, &n);
	/* Without QEMU's pid a thread id could name anyone's thread. */
	for (i = 0; pid > 0 && i < t->n_vcpus; i++) {
		if (!t->vcpus[i].online)
			continue;
		tid = (pid_t)t->vcpus[i].thread_id;
		/* Not among QEMU's threads: tune_thread_read() finds
		 * nothing either. */
		if (tids && !bsearch(&tid, tids, n, sizeof(tid), tid_cmp))
			continue;
		tune_thread_read(pid, tid, &info[i]);
	}
	free(tids);
	return info;
}

static void free_threads(struct tune_thread_info *info, size_t n)
{
	size_t i;

	for (i = 0; info && i < n; i++)
		tune_thread_info_free(&info[i]);
	free(info);
}

static json_t *opt_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The topology document with the QEMU it came from in front, and each
 * vCPU's affinity, sched and cgroup (null where unknown). */
static json_t *show_json(const struct topology *t, const struct qmp *q,
			 const struct tune_thread_info *info)
{
	json_t *doc, *model, *row;
	size_t i;

	model = topo_to_json(t);
	json_array_foreach(json_object_get(model, "vcpus"), i, row) {
		if (i >= t->n_vcpus)
			break;
		json_object_set_new(row, "affinity", opt_string(info[i].affinity));
		json_object_set_new(row, "sched", opt_string(info[i].sched));
		json_object_set_new(row, "cgroup", opt_string(info[i].cgroup));
	}
	doc = json_pack("{s:{s:s,s:s}}", "qemu",
			"version", qmp_version(q) ? qmp_version(q) : "",
			"package", qmp_package(q) ? qmp_package(q) : "");
	if (!model || !doc || json_object_update(doc, model)) {
		json_decref(model);
		json_decref(doc);
		return NULL;
	}
	json_decref(model);
	/* Last, as the streamed document has it. */
	if (json_object_set_new(doc, "nodes", out_nodes_json(t))) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int cmd_show(int argc, char **argv)
{
	struct show_args s;
	struct cli_common c;
	struct agent_view gv = { 0 };
	struct vc_err gerr = { 0 };
	bool have_guest = false;
	char *guest_text;
	struct vc_err err = { 0 };
	struct tune_thread_info *info;
	struct topology t;
	struct qmp *q;
	json_t *doc;
	int rc = VC_EXIT_OK;

	cli_common_init(&s.c);
	agent_opts_init(&s.agent);
	s.in = (struct cli_inputs){ .common = &s.c, .agent = &s.agent };
	argp_parse(&show_argp, argc, argv, 0, NULL, &s);
	c = s.c;
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
	info = read_threads(&t, qmp_peer_pid(q));
	if (s.agent.path)
		have_guest = agent_view_fetch(&s.agent, &t, &gv, &gerr) == 0;
	if (!info) {
		rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
	} else if (c.json && !s.agent.path) {
		/* Streamed: the same bytes as show_json() dumped, without a
		 * document of tens of MiB at thousands of vCPUs. */
		if (out_show_json(&t, qmp_version(q), qmp_package(q), info,
				  stdout) < 0)
			rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
		fflush(stdout);
	} else if (c.json) {
		doc = show_json(&t, q, info);
		if (doc && have_guest && agent_annotate_show_json(doc, &gv, &t) < 0)
			rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
		else if (doc && s.agent.path && !have_guest)
			json_object_set_new(doc, "guest_agent",
					    json_pack("{s:s}", "error", gerr.msg));
		if (doc)
			cli_print_json(doc);
		else
			rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
	} else if (!c.quiet) {
		if (out_topology_table_tuning(&t, info, stdout))
			rc = vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
		guest_text = have_guest ? agent_view_text(&gv, &t) : NULL;
		if (guest_text)
			fputs(guest_text, stdout);
		free(guest_text);
		fflush(stdout);
	}
	cli_stats(&c, q);
	qmp_close(q);
	free_threads(info, t.n_vcpus);
	topo_free(&t);
	agent_view_free(&gv);
	if (rc)
		return cli_fail(&c, &err);
	/* QEMU's view was shown; the guest's could not be. */
	if (gerr.code) {
		vc_err_prefix(&gerr, "guest agent");
		return cli_fail_after(&c, &gerr);
	}
	return VC_EXIT_OK;
}
