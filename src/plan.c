/* plan.c - the planner: a topology snapshot and a request in, ordered
 * device_add / device_del steps (or the reason there are none) out.
 *
 * Pure: no socket, no I/O.  The rules are listed in plan.h.  Counts here
 * are taken from the entities (sum of vcpus-count of plugged entities),
 * not from query-cpus-fast, because entities are what moves: a vCPU that
 * query-cpus-fast briefly omits still belongs to a plugged entity.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/plan.h"

/* Larger than any machine QEMU builds, small enough that no count
 * arithmetic below can overflow an int. */
#define PLAN_COUNT_MAX (1L << 20)

struct counts {
	int from;   /* vCPUs of plugged entities */
	int total;  /* vCPUs of all entities: the VM's maximum */
	int floor;  /* vCPUs of plugged entities that cannot be unplugged */
};

static struct counts count_vcpus(const struct topology *t)
{
	struct counts c = { 0, 0, 0 };
	size_t i;

	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];

		c.total += e->vcpus_count;
		if (!e->online || e->leaving)
			continue;
		c.from += e->vcpus_count;
		if (!e->removable)
			c.floor += e->vcpus_count;
	}
	return c;
}

static const char *plural(long n)
{
	return n == 1 ? "" : "s";
}

/* "5" or "4-7". */
static void range_text(char *buf, size_t len, int first, int count)
{
	if (count <= 1)
		snprintf(buf, len, "%d", first);
	else
		snprintf(buf, len, "%d-%d", first, first + count - 1);
}

int plan_parse_count(const char *s, struct plan_request *req,
		     struct vc_err *err)
{
	const char *digits = s;
	bool relative = false;
	long v;
	char *end;

	if (!s || !*s)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "count '': expected N, +K or -K");
	if (*s == '+' || *s == '-') {
		relative = true;
		digits = s + 1;
	}
	/* strtol alone would take spaces, a second sign or "0x". */
	if (*digits < '0' || *digits > '9' ||
	    strspn(digits, "0123456789") != strlen(digits))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "count '%s': expected N, +K or -K", s);
	errno = 0;
	v = strtol(digits, &end, 10);
	if (errno == ERANGE || v > PLAN_COUNT_MAX)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "count '%s': too large (at most %ld)",
				  s, PLAN_COUNT_MAX);
	req->kind = PLAN_SET_COUNT;
	req->relative = relative;
	req->count = *s == '-' ? -v : v;
	return 0;
}

void plan_free(struct plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_steps; i++)
		free(p->steps[i].device_id);
	free(p->steps);
	free(p->note);
	memset(p, 0, sizeof(*p));
}

/* Canonical text ("0-1,4") of the vCPUs that l names (all of them when l
 * is NULL) in entities for which want() holds, and how many there are.
 * Returns a malloc'd string, or NULL when there are none or on out of
 * memory, which *oom tells apart. */
static char *named_text(const struct topology *t, const struct cpulist *l,
			int total, bool (*want)(const struct topo_entity *e),
			int *n, bool *oom)
{
	struct cpulist m;
	size_t i;
	int j;
	char *s;

	*n = 0;
	*oom = false;
	if (cpulist_init(&m, total > 0 ? (size_t)total : 1) < 0) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];

		if (!want(e))
			continue;
		for (j = 0; j < e->vcpus_count; j++) {
			if (l && !cpulist_has(l, (size_t)(e->first + j)))
				continue;
			cpulist_set(&m, (size_t)(e->first + j));
			(*n)++;
		}
	}
	if (!*n) {
		cpulist_free(&m);
		return NULL;
	}
	s = cpulist_format(&m);
	cpulist_free(&m);
	if (!s)
		*oom = true;
	return s;
}

static bool is_fixed(const struct topo_entity *e)
{
	return e->online && !e->removable;
}

/* "2 online vCPUs cannot be removed (boot CPUs 0-1)" into buf. */
static int floor_text(const struct topology *t, const struct counts *c,
		      char *buf, size_t len, struct vc_err *err)
{
	bool oom;
	int n;
	char *boot = named_text(t, NULL, c->total, is_fixed, &n, &oom);

	if (!boot)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	snprintf(buf, len, "%d online vCPU%s cannot be removed (boot CPU%s %s)",
		 c->floor, plural(c->floor), plural(c->floor), boot);
	free(boot);
	return 0;
}

/* " 8" or " 1, 2 and 8": the distinct sizes, ascending, after a word. */
static void sizes_text(const int *sizes, size_t n_sizes, const char *word,
		       char *buf, size_t len)
{
	int prev = 0, next, n = 0;
	size_t i, used;

	used = (size_t)snprintf(buf, len, "%s", word);
	for (;;) {
		next = INT_MAX;
		for (i = 0; i < n_sizes; i++)
			if (sizes[i] > prev && sizes[i] < next)
				next = sizes[i];
		if (next == INT_MAX)
			break;
		/* The last size is joined with "and": is there a larger one? */
		n++;
		prev = next;
		for (i = 0; i < n_sizes; i++)
			if (sizes[i] > prev)
				break;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%d",
						 n == 1 ? " " :
						 i == n_sizes ? " and " : ", ",
						 next);
	}
}

