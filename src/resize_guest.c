/* resize_guest.c - the guest steps of a change (resize.h): before an
 * unplug, take the vCPUs offline in the guest (--guest-offline-first);
 * after a plug, bring the new ones online and wait until the guest says
 * so.  Both go through the guest agent (agent.h) on the command's one
 * session, and match guest CPUs to vCPUs with guestmap.h.
 *
 * The policy of which CPUs may be asked, and what each vCPU came to, is
 * here; the rendering of an outcome is output.c's.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/guestmap.h"
#include "vcpuctl/resize.h"
#include "vcpuctl/util.h"

/* How often the guest is asked again while waiting for it. */
#define RESIZE_GUEST_POLL_MS 200

const char *resize_guest_state_name(enum resize_guest_state s)
{
	switch (s) {
	case RESIZE_GUEST_ONLINE: return "online";
	case RESIZE_GUEST_OFFLINE: return "offline";
	case RESIZE_GUEST_ABSENT: return "absent";
	case RESIZE_GUEST_FAILED: return "failed";
	case RESIZE_GUEST_NOT_TRIED: return "not-tried";
	case RESIZE_GUEST_UNMAPPED: return "unmapped";
	case RESIZE_GUEST_WAS_OFFLINE: return "already-offline";
	}
	return "?";
}

void resize_guest_outcome_free(struct resize_guest_outcome *out)
{
	free(out->items);
	free(out->error);
	memset(out, 0, sizeof(*out));
}

static int outcome_add(struct resize_guest_outcome *out, size_t cap,
		       int index)
{
	if (out->n == cap)
		return -1;
	out->items[out->n].index = index;
	out->items[out->n].logical_id = -1;
	out->items[out->n].state = RESIZE_GUEST_NOT_TRIED;
	out->n++;
	return 0;
}

char *resize_guest_vcpus(const struct resize_guest_outcome *out,
			 enum resize_guest_state s, size_t *count)
{
	struct cpulist l;
	size_t i, top = 1;
	char *text;

	*count = 0;
	for (i = 0; i < out->n; i++)
		if ((size_t)out->items[i].index + 1 > top)
			top = (size_t)out->items[i].index + 1;
	if (cpulist_init(&l, top) < 0)
		return NULL;
	for (i = 0; i < out->n; i++)
		if (out->items[i].state == s)
			cpulist_set(&l, (size_t)out->items[i].index);
	*count = cpulist_count(&l);
	text = *count ? cpulist_format(&l) : NULL;
	cpulist_free(&l);
	return text;
}

/* Set out->code and out->error (taking ownership of a formatted text). */
static int outcome_fail(struct resize_guest_outcome *out, int code,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int outcome_fail(struct resize_guest_outcome *out, int code,
			const char *fmt, ...)
{
	va_list ap;

	free(out->error);
	va_start(ap, fmt);
	if (vasprintf(&out->error, fmt, ap) < 0)
		out->error = NULL;
	va_end(ap);
	out->code = out->error ? code : VC_EXIT_INTERNAL;
	return out->code;
}

static void outcome_mark(struct resize_guest_outcome *out,
			 enum resize_guest_state s)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		out->items[i].state = s;
}

/* Read each item's state from view v.  Items already FAILED stay so. */
static void outcome_observe(struct resize_guest_outcome *out,
			    const struct gmap_view *v)
{
	const struct agent_gcpu *g;
	struct resize_guest_vcpu *it;
	size_t i;

	out->how = v->how;
	for (i = 0; i < out->n; i++) {
		it = &out->items[i];
		if (it->state == RESIZE_GUEST_FAILED)
			continue;
		if (v->how == GMAP_NONE) {
			it->state = RESIZE_GUEST_UNMAPPED;
			continue;
		}
		g = gmap_view_vcpu(v, it->index);
		it->logical_id = g ? g->logical_id : -1;
		it->state = !g ? RESIZE_GUEST_ABSENT
			  : g->online ? RESIZE_GUEST_ONLINE : RESIZE_GUEST_OFFLINE;
	}
}

/* Send one guest-set-vcpus for the items in state from (each once), and
 * mark the entries the guest did not process FAILED.  Returns how many
 * were sent, or -1 with err set when the agent could not be asked. */
