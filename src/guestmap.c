/* guestmap.c - matching the guest's CPUs to QEMU's vCPUs (guestmap.h): by
 * the ACPI path behind each guest CPU, read through the guest agent, or
 * by number when the lists agree; and the record of paths read so far.
 *
 * The record lives here, not in the agent session: the protocol client
 * carries calls, and what the calls taught about the guest's CPUs is this
 * module's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/guestmap.h"

/* Highest guest logical id whose ACPI path is remembered. */
#define GMAP_MAX_CPU 4096

struct gmap_paths {
	/* ACPI slot per guest logical id: -1 unknown, -2 unreadable */
	int slot_of[GMAP_MAX_CPU];
	bool broken;            /* guest-file-* unusable: do not ask again */
	char *note;             /* why, for gmap_view.note */
};

struct gmap_paths *gmap_paths_new(struct vc_err *err)
{
	struct gmap_paths *p = calloc(1, sizeof(*p));
	size_t i;

	if (!p) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	for (i = 0; i < GMAP_MAX_CPU; i++)
		p->slot_of[i] = -1;
	return p;
}

void gmap_paths_free(struct gmap_paths *p)
{
	if (!p)
		return;
	free(p->note);
	free(p);
}

const char *gmap_how_name(enum gmap_how how)
{
	switch (how) {
	case GMAP_ACPI: return "acpi";
	case GMAP_IDENTITY: return "identity";
	case GMAP_NONE: break;
	}
	return NULL;
}

/* "\_SB_.CPUS.C00A" -> 10; -1 when the name is not QEMU's. */
static int gmap_parse_acpi_slot(const char *path)
{
	const char *p = strrchr(path, '.');
	char *end;
	long v;

	p = p ? p + 1 : path;
	if (*p != 'C' || !p[1])
		return -1;
	v = strtol(p + 1, &end, 16);
	if (end == p + 1 || (*end && *end != '\n') || v < 0 || v > 0xfff)
		return -1;
	return (int)v;
}

/* The ACPI slot of guest CPU id: from paths, or read from the guest.
 * Returns the slot, -1 when unknown.  Sets paths->broken (and its note)
 * when the agent cannot read files at all. */
static int gmap_acpi_slot(struct agent *a, struct gmap_paths *paths, int id)
{
	struct vc_err err = { 0 };
	char path[96], buf[64];
	int slot;

	if (id < 0 || id >= GMAP_MAX_CPU)
		return -1;
	if (paths->slot_of[id] != -1)
		return paths->slot_of[id] >= 0 ? paths->slot_of[id] : -1;
	if (paths->broken)
		return -1;
	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%d/firmware_node/path", id);
	if (agent_read_file(a, path, buf, sizeof(buf), &err) < 0) {
		/* A disabled command, or no such file on this guest (no
		 * ACPI): either way the others will not do better.  A
		 * transport error also ends up here and is met again by the
		 * next guest-get-vcpus. */
		paths->broken = true;
		free(paths->note);
		paths->note = strdup(err.msg);
		return -1;
	}
	slot = gmap_parse_acpi_slot(buf);
	paths->slot_of[id] = slot >= 0 ? slot : -2;
	return slot;
}

/* vCPU index of ACPI slot s.  The slot is the CPU's position in QEMU's
 * possible-CPU list, which on x86 is sorted by APIC id, i.e. by socket,
 * die, module, core, thread: the order the topology gives vCPU indexes in
 * (QEMU's cpu-index is that position too).  Only for machines whose
 * hotplug unit is one vCPU: elsewhere the list is not known to match. */
static int gmap_slot_vcpu(const struct topology *t, int slot)
{
	size_t i;

	for (i = 0; i < t->n_ents; i++)
		if (t->ents[i].vcpus_count != 1)
			return -1;
	if (slot < 0 || (size_t)slot >= t->n_vcpus)
		return -1;
	return slot;
}

/* Returns 0, -1 when the guest cannot read its ACPI paths or one is not a
 * QEMU CPU name (firmware that names CPUs otherwise, as the legacy "CPxx"
 * hotplug does), or -2 with v->note set when what it reads cannot be
 * true: a slot the VM does not have, two guest CPUs on one vCPU, or
 * another CPU on the boot vCPU.  A mapping with any of those is not used
 * at all: every entry came from the same guest. */
static int gmap_match_acpi(struct agent *a, struct gmap_paths *paths,
			   const struct topology *t, struct gmap_view *v)
{
	bool uniform = true;
	int slot, idx, id, r = 0;
	size_t i;

	for (i = 0; i < t->n_ents; i++)
		uniform = uniform && t->ents[i].vcpus_count == 1;
	for (i = 0; i < v->guest.n; i++) {
		id = v->guest.cpus[i].logical_id;
		slot = gmap_acpi_slot(a, paths, id);
		if (paths->broken)
			return -1;
		if (uniform && slot < 0) {
			/* A CPU left out would read as absent: no match. */
			free(paths->note);
			if (asprintf(&paths->note, "the ACPI path of guest CPU %d is not a QEMU CPU name",
				     id) < 0)
				paths->note = NULL;
			return -1;
		}
		idx = slot >= 0 ? gmap_slot_vcpu(t, slot) : -1;
		if (uniform && slot >= 0 && idx < 0)
			r = asprintf(&v->note, "the guest's ACPI id of guest CPU %d is slot %d, which this VM does not have (%zu vCPUs)",
				     id, slot, t->n_vcpus);
		else if (idx >= 0 && v->logical[idx] >= 0)
			r = asprintf(&v->note, "the guest's ACPI ids put guest CPUs %d and %d on vCPU %d",
				     v->logical[idx], id, idx);
		else if (idx == 0 && id != 0)
			r = asprintf(&v->note, "the guest's ACPI ids put guest CPU %d on the boot vCPU 0",
				     id);
		else if (idx < 0)
			continue;
		else {
			v->logical[idx] = id;
			v->vcpu_of[i] = idx;
			continue;
		}
		if (r < 0)
			v->note = NULL;
		return -2;
	}
	return 0;
}

