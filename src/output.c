/* output.c - the field table of each kind of row, and the documents and
 * summary lines around them (output.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcpuctl/output.h"
#include "vcpuctl/report.h"
#include "vcpuctl/util.h"

#define FIELDS(a) { (a), sizeof(a) / sizeof((a)[0]) }

/* "vCPU 4" or "vCPUs 4-7". */
static const char *range_text(char *buf, size_t size, int first, int count)
{
	if (count == 1)
		snprintf(buf, size, "vCPU %d", first);
	else
		snprintf(buf, size, "vCPUs %d-%d", first, first + count - 1);
	return buf;
}

/* ---- show: one row per vCPU ------------------------------------------ */

struct show_ctx {
	const struct out_show *s;
	unsigned keys;        /* topology keys present */
	bool cpu_state;       /* some vCPU reports one */
};

#define SHOW(c) (((const struct show_ctx *)(c))->s)
#define VCPU(c, i) (&SHOW(c)->t->vcpus[i])
#define ENT(c, i) (&SHOW(c)->t->ents[VCPU(c, i)->entity])

static void get_index(const void *c, size_t i, struct fv *v)
{
	fv_int(v, VCPU(c, i)->index);
}

static void get_online(const void *c, size_t i, struct fv *v)
{
	fv_bool(v, VCPU(c, i)->online);
}

/* The recorded removal of an online vCPU, or NULL. */
static const struct pending_entry *vcpu_removal(const void *c, size_t i)
{
	if (!SHOW(c)->pend || !VCPU(c, i)->online)
		return NULL;
	return pending_find(SHOW(c)->pend, VCPU(c, i)->index);
}

static const char *text_state(const void *c, size_t i, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	if (vcpu_removal(c, i))
		return "removing";
	return VCPU(c, i)->online ? "online" : "offline";
}

/* {"requested_at": "2026-12-02T00:40:00Z", "age_s": 40, "overdue": false}
 * or null. */