static int outcome_change(struct agent *a, struct resize_guest_outcome *out,
			  enum resize_guest_state from, bool online,
			  bool *tried, struct vc_err *err)
{
	struct agent_change *ch;
	size_t *which, n = 0, i;
	int rc;

	ch = calloc(out->n + 1, sizeof(*ch));
	which = calloc(out->n + 1, sizeof(*which));
	if (!ch || !which) {
		free(ch);
		free(which);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	for (i = 0; i < out->n; i++) {
		if (out->items[i].state != from || tried[i])
			continue;
		tried[i] = true;
		ch[n].logical_id = out->items[i].logical_id;
		ch[n].online = online;
		which[n++] = i;
	}
	rc = n ? agent_set_vcpus(a, ch, n, err) : 0;
	for (i = 0; i < n; i++)
		if (ch[i].state == AGENT_CHANGE_FAILED)
			out->items[which[i]].state = RESIZE_GUEST_FAILED;
	/* A refusal is the vCPU's outcome, not the session's. */
	if (rc < 0 && n && ch[0].state == AGENT_CHANGE_FAILED)
		rc = 0;
	free(ch);
	free(which);
	return rc < 0 ? -1 : (int)n;
}

static bool outcome_all(const struct resize_guest_outcome *out,
			enum resize_guest_state s)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (out->items[i].state != s)
			return false;
	return true;
}

static bool outcome_any(const struct resize_guest_outcome *out,
			enum resize_guest_state s)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (out->items[i].state == s)
			return true;
	return false;
}

/* Why not every vCPU reached the wanted state, naming them. */
static int outcome_explain(struct resize_guest_outcome *out, int code,
			   int64_t timeout_ms, const char *note,
			   const char *reason)
{
	const char *want = out->online ? "online" : "offline";
	char secs[32], *l;
	size_t n;
	int rc;

	vc_fmt_secs(secs, sizeof(secs), (int)timeout_ms);
	if ((l = resize_guest_vcpus(out, RESIZE_GUEST_FAILED, &n))) {
		rc = outcome_fail(out, code,
				  "the guest could not take vCPU%s %s %s%s%s",
				  n > 1 ? "s" : "", l, want,
				  reason ? ": " : "", reason ? reason : "");
	} else if ((l = resize_guest_vcpus(out, RESIZE_GUEST_UNMAPPED, &n))) {
		rc = outcome_fail(out, code,
				  "vCPU%s %s: %s", n > 1 ? "s" : "", l,
				  note ? note : "cannot match guest CPUs to vCPUs");
	} else if ((l = resize_guest_vcpus(out, RESIZE_GUEST_ABSENT, &n))) {
		rc = outcome_fail(out, code,
				  "the guest has not seen vCPU%s %s%s%s",
				  n > 1 ? "s" : "", l,
				  timeout_ms > 0 ? " within " : "",
				  timeout_ms > 0 ? secs : "");
		if (timeout_ms > 0 && out->error) {
			free(l);
			l = out->error;
			if (asprintf(&out->error, "%s s", l) < 0)
				out->error = NULL;
		}
	} else if ((l = resize_guest_vcpus(out, out->online ? RESIZE_GUEST_OFFLINE
								: RESIZE_GUEST_ONLINE, &n))) {
		rc = outcome_fail(out, code,
				  "vCPU%s %s still %s in the guest%s%s%s",
				  n > 1 ? "s" : "", l,
				  out->online ? "offline" : "online",
				  timeout_ms > 0 ? " after " : "",
				  timeout_ms > 0 ? secs : "",
				  timeout_ms > 0 ? " s" : "");
	} else {
		rc = outcome_fail(out, code, "guest agent: %s",
				  reason ? reason : "unknown error");
	}
	free(l);
	return rc;
}

/* Room for cap items in out, and nflags arrays of cap flags in one
 * allocation (*flags, the caller's to free).  Returns 0, or the code of
 * an out-of-memory failure. */
static int outcome_alloc(struct resize_guest_outcome *out, size_t cap,
			 size_t nflags, bool **flags)
{
	out->items = calloc(cap, sizeof(*out->items));
	*flags = calloc(nflags * cap, sizeof(**flags));
	if (!out->items || !*flags) {
		free(*flags);
		*flags = NULL;
		return outcome_fail(out, VC_EXIT_INTERNAL, "out of memory");
	}
	return 0;
}

/* The vCPUs r reports plugged by its PLAN_OP_ADD items. */
static size_t plugged_count(const struct apply_result *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		if (r->items[i].op == PLAN_OP_ADD &&
		    r->items[i].state == APPLY_PLUGGED)
			n += (size_t)r->items[i].count;
	return n;
}

static void outcome_add_plugged(struct resize_guest_outcome *out, size_t cap,
				const struct apply_result *r)
{
	size_t i;
	int k;

	for (i = 0; i < r->n; i++)
		if (r->items[i].op == PLAN_OP_ADD &&
		    r->items[i].state == APPLY_PLUGGED)
			for (k = 0; k < r->items[i].count; k++)
				outcome_add(out, cap, r->items[i].first + k);
}

/* The guest learns of a plug through an ACPI event and lists the CPU
 * some time later; ask until it is there and online, bringing each one
 * the guest lists offline online once, until deadline.  *v is the last
 * view; err is set when the agent failed on the way. */
