/* cpulist.h - "0-3,^2" and friends: the kernel's cpulist syntax.
 *
 * A list is comma-separated items: N, N-M, or ^N / ^N-M to take away from
 * what came before.  Used for vCPU indexes (add, del, tune) and for host
 * CPUs (--affinity, --cpuset).  "r" (all host CPUs) is the caller's business.
 */
#ifndef VCPUCTL_CPULIST_H
#define VCPUCTL_CPULIST_H

#include <stdbool.h>
#include <stddef.h>

#include "vcpuctl/err.h"

struct cpulist {
	unsigned char *bits; /* owned bitmap, nbits bits */
	size_t nbits;        /* the limit given to cpulist_parse */
};

/* Parse s; every number must be < limit (at most 1<<20).  Returns 0, or -1
 * with err set to VC_EXIT_USAGE and a message naming the bad item
 * ("cpulist '4-x': '4-x' is not N or N-M").  An empty list is an error. */
int cpulist_parse(const char *s, size_t limit, struct cpulist *out,
		  struct vc_err *err);

/* Empty list able to hold nbits; returns 0 or -1 (out of memory). */
int cpulist_init(struct cpulist *l, size_t nbits);
void cpulist_free(struct cpulist *l);

bool cpulist_has(const struct cpulist *l, size_t i);
void cpulist_set(struct cpulist *l, size_t i);     /* i < nbits */
size_t cpulist_count(const struct cpulist *l);
/* First member >= from, or -1 when none. */
long cpulist_next(const struct cpulist *l, size_t from);

/* Canonical text, e.g. "0-3,5" ("" when empty).  Returns a malloc'd string
 * the caller frees, or NULL on out of memory. */
char *cpulist_format(const struct cpulist *l);

#endif