static void get_removal(const void *c, size_t i, struct fv *v)
{
	const struct pending_entry *e = vcpu_removal(c, i);
	int64_t now = SHOW(c)->now;
	time_t at;
	struct tm tm;
	char when[32];

	if (!e) {
		v->kind = FV_NULL;
		return;
	}
	at = (time_t)e->requested_at;
	if (!gmtime_r(&at, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "?");
	snprintf(v->buf, sizeof(v->buf),
		 "{\"requested_at\":\"%s\",\"age_s\":%lld,\"overdue\":%s}", when,
		 (long long)pending_age_s(e, now), pending_overdue(e, now) ? "true" : "false");
	v->kind = FV_RAW;
	v->s = v->buf;
}

static void get_removable(const void *c, size_t i, struct fv *v)
{
	fv_bool(v, topo_vcpu_removable(SHOW(c)->t, VCPU(c, i)));
}

static const char *text_removable(const void *c, size_t i, char *buf, size_t size)
{
	const struct topo_vcpu *vc = VCPU(c, i);

	(void)buf;
	(void)size;
	if (!vc->online)
		return NULL;
	if (topo_vcpu_removable(SHOW(c)->t, vc))
		return "yes";
	return topo_vcpu_boot(SHOW(c)->t, vc) ? "boot" : "no";
}

static void get_boot(const void *c, size_t i, struct fv *v)
{
	fv_bool(v, topo_vcpu_boot(SHOW(c)->t, VCPU(c, i)));
}

static void get_entity_first(const void *c, size_t i, struct fv *v)
{
	fv_int(v, ENT(c, i)->first);
}

static void get_vcpus_per_entity(const void *c, size_t i, struct fv *v)
{
	fv_int(v, ENT(c, i)->vcpus_count);
}

static void get_alias(const void *c, size_t i, struct fv *v)
{
	fv_str(v, ENT(c, i)->alias);
}

static void get_device_id(const void *c, size_t i, struct fv *v)
{
	const struct topo_entity *e = ENT(c, i);

	fv_str(v, e->online ? topo_entity_device_id(e) : NULL);
}

static void get_qom_path(const void *c, size_t i, struct fv *v)
{
	fv_str(v, VCPU(c, i)->qom_path);
}

static void get_type(const void *c, size_t i, struct fv *v)
{
	if (ENT(c, i)->type)
		fv_str(v, ENT(c, i)->type);
}

/* Verbatim, unless an escape or a byte beyond ASCII needs jansson's
 * spelling (the document is ASCII throughout). */
static void get_props(const void *c, size_t i, struct fv *v)
{
	const struct topo_entity *e = ENT(c, i);
	const unsigned char *p;

	if (!e->props)
		return;
	for (p = (const unsigned char *)e->props; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '\\')
			break;
	if (!*p) {
		v->kind = FV_RAW;
		v->s = e->props;
		return;
	}
	v->kind = FV_JSON;
	v->owned = true;
	v->json = topo_entity_props(e);
}

/* "KEY":N at p, and the end.  Not snprintf: at 4096 vCPUs formatting
 * this object that way cost a tenth of all 'show --json' did. */
static char *put_id(char *p, bool comma, const char *key, size_t klen,
		    long n)
{
	if (comma)
		*p++ = ',';
	*p++ = '"';
	memcpy(p, key, klen);
	p += klen;
	*p++ = '"';
	*p++ = ':';
	return p + vc_fmt_ll(p, n);
}

/* {"socket": 1, "core": 0, ...}: the keys present, node excluded. */
static void get_topology(const void *c, size_t i, struct fv *v)
{
	const struct topo_entity *e = ENT(c, i);
	char *p = v->buf;
	int k;

	*p++ = '{';
	for (k = 0; k < TOPO_NODE; k++) {
		size_t klen = strlen(topo_key_name[k]);

		/* ,"KEY": and the digits, then room for "}" and NUL */
		if (e->ids[k] < 0 || (size_t)(v->buf + FV_BUF - p) <
				     klen + 4 + VC_LL_DIGITS + 2)
			continue;
		p = put_id(p, p > v->buf + 1, topo_key_name[k], klen, e->ids[k]);
	}
	*p++ = '}';
	*p = '\0';
	v->kind = FV_RAW;
	v->s = v->buf;
}

static void get_key(const void *c, size_t i, struct fv *v, int key)
{
	fv_int_or_null(v, ENT(c, i)->ids[key]);
}

#define KEY_GETTER(name, key) \
	static void get_##name(const void *c, size_t i, struct fv *v) \
	{ get_key(c, i, v, key); }
KEY_GETTER(drawer, TOPO_DRAWER)
KEY_GETTER(book, TOPO_BOOK)
KEY_GETTER(socket, TOPO_SOCKET)
KEY_GETTER(die, TOPO_DIE)
KEY_GETTER(cluster, TOPO_CLUSTER)
KEY_GETTER(module, TOPO_MODULE)
KEY_GETTER(core, TOPO_CORE)
KEY_GETTER(thread, TOPO_THREAD)
KEY_GETTER(node, TOPO_NODE)

static bool key_shown(const void *c, const struct field *f)
{
	return ((const struct show_ctx *)c)->keys & (1u << f->arg);
}

static void get_cpu_index(const void *c, size_t i, struct fv *v)
{
	fv_int_or_null(v, VCPU(c, i)->cpu_index);
}

static void get_thread_id(const void *c, size_t i, struct fv *v)
{
	fv_int_or_null(v, VCPU(c, i)->thread_id);
}

static void get_target(const void *c, size_t i, struct fv *v)
{
	fv_str(v, VCPU(c, i)->target);
}

static void get_cpu_state(const void *c, size_t i, struct fv *v)
{
	fv_str(v, VCPU(c, i)->cpu_state);
}

static bool cpu_state_shown(const void *c, const struct field *f)
{
	(void)f;
	return ((const struct show_ctx *)c)->cpu_state;
}

static void get_affinity(const void *c, size_t i, struct fv *v)
{
	if (SHOW(c)->info)
		fv_str(v, SHOW(c)->info[i].affinity);
}

static void get_sched(const void *c, size_t i, struct fv *v)
{
	if (SHOW(c)->info)
		fv_str(v, SHOW(c)->info[i].sched);
}

static void get_cgroup(const void *c, size_t i, struct fv *v)
{
	if (SHOW(c)->info)
		fv_str(v, SHOW(c)->info[i].cgroup);
}

static bool info_shown(const void *c, const struct field *f)
{
	(void)f;
	return SHOW(c)->info != NULL;
}

/* {"cpu": N, "online": bool, "can_offline": bool}, or null when the guest
 * does not list the vCPU or the match is unknown. */
static void get_guest(const void *c, size_t i, struct fv *v)
{
	const struct agent_gcpu *g;

	if (!SHOW(c)->guest)
		return;
	g = gmap_view_vcpu(SHOW(c)->guest, VCPU(c, i)->index);
	if (!g) {
		v->kind = FV_NULL;
		return;
	}
	snprintf(v->buf, sizeof(v->buf), "{\"cpu\":%d,\"online\":%s,\"can_offline\":%s}",
		 g->logical_id, g->online ? "true" : "false",
		 g->can_offline ? "true" : "false");
	v->kind = FV_RAW;
	v->s = v->buf;
}

static void get_guest_mismatch(const void *c, size_t i, struct fv *v)
{
	if (SHOW(c)->guest)
		fv_bool(v, gmap_view_mismatch(SHOW(c)->guest, SHOW(c)->t,
					       VCPU(c, i)->index));
}

/* JSON order is entry order; table columns go by col. */
static const struct field vcpu_fields[] = {
	{ .key = "index", .header = "INDEX", .type = FT_INT, .right = true,
	  .get = get_index, .col = 0, .help = "vCPU index, as add, del and tune take it" },
	{ .key = "online", .header = "STATE", .type = FT_BOOL, .get = get_online,
	  .text = text_state, .col = 30,
	  .help = "online, offline, or removing (a recorded removal QEMU still lists)" },
	{ .key = "removable", .header = "REMOVABLE", .type = FT_BOOL,
	  .get = get_removable, .text = text_removable, .col = 31,
	  .help = "yes, no, or boot for a CPU QEMU started with" },
	{ .key = "boot", .type = FT_BOOL, .get = get_boot },
	{ .key = "entity_first", .type = FT_INT, .get = get_entity_first },
	{ .key = "vcpus_per_entity", .type = FT_INT, .get = get_vcpus_per_entity },
	{ .key = "alias", .header = "ALIAS", .type = FT_STRING, .get = get_alias,
	  .col = 32, .help = "device id of the plugged entity" },
	{ .key = "device_id", .type = FT_STRING, .get = get_device_id },
	{ .key = "qom_path", .header = "QOM-PATH", .type = FT_STRING,
	  .flags = FIELD_HIDDEN, .get = get_qom_path, .col = 50,
	  .help = "the vCPU's QOM path" },
	{ .key = "type", .header = "TYPE", .type = FT_STRING, .flags = FIELD_HIDDEN,
	  .get = get_type, .col = 51, .help = "QOM type of the entity" },
	{ .key = "props", .type = FT_OBJECT, .get = get_props },
	{ .key = "topology", .type = FT_OBJECT, .get = get_topology },
	{ .header = "DRAWER", .right = true, .get = get_drawer, .shown = key_shown,
	  .arg = TOPO_DRAWER, .col = 1, .help = "drawer-id" },
	{ .header = "BOOK", .right = true, .get = get_book, .shown = key_shown,
	  .arg = TOPO_BOOK, .col = 2, .help = "book-id" },
	{ .header = "SOCKET", .right = true, .get = get_socket, .shown = key_shown,
	  .arg = TOPO_SOCKET, .col = 3, .help = "socket-id" },
	{ .header = "DIE", .right = true, .get = get_die, .shown = key_shown,
	  .arg = TOPO_DIE, .col = 4, .help = "die-id" },
	{ .header = "CLUSTER", .right = true, .get = get_cluster, .shown = key_shown,
	  .arg = TOPO_CLUSTER, .col = 5, .help = "cluster-id" },
	{ .header = "MODULE", .right = true, .get = get_module, .shown = key_shown,
	  .arg = TOPO_MODULE, .col = 6, .help = "module-id" },
	{ .header = "CORE", .right = true, .get = get_core, .shown = key_shown,
	  .arg = TOPO_CORE, .col = 7, .help = "core-id" },
	{ .header = "THREAD", .right = true, .get = get_thread, .shown = key_shown,
	  .arg = TOPO_THREAD, .col = 8, .help = "thread-id (of the topology)" },
	{ .key = "node", .header = "NODE", .type = FT_INT, .right = true,
	  .get = get_node, .shown = key_shown, .arg = TOPO_NODE, .col = 9,
	  .help = "NUMA node" },
	{ .key = "cpu_index", .header = "CPU-INDEX", .type = FT_INT, .right = true,
	  .flags = FIELD_HIDDEN, .get = get_cpu_index, .col = 52,
	  .help = "QEMU's cpu-index" },
	{ .key = "thread_id", .header = "HOST-TID", .type = FT_INT, .right = true,
	  .get = get_thread_id, .col = 33, .help = "the vCPU's host thread" },
	{ .key = "target", .header = "TARGET", .type = FT_STRING,
	  .flags = FIELD_HIDDEN, .get = get_target, .col = 53,
	  .help = "QEMU's target (x86_64, ppc64...)" },
	{ .key = "cpu_state", .header = "CPU-STATE", .type = FT_STRING,
	  .get = get_cpu_state, .shown = cpu_state_shown, .col = 40,
	  .help = "s390x CPU state" },
	{ .key = "affinity", .header = "AFFINITY", .type = FT_STRING,
	  .get = get_affinity, .shown = info_shown, .col = 34,
	  .help = "host CPUs the thread may run on" },
	{ .key = "sched", .header = "SCHED", .type = FT_STRING, .get = get_sched,
	  .shown = info_shown, .col = 35, .help = "scheduler policy of the thread" },
	{ .key = "cgroup", .header = "CGROUP", .type = FT_STRING, .get = get_cgroup,
	  .shown = info_shown, .col = 36, .help = "cgroup of the thread" },
	{ .key = "guest", .type = FT_OBJECT, .get = get_guest },
	{ .key = "guest_mismatch", .type = FT_BOOL, .get = get_guest_mismatch },
	{ .key = "removal", .type = FT_OBJECT, .get = get_removal },
};

const struct field_set out_vcpu_fields = FIELDS(vcpu_fields);

static void show_ctx_init(struct show_ctx *c, const struct out_show *s)
{
	size_t i;

	c->s = s;
	c->keys = topo_keys_present(s->t);
	c->cpu_state = false;
	for (i = 0; i < s->t->n_vcpus; i++)
		if (s->t->vcpus[i].cpu_state)
			c->cpu_state = true;
}

static void out_topology_summary(const struct topology *t, char *buf, size_t size)
{
	snprintf(buf, size, "online %d of %d vCPUs, %d removable",
		 t->online, t->max, t->removable);
}

size_t out_pending_vcpus(const struct pending *p)
{
	size_t i, n = 0;

	for (i = 0; p && i < p->n; i++)
		n += (size_t)p->e[i].count;
	return n;
}

void out_pending_summary(const struct pending *p, int64_t now, char *buf,
			 size_t size)
{
	const struct pending_entry *oldest = NULL, *overdue = NULL;
	size_t i, n = out_pending_vcpus(p);
	char secs[32];
	int len;

	buf[0] = '\0';
	if (!n)
		return;
	for (i = 0; i < p->n; i++) {
		if (!oldest || p->e[i].requested_at < oldest->requested_at)
			oldest = &p->e[i];
		if (pending_overdue(&p->e[i], now) &&
		    (!overdue || p->e[i].timeout_ms < overdue->timeout_ms))
			overdue = &p->e[i];
	}
	len = snprintf(buf, size, "%zu removal%s pending for %lld s", n,
		       n == 1 ? "" : "s", (long long)pending_age_s(oldest, now));
	if (overdue && len > 0 && (size_t)len < size) {
		vc_fmt_secs(secs, sizeof(secs), (int)overdue->timeout_ms);
		snprintf(buf + len, size - (size_t)len,
			 ", overdue: past the %s s timeout of the command that asked", secs);
	}
}

/* ---- guest NUMA nodes: one row per node -------------------------------- */

struct nodes_ctx {
	struct plan_node *n;
	size_t k;
};

#define NODE(c, i) (&((const struct nodes_ctx *)(c))->n[i])

static void get_n_node(const void *c, size_t i, struct fv *v)
{
	fv_int(v, NODE(c, i)->node);
}

static void get_n_online(const void *c, size_t i, struct fv *v)
{
	fv_int(v, NODE(c, i)->online);
}

static void get_n_to(const void *c, size_t i, struct fv *v)
{
	fv_int(v, NODE(c, i)->to);
}

static void get_n_max(const void *c, size_t i, struct fv *v)
{
	fv_int(v, NODE(c, i)->max);
}

static void get_n_removable(const void *c, size_t i, struct fv *v)
{
	fv_int(v, NODE(c, i)->removable);
}

/* show and count: "node 1: online 3 of 4 vCPUs, 2 removable". */
static const struct field node_fields[] = {
	{ .key = "node", .type = FT_INT, .get = get_n_node, .line = "node %s: " },
	{ .key = "online", .type = FT_INT, .get = get_n_online, .line = "online %s " },
	{ .key = "max", .type = FT_INT, .get = get_n_max, .line = "of %s vCPUs, " },
	{ .key = "removable", .type = FT_INT, .get = get_n_removable,
	  .line = "%s removable" },
};

static const struct field_set out_node_fields = FIELDS(node_fields);

/* plan: each node's count before and after. */
static const struct field plan_node_fields[] = {
	{ .key = "node", .type = FT_INT, .get = get_n_node },
	{ .key = "online", .type = FT_INT, .get = get_n_online },
	{ .key = "to", .type = FT_INT, .get = get_n_to },
	{ .key = "max", .type = FT_INT, .get = get_n_max },
};

static const struct field_set out_plan_node_fields = FIELDS(plan_node_fields);

/* The node rows of t, with each node's count after p when p is given. */
static int nodes_ctx_init(struct nodes_ctx *c, const struct topology *t,
			  const struct plan *p)
{
	if (plan_nodes(t, &c->n, &c->k) < 0)
		return -1;
	if (p)
		plan_nodes_after(p, c->n, c->k);
	return 0;
}

int out_nodes_text(const struct topology *t, FILE *f)
{
	struct nodes_ctx c;
	size_t i;

	if (nodes_ctx_init(&c, t, NULL) < 0)
		return -1;
	for (i = 0; i < c.k; i++)
		fields_line(&out_node_fields, &c, i, f);
	free(c.n);
	return 0;
}

/* "nodes": [...]; an empty array when the VM reports none. */
static int nodes_rows(struct jw *w, const struct topology *t,
		      const struct plan *p)
{
	struct nodes_ctx c;

	if (nodes_ctx_init(&c, t, p) < 0)
		return -1;
	jw_rows(w, "nodes", p ? &out_plan_node_fields : &out_node_fields, &c, c.k);
	free(c.n);
	return 0;
}

int out_count_doc(FILE *f, const struct topology *t, const struct pending *pend)
{
	struct jw *w = jw_new(f);
	int rc;

	if (!w)
		return -1;
	jw_begin_object(w);
	jw_int(w, "online", t->online);
	jw_int(w, "max", t->max);
	jw_int(w, "removable", t->removable);
	jw_int(w, "pending", (long long)out_pending_vcpus(pend));
	rc = nodes_rows(w, t, NULL);
	jw_end_object(w);
	jw_newline(w);
	return jw_end(w) < 0 || rc < 0 ? -1 : 0;
}

int out_show_table(const struct out_show *s, const char *columns, FILE *f,
		   struct vc_err *err)
{
	struct field_cols cols;
	struct show_ctx c;
	char summary[192];

	show_ctx_init(&c, s);
	if (fields_select(&out_vcpu_fields, columns, &c, &cols, err) < 0)
		return -1;
	if (fields_table(&cols, &c, s->t->n_vcpus, f) < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "writing the table failed");
	out_topology_summary(s->t, summary, sizeof(summary));
	fprintf(f, "%s\n", summary);
	out_pending_summary(s->pend, s->now, summary, sizeof(summary));
	if (summary[0])
		fprintf(f, "%s\n", summary);
	if (out_nodes_text(s->t, f) < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	return 0;
}

int out_topology_table(const struct topology *t, FILE *f)
{
	struct out_show s = { .t = t };
	struct vc_err err;

	return out_show_table(&s, NULL, f, &err);
}

/* The guest CPUs v's guest reports online. */
static size_t guest_online(const struct gmap_view *v)
{
	size_t i, online = 0;

	for (i = 0; i < v->guest.n; i++)
		online += v->guest.cpus[i].online;
	return online;
}

static void guest_summary(struct jw *w, const struct out_show *s)
{
	const struct gmap_view *v = s->guest;
	size_t i;

	jw_key(w, "guest_agent");
	jw_begin_object(w);
	if (!v) {
		jw_string(w, "error", s->guest_error);
		jw_end_object(w);
		return;
	}
	jw_string(w, "mapping", gmap_how_name(v->how));
	jw_string(w, "note", v->note);
	jw_int(w, "online", (long long)guest_online(v));
	jw_int(w, "cpus", (long long)v->guest.n);
	if (v->how == GMAP_NONE) {
		jw_string(w, "mismatch", NULL);
	} else {
		jw_key(w, "mismatch");
		jw_begin_array(w);
		for (i = 0; i < s->t->n_vcpus; i++)
			if (gmap_view_mismatch(v, s->t, s->t->vcpus[i].index))
				jw_int(w, NULL, s->t->vcpus[i].index);
		jw_end_array(w);
	}
	jw_end_object(w);
}

int out_show_doc(const struct out_show *s, FILE *f)
{
	const struct topology *t = s->t;
	struct show_ctx c;
	struct jw *w = jw_new(f);
	int k, rc;

	if (!w)
		return -1;
	show_ctx_init(&c, s);
	jw_begin_object(w);
	jw_key(w, "qemu");
	jw_begin_object(w);
	jw_string(w, "version", s->version ? s->version : "");
	jw_string(w, "package", s->package ? s->package : "");
	jw_end_object(w);
	jw_int(w, "online", t->online);
	jw_int(w, "max", t->max);
	jw_int(w, "removable", t->removable);
	jw_bool(w, "per_vcpu_threads", t->per_vcpu_threads);
	jw_string(w, "thread_warning", t->thread_warning);
	jw_key(w, "topology_keys");
	jw_begin_array(w);
	for (k = 0; k < TOPO_NKEYS; k++)
		if (c.keys & (1u << k))
			jw_string(w, NULL, topo_key_name[k]);
	jw_end_array(w);
	jw_rows(w, "vcpus", &out_vcpu_fields, &c, t->n_vcpus);
	if (s->guest || s->guest_error)
		guest_summary(w, s);
	jw_int(w, "pending", (long long)out_pending_vcpus(s->pend));
	rc = nodes_rows(w, t, NULL);
	jw_end_object(w);
	jw_newline(w);
	return jw_end(w) < 0 || rc < 0 ? -1 : 0;
}

int out_show_json(const struct topology *t, const char *version,
		  const char *package, const struct tune_thread_info *info,
		  FILE *f)
{
	struct out_show s = { .t = t, .info = info, .version = version,
			      .package = package };

	return out_show_doc(&s, f);
}

static void out_guest_outcome(struct jw *w,
			      const struct resize_guest_outcome *out);

/* ---- result entries: one row per vCPU of a change --------------------- */

struct result_ctx {
	const struct topology *t;
	const struct apply_result *r;
	struct { size_t item; int index; } *rows;
	size_t n;
};

#define RITEM(c, i) (&((const struct result_ctx *)(c))->r->items[ \
	((const struct result_ctx *)(c))->rows[i].item])
