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

/* A query-cpus-fast entry while building. */
struct fast_row {
	size_t entity;
	long thread_n;       /* N of ".../thread[N]", -1 when the path has none */
	long cpu_index;
	long thread_id;      /* -1 when QEMU gave none */
	const char *qom_path; /* borrowed from the reply, or from buf */
	const char *target;
	const char *cpu_state;
	char *buf;           /* owned: the strings when read from text */
};

/* A reply's list: a jansson array, or its text in simple JSON
 * (jsonstream.h) with each element's bounds.  The text form spares the
 * tree, which for thousands of vCPUs costs tens of ms and MiBs. */
struct reply_list {
	json_t *arr;         /* borrowed or tree; NULL when text */
	json_t *tree;        /* owned: arr parsed from text that needed it */
	const char **el;     /* owned: el[i], el[i + 1]... element bounds */
	const char **el_end;
	size_t n;
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
	free(e->props_text);
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

#define KEY_IS(k, n, lit) ((n) == sizeof(lit) - 1 && !memcmp((k), lit, (n)))

/* The simple integer v[0, end) within [min, max] into *out. */
static bool text_int(const char *v, const char *end, long min, long max,
		     long *out)
{
	long long n = 0;
	const char *p = v + (*v == '-');

	if (p == end || *p < '0' || *p > '9')
		return false;
	for (; p < end; p++)
		n = n * 10 + (*p - '0');
	if (*v == '-')
		n = -n;
	if (n < min || n > max)
		return false;
	*out = (long)n;
	return true;
}

static char *text_dup(const char *s, size_t n)
{
	return strndup(s, n);
}

/* Props of the usual shape (scalars under distinct keys, ids integers in
 * range): the ids into ids[], and the compact JSON jansson would dump
 * into *text (new).  Returns 1, 0 when jansson must judge, -1 when out of
 * memory. */
static int text_props(const char *p, const char *end, long *ids, char **text)
{
	const char *keys[32], *key, *v, *vend;
	size_t klens[32], klen, nk = 0, j;
	char *buf, *o;
	int k;

	/* Compact text is never longer than the original. */
	buf = malloc((size_t)(end - p) + 1);
	if (!buf)
		return -1;
	o = buf;
	*o++ = '{';
	for (p++; (p = js_next_member(p, end, &vend)); p = vend) {
		v = js_member_value(p, end, &key, &klen);
		vend = js_skip_value(v, end);
		if (*v == '{' || *v == '[' || nk == sizeof(keys) / sizeof(keys[0]))
			goto fallback;
		for (j = 0; j < nk; j++)
			if (klens[j] == klen && !memcmp(keys[j], key, klen))
				goto fallback;
		keys[nk] = key;
		klens[nk++] = klen;
		/* Every topology key ends in "-id". */
		for (k = 0; klen > 3 && !memcmp(key + klen - 3, "-id", 3) &&
			    k < TOPO_NKEYS; k++)
			if (!strncmp(key, topo_key_prop[k], klen) &&
			    !topo_key_prop[k][klen] &&
			    !text_int(v, vend, 0, INT32_MAX, &ids[k]))
				goto fallback;
		if (nk > 1)
			*o++ = ',';
		*o++ = '"';
		memcpy(o, key, klen);
		o += klen;
		*o++ = '"';
		*o++ = ':';
		memcpy(o, v, (size_t)(vend - v));
		o += vend - v;
	}
	*o++ = '}';
	*o = '\0';
	*text = buf;
	return 1;
fallback:
	free(buf);
	return 0;
}

/* parse_entity() for an entry of simple JSON text p[0, end), on the
 * usual shape only.  Returns 1 with e filled, 0 when the entry needs
 * jansson (e untouched), -1 when out of memory. */
static int text_entity(const char *p, const char *end, struct topo_entity *e)
{
	const char *key, *v, *vend, *type = NULL, *path = NULL, *props = NULL;
	const char *props_end = NULL;
	long ids[TOPO_NKEYS], count = 0;
	size_t klen, tlen = 0, plen = 0;
	bool have_path = false;
	char *ptext = NULL;
	int k, r;

	if (*p != '{')
		return 0;
	for (p++; (p = js_next_member(p, end, &vend)); p = vend) {
		v = js_member_value(p, end, &key, &klen);
		vend = js_skip_value(v, end);
		if (KEY_IS(key, klen, "type")) {
			if (type || *v != '"' || vend - v < 3)
				return 0;
			type = v + 1;
			tlen = (size_t)(vend - v - 2);
		} else if (KEY_IS(key, klen, "vcpus-count")) {
			if (count || !text_int(v, vend, 1, TOPO_MAX_VCPUS, &count))
				return 0;
		} else if (KEY_IS(key, klen, "props")) {
			if (props || *v != '{')
				return 0;
			props = v;
			props_end = vend;
		} else if (KEY_IS(key, klen, "qom-path")) {
			if (have_path || (*v != '"' && *v != 'n'))
				return 0;
			have_path = true;
			if (*v == '"') {
				path = v + 1;
				plen = (size_t)(vend - v - 2);
			}
		}
	}
	if (!type || !count || !props)
		return 0;
	for (k = 0; k < TOPO_NKEYS; k++)
		ids[k] = -1;
	r = text_props(props, props_end, ids, &ptext);
	if (r <= 0)
		return r;
	memcpy(e->ids, ids, sizeof(ids));
	e->vcpus_count = (int)count;
	e->props_text = ptext;
	e->type = text_dup(type, tlen);
	if (!e->type)
		return -1;
	if (path) {
		e->qom_path = text_dup(path, plen);
		if (!e->qom_path)
			return -1;
		e->online = true;
		e->removable = removable_path(e->qom_path);
		e->alias = alias_of(e->qom_path);
	}
	return 1;
}

/* Element i of a list parsed alone (new reference; NULL when out of
 * memory: the text passed js_simple, so jansson accepts it). */
static json_t *list_elem_tree(const struct reply_list *l, size_t i)
{
	return json_loadb(l->el[i], (size_t)(l->el_end[i] - l->el[i]),
			  JSON_DECODE_ANY, NULL);
}

static bool list_is_array(const struct reply_list *l)
{
	return l->arr ? json_is_array(l->arr) : true;
}

/* Entry i of query-hotpluggable-cpus into e: as parse_entity(). */
static bool list_entity(const struct reply_list *l, size_t i,
			struct topo_entity *e, struct vc_err *err)
{
	json_t *row;
	bool ok;
	int r;