/* "entities of 8" or "entities of 1, 2 and 8". */
static void entity_sizes_text(const struct topology *t, char *buf, size_t len)
{
	int *sizes = calloc(t->n_ents ? t->n_ents : 1, sizeof(*sizes));
	size_t i;

	if (!sizes) {
		snprintf(buf, len, "entities");
		return;
	}
	for (i = 0; i < t->n_ents; i++)
		sizes[i] = t->ents[i].vcpus_count;
	sizes_text(sizes, t->n_ents, "entities of", buf, len);
	free(sizes);
}

struct unit_ref {
	int first, count;
	enum plan_fill fill;
};

static int add_step(const struct topology *t, struct plan *p, enum plan_op op,
		    size_t ent, const struct unit_ref *u, struct vc_err *err)
{
	const struct topo_entity *e = &t->ents[ent];
	struct plan_step *s = &p->steps[p->n_steps];
	char id[32];

	if (op == PLAN_OP_ADD) {
		snprintf(id, sizeof(id), "vcpu%d", e->first);
		s->device_id = strdup(id);
	} else {
		s->device_id = strdup(topo_entity_device_id(e));
	}
	if (!s->device_id)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	s->op = op;
	s->entity = ent;
	s->first = e->first;
	s->count = e->vcpus_count;
	s->node = e->ids[TOPO_NODE];
	s->unit_first = u ? u->first : e->first;
	s->unit_count = u ? u->count : e->vcpus_count;
	s->fill = u ? u->fill : PLAN_FILL_WHOLE;
	p->n_steps++;
	return 0;
}

static bool path_ends_with_id(const char *path, const char *id)
{
	size_t pl, il;

	if (!path)
		return false;
	pl = strlen(path);
	il = strlen(id);
	return pl > il && path[pl - il - 1] == '/' &&
	       strcmp(path + pl - il, id) == 0;
}

/* QEMU would refuse a duplicate id only after earlier steps had run;
 * refusing here keeps "nothing was sent" true. */
static int check_new_ids(const struct topology *t, const struct plan *p,
			 struct vc_err *err)
{
	size_t i, j;
	char r[32];

	for (i = 0; i < p->n_steps; i++) {
		const char *id = p->steps[i].device_id;

		if (p->steps[i].op != PLAN_OP_ADD)
			continue;
		for (j = 0; j < t->n_ents; j++) {
			const struct topo_entity *e = &t->ents[j];

			if (!(e->alias && strcmp(e->alias, id) == 0) &&
			    !path_ends_with_id(e->qom_path, id))
				continue;
			range_text(r, sizeof(r), e->first, e->vcpus_count);
			return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
					  "device id %s is already used by vCPU%s %s (%s): unplug %s first or plug other vCPUs",
					  id, plural(e->vcpus_count), r,
					  e->qom_path ? e->qom_path : id,
					  e->vcpus_count == 1 ? "it" : "them");
		}
	}
	return 0;
}