#define RINDEX(c, i) (((const struct result_ctx *)(c))->rows[i].index)

static long result_thread(const void *c, size_t i)
{
	const struct topology *t = ((const struct result_ctx *)c)->t;
	int k = RINDEX(c, i);

	if (!t || k < 0 || (size_t)k >= t->n_vcpus)
		return -1;
	return t->vcpus[k].thread_id;
}

static void get_r_index(const void *c, size_t i, struct fv *v)
{
	fv_int(v, RINDEX(c, i));
}

static void get_r_device(const void *c, size_t i, struct fv *v)
{
	fv_str(v, RITEM(c, i)->device_id);
}

static void get_r_op(const void *c, size_t i, struct fv *v)
{
	fv_str(v, RITEM(c, i)->op == PLAN_OP_ADD ? "add" : "del");
}

static void get_r_state(const void *c, size_t i, struct fv *v)
{
	fv_str(v, apply_state_name(RITEM(c, i)->state));
}

static void get_r_reason(const void *c, size_t i, struct fv *v)
{
	fv_str(v, RITEM(c, i)->reason);
}

static void get_r_thread(const void *c, size_t i, struct fv *v)
{
	long tid = result_thread(c, i);

	if (tid > 0)
		fv_int(v, tid);
	else
		v->kind = FV_NULL;
}

