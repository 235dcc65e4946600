/* guestmap.h - which guest CPU is which vCPU: the guest agent's list of
 * CPUs (agent.h) matched to QEMU's vCPU indexes (topology.h).
 *
 * Guest CPUs are named by the guest's logical id ("cpu3" in
 * /sys/devices/system/cpu), which is not vcpuctl's vCPU index in general.
 * Linux numbers CPUs in the order it first sees them: the boot CPUs from
 * the firmware tables, then each hot-added CPU as it arrives, and (x86,
 * since 4.9) it keeps an APIC id's number for the rest of the boot.  A
 * guest that saw vCPU 5 plugged before vCPU 3 calls them cpu1 and cpu2.
 * So the numbers alone say nothing; the ACPI device behind each CPU does.
 * QEMU names every possible CPU's ACPI device "C%03X" after its position
 * in the machine's possible-CPU list (hw/acpi/cpu.c), and Linux links
 * cpuN/firmware_node to it.  On x86 that position is QEMU's cpu-index and
 * the possible list is in APIC id order, which is vcpuctl's topology
 * order, so C<i> is vCPU index i.
 *
 * The match asks the guest through the agent's own calls only
 * (guest-get-vcpus, and agent_read_file() for the ACPI paths).  What it
 * learnt of those paths is kept in a struct gmap_paths that the caller
 * holds next to the session, so a caller asking in a loop pays one read
 * per new guest CPU.
 *
 * Errors are the agent's (agent.h): VC_EXIT_AGENT, or VC_EXIT_INTERNAL on
 * out of memory.  A guest whose CPUs cannot be matched is no error: the
 * view then says so (GMAP_NONE and a note).
 */
#ifndef VCPUCTL_GUESTMAP_H
#define VCPUCTL_GUESTMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/err.h"
#include "vcpuctl/topology.h"

/* How guest logical ids were matched to vCPU indexes. */
enum gmap_how {
	GMAP_NONE,     /* no match: the guest's view is shown alone */
	/* exact: /sys/devices/system/cpu/cpuN/firmware_node/path read with
	 * guest-file-open/-read (a Linux guest on an ACPI machine), every one
	 * a QEMU CPU name ("\_SB_.CPUS.C005") */
	GMAP_ACPI,
	/* assumed: the guest lists exactly the logical ids that equal the
	 * online vCPU indexes, which holds when vCPUs were plugged in
	 * ascending order since boot (what "set" does).  Used when the
	 * guest's files cannot be read; never used to choose CPUs to offline. */
	GMAP_IDENTITY,
};

/* "acpi", "identity", or NULL for NONE. */
const char *gmap_how_name(enum gmap_how how);

struct gmap_view {
	struct agent_gcpus guest;   /* guest-get-vcpus */
	size_t n_vcpus;             /* topology.n_vcpus */
	int *logical;               /* owned, per vCPU index: guest logical id,
	                               -1 when the guest does not list it or the
	                               match is unknown */
	int *vcpu_of;               /* owned, per guest.cpus[i]: vCPU index or -1 */
	enum gmap_how how;
	char *note;                 /* owned: why the match is NONE, or NULL */
};

/* The ACPI paths read from one guest so far, by guest logical id, and
 * whether the guest can be asked for them at all.  Valid while the guest's
 * CPUs stay as they are: after a plug or unplug a guest that reuses
 * numbers may give an old id to a new CPU, so take a new one. */
struct gmap_paths;

/* A new, empty record; NULL with err set (VC_EXIT_INTERNAL). */
struct gmap_paths *gmap_paths_new(struct vc_err *err);
/* NULL is fine. */
void gmap_paths_free(struct gmap_paths *p);

/* Ask the guest (guest-get-vcpus on a) and match its CPUs to t's vCPUs,
 * reading the ACPI paths paths does not hold yet and keeping them there.
 * t may be NULL: no match then.  Returns 0 or -1 with err set; *v is then
 * empty. */
int gmap_view_query(struct agent *a, struct gmap_paths *paths,
		    const struct topology *t, struct gmap_view *v,
		    struct vc_err *err);
void gmap_view_free(struct gmap_view *v);

/* The guest's entry for vCPU index, or NULL when unknown or not listed. */
const struct agent_gcpu *gmap_view_vcpu(const struct gmap_view *v, int index);

/* vCPU online in QEMU whose guest CPU is known to be offline or missing,
 * or offline in QEMU but listed by the guest. */
bool gmap_view_mismatch(const struct gmap_view *v, const struct topology *t,
			int index);

/* Open o->path with o->timeout_ms and run gmap_view_query() once: the one
 * call "show --guest-agent" needs.  Returns 0 or -1 with err
 * (VC_EXIT_AGENT, or VC_EXIT_INTERNAL). */
int gmap_view_fetch(const struct agent_opts *o, const struct topology *t,
		    struct gmap_view *v, struct vc_err *err);

#endif
