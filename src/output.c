/* output.c - aligned text tables, the table of "vcpuctl show", and its
 * --json document written as it is made. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/output.h"
#include "vcpuctl/plan.h"

int out_table_init(struct out_table *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	if (ncols == 0 || ncols > OUT_MAX_COLS)
		return -1;
	t->ncols = ncols;
	return 0;
}

int out_table_column(struct out_table *t, size_t col, const char *header,
		     bool right)
{
	if (col >= t->ncols)
		return -1;
	t->headers[col] = header;
	t->right[col] = right;
	return 0;
}

int out_table_add(struct out_table *t, const char *const *cells)
{
	char **grown;
	size_t i, base;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));
		if (!grown)
			return -1;
		t->cells = grown;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		t->cells[base + i] = strdup(cells[i] ? cells[i] : "-");
		if (!t->cells[base + i]) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

static void print_row(const struct out_table *t, const char *const *cells,
		      const size_t *width, FILE *f)
{
	size_t i;
	int w;

	for (i = 0; i < t->ncols; i++) {
		w = (int)width[i];
		if (i > 0)
			fputs("  ", f);
		if (t->right[i])
			fprintf(f, "%*s", w, cells[i]);
		else if (i + 1 == t->ncols)
			fputs(cells[i], f);
		else
			fprintf(f, "%-*s", w, cells[i]);
	}
	fputc('\n', f);
}

void out_table_print(const struct out_table *t, FILE *f)
{
	size_t width[OUT_MAX_COLS] = { 0 };
	const char *hdr[OUT_MAX_COLS];
	size_t r, i, len;

	for (i = 0; i < t->ncols; i++) {
		hdr[i] = t->headers[i] ? t->headers[i] : "";
		width[i] = strlen(hdr[i]);
	}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			len = strlen(t->cells[r * t->ncols + i]);
			if (len > width[i])
				width[i] = len;
		}
	}
	print_row(t, hdr, width, f);
	for (r = 0; r < t->nrows; r++)
		print_row(t, (const char *const *)&t->cells[r * t->ncols], width, f);
}

void out_table_free(struct out_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

void out_topology_summary(const struct topology *t, char *buf, size_t size)
{
	snprintf(buf, size, "online %d of %d vCPUs, %d removable",
		 t->online, t->max, t->removable);
}

int out_nodes_text(const struct topology *t, FILE *f)
{
	struct plan_node *n;
	size_t k, i;

	if (plan_nodes(t, &n, &k) < 0)
		return -1;
	for (i = 0; i < k; i++)
		fprintf(f, "node %ld: online %d of %d vCPUs, %d removable\n",
			n[i].node, n[i].online, n[i].max, n[i].removable);
	free(n);
	return 0;
}

json_t *out_nodes_json(const struct topology *t)
{
	struct plan_node *n;
	json_t *a;
	size_t k;

	if (plan_nodes(t, &n, &k) < 0)
		return NULL;
	a = plan_nodes_json(n, k, false);
	free(n);
	return a;
}

/* Upper-case header names live here, so the table never allocates them. */
static const char *const key_header[TOPO_NKEYS] = {
	"DRAWER", "BOOK", "SOCKET", "DIE", "CLUSTER",
	"MODULE", "CORE", "THREAD", "NODE",
};

static bool any_cpu_state(const struct topology *t)
{
	size_t i;

	for (i = 0; i < t->n_vcpus; i++)
		if (t->vcpus[i].cpu_state)
			return true;
	return false;
}

static const char *removable_word(const struct topology *t,
				  const struct topo_vcpu *v)
{
	if (!v->online)
		return "-";
	if (topo_vcpu_removable(t, v))
		return "yes";
	return topo_vcpu_boot(t, v) ? "boot" : "no";
}

/* Numbers are printed into one scratch buffer per column. */
#define NUM_LEN 24

int out_topology_table(const struct topology *t, FILE *f)
{
	return out_topology_table_tuning(t, NULL, f);
}