static int set_note(struct plan *p, struct vc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_note(struct plan *p, struct vc_err *err, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	free(p->note);
	p->note = s;
	return 0;
}

struct limits {
	long lo, hi;        /* the allowed range of targets */
	bool clamped;
};

/* The request text as the user wrote it, for messages: "+1", "12". */
static void request_text(const struct plan_request *req, char *buf, size_t len)
{
	snprintf(buf, len, req->relative ? "%+ld" : "%ld", req->count);
}

/* " (+2 from 7)" for relative requests, "" otherwise. */
static void relative_text(const struct plan_request *req, int from,
			  char *buf, size_t len)
{
	if (req->relative)
		snprintf(buf, len, " (%+ld from %d)", req->count, from);
	else
		buf[0] = '\0';
}

/* Apply the VM's limits and --min/--max to *target.  A limit the user set
 * clamps; a limit the user did not set refuses. */
static int apply_limits(const struct topology *t, const struct counts *c,
			const struct plan_request *req, long *target,
			struct plan *p, struct limits *lim, struct vc_err *err)
{
	bool has_min = req->min >= 0, has_max = req->max >= 0;
	long vm_lo = c->floor > 1 ? c->floor : 1;
	char what[32], rel[64], fl[256];

	request_text(req, what, sizeof(what));
	relative_text(req, c->from, rel, sizeof(rel));
	if (has_min && has_max && req->min > req->max)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--min %ld is above --max %ld",
				  req->min, req->max);
	lim->lo = vm_lo;
	lim->hi = c->total;
	lim->clamped = false;
	if (has_min && req->min > lim->lo)
		lim->lo = req->min;
	if (has_max && req->max < lim->hi)
		lim->hi = req->max;
	if (has_min && req->min > c->total)
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "--min %ld is above this VM's maximum of %d vCPU%s",
				  req->min, c->total, plural(c->total));
	if (has_max && req->max < vm_lo)
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "--max %ld is below this VM's minimum of %ld vCPU%s",
				  req->max, vm_lo, plural(vm_lo));

	if (*target > lim->hi) {
		if (!has_max)
			return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
					  "cannot set %ld vCPU%s%s: the maximum is %d",
					  *target, plural(*target), rel, c->total);
		*target = lim->hi;
		lim->clamped = true;
		if (req->max > c->total)
			return set_note(p, err, "clamped %s to %ld: the VM's maximum is %d (--max %ld)",
					what, *target, c->total, req->max);
		return set_note(p, err, "clamped %s to %ld by --max %ld",
				what, *target, req->max);
	}
	if (*target >= lim->lo)
		return 0;
	if (c->floor >= 1 && floor_text(t, c, fl, sizeof(fl), err) < 0)
		return -1;
	if (!has_min) {
		if (c->floor < 1)
			return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
					  "cannot set %ld vCPU%s%s: the minimum is 1",
					  *target, plural(*target), rel);
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "cannot set %ld vCPU%s%s: %s; the minimum is %d",
				  *target, plural(*target), rel, fl, c->floor);
	}
	*target = lim->lo;
	lim->clamped = true;
	if (req->min >= vm_lo)
		return set_note(p, err, "clamped %s to %ld by --min %ld",
				what, *target, req->min);
	if (c->floor < 1)
		return set_note(p, err, "clamped %s to 1: the minimum is 1 (--min %ld)",
				what, req->min);
	return set_note(p, err, "clamped %s to %ld: %s (--min %ld)",
			what, *target, fl, req->min);
}

static bool in_limits(const struct limits *lim, long n)
{
	return n >= lim->lo && n <= lim->hi;
}

/* ---- placement: units, moves and their order ---- */

/* A unit: the entities ents[lo .. hi-1], consecutive because entities are
 * sorted by the ids that define it. */
struct unit {
	size_t lo, hi;
};

/* What moving one unit would do, in one direction. */
struct move {
	size_t unit;
	int delta;        /* vCPUs it plugs or unplugs */
	long node;        /* node of its first moved entity, -1 when none */
	bool partial;     /* the unit is partly online before the move */
	bool keeps_boot;  /* an unplug that leaves the unit's boot CPUs */
};

/* The whole search state of one count request. */
struct placement {
	const struct topology *t;
	const struct plan_request *req;
	bool grow;
	struct unit *units; size_t n_units;
	struct move *moves; size_t n_moves;  /* in the order they are made */
	struct plan_node *nodes; size_t n_nodes;
};

static const char *const unit_plural[TOPO_NKEYS] = {
	"drawers", "books", "sockets", "dies", "clusters", "modules", "cores",
	"threads", "nodes",
};

const char *plan_unit_name(enum topo_key unit)
{
	return unit < TOPO_NKEYS ? topo_key_name[unit] : "entity";
}

int plan_parse_granularity(const char *s, enum topo_key *key,
			   struct vc_err *err)
{
	static const enum topo_key allowed[] = {
		TOPO_SOCKET, TOPO_DIE, TOPO_MODULE, TOPO_CLUSTER, TOPO_CORE,
		TOPO_THREAD,
	};
	size_t i;

	for (i = 0; s && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strcmp(s, topo_key_name[allowed[i]]) == 0) {
			*key = allowed[i];
			return 0;
		}
	return vc_err_set(err, VC_EXIT_USAGE,
			  "--granularity '%s': expected socket, die, module, cluster, core or thread",
			  s ? s : "");
}

static int node_cmp(const void *a, const void *b)
{
	const struct plan_node *x = a, *y = b;

	return (x->node > y->node) - (x->node < y->node);
}

int plan_nodes(const struct topology *t, struct plan_node **out, size_t *n)
{
	struct plan_node *nodes;
	size_t i, j, k = 0;

	*out = NULL;
	*n = 0;
	nodes = calloc(t->n_ents ? t->n_ents : 1, sizeof(*nodes));
	if (!nodes)
		return -1;
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];

		if (e->ids[TOPO_NODE] < 0)
			continue;
		for (j = 0; j < k && nodes[j].node != e->ids[TOPO_NODE]; j++)
			;
		if (j == k)
			nodes[k++].node = e->ids[TOPO_NODE];
		nodes[j].max += e->vcpus_count;
		if (e->online && !e->leaving)
			nodes[j].online += e->vcpus_count;
		if (e->online && e->removable && !e->leaving)
			nodes[j].removable += e->vcpus_count;
	}
	if (!k) {
		free(nodes);
		return 0;
	}
	for (j = 0; j < k; j++)
		nodes[j].to = nodes[j].online;
	qsort(nodes, k, sizeof(*nodes), node_cmp);
	*out = nodes;
	*n = k;
	return 0;
}