/* The thread is named once the vCPU is plugged. */
static const char *text_r_thread(const void *c, size_t i, char *buf, size_t size)
{
	long tid = result_thread(c, i);

	if (RITEM(c, i)->state != APPLY_PLUGGED || tid <= 0)
		return NULL;
	snprintf(buf, size, "%ld", tid);
	return buf;
}

/* null in JSON when no tuning was asked for. */
static void get_r_tuning(const void *c, size_t i, struct fv *v)
{
	switch (RITEM(c, i)->tune) {
	case APPLY_TUNE_NONE: fv_str(v, NULL); break;
	case APPLY_TUNE_DONE: fv_str(v, "tuned"); break;
	case APPLY_TUNE_FAILED: fv_str(v, "not-tuned"); break;
	case APPLY_TUNE_SKIPPED: fv_str(v, "skipped"); break;
	}
}

/* A failed tuning speaks through the reason. */
static const char *text_r_tuning(const void *c, size_t i, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	switch (RITEM(c, i)->tune) {
	case APPLY_TUNE_DONE: return "tuned";
	case APPLY_TUNE_SKIPPED: return "not tuned: no per-vCPU threads";
	default: return NULL;
	}
}

/* The vCPU's guest node; null when the VM reports none. */
static void get_r_node(const void *c, size_t i, struct fv *v)
{
	const struct topology *t = ((const struct result_ctx *)c)->t;
	int k = RINDEX(c, i);

	if (!t || k < 0 || (size_t)k >= t->n_vcpus ||
	    t->vcpus[k].entity >= t->n_ents) {
		v->kind = FV_NULL;
		return;
	}
	fv_int_or_null(v, t->ents[t->vcpus[k].entity].ids[TOPO_NODE]);
}

