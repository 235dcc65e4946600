/* selector.h - which vCPUs a command is about: a LIST of indexes or a
 * count, checked as text before QEMU is touched and against the topology
 * once it is known.  set/plan/add/del, tune and wait all go through here,
 * so the limits and messages are the same everywhere.
 */
#ifndef VCPUCTL_SELECTOR_H
#define VCPUCTL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/err.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/topology.h"

/* Largest index a LIST may name before the VM is known: QEMU's own limit
 * is far below it, and the planner or sel_check() names the VM's range.
 * Also bounds guest CPU numbers (guest --online/--offline). */
#define SEL_LIST_LIMIT 65536

struct sel {
	const char *count_text;   /* --count N|+K|-K, or NULL */
	const char *list_text;    /* LIST, or NULL */
	enum plan_kind kind;      /* what a list means: ADD_LIST or DEL_LIST;
	                             PLAN_SET_COUNT with count_text */
	long min, max;            /* --min / --max; <= 0 when absent */
	/* Where a count moves (plan.h placement); unset when false. */
	bool node_set;            /* --node N */
	long node;
	bool spread_nodes;        /* --spread nodes */
	bool unit_set;            /* --granularity UNIT */
	enum topo_key unit;
	struct cpulist list;      /* owned: the parsed LIST */
};

/* Parse a LIST of indexes below SEL_LIST_LIMIT.  Returns 0 or -1 with err
 * (VC_EXIT_USAGE) naming the bad item. */
int sel_parse_list(const char *text, struct cpulist *out, struct vc_err *err);

/* Parse s's texts and fill req for plan_make() (req->list borrows
 * s->list, so s must outlive req).  Returns 0 or -1 with err
 * (VC_EXIT_USAGE). */
int sel_parse(struct sel *s, struct plan_request *req, struct vc_err *err);

/* Every index of s's list names a vCPU of t: else -1 with err
 * (VC_EXIT_USAGE) "vCPU 9 does not exist: this VM has vCPUs 0-7". */
int sel_check(const struct sel *s, const struct topology *t, struct vc_err *err);

void sel_free(struct sel *s);

#endif
