/* selector.c - a LIST or a count, parsed once and checked against the VM. */
#include "vcpuctl/selector.h"

int sel_parse_list(const char *text, struct cpulist *out, struct vc_err *err)
{
	return cpulist_parse(text, SEL_LIST_LIMIT, out, err);
}

int sel_parse(struct sel *s, struct plan_request *req, struct vc_err *err)
{
	req->kind = s->kind;
	req->min = s->min > 0 ? s->min : -1;
	req->max = s->max > 0 ? s->max : -1;
	req->list = NULL;
	req->node_set = s->node_set;
	req->node = s->node;
	req->spread_nodes = s->spread_nodes;
	req->unit_set = s->unit_set;
	req->unit = s->unit;
	if (s->count_text && plan_parse_count(s->count_text, req, err) < 0)
		return -1;
	if (s->list_text) {
		if (sel_parse_list(s->list_text, &s->list, err) < 0)
			return -1;
		req->list = &s->list;
	}
	return 0;
}

int sel_check(const struct sel *s, const struct topology *t, struct vc_err *err)
{
	long k;

	if (!s->list.bits)
		return 0;
	for (k = cpulist_next(&s->list, 0); k >= 0;
	     k = cpulist_next(&s->list, (size_t)k + 1))
		if ((size_t)k >= t->n_vcpus)
			return vc_err_set(err, VC_EXIT_USAGE,
					  "vCPU %ld does not exist: this VM has vCPUs 0-%zu",
					  k, t->n_vcpus ? t->n_vcpus - 1 : 0);
	return 0;
}

void sel_free(struct sel *s)
{
	cpulist_free(&s->list);
}