void plan_nodes_after(const struct plan *p, struct plan_node *nodes, size_t n)
{
	size_t i, j;

	for (j = 0; j < n; j++)
		nodes[j].to = nodes[j].online;
	for (i = 0; i < p->n_steps; i++)
		for (j = 0; j < n; j++)
			if (nodes[j].node == p->steps[i].node)
				nodes[j].to += p->steps[i].op == PLAN_OP_ADD ?
					       p->steps[i].count :
					       -p->steps[i].count;
}

/* Units in topology order: one per entity by default, else one per
 * distinct ids from the top of the hierarchy down to req->unit. */
static size_t make_units(const struct topology *t,
			 const struct plan_request *req, struct unit *u)
{
	size_t i, n = 0;
	int k;

	for (i = 0; i < t->n_ents; i++) {
		bool same = n > 0 && req->unit_set;

		for (k = 0; same && k <= (int)req->unit; k++)
			if (t->ents[i].ids[k] != t->ents[i - 1].ids[k])
				same = false;
		if (same) {
			u[n - 1].hi = i + 1;
			continue;
		}
		u[n].lo = i;
		u[n].hi = i + 1;
		n++;
	}
	return n;
}

static bool entity_moves(const struct topo_entity *e, bool grow)
{
	return grow ? !e->online : e->online && e->removable && !e->leaving;
}

/* What moving unit ui would do; false when it would move nothing, or
 * (with a node filter) would move a slot on another node. */
static bool unit_move(const struct placement *pl, size_t ui, struct move *m)
{
	const struct unit *u = &pl->units[ui];
	size_t i;

	memset(m, 0, sizeof(*m));
	m->unit = ui;
	m->node = -1;
	for (i = u->lo; i < u->hi; i++) {
		const struct topo_entity *e = &pl->t->ents[i];

		if (!entity_moves(e, pl->grow)) {
			if (pl->grow || !e->online || e->leaving)
				m->partial = true;
			else
				m->keeps_boot = true;
			continue;
		}
		if (pl->req->node_set && e->ids[TOPO_NODE] != pl->req->node)
			return false;
		if (!m->delta)
			m->node = e->ids[TOPO_NODE];
		m->delta += e->vcpus_count;
	}
	return m->delta > 0;
}

/* Moves in their base order: partly online units first (a plug completes
 * them, an unplug empties them), then the rest; plugs lowest first,
 * unplugs highest first. */
static void base_order(struct placement *pl)
{
	int pass;
	size_t i;

	pl->n_moves = 0;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < pl->n_units; i++) {
			size_t k = pl->grow ? i : pl->n_units - 1 - i;
			struct move m;

			if (unit_move(pl, k, &m) && m.partial == (pass == 0))
				pl->moves[pl->n_moves++] = m;
		}
}

static size_t node_slot(const struct placement *pl, long node)
{
	size_t j;

	for (j = 0; j < pl->n_nodes && pl->nodes[j].node != node; j++)
		;
	return j;
}

/* Reorder the moves so that each plug goes to the node with the fewest
 * online vCPUs and each unplug comes from the node with the most; within a
 * node the base order holds.  Moves of no node stay in a group of their
 * own that ranks as a node with the counts of all of them. */
static int spread_order(struct placement *pl)
{
	size_t n_groups = pl->n_nodes + 1, g, best, i, done = 0;
	size_t *cursor = calloc(n_groups, sizeof(*cursor));
	long *online = calloc(n_groups, sizeof(*online));
	struct move *out = calloc(pl->n_moves ? pl->n_moves : 1, sizeof(*out));
	bool *used = calloc(pl->n_moves ? pl->n_moves : 1, sizeof(*used));

	if (!cursor || !online || !out || !used) {
		free(cursor);
		free(online);
		free(out);
		free(used);
		return -1;
	}
	for (g = 0; g < pl->n_nodes; g++)
		online[g] = pl->nodes[g].online;
	for (i = 0; i < pl->t->n_ents; i++)
		if (pl->t->ents[i].online && pl->t->ents[i].ids[TOPO_NODE] < 0)
			online[pl->n_nodes] += pl->t->ents[i].vcpus_count;
	while (done < pl->n_moves) {
		best = n_groups;
		for (g = 0; g < n_groups; g++) {
			while (cursor[g] < pl->n_moves &&
			       (used[cursor[g]] ||
				node_slot(pl, pl->moves[cursor[g]].node) != g))
				cursor[g]++;
			if (cursor[g] == pl->n_moves)
				continue;
			/* Groups are in ascending node order: a strict
			 * comparison keeps the lowest on ties for plugs, and
			 * >= keeps the highest for unplugs. */
			if (best == n_groups ||
			    (pl->grow ? online[g] < online[best] :
					online[g] >= online[best]))
				best = g;
		}
		used[cursor[best]] = true;
		out[done] = pl->moves[cursor[best]];
		online[best] += pl->grow ? out[done].delta : -out[done].delta;
		done++;
	}
	memcpy(pl->moves, out, pl->n_moves * sizeof(*out));
	free(cursor);
	free(online);
	free(out);
	free(used);
	return 0;
}

