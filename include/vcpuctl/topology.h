/* topology.h - the VM's vCPU topology, as QEMU reports it.
 *
 * Built from query-hotpluggable-cpus (one row per hotpluggable entity: an
 * x86 thread, a pseries core of k threads, ...) and query-cpus-fast (one
 * row per running vCPU), merged by qom-path.  On pseries a vCPU's qom-path
 * is "<core path>/thread[N]", so a vCPU belongs to the entity whose path is
 * its own or a parent of it.
 *
 * Entities are sorted by their topology ids (drawer, book, socket, die,
 * cluster, module, core, thread, then node) and vCPU indexes are handed out
 * in that order: an entity of k vCPUs takes k consecutive indexes.  That
 * index is what the user names ("vcpuctl del 5") and what new device ids
 * are made from ("vcpu5").
 *
 * Both replies are read from their text by one scanner (jsonstream.h),
 * whatever their size and whether or not --trace is on: no jansson tree.
 *
 * Pure: topo_build() does no I/O and can be fed captured replies.
 */
#ifndef VCPUCTL_TOPOLOGY_H
#define VCPUCTL_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "vcpuctl/err.h"

struct qmp;

/* Topology keys, in sort order.  TOPO_NODE sorts last: it places an entity,
 * it is not a level of the hierarchy. */
enum topo_key {
	TOPO_DRAWER, TOPO_BOOK, TOPO_SOCKET, TOPO_DIE, TOPO_CLUSTER,
	TOPO_MODULE, TOPO_CORE, TOPO_THREAD, TOPO_NODE, TOPO_NKEYS
};

/* QMP prop name of each key: "drawer-id", ..., "node-id". */
extern const char *const topo_key_prop[TOPO_NKEYS];
/* Short column names: "drawer", ..., "node". */
extern const char *const topo_key_name[TOPO_NKEYS];

struct topo_entity {
	char *type;          /* QOM type, sent as "driver" to device_add */
	char *props;         /* owned: the props object as QEMU sent it, in
	                        compact JSON; topo_entity_props() for a json_t */
	long ids[TOPO_NKEYS];/* -1 where QEMU reports no such prop */
	int vcpus_count;     /* >= 1 */
	char *qom_path;      /* NULL when not plugged */
	char *alias;         /* ID of /machine/peripheral/ID, or NULL */
	bool online;         /* plugged (has a qom-path) */
	bool removable;      /* plugged with device_add (under /machine/peripheral
	                        or /machine/peripheral-anon) */
	int first;           /* index of its first vCPU */
	bool leaving;        /* set by the caller, never by topo_build(): a
	                        removal asked for earlier and not finished
	                        (pending.h).  The planner counts it as neither
	                        online nor free: where the VM is going */
};

struct topo_vcpu {
	int index;           /* 0.. in topology order */
	size_t entity;       /* index into topology.ents */
	bool online;         /* its entity is plugged and QEMU lists the vCPU */
	int cpu_index;       /* QEMU's cpu-index, -1 when offline/unknown */
	long thread_id;      /* host thread id, -1 when offline/unknown */
	char *qom_path;      /* from query-cpus-fast, NULL when offline */
	char *target;        /* "x86_64", "ppc64"...; NULL when not reported */
	char *cpu_state;     /* s390x "operating"/"stopped"...; NULL otherwise */
};

struct topology {
	struct topo_entity *ents; size_t n_ents;   /* owned, sorted */
	struct topo_vcpu *vcpus; size_t n_vcpus;   /* owned, n_vcpus = max */
	int online;          /* vCPUs online */
	int max;             /* vCPUs possible */
	int removable;       /* online vCPUs that can be unplugged */
	/* false when thread ids are missing, duplicated or equal to QEMU's own
	 * pid (single-threaded TCG): per-vCPU tuning is then impossible and
	 * thread_warning says why (owned).  Not an error. */
	bool per_vcpu_threads;
	char *thread_warning;
	/* QEMU passes through this state while it removes a device: a vCPU
	 * that query-cpus-fast still lists under a device (/machine/
	 * peripheral[-anon]/ID) that query-hotpluggable-cpus no longer shows
	 * as plugged is being torn down.  It belongs to no entity, counts as
	 * online nowhere, and is no error.  leaving[] holds each such
	 * device's path (owned); n_leaving_vcpus counts the vCPUs. */
	char **leaving; size_t n_leaving;
	size_t n_leaving_vcpus;
};