static void online_wait(struct agent *a, const struct topology *t,
			struct resize_guest_outcome *out, bool *tried,
			int64_t deadline, struct gmap_view *v,
			struct vc_err *err)
{
	struct gmap_paths *paths;
	int left, sent;

	/* Paths read before the plug are not asked of: a guest that reuses
	 * numbers may give an unplugged CPU's id to a new one. */
	paths = gmap_paths_new(err);
	while (paths) {
		gmap_view_free(v);
		if (gmap_view_query(a, paths, t, v, err) < 0)
			break;
		outcome_observe(out, v);
		if (outcome_all(out, RESIZE_GUEST_ONLINE))
			break;
		sent = outcome_change(a, out, RESIZE_GUEST_OFFLINE, true,
				      tried, err);
		if (sent < 0)
			break;
		if (sent > 0)
			continue;
		left = vc_ms_left(deadline);
		if (left == 0)
			break;
		if (left < 0 || left > RESIZE_GUEST_POLL_MS)
			left = RESIZE_GUEST_POLL_MS;
		poll(NULL, 0, left);
	}
	gmap_paths_free(paths);
}

/* The online step's code once online_wait() is over; err is its. */
static int online_verdict(struct resize_guest_outcome *out, int64_t timeout_ms,
			  const struct gmap_view *v, const struct vc_err *err)
{
	size_t i;

	if (err->code) {
		/* The agent went away mid-way: what was seen stands, the rest
		 * is unknown. */
		for (i = 0; i < out->n; i++)
			if (out->items[i].state != RESIZE_GUEST_ONLINE &&
			    out->items[i].state != RESIZE_GUEST_FAILED)
				out->items[i].state = RESIZE_GUEST_NOT_TRIED;
	}
	if (outcome_all(out, RESIZE_GUEST_ONLINE) && !err->code)
		return 0;
	if (err->code == VC_EXIT_INTERNAL)
		return outcome_fail(out, VC_EXIT_INTERNAL, "%s", err->msg);
	if (err->code && !outcome_any(out, RESIZE_GUEST_FAILED))
		return outcome_fail(out, VC_EXIT_NOT_ONLINE,
				    "guest agent: %s", err->msg);
	return outcome_explain(out, VC_EXIT_NOT_ONLINE, timeout_ms,
			       v->note, err->code ? err->msg : NULL);
}

int resize_guest_online_after_plug(struct agent_link *l,
				   const struct topology *t,
				   const struct apply_result *r,
				   int64_t timeout_ms,
				   struct resize_guest_outcome *out)
{
	struct gmap_view v = { 0 };
	struct vc_err err = { 0 };
	struct agent *a;
	int64_t start = vc_now_ms(), deadline = vc_deadline(timeout_ms);
	bool *tried;
	size_t cap;
	int rc;

	memset(out, 0, sizeof(*out));
	out->online = true;
	if (!l || !l->opts || !l->opts->path || !r)
		return 0;
	cap = plugged_count(r);
	if (!cap)
		return 0;
	if ((rc = outcome_alloc(out, cap, 1, &tried)))
		return rc;
	outcome_add_plugged(out, cap, r);
	a = agent_link_get(l, &err);
	if (a) {
		online_wait(a, t, out, tried, deadline, &v, &err);
		rc = online_verdict(out, timeout_ms, &v, &err);
	} else {
		outcome_mark(out, RESIZE_GUEST_NOT_TRIED);
		rc = outcome_fail(out, err.code == VC_EXIT_INTERNAL
				  ? VC_EXIT_INTERNAL : VC_EXIT_NOT_ONLINE,
				  "guest agent: %s", err.msg);
	}
	out->code = rc;
	out->elapsed_ms = vc_now_ms() - start;
	gmap_view_free(&v);
	free(tried);
	return rc;
}

/* The vCPUs of p's PLAN_OP_DEL steps. */
static size_t unplug_count(const struct plan *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n_steps; i++)
		if (p->steps[i].op == PLAN_OP_DEL)
			n += (size_t)p->steps[i].count;
	return n;
}

/* Of those, the ones online in QEMU: the only ones a guest may use. */
static void outcome_add_unplugged(struct resize_guest_outcome *out, size_t cap,
				  const struct topology *t,
				  const struct plan *p)
{
	size_t i;
	int k, idx;

	for (i = 0; i < p->n_steps; i++)
		for (k = 0; p->steps[i].op == PLAN_OP_DEL && k < p->steps[i].count; k++) {
			idx = p->steps[i].first + k;
			if (idx >= 0 && (size_t)idx < t->n_vcpus &&
			    t->vcpus[idx].online)
				outcome_add(out, cap, idx);
		}
}

/* Before the offline: note which items the guest has offline already
 * (was) or does not list (unlisted), and fail at once those it cannot
 * take offline (can-offline false, or the boot CPU). */