/* Check the placement options against this VM, then order the moves. */
static int placement_init(struct placement *pl, const struct topology *t,
			  const struct plan_request *req, bool grow,
			  struct vc_err *err)
{
	size_t n = t->n_ents ? t->n_ents : 1, i;
	char have[128], *text;
	size_t used = 0;

	memset(pl, 0, sizeof(*pl));
	pl->t = t;
	pl->req = req;
	pl->grow = grow;
	if (plan_nodes(t, &pl->nodes, &pl->n_nodes) < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	if (req->node_set && !pl->n_nodes)
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "--node %ld: this VM reports no guest NUMA nodes (no node-id in query-hotpluggable-cpus)",
				  req->node);
	if (req->node_set && node_slot(pl, req->node) == pl->n_nodes) {
		have[0] = '\0';
		for (i = 0; i < pl->n_nodes && used < sizeof(have); i++)
			used += (size_t)snprintf(have + used, sizeof(have) - used,
						 "%s%ld", i ? ", " : "",
						 pl->nodes[i].node);
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--node %ld: guest node %ld does not exist: this VM has node%s %s",
				  req->node, req->node, plural((long)pl->n_nodes),
				  have);
	}
	if (req->unit_set && req->unit != TOPO_THREAD &&
	    !(topo_keys_present(t) & (1u << req->unit))) {
		unsigned keys = topo_keys_present(t);
		int k;

		have[0] = '\0';
		for (k = 0; k < TOPO_NODE && used < sizeof(have); k++)
			if (keys & (1u << k))
				used += (size_t)snprintf(have + used,
							 sizeof(have) - used,
							 "%s%s", used ? ", " : "",
							 topo_key_name[k]);
		text = have[0] ? have : "none";
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "--granularity %s: this VM reports no %s (its topology keys: %s)",
				  topo_key_name[req->unit], topo_key_prop[req->unit],
				  text);
	}
	pl->units = calloc(n, sizeof(*pl->units));
	pl->moves = calloc(n, sizeof(*pl->moves));
	if (!pl->units || !pl->moves)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	pl->n_units = make_units(t, req, pl->units);
	base_order(pl);
	if (req->spread_nodes && spread_order(pl) < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	return 0;
}

static void placement_free(struct placement *pl)
{
	free(pl->units);
	free(pl->moves);
	free(pl->nodes);
}

static int unit_vcpus(const struct placement *pl, const struct unit *u)
{
	size_t i;
	int n = 0;

	for (i = u->lo; i < u->hi; i++)
		n += pl->t->ents[i].vcpus_count;
	return n;
}

/* How the moves are made, for messages: "entities of 8", "whole cores of
 * 2". */
static void moves_text(const struct placement *pl, char *buf, size_t len)
{
	int *sizes;
	size_t i;
	char word[64];

	if (!pl->req->unit_set) {
		entity_sizes_text(pl->t, buf, len);
		return;
	}
	snprintf(word, sizeof(word), "whole %s of", unit_plural[pl->req->unit]);
	sizes = calloc(pl->n_units ? pl->n_units : 1, sizeof(*sizes));
	if (!sizes) {
		snprintf(buf, len, "whole %s", unit_plural[pl->req->unit]);
		return;
	}
	for (i = 0; i < pl->n_units; i++)
		sizes[i] = unit_vcpus(pl, &pl->units[i]);
	sizes_text(sizes, pl->n_units, word, buf, len);
	free(sizes);
}

static bool on_node(const struct topo_entity *e)
{
	return e->ids[TOPO_NODE] >= 0;
}

/* " 2 free vCPU slots (5,7) and 1 removable vCPU (3)" of node N. */
static int node_slots_text(const struct placement *pl, char *buf, size_t len,
			   struct vc_err *err)
{
	const struct topology *t = pl->t;
	struct cpulist fr, rm;
	int n_free = 0, n_rm = 0, j;
	char *f = NULL, *r = NULL;
	size_t i;

	if (cpulist_init(&fr, (size_t)t->max + 1) < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	if (cpulist_init(&rm, (size_t)t->max + 1) < 0) {
		cpulist_free(&fr);
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	}
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];