/* wait: ["record", "acpi"], where it learnt of the removal; left out
 * for a change. */
static void get_r_sources(const void *c, size_t i, struct fv *v)
{
	static const char *const names[] = { "list", "record", "acpi" };
	unsigned src = RITEM(c, i)->source;
	size_t k, len = 1;

	if (!src)
		return;
	v->buf[0] = '[';
	for (k = 0; k < 3; k++)
		if (src & (1u << k))
			len += (size_t)snprintf(v->buf + len, sizeof(v->buf) - len,
						"%s\"%s\"", len > 1 ? "," : "", names[k]);
	snprintf(v->buf + len, sizeof(v->buf) - len, "]");
	v->kind = FV_RAW;
	v->s = v->buf;
}

static const char *text_r_sources(const void *c, size_t i, char *buf, size_t size)
{
	const char *s = apply_source_text(RITEM(c, i)->source);

	if (!s)
		return NULL;
	snprintf(buf, size, "%s", s);
	return buf;
}

static const struct field result_fields[] = {
	{ .key = "index", .type = FT_INT, .get = get_r_index, .line = "vCPU %-4s ", .col = 0 },
	{ .key = "device_id", .type = FT_STRING, .get = get_r_device, .line = "%-10s ", .col = 1 },
	{ .key = "op", .type = FT_STRING, .get = get_r_op, .col = 2 },
	{ .key = "state", .type = FT_STRING, .get = get_r_state, .line = "%s", .col = 3 },
	{ .key = "reason", .type = FT_STRING, .get = get_r_reason, .line = ": %s", .col = 9 },
	{ .key = "thread_id", .type = FT_INT, .get = get_r_thread, .text = text_r_thread,
	  .line = " (thread %s)", .col = 4 },
	{ .key = "tuning", .type = FT_STRING, .get = get_r_tuning, .text = text_r_tuning,
	  .line = ", %s", .col = 5 },
	{ .key = "node", .type = FT_INT, .get = get_r_node, .col = 6 },
	{ .key = "sources", .type = FT_OBJECT, .get = get_r_sources,
	  .text = text_r_sources, .line = " (from %s)", .col = 8 },
};

static const struct field_set out_result_fields = FIELDS(result_fields);

static int result_ctx_init(struct result_ctx *c, const struct topology *t,
			   const struct apply_result *r)
{
	size_t i, n = 0;
	int k;

	c->t = t;
	c->r = r;
	c->n = 0;
	for (i = 0; i < r->n; i++)
		n += r->items[i].count > 0 ? (size_t)r->items[i].count : 0;
	c->rows = calloc(n + 1, sizeof(*c->rows));
	if (!c->rows)
		return -1;
	for (i = 0; i < r->n; i++)
		for (k = r->items[i].first; k < r->items[i].first + r->items[i].count; k++) {
			c->rows[c->n].item = i;
			c->rows[c->n++].index = k;
		}
	return 0;
}

/* ---- the vcpuN cgroups a run swept ------------------------------------ */

#define SWEEP(c, i) (&((const struct tune_sweep *)(c))->items[i])

static void get_c_index(const void *c, size_t i, struct fv *v)
{
	fv_int(v, SWEEP(c, i)->vcpu);
}

static void get_c_state(const void *c, size_t i, struct fv *v)
{
	static const char *const names[] = {
		[TUNE_SWEEP_REMOVED] = "removed", [TUNE_SWEEP_KEPT] = "kept",
		[TUNE_SWEEP_LEFT] = "left", [TUNE_SWEEP_FOREIGN] = "foreign",
	};

	fv_str(v, names[SWEEP(c, i)->state]);
}

static const char *text_c_state(const void *c, size_t i, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	switch (SWEEP(c, i)->state) {
	case TUNE_SWEEP_REMOVED: return "cgroup removed";
	case TUNE_SWEEP_KEPT: return "cgroup kept (removal pending)";
	case TUNE_SWEEP_LEFT: return "cgroup left";
	case TUNE_SWEEP_FOREIGN: return "cgroup left alone";
	}
	return NULL;
}

static void get_c_path(const void *c, size_t i, struct fv *v)
{
	fv_str(v, SWEEP(c, i)->path);
}

/* A reason names the directory itself. */
static const char *text_c_path(const void *c, size_t i, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return SWEEP(c, i)->reason ? NULL : SWEEP(c, i)->path;
}

static void get_c_reason(const void *c, size_t i, struct fv *v)
{
	fv_str(v, SWEEP(c, i)->reason);
}

static const struct field sweep_fields[] = {
	{ .key = "index", .type = FT_INT, .get = get_c_index, .line = "vCPU %-4s " },
	{ .key = "state", .type = FT_STRING, .get = get_c_state, .text = text_c_state,
	  .line = "%s" },
	{ .key = "path", .type = FT_STRING, .get = get_c_path, .text = text_c_path,
	  .line = ": %s" },
	{ .key = "reason", .type = FT_STRING, .get = get_c_reason, .line = ": %s" },
};

static const struct field_set out_sweep_fields = FIELDS(sweep_fields);

void out_result_text(FILE *f, const char *command, const struct topology *t,
		     const struct plan *p, const struct apply_result *r,
		     const struct tune_sweep *cgroups)
{
	struct result_ctx c;
	char *pending;
	size_t i;

	if (result_ctx_init(&c, t, r) == 0)
		for (i = 0; i < c.n; i++)
			fields_line(&out_result_fields, &c, i, f);
	free(c.rows);
	for (i = 0; cgroups && i < cgroups->n; i++)
		fields_line(&out_sweep_fields, cgroups, i, f);
	if (p && p->note)
		fprintf(f, "note: %s\n", p->note);
	if (r->online_after >= 0 && t)
		fprintf(f, "%s: online %d of %d vCPUs\n", command,
			r->online_after, t->max);
	else if (p)
		fprintf(f, "%s: %d -> %d vCPUs requested\n", command, p->from, p->to);
	if (!r->n)
		fprintf(f, "%s: nothing to do\n", command);
	pending = report_vcpus_in_state(r, APPLY_PENDING);
	if (pending) {
		fprintf(f, "%s: removal pending for vCPUs %s; 'vcpuctl wait %s' waits for it\n",
			command, pending, pending);
		free(pending);
	}
}

