/* tune.h - placement of one vCPU thread: cgroup, CPU affinity, scheduler.
 *
 * The same placement libvirt gives every vCPU it plugs: a child cgroup
 * "vcpuN" of the VM's cgroup with its own cpuset and CPU bandwidth, a CPU
 * affinity, and a scheduling policy.  The steps run in that order, because
 * joining a cpuset resets a thread's affinity to the cpuset's CPUs.
 *
 * Cgroup v1 (the cpu, cpuacct and cpuset controllers) goes through
 * libcgroup.  Cgroup v2 uses a threaded subtree, which libcgroup 2.0 cannot
 * build (see tune.c), so its files are written directly; that code works on
 * any directory, and the unit tests point it at a scratch one.
 *
 * Nothing here prints.  Errors name the vCPU, the thread, the file or the
 * call, and the errno; EPERM says which privilege is missing.
 */
#ifndef VCPUCTL_TUNE_H
#define VCPUCTL_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vcpuctl/apply.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/err.h"
#include "vcpuctl/topology.h"

/* Where cgroup hierarchies are mounted; an absolute --cgroup must be under
 * it. */
#define TUNE_CGROUP_ROOT "/sys/fs/cgroup"

/* The kernel's limits on CFS bandwidth (kernel/sched/core.c). */
#define TUNE_PERIOD_MIN_US 1000L
#define TUNE_PERIOD_MAX_US 1000000L
#define TUNE_QUOTA_MIN_US 1000L
/* The kernel's own upper bound on a quota, (1 << 44) ns, in us. */
#define TUNE_QUOTA_MAX_US 17592186044L

#define TUNE_QUOTA_UNSET 0L
#define TUNE_QUOTA_UNLIMITED (-1L)   /* --quota max */

/* --affinity VCPU:LIST */
struct tune_pin {
	int vcpu;
	struct cpulist cpus;       /* owned */
};

/* --node-affinity NODE:LIST */
struct tune_node_pin {
	long node;                 /* guest NUMA node */
	struct cpulist cpus;       /* owned: affinity of its new vCPUs */
	char *cpuset;              /* owned: the same list as text, for
	                              cpuset.cpus with --cgroup */
};

/* What the user asked for: every field is optional. */
struct tune_opts {
	const char *cgroup;        /* --cgroup, borrowed from argv; NULL: none */
	char *cpuset;              /* owned canonical cpulist; NULL: parent's */
	char *mems;                /* owned canonical list; NULL: parent's */
	long quota_us;             /* TUNE_QUOTA_UNSET, _UNLIMITED, or >= 1000 */
	long period_us;            /* 0: unset */
	struct cpulist affinity;   /* owned; nbits 0: not given */
	struct tune_pin *pins;     /* owned; per-vCPU affinities */
	size_t n_pins;
	struct tune_node_pin *node_pins; /* owned; per-guest-node affinities */
	size_t n_node_pins;
	int policy;                /* SCHED_*, or -1: not given */
	int priority;              /* for SCHED_FIFO / SCHED_RR */
};

enum tune_cg_mode { TUNE_CG_NONE, TUNE_CG_V1, TUNE_CG_V2 };

/* The VM's cgroup, resolved. */
struct tune_cgroup {
	enum tune_cg_mode mode;
	char *name;                /* V1: owned path below each controller's
	                              mount, e.g. "test/vm1" */
	char *dir;                 /* V2: owned absolute directory */
	bool have_cpuacct;         /* V1: the cpuacct controller is mounted */
	bool auto_pending;         /* --cgroup auto, not yet looked up */
	char *note;                /* owned: what auto chose and why, or NULL */
};

void tune_opts_init(struct tune_opts *o);
void tune_opts_free(struct tune_opts *o);

/* Anything to do for a thread? */
bool tune_opts_any(const struct tune_opts *o);

/* Option parsers.  Each returns 0, or -1 with err (VC_EXIT_USAGE) naming
 * the option and the text.  CPU lists are checked against this host's
 * possible CPUs; "r" means all of them. */