		if (!on_node(e) || e->ids[TOPO_NODE] != pl->req->node)
			continue;
		for (j = 0; j < e->vcpus_count; j++) {
			if (!e->online) {
				cpulist_set(&fr, (size_t)(e->first + j));
				n_free++;
			} else if (e->removable && !e->leaving) {
				cpulist_set(&rm, (size_t)(e->first + j));
				n_rm++;
			}
		}
	}
	if (n_free)
		f = cpulist_format(&fr);
	if (n_rm)
		r = cpulist_format(&rm);
	snprintf(buf, len, "node %ld has %d free vCPU slot%s%s%s%s and %d removable vCPU%s%s%s%s",
		 pl->req->node, n_free, plural(n_free), f ? " (" : "",
		 f ? f : "", f ? ")" : "", n_rm, plural(n_rm), r ? " (" : "",
		 r ? r : "", r ? ")" : "");
	free(f);
	free(r);
	cpulist_free(&fr);
	cpulist_free(&rm);
	return 0;
}

/* Refuse target, naming the reachable counts around it (after < 0: only
 * before exists). */
static int unreachable(const struct placement *pl, const struct counts *c,
		       long target, long before, long after, struct vc_err *err)
{
	const struct plan_request *req = pl->req;
	char rel[64], how[128], node[256], nearest[96];

	relative_text(req, c->from, rel, sizeof(rel));
	moves_text(pl, how, sizeof(how));
	if (after < 0)
		snprintf(nearest, sizeof(nearest),
			 "the nearest reachable count is %ld", before);
	else
		snprintf(nearest, sizeof(nearest),
			 "nearest reachable counts are %ld and %ld",
			 before < after ? before : after,
			 before < after ? after : before);
	if (!req->node_set)
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "cannot reach %ld vCPU%s%s: this VM moves vCPUs in %s; %s",
				  target, plural(target), rel, how, nearest);
	if (node_slots_text(pl, node, sizeof(node), err) < 0)
		return -1;
	if (!req->unit_set && !strcmp(how, "entities of 1"))
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "cannot reach %ld vCPU%s%s with --node %ld: %s; %s",
				  target, plural(target), rel, req->node, node,
				  nearest);
	return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
			  "cannot reach %ld vCPU%s%s with --node %ld: %s; vCPUs move in %s; %s",
			  target, plural(target), rel, req->node, node, how,
			  nearest);
}

/* The steps of one move: its unit's moving entities, lowest first for a
 * plug, highest first for an unplug. */
static int add_move(const struct placement *pl, struct plan *p,
		    const struct move *m, struct vc_err *err)
{
	const struct unit *u = &pl->units[m->unit];
	struct unit_ref ref;
	size_t i;

	ref.first = pl->t->ents[u->lo].first;
	ref.count = unit_vcpus(pl, u);
	ref.fill = !m->partial && !m->keeps_boot ? PLAN_FILL_WHOLE :
		   pl->grow ? PLAN_FILL_COMPLETES : PLAN_FILL_EMPTIES;
	for (i = u->lo; i < u->hi; i++) {
		size_t k = pl->grow ? i : u->hi - 1 - (i - u->lo);

		if (entity_moves(&pl->t->ents[k], pl->grow) &&
		    add_step(pl->t, p, pl->grow ? PLAN_OP_ADD : PLAN_OP_DEL, k,
			     &ref, err) < 0)
			return -1;
	}
	return 0;
}

static int plan_count(const struct topology *t, const struct plan_request *req,
		      struct plan *p, struct vc_err *err)
{
	struct counts c = count_vcpus(t);
	struct limits lim = { 0, 0, false };
	struct placement pl;
	long target, reached, before, after;
	size_t j, taken, n_before;
	bool grow;
	char how[128];
	int rc = -1;

	memset(&pl, 0, sizeof(pl));
	p->from = c.from;
	if (!req->relative && (req->count < 0 || req->count > PLAN_COUNT_MAX))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "count %ld is out of range", req->count);
	if (req->relative && labs(req->count) > PLAN_COUNT_MAX)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "count %+ld is out of range", req->count);
	if (req->node_set && req->spread_nodes)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "give either --node or --spread nodes, not both");
	target = req->relative ? c.from + req->count : req->count;
	p->requested = (int)target;
	if (apply_limits(t, &c, req, &target, p, &lim, err) < 0)
		return -1;
	p->to = (int)target;
	grow = target > c.from;
	/* Options that do not fit this VM are refused even when there is
	 * nothing to do, so a script learns of them at once. */
	if (placement_init(&pl, t, req, grow, err) < 0)
		goto out;
	if (target == c.from) {
		rc = 0;
		goto out;
	}
	p->steps = calloc(t->n_ents ? t->n_ents : 1, sizeof(*p->steps));
	if (!p->steps) {
		vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
		goto out;
	}

	/* Walk the order until the target is reached or passed; the counts
	 * on either side are the reachable neighbours. */
	reached = c.from;
	for (taken = 0; taken < pl.n_moves; taken++) {
		if (grow ? reached >= target : reached <= target)
			break;
		reached += (grow ? 1 : -1) * pl.moves[taken].delta;
	}
	if (reached != target) {
		n_before = taken;
		if (grow ? reached < target : reached > target) {
			/* Ran out of moves: only the near side exists. */
			before = reached;
			after = -1;
		} else {
			n_before = taken - 1;
			before = reached - (grow ? 1 : -1) *
				 pl.moves[taken - 1].delta;
			after = reached;
		}
		if (lim.clamped && (in_limits(&lim, before) ||
				    (after >= 0 && in_limits(&lim, after)))) {
			/* The user asked to stay inside limits, not for this
			 * exact count: take the closest reachable one inside. */
			long pick = before;

			if (!in_limits(&lim, before) ||
			    (after >= 0 && in_limits(&lim, after) &&
			     labs(after - target) < labs(before - target)))
				pick = after;
			moves_text(&pl, how, sizeof(how));
			if (set_note(p, err, "%s; %ld is not reachable in %s, so %ld",
				     p->note, target, how, pick) < 0)
				goto out;
			target = pick;
			p->to = (int)target;
			if (pick == before)
				taken = n_before;
		} else {
			unreachable(&pl, &c, target, before, after, err);
			goto out;
		}
	}
	for (j = 0; j < taken; j++)
		if (add_move(&pl, p, &pl.moves[j], err) < 0)
			goto out;
	rc = check_new_ids(t, p, err);
