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
		if (!e->online)
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

/* "entities of 8" or "entities of 1, 2 and 8". */
static void sizes_text(const struct topology *t, char *buf, size_t len)
{
	int prev = 0, next, n = 0;
	size_t i, used;

	used = (size_t)snprintf(buf, len, "entities of");
	for (;;) {
		next = INT_MAX;
		for (i = 0; i < t->n_ents; i++)
			if (t->ents[i].vcpus_count > prev &&
			    t->ents[i].vcpus_count < next)
				next = t->ents[i].vcpus_count;
		if (next == INT_MAX)
			break;
		/* The last size is joined with "and": is there a larger one? */
		n++;
		prev = next;
		for (i = 0; i < t->n_ents; i++)
			if (t->ents[i].vcpus_count > prev)
				break;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%d",
						 n == 1 ? " " :
						 i == t->n_ents ? " and " : ", ",
						 next);
	}
}

static int add_step(const struct topology *t, struct plan *p, enum plan_op op,
		    size_t ent, struct vc_err *err)
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

/* Entities a count change would move, in the order it moves them:
 * offline ones lowest first to grow, removable online ones highest first
 * to shrink.  Returns how many were put in order[]. */
static size_t move_order(const struct topology *t, bool grow, size_t *order)
{
	size_t i, n = 0;

	for (i = 0; i < t->n_ents; i++) {
		size_t k = grow ? i : t->n_ents - 1 - i;
		const struct topo_entity *e = &t->ents[k];

		if (grow ? !e->online : (e->online && e->removable))
			order[n++] = k;
	}
	return n;
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

/* Refuse target, naming the reachable counts around it. */
static int unreachable(const struct topology *t, const struct plan_request *req,
		       const struct counts *c, long target, long before,
		       long after, struct vc_err *err)
{
	char rel[64], sizes[128];

	relative_text(req, c->from, rel, sizeof(rel));
	sizes_text(t, sizes, sizeof(sizes));
	if (after < 0)
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "cannot reach %ld vCPU%s%s: this VM moves vCPUs in %s; the nearest reachable count is %ld",
				  target, plural(target), rel, sizes, before);
	return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
			  "cannot reach %ld vCPU%s%s: this VM moves vCPUs in %s; nearest reachable counts are %ld and %ld",
			  target, plural(target), rel, sizes,
			  before < after ? before : after,
			  before < after ? after : before);
}

static int plan_count(const struct topology *t, const struct plan_request *req,
		      struct plan *p, struct vc_err *err)
{
	struct counts c = count_vcpus(t);
	struct limits lim = { 0, 0, false };
	long target, reached, before, after;
	size_t *order, n, j, taken, n_before;
	bool grow;
	char sizes[128];
	int rc = -1;

	p->from = c.from;
	if (!req->relative && (req->count < 0 || req->count > PLAN_COUNT_MAX))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "count %ld is out of range", req->count);
	if (req->relative && labs(req->count) > PLAN_COUNT_MAX)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "count %+ld is out of range", req->count);
	target = req->relative ? c.from + req->count : req->count;
	p->requested = (int)target;
	if (apply_limits(t, &c, req, &target, p, &lim, err) < 0)
		return -1;
	p->to = (int)target;
	if (target == c.from)
		return 0;

	grow = target > c.from;
	order = calloc(t->n_ents ? t->n_ents : 1, sizeof(*order));
	p->steps = calloc(t->n_ents ? t->n_ents : 1, sizeof(*p->steps));
	if (!order || !p->steps) {
		vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
		goto out;
	}
	n = move_order(t, grow, order);

	/* Walk the greedy order until the target is reached or passed; the
	 * counts on either side are the reachable neighbours. */
	reached = c.from;
	for (taken = 0; taken < n; taken++) {
		if (grow ? reached >= target : reached <= target)
			break;
		reached += (grow ? 1 : -1) * t->ents[order[taken]].vcpus_count;
	}
	if (reached != target) {
		n_before = taken;
		if (grow ? reached < target : reached > target) {
			/* Ran out of entities: only the near side exists. */
			before = reached;
			after = -1;
		} else {
			n_before = taken - 1;
			before = reached - (grow ? 1 : -1) *
				 t->ents[order[taken - 1]].vcpus_count;
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
			sizes_text(t, sizes, sizeof(sizes));
			if (set_note(p, err, "%s; %ld is not reachable in %s, so %ld",
				     p->note, target, sizes, pick) < 0)
				goto out;
			target = pick;
			p->to = (int)target;
			if (pick == before)
				taken = n_before;
		} else {
			unreachable(t, req, &c, target, before, after, err);
			goto out;
		}
	}
	for (j = 0; j < taken; j++)
		if (add_step(t, p, grow ? PLAN_OP_ADD : PLAN_OP_DEL,
			     order[j], err) < 0)
			goto out;
	rc = check_new_ids(t, p, err);
out:
	free(order);
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
	text = named_text(t, l, c.total, add ? is_online : is_offline, &n,
			  &oom);
	if (oom)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	if (text) {
		int rc = set_note(p, err, "vCPU%s %s already %s", plural(n),
				  text, add ? "online" : "offline");

		free(text);
		if (rc < 0)
			return -1;
	}

	p->steps = calloc(t->n_ents ? t->n_ents : 1, sizeof(*p->steps));
	if (!p->steps)
		return vc_err_set(err, VC_EXIT_INTERNAL, "plan: out of memory");
	to = c.from;
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e;

		k = add ? i : t->n_ents - 1 - i;
		e = &t->ents[k];
		if (e->online == add || named_in(l, e) == 0)
			continue;
		if (add_step(t, p, add ? PLAN_OP_ADD : PLAN_OP_DEL, k, err) < 0)
			return -1;
		to += add ? e->vcpus_count : -e->vcpus_count;
	}
	if (to < 1)
		return vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				  "cannot unplug every vCPU: the minimum is 1");
	p->to = p->requested = to;
	return check_new_ids(t, p, err);
}

int plan_make(const struct topology *t, const struct plan_request *req,
	      struct plan *p, struct vc_err *err)
{
	int rc;

	memset(p, 0, sizeof(*p));
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
