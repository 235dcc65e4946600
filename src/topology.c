/* topology.c - query-hotpluggable-cpus + query-cpus-fast -> one model.
 *
 * Every field of both replies is checked before use: a reply of the wrong
 * shape is reported naming the query and the entry, never dereferenced.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"

#define Q_HOTPLUG "query-hotpluggable-cpus"
#define Q_FAST "query-cpus-fast"

/* More vCPUs than any QEMU machine allows: a bound on allocations made from
 * numbers the peer sent. */
#define TOPO_MAX_VCPUS 16384

#define PERIPHERAL "/machine/peripheral/"
#define PERIPHERAL_ANON "/machine/peripheral-anon/"

const char *const topo_key_prop[TOPO_NKEYS] = {
	"drawer-id", "book-id", "socket-id", "die-id", "cluster-id",
	"module-id", "core-id", "thread-id", "node-id",
};

const char *const topo_key_name[TOPO_NKEYS] = {
	"drawer", "book", "socket", "die", "cluster",
	"module", "core", "thread", "node",
};

/* An entity while building: its place in QEMU's reply breaks sort ties. */
struct ent_slot {
	struct topo_entity e;
	size_t reply_pos;
};

/* A query-cpus-fast entry while building. */
struct fast_row {
	size_t entity;
	long thread_n;       /* N of ".../thread[N]", -1 when the path has none */
	long cpu_index;
	long thread_id;      /* -1 when QEMU gave none */
	const char *qom_path; /* borrowed from the reply */
	const char *target;
	const char *cpu_state;
};

/* A qom-path and where it came from: sorted, these find duplicates and
 * look paths up in O(n log n), where pairwise tests cost seconds on
 * thousands of vCPUs. */
struct path_ref {
	const char *path;    /* borrowed */
	size_t pos;
};

static int path_ref_cmp(const void *a, const void *b)
{
	const struct path_ref *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* In refs (sorted), the duplicate a pairwise scan in reply order would
 * meet first: the smallest *second such that an earlier *first has the
 * same path.  Returns true when there is one. */
static bool path_refs_first_dup(const struct path_ref *refs, size_t n,
				size_t *first, size_t *second)
{
	bool found = false;
	size_t i;

	for (i = 1; i < n; i++) {
		/* Only a group's second member can be the earliest repeat. */
		if (strcmp(refs[i].path, refs[i - 1].path) ||
		    (i >= 2 && !strcmp(refs[i - 1].path, refs[i - 2].path)))
			continue;
		if (!found || refs[i].pos < *second) {
			*first = refs[i - 1].pos;
			*second = refs[i].pos;
			found = true;
		}
	}
	return found;
}

/* Position of the ref whose path is exactly key[0, len), or -1. */
static long path_refs_find(const struct path_ref *refs, size_t n,
			   const char *key, size_t len)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(key, refs[mid].path, len);
		if (c == 0 && refs[mid].path[len])
			c = -1;   /* key is a proper prefix: it sorts first */
		if (c == 0)
			return (long)refs[mid].pos;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void entity_clear(struct topo_entity *e)
{
	free(e->type);
	json_decref(e->props);
	free(e->qom_path);
	free(e->alias);
	memset(e, 0, sizeof(*e));
}

void topo_free(struct topology *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n_ents; i++)
		entity_clear(&t->ents[i]);
	for (i = 0; i < t->n_vcpus; i++) {
		free(t->vcpus[i].qom_path);
		free(t->vcpus[i].target);
		free(t->vcpus[i].cpu_state);
	}
	free(t->ents);
	free(t->vcpus);
	free(t->thread_warning);
	memset(t, 0, sizeof(*t));
}

static bool oom(struct vc_err *err)
{
	vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	return false;
}