int tune_parse_affinity(struct tune_opts *o, const char *arg, struct vc_err *err);
/* "NODE:LIST": vCPUs on guest node NODE get host CPUs LIST as their
 * affinity, and as cpuset.cpus with --cgroup. */
int tune_parse_node_affinity(struct tune_opts *o, const char *arg,
			     struct vc_err *err);
int tune_parse_cpuset(struct tune_opts *o, const char *arg, struct vc_err *err);
int tune_parse_mems(struct tune_opts *o, const char *arg, struct vc_err *err);
int tune_parse_quota(struct tune_opts *o, const char *arg, struct vc_err *err);
int tune_parse_period(struct tune_opts *o, const char *arg, struct vc_err *err);
/* "other", "batch", "idle", "fifo:N", "rr:N"; N in the policy's range. */
int tune_parse_sched(struct tune_opts *o, const char *arg, struct vc_err *err);
/* Checks across options (--cpuset needs --cgroup, ...). */
int tune_opts_check(const struct tune_opts *o, struct vc_err *err);

/* "fifo:10", "batch"... for policy and priority (static storage when no
 * priority, else written into buf). */
const char *tune_sched_text(int policy, int priority, char *buf, size_t size);

/* The affinity for vCPU vcpu: its own --affinity V:LIST, else the common
 * one, else NULL (borrowed). */
const struct cpulist *tune_opts_affinity_for(const struct tune_opts *o, int vcpu);

/* Every --node-affinity NODE is a guest node of t.  Returns 0, or -1 with
 * err (VC_EXIT_USAGE) naming the node and the VM's nodes. */
int tune_node_pins_check(const struct tune_opts *o, const struct topology *t,
			 struct vc_err *err);

/* The guest node of vCPU vcpu of t, -1 when none is reported. */
long tune_vcpu_node(const struct topology *t, int vcpu);

/* Resolve --cgroup spec: relative to each controller's mount, or absolute
 * below root (TUNE_CGROUP_ROOT; tests pass another).  Refuses ".."
 * components and paths whose real path leaves the mount.  The cgroup must
 * exist.  Returns 0, or -1 with err (VC_EXIT_USAGE). */
int tune_cgroup_resolve(const char *spec, const char *root,
			struct tune_cgroup *cg, struct vc_err *err);

/* --cgroup auto: tune_cgroup_resolve only marks cg auto_pending; once
 * QEMU's pid is known, this finds the VM cgroup from where QEMU's threads
 * already are (/proc/PID/task/TID/cgroup: the v1 cpuset line, else the v2
 * one): the parent of the first "vcpuN" one of its threads sits in, else
 * the parent of QEMU's main thread's "emulator" cgroup (libvirt's layout),
 * else the main thread's own cgroup.  The root cgroup is refused.  Sets
 * cg->note to the choice and its reason.  Does nothing unless
 * auto_pending.  Returns 0, or -1 with err (VC_EXIT_USAGE). */
#define TUNE_CGROUP_AUTO "auto"
int tune_cgroup_auto(struct tune_cgroup *cg, pid_t pid, struct vc_err *err);

/* Use dir as a v2 VM cgroup without looking at what is mounted (tests). */
int tune_cgroup_v2_at(const char *dir, struct tune_cgroup *cg, struct vc_err *err);

void tune_cgroup_free(struct tune_cgroup *cg);

/* Give thread tid of QEMU process pid (vCPU vcpu) the placement o asks for:
 * cgroup vcpuN (created if missing; removed again if this call created it
 * and a cgroup step failed), then affinity, then scheduler.  pid > 0 makes
 * sure tid is a thread of pid.  cg may be NULL or TUNE_CG_NONE.  Stops at
 * the first failure.  Returns 0, or -1 with err (VC_EXIT_NOT_TUNED). */
int tune_thread(const struct tune_opts *o, const struct tune_cgroup *cg,
		int vcpu, pid_t pid, pid_t tid, struct vc_err *err);