out:
	placement_free(&pl);
	return rc;
}

/* How many of e's vCPUs the list names. */
static int named_in(const struct cpulist *l, const struct topo_entity *e)
{
	int j, n = 0;

	for (j = 0; j < e->vcpus_count; j++)
		if (cpulist_has(l, (size_t)(e->first + j)))
			n++;
	return n;
}

static bool is_online(const struct topo_entity *e)
{
	return e->online;
}

static bool is_offline(const struct topo_entity *e)
{
	return !e->online;
}

/* A removal asked for earlier (del LIST sends no new one). */
static bool is_leaving(const struct topo_entity *e)
{
	return e->online && e->leaving;
}

/* The note for named vCPUs already where they are asked to go: "vCPU 4
 * already offline", "vCPUs 1-2 already being removed", or both. */
static int note_named(const struct topology *t, const struct cpulist *l,
		      int total, bool add, struct plan *p, struct vc_err *err)
{
	char *done, *going;
	int n_done, n_going, rc = 0;
	bool oom, oom2;

	done = named_text(t, l, total, add ? is_online : is_offline, &n_done, &oom);
	going = add ? NULL : named_text(t, l, total, is_leaving, &n_going, &oom2);
	if (oom || (!add && oom2))
		rc = vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	else if (done && going)
		rc = set_note(p, err, "vCPU%s %s already offline; vCPU%s %s already being removed",
			      plural(n_done), done, plural(n_going), going);
	else if (done)
		rc = set_note(p, err, "vCPU%s %s already %s", plural(n_done), done,
			      add ? "online" : "offline");
	else if (going)
		rc = set_note(p, err, "vCPU%s %s already being removed",
			      plural(n_going), going);
	free(done);
	free(going);
	return rc;
}

/* Every named vCPU exists and named entities are named whole. */
static int check_named(const struct topology *t, const struct cpulist *l,
		       int total, struct vc_err *err)
{
	char all[32], r[32];
	long bad;
	size_t i;
	int j, n, first;

	bad = cpulist_next(l, (size_t)total);
	if (bad >= 0) {
		range_text(all, sizeof(all), 0, total);
		return vc_err_set(err, VC_EXIT_USAGE,
				  "vCPU %ld does not exist: this VM has vCPU%s %s",
				  bad, plural(total), all);
	}
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];

		n = named_in(l, e);
		if (n == 0 || n == e->vcpus_count)
			continue;
		first = -1;
		for (j = e->vcpus_count - 1; j >= 0; j--)
			if (cpulist_has(l, (size_t)(e->first + j)))
				first = e->first + j;
		range_text(all, sizeof(all), e->first, e->vcpus_count);
		if (n == 1)
			return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
					  "vCPU %d is part of an entity of %d vCPUs (%s): name all of %s",
					  first, e->vcpus_count, all, all);
		/* Named vCPUs of one entity need not be consecutive. */
		r[0] = '\0';
		for (j = 0; j < e->vcpus_count; j++) {
			size_t used = strlen(r);

			if (cpulist_has(l, (size_t)(e->first + j)) &&
			    used < sizeof(r))
				snprintf(r + used, sizeof(r) - used, "%s%d",
					 used ? "," : "", e->first + j);
		}
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "vCPUs %s are part of an entity of %d vCPUs (%s): name all of %s",
				  r, e->vcpus_count, all, all);
	}
	return 0;
}

static int plan_list(const struct topology *t, const struct plan_request *req,
		     struct plan *p, struct vc_err *err)
{
	const struct cpulist *l = req->list;
	bool add = req->kind == PLAN_ADD_LIST;
	struct counts c = count_vcpus(t);
	char *text;
	size_t i, k;
	int n, to;
	bool oom;