/* "Optional string" fields: absent is fine, present must be a string. */
static bool get_opt_string(json_t *obj, const char *key, const char **out,
			   const char *query, size_t pos, struct vc_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		vc_err_set(err, VC_EXIT_CONN, "%s: entry %zu: '%s' is not a string",
			   query, pos, key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* Integer fields: *out = -1 when absent and !required.  where is "" or
 * "props." so a message names the field as the user would find it. */
static bool get_int(json_t *obj, const char *where, const char *key,
		    bool required, long min, long *out, const char *query,
		    size_t pos, struct vc_err *err)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	*out = -1;
	if (!v) {
		if (!required)
			return true;
		vc_err_set(err, VC_EXIT_CONN, "%s: entry %zu: '%s%s' is missing",
			   query, pos, where, key);
		return false;
	}
	if (!json_is_integer(v)) {
		vc_err_set(err, VC_EXIT_CONN, "%s: entry %zu: '%s%s' is not an integer",
			   query, pos, where, key);
		return false;
	}
	n = json_integer_value(v);
	if (n < min || n > INT32_MAX) {
		vc_err_set(err, VC_EXIT_CONN,
			   "%s: entry %zu: '%s%s' is out of range: %lld",
			   query, pos, where, key, (long long)n);
		return false;
	}
	*out = (long)n;
	return true;
}

/* The ID of "/machine/peripheral/ID": what device_add was given. */
static char *alias_of(const char *qom_path)
{
	const char *id;

	if (strncmp(qom_path, PERIPHERAL, strlen(PERIPHERAL)))
		return NULL;
	id = qom_path + strlen(PERIPHERAL);
	if (!*id || strchr(id, '/'))
		return NULL;
	return strdup(id);
}

static bool removable_path(const char *qom_path)
{
	return !strncmp(qom_path, PERIPHERAL, strlen(PERIPHERAL)) ||
	       !strncmp(qom_path, PERIPHERAL_ANON, strlen(PERIPHERAL_ANON));
}

static bool parse_entity(json_t *row, size_t pos, struct topo_entity *e,
			 struct vc_err *err)
{
	json_t *props;
	const char *type, *path;
	long count;
	int k;

	if (!json_is_object(row)) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: not an object", pos);
		return false;
	}
	if (!json_object_get(row, "type")) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'type' is missing", pos);
		return false;
	}
	if (!get_opt_string(row, "type", &type, Q_HOTPLUG, pos, err))
		return false;
	if (!type || !*type) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'type' is empty", pos);
		return false;
	}
	if (!get_int(row, "", "vcpus-count", true, INT32_MIN, &count,
		     Q_HOTPLUG, pos, err))
		return false;
	if (count < 1 || count > TOPO_MAX_VCPUS) {
		vc_err_set(err, VC_EXIT_CONN,
			   Q_HOTPLUG ": entry %zu: 'vcpus-count' is %ld, not a positive count",
			   pos, count);
		return false;
	}
	props = json_object_get(row, "props");
	if (!props) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'props' is missing", pos);
		return false;
	}
	if (!json_is_object(props)) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'props' is not an object", pos);
		return false;
	}
	for (k = 0; k < TOPO_NKEYS; k++)
		if (!get_int(props, "props.", topo_key_prop[k], false, 0,
			     &e->ids[k], Q_HOTPLUG, pos, err))
			return false;
	if (!get_opt_string(row, "qom-path", &path, Q_HOTPLUG, pos, err))
		return false;

	e->vcpus_count = (int)count;
	e->props = json_incref(props);
	e->type = strdup(type);
	if (!e->type)
		return oom(err);
	if (path) {
		e->qom_path = strdup(path);
		if (!e->qom_path)
			return oom(err);
		e->online = true;
		e->removable = removable_path(path);
		e->alias = alias_of(path);
	}
	return true;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct ent_slot *x = a, *y = b;
	int k;

	for (k = 0; k < TOPO_NKEYS; k++)
		if (x->e.ids[k] != y->e.ids[k])
			return x->e.ids[k] < y->e.ids[k] ? -1 : 1;
	/* Equal ids: keep QEMU's order, so the result never depends on qsort. */
	return x->reply_pos < y->reply_pos ? -1 : x->reply_pos > y->reply_pos;
}

/* Two entities of the first n claiming one qom-path: -1 with err set. */
static int check_entity_paths(const struct ent_slot *slots, size_t n,
			      struct vc_err *err)
{
	struct path_ref *refs;
	size_t i, m = 0, a, b;
	int rc = 0;

