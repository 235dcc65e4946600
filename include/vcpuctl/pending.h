/* pending.h - the per-VM record of requested removals, so that a later
 * "wait", "show", "count" or "set" knows what is still leaving after the
 * vcpuctl that asked (set --no-wait, or a wait that timed out) has exited.
 *
 * An unplug is a request the guest answers when it gets to it; QEMU's
 * ACPI status shows an eject only once the guest has started it, and
 * events sent while no client is connected are lost.  So the asking run
 * writes down what it asked for: per entity, the first vCPU index and how
 * many vCPUs it holds, the device id and QOM path, when it was asked and
 * the timeout of the command that asked.
 *
 * Where: beside the VM's lock (lock.h), <lock dir>/<socket key>.pending.
 * The socket key is the lock's (the socket's device and inode, or
 * "tcp-HOST_PORT") and, for a unix socket, the time the socket file was
 * made: "<dev>-<ino>-<sec>.<nsec>", so a socket that a restarted QEMU made
 * at a reused inode has another record; the first write for it removes
 * the records of earlier sockets at that inode.  Inside, the record names
 * the QEMU it belongs to as well: its pid and start time (field 22 of
 * /proc/PID/stat) for a unix socket, so no other QEMU on that very socket
 * file inherits it; for a tcp monitor, whose peer pid is unknown,
 * "HOST:PORT" and QEMU's version from the greeting.
 *
 * Written only under the VM's lock, atomically: a temporary file in the
 * same directory, fsync, rename, fsync of the directory.  Bounded:
 * PENDING_MAX_ENTRIES entries, PENDING_MAX_BYTES bytes.  No entries: the
 * file is removed.
 *
 * Read as input, never trusted: a file that is not a regular file, is
 * owned by neither the caller nor root, is larger than the bound, is not
 * a record of this format, or names another socket or another QEMU is
 * ignored with a warning (and replaced at the next write).  Then every
 * entry is reconciled with QEMU's topology: an entity that is gone is
 * done (dropped), one that QEMU still lists under another id, path or
 * shape is dropped with a warning.  Nothing is ever sent to QEMU on the
 * record's word alone: it only says what to wait for and what to show.
 *
 * Data only: nothing here prints; warnings come back in struct pending.
 */
#ifndef VCPUCTL_PENDING_H
#define VCPUCTL_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/err.h"
#include "vcpuctl/topology.h"

#define PENDING_MAX_ENTRIES 512
#define PENDING_MAX_BYTES (256 * 1024)
#define PENDING_MAX_ID 64          /* device id, bytes */
#define PENDING_MAX_PATH 256       /* QOM path, bytes */
#define PENDING_MAX_WARNINGS 4
#define PENDING_FORMAT "vcpuctl-pending/1"

struct pending_entry {
	int vcpu;               /* first vCPU index of the entity */
	int count;              /* vCPUs it holds, >= 1 */
	char *device_id;        /* owned: what device_del was given */
	char *qom_path;         /* owned: the entity's QOM path */
	int64_t requested_at;   /* seconds since the epoch (CLOCK_REALTIME) */
	int64_t timeout_ms;     /* --timeout of the command that asked; 0: none */
};

/* Which QEMU a record belongs to. */
struct pending_key {
	char socket[300];       /* "<dev>-<ino>-<sec>.<nsec>", "tcp-..." */
	long long pid;          /* QEMU's pid; 0 when unknown (tcp) */
	unsigned long long start; /* its start time in clock ticks after boot;
	                             0 when unknown */
	char qemu[64];          /* tcp only: QEMU's version; "" otherwise */
};

struct pending {
	struct pending_key key;
	char path[1024];        /* the record's file; "" when none can be had */
	struct pending_entry *e; size_t n;  /* owned */
	char *warnings[PENDING_MAX_WARNINGS]; /* owned, in the order they arose */
	size_t n_warnings;
};

/* The key of the QEMU behind socket spec: pid is qmp_peer_pid() (0 for
 * tcp), version qmp_version().  Returns 1, 0 when the socket cannot be
 * stat()ed (then there is no record), or -1 with err (VC_EXIT_INTERNAL). */