	if (l->arr)
		return parse_entity(json_array_get(l->arr, i), i, e, err);
	r = text_entity(l->el[i], l->el_end[i], e);
	if (r < 0)
		return oom(err);
	if (r > 0)
		return true;
	row = list_elem_tree(l, i);
	if (!row)
		return oom(err);
	ok = parse_entity(row, i, e, err);
	json_decref(row);
	return ok;
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

	if (!list_is_array(hp))
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
		if (!list_entity(hp, i, &slots[i].e, err))
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

/* Copy the row's strings into r->buf, for rows read from text: nothing
 * then borrows from a tree freed after the row is read. */
static bool own_row_strings(struct fast_row *r, const char *path, size_t plen,
			    const char *target, size_t tlen,
			    const char *state, size_t slen)
{
	char *o;

	r->buf = malloc(plen + tlen + slen + 3);
	if (!r->buf)
		return false;
	o = r->buf;
	memcpy(o, path, plen);
	o[plen] = '\0';
	r->qom_path = o;
	o += plen + 1;
	r->target = NULL;
	if (target) {
		memcpy(o, target, tlen);
		o[tlen] = '\0';
		r->target = o;
		o += tlen + 1;
	}
	r->cpu_state = NULL;
	if (state) {
		memcpy(o, state, slen);
		o[slen] = '\0';
		r->cpu_state = o;
	}
	return true;
}

static const char *text_opt_string(const char *v, const char *vend,
				   size_t *len, bool *ok)
{
	*len = 0;
	if (*v == 'n')
		return NULL;
	if (*v != '"') {
		*ok = false;
		return NULL;
	}
	*len = (size_t)(vend - v - 2);
	return v + 1;
}

/* parse_fast_row() for an entry of simple JSON text p[0, end), on the
 * usual shape only.  Returns 1 with r filled, 0 when the entry needs
 * jansson (r untouched), -1 when out of memory. */
static int text_fast_row(const struct path_ref *idx, size_t n_idx,
			 const char *p, const char *end, struct fast_row *r)
{
	const char *key, *v, *vend, *path = NULL, *target = NULL, *state = NULL;
	size_t klen, plen = 0, tlen = 0, slen = 0;
	long cpu_index = -1, thread_id = -1, ent;
	unsigned seen = 0, bit;
	bool ok = true;

	if (*p != '{')
		return 0;
	for (p++; (p = js_next_member(p, end, &vend)); p = vend) {
		v = js_member_value(p, end, &key, &klen);
		vend = js_skip_value(v, end);
		if (KEY_IS(key, klen, "qom-path")) {
			bit = 1;
			path = *v == '"' ? v + 1 : NULL;
			plen = (size_t)(vend - v - 2);
			ok = ok && path;
		} else if (KEY_IS(key, klen, "cpu-index")) {
			bit = 2;
			ok = ok && text_int(v, vend, 0, INT32_MAX, &cpu_index);
		} else if (KEY_IS(key, klen, "thread-id")) {
			bit = 4;
			ok = ok && text_int(v, vend, 1, INT32_MAX, &thread_id);
		} else if (KEY_IS(key, klen, "target")) {
			bit = 8;
			target = text_opt_string(v, vend, &tlen, &ok);
		} else if (KEY_IS(key, klen, "cpu-state")) {
			bit = 16;
			state = text_opt_string(v, vend, &slen, &ok);
		} else if (KEY_IS(key, klen, "props")) {
			bit = 32;
			ok = ok && *v == '{';
		} else {
			continue;
		}
		if (!ok || (seen & bit))
			return 0;
		seen |= bit;
	}
	if (!path || cpu_index < 0)
		return 0;
	if (!own_row_strings(r, path, plen, target, tlen, state, slen))
		return -1;
	ent = entity_of_path(idx, n_idx, r->qom_path);
	if (ent < 0) {
		free(r->buf);
		r->buf = NULL;
		return 0;
	}
	r->entity = (size_t)ent;
	r->cpu_index = cpu_index;
	r->thread_id = thread_id;
	r->thread_n = thread_suffix(r->qom_path);
	return 1;
}

/* Entry i of query-cpus-fast into r: as parse_fast_row(). */
static bool list_fast_row(const struct reply_list *l, size_t i,
			  const struct path_ref *idx, size_t n_idx,
			  struct fast_row *r, struct vc_err *err)
{
	json_t *row;
	bool ok;
	int rc;

