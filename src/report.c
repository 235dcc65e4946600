/* report.c - text and JSON renderings of plans and resize results. */
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/err.h"
#include "vcpuctl/report.h"
#include "vcpuctl/util.h"

static const char *op_name(enum plan_op op)
{
	return op == PLAN_OP_ADD ? "add" : "del";
}

/* null in JSON when no tuning was asked for. */
static const char *tune_name(enum apply_tune s)
{
	switch (s) {
	case APPLY_TUNE_NONE: return NULL;
	case APPLY_TUNE_DONE: return "tuned";
	case APPLY_TUNE_FAILED: return "not-tuned";
	case APPLY_TUNE_SKIPPED: return "skipped";
	}
	return NULL;
}

static void print_range(FILE *f, int first, int count)
{
	if (count == 1)
		fprintf(f, "vCPU %d", first);
	else
		fprintf(f, "vCPUs %d-%d", first, first + count - 1);
}

/* "socket 0, core 1, thread 0" for an entity. */
static void print_where(FILE *f, const struct topo_entity *e)
{
	const char *sep = "";
	int k;

	for (k = 0; k < TOPO_NKEYS; k++) {
		if (e->ids[k] < 0)
			continue;
		fprintf(f, "%s%s %ld", sep, topo_key_name[k], e->ids[k]);
		sep = ", ";
	}
}

static const char *fill_word(enum plan_fill f)
{
	return f == PLAN_FILL_COMPLETES ? "completes" :
	       f == PLAN_FILL_EMPTIES ? "empties" : "whole";
}

/* "node 0: 1 -> 3 of 4; node 1: 0 -> 3 of 4", when the VM has nodes. */
static void print_nodes_after(FILE *f, const struct topology *t,
			      const struct plan *p)
{
	struct plan_node *n;
	size_t k, i;

	if (plan_nodes(t, &n, &k) < 0 || !k)
		return;
	plan_nodes_after(p, n, k);
	fputs("nodes:", f);
	for (i = 0; i < k; i++)
		fprintf(f, "%s node %ld: %d -> %d of %d", i ? ";" : "",
			n[i].node, n[i].online, n[i].to, n[i].max);
	fputc('\n', f);
	free(n);
}

void report_plan_text(FILE *f, const struct topology *t, const struct plan *p)
{
	size_t i;

	fprintf(f, "plan: %d -> %d vCPUs online (of %d), %zu step%s",
		p->from, p->to, t->max, p->n_steps, p->n_steps == 1 ? "" : "s");
	if (p->whole_units)
		fprintf(f, ", whole %ss", plan_unit_name(p->unit));
	fputc('\n', f);
	if (p->note)
		fprintf(f, "note: %s\n", p->note);
	for (i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];

		fprintf(f, "  %zu. %s %s: ", i + 1,
			s->op == PLAN_OP_ADD ? "device_add" : "device_del", s->device_id);
		print_range(f, s->first, s->count);
		fputs(" (", f);
		print_where(f, &t->ents[s->entity]);
		fputc(')', f);
		/* The unit: the entity itself unless whole units were asked. */
		if (p->whole_units) {
			fprintf(f, ", %s %s %d", fill_word(s->fill),
				plan_unit_name(p->unit), s->unit_first);
			if (s->unit_count > 1)
				fprintf(f, "-%d", s->unit_first + s->unit_count - 1);
		}
		fputc('\n', f);
	}
	if (!p->n_steps)
		fputs("  nothing to do\n", f);
	print_nodes_after(f, t, p);
}

char *report_vcpus_in_state(const struct apply_result *r, enum apply_state s)
{
	struct cpulist l;
	size_t i, top = 0;
	char *text;
	int k;

	for (i = 0; i < r->n; i++)
		if ((size_t)(r->items[i].first + r->items[i].count) > top)
			top = r->items[i].first + r->items[i].count;
	if (!top || cpulist_init(&l, top) < 0)
		return NULL;
	for (i = 0; i < r->n; i++) {
		if (r->items[i].state != s)
			continue;
		for (k = 0; k < r->items[i].count; k++)
			cpulist_set(&l, r->items[i].first + k);
	}
	text = cpulist_count(&l) ? cpulist_format(&l) : NULL;
	cpulist_free(&l);
	return text;
}

static long thread_of(const struct topology *t, int index)
{
	if (!t || index < 0 || (size_t)index >= t->n_vcpus)
		return -1;
	return t->vcpus[index].thread_id;
}

/* The vCPU's guest node, -1 when unknown. */
static long node_of(const struct topology *t, int index)
{
	if (!t || index < 0 || (size_t)index >= t->n_vcpus ||
	    t->vcpus[index].entity >= t->n_ents)
		return -1;
	return t->ents[t->vcpus[index].entity].ids[TOPO_NODE];
}