int out_result_doc(FILE *f, const char *command, const struct topology *t,
		   const struct plan *p, const struct apply_result *r,
		   const struct resize_guest_outcome *guest,
		   const struct tune_sweep *cgroups)
{
	struct result_ctx c;
	struct jw *w;
	char *pending;

	if (result_ctx_init(&c, t, r) < 0)
		return -1;
	w = jw_new(f);
	if (!w) {
		free(c.rows);
		return -1;
	}
	pending = report_vcpus_in_state(r, APPLY_PENDING);
	jw_begin_object(w);
	jw_string(w, "command", command);
	jw_int(w, "exit_code", r->code);
	jw_string(w, "result", vc_exit_name(r->code));
	jw_string(w, "error", r->error);
	jw_bool(w, "timed_out", r->timed_out);
	jw_string(w, "interrupted_by", r->signo ? vc_signal_name(r->signo) : NULL);
	jw_rows(w, "vcpus", &out_result_fields, &c, c.n);
	jw_string(w, "pending", pending);
	if (r->online_after >= 0)
		jw_int(w, "online", r->online_after);
	else
		jw_string(w, "online", NULL);
	if (t)
		jw_int(w, "max", t->max);
	else
		jw_string(w, "max", NULL);
	if (p) {
		jw_int(w, "from", p->from);
		jw_int(w, "to", p->to);
		jw_int(w, "requested", p->requested);
		jw_string(w, "note", p->note);
	}
	if (guest)
		out_guest_outcome(w, guest);
	if (cgroups && cgroups->swept)
		jw_rows(w, "cgroups", &out_sweep_fields, cgroups, cgroups->n);
	jw_end_object(w);
	jw_newline(w);
	free(pending);
	free(c.rows);
	return jw_end(w);
}

/* ---- plan steps -------------------------------------------------------- */

struct plan_ctx {
	const struct topology *t;
	const struct plan *p;
};

#define STEP(c, i) (&((const struct plan_ctx *)(c))->p->steps[i])

static const char *text_s_number(const void *c, size_t i, char *buf, size_t size)
{
	(void)c;
	snprintf(buf, size, "%zu", i + 1);
	return buf;
}

static void get_s_op(const void *c, size_t i, struct fv *v)
{
	fv_str(v, STEP(c, i)->op == PLAN_OP_ADD ? "add" : "del");
}

static const char *text_s_command(const void *c, size_t i, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return STEP(c, i)->op == PLAN_OP_ADD ? "device_add" : "device_del";
}

static void get_s_vcpus(const void *c, size_t i, struct fv *v)
{
	const struct plan_step *s = STEP(c, i);

	if (s->count == 1)
		snprintf(v->buf, sizeof(v->buf), "%d", s->first);
	else
		snprintf(v->buf, sizeof(v->buf), "%d-%d", s->first, s->first + s->count - 1);
	fv_str(v, v->buf);
}

static const char *text_s_range(const void *c, size_t i, char *buf, size_t size)
{
	return range_text(buf, size, STEP(c, i)->first, STEP(c, i)->count);
}

static void get_s_first(const void *c, size_t i, struct fv *v)
{
	fv_int(v, STEP(c, i)->first);
}

static void get_s_count(const void *c, size_t i, struct fv *v)
{
	fv_int(v, STEP(c, i)->count);
}

static void get_s_device(const void *c, size_t i, struct fv *v)
{
	fv_str(v, STEP(c, i)->device_id);
}

/* "socket 0, core 1, thread 0" for the step's entity. */
static const char *text_s_where(const void *c, size_t i, char *buf, size_t size)
{
	const struct plan_ctx *pc = c;
	const struct topo_entity *e = &pc->t->ents[STEP(c, i)->entity];
	size_t len = 0;
	int k;

	buf[0] = '\0';
	for (k = 0; k < TOPO_NKEYS && len < size; k++)
		if (e->ids[k] >= 0)
			len += (size_t)snprintf(buf + len, size - len, "%s%s %ld",
						len ? ", " : "", topo_key_name[k], e->ids[k]);
	return buf;
}

static void get_s_qmp(const void *c, size_t i, struct fv *v)
{
	v->kind = FV_JSON;
	v->owned = true;
	v->json = plan_step_command(((const struct plan_ctx *)c)->t, STEP(c, i));
}

static void get_s_node(const void *c, size_t i, struct fv *v)
{
	fv_int_or_null(v, STEP(c, i)->node);
}

static const char *fill_name(enum plan_fill f)
{
	return f == PLAN_FILL_COMPLETES ? "completes" :
	       f == PLAN_FILL_EMPTIES ? "empties" : "whole";
}

static void unit_range(char *buf, size_t size, const struct plan_step *s)
{
	if (s->unit_count > 1)
		snprintf(buf, size, "%d-%d", s->unit_first,
			 s->unit_first + s->unit_count - 1);
	else
		snprintf(buf, size, "%d", s->unit_first);
}

/* {"kind": "core", "vcpus": "4-5", "fill": "completes"}: names and
 * numbers only, so written as they are. */
static void get_s_unit(const void *c, size_t i, struct fv *v)
{
	const struct plan_step *s = STEP(c, i);
	char range[32];

	unit_range(range, sizeof(range), s);
	snprintf(v->buf, sizeof(v->buf), "{\"kind\":\"%s\",\"vcpus\":\"%s\",\"fill\":\"%s\"}",
		 plan_unit_name(((const struct plan_ctx *)c)->p->unit), range,
		 fill_name(s->fill));
	v->kind = FV_RAW;
	v->s = v->buf;
}

/* "completes core 4-5", when whole units were asked for. */
static const char *text_s_unit(const void *c, size_t i, char *buf, size_t size)
{
	const struct plan *p = ((const struct plan_ctx *)c)->p;
	const struct plan_step *s = STEP(c, i);
	char range[32];

	if (!p->whole_units)
		return NULL;
	unit_range(range, sizeof(range), s);
	snprintf(buf, size, "%s %s %s", fill_name(s->fill),
		 plan_unit_name(p->unit), range);
	return buf;
}