int pending_key_make(const char *spec, pid_t pid, const char *version,
		     struct pending_key *k, struct vc_err *err);

/* Parse record text (any bytes, len of them) that must belong to want.
 * Returns 0 with out's entries filled (out->key = *want), or -1 with why
 * saying what is wrong ("not a record: ...", "of another VM: ...", "of an
 * earlier QEMU: ...") and out empty.  Pure: the fuzz target's entry. */
int pending_parse(const char *text, size_t len, const struct pending_key *want,
		  struct pending *out, struct vc_err *why);

/* The record's text (one line of JSON and a newline; malloc'd), or NULL
 * on out of memory.  Writes at most PENDING_MAX_ENTRIES entries. */
char *pending_format(const struct pending *p);

/* Load the record of the QEMU behind spec (see pending_key_make) from the
 * lock directory.  Never fails for the record's sake: a missing file is
 * an empty record, a bad one an empty record and a warning.  Returns 0, or
 * -1 with err only when the lock directory cannot be had or memory runs
 * out. */
int pending_load(const char *spec, pid_t pid, const char *version,
		 struct pending *p, struct vc_err *err);

/* Reconcile p with QEMU's topology t: drop entries whose entity is gone
 * (done; n_done counts their vCPUs when not NULL) and, with a warning,
 * those t contradicts.  An entity query-cpus-fast still lists while it
 * is torn down (topology.h: leaving) stays pending. */
void pending_reconcile(struct pending *p, const struct topology *t,
		       size_t *n_done);

/* The entry of vCPU index k (any vCPU of the entity), or NULL. */
const struct pending_entry *pending_find(const struct pending *p, int k);

/* Record the items of r that are APPLY_PENDING, asked at now (seconds
 * since the epoch) by a command with timeout_ms; an entry already there
 * keeps its time unless resent.  Drop the entries of items that are
 * APPLY_REMOVED, or APPLY_REJECTED (the guest said no: nothing is on its
 * way out).  Returns 0, or -1 on out of memory. */
int pending_update(struct pending *p, const struct apply_result *r,
		   int64_t now, int64_t timeout_ms, bool resent);

/* Drop the entry of the entity whose device id or QOM path is dev, or
 * whose QOM path is a parent of path (an event's); returns whether one
 * was. */
bool pending_close(struct pending *p, const char *dev, const char *path);

/* Write p to p->path under the VM's lock (the caller holds it): atomic,
 * bounded; no entries removes the file.  Returns 0 or -1 with err
 * (VC_EXIT_INTERNAL, naming the file). */
int pending_store(const struct pending *p, struct vc_err *err);

/* For a command that holds no lock while it waits (wait, events): take
 * the VM's lock (up to lock_ms), load the record again into out,
 * reconcile it with t, drop the entries of r's items (may be NULL) that
 * are APPLY_REMOVED or APPLY_REJECTED, and store it.  out keeps the
 * record and its warnings for the caller (pending_free()).  Returns 0, or
 * -1 with err: VC_EXIT_BUSY when the lock stays taken (the change that
 * holds it reconciles the record itself), VC_EXIT_INTERNAL otherwise. */
int pending_settle(const char *spec, pid_t pid, const char *version,
		   const struct topology *t, const struct apply_result *r,
		   int64_t lock_ms, struct pending *out, struct vc_err *err);

/* Entries' vCPUs below nbits into a new list (cpulist_free()).  Returns
 * 0, or -1 on out of memory. */
int pending_vcpus(const struct pending *p, size_t nbits, struct cpulist *out);

/* Entries' vCPUs as a cpulist text ("1-2"), or NULL when none. */
char *pending_vcpus_text(const struct pending *p);

/* Seconds since the entry was asked (>= 0), and whether that is past the
 * asking command's timeout. */
int64_t pending_age_s(const struct pending_entry *e, int64_t now);
bool pending_overdue(const struct pending_entry *e, int64_t now);

/* Seconds since the epoch, for requested_at. */
int64_t pending_now(void);

void pending_free(struct pending *p);

#endif