/* tune_thread() for a vCPU on guest node node (-1: none reported): a
 * --node-affinity for that node takes the place of the common --affinity
 * and of --cpuset; --affinity V:LIST still wins for vCPU V. */
int tune_thread_on_node(const struct tune_opts *o, const struct tune_cgroup *cg,
			int vcpu, long node, pid_t pid, pid_t tid,
			struct vc_err *err);

/* Remove cgroup vcpuN of the VM once its thread is gone (a removed vCPU's
 * thread may take a moment to leave it).  Missing is fine.  Returns 0, or
 * -1 with err (VC_EXIT_NOT_TUNED) naming the directory and errno. */
int tune_cgroup_remove(const struct tune_cgroup *cg, int vcpu, struct vc_err *err);

/* What QEMU says of vCPU k, for tune_cgroup_sweep(). */
enum tune_vcpu_use {
	TUNE_VCPU_GONE,      /* not listed: its vcpuN may go */
	TUNE_VCPU_LISTED,    /* plugged: its vcpuN is in use */
	TUNE_VCPU_PENDING,   /* removal asked for, not finished: vcpuN stays */
};

/* One vcpuN found under the VM cgroup that was not left silently. */
enum tune_sweep_state {
	TUNE_SWEEP_REMOVED,  /* its vCPU is gone, and so is the cgroup */
	TUNE_SWEEP_KEPT,     /* its vCPU's removal is pending */
	TUNE_SWEEP_LEFT,     /* its vCPU is gone, the cgroup could not go */
	TUNE_SWEEP_FOREIGN,  /* N is no vCPU of this VM: not ours to remove */
};

struct tune_sweep_item {
	int vcpu;
	enum tune_sweep_state state;
	char *path;          /* owned: the directory */
	char *reason;        /* owned: why LEFT (directory and errno) or
	                        FOREIGN; NULL otherwise */
};

struct tune_sweep {
	struct tune_sweep_item *items; /* owned, by vCPU index */
	size_t n;
	size_t n_left;       /* items LEFT */
	bool swept;          /* there was a VM cgroup to look at */
};

/* Cleanup follows state, not events: every vcpuN directly under the VM
 * cgroup whose vCPU (use[N], N < n_vcpus) is GONE is removed once empty,
 * retried within a short bound while the kernel says EBUSY; a cgroup with
 * a task in it is never emptied by force.  Nothing else is touched.
 * Returns 0 with s filled (LISTED vCPUs' cgroups are not listed), or -1
 * with err when the VM cgroup cannot be read. */
int tune_cgroup_sweep(const struct tune_cgroup *cg, const unsigned char *use,
		      size_t n_vcpus, struct tune_sweep *s, struct vc_err *err);
void tune_sweep_free(struct tune_sweep *s);

/* What a thread has now, for "vcpuctl show". */
struct tune_thread_info {
	char *affinity;            /* owned: Cpus_allowed_list, or NULL */
	char *sched;               /* owned: "other", "fifo:10"..., or NULL */
	char *cgroup;              /* owned: its cpuset (v1) or v2 cgroup path */
};

/* Read thread tid of process pid (pid > 0: it must be one of pid's
 * threads).  Fields that cannot be read stay NULL.  Returns 0 when the
 * thread exists on this host, -1 when not. */
int tune_thread_read(pid_t pid, pid_t tid, struct tune_thread_info *info);
void tune_thread_info_free(struct tune_thread_info *info);

/* What each online vCPU of t has now (tune_thread_read() of its thread),
 * as an array of t->n_vcpus; NULL on out of memory.  Only threads of
 * QEMU process pid are read, and none when pid <= 0: without QEMU's pid a
 * thread id could name anyone's thread.  tune_threads_free(info, n) frees
 * it, n its length. */
struct tune_thread_info *tune_threads_read(const struct topology *t, pid_t pid);
void tune_threads_free(struct tune_thread_info *info, size_t n);

#endif