	p->from = p->to = p->requested = c.from;
	if (!l)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: no vCPU list");
	if (check_named(t, l, c.total, err) < 0)
		return -1;
	if (!add) {
		text = named_text(t, l, c.total, is_fixed, &n, &oom);
		if (oom)
			return vc_err_set(err, VC_EXIT_INTERNAL,
					  "plan: out of memory");
		if (text) {
			vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				   "vCPU%s %s %s boot CPU%s and cannot be unplugged",
				   plural(n), text, n == 1 ? "is a" : "are",
				   plural(n));
			free(text);
			return -1;
		}
	}

	/* Named vCPUs already in the wanted state need nothing done. */
	if (note_named(t, l, c.total, add, p, err) < 0)
		return -1;

	p->steps = calloc(t->n_ents ? t->n_ents : 1, sizeof(*p->steps));
	if (!p->steps)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	to = c.from;
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e;

		k = add ? i : t->n_ents - 1 - i;
		e = &t->ents[k];
		if (e->online == add || named_in(l, e) == 0 || (!add && e->leaving))
			continue;
		if (add_step(t, p, add ? PLAN_OP_ADD : PLAN_OP_DEL, k, NULL,
			     err) < 0)
			return -1;
		to += add ? e->vcpus_count : -e->vcpus_count;
	}
	if (to < 1)
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "cannot unplug every vCPU: the minimum is 1");
	p->to = p->requested = to;
	return check_new_ids(t, p, err);
}

/* The finest level the VM reports: what one entity is. */
static enum topo_key deepest_key(const struct topology *t)
{
	unsigned keys = topo_keys_present(t);
	int k;

	for (k = TOPO_THREAD; k >= 0; k--)
		if (keys & (1u << k))
			return (enum topo_key)k;
	return TOPO_NKEYS;
}

/* --resend: the leaving entities the request covers get their device_del
 * again, after the other steps. */
static int plan_resend(const struct topology *t, const struct plan_request *req,
		       struct plan *p, struct vc_err *err)
{
	struct plan_step *grown;
	size_t i, n = 0;

	for (i = 0; i < t->n_ents; i++)
		n += t->ents[i].leaving;
	if (!n)
		return 0;
	grown = realloc(p->steps, (p->n_steps + n) * sizeof(*p->steps));
	if (!grown)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	p->steps = grown;
	memset(&p->steps[p->n_steps], 0, n * sizeof(*p->steps));
	for (i = t->n_ents; i-- > 0;) {
		const struct topo_entity *e = &t->ents[i];

		if (!e->leaving || !e->online ||
		    (req->kind == PLAN_DEL_LIST && named_in(req->list, e) == 0))
			continue;
		if (add_step(t, p, PLAN_OP_DEL, i, NULL, err) < 0)
			return -1;
	}
	return 0;
}

int plan_make(const struct topology *t, const struct plan_request *req,
	      struct plan *p, struct vc_err *err)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->whole_units = req->unit_set;
	p->unit = req->unit_set ? req->unit : deepest_key(t);
	if (req->kind != PLAN_SET_COUNT &&
	    (req->node_set || req->spread_nodes || req->unit_set))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--node, --spread and --granularity apply to a count, not to a list of vCPUs");
	switch (req->kind) {
	case PLAN_SET_COUNT:
		rc = plan_count(t, req, p, err);
		break;
	case PLAN_ADD_LIST:
	case PLAN_DEL_LIST:
		rc = plan_list(t, req, p, err);
		break;
	default:
		rc = vc_err_set(err, VC_EXIT_INTERNAL, "plan: unknown request %d",
				(int)req->kind);
		break;
	}
	if (rc == 0 && req->resend && req->kind != PLAN_ADD_LIST)
		rc = plan_resend(t, req, p, err);
	if (rc < 0)
		plan_free(p);
	return rc;
}

json_t *plan_step_command(const struct topology *t, const struct plan_step *s)
{
	const struct topo_entity *e = &t->ents[s->entity];
	json_t *args, *cmd;

	if (s->op == PLAN_OP_ADD) {
		/* Deep copy: the topology keeps its props untouched, and every
		 * key QEMU gave (node-id too) goes back verbatim. */
		args = e->props ? topo_entity_props(e) :
						   json_object();
		if (!args || !json_is_object(args) ||
		    json_object_set_new(args, "driver", json_string(e->type)) ||
		    json_object_set_new(args, "id", json_string(s->device_id))) {
			json_decref(args);
			return NULL;
		}
	} else {
		args = json_pack("{s:s}", "id", s->device_id);
		if (!args)
			return NULL;
	}
	cmd = json_pack("{s:s, s:o}", "execute",
			s->op == PLAN_OP_ADD ? "device_add" : "device_del",
			"arguments", args);
	return cmd;
}