	refs = malloc((n ? n : 1) * sizeof(*refs));
	if (!refs)
		return oom(err), -1;
	for (i = 0; i < n; i++) {
		if (!slots[i].e.qom_path)
			continue;
		refs[m].path = slots[i].e.qom_path;
		refs[m++].pos = i;
	}
	qsort(refs, m, sizeof(*refs), path_ref_cmp);
	if (path_refs_first_dup(refs, m, &a, &b))
		rc = vc_err_set(err, VC_EXIT_CONN,
				Q_HOTPLUG ": entries %zu and %zu have the same qom-path '%s'",
				a, b, slots[b].e.qom_path);
	free(refs);
	return rc;
}

/* Entry bad failed, but a duplicate among the entries before it comes
 * first in reply order: report that one.  dup holds the check's result. */
static void prefer_dup_error(int rc, const struct vc_err *dup, struct vc_err *err)
{
	if (rc < 0 && dup->code == VC_EXIT_CONN)
		*err = *dup;
}

static int build_entities(struct topology *t, json_t *hp, struct vc_err *err)
{
	struct vc_err dup = { 0 };
	struct ent_slot *slots;
	size_t n, i;
	long total = 0;

	if (!json_is_array(hp))
		return vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": reply is not a list");
	n = json_array_size(hp);
	if (n == 0)
		return vc_err_set(err, VC_EXIT_CONN,
				  Q_HOTPLUG ": empty list (the machine type does not support CPU hotplug?)");
	if (n > TOPO_MAX_VCPUS)
		return vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": %zu entries is too many", n);
	slots = calloc(n, sizeof(*slots));
	t->ents = calloc(n, sizeof(*t->ents));
	if (!slots || !t->ents) {
		free(slots);
		return oom(err), -1;
	}
	for (i = 0; i < n; i++) {
		slots[i].reply_pos = i;
		if (!parse_entity(json_array_get(hp, i), i, &slots[i].e, err))
			goto fail_at;
		total += slots[i].e.vcpus_count;
		if (total > TOPO_MAX_VCPUS) {
			vc_err_set(err, VC_EXIT_CONN,
				   Q_HOTPLUG ": more than %d vCPUs in all", TOPO_MAX_VCPUS);
			goto fail_at;
		}
	}
	if (check_entity_paths(slots, n, err) < 0)
		goto fail;
	qsort(slots, n, sizeof(*slots), ent_cmp);
	total = 0;
	for (i = 0; i < n; i++) {
		t->ents[i] = slots[i].e;
		t->ents[i].first = (int)total;
		total += t->ents[i].vcpus_count;
	}
	t->n_ents = n;
	t->max = (int)total;
	free(slots);
	return 0;
fail_at:
	prefer_dup_error(check_entity_paths(slots, i, &dup), &dup, err);
fail:
	for (i = 0; i < n; i++)
		entity_clear(&slots[i].e);
	free(slots);
	return -1;
}

/* The plugged entities' qom-paths, sorted, pos = entity index.  Returns
 * a new array (free it) with *n set, or NULL when out of memory. */
static struct path_ref *entity_path_index(const struct topology *t, size_t *n)
{
	struct path_ref *idx;
	size_t i, m = 0;

	idx = malloc((t->n_ents ? t->n_ents : 1) * sizeof(*idx));
	if (!idx)
		return NULL;
	for (i = 0; i < t->n_ents; i++) {
		if (!t->ents[i].qom_path)
			continue;
		idx[m].path = t->ents[i].qom_path;
		idx[m++].pos = i;
	}
	qsort(idx, m, sizeof(*idx), path_ref_cmp);
	*n = m;
	return idx;
}

/* The plugged entity whose qom-path is path, or a parent of it (pseries:
 * "<core>/thread[N]").  The longest such path wins, so the candidates are
 * tried from path itself up through each '/'. */
static long entity_of_path(const struct path_ref *idx, size_t n,
			   const char *path)
{
	size_t k = strlen(path);
	long e;

	for (;;) {
		e = path_refs_find(idx, n, path, k);
		if (e >= 0)
			return e;
		do {
			if (k == 0)
				return -1;
			k--;
		} while (path[k] != '/');
	}
}