int out_topology_table_tuning(const struct topology *t,
			      const struct tune_thread_info *info, FILE *f)
{
	struct out_table tab;
	const char *cells[OUT_MAX_COLS];
	char nums[OUT_MAX_COLS][NUM_LEN];
	char summary[128];
	unsigned keys = topo_keys_present(t);
	bool cpu_state = any_cpu_state(t);
	size_t ncols = 0, i, c;
	int k, rc = 0;

	/* INDEX, keys, STATE, REMOVABLE, ALIAS, HOST-TID, CPU-STATE. */
	ncols = 1 + (size_t)__builtin_popcount(keys) + 4 + cpu_state + (info ? 3 : 0);
	if (out_table_init(&tab, ncols))
		return -1;
	c = 0;
	out_table_column(&tab, c++, "INDEX", true);
	for (k = 0; k < TOPO_NKEYS; k++)
		if (keys & (1u << k))
			out_table_column(&tab, c++, key_header[k], true);
	out_table_column(&tab, c++, "STATE", false);
	out_table_column(&tab, c++, "REMOVABLE", false);
	out_table_column(&tab, c++, "ALIAS", false);
	out_table_column(&tab, c++, "HOST-TID", true);
	if (info) {
		out_table_column(&tab, c++, "AFFINITY", false);
		out_table_column(&tab, c++, "SCHED", false);
		out_table_column(&tab, c++, "CGROUP", false);
	}
	if (cpu_state)
		out_table_column(&tab, c++, "CPU-STATE", false);

	for (i = 0; i < t->n_vcpus && rc == 0; i++) {
		const struct topo_vcpu *v = &t->vcpus[i];
		const struct topo_entity *e = &t->ents[v->entity];

		c = 0;
		snprintf(nums[c], NUM_LEN, "%d", v->index);
		cells[c] = nums[c];
		c++;
		for (k = 0; k < TOPO_NKEYS; k++) {
			if (!(keys & (1u << k)))
				continue;
			cells[c] = NULL;
			if (e->ids[k] >= 0) {
				snprintf(nums[c], NUM_LEN, "%ld", e->ids[k]);
				cells[c] = nums[c];
			}
			c++;
		}
		cells[c++] = v->online ? "online" : "offline";
		cells[c++] = removable_word(t, v);
		cells[c++] = e->alias;
		cells[c] = NULL;
		if (v->thread_id >= 0) {
			snprintf(nums[c], NUM_LEN, "%ld", v->thread_id);
			cells[c] = nums[c];
		}
		c++;
		if (info) {
			cells[c++] = info[i].affinity;
			cells[c++] = info[i].sched;
			cells[c++] = info[i].cgroup;
		}
		if (cpu_state)
			cells[c++] = v->cpu_state;
		rc = out_table_add(&tab, cells);
	}
	if (rc == 0) {
		out_table_print(&tab, f);
		out_topology_summary(t, summary, sizeof(summary));
		fprintf(f, "%s\n", summary);
		rc = out_nodes_text(t, f);
	}
	out_table_free(&tab);
	return rc;
}

/* The --json document of show is written member by member into one
 * buffer that is flushed as it fills.  With thousands of vCPUs, building
 * it as a jansson tree, dumping and freeing it cost 150 ms and 25 MiB;
 * this costs a few ms and 64 KiB.  The bytes must stay jansson's
 * (JSON_COMPACT | JSON_ENSURE_ASCII): plain strings and integers are
 * written directly, anything else goes through jansson itself. */
#define JW_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII)
#define JW_SIZE (64u * 1024)

struct jw {
	FILE *f;
	size_t len;
	bool first;          /* no member yet in the innermost object */
	bool failed;
	char buf[JW_SIZE];
};

