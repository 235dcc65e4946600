/* output.h - how results look on a terminal: aligned text tables, the
 * table of "vcpuctl show", and its --json document written as a stream.
 *
 * The one place below cmd_*.c that writes to a stream; it is given the
 * FILE to write to, so tests can render into memory (open_memstream).
 */
#ifndef VCPUCTL_OUTPUT_H
#define VCPUCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"

#define OUT_MAX_COLS 20

/* Rows of text cells under a header row; columns are as wide as their
 * widest cell. */
struct out_table {
	size_t ncols;
	const char *headers[OUT_MAX_COLS]; /* borrowed */
	bool right[OUT_MAX_COLS];          /* right-align (numbers) */
	char **cells;                      /* owned: nrows * ncols strings */
	size_t nrows, cap;
};

/* Start a table; headers[0..ncols-1] are borrowed and must outlive it.
 * Returns 0, or -1 when ncols is 0 or above OUT_MAX_COLS. */
int out_table_init(struct out_table *t, size_t ncols);
int out_table_column(struct out_table *t, size_t col, const char *header,
		     bool right);

/* Append a row of ncols cells (copied; NULL prints as "-").  Returns 0 or
 * -1 on out of memory. */
int out_table_add(struct out_table *t, const char *const *cells);

/* Header and rows, two spaces between columns, no trailing blanks. */
void out_table_print(const struct out_table *t, FILE *f);

void out_table_free(struct out_table *t);

/* The "vcpuctl show" table: INDEX, one column per topology key present,
 * NODE, STATE, REMOVABLE (yes/no/boot, "-" offline), ALIAS, HOST-TID (the
 * vCPU's host thread; "THREAD" is the topology's thread-id), and CPU-STATE
 * when QEMU reports it (s390x); then the summary line.  Returns
 * 0 or -1 on out of memory (nothing printed then). */
int out_topology_table(const struct topology *t, FILE *f);

/* The same table with AFFINITY, SCHED and CGROUP after HOST-TID, from
 * info[0..t->n_vcpus-1] (borrowed; "-" where a field is NULL). */
int out_topology_table_tuning(const struct topology *t,
			      const struct tune_thread_info *info, FILE *f);

/* The document of "vcpuctl show --json" (topo_to_json()'s model with
 * "qemu": {"version", "package"} in front and each vCPU's "affinity",
 * "sched" and "cgroup" from info[0..t->n_vcpus-1] at its end) and a
 * newline, written as it is made: the same bytes as building it with
 * jansson and json_dumpf(JSON_COMPACT | JSON_ENSURE_ASCII), without a
 * tree of the whole document (tens of MiB at 8192 vCPUs).  version and
 * package may be NULL (""); info may be NULL (no such members).  Returns
 * 0, or -1 on out of memory or a write error (output may then be cut
 * short). */
int out_show_json(const struct topology *t, const char *version,
		  const char *package, const struct tune_thread_info *info,
		  FILE *f);

/* One line per guest NUMA node, "node 1: online 3 of 4 vCPUs, 2
 * removable", nothing when the VM reports none.  Returns 0 or -1 on out of
 * memory. */
int out_nodes_text(const struct topology *t, FILE *f);

/* [{"node", "online", "max", "removable"}] per guest node, [] when the VM
 * reports none (new reference; NULL on out of memory).  "vcpuctl show
 * --json" ends with it as "nodes", and "vcpuctl count --json" has it. */
json_t *out_nodes_json(const struct topology *t);

/* "online 4 of 8 vCPUs, 3 removable" (no newline), into buf. */
void out_topology_summary(const struct topology *t, char *buf, size_t size);

#endif