static void offline_start(struct resize_guest_outcome *out,
			  const struct gmap_view *v, bool *was, bool *unlisted)
{
	const struct agent_gcpu *g;
	size_t i;

	outcome_observe(out, v);
	for (i = 0; i < out->n; i++) {
		/* Already offline: nothing to ask, and the report says so. */
		was[i] = out->items[i].state == RESIZE_GUEST_OFFLINE;
		unlisted[i] = out->items[i].state == RESIZE_GUEST_ABSENT;
		g = gmap_view_vcpu(v, out->items[i].index);
		if (g && g->online && (!g->can_offline || g->logical_id == 0))
			out->items[i].state = RESIZE_GUEST_FAILED;
	}
}

/* After it, from the guest's new view v: whether every item is offline.
 * A CPU the guest no longer lists has nothing left to offline; one it
 * never listed is not known to be offline. */
static bool offline_settle(struct resize_guest_outcome *out,
			   const struct gmap_view *v, const bool *was,
			   const bool *unlisted)
{
	bool all_offline = true;
	size_t i;

	outcome_observe(out, v);
	for (i = 0; i < out->n; i++) {
		if (out->items[i].state == RESIZE_GUEST_ABSENT && !unlisted[i])
			out->items[i].state = RESIZE_GUEST_OFFLINE;
		if (out->items[i].state == RESIZE_GUEST_OFFLINE)
			out->items[i].state = was[i] ? RESIZE_GUEST_WAS_OFFLINE
						     : RESIZE_GUEST_OFFLINE;
		else
			all_offline = false;
	}
	return all_offline;
}

/* The offline itself, once out has its items: match, offline, match
 * again.  flags: three arrays of cap (tried, was, unlisted).  Returns the
 * step's code. */
static int offline_run(struct agent_link *l, const struct topology *t,
		       struct resize_guest_outcome *out, bool *flags,
		       size_t cap)
{
	bool *tried = flags, *was = flags + cap, *unlisted = flags + 2 * cap;
	struct gmap_paths *paths = NULL;
	struct gmap_view v = { 0 };
	struct vc_err err = { 0 };
	struct agent *a;
	int rc = 0;

	a = agent_link_get(l, &err);
	if (!a || !(paths = gmap_paths_new(&err)) ||
	    gmap_view_query(a, paths, t, &v, &err) < 0) {
		outcome_mark(out, RESIZE_GUEST_NOT_TRIED);
		rc = outcome_fail(out, err.code == VC_EXIT_INTERNAL
				  ? VC_EXIT_INTERNAL : VC_EXIT_AGENT,
				  "guest agent: %s", err.msg);
	} else if (v.how != GMAP_ACPI) {
		out->how = v.how;
		outcome_mark(out, RESIZE_GUEST_UNMAPPED);
		rc = outcome_fail(out, VC_EXIT_AGENT,
				  "not offlining first: only an exact (ACPI) match of guest CPUs to vCPUs is trusted to pick CPUs to offline%s%s",
				  v.note ? "; " : "", v.note ? v.note : "");
	} else {
		offline_start(out, &v, was, unlisted);
		gmap_view_free(&v);
		if (outcome_change(a, out, RESIZE_GUEST_ONLINE, false, tried,
				   &err) < 0)
			rc = outcome_explain(out, VC_EXIT_AGENT, 0, NULL, err.msg);
		else if (gmap_view_query(a, paths, t, &v, &err) < 0)
			rc = outcome_fail(out, VC_EXIT_AGENT, "guest agent: %s",
					  err.msg);
		else if (!offline_settle(out, &v, was, unlisted))
			rc = outcome_explain(out, VC_EXIT_AGENT, 0, NULL,
					     "guest CPU refused (can-offline false, or the boot CPU)");
	}
	gmap_view_free(&v);
	gmap_paths_free(paths);
	return rc;
}

int resize_guest_offline_before_unplug(struct agent_link *l,
				       const struct topology *t,
				       const struct plan *p,
				       struct resize_guest_outcome *out)
{
	int64_t start = vc_now_ms();
	bool *flags;
	size_t cap;
	int rc;

	memset(out, 0, sizeof(*out));
	out->online = false;
	if (!l || !l->opts || !l->opts->path || !l->opts->offline_first ||
	    !p || !t)
		return 0;
	cap = unplug_count(p);
	if (!cap)
		return 0;
	if ((rc = outcome_alloc(out, cap, 3, &flags)))
		return rc;
	outcome_add_unplugged(out, cap, t, p);
	rc = out->n ? offline_run(l, t, out, flags, cap) : 0;
	out->code = rc;
	out->elapsed_ms = vc_now_ms() - start;
	free(flags);
	return rc;
}