/* N of a path ending in "/thread[N]", else -1. */
static long thread_suffix(const char *path)
{
	const char *p = strrchr(path, '/');
	char *end;
	long n;

	if (!p || strncmp(p, "/thread[", 8) || p[8] < '0' || p[8] > '9')
		return -1;
	n = strtol(p + 8, &end, 10);
	if (strcmp(end, "]"))
		return -1;
	return n;
}

static bool parse_fast_row(const struct path_ref *idx, size_t n_idx,
			   json_t *row, size_t pos, struct fast_row *r,
			   struct vc_err *err)
{
	const char *path;
	json_t *props;
	long ent;

	if (!json_is_object(row)) {
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: not an object", pos);
		return false;
	}
	if (!json_object_get(row, "qom-path")) {
		/* The old query-cpus spelled its fields with underscores. */
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: 'qom-path' is missing%s",
			   pos, json_object_get(row, "qom_path") ?
			   " (this looks like a reply to the old query-cpus)" : "");
		return false;
	}
	if (!get_opt_string(row, "qom-path", &path, Q_FAST, pos, err))
		return false;
	if (!path) {
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: 'qom-path' is not a string", pos);
		return false;
	}
	if (!get_int(row, "", "cpu-index", true, 0, &r->cpu_index, Q_FAST, pos, err) ||
	    !get_int(row, "", "thread-id", false, 1, &r->thread_id, Q_FAST, pos, err) ||
	    !get_opt_string(row, "target", &r->target, Q_FAST, pos, err) ||
	    !get_opt_string(row, "cpu-state", &r->cpu_state, Q_FAST, pos, err))
		return false;
	props = json_object_get(row, "props");
	if (props && !json_is_object(props)) {
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: 'props' is not an object", pos);
		return false;
	}
	ent = entity_of_path(idx, n_idx, path);
	if (ent < 0) {
		vc_err_set(err, VC_EXIT_CONN,
			   Q_FAST ": entry %zu: qom-path '%s' belongs to no plugged entity of "
			   Q_HOTPLUG, pos, path);
		return false;
	}
	r->entity = (size_t)ent;
	r->qom_path = path;
	r->thread_n = thread_suffix(path);
	return true;
}

static int fast_cmp(const void *a, const void *b)
{
	const struct fast_row *x = a, *y = b;

	if (x->entity != y->entity)
		return x->entity < y->entity ? -1 : 1;
	if (x->thread_n != y->thread_n)
		return x->thread_n < y->thread_n ? -1 : 1;
	return x->cpu_index < y->cpu_index ? -1 : x->cpu_index > y->cpu_index;
}

static bool fill_vcpu(struct topo_vcpu *v, const struct fast_row *r)
{
	v->online = true;
	v->cpu_index = (int)r->cpu_index;
	v->thread_id = r->thread_id;
	v->qom_path = dup_str(r->qom_path);
	v->target = dup_str(r->target);
	v->cpu_state = dup_str(r->cpu_state);
	return v->qom_path && (!r->target || v->target) &&
	       (!r->cpu_state || v->cpu_state);
}

/* Two of the first n rows claiming one qom-path: -1 with err set. */
static int check_fast_paths(const struct fast_row *rows, size_t n,
			    struct vc_err *err)
{
	struct path_ref *refs;
	size_t i, a, b;
	int rc = 0;

	refs = malloc((n ? n : 1) * sizeof(*refs));
	if (!refs)
		return oom(err), -1;
	for (i = 0; i < n; i++) {
		refs[i].path = rows[i].qom_path;
		refs[i].pos = i;
	}
	qsort(refs, n, sizeof(*refs), path_ref_cmp);
	if (path_refs_first_dup(refs, n, &a, &b))
		rc = vc_err_set(err, VC_EXIT_CONN,
				Q_FAST ": entries %zu and %zu have the same qom-path '%s'",
				a, b, rows[b].qom_path);
	free(refs);
	return rc;
}