void report_result_text(FILE *f, const char *command, const struct topology *t,
			const struct plan *p, const struct apply_result *r)
{
	char *pending;
	size_t i;
	int k;

	for (i = 0; i < r->n; i++) {
		const struct apply_item *it = &r->items[i];

		for (k = it->first; k < it->first + it->count; k++) {
			long tid = thread_of(t, k);

			fprintf(f, "vCPU %-4d %-10s %s", k, it->device_id,
				apply_state_name(it->state));
			if (it->state == APPLY_PLUGGED && tid > 0)
				fprintf(f, " (thread %ld)", tid);
			if (it->tune == APPLY_TUNE_DONE)
				fputs(", tuned", f);
			else if (it->tune == APPLY_TUNE_SKIPPED)
				fputs(", not tuned: no per-vCPU threads", f);
			if (it->reason)
				fprintf(f, ": %s", it->reason);
			fputc('\n', f);
		}
	}
	if (p && p->note)
		fprintf(f, "note: %s\n", p->note);
	if (r->online_after >= 0 && t)
		fprintf(f, "%s: online %d of %d vCPUs\n", command,
			r->online_after, t->max);
	else if (p)
		fprintf(f, "%s: %d -> %d vCPUs requested\n", command, p->from, p->to);
	if (!r->n)
		fprintf(f, "%s: nothing to do\n", command);
	pending = report_vcpus_in_state(r, APPLY_PENDING);
	if (pending) {
		fprintf(f, "%s: removal pending for vCPUs %s; 'vcpuctl wait %s' waits for it\n",
			command, pending, pending);
		free(pending);
	}
}

json_t *report_result_json(const char *command, const struct topology *t,
			   const struct plan *p, const struct apply_result *r)
{
	json_t *doc, *rows;
	char *pending;
	size_t i;
	int k;

	rows = json_array();
	for (i = 0; rows && i < r->n; i++) {
		const struct apply_item *it = &r->items[i];

		for (k = it->first; k < it->first + it->count; k++) {
			long tid = thread_of(t, k), node = node_of(t, k);

			json_array_append_new(rows, json_pack(
				"{s:i,s:s,s:s,s:s,s:s?,s:o,s:s?,s:o}",
				"index", k, "device_id", it->device_id,
				"op", op_name(it->op),
				"state", apply_state_name(it->state),
				"reason", it->reason,
				"thread_id", tid > 0 ? json_integer(tid) : json_null(),
				"tuning", tune_name(it->tune),
				"node", node >= 0 ? json_integer(node) : json_null()));
		}
	}
	pending = report_vcpus_in_state(r, APPLY_PENDING);
	doc = json_pack("{s:s,s:i,s:s,s:s?,s:b,s:s?,s:o,s:s?}",
			"command", command,
			"exit_code", r->code,
			"result", vc_exit_name(r->code),
			"error", r->error,
			"timed_out", r->timed_out,
			"interrupted_by", r->signo ? vc_signal_name(r->signo) : NULL,
			"vcpus", rows ? rows : json_array(),
			"pending", pending);
	free(pending);
	if (!doc)
		return NULL;
	json_object_set_new(doc, "online", r->online_after >= 0 ?
			    json_integer(r->online_after) : json_null());
	json_object_set_new(doc, "max", t ? json_integer(t->max) : json_null());
	if (p) {
		json_object_set_new(doc, "from", json_integer(p->from));
		json_object_set_new(doc, "to", json_integer(p->to));
		json_object_set_new(doc, "requested", json_integer(p->requested));
		json_object_set_new(doc, "note", p->note ? json_string(p->note) : json_null());
	}
	return doc;
}

char *report_progress(const struct apply_result *r)
{
	static const struct { enum apply_state s; const char *word; } parts[] = {
		{ APPLY_PLUGGED, "plugged" }, { APPLY_REMOVED, "removed" },
		{ APPLY_PENDING, "removal pending" }, { APPLY_REJECTED, "rejected" },
		{ APPLY_FAILED, "failed" }, { APPLY_NOT_DONE, "not done" },
	};
	char *out = NULL;
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *l = report_vcpus_in_state(r, parts[i].s);
		char *n;

		if (!l)
			continue;
		if (asprintf(&n, "%s%s%s: vCPUs %s", out ? out : "", out ? "; " : "",
			     parts[i].word, l) < 0)
			n = NULL;
		free(l);
		free(out);
		out = n;
		if (!out)
			return NULL;
	}
	return out;
}
