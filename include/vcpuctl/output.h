/* output.h - the field tables of every kind of row vcpuctl prints, and the
 * documents around them: show's vCPUs, a change's result entries, plan
 * steps, tuned vCPUs, the guest's CPUs and the guest step's vCPUs.  Each
 * table (fields.h) gives both the text and the JSON of its rows, so a new
 * per-row field is one entry here.
 *
 * The one place below cmd_*.c that writes to a stream; it is given the
 * FILE, so tests can render into memory (open_memstream).  JSON documents
 * are written as they are made, in the bytes json_dumpf(JSON_COMPACT |
 * JSON_ENSURE_ASCII) would give, and end with a newline.  Functions
 * returning int give 0, or -1 on out of memory or a write error.
 */
#ifndef VCPUCTL_OUTPUT_H
#define VCPUCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/apply.h"
#include "vcpuctl/err.h"
#include "vcpuctl/fields.h"
#include "vcpuctl/guestmap.h"
#include "vcpuctl/pending.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/resize.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/tune.h"

/* ---- show -------------------------------------------------------------- */

/* What "vcpuctl show" shows; every pointer borrowed. */
struct out_show {
	const struct topology *t;
	const struct tune_thread_info *info; /* per vCPU, or NULL: no affinity,
	                                        sched and cgroup members/columns */
	const struct gmap_view *guest;       /* --guest-agent's view, or NULL */
	const char *guest_error;             /* --guest-agent failed: why */
	const char *version, *package;       /* QEMU's; NULL: "" */
	const struct pending *pend;          /* the record of requested removals,
	                                        reconciled; NULL: none */
	int64_t now;                         /* seconds since the epoch, for
	                                        the removals' ages */
};

/* One row per vCPU: the show table's columns and the members of each
 * entry of the document's "vcpus". */
extern const struct field_set out_vcpu_fields;

/* The table: INDEX, a column per topology key present, NODE, STATE
 * (online, offline, or removing for a recorded removal QEMU still lists),
 * REMOVABLE (yes/no/boot, "-" offline), ALIAS, HOST-TID (the vCPU's host
 * thread; "THREAD" is the topology's thread-id), AFFINITY, SCHED and
 * CGROUP with info, and CPU-STATE when QEMU reports it (s390x); or the
 * columns named in columns ("INDEX,STATE", case-insensitive: -o); then the
 * summary line, "2 removals pending for 40 s" (", overdue: past the 5 s
 * timeout of the command that asked") when the record has any, and the
 * node lines.  An unknown column fails with err (VC_EXIT_USAGE). */
int out_show_table(const struct out_show *s, const char *columns, FILE *f,
		   struct vc_err *err);

/* The document of "vcpuctl show --json": "qemu": {"version", "package"},
 * the topology model README describes, "pending" (vCPUs of recorded
 * removals), every vCPU's row with its "removal" ({"requested_at",
 * "age_s", "overdue"} or null), and with a guest view (or guest_error) the
 * guest members. */
int out_show_doc(const struct out_show *s, FILE *f);

/* Shorthands for the above: the default table of t alone, and the
 * document without a guest. */
int out_topology_table(const struct topology *t, FILE *f);
int out_show_json(const struct topology *t, const char *version,
		  const char *package, const struct tune_thread_info *info,
		  FILE *f);

/* One line per guest NUMA node, "node 1: online 3 of 4 vCPUs, 2
 * removable", nothing when the VM reports none (show's table ends with
 * them, count prints them). */
int out_nodes_text(const struct topology *t, FILE *f);

/* "count --json": {"online", "max", "removable", "pending", "nodes":
 * [{"node", "online", "max", "removable"}]}, "nodes" [] when the VM
 * reports none; "show --json" ends with the same "nodes".  pending: the
 * vCPUs of recorded removals (pend may be NULL: 0). */
int out_count_doc(FILE *f, const struct topology *t, const struct pending *pend);

/* The vCPUs of p's entries. */
size_t out_pending_vcpus(const struct pending *p);

/* "2 removals pending for 40 s" and, when one is past its command's
 * timeout, ", overdue: past the 5 s timeout of the command that asked";
 * "" when p has no entries. */
void out_pending_summary(const struct pending *p, int64_t now, char *buf,
			 size_t size);

/* ---- set / add / del / wait / plan / tune ----------------------------- */

/* One line per vCPU of r, one per vcpuN cgroup the sweep named, and the
 * summary lines.  t is the topology after the run; p may be NULL (wait),
 * cgroups NULL or not swept when no --cgroup was given. */
void out_result_text(FILE *f, const char *command, const struct topology *t,
		     const struct plan *p, const struct apply_result *r,
		     const struct tune_sweep *cgroups);

/* The result document; p may be NULL (wait), guest NULL when no guest
 * step ran.  Each vCPU's "tuning" is "tuned", "not-tuned" (reason says
 * why), "skipped" (no per-vCPU threads), or null when none was asked.
 * With a swept --cgroup, "cgroups": [{"index", "state": "removed" |
 * "kept" | "left" | "foreign", "path", "reason"}]. */
int out_result_doc(FILE *f, const char *command, const struct topology *t,
		   const struct plan *p, const struct apply_result *r,
		   const struct resize_guest_outcome *guest,
		   const struct tune_sweep *cgroups);

/* The guest step's line for people, e.g. "guest: vCPUs 1-3 online" or
 * "guest: vCPUs 1-2 online; vCPU 3 absent (the guest has not seen vCPU 3
 * within 5 s)", and a newline; nothing when out has no vCPUs. */
void out_guest_outcome_text(FILE *f, const struct resize_guest_outcome *out);

/* Plan p as numbered steps. */
void out_plan_text(FILE *f, const struct topology *t, const struct plan *p);

/* {"from", "to", "requested", "note", "unit", "whole_units", "steps":
 * [{"op", "vcpus", "first", "count", "device_id", "node", "unit": {"kind",
 * "vcpus", "fill"}, "qmp"}], "max", "nodes": [{"node", "online", "to",
 * "max"}]}: qmp is the exact QMP command. */
int out_plan_doc(FILE *f, const struct topology *t, const struct plan *p);

/* "tune": one row per named vCPU. */
void out_tune_text(FILE *f, const struct resize_tuned *rows, size_t n,
		   size_t n_tuned);
int out_tune_doc(FILE *f, const struct resize_tuned *rows, size_t n, int code,
		 const char *warning);

/* ---- guest ------------------------------------------------------------ */

/* The guest's CPUs (CPU, ONLINE, CAN-OFFLINE, and VCPU when matched) and
 * the "guest: N of M CPUs online" line. */
int out_guest_table(FILE *f, const struct gmap_view *v);

/* For the text form of show: lines summing up the guest's view and naming
 * every mismatch with t (which may be NULL: none), e.g.
 *   guest: 2 of 4 CPUs online (guest agent; matched to vCPUs by ACPI id)
 *   guest: vCPU 3 is online in QEMU but offline in the guest (guest CPU 2) */
void out_guest_view_text(FILE *f, const struct gmap_view *v,
			 const struct topology *t);

/* "guest --json": {"online": N, "cpus": N, "mapping", "guest_cpus":
 * [{"cpu", "online", "can_offline", "vcpu"}], "changes": [{"cpu",
 * "wanted", "result"}]} and "error" when error is not NULL. */
int out_guest_doc(FILE *f, const struct gmap_view *v,
		  const struct agent_change *ch, size_t n, const bool *unchanged,
		  const char *error);

#endif