static int merge_fast(struct topology *t, json_t *cf, struct vc_err *err)
{
	struct vc_err dup = { 0 };
	struct path_ref *idx = NULL;
	struct fast_row *rows;
	size_t n, n_idx = 0, i, j, used;
	const struct topo_entity *e;
	int rc = -1;

	if (!json_is_array(cf))
		return vc_err_set(err, VC_EXIT_CONN, Q_FAST ": reply is not a list");
	n = json_array_size(cf);
	if (n > (size_t)t->max)
		return vc_err_set(err, VC_EXIT_CONN,
				  Q_FAST ": %zu vCPUs listed, but " Q_HOTPLUG
				  " allows only %d", n, t->max);
	rows = calloc(n ? n : 1, sizeof(*rows));
	idx = entity_path_index(t, &n_idx);
	if (!rows || !idx) {
		oom(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!parse_fast_row(idx, n_idx, json_array_get(cf, i), i,
				    &rows[i], err)) {
			prefer_dup_error(check_fast_paths(rows, i, &dup), &dup, err);
			goto out;
		}
	}
	if (check_fast_paths(rows, n, err) < 0)
		goto out;
	qsort(rows, n, sizeof(*rows), fast_cmp);
	for (i = 0; i < n; i = j) {
		e = &t->ents[rows[i].entity];
		for (j = i; j < n && rows[j].entity == rows[i].entity; j++)
			;
		used = j - i;
		if (used > (size_t)e->vcpus_count) {
			vc_err_set(err, VC_EXIT_CONN,
				   Q_FAST ": %zu vCPUs belong to '%s', which has 'vcpus-count' %d",
				   used, e->qom_path, e->vcpus_count);
			goto out;
		}
		for (used = 0; used < j - i; used++) {
			struct topo_vcpu *v = &t->vcpus[e->first + used];

			if (!fill_vcpu(v, &rows[i + used])) {
				oom(err);
				goto out;
			}
			t->online++;
			if (e->removable)
				t->removable++;
		}
	}
	rc = 0;
out:
	free(idx);
	free(rows);
	return rc;
}

struct tid_pos {
	long tid;
	int index;
};

static int tid_cmp(const void *a, const void *b)
{
	const struct tid_pos *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int set_thread_warning(struct topology *t, struct vc_err *err,
			      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_thread_warning(struct topology *t, struct vc_err *err,
			      const char *fmt, ...)
{
	va_list ap;
	int rc;

	t->per_vcpu_threads = false;
	va_start(ap, fmt);
	rc = vasprintf(&t->thread_warning, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		t->thread_warning = NULL;
		return oom(err), -1;
	}
	return 0;
}

/* Per-vCPU tuning needs one host thread per vCPU.  Single-threaded TCG
 * reports QEMU's main thread (or one shared thread) for every vCPU. */
static int check_threads(struct topology *t, pid_t qemu_pid, struct vc_err *err)
{
	struct tid_pos *tids;
	size_t i, n = 0;
	int rc = 0;

	t->per_vcpu_threads = true;
	for (i = 0; i < t->n_vcpus; i++) {
		const struct topo_vcpu *v = &t->vcpus[i];

		if (!v->online)
			continue;
		if (v->thread_id < 0)
			return set_thread_warning(t, err,
				"vCPU %d: " Q_FAST " reports no thread-id: per-vCPU tuning is impossible",
				v->index);
		if (qemu_pid > 0 && v->thread_id == (long)qemu_pid)
			return set_thread_warning(t, err,
				"vCPU %d runs on QEMU's main thread %ld: QEMU runs no per-vCPU threads (single-threaded TCG?)",
				v->index, v->thread_id);
	}
	tids = calloc(t->n_vcpus ? t->n_vcpus : 1, sizeof(*tids));
	if (!tids)
		return oom(err), -1;
	for (i = 0; i < t->n_vcpus; i++) {
		if (!t->vcpus[i].online)
			continue;
		tids[n].tid = t->vcpus[i].thread_id;
		tids[n].index = t->vcpus[i].index;
		n++;
	}
	qsort(tids, n, sizeof(*tids), tid_cmp);
	for (i = 1; i < n; i++) {
		if (tids[i].tid != tids[i - 1].tid)
			continue;
		rc = set_thread_warning(t, err,
			"vCPUs %d and %d share host thread %ld: QEMU runs no per-vCPU threads (single-threaded TCG?)",
			tids[i - 1].index, tids[i].index, tids[i].tid);
		break;
	}
	free(tids);
	return rc;
}

/* Without query-cpus-fast, a plugged entity is taken to run all its vCPUs;
 * nothing is known about their threads, and nothing is claimed. */
static void assume_plugged_online(struct topology *t)
{
	size_t i;
	int k;

	t->per_vcpu_threads = false;
	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];

		if (!e->online)
			continue;
		for (k = 0; k < e->vcpus_count; k++)
			t->vcpus[e->first + k].online = true;
		t->online += e->vcpus_count;
		if (e->removable)
			t->removable += e->vcpus_count;
	}
}