static const struct field step_fields[] = {
	{ .text = text_s_number, .line = "  %s. ", .col = 0 },
	{ .key = "op", .type = FT_STRING, .get = get_s_op, .text = text_s_command,
	  .line = "%s ", .col = 1 },
	{ .key = "vcpus", .type = FT_STRING, .get = get_s_vcpus, .col = 4 },
	{ .text = text_s_range, .line = "%s", .col = 3 },
	{ .key = "first", .type = FT_INT, .get = get_s_first, .col = 4 },
	{ .key = "count", .type = FT_INT, .get = get_s_count, .col = 4 },
	{ .key = "device_id", .type = FT_STRING, .get = get_s_device,
	  .line = "%s: ", .col = 2 },
	{ .text = text_s_where, .line = " (%s)", .col = 5 },
	{ .key = "node", .type = FT_INT, .get = get_s_node, .col = 6 },
	{ .key = "unit", .type = FT_OBJECT, .get = get_s_unit, .text = text_s_unit,
	  .line = ", %s", .col = 5 },
	{ .key = "qmp", .type = FT_OBJECT, .get = get_s_qmp, .col = 6 },
};

static const struct field_set out_step_fields = FIELDS(step_fields);

void out_plan_text(FILE *f, const struct topology *t, const struct plan *p)
{
	struct plan_ctx c = { t, p };
	size_t i;

	struct nodes_ctx n;

	fprintf(f, "plan: %d -> %d vCPUs online (of %d), %zu step%s",
		p->from, p->to, t->max, p->n_steps, p->n_steps == 1 ? "" : "s");
	if (p->whole_units)
		fprintf(f, ", whole %ss", plan_unit_name(p->unit));
	fputc('\n', f);
	if (p->note)
		fprintf(f, "note: %s\n", p->note);
	for (i = 0; i < p->n_steps; i++)
		fields_line(&out_step_fields, &c, i, f);
	if (!p->n_steps)
		fputs("  nothing to do\n", f);
	/* "nodes: node 0: 1 -> 3 of 4; node 1: 0 -> 3 of 4", when the VM has
	 * nodes. */
	if (nodes_ctx_init(&n, t, p) < 0 || !n.k) {
		free(n.n);
		return;
	}
	fputs("nodes:", f);
	for (i = 0; i < n.k; i++)
		fprintf(f, "%s node %ld: %d -> %d of %d", i ? ";" : "",
			n.n[i].node, n.n[i].online, n.n[i].to, n.n[i].max);
	fputc('\n', f);
	free(n.n);
}

int out_plan_doc(FILE *f, const struct topology *t, const struct plan *p)
{
	struct plan_ctx c = { t, p };
	struct jw *w = jw_new(f);
	int rc;

	if (!w)
		return -1;
	jw_begin_object(w);
	jw_int(w, "from", p->from);
	jw_int(w, "to", p->to);
	jw_int(w, "requested", p->requested);
	jw_string(w, "note", p->note);
	jw_string(w, "unit", plan_unit_name(p->unit));
	jw_bool(w, "whole_units", p->whole_units);
	jw_rows(w, "steps", &out_step_fields, &c, p->n_steps);
	jw_int(w, "max", t->max);
	rc = nodes_rows(w, t, p);
	jw_end_object(w);
	jw_newline(w);
	return jw_end(w) < 0 || rc < 0 ? -1 : 0;
}

/* ---- tuned vCPUs ------------------------------------------------------- */

#define TUNED(c, i) (&((const struct resize_tuned *)(c))[i])

static void get_t_index(const void *c, size_t i, struct fv *v)
{
	fv_int(v, TUNED(c, i)->index);
}

static void get_t_thread(const void *c, size_t i, struct fv *v)
{
	if (TUNED(c, i)->thread_id > 0)
		fv_int(v, TUNED(c, i)->thread_id);
	else
		v->kind = FV_NULL;
}

static void get_t_tuned(const void *c, size_t i, struct fv *v)
{
	fv_bool(v, TUNED(c, i)->tuned);
}

static const char *text_t_tuned(const void *c, size_t i, char *buf, size_t size)
{
	const struct resize_tuned *t = TUNED(c, i);

	if (t->tuned)
		return "tuned";
	snprintf(buf, size, "not tuned: %s", t->reason ? t->reason : "?");
	return buf;
}

static void get_t_reason(const void *c, size_t i, struct fv *v)
{
	fv_str(v, TUNED(c, i)->reason);
}

static const struct field tuned_fields[] = {
	{ .key = "index", .type = FT_INT, .get = get_t_index, .line = "vCPU %-4s " },
	{ .key = "thread_id", .type = FT_INT, .get = get_t_thread, .line = "thread %-8s " },
	{ .key = "tuned", .type = FT_BOOL, .get = get_t_tuned, .text = text_t_tuned,
	  .line = "%s" },
	{ .key = "reason", .type = FT_STRING, .get = get_t_reason },
};

static const struct field_set out_tuned_fields = FIELDS(tuned_fields);

void out_tune_text(FILE *f, const struct resize_tuned *rows, size_t n,
		   size_t n_tuned)
{
	size_t i;

	for (i = 0; i < n; i++)
		fields_line(&out_tuned_fields, rows, i, f);
	fprintf(f, "tune: %zu of %zu vCPUs tuned\n", n_tuned, n);
}

int out_tune_doc(FILE *f, const struct resize_tuned *rows, size_t n, int code,
		 const char *warning)
{
	struct jw *w = jw_new(f);

	if (!w)
		return -1;
	jw_begin_object(w);
	jw_string(w, "command", "tune");
	jw_int(w, "exit_code", code);
	jw_string(w, "result", vc_exit_name(code));
	jw_string(w, "warning", warning);
	jw_rows(w, "vcpus", &out_tuned_fields, rows, n);
	jw_end_object(w);
	jw_newline(w);
	return jw_end(w);
}

/* ---- the guest's CPUs, and the guest step's vCPUs ---------------------- */

#define VIEW(c) ((const struct gmap_view *)(c))

static void get_g_cpu(const void *c, size_t i, struct fv *v)
{
	fv_int(v, VIEW(c)->guest.cpus[i].logical_id);
}

static void get_g_online(const void *c, size_t i, struct fv *v)
{
	fv_bool(v, VIEW(c)->guest.cpus[i].online);
}

static void get_g_can_offline(const void *c, size_t i, struct fv *v)
{
	fv_bool(v, VIEW(c)->guest.cpus[i].can_offline);
}

static void get_g_vcpu(const void *c, size_t i, struct fv *v)
{
	fv_int_or_null(v, VIEW(c)->vcpu_of[i]);
}

static bool g_vcpu_shown(const void *c, const struct field *f)
{
	(void)f;
	return VIEW(c)->how != GMAP_NONE;
}

static const struct field gcpu_fields[] = {
	{ .key = "cpu", .header = "CPU", .type = FT_INT, .right = true, .get = get_g_cpu },
	{ .key = "online", .header = "ONLINE", .type = FT_BOOL, .get = get_g_online },
	{ .key = "can_offline", .header = "CAN-OFFLINE", .type = FT_BOOL,
	  .get = get_g_can_offline },
	{ .key = "vcpu", .header = "VCPU", .type = FT_INT, .right = true,
	  .get = get_g_vcpu, .shown = g_vcpu_shown },
};

