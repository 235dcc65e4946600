/* topology.c - query-hotpluggable-cpus + query-cpus-fast -> one model.
 *
 * Both replies are read straight from their text (jsonstream.h), one
 * parser for every size: a jansson tree of thousands of vCPUs costs more
 * than everything else "vcpuctl show --json" does.  Every field is
 * checked before use: a reply of the wrong shape is reported naming the
 * query and the entry, never dereferenced.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcpuctl/jsonstream.h"
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

/* fast_row.entity of a vCPU being torn down (topology.h: leaving). */
#define ROW_LEAVING SIZE_MAX

/* A query-cpus-fast entry while building. */
struct fast_row {
	size_t entity;
	long thread_n;       /* N of ".../thread[N]", -1 when the path has none */
	long cpu_index;
	long thread_id;      /* -1 when QEMU gave none */
	char *qom_path;      /* owned, until handed to the vCPU */
	char *target;
	char *cpu_state;
};

/* A reply's list: its valid JSON text, and each element's bounds. */
struct reply_list {
	bool is_list;        /* the text is an array */
	const char **el;     /* owned: element i is el[2i] up to el[2i + 1] */
	size_t n;
};

/* One member of an entry: its value's bytes, v NULL when absent. */
struct field {
	const char *v;
	const char *end;
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

static void entity_clear(struct topo_entity *e)
{
	free(e->type);
	free(e->props);
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
	for (i = 0; i < t->n_leaving; i++)
		free(t->leaving[i]);
	free(t->leaving);
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

/* The members of the object p[0, end) named in names[0, n) into f[]:
 * the last of a repeated member counts, as in jansson. */
static void get_fields(const char *p, const char *end,
		       const char *const *names, size_t n, struct field *f)
{
	const char *key, *v, *vend;
	size_t klen, i;

	memset(f, 0, n * sizeof(*f));
	for (p++; (p = js_next_member(p, end, &vend)); p = vend) {
		v = js_member_value(p, end, &key, &klen);
		vend = js_skip_value(v, end);
		for (i = 0; i < n; i++) {
			if (js_key_is(key, klen, names[i])) {
				f[i].v = v;
				f[i].end = vend;
				break;
			}
		}
	}
}

/* "Optional string" fields: absent or null is fine (*out NULL), present
 * must be a string (*out new). */
static bool get_opt_string(const struct field *f, const char *key,
			   char **out, const char *query, size_t pos,
			   struct vc_err *err)
{
	*out = NULL;
	if (!f->v || *f->v == 'n')
		return true;
	if (*f->v != '"') {
		vc_err_set(err, VC_EXIT_CONN, "%s: entry %zu: '%s' is not a string",
			   query, pos, key);
		return false;
	}
	*out = js_string_dup(f->v, f->end);
	return *out ? true : oom(err);
}

/* The number f holds, if an integer: 1 with *out set, 0 when it is some
 * other value (a string, a real...), -1 when beyond long long. */
static int field_integer(const struct field *f, long long *out)
{
	const char *p = f->v + (*f->v == '-');
	unsigned long long n = 0, lim = *f->v == '-' ? 1ull + (unsigned long long)INT64_MAX
						   : (unsigned long long)INT64_MAX;

	if (p == f->end || *p < '0' || *p > '9')
		return 0;
	for (; p < f->end && *p >= '0' && *p <= '9'; p++) {
		if (n > (lim - (unsigned long long)(*p - '0')) / 10)
			return memchr(p, '.', (size_t)(f->end - p)) ||
			       memchr(p, 'e', (size_t)(f->end - p)) ||
			       memchr(p, 'E', (size_t)(f->end - p)) ? 0 : -1;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (p != f->end)
		return 0;   /* a fraction or an exponent: a real */
	*out = *f->v == '-' ? (long long)(0ull - n) : (long long)n;
	return 1;
}

/* Integer fields: *out = -1 when absent and !required.  where is "" or
 * "props." so a message names the field as the user would find it. */
static bool get_int(const struct field *f, const char *where, const char *key,
		    bool required, long min, long *out, const char *query,
		    size_t pos, struct vc_err *err)
{
	long long n = 0;
	int r;

	*out = -1;
	if (!f->v) {
		if (!required)
			return true;
		vc_err_set(err, VC_EXIT_CONN, "%s: entry %zu: '%s%s' is missing",
			   query, pos, where, key);
		return false;
	}
	r = field_integer(f, &n);
	if (r == 0) {
		vc_err_set(err, VC_EXIT_CONN, "%s: entry %zu: '%s%s' is not an integer",
			   query, pos, where, key);
		return false;
	}
	if (r < 0 || n < min || n > INT32_MAX) {
		vc_err_set(err, VC_EXIT_CONN,
			   "%s: entry %zu: '%s%s' is out of range: %.*s",
			   query, pos, where, key, (int)(f->end - f->v), f->v);
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
/* Keys as their bytes between quotes: equal once decoded. */
static bool keys_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	char *x, *y;
	bool eq;

	if (!memchr(a, '\\', alen) && !memchr(b, '\\', blen))
		return alen == blen && !memcmp(a, b, alen);
	x = malloc(alen + 1);
	y = malloc(blen + 1);
	eq = x && y && js_unescape(a, alen, x) == js_unescape(b, blen, y) &&
	     !strcmp(x, y);
	free(x);
	free(y);
	return eq;
}

/* At most this many props: QEMU sends up to nine, and the check for
 * repeated keys is pairwise. */
#define TOPO_MAX_PROPS 64

/* The props object f: its topology ids into ids[] and its compact text
 * into *text (new).  device_add gets the props back, so a key given twice
 * (which one would QEMU take?) is refused. */
static bool parse_props(const struct field *f, long *ids, char **text,
			size_t pos, struct vc_err *err)
{
	struct field id[TOPO_NKEYS];
	const char *key[TOPO_MAX_PROPS], *p, *vend;
	size_t klen[TOPO_MAX_PROPS], n = 0, i, j;
	char *end;
	int k;

	for (p = f->v + 1; (p = js_next_member(p, f->end, &vend));
	     p = js_skip_value(p, f->end)) {
		if (n == TOPO_MAX_PROPS) {
			vc_err_set(err, VC_EXIT_CONN,
				   Q_HOTPLUG ": entry %zu: 'props' has more than %d members",
				   pos, TOPO_MAX_PROPS);
			return false;
		}
		p = js_member_value(p, f->end, &key[n], &klen[n]);
		n++;
	}
	for (i = 1; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (!keys_equal(key[i], klen[i], key[j], klen[j]))
				continue;
			vc_err_set(err, VC_EXIT_CONN,
				   Q_HOTPLUG ": entry %zu: 'props' has the key '%.*s' twice",
				   pos, (int)klen[i], key[i]);
			return false;
		}
	}
	get_fields(f->v, f->end, topo_key_prop, TOPO_NKEYS, id);
	for (k = 0; k < TOPO_NKEYS; k++)
		if (!get_int(&id[k], "props.", topo_key_prop[k], false, 0,
			     &ids[k], Q_HOTPLUG, pos, err))
			return false;
	*text = malloc((size_t)(f->end - f->v) + 1);
	if (!*text)
		return oom(err);
	end = js_minify(f->v, f->end, *text);
	*end = '\0';
	return true;
}

enum { E_TYPE, E_COUNT, E_PROPS, E_PATH, E_NFIELDS };
static const char *const entity_fields[E_NFIELDS] = {
	"type", "vcpus-count", "props", "qom-path",
};

/* Entry pos of query-hotpluggable-cpus, p[0, end), into e. */
static bool parse_entity(const char *p, const char *end, size_t pos,
			 struct topo_entity *e, struct vc_err *err)
{
	struct field f[E_NFIELDS];
	char *path;
	long count;

	if (*p != '{') {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: not an object", pos);
		return false;
	}
	get_fields(p, end, entity_fields, E_NFIELDS, f);
	if (!f[E_TYPE].v) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'type' is missing", pos);
		return false;
	}
	if (!get_opt_string(&f[E_TYPE], "type", &e->type, Q_HOTPLUG, pos, err))
		return false;
	if (!e->type || !*e->type) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'type' is empty", pos);
		return false;
	}
	if (!get_int(&f[E_COUNT], "", "vcpus-count", true, INT32_MIN, &count,
		     Q_HOTPLUG, pos, err))
		return false;
	if (count < 1 || count > TOPO_MAX_VCPUS) {
		vc_err_set(err, VC_EXIT_CONN,
			   Q_HOTPLUG ": entry %zu: 'vcpus-count' is %ld, not a positive count",
			   pos, count);
		return false;
	}
	if (!f[E_PROPS].v) {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'props' is missing", pos);
		return false;
	}
	if (*f[E_PROPS].v != '{') {
		vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": entry %zu: 'props' is not an object", pos);
		return false;
	}
	if (!parse_props(&f[E_PROPS], e->ids, &e->props, pos, err) ||
	    !get_opt_string(&f[E_PATH], "qom-path", &path, Q_HOTPLUG, pos, err))
		return false;
	e->vcpus_count = (int)count;
	if (path) {
		e->qom_path = path;
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

static int build_entities(struct topology *t, const struct reply_list *hp,
			  struct vc_err *err)
{
	struct vc_err dup = { 0 };
	struct ent_slot *slots;
	size_t n, i;
	long total = 0;

	if (!hp->is_list)
		return vc_err_set(err, VC_EXIT_CONN, Q_HOTPLUG ": reply is not a list");
	n = hp->n;
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
		if (!parse_entity(hp->el[2 * i], hp->el[2 * i + 1], i, &slots[i].e, err))
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

enum { F_PATH, F_OLD_PATH, F_INDEX, F_TID, F_TARGET, F_STATE, F_PROPS,
       F_NFIELDS };
static const char *const fast_fields[F_NFIELDS] = {
	"qom-path", "qom_path", "cpu-index", "thread-id", "target",
	"cpu-state", "props",
};

/* Entry pos of query-cpus-fast, p[0, end), into r. */
static bool parse_fast_row(const struct path_ref *idx, size_t n_idx,
			   const char *p, const char *end, size_t pos,
			   struct fast_row *r, bool *disagree, struct vc_err *err)
{
	struct field f[F_NFIELDS];
	long ent;

	if (*p != '{') {
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: not an object", pos);
		return false;
	}
	get_fields(p, end, fast_fields, F_NFIELDS, f);
	if (!f[F_PATH].v) {
		/* The old query-cpus spelled its fields with underscores. */
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: 'qom-path' is missing%s",
			   pos, f[F_OLD_PATH].v ?
			   " (this looks like a reply to the old query-cpus)" : "");
		return false;
	}
	if (!get_opt_string(&f[F_PATH], "qom-path", &r->qom_path, Q_FAST, pos, err))
		return false;
	if (!r->qom_path) {
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: 'qom-path' is not a string", pos);
		return false;
	}
	if (!get_int(&f[F_INDEX], "", "cpu-index", true, 0, &r->cpu_index, Q_FAST, pos, err) ||
	    !get_int(&f[F_TID], "", "thread-id", false, 1, &r->thread_id, Q_FAST, pos, err) ||
	    !get_opt_string(&f[F_TARGET], "target", &r->target, Q_FAST, pos, err) ||
	    !get_opt_string(&f[F_STATE], "cpu-state", &r->cpu_state, Q_FAST, pos, err))
		return false;
	if (f[F_PROPS].v && *f[F_PROPS].v != '{') {
		vc_err_set(err, VC_EXIT_CONN, Q_FAST ": entry %zu: 'props' is not an object", pos);
		return false;
	}
	ent = entity_of_path(idx, n_idx, r->qom_path);
	if (ent < 0 && removable_path(r->qom_path)) {
		/* Under a device no longer plugged: being torn down. */
		r->entity = ROW_LEAVING;
		r->thread_n = thread_suffix(r->qom_path);
		return true;
	}
	if (ent < 0) {
		*disagree = true;
		vc_err_set(err, VC_EXIT_CONN,
			   Q_FAST ": entry %zu: qom-path '%s' belongs to no plugged entity of "
			   Q_HOTPLUG, pos, r->qom_path);
		return false;
	}
	r->entity = (size_t)ent;
	r->thread_n = thread_suffix(r->qom_path);
	return true;
}

static void fast_row_clear(struct fast_row *r)
{
	free(r->qom_path);
	free(r->target);
	free(r->cpu_state);
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

/* The row's strings move to the vCPU. */
static void fill_vcpu(struct topo_vcpu *v, struct fast_row *r)
{
	v->online = true;
	v->cpu_index = (int)r->cpu_index;
	v->thread_id = r->thread_id;
	v->qom_path = r->qom_path;
	v->target = r->target;
	v->cpu_state = r->cpu_state;
	r->qom_path = r->target = r->cpu_state = NULL;
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

/* The device a leaving vCPU's path lies under ("/machine/peripheral/ID"
 * of ".../ID/thread[1]") joins t->leaving, once. */
static int add_leaving(struct topology *t, const char *path)
{
	const char *id = path + (strncmp(path, PERIPHERAL, strlen(PERIPHERAL)) ?
				 strlen(PERIPHERAL_ANON) : strlen(PERIPHERAL));
	size_t len = (size_t)(strchrnul(id, '/') - path), i;
	char **n;

	t->n_leaving_vcpus++;
	for (i = 0; i < t->n_leaving; i++)
		if (strlen(t->leaving[i]) == len && !strncmp(t->leaving[i], path, len))
			return 0;
	n = realloc(t->leaving, (t->n_leaving + 1) * sizeof(*n));
	if (!n)
		return -1;
	t->leaving = n;
	n[t->n_leaving] = strndup(path, len);
	if (!n[t->n_leaving])
		return -1;
	t->n_leaving++;
	return 0;
}

static int merge_fast(struct topology *t, const struct reply_list *cf,
		      bool *disagree, struct vc_err *err)
{
	struct vc_err dup = { 0 };
	struct path_ref *idx = NULL;
	struct fast_row *rows;
	size_t n, n_idx = 0, i, j, used;
	const struct topo_entity *e;
	int rc = -1;

	if (!cf->is_list)
		return vc_err_set(err, VC_EXIT_CONN, Q_FAST ": reply is not a list");
	n = cf->n;
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
		if (!parse_fast_row(idx, n_idx, cf->el[2 * i], cf->el[2 * i + 1], i,
				    &rows[i], disagree, err)) {
			prefer_dup_error(check_fast_paths(rows, i, &dup), &dup, err);
			goto out;
		}
	}
	if (check_fast_paths(rows, n, err) < 0)
		goto out;
	qsort(rows, n, sizeof(*rows), fast_cmp);
	for (i = 0; i < n; i = j) {
		if (rows[i].entity == ROW_LEAVING) {
			if (add_leaving(t, rows[i].qom_path) < 0) {
				oom(err);
				goto out;
			}
			j = i + 1;
			continue;
		}
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

			fill_vcpu(v, &rows[i + used]);
			t->online++;
			if (e->removable)
				t->removable++;
		}
	}
	rc = 0;
out:
	free(idx);
	for (i = 0; rows && i < n; i++)
		fast_row_clear(&rows[i]);
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

/* A list from reply text (valid JSON when checked, else checked here),
 * split into its elements in one pass.  Returns 0, or -1 with err set
 * when the text is not JSON or out of memory. */
static int list_of_text(struct reply_list *l, const char *text, size_t len,
			bool checked, const char *query, struct vc_err *err)
{
	const char *end = text + len, *p, *vend, **el;
	size_t cap = 0, bad;

	memset(l, 0, sizeof(*l));
	if (!checked && !js_valid(text, len, &bad))
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: malformed JSON at byte %zu", query, bad);
	p = js_skip_ws(text, end);
	if (*p != '[')
		return 0;
	l->is_list = true;
	for (p++; (p = js_next_member(p, end, &vend)); p = l->el[2 * l->n++ + 1]) {
		/* Longer lists are refused by their count alone. */
		if (l->n > TOPO_MAX_VCPUS)
			return 0;
		if (l->n == cap) {
			cap = cap ? 2 * cap : 64;
			el = realloc(l->el, 2 * cap * sizeof(*el));
			if (!el)
				return oom(err), -1;
			l->el = el;
		}
		l->el[2 * l->n] = p;
		l->el[2 * l->n + 1] = js_skip_value(p, end);
	}
	return 0;
}

static void list_free(struct reply_list *l)
{
	free(l->el);
	memset(l, 0, sizeof(*l));
}

/* The entities and every possible vCPU, offline until cpus-fast says
 * otherwise.  On failure t is freed. */
static int build_skeleton(struct topology *t, const struct reply_list *hotpluggable,
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
static int add_cpus_fast(struct topology *t, const struct reply_list *cpus_fast,
			 pid_t qemu_pid, bool *disagree, struct vc_err *err)
{
	if (merge_fast(t, cpus_fast, disagree, err) ||
	    check_threads(t, qemu_pid, err)) {
		topo_free(t);
		return -1;
	}
	return 0;
}

/* The skeleton from query-hotpluggable-cpus' text.  On failure t is
 * empty. */
static int skeleton_of_text(struct topology *t, const char *text, size_t len,
			    bool checked, struct vc_err *err)
{
	struct reply_list l;
	int rc;

	memset(t, 0, sizeof(*t));
	if (list_of_text(&l, text, len, checked, Q_HOTPLUG, err))
		return -1;
	rc = build_skeleton(t, &l, err);
	list_free(&l);
	return rc;
}

/* query-cpus-fast's text into a skeleton.  On failure t is freed. */
static int fast_of_text(struct topology *t, const char *text, size_t len,
			bool checked, pid_t qemu_pid, bool *disagree,
			struct vc_err *err)
{
	struct reply_list l;
	int rc;

	if (list_of_text(&l, text, len, checked, Q_FAST, err)) {
		topo_free(t);
		return -1;
	}
	rc = add_cpus_fast(t, &l, qemu_pid, disagree, err);
	list_free(&l);
	return rc;
}

int topo_build(struct topology *t, const char *hotpluggable, size_t hp_len,
	       const char *cpus_fast, size_t cf_len, pid_t qemu_pid,
	       struct vc_err *err)
{
	if (skeleton_of_text(t, hotpluggable, hp_len, false, err))
		return -1;
	if (!cpus_fast) {
		assume_plugged_online(t);
		return 0;
	}
	bool disagree = false;

	return fast_of_text(t, cpus_fast, cf_len, false, qemu_pid, &disagree,
			    err);
}

int topo_build_json(struct topology *t, json_t *hotpluggable,
		    json_t *cpus_fast, pid_t qemu_pid, struct vc_err *err)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	char *hp, *cf = NULL;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	hp = json_dumps(hotpluggable, flags);
	if (cpus_fast)
		cf = json_dumps(cpus_fast, flags);
	if (!hp || (cpus_fast && !cf))
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	else
		rc = topo_build(t, hp, strlen(hp), cf, cf ? strlen(cf) : 0,
				qemu_pid, err);
	free(hp);
	free(cf);
	return rc;
}

/* One reply read at a time: its text lives in q's buffer only until the
 * next call, so each is consumed before the next query.  *disagree tells
 * a query-cpus-fast row that matches nothing at all. */
static int query_skeleton(struct qmp *q, struct topology *t,
			  struct vc_err *err)
{
	const char *text;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (qmp_call_text(q, Q_HOTPLUG, NULL, &text, &len, err) < 0)
		return -1;
	return skeleton_of_text(t, text, len, true, err);
}

static int query_both(struct qmp *q, struct topology *t, bool *disagree,
		      struct vc_err *err)
{
	const char *text;
	size_t len;

	if (query_skeleton(q, t, err) < 0)
		return -1;
	if (qmp_call_text(q, Q_FAST, NULL, &text, &len, err) < 0) {
		topo_free(t);
		return -1;
	}
	return fast_of_text(t, text, len, true, qmp_peer_pid(q), disagree, err);
}

/* A row of neither a plugged entity nor a device being removed may be a
 * race of another kind: both replies are read again a few times, 20 ms
 * apart, before the disagreement is reported. */
#define TOPO_READS 4
#define TOPO_REREAD_MS 20

int topo_query(struct qmp *q, struct topology *t, struct vc_err *err)
{
	const struct timespec pause = { 0, TOPO_REREAD_MS * 1000000L };
	bool disagree = false;
	int i, rc = -1;

	for (i = 0; i < TOPO_READS; i++) {
		if (i)
			nanosleep(&pause, NULL);
		disagree = false;
		rc = query_both(q, t, &disagree, err);
		if (rc == 0 || !disagree)
			return rc;
	}
	vc_err_prefix(err, "%d reads of both replies in %d ms", TOPO_READS,
		      (TOPO_READS - 1) * TOPO_REREAD_MS);
	return rc;
}

bool topo_leaving(const struct topology *t, const char *device_path)
{
	size_t i;

	for (i = 0; device_path && i < t->n_leaving; i++)
		if (!strcmp(t->leaving[i], device_path))
			return true;
	return false;
}

int topo_query_hotpluggable(struct qmp *q, struct topology *t,
			    struct vc_err *err)
{
	if (query_skeleton(q, t, err) < 0)
		return -1;
	assume_plugged_online(t);
	return 0;
}

json_t *topo_entity_props(const struct topo_entity *e)
{
	return e->props ? json_loads(e->props, 0, NULL) : NULL;
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
	json_object_set_new(o, "props", topo_entity_props(e));
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