	if (l->arr)
		return parse_fast_row(idx, n_idx, json_array_get(l->arr, i), i,
				      r, err);
	rc = text_fast_row(idx, n_idx, l->el[i], l->el_end[i], r);
	if (rc < 0)
		return oom(err);
	if (rc > 0)
		return true;
	row = list_elem_tree(l, i);
	if (!row)
		return oom(err);
	ok = parse_fast_row(idx, n_idx, row, i, r, err);
	if (ok && !own_row_strings(r, r->qom_path, strlen(r->qom_path),
				   r->target, r->target ? strlen(r->target) : 0,
				   r->cpu_state,
				   r->cpu_state ? strlen(r->cpu_state) : 0))
		ok = oom(err);
	json_decref(row);
	return ok;
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

static int merge_fast(struct topology *t, const struct reply_list *cf,
		      struct vc_err *err)
{
	struct vc_err dup = { 0 };
	struct path_ref *idx = NULL;
	struct fast_row *rows;
	size_t n, n_idx = 0, i, j, used;
	const struct topo_entity *e;
	int rc = -1;

	if (!list_is_array(cf))
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
		if (!list_fast_row(cf, i, idx, n_idx, &rows[i], err)) {
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
	for (i = 0; rows && i < n; i++)
		free(rows[i].buf);
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

static void list_of_tree(struct reply_list *l, json_t *arr)
{
	memset(l, 0, sizeof(*l));
	l->arr = arr;
	l->n = json_is_array(arr) ? json_array_size(arr) : 0;
}

/* A list from reply text.  Simple JSON is split into elements, each read
 * from the text later; anything else is parsed into a tree here.  Returns
 * 0, or -1 with err set when the text is not JSON or out of memory. */
static int list_of_text(struct reply_list *l, const char *text, size_t len,
			const char *query, struct vc_err *err)
{
	const char *end = text + len, *p, *vend;
	json_error_t jerr;
	size_t n = 0;

	memset(l, 0, sizeof(*l));
	p = js_skip_ws(text, end);
	if (!js_simple(text, len) || *p != '[') {
		l->tree = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
		if (!l->tree)
			return vc_err_set(err, VC_EXIT_CONN,
					  "%s: malformed JSON: %s", query, jerr.text);
		list_of_tree(l, l->tree);
		l->tree = l->arr;
		return 0;
	}
	for (p++; (p = js_next_member(p, end, &vend)); p = js_skip_value(p, end))
		n++;
	l->n = n;
	/* Longer lists are refused by their count alone. */
	if (n > TOPO_MAX_VCPUS)
		return 0;
	l->el = malloc(2 * (n ? n : 1) * sizeof(*l->el));
	if (!l->el)
		return oom(err), -1;
	l->el_end = l->el + n;
	n = 0;
	p = js_skip_ws(text, end);
	for (p++; (p = js_next_member(p, end, &vend)); p = l->el_end[n++]) {
		l->el[n] = p;
		l->el_end[n] = js_skip_value(p, end);
	}
	return 0;
}

static void list_free(struct reply_list *l)
{
	json_decref(l->tree);
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
	struct reply_list hp, cf;

	list_of_tree(&hp, hotpluggable);
	if (build_skeleton(t, &hp, err))
		return -1;
	if (!cpus_fast) {
		assume_plugged_online(t);
		return 0;
	}
	list_of_tree(&cf, cpus_fast);
	return add_cpus_fast(t, &cf, qemu_pid, err);
}

int topo_build_text(struct topology *t, const char *hotpluggable,
		    size_t hp_len, const char *cpus_fast, size_t cf_len,
		    pid_t qemu_pid, struct vc_err *err)
{
	struct reply_list hp, cf;
	int rc;

	memset(t, 0, sizeof(*t));
	if (list_of_text(&hp, hotpluggable, hp_len, Q_HOTPLUG, err))
		return -1;
	rc = build_skeleton(t, &hp, err);
	list_free(&hp);
	if (rc)
		return -1;
	if (!cpus_fast) {
		assume_plugged_online(t);
		return 0;
	}
	if (list_of_text(&cf, cpus_fast, cf_len, Q_FAST, err)) {
		topo_free(t);
		return -1;
	}
	rc = add_cpus_fast(t, &cf, qemu_pid, err);
	list_free(&cf);
	return rc;
}

/* Run query on q into l: from the reply's text when it is simple (the
 * usual case), else from its tree.  Returns 0 or -1 with err set. */
static int query_list(struct qmp *q, const char *query, struct reply_list *l,
		      struct vc_err *err)
{
	const char *text;
	json_t *val;
	size_t len;
	int r;

	r = qmp_call_text(q, query, NULL, &text, &len, &val, err);
	if (r < 0)
		return -1;
	if (r > 0)
		return list_of_text(l, text, len, query, err);
	list_of_tree(l, val);
	l->tree = val;
	return 0;
}

/* One reply read at a time, each from its text (see topo_build_text):
 * with thousands of vCPUs a reply's tree takes tens of ms and MiBs, and
 * the first is not needed once its entities are built.  The text lives in
 * q's buffer only until the next call, so each is consumed before the
 * next query. */
int topo_query(struct qmp *q, struct topology *t, struct vc_err *err)
{
	struct reply_list l;
	int rc;

	memset(t, 0, sizeof(*t));
	if (query_list(q, Q_HOTPLUG, &l, err))
		return -1;
	rc = build_skeleton(t, &l, err);
	list_free(&l);
	if (rc)
		return -1;
	if (query_list(q, Q_FAST, &l, err)) {
		topo_free(t);
		return -1;
	}
	rc = add_cpus_fast(t, &l, qmp_peer_pid(q), err);
	list_free(&l);
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

json_t *topo_entity_props(const struct topo_entity *e)
{
	if (e->props)
		return json_deep_copy(e->props);
	if (e->props_text)
		return json_loads(e->props_text, 0, NULL);
	return NULL;
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
	json_object_set_new(o, "props", e->props ? json_incref(e->props) :
			    topo_entity_props(e));
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