static const struct field_set out_gcpu_fields = FIELDS(gcpu_fields);

int out_guest_table(FILE *f, const struct gmap_view *v)
{
	struct field_cols cols;
	struct vc_err err;

	if (fields_select(&out_gcpu_fields, NULL, v, &cols, &err) < 0 ||
	    fields_table(&cols, v, v->guest.n, f) < 0)
		return -1;
	fprintf(f, "guest: %zu of %zu CPUs online", guest_online(v), v->guest.n);
	if (v->how == GMAP_IDENTITY)
		fprintf(f, "; VCPU assumed equal to CPU");
	fputc('\n', f);
	return 0;
}

/* One mismatch line of out_guest_view_text(), if vCPU i has one. */
static void guest_mismatch_text(FILE *f, const struct gmap_view *v,
				const struct topology *t, size_t i)
{
	const struct agent_gcpu *g;

	if (!gmap_view_mismatch(v, t, (int)i))
		return;
	g = gmap_view_vcpu(v, (int)i);
	if (!t->vcpus[i].online)
		fprintf(f, "guest: vCPU %zu is offline in QEMU but the guest lists it (guest CPU %d)\n",
			i, g ? g->logical_id : -1);
	else if (g)
		fprintf(f, "guest: vCPU %zu is online in QEMU but offline in the guest (guest CPU %d)\n",
			i, g->logical_id);
	else
		fprintf(f, "guest: vCPU %zu is online in QEMU but the guest does not list it\n",
			i);
}

void out_guest_view_text(FILE *f, const struct gmap_view *v,
			 const struct topology *t)
{
	size_t i;

	if (v->how != GMAP_NONE)
		fprintf(f, "guest: %zu of %zu CPUs online (guest agent; matched to vCPUs by %s)\n",
			guest_online(v), v->guest.n,
			v->how == GMAP_ACPI ? "ACPI id" : "number, assumed");
	else
		fprintf(f, "guest: %zu of %zu CPUs online (guest agent; %s)\n",
			guest_online(v), v->guest.n,
			v->note ? v->note : "not matched to vCPUs");
	for (i = 0; t && i < t->n_vcpus; i++)
		guest_mismatch_text(f, v, t, i);
}

#define OUTCOME(c, i) (&((const struct resize_guest_outcome *)(c))->items[i])

static void get_o_index(const void *c, size_t i, struct fv *v)
{
	fv_int(v, OUTCOME(c, i)->index);
}

static void get_o_guest_cpu(const void *c, size_t i, struct fv *v)
{
	fv_int_or_null(v, OUTCOME(c, i)->logical_id);
}

static void get_o_state(const void *c, size_t i, struct fv *v)
{
	fv_str(v, resize_guest_state_name(OUTCOME(c, i)->state));
}

static const struct field outcome_fields[] = {
	{ .key = "index", .type = FT_INT, .get = get_o_index },
	{ .key = "guest_cpu", .type = FT_INT, .get = get_o_guest_cpu },
	{ .key = "state", .type = FT_STRING, .get = get_o_state },
};

static const struct field_set out_outcome_fields = FIELDS(outcome_fields);

static void out_guest_outcome(struct jw *w,
			      const struct resize_guest_outcome *out)
{
	jw_key(w, "guest");
	jw_begin_object(w);
	jw_string(w, "wanted", out->online ? "online" : "offline");
	jw_string(w, "mapping", gmap_how_name(out->how));
	jw_bool(w, "ok", out->code == 0);
	jw_string(w, "error", out->error);
	jw_int(w, "elapsed_ms", out->elapsed_ms);
	jw_rows(w, "vcpus", &out_outcome_fields, out, out->n);
	jw_end_object(w);
}

void out_guest_outcome_text(FILE *f, const struct resize_guest_outcome *out)
{
	static const enum resize_guest_state order[] = {
		RESIZE_GUEST_ONLINE, RESIZE_GUEST_OFFLINE, RESIZE_GUEST_FAILED,
		RESIZE_GUEST_WAS_OFFLINE, RESIZE_GUEST_ABSENT,
		RESIZE_GUEST_UNMAPPED, RESIZE_GUEST_NOT_TRIED,
	};
	const char *sep = "guest: ";
	size_t i, n;
	char *l;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		l = resize_guest_vcpus(out, order[i], &n);
		if (!l)
			continue;
		fprintf(f, "%svCPU%s %s %s", sep, n > 1 ? "s" : "", l,
			resize_guest_state_name(order[i]));
		free(l);
		sep = "; ";
	}
	if (*sep != ';')
		return;
	if (out->error)
		fprintf(f, " (%s)", out->error);
	fputc('\n', f);
}

/* ---- guest --online/--offline: one row per change asked for ----------- */

struct change_ctx {
	const struct agent_change *ch;
	const bool *unchanged;
};

#define CHANGE(c, i) (&((const struct change_ctx *)(c))->ch[i])

static void get_c_cpu(const void *c, size_t i, struct fv *v)
{
	fv_int(v, CHANGE(c, i)->logical_id);
}

static void get_c_wanted(const void *c, size_t i, struct fv *v)
{
	fv_str(v, CHANGE(c, i)->online ? "online" : "offline");
}

static void get_c_result(const void *c, size_t i, struct fv *v)
{
	fv_str(v, ((const struct change_ctx *)c)->unchanged[i] ? "unchanged" :
		  agent_change_state_name(CHANGE(c, i)->state));
}

static const struct field change_fields[] = {
	{ .key = "cpu", .type = FT_INT, .get = get_c_cpu },
	{ .key = "wanted", .type = FT_STRING, .get = get_c_wanted },
	{ .key = "result", .type = FT_STRING, .get = get_c_result },
};

static const struct field_set out_change_fields = FIELDS(change_fields);

int out_guest_doc(FILE *f, const struct gmap_view *v,
		  const struct agent_change *ch, size_t n, const bool *unchanged,
		  const char *error)
{
	struct change_ctx c = { ch, unchanged };
	struct jw *w = jw_new(f);

	if (!w)
		return -1;
	jw_begin_object(w);
	jw_int(w, "online", (long long)guest_online(v));
	jw_int(w, "cpus", (long long)v->guest.n);
	jw_string(w, "mapping", gmap_how_name(v->how));
	jw_rows(w, "guest_cpus", &out_gcpu_fields, v, v->guest.n);
	jw_rows(w, "changes", &out_change_fields, &c, n);
	if (error)
		jw_string(w, "error", error);
	jw_end_object(w);
	jw_newline(w);
	return jw_end(w);
}