static void jw_flush(struct jw *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
		w->failed = true;
	w->len = 0;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->len + n > JW_SIZE) {
		jw_flush(w);
		if (n > JW_SIZE) {
			if (fwrite(s, 1, n, w->f) != n)
				w->failed = true;
			return;
		}
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void jw_puts(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

static void jw_open(struct jw *w, char c)
{
	jw_put(w, &c, 1);
	w->first = true;
}

static void jw_close(struct jw *w, char c)
{
	jw_put(w, &c, 1);
	w->first = false;
}

/* Printable ASCII without '"' or '\\': jansson writes it unescaped. */
static bool jw_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return false;
	return true;
}

/* A value as jansson dumps it; consumes v.  false when v is NULL. */
static bool jw_dump(struct jw *w, json_t *v)
{
	size_t n;
	char *s;

	if (!v)
		return false;
	n = json_dumpb(v, NULL, 0, JW_FLAGS | JSON_ENCODE_ANY);
	s = n ? malloc(n) : NULL;
	if (s && json_dumpb(v, s, n, JW_FLAGS | JSON_ENCODE_ANY) == n)
		jw_put(w, s, n);
	else
		w->failed = true;
	free(s);
	json_decref(v);
	return true;
}

static void jw_key(struct jw *w, const char *key)
{
	if (!w->first)
		jw_put(w, ",", 1);
	w->first = false;
	jw_put(w, "\"", 1);
	jw_puts(w, key);
	jw_put(w, "\":", 2);
}

static void jw_int_value(struct jw *w, long long n)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = n < 0 ? 0ull - (unsigned long long)n :
				       (unsigned long long)n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		*--p = '-';
	jw_put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void jw_int(struct jw *w, const char *key, long long n)
{
	jw_key(w, key);
	jw_int_value(w, n);
}

/* n, or null when negative (unknown). */
static void jw_int_or_null(struct jw *w, const char *key, long long n)
{
	jw_key(w, key);
	if (n >= 0)
		jw_int_value(w, n);
	else
		jw_put(w, "null", 4);
}

static void jw_bool(struct jw *w, const char *key, bool b)
{
	jw_key(w, key);
	jw_puts(w, b ? "true" : "false");
}

static void jw_string_value(struct jw *w, const char *s)
{
	jw_put(w, "\"", 1);
	jw_puts(w, s);
	jw_put(w, "\"", 1);
}

/* s, or null when NULL.  Text jansson refuses (not UTF-8) leaves the
 * member out, as json_object_set_new() of a NULL value does. */
static void jw_string(struct jw *w, const char *key, const char *s)
{
	json_t *v;

	if (s && !jw_plain(s)) {
		v = json_string(s);
		if (!v)
			return;
		jw_key(w, key);
		jw_dump(w, v);
		return;
	}
	jw_key(w, key);
	if (s)
		jw_string_value(w, s);
	else
		jw_put(w, "null", 4);
}

static void jw_props(struct jw *w, const struct topo_entity *e)
{
	const unsigned char *c;

	if (!e->props)
		return;
	/* Verbatim, unless an escape or a byte beyond ASCII needs jansson's
	 * spelling (the document is ASCII throughout). */
	for (c = (const unsigned char *)e->props; *c; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '\\')
			break;
	jw_key(w, "props");
	if (*c && !jw_dump(w, topo_entity_props(e)))
		w->failed = true;
	else if (!*c)
		jw_puts(w, e->props);
}

static void jw_vcpu(struct jw *w, const struct topology *t,
		    const struct topo_vcpu *v,
		    const struct tune_thread_info *info)
{
	const struct topo_entity *e = &t->ents[v->entity];
	int k;

	jw_open(w, '{');
	jw_int(w, "index", v->index);
	jw_bool(w, "online", v->online);
	jw_bool(w, "removable", topo_vcpu_removable(t, v));
	jw_bool(w, "boot", topo_vcpu_boot(t, v));
	jw_int(w, "entity_first", e->first);
	jw_int(w, "vcpus_per_entity", e->vcpus_count);
	jw_string(w, "alias", e->alias);
	jw_string(w, "device_id", e->online ? topo_entity_device_id(e) : NULL);
	jw_string(w, "qom_path", v->qom_path);
	if (e->type)
		jw_string(w, "type", e->type);
	jw_props(w, e);
	jw_key(w, "topology");
	jw_open(w, '{');
	for (k = 0; k < TOPO_NODE; k++)
		if (e->ids[k] >= 0)
			jw_int(w, topo_key_name[k], e->ids[k]);
	jw_close(w, '}');
	jw_int_or_null(w, "node", e->ids[TOPO_NODE]);
	jw_int_or_null(w, "cpu_index", v->cpu_index);
	jw_int_or_null(w, "thread_id", v->thread_id);
	jw_string(w, "target", v->target);
	jw_string(w, "cpu_state", v->cpu_state);
	if (info) {
		jw_string(w, "affinity", info->affinity);
		jw_string(w, "sched", info->sched);
		jw_string(w, "cgroup", info->cgroup);
	}
	jw_close(w, '}');
}

int out_show_json(const struct topology *t, const char *version,
		  const char *package, const struct tune_thread_info *info,
		  FILE *f)
{
	unsigned mask = topo_keys_present(t);
	struct jw *w;
	json_t *qemu, *nodes;
	size_t i;
	int k, rc;

	/* The members whose failure fails the whole document. */
	qemu = json_pack("{s:s,s:s}", "version", version ? version : "",
			 "package", package ? package : "");
	nodes = out_nodes_json(t);
	w = malloc(sizeof(*w));
	if (!qemu || !nodes || !w) {
		json_decref(qemu);
		json_decref(nodes);
		free(w);
		return -1;
	}
	w->f = f;
	w->len = 0;
	w->failed = false;
	jw_open(w, '{');
	jw_key(w, "qemu");
	jw_dump(w, qemu);
	jw_int(w, "online", t->online);
	jw_int(w, "max", t->max);
	jw_int(w, "removable", t->removable);
	jw_bool(w, "per_vcpu_threads", t->per_vcpu_threads);
	jw_string(w, "thread_warning", t->thread_warning);
	jw_key(w, "topology_keys");
	jw_open(w, '[');
	for (k = 0; k < TOPO_NKEYS; k++) {
		if (!(mask & (1u << k)))
			continue;
		if (!w->first)
			jw_put(w, ",", 1);
		w->first = false;
		jw_string_value(w, topo_key_name[k]);
	}
	jw_close(w, ']');
	jw_key(w, "vcpus");
	jw_open(w, '[');
	for (i = 0; i < t->n_vcpus; i++) {
		if (i)
			jw_put(w, ",", 1);
		jw_vcpu(w, t, &t->vcpus[i], info ? &info[i] : NULL);
	}
	jw_close(w, ']');
	jw_key(w, "nodes");
	jw_dump(w, nodes);	/* consumes nodes */
	jw_close(w, '}');
	jw_put(w, "\n", 1);
	jw_flush(w);
	rc = w->failed ? -1 : 0;
	free(w);
	return rc;
}