/* The entities and every possible vCPU, offline until cpus-fast says
 * otherwise.  On failure t is freed. */
static int build_skeleton(struct topology *t, json_t *hotpluggable,
			  struct vc_err *err)
{
	size_t i;
	int k;

	memset(t, 0, sizeof(*t));
	if (build_entities(t, hotpluggable, err))
		goto fail;
	t->vcpus = calloc((size_t)t->max, sizeof(*t->vcpus));
	if (!t->vcpus) {
		oom(err);
		goto fail;
	}
	t->n_vcpus = (size_t)t->max;
	for (i = 0; i < t->n_ents; i++) {
		for (k = 0; k < t->ents[i].vcpus_count; k++) {
			struct topo_vcpu *v = &t->vcpus[t->ents[i].first + k];

			v->index = t->ents[i].first + k;
			v->entity = i;
			v->cpu_index = -1;
			v->thread_id = -1;
		}
	}
	return 0;
fail:
	topo_free(t);
	return -1;
}

/* Merge query-cpus-fast into a skeleton.  On failure t is freed. */
static int add_cpus_fast(struct topology *t, json_t *cpus_fast,
			 pid_t qemu_pid, struct vc_err *err)
{
	if (merge_fast(t, cpus_fast, err) || check_threads(t, qemu_pid, err)) {
		topo_free(t);
		return -1;
	}
	return 0;
}

int topo_build(struct topology *t, json_t *hotpluggable, json_t *cpus_fast,
	       pid_t qemu_pid, struct vc_err *err)
{
	if (build_skeleton(t, hotpluggable, err))
		return -1;
	if (!cpus_fast) {
		assume_plugged_online(t);
		return 0;
	}
	return add_cpus_fast(t, cpus_fast, qemu_pid, err);
}

/* One reply parsed at a time: with thousands of vCPUs each reply's tree
 * takes MiBs, and the first is not needed once its entities are built. */
int topo_query(struct qmp *q, struct topology *t, struct vc_err *err)
{
	json_t *hp, *cf;
	int rc;

	memset(t, 0, sizeof(*t));
	hp = qmp_call(q, Q_HOTPLUG, NULL, err);
	if (!hp)
		return -1;
	rc = build_skeleton(t, hp, err);
	json_decref(hp);
	if (rc)
		return -1;
	cf = qmp_call(q, Q_FAST, NULL, err);
	if (!cf) {
		topo_free(t);
		return -1;
	}
	rc = add_cpus_fast(t, cf, qmp_peer_pid(q), err);
	json_decref(cf);
	return rc;
}

int topo_query_hotpluggable(struct qmp *q, struct topology *t,
			    struct vc_err *err)
{
	json_t *hp;
	int rc;

	memset(t, 0, sizeof(*t));
	hp = qmp_call(q, Q_HOTPLUG, NULL, err);
	if (!hp)
		return -1;
	rc = topo_build(t, hp, NULL, qmp_peer_pid(q), err);
	json_decref(hp);
	return rc;
}

const struct topo_entity *topo_find_alias(const struct topology *t,
					  const char *alias)
{
	size_t i;

	for (i = 0; i < t->n_ents; i++) {
		const struct topo_entity *e = &t->ents[i];

		if ((e->alias && !strcmp(e->alias, alias)) ||
		    (e->qom_path && !strcmp(e->qom_path, alias)))
			return e;
	}
	return NULL;
}

