/* output.c - aligned text tables, and the table of "vcpuctl show". */
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/output.h"

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
	}
	out_table_free(&tab);
	return rc;
}
