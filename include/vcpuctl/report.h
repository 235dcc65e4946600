/* report.h - what a change did, in words (output.c and resize.c). */
#ifndef VCPUCTL_REPORT_H
#define VCPUCTL_REPORT_H

#include "vcpuctl/apply.h"

/* The vCPUs of r's items in state s, as a cpulist ("2-3"), or NULL when
 * there are none.  Caller frees. */
char *report_vcpus_in_state(const struct apply_result *r, enum apply_state s);

/* What was done and what was not, for the error line after a failure:
 * "done: vCPUs 1-2 plugged; not done: vCPUs 4-5".  Caller frees. */
char *report_progress(const struct apply_result *r);

#endif