const char *topo_entity_device_id(const struct topo_entity *e)
{
	return e->alias ? e->alias : e->qom_path;
}

unsigned topo_keys_present(const struct topology *t)
{
	unsigned mask = 0;
	size_t i;
	int k;

	for (i = 0; i < t->n_ents; i++)
		for (k = 0; k < TOPO_NKEYS; k++)
			if (t->ents[i].ids[k] >= 0)
				mask |= 1u << k;
	return mask;
}

bool topo_vcpu_removable(const struct topology *t, const struct topo_vcpu *v)
{
	return v->online && t->ents[v->entity].removable;
}

bool topo_vcpu_boot(const struct topology *t, const struct topo_vcpu *v)
{
	const struct topo_entity *e = &t->ents[v->entity];

	return e->online && !e->removable;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *int_or_null(long n)
{
	return n >= 0 ? json_integer(n) : json_null();
}

static json_t *vcpu_to_json(const struct topology *t, const struct topo_vcpu *v)
{
	const struct topo_entity *e = &t->ents[v->entity];
	json_t *topo = json_object(), *o;
	int k;

	if (!topo)
		return NULL;
	for (k = 0; k < TOPO_NODE; k++)
		if (e->ids[k] >= 0)
			json_object_set_new(topo, topo_key_name[k],
					    json_integer(e->ids[k]));
	o = json_object();
	if (!o) {
		json_decref(topo);
		return NULL;
	}
	json_object_set_new(o, "index", json_integer(v->index));
	json_object_set_new(o, "online", json_boolean(v->online));
	json_object_set_new(o, "removable", json_boolean(topo_vcpu_removable(t, v)));
	json_object_set_new(o, "boot", json_boolean(topo_vcpu_boot(t, v)));
	json_object_set_new(o, "entity_first", json_integer(e->first));
	json_object_set_new(o, "vcpus_per_entity", json_integer(e->vcpus_count));
	json_object_set_new(o, "alias", str_or_null(e->alias));
	json_object_set_new(o, "device_id",
			    str_or_null(e->online ? topo_entity_device_id(e) : NULL));
	json_object_set_new(o, "qom_path", str_or_null(v->qom_path));
	json_object_set_new(o, "type", json_string(e->type));
	json_object_set_new(o, "props", json_incref(e->props));
	json_object_set_new(o, "topology", topo);
	json_object_set_new(o, "node", int_or_null(e->ids[TOPO_NODE]));
	json_object_set_new(o, "cpu_index", int_or_null(v->cpu_index));
	json_object_set_new(o, "thread_id", int_or_null(v->thread_id));
	json_object_set_new(o, "target", str_or_null(v->target));
	json_object_set_new(o, "cpu_state", str_or_null(v->cpu_state));
	return o;
}

json_t *topo_to_json(const struct topology *t)
{
	json_t *doc, *vcpus, *keys, *v;
	unsigned mask = topo_keys_present(t);
	size_t i;
	int k;

	doc = json_object();
	vcpus = json_array();
	keys = json_array();
	if (!doc || !vcpus || !keys)
		goto fail;
	for (k = 0; k < TOPO_NKEYS; k++)
		if (mask & (1u << k))
			json_array_append_new(keys, json_string(topo_key_name[k]));
	for (i = 0; i < t->n_vcpus; i++) {
		v = vcpu_to_json(t, &t->vcpus[i]);
		if (!v || json_array_append_new(vcpus, v))
			goto fail;
	}
	json_object_set_new(doc, "online", json_integer(t->online));
	json_object_set_new(doc, "max", json_integer(t->max));
	json_object_set_new(doc, "removable", json_integer(t->removable));
	json_object_set_new(doc, "per_vcpu_threads", json_boolean(t->per_vcpu_threads));
	json_object_set_new(doc, "thread_warning", str_or_null(t->thread_warning));
	json_object_set_new(doc, "topology_keys", keys);
	json_object_set_new(doc, "vcpus", vcpus);
	return doc;
fail:
	json_decref(doc);
	json_decref(vcpus);
	json_decref(keys);
	return NULL;
}
