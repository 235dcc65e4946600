/* report.h - how plans and resize results look: text for people, one JSON
 * document for scripts.  Called from cmd_*.c only. */
#ifndef VCPUCTL_REPORT_H
#define VCPUCTL_REPORT_H

#include <stdio.h>
#include <jansson.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/topology.h"

/* Print plan p as numbered steps. */
void report_plan_text(FILE *f, const struct topology *t, const struct plan *p);

/* The vCPUs of r's items in state s, as a cpulist ("2-3"), or NULL when
 * there are none.  Caller frees. */
char *report_vcpus_in_state(const struct apply_result *r, enum apply_state s);

/* One line per vCPU and a summary.  t is the topology after the run. */
void report_result_text(FILE *f, const char *command, const struct topology *t,
			const struct plan *p, const struct apply_result *r);

/* The result as a JSON document (new reference).  p may be NULL (wait).
 * Each vCPU row has "tuning": "tuned", "not-tuned" (reason says why),
 * "skipped" (no per-vCPU threads), or null when none was asked for. */
json_t *report_result_json(const char *command, const struct topology *t,
			   const struct plan *p, const struct apply_result *r);

/* What was done and what was not, for the error line after a failure:
 * "done: vCPUs 1-2 plugged; not done: vCPUs 4-5".  Caller frees. */
char *report_progress(const struct apply_result *r);

#endif
