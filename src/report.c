/* report.c - what a change did, in words: the vCPUs in each state, for
 * the summary lines and the error line after a failure. */
#include <stdio.h>
#include <stdlib.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/report.h"

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