/* Build a topology from the "return" values of query-hotpluggable-cpus
 * and query-cpus-fast as JSON text (borrowed).  cpus_fast may be NULL: the
 * planner needs only query-hotpluggable-cpus, and a plug must cost one
 * round trip per vCPU plus two; vCPUs of plugged entities then count as
 * online with unknown thread ids (-1) and per_vcpu_threads is false with
 * no warning.  qemu_pid is QEMU's pid when known, else 0.
 * Returns 0, or -1 with err set (VC_EXIT_CONN: "query-hotpluggable-cpus:
 * entry 3: 'vcpus-count' is not an integer"; text that is not JSON:
 * "query-cpus-fast: malformed JSON at byte 17") on replies of the wrong
 * shape.  On failure *t is left empty and need not be freed. */
int topo_build(struct topology *t, const char *hotpluggable, size_t hp_len,
	       const char *cpus_fast, size_t cf_len, pid_t qemu_pid,
	       struct vc_err *err);

/* topo_build() from jansson values (borrowed; cpus_fast may be NULL), for
 * callers that hold trees: they are written out as text and read back. */
int topo_build_json(struct topology *t, json_t *hotpluggable,
		    json_t *cpus_fast, pid_t qemu_pid, struct vc_err *err);

/* Run both queries on q and build.  Two round trips.  A query-cpus-fast
 * row that belongs to no plugged entity and to no device being removed
 * may be a race: both are read again, up to 4 reads within 60 ms, before
 * failing with the last read's message, prefixed "4 reads of both
 * replies in 60 ms: ". */
int topo_query(struct qmp *q, struct topology *t, struct vc_err *err);

/* device_path is one of t->leaving: still being torn down. */
bool topo_leaving(const struct topology *t, const char *device_path);

/* Only query-hotpluggable-cpus (one round trip); see topo_build. */
int topo_query_hotpluggable(struct qmp *q, struct topology *t,
			    struct vc_err *err);

void topo_free(struct topology *t);

/* The entity's props as a new reference to a fresh object the caller may
 * change (device_add arguments), or NULL when it has none or out of
 * memory. */
json_t *topo_entity_props(const struct topo_entity *e);

/* Entity with this alias (device id) or qom-path, or NULL. */
const struct topo_entity *topo_find_alias(const struct topology *t,
					  const char *alias);

/* The id that device_del takes for a plugged entity: its alias, or its
 * qom-path when it has none (borrowed). */
const char *topo_entity_device_id(const struct topo_entity *e);

/* Bit (1u << key) set for each topology key that some entity reports. */
unsigned topo_keys_present(const struct topology *t);

/* The vCPU is online and its entity was plugged with device_add. */
bool topo_vcpu_removable(const struct topology *t, const struct topo_vcpu *v);

/* The vCPU's entity is plugged but not removable: a CPU QEMU started with. */
bool topo_vcpu_boot(const struct topology *t, const struct topo_vcpu *v);

/* JSON model of the topology (new reference, NULL on out of memory), the
 * schema README documents for "vcpuctl show --json":
 *
 *   {"online": 4, "max": 8, "removable": 2,
 *    "per_vcpu_threads": true, "thread_warning": null | "text",
 *    "topology_keys": ["socket", "core", "thread"],  (keys present, in order)
 *    "vcpus": [{                                      (one per possible vCPU)
 *      "index": 5, "online": true,
 *      "removable": true,      (online and plugged with device_add)
 *      "boot": false,          (plugged, but a CPU QEMU started with)
 *      "entity_first": 4, "vcpus_per_entity": 2,
 *      "alias": "vcpu4" | null, "device_id": "vcpu4" | qom-path | null,
 *      "qom_path": "/machine/peripheral/vcpu4" | null,  (the vCPU's own)
 *      "type": "qemu64-x86_64-cpu", "props": {...verbatim...},
 *      "topology": {"socket": 1, "core": 0, "thread": 1},  (present keys,
 *                                                           node excluded)
 *      "node": 0 | null, "cpu_index": 5 | null, "thread_id": 4155 | null,
 *      "target": "x86_64" | null, "cpu_state": "operating" | null}]}
 *
 * "vcpuctl show --json" adds "qemu": {"version", "package"} in front. */
json_t *topo_to_json(const struct topology *t);

#endif