static bool gmap_sets_equal(const struct topology *t,
			    const struct agent_gcpus *g)
{
	size_t i, online = 0;

	for (i = 0; i < t->n_vcpus; i++) {
		if (!t->vcpus[i].online)
			continue;
		online++;
		if (!agent_gcpus_find(g, (int)i))
			return false;
	}
	return online == g->n;
}

/* Forget the paths of CPUs the guest no longer lists: on guests that
 * reuse numbers, a later CPU may take the id. */
static void gmap_forget_gone(struct gmap_paths *paths,
			     const struct agent_gcpus *g)
{
	int id;

	for (id = 0; id < GMAP_MAX_CPU; id++)
		if (paths->slot_of[id] != -1 && !agent_gcpus_find(g, id))
			paths->slot_of[id] = -1;
}

/* Every vCPU and every guest CPU unmatched. */
static void gmap_unmatch(struct gmap_view *v)
{
	size_t i;

	for (i = 0; i < v->n_vcpus; i++)
		v->logical[i] = -1;
	for (i = 0; i < v->guest.n; i++)
		v->vcpu_of[i] = -1;
}

/* The match by number, when the ACPI paths could not be read. */
static void gmap_match_identity(struct gmap_paths *paths,
				const struct topology *t, struct gmap_view *v)
{
	size_t i;

	if (!gmap_sets_equal(t, &v->guest)) {
		if (asprintf(&v->note,
			     "cannot match guest CPUs to vCPUs: the guest numbers CPUs in the order it saw them, and reading their ACPI ids failed (%s)",
			     paths->note ? paths->note : "?") < 0)
			v->note = NULL;
		return;
	}
	v->how = GMAP_IDENTITY;
	for (i = 0; i < v->guest.n; i++) {
		v->vcpu_of[i] = v->guest.cpus[i].logical_id;
		v->logical[v->guest.cpus[i].logical_id] =
			v->guest.cpus[i].logical_id;
	}
}

int gmap_view_query(struct agent *a, struct gmap_paths *paths,
		    const struct topology *t, struct gmap_view *v,
		    struct vc_err *err)
{
	int r;

	memset(v, 0, sizeof(*v));
	if (agent_get_vcpus(a, &v->guest, err) < 0)
		return -1;
	v->n_vcpus = t ? t->n_vcpus : 0;
	v->logical = malloc((v->n_vcpus + 1) * sizeof(*v->logical));
	v->vcpu_of = malloc((v->guest.n + 1) * sizeof(*v->vcpu_of));
	if (!v->logical || !v->vcpu_of) {
		gmap_view_free(v);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	gmap_unmatch(v);
	if (!t) {
		v->note = strdup("no QMP socket: vCPU indexes unknown");
		return 0;
	}
	gmap_forget_gone(paths, &v->guest);
	r = gmap_match_acpi(a, paths, t, v);
	if (r == 0) {
		v->how = GMAP_ACPI;
		return 0;
	}
	gmap_unmatch(v);
	if (r == -2) {
		/* A guest caught lying is not believed by number either. */
		if (!v->note)
			v->note = strdup("the guest's ACPI ids contradict QEMU's vCPUs");
		return 0;
	}
	gmap_match_identity(paths, t, v);
	return 0;
}

void gmap_view_free(struct gmap_view *v)
{
	agent_gcpus_free(&v->guest);
	free(v->logical);
	free(v->vcpu_of);
	free(v->note);
	memset(v, 0, sizeof(*v));
}

const struct agent_gcpu *gmap_view_vcpu(const struct gmap_view *v, int index)
{
	if (index < 0 || (size_t)index >= v->n_vcpus || v->logical[index] < 0)
		return NULL;
	return agent_gcpus_find(&v->guest, v->logical[index]);
}

bool gmap_view_mismatch(const struct gmap_view *v, const struct topology *t,
			int index)
{
	const struct agent_gcpu *g;

	if (v->how == GMAP_NONE || index < 0 ||
	    (size_t)index >= t->n_vcpus || (size_t)index >= v->n_vcpus)
		return false;
	g = gmap_view_vcpu(v, index);
	if (t->vcpus[index].online)
		return !g || !g->online;
	return g != NULL;
}

int gmap_view_fetch(const struct agent_opts *o, const struct topology *t,
		    struct gmap_view *v, struct vc_err *err)
{
	struct gmap_paths *paths;
	struct agent *a;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	a = agent_open_opts(o, err);
	if (!a)
		return -1;
	paths = gmap_paths_new(err);
	if (paths)
		rc = gmap_view_query(a, paths, t, v, err);
	gmap_paths_free(paths);
	agent_close(a);
	return rc;
}
