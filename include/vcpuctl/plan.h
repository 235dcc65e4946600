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
 *
 * Placement (count requests only):
 *  - with a node filter, only entities whose slot is on that guest node
 *    move; the count is still the VM's total;
 *  - with spread, each plug goes to the node with the fewest online vCPUs
 *    (ties: the lowest node) and each unplug comes from the node with the
 *    most (ties: the highest node);
 *  - with a granularity, whole units move (every entity sharing the ids
 *    from the top of the hierarchy down to that level).  A unit that is
 *    partly online moves first: a plug completes it, an unplug empties it
 *    (down to its boot CPUs, which stay);
 *  - a target that cannot be reached is refused naming the nearest
 *    reachable counts (and, with a node filter, the node's free slots and
 *    removable vCPUs).
 *
 * Entities marked leaving (topology.h: a removal already asked for) are
 * planned against where the VM is going: they are not counted online, a
 * relative count starts without them, nothing plugs into them and no
 * step removes them again, unless the request says resend: then each
 * leaving entity the request covers (every one for a count, the named
 * ones for del LIST) gets its device_del again, after the other steps.
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
	/* Placement; all false/unused in a zeroed request. */
	bool node_set;            /* --node: move only slots on guest node */
	long node;
	bool spread_nodes;        /* --spread nodes */
	bool unit_set;            /* --granularity: move whole units of */
	enum topo_key unit;       /* this level (not TOPO_NODE) */
	bool resend;              /* --resend: device_del leaving entities again */
};

/* How a step's unit fares: moved whole, or a partly online unit that the
 * plug completes or the unplug empties. */
enum plan_fill { PLAN_FILL_WHOLE, PLAN_FILL_COMPLETES, PLAN_FILL_EMPTIES };

enum plan_op { PLAN_OP_ADD, PLAN_OP_DEL };

struct plan_step {
	enum plan_op op;
	size_t entity;            /* index into topology.ents */
	int first, count;         /* vCPU indexes first .. first+count-1 */
	char *device_id;          /* owned: "vcpuN" to add; alias or qom-path
	                             to delete */
	long node;                /* the slot's guest node, -1 when unknown */
	int unit_first, unit_count; /* the vCPUs of the unit it belongs to */
	enum plan_fill fill;
};

struct plan {
	struct plan_step *steps;  /* owned */
	size_t n_steps;
	int from, to;             /* online vCPUs before and after */
	int requested;            /* the target asked for, before any clamp */
	char *note;               /* owned; why the target was clamped, or NULL */
	enum topo_key unit;       /* the unit steps move: the granularity asked
	                             for, else the deepest key the VM reports
	                             (TOPO_NKEYS: none, "entity") */
	bool whole_units;         /* a granularity was asked for */
};

/* Online, possible and removable vCPUs of one guest NUMA node. */
struct plan_node {
	long node;
	int online, max, removable;
	int to;                   /* online after a plan (plan_nodes_after) */
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

/* "socket", "die", "module", "cluster", "core" or "thread" into *key.
 * Returns 0, or -1 with err (VC_EXIT_USAGE) naming the text and the
 * choices. */
int plan_parse_granularity(const char *s, enum topo_key *key,
			   struct vc_err *err);

/* The unit's name: topo_key_name[], or "entity" for TOPO_NKEYS. */
const char *plan_unit_name(enum topo_key unit);

/* Per-node counts, sorted by node, into *out (owned, free()).  *n is 0
 * and *out NULL when the VM reports no node-id.  Returns 0, or -1 on out
 * of memory. */
int plan_nodes(const struct topology *t, struct plan_node **out, size_t *n);

/* Set each node's "to" to its online count once p has run. */
void plan_nodes_after(const struct plan *p, struct plan_node *nodes, size_t n);

/* The exact QMP command for a step (new reference):
 * {"execute": "device_add", "arguments": {<props verbatim>, "driver": type,
 *  "id": "vcpuN"}} or {"execute": "device_del", "arguments": {"id": ...}}. */
json_t *plan_step_command(const struct topology *t, const struct plan_step *s);

#endif
