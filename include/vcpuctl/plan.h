/* plan.h - from a topology and a request to ordered steps.
 *
 * PURE: no socket, no I/O.  Every placement rule lives here, so each is
 * testable from a captured reply alone:
 *  - plug takes the lowest offline entities in topology order;
 *  - unplug takes the highest online removable entities (the most recently
 *    plugged first; QEMU does not report plug time, so "highest index"
 *    stands for it, as it does in libvirt);
 *  - an entity of k vCPUs moves k at a time; a count it cannot reach
 *    exactly is refused, naming the nearest reachable counts;
 *  - boot CPUs are never removed; counts above the maximum or below what
 *    cannot be removed are refused with the limits named;
 *  - named vCPUs must cover whole entities;
 *  - new device ids are "vcpuN", N the entity's first vCPU index, and an id
 *    already in use is refused before anything is sent.
 */
#ifndef VCPUCTL_PLAN_H
#define VCPUCTL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/err.h"
#include "vcpuctl/topology.h"

enum plan_kind {
	PLAN_SET_COUNT,  /* set --count N / +K / -K */
	PLAN_ADD_LIST,   /* add LIST */
	PLAN_DEL_LIST,   /* del LIST */
};

struct plan_request {
	enum plan_kind kind;
	long count;               /* SET_COUNT: target, or delta when relative */
	bool relative;            /* "+K" / "-K" */
	const struct cpulist *list; /* ADD_LIST / DEL_LIST (borrowed) */
	long min, max;            /* --min / --max clamps, -1 when absent */
};

enum plan_op { PLAN_OP_ADD, PLAN_OP_DEL };

struct plan_step {
	enum plan_op op;
	size_t entity;            /* index into topology.ents */
	int first, count;         /* vCPU indexes first .. first+count-1 */
	char *device_id;          /* owned: "vcpuN" to add; alias or qom-path
	                             to delete */
};

struct plan {
	struct plan_step *steps;  /* owned */
	size_t n_steps;
	int from, to;             /* online vCPUs before and after */
	int requested;            /* the target asked for, before any clamp */
	char *note;               /* owned; why the target was clamped, or NULL */
};

/* Parse "N", "+K" or "-K" into req->count / req->relative.  Returns 0, or
 * -1 with err (VC_EXIT_USAGE) naming the text. */
int plan_parse_count(const char *s, struct plan_request *req,
		     struct vc_err *err);

/* Make the plan.  Returns 0 (possibly with zero steps: nothing to do), or
 * -1 with err set: VC_EXIT_IMPOSSIBLE for targets this topology cannot
 * reach (message names the limits or nearest counts), VC_EXIT_USAGE for a
 * list naming vCPUs that do not exist.  *p is then empty. */
int plan_make(const struct topology *t, const struct plan_request *req,
	      struct plan *p, struct vc_err *err);

void plan_free(struct plan *p);

/* The exact QMP command for a step (new reference):
 * {"execute": "device_add", "arguments": {<props verbatim>, "driver": type,
 *  "id": "vcpuN"}} or {"execute": "device_del", "arguments": {"id": ...}}. */
json_t *plan_step_command(const struct topology *t, const struct plan_step *s);

#endif
