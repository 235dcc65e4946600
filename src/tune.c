/* tune.c - cgroup (v1 through libcgroup, v2 by its files), affinity and
 * scheduler for one vCPU thread; the option parsers; what "show" reads
 * back from /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "vcpuctl/tune.h"
#include "vcpuctl/util.h"

/* Highest vCPU index --affinity V:LIST may name before the VM is known. */
#define PIN_VCPU_LIMIT 65536
/* NUMA nodes a --mems list may name; the kernel checks the real ones. */
#define MEMS_LIMIT 1024
/* A removed vCPU's thread leaves its cgroup as it exits; wait this long
 * for the cgroup to become empty. */
#define REMOVE_WAIT_MS 2000
#define REMOVE_POLL_MS 20

static const struct {
	const char *name;
	int policy;
	bool rt;
} sched_names[] = {
	{ "other", SCHED_OTHER, false },
	{ "batch", SCHED_BATCH, false },
	{ "idle", SCHED_IDLE, false },
	{ "fifo", SCHED_FIFO, true },
	{ "rr", SCHED_RR, true },
};
#define N_SCHED (sizeof(sched_names) / sizeof(sched_names[0]))

void tune_opts_init(struct tune_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->policy = -1;
}

void tune_opts_free(struct tune_opts *o)
{
	size_t i;

	if (!o)
		return;
	free(o->cpuset);
	free(o->mems);
	cpulist_free(&o->affinity);
	for (i = 0; i < o->n_pins; i++)
		cpulist_free(&o->pins[i].cpus);
	free(o->pins);
	for (i = 0; i < o->n_node_pins; i++) {
		cpulist_free(&o->node_pins[i].cpus);
		free(o->node_pins[i].cpuset);
	}
	free(o->node_pins);
	tune_opts_init(o);
}

bool tune_opts_any(const struct tune_opts *o)
{
	return o->cgroup || o->affinity.nbits || o->n_pins || o->n_node_pins ||
	       o->policy >= 0;
}

static size_t host_cpus(void)
{
	int n = get_nprocs_conf();

	return n > 0 ? (size_t)n : 1;
}

/* A host CPU list: cpulist syntax, or "r" for every host CPU. */
static int parse_host_list(const char *opt, const char *arg, size_t limit,
			   bool allow_r, struct cpulist *out, struct vc_err *err)
{
	size_t i;

	if (allow_r && !strcmp(arg, "r")) {
		if (cpulist_init(out, limit) < 0)
			return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		for (i = 0; i < limit; i++)
			cpulist_set(out, i);
		return 0;
	}
	if (cpulist_parse(arg, limit, out, err) < 0)
		return vc_err_prefix(err, "%s", opt);
	return 0;
}

/* The index arg holds before colon ("5" of "5:0-3"), 0 to max. */
static bool index_before(const char *arg, const char *colon, long max,
			 long *out)
{
	char num[16];

	if ((size_t)(colon - arg) >= sizeof(num))
		return false;
	memcpy(num, arg, (size_t)(colon - arg));
	num[colon - arg] = '\0';
	return vc_parse_long(num, 0, max, out) && num[0] != '+';
}

int tune_parse_affinity(struct tune_opts *o, const char *arg, struct vc_err *err)
{
	const char *colon = strchr(arg, ':');
	struct tune_pin *grown;
	long vcpu;
	size_t i;

	if (!colon) {
		if (o->affinity.nbits)
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--affinity: a list for all vCPUs was given twice");
		return parse_host_list("--affinity", arg, host_cpus(), true,
				       &o->affinity, err);
	}
	if (!index_before(arg, colon, PIN_VCPU_LIMIT - 1, &vcpu))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--affinity '%s': '%.*s' is not a vCPU index", arg,
				  (int)(colon - arg), arg);
	for (i = 0; i < o->n_pins; i++)
		if (o->pins[i].vcpu == vcpu)
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--affinity: vCPU %ld is given twice", vcpu);
	grown = realloc(o->pins, (o->n_pins + 1) * sizeof(*grown));
	if (!grown)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	o->pins = grown;
	if (parse_host_list("--affinity", colon + 1, host_cpus(), true,
			    &o->pins[o->n_pins].cpus, err) < 0)
		return -1;
	o->pins[o->n_pins].vcpu = (int)vcpu;
	o->n_pins++;
	return 0;
}

int tune_parse_node_affinity(struct tune_opts *o, const char *arg,
			     struct vc_err *err)
{
	const char *colon = strchr(arg, ':');
	struct tune_node_pin *grown, *pin;
	long node;
	size_t i;

	if (!colon || colon == arg)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--node-affinity '%s': expected NODE:LIST, such as 1:4-7",
				  arg);
	if (!index_before(arg, colon, MEMS_LIMIT - 1, &node))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--node-affinity '%s': '%.*s' is not a guest node (0 to %d)",
				  arg, (int)(colon - arg), arg, MEMS_LIMIT - 1);
	for (i = 0; i < o->n_node_pins; i++)
		if (o->node_pins[i].node == node)
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--node-affinity: node %ld is given twice", node);
	grown = realloc(o->node_pins, (o->n_node_pins + 1) * sizeof(*grown));
	if (!grown)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	o->node_pins = grown;
	pin = &o->node_pins[o->n_node_pins];
	memset(pin, 0, sizeof(*pin));
	if (parse_host_list("--node-affinity", colon + 1, host_cpus(), true,
			    &pin->cpus, err) < 0)
		return -1;
	if (!cpulist_count(&pin->cpus)) {
		cpulist_free(&pin->cpus);
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--node-affinity '%s': the host CPU list is empty", arg);
	}
	pin->cpuset = cpulist_format(&pin->cpus);
	if (!pin->cpuset) {
		cpulist_free(&pin->cpus);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	pin->node = node;
	o->n_node_pins++;
	return 0;
}

long tune_vcpu_node(const struct topology *t, int vcpu)
{
	if (vcpu < 0 || (size_t)vcpu >= t->n_vcpus ||
	    t->vcpus[vcpu].entity >= t->n_ents)
		return -1;
	return t->ents[t->vcpus[vcpu].entity].ids[TOPO_NODE];
}

static bool has_node(const struct topology *t, long node)
{
	size_t i;

	for (i = 0; i < t->n_ents; i++)
		if (t->ents[i].ids[TOPO_NODE] == node)
			return true;
	return false;
}

int tune_node_pins_check(const struct tune_opts *o, const struct topology *t,
			 struct vc_err *err)
{
	char have[128];
	size_t i, used = 0;
	long n, prev = -1;

	for (i = 0; i < o->n_node_pins; i++) {
		if (has_node(t, o->node_pins[i].node))
			continue;
		have[0] = '\0';
		/* Node ids ascending, each once, whatever the entity order. */
		for (;;) {
			size_t j;

			n = -1;
			for (j = 0; j < t->n_ents; j++) {
				long id = t->ents[j].ids[TOPO_NODE];

				if (id > prev && (n < 0 || id < n))
					n = id;
			}
			if (n < 0 || used >= sizeof(have))
				break;
			used += (size_t)snprintf(have + used, sizeof(have) - used,
						 "%s%ld", used ? ", " : "", n);
			prev = n;
		}
		if (!used)
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--node-affinity %ld: this VM reports no guest NUMA nodes",
					  o->node_pins[i].node);
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--node-affinity %ld: guest node %ld does not exist: this VM has nodes %s",
				  o->node_pins[i].node, o->node_pins[i].node, have);
	}
	return 0;
}

static int parse_canonical(const char *opt, const char *arg, size_t limit,
			   char **out, struct vc_err *err)
{
	struct cpulist l;

	if (*out)
		return vc_err_set(err, VC_EXIT_USAGE, "%s was given twice", opt);
	if (parse_host_list(opt, arg, limit, true, &l, err) < 0)
		return -1;
	*out = cpulist_format(&l);
	cpulist_free(&l);
	if (!*out)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	return 0;
}

int tune_parse_cpuset(struct tune_opts *o, const char *arg, struct vc_err *err)
{
	return parse_canonical("--cpuset", arg, host_cpus(), &o->cpuset, err);
}

int tune_parse_mems(struct tune_opts *o, const char *arg, struct vc_err *err)
{
	return parse_canonical("--mems", arg, MEMS_LIMIT, &o->mems, err);
}

int tune_parse_quota(struct tune_opts *o, const char *arg, struct vc_err *err)
{
	if (!strcmp(arg, "max")) {
		o->quota_us = TUNE_QUOTA_UNLIMITED;
		return 0;
	}
	if (!vc_parse_long(arg, TUNE_QUOTA_MIN_US, TUNE_QUOTA_MAX_US, &o->quota_us) ||
	    arg[0] == '+')
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--quota: '%s' is not 'max' or a number of microseconds from %ld to %ld",
				  arg, TUNE_QUOTA_MIN_US, TUNE_QUOTA_MAX_US);
	return 0;
}

int tune_parse_period(struct tune_opts *o, const char *arg, struct vc_err *err)
{
	if (!vc_parse_long(arg, TUNE_PERIOD_MIN_US, TUNE_PERIOD_MAX_US, &o->period_us) ||
	    arg[0] == '+')
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--period: '%s' is not a number of microseconds from %ld to %ld",
				  arg, TUNE_PERIOD_MIN_US, TUNE_PERIOD_MAX_US);
	return 0;
}

int tune_parse_sched(struct tune_opts *o, const char *arg, struct vc_err *err)
{
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	int lo, hi;
	long prio;
	size_t i;

	for (i = 0; i < N_SCHED; i++)
		if (strlen(sched_names[i].name) == len &&
		    !strncmp(sched_names[i].name, arg, len))
			break;
	if (i == N_SCHED)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--sched: '%s': the policy is not other, batch, idle, fifo:N or rr:N",
				  arg);
	if (!sched_names[i].rt) {
		if (colon)
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--sched: '%s': %s takes no priority", arg,
					  sched_names[i].name);
		o->policy = sched_names[i].policy;
		o->priority = 0;
		return 0;
	}
	lo = sched_get_priority_min(sched_names[i].policy);
	hi = sched_get_priority_max(sched_names[i].policy);
	if (!colon)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--sched: '%s' needs a priority: %s:N, N from %d to %d",
				  arg, sched_names[i].name, lo, hi);
	if (!vc_parse_long(colon + 1, lo, hi, &prio) || colon[1] == '+')
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--sched: '%s': the %s priority must be from %d to %d",
				  arg, sched_names[i].name, lo, hi);
	o->policy = sched_names[i].policy;
	o->priority = (int)prio;
	return 0;
}

int tune_opts_check(const struct tune_opts *o, struct vc_err *err)
{
	const char *needs = NULL;

	if (o->cgroup)
		return 0;
	if (o->cpuset)
		needs = "--cpuset";
	else if (o->mems)
		needs = "--mems";
	else if (o->quota_us != TUNE_QUOTA_UNSET)
		needs = "--quota";
	else if (o->period_us)
		needs = "--period";
	if (needs)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "%s sets the vCPU's cgroup: it needs --cgroup PATH", needs);
	return 0;
}

const char *tune_sched_text(int policy, int priority, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < N_SCHED; i++) {
		if (sched_names[i].policy != policy)
			continue;
		if (!sched_names[i].rt)
			return sched_names[i].name;
		snprintf(buf, size, "%s:%d", sched_names[i].name, priority);
		return buf;
	}
	snprintf(buf, size, "policy-%d", policy);
	return buf;
}

const struct cpulist *tune_opts_affinity_for(const struct tune_opts *o, int vcpu)
{
	size_t i;

	for (i = 0; i < o->n_pins; i++)
		if (o->pins[i].vcpu == vcpu)
			return &o->pins[i].cpus;
	return o->affinity.nbits ? &o->affinity : NULL;
}

int tune_thread_on_node(const struct tune_opts *o, const struct tune_cgroup *cg,
			int vcpu, long node, pid_t pid, pid_t tid,
			struct vc_err *err)
{
	struct tune_opts view;
	size_t i;

	for (i = 0; node >= 0 && i < o->n_node_pins; i++)
		if (o->node_pins[i].node == node)
			break;
	if (node < 0 || i == o->n_node_pins)
		return tune_thread(o, cg, vcpu, pid, tid, err);
	/* A shallow copy: view borrows from o and is not freed. */
	view = *o;
	view.affinity = o->node_pins[i].cpus;
	view.cpuset = o->node_pins[i].cpuset;
	return tune_thread(&view, cg, vcpu, pid, tid, err);
}

/* ---- resolving --cgroup ---- */

void tune_cgroup_free(struct tune_cgroup *cg)
{
	if (!cg)
		return;
	free(cg->name);
	free(cg->dir);
	free(cg->note);
	memset(cg, 0, sizeof(*cg));
}

/* libcgroup's text for rc; its table has gaps (NULL). */
static const char *cg_text(int rc)
{
	const char *s;

	if (rc == ECGOTHER)
		return strerror(cgroup_get_last_errno());
	if (rc == ECGNONEMPTY)
		return "threads are still in it";
	s = cgroup_strerror(rc);
	return s ? s : "libcgroup error";
}

static int cg_lib_init(struct vc_err *err)
{
	static int done, rc;

	if (!done) {
		rc = cgroup_init();
		done = 1;
	}
	if (rc)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--cgroup: libcgroup finds no cgroup hierarchy: %s",
				  cg_text(rc));
	return 0;
}

/* Mount point of a controller (malloc'd), or NULL when not mounted. */
static char *cg_mount_of(const char *controller)
{
	char *mp = NULL;

	if (cgroup_get_subsys_mount_point(controller, &mp)) {
		free(mp);
		return NULL;
	}
	return mp;
}

static long fs_type(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return 0;
	return (long)sf.f_type;
}

/* Is path inside dir (a real path) and not dir itself? */
static bool strictly_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1];
	return !strncmp(path, dir, n) && path[n] == '/' && path[n + 1];
}

static int check_components(const char *spec, struct vc_err *err)
{
	const char *p = spec;

	if (!*spec)
		return vc_err_set(err, VC_EXIT_USAGE, "--cgroup: the path is empty");
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2))
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--cgroup '%s': '..' is not allowed", spec);
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/* real path of mnt/rel, which must exist and stay below mnt. */
static char *resolve_below(const char *spec, const char *mnt, const char *rel,
			   struct vc_err *err)
{
	char *joined = NULL, *real = NULL, *real_mnt = NULL;

	if (asprintf(&joined, "%s/%s", mnt, rel) < 0) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	real_mnt = realpath(mnt, NULL);
	real = realpath(joined, NULL);
	if (!real_mnt || !real) {
		vc_err_errno(err, VC_EXIT_USAGE, errno, "--cgroup '%s': %s", spec, joined);
		goto fail;
	}
	if (!strictly_under(real, real_mnt)) {
		vc_err_set(err, VC_EXIT_USAGE,
			   "--cgroup '%s': %s leads to %s, which is not a cgroup below %s",
			   spec, joined, real, real_mnt);
		goto fail;
	}
	free(joined);
	free(real_mnt);
	return real;
fail:
	free(joined);
	free(real_mnt);
	free(real);
	return NULL;
}

/* Relative spec on v1: the cgroup must exist under cpu, cpuset and (if
 * mounted) cpuacct. */
static int resolve_v1(const char *spec, const char *rel, struct tune_cgroup *cg,
		      struct vc_err *err)
{
	static const char *const ctls[] = { "cpu", "cpuset", "cpuacct" };
	size_t i;

	for (i = 0; i < 3; i++) {
		char *mnt = cg_mount_of(ctls[i]), *real;

		if (!mnt) {
			if (i == 2)
				continue;
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--cgroup: the %s controller is not mounted", ctls[i]);
		}
		real = resolve_below(spec, mnt, rel, err);
		free(mnt);
		if (!real)
			return -1;
		free(real);
		if (i == 2)
			cg->have_cpuacct = true;
	}
	cg->mode = TUNE_CG_V1;
	cg->name = strdup(rel);
	if (!cg->name)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	/* libcgroup wants no leading or trailing slashes. */
	while (cg->name[0] && cg->name[strlen(cg->name) - 1] == '/')
		cg->name[strlen(cg->name) - 1] = '\0';
	return 0;
}

int tune_cgroup_v2_at(const char *dir, struct tune_cgroup *cg, struct vc_err *err)
{
	memset(cg, 0, sizeof(*cg));
	cg->dir = realpath(dir, NULL);
	if (!cg->dir)
		return vc_err_errno(err, VC_EXIT_USAGE, errno, "--cgroup %s", dir);
	cg->mode = TUNE_CG_V2;
	return 0;
}

int tune_cgroup_resolve(const char *spec, const char *root,
			struct tune_cgroup *cg, struct vc_err *err)
{
	char *mnt_cpu = NULL, *mnt_cpuset = NULL, *real_root = NULL, *real = NULL;
	int rc = -1;

	memset(cg, 0, sizeof(*cg));
	if (!strcmp(spec, TUNE_CGROUP_AUTO)) {
		cg->auto_pending = true;
		return 0;
	}
	if (check_components(spec, err) < 0 || cg_lib_init(err) < 0)
		return -1;
	mnt_cpu = cg_mount_of("cpu");
	mnt_cpuset = cg_mount_of("cpuset");

	if (spec[0] != '/') {
		if (mnt_cpu && mnt_cpuset && fs_type(mnt_cpu) == CGROUP_SUPER_MAGIC &&
		    fs_type(mnt_cpuset) == CGROUP_SUPER_MAGIC) {
			rc = resolve_v1(spec, spec, cg, err);
		} else if (mnt_cpu && mnt_cpuset && !strcmp(mnt_cpu, mnt_cpuset) &&
			   fs_type(mnt_cpu) == CGROUP2_SUPER_MAGIC) {
			real = resolve_below(spec, mnt_cpu, spec, err);
			if (real) {
				cg->mode = TUNE_CG_V2;
				cg->dir = real;
				real = NULL;
				rc = 0;
			}
		} else {
			vc_err_set(err, VC_EXIT_USAGE,
				   "--cgroup '%s': the cpu and cpuset controllers are not both mounted, "
				   "as cgroup v1 or on one cgroup v2 hierarchy", spec);
		}
		goto out;
	}

	real_root = realpath(root, NULL);
	real = realpath(spec, NULL);
	if (!real_root || !real) {
		vc_err_errno(err, VC_EXIT_USAGE, errno, "--cgroup %s",
			     real_root ? spec : root);
		goto out;
	}
	if (!strictly_under(real, real_root)) {
		vc_err_set(err, VC_EXIT_USAGE,
			   "--cgroup '%s': %s is not below %s", spec, real, real_root);
		goto out;
	}
	if (fs_type(real) == CGROUP2_SUPER_MAGIC) {
		cg->mode = TUNE_CG_V2;
		cg->dir = real;
		real = NULL;
		rc = 0;
		goto out;
	}
	if (fs_type(real) == CGROUP_SUPER_MAGIC) {
		/* A v1 path names one controller's copy of the cgroup; the
		 * same name is used under every controller. */
		const char *mnts[2] = { mnt_cpu, mnt_cpuset };
		size_t i;

		for (i = 0; i < 2; i++) {
			char *rm = mnts[i] ? realpath(mnts[i], NULL) : NULL;

			if (rm && strictly_under(real, rm)) {
				rc = resolve_v1(spec, real + strlen(rm) + 1, cg, err);
				free(rm);
				goto out;
			}
			free(rm);
		}
		vc_err_set(err, VC_EXIT_USAGE,
			   "--cgroup '%s': not in the cpu or cpuset hierarchy", spec);
		goto out;
	}
	vc_err_set(err, VC_EXIT_USAGE, "--cgroup '%s': %s is not a cgroup", spec, real);
out:
	if (rc < 0)
		tune_cgroup_free(cg);
	free(mnt_cpu);
	free(mnt_cpuset);
	free(real_root);
	free(real);
	return rc;
}

/* "vcpu" followed by digits only? */
static bool is_vcpu_name(const char *name)
{
	return !strncmp(name, "vcpu", 4) && name[4] &&
	       strspn(name + 4, "0123456789") == strlen(name + 4);
}

/* Cut path's last component off; returns it (inside path). */
static const char *cut_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash)
		return path;
	*slash = '\0';
	return slash + 1;
}

static char *read_cgroup(pid_t pid, pid_t tid);

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* QEMU's threads, sorted (caller frees), or NULL when they cannot be
 * listed or out of memory.  One directory read instead of one failing
 * lookup per vCPU: thousands of vCPUs whose threads are gone (or belong
 * to no QEMU here) cost tens of ms that way. */
static pid_t *list_tasks(pid_t pid, size_t *n)
{
	char path[64];
	struct dirent *d;
	pid_t *tids = NULL, *grown;
	size_t cap = 0;
	DIR *dir;

	*n = 0;
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	dir = opendir(path);
	if (!dir)
		return NULL;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(tids, cap * sizeof(*tids));
			if (!grown) {
				free(tids);
				closedir(dir);
				return NULL;
			}
			tids = grown;
		}
		tids[(*n)++] = (pid_t)atol(d->d_name);
	}
	closedir(dir);
	if (!tids)
		tids = malloc(sizeof(*tids));
	if (tids)
		qsort(tids, *n, sizeof(*tids), tid_cmp);
	return tids;
}

/* The parent of the cgroup vcpuN with the lowest N that a thread of pid
 * sits in (malloc'd), or NULL; *tid_out is that thread. */
static char *auto_from_vcpus(pid_t pid, long *tid_out)
{
	long best_n = LONG_MAX, n;
	char *best = NULL, *path;
	const char *last;
	pid_t *tids;
	size_t i, count;

	tids = list_tasks(pid, &count);
	for (i = 0; tids && i < count; i++) {
		path = read_cgroup(pid, tids[i]);
		if (!path)
			continue;
		last = cut_last(path);
		n = is_vcpu_name(last) ? strtol(last + 4, NULL, 10) : LONG_MAX;
		if (n < best_n) {
			free(best);
			best = path;
			best_n = n;
			*tid_out = tids[i];
		} else {
			free(path);
		}
	}
	free(tids);
	return best;
}

int tune_cgroup_auto(struct tune_cgroup *cg, pid_t pid, struct vc_err *err)
{
	char *path, *why = NULL, *note = NULL;
	long tid = 0;
	int rc;

	if (!cg->auto_pending)
		return 0;
	cg->auto_pending = false;
	if (pid <= 0)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--cgroup auto: QEMU's pid is unknown (not a local unix socket): "
				  "give --cgroup PATH");
	path = auto_from_vcpus(pid, &tid);
	if (path) {
		rc = asprintf(&why, "vCPU thread %ld is in %s/vcpuN", tid, path);
	} else {
		path = read_cgroup(0, pid);
		if (!path)
			return vc_err_errno(err, VC_EXIT_USAGE, errno,
					    "--cgroup auto: /proc/%ld/cgroup", (long)pid);
		if (strrchr(path, '/') && !strcmp(strrchr(path, '/') + 1, "emulator")) {
			cut_last(path);
			rc = asprintf(&why, "QEMU's main thread is in %s/emulator", path);
		} else {
			rc = asprintf(&why, "QEMU (pid %ld) is in it", (long)pid);
		}
	}
	if (rc < 0)
		why = NULL;
	if (!path[0] || !strcmp(path, "/")) {
		free(path);
		free(why);
		return vc_err_set(err, VC_EXIT_USAGE,
				  "--cgroup auto: QEMU (pid %ld) is in the root cgroup, where vcpuctl "
				  "makes no vcpuN cgroups: give --cgroup PATH", (long)pid);
	}
	rc = tune_cgroup_resolve(path + strspn(path, "/"), TUNE_CGROUP_ROOT, cg, err);
	if (rc == 0 && asprintf(&note, "--cgroup auto: %s (%s)",
				cg->mode == TUNE_CG_V2 ? cg->dir : cg->name,
				why ? why : "") >= 0)
		cg->note = note;
	if (rc < 0)
		vc_err_prefix(err, "--cgroup auto (QEMU's cgroup %s)", path);
	free(path);
	free(why);
	return rc;
}

/* ---- errors ---- */

static const char *privilege_hint(int e, const char *what)
{
	if (e != EPERM && e != EACCES)
		return "";
	if (!strcmp(what, "cgroup"))
		return " (writing cgroups needs root or write access to the VM's cgroup)";
	return " (needs CAP_SYS_NICE)";
}

static int fail_errno(struct vc_err *err, int e, const char *what, int vcpu,
		      const char *fmt, const char *object)
{
	char where[PATH_MAX + 64];

	snprintf(where, sizeof(where), fmt, object);
	return vc_err_set(err, VC_EXIT_NOT_TUNED, "vCPU %d: %s: %s%s", vcpu, where,
			  strerror(e), privilege_hint(e, what));
}

/* ---- cgroup v1, through libcgroup ---- */

static char *v1_vcpu_name(const struct tune_cgroup *cg, int vcpu)
{
	char *s;

	if (asprintf(&s, "%s/vcpu%d", cg->name, vcpu) < 0)
		return NULL;
	return s;
}

/* A libcgroup failure as an errno (ECGOTHER carries the real one). */
static int cg_errno(int rc)
{
	if (rc == ECGOTHER)
		return cgroup_get_last_errno();
	if (rc == ECGROUPNOTEXIST || rc == ECGROUPVALUENOTEXIST)
		return ENOENT;
	return EIO;
}

static int v1_fail(struct vc_err *err, int rc, int vcpu, const char *ctl,
		   const char *name, const char *file)
{
	char *mnt = cg_mount_of(ctl);
	char path[PATH_MAX];
	int e = cg_errno(rc);

	snprintf(path, sizeof(path), "%s/%s/%s", mnt ? mnt : ctl, name, file);
	free(mnt);
	if (e == EIO && rc != ECGOTHER)
		return vc_err_set(err, VC_EXIT_NOT_TUNED, "vCPU %d: cgroup %s: %s",
				  vcpu, path, cg_text(rc));
	return fail_errno(err, e, "cgroup", vcpu, "cgroup %s", path);
}

/* One value into one controller's file, so a failure names the file. */
static int v1_write(const char *name, const char *ctl, const char *file,
		    const char *value, int vcpu, struct vc_err *err)
{
	struct cgroup *g = cgroup_new_cgroup(name);
	struct cgroup_controller *c = g ? cgroup_add_controller(g, ctl) : NULL;
	int rc;

	if (!c || cgroup_add_value_string(c, file, value)) {
		cgroup_free(&g);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	rc = cgroup_modify_cgroup(g);
	cgroup_free(&g);
	if (rc)
		return v1_fail(err, rc, vcpu, ctl, name, file);
	return 0;
}

/* The VM cgroup's own value, the default for --cpuset / --mems. */
static int v1_read_parent(const struct tune_cgroup *cg, const char *file,
			  char *buf, int size, int vcpu, struct vc_err *err)
{
	char name[64];
	void *h = NULL;
	int rc;

	/* libcgroup takes the file name as a non-const char *. */
	snprintf(name, sizeof(name), "%s", file);
	buf[0] = '\0';
	rc = cgroup_read_value_begin("cpuset", cg->name, name, &h, buf, size);
	if (h)
		cgroup_read_value_end(&h);
	if (rc && rc != ECGEOF)
		return v1_fail(err, rc, vcpu, "cpuset", cg->name, file);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static struct cgroup *v1_group(const struct tune_cgroup *cg, const char *name)
{
	struct cgroup *g = cgroup_new_cgroup(name);

	if (!g)
		return NULL;
	if (!cgroup_add_controller(g, "cpuset") || !cgroup_add_controller(g, "cpu") ||
	    (cg->have_cpuacct && !cgroup_add_controller(g, "cpuacct")))
		cgroup_free(&g);
	return g;
}

static bool v1_exists(const char *name)
{
	char *mnt = cg_mount_of("cpuset"), *path = NULL;
	struct stat st;
	bool found;

	if (!mnt || asprintf(&path, "%s/%s", mnt, name) < 0)
		path = NULL;
	found = path && stat(path, &st) == 0;
	free(mnt);
	free(path);
	return found;
}

static int v1_steps(const struct tune_opts *o, const struct tune_cgroup *cg,
		    struct cgroup *g, const char *name, int vcpu, pid_t tid,
		    struct vc_err *err)
{
	char buf[4096], num[32];
	int rc;

	rc = cgroup_create_cgroup(g, 1);
	if (rc)
		return v1_fail(err, rc, vcpu, "cpuset", name, "");
	/* The kernel refuses tasks in a v1 cpuset whose cpus or mems are
	 * empty, which they are in a new one: set both first. */
	if (!o->cpuset && v1_read_parent(cg, "cpuset.cpus", buf, sizeof(buf), vcpu, err) < 0)
		return -1;
	if (v1_write(name, "cpuset", "cpuset.cpus", o->cpuset ? o->cpuset : buf,
		     vcpu, err) < 0)
		return -1;
	if (!o->mems && v1_read_parent(cg, "cpuset.mems", buf, sizeof(buf), vcpu, err) < 0)
		return -1;
	if (v1_write(name, "cpuset", "cpuset.mems", o->mems ? o->mems : buf,
		     vcpu, err) < 0)
		return -1;
	/* Period first: the kernel checks a quota against the period in
	 * force. */
	if (o->period_us) {
		snprintf(num, sizeof(num), "%ld", o->period_us);
		if (v1_write(name, "cpu", "cpu.cfs_period_us", num, vcpu, err) < 0)
			return -1;
	}
	if (o->quota_us != TUNE_QUOTA_UNSET) {
		snprintf(num, sizeof(num), "%ld", o->quota_us);
		if (v1_write(name, "cpu", "cpu.cfs_quota_us", num, vcpu, err) < 0)
			return -1;
	}
	rc = cgroup_attach_task_pid(g, tid);
	if (rc)
		return v1_fail(err, rc, vcpu, "cpuset", name, "tasks");
	return 0;
}

static int v1_setup(const struct tune_opts *o, const struct tune_cgroup *cg,
		    int vcpu, pid_t tid, struct vc_err *err)
{
	char *name = v1_vcpu_name(cg, vcpu);
	struct cgroup *g = name ? v1_group(cg, name) : NULL;
	bool existed;
	int rc;

	if (!g) {
		free(name);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	existed = v1_exists(name);
	rc = v1_steps(o, cg, g, name, vcpu, tid, err);
	if (rc < 0 && !existed) {
		/* Moves the thread back to the VM's cgroup if it got in. */
		cgroup_delete_cgroup_ext(g, 0);
	}
	cgroup_free(&g);
	free(name);
	return rc;
}

/* ---- cgroup v2: files written directly ----
 *
 * libcgroup 2.0 cannot build a threaded subtree: it has no call for
 * cgroup.type, its attach writes cgroup.procs (which moves all of QEMU,
 * not one thread), and it enables controllers in the parent before the
 * child exists, which the kernel refuses (EBUSY) while QEMU's own
 * threads sit in the parent as a domain.  The order here is the one the
 * kernel accepts: child, threaded, controllers, limits, thread.
 */

static int write_file(const char *dir, const char *file, const char *value,
		      int vcpu, struct vc_err *err)
{
	char path[PATH_MAX];
	size_t len = strlen(value);
	ssize_t n;
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(err, errno, "cgroup", vcpu, "cgroup %s", path);
	n = write(fd, value, len);
	e = errno;
	if (close(fd) < 0 && n == (ssize_t)len) {
		n = -1;
		e = errno;
	}
	if (n != (ssize_t)len)
		return fail_errno(err, n < 0 ? e : EIO, "cgroup", vcpu, "cgroup %s", path);
	return 0;
}

static int read_file(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Is word one of the space-separated words of list? */
static bool words_have(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while (*p) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len == n && !strncmp(p, word, n))
			return true;
		p += len;
	}
	return false;
}

/* The cgroup2 mount dir lies in: the highest cgroup2 directory above it. */
static void v2_mount_of(const char *dir, char *mnt, size_t size)
{
	char *slash;

	snprintf(mnt, size, "%s", dir);
	while ((slash = strrchr(mnt, '/')) && slash != mnt) {
		*slash = '\0';
		if (fs_type(mnt) != CGROUP2_SUPER_MAGIC) {
			*slash = '/';
			return;
		}
	}
}

/* The kernel's refusals a user meets first, told before anything is made:
 * a controller the parent does not hand down (the subtree_control write
 * would fail with ENOENT), and a QEMU outside the VM cgroup (cgroup.threads
 * would fail with EOPNOTSUPP: a thread moves only within its process's
 * threaded subtree).  Directories that are not cgroup2 (the unit tests'
 * scratch ones) are not checked. */
static int v2_precheck(const struct tune_cgroup *cg, int vcpu, pid_t pid,
		       struct vc_err *err)
{
	static const char *const ctls[] = { "cpu", "cpuset" };
	char buf[4096], mnt[PATH_MAX], parent[PATH_MAX];
	size_t i, n;
	char *own;

	if (fs_type(cg->dir) != CGROUP2_SUPER_MAGIC)
		return 0;
	if (read_file(cg->dir, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return fail_errno(err, errno, "cgroup", vcpu, "cgroup %s/cgroup.controllers",
				  cg->dir);
	snprintf(parent, sizeof(parent), "%s", cg->dir);
	if (strrchr(parent, '/') && strrchr(parent, '/') != parent)
		*strrchr(parent, '/') = '\0';
	for (i = 0; i < 2; i++)
		if (!words_have(buf, ctls[i]))
			return vc_err_set(err, VC_EXIT_NOT_TUNED,
					  "vCPU %d: cgroup %s/cgroup.subtree_control: +%s: %s: the %s "
					  "controller is not enabled in %s/cgroup.subtree_control "
					  "(this cgroup's cgroup.controllers: '%s')", vcpu, cg->dir,
					  ctls[i], strerror(ENOENT), ctls[i], parent, buf);
	if (pid <= 0)
		return 0;
	own = read_cgroup(0, pid);
	v2_mount_of(cg->dir, mnt, sizeof(mnt));
	n = strlen(mnt);
	if (own && !strncmp(cg->dir, mnt, n)) {
		const char *rel = cg->dir + n;
		size_t rn = strlen(rel);
		bool inside = !strncmp(own, rel, rn) && (own[rn] == '\0' || own[rn] == '/');

		if (!rn)
			inside = true;
		if (!inside) {
			vc_err_set(err, VC_EXIT_NOT_TUNED,
				   "vCPU %d: cgroup %s/vcpu%d/cgroup.threads: %s: QEMU (pid %ld) "
				   "is in %s%s, outside %s: cgroup v2 moves a thread only within "
				   "its process's cgroup (give QEMU's own cgroup, or --cgroup auto)",
				   vcpu, cg->dir, vcpu, strerror(EOPNOTSUPP), (long)pid,
				   !strcmp(mnt, "/") ? "" : mnt, own, cg->dir);
			free(own);
			return -1;
		}
	}
	free(own);
	return 0;
}

/* What the kernel's refusal means, where errno alone does not say. */
static int v2_fail_hint(struct vc_err *err, const char *file)
{
	const char *hint = NULL;
	char *msg;

	if (err->code != VC_EXIT_NOT_TUNED)
		return -1;
	if (!strcmp(file, "cgroup.type") && strstr(err->msg, strerror(EOPNOTSUPP)))
		hint = " (it exists as a domain cgroup with processes in it or below; "
		       "move them out, or remove it)";
	else if (!strcmp(file, "cgroup.threads") && strstr(err->msg, strerror(EPERM)))
		hint = " (the cgroups are writable, but moving QEMU's thread also needs "
		       "root or QEMU's own user)";
	/* The generic privilege hint would say the opposite of this one. */
	if (hint && strstr(err->msg, " (writing cgroups"))
		*strstr(err->msg, " (writing cgroups") = '\0';
	if (hint && asprintf(&msg, "%s%s", err->msg, hint) >= 0) {
		vc_err_set(err, VC_EXIT_NOT_TUNED, "%s", msg);
		free(msg);
	}
	return -1;
}

static int v2_steps(const struct tune_opts *o, const struct tune_cgroup *cg,
		    const char *dir, int vcpu, pid_t tid, char *enabled,
		    size_t enabled_size, struct vc_err *err)
{
	char buf[4096], num[64];
	const char *v;

	if (write_file(dir, "cgroup.type", "threaded", vcpu, err) < 0)
		return v2_fail_hint(err, "cgroup.type");
	if (read_file(cg->dir, "cgroup.subtree_control", buf, sizeof(buf)) == 0 &&
	    (!words_have(buf, "cpu") || !words_have(buf, "cpuset"))) {
		snprintf(num, sizeof(num), "%s%s", words_have(buf, "cpu") ? "" : "+cpu ",
			 words_have(buf, "cpuset") ? "" : "+cpuset");
		if (write_file(cg->dir, "cgroup.subtree_control", num, vcpu, err) < 0)
			return -1;
		snprintf(enabled, enabled_size, "%s", num);
	}
	/* An empty v2 cpuset means "the parent's", so the parent's value is
	 * copied only when it has one of its own. */
	v = o->cpuset;
	if (!v && read_file(cg->dir, "cpuset.cpus", buf, sizeof(buf)) == 0 && buf[0])
		v = buf;
	if (v && write_file(dir, "cpuset.cpus", v, vcpu, err) < 0)
		return -1;
	v = o->mems;
	if (!v && read_file(cg->dir, "cpuset.mems", buf, sizeof(buf)) == 0 && buf[0])
		v = buf;
	if (v && write_file(dir, "cpuset.mems", v, vcpu, err) < 0)
		return -1;
	if (o->quota_us != TUNE_QUOTA_UNSET || o->period_us) {
		char quota[32];

		if (o->quota_us == TUNE_QUOTA_UNSET) {
			/* Only the period changes: keep the quota in force. */
			if (read_file(dir, "cpu.max", buf, sizeof(buf)) < 0 || !buf[0])
				snprintf(buf, sizeof(buf), "max");
			buf[strcspn(buf, " ")] = '\0';
			snprintf(quota, sizeof(quota), "%.20s", buf);
		} else if (o->quota_us == TUNE_QUOTA_UNLIMITED) {
			snprintf(quota, sizeof(quota), "max");
		} else {
			snprintf(quota, sizeof(quota), "%ld", o->quota_us);
		}
		if (o->period_us)
			snprintf(num, sizeof(num), "%s %ld", quota, o->period_us);
		else
			snprintf(num, sizeof(num), "%s", quota);
		if (write_file(dir, "cpu.max", num, vcpu, err) < 0)
			return -1;
	}
	snprintf(num, sizeof(num), "%ld", (long)tid);
	if (write_file(dir, "cgroup.threads", num, vcpu, err) < 0)
		return v2_fail_hint(err, "cgroup.threads");
	return 0;
}

static int v2_setup(const struct tune_opts *o, const struct tune_cgroup *cg,
		    int vcpu, pid_t pid, pid_t tid, struct vc_err *err)
{
	char dir[PATH_MAX], enabled[64] = "";
	bool created = true;
	int rc;

	if (v2_precheck(cg, vcpu, pid, err) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/vcpu%d", cg->dir, vcpu);
	if (mkdir(dir, 0755) < 0) {
		if (errno != EEXIST)
			return fail_errno(err, errno, "cgroup", vcpu, "cgroup %s: mkdir", dir);
		created = false;
	}
	rc = v2_steps(o, cg, dir, vcpu, tid, enabled, sizeof(enabled), err);
	/* The thread is written last, so a failed setup left nothing in it;
	 * controllers this call enabled go again with the cgroup it made. */
	if (rc < 0 && created && rmdir(dir) == 0 && enabled[0]) {
		char *p;

		for (p = enabled; (p = strchr(p, '+')); )
			*p = '-';
		write_file(cg->dir, "cgroup.subtree_control", enabled, vcpu,
			   &(struct vc_err){ 0 });
	}
	return rc;
}

/* ---- affinity and scheduler ---- */

static int set_affinity(const struct cpulist *l, int vcpu, pid_t tid,
			struct vc_err *err)
{
	size_t n = l->nbits ? l->nbits : 1, size = CPU_ALLOC_SIZE(n);
	cpu_set_t *set = CPU_ALLOC(n);
	char *text;
	long i;
	int rc, e;

	if (!set)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	CPU_ZERO_S(size, set);
	for (i = cpulist_next(l, 0); i >= 0; i = cpulist_next(l, (size_t)i + 1))
		CPU_SET_S((size_t)i, size, set);
	rc = sched_setaffinity(tid, size, set);
	e = errno;
	CPU_FREE(set);
	if (!rc)
		return 0;
	text = cpulist_format(l);
	if (e == EINVAL)
		vc_err_set(err, VC_EXIT_NOT_TUNED,
			   "vCPU %d: sched_setaffinity(thread %ld, %s): no CPU of the list is online "
			   "and in the thread's cpuset", vcpu, (long)tid, text ? text : "?");
	else
		vc_err_set(err, VC_EXIT_NOT_TUNED, "vCPU %d: sched_setaffinity(thread %ld, %s): %s%s",
			   vcpu, (long)tid, text ? text : "?", strerror(e),
			   privilege_hint(e, "affinity"));
	free(text);
	return -1;
}

static int set_sched(int policy, int priority, int vcpu, pid_t tid,
		     struct vc_err *err)
{
	struct sched_param sp = { .sched_priority = priority };
	bool rt = policy == SCHED_FIFO || policy == SCHED_RR;
	char buf[32];
	int e;

	if (sched_setscheduler(tid, policy, &sp) == 0)
		return 0;
	e = errno;
	/* With cgroup v1 RT group scheduling even root gets EPERM while the
	 * thread's cpu cgroup has no real-time runtime (a new one has 0). */
	return vc_err_set(err, VC_EXIT_NOT_TUNED, "vCPU %d: sched_setscheduler(thread %ld, %s): %s%s",
			  vcpu, (long)tid, tune_sched_text(policy, priority, buf, sizeof(buf)),
			  strerror(e), e == EPERM && rt ?
			  " (needs CAP_SYS_NICE, and on cgroup v1 a cpu.rt_runtime_us above 0 "
			  "in the thread's cpu cgroup)" : privilege_hint(e, "sched"));
}

static bool thread_exists(pid_t pid, pid_t tid)
{
	char path[64];

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld", (long)pid, (long)tid);
	else
		snprintf(path, sizeof(path), "/proc/%ld", (long)tid);
	return access(path, F_OK) == 0;
}

int tune_thread(const struct tune_opts *o, const struct tune_cgroup *cg,
		int vcpu, pid_t pid, pid_t tid, struct vc_err *err)
{
	const struct cpulist *aff = tune_opts_affinity_for(o, vcpu);

	if (tid <= 0)
		return vc_err_set(err, VC_EXIT_NOT_TUNED,
				  "vCPU %d: QEMU reports no host thread for it", vcpu);
	if (!thread_exists(pid, tid)) {
		if (pid > 0)
			return vc_err_set(err, VC_EXIT_NOT_TUNED,
					  "vCPU %d: thread %ld is not a thread of QEMU (pid %ld) on this host",
					  vcpu, (long)tid, (long)pid);
		return vc_err_set(err, VC_EXIT_NOT_TUNED,
				  "vCPU %d: thread %ld does not exist on this host",
				  vcpu, (long)tid);
	}
	if (cg && cg->mode == TUNE_CG_V1 && v1_setup(o, cg, vcpu, tid, err) < 0)
		return -1;
	if (cg && cg->mode == TUNE_CG_V2 && v2_setup(o, cg, vcpu, pid, tid, err) < 0)
		return -1;
	if (aff && set_affinity(aff, vcpu, tid, err) < 0)
		return -1;
	if (o->policy >= 0 && set_sched(o->policy, o->priority, vcpu, tid, err) < 0)
		return -1;
	return 0;
}

/* ---- removal ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Remove vcpuN, retrying while the kernel says it is busy (a thread still
 * exiting) until deadline. */
static int remove_until(const struct tune_cgroup *cg, int vcpu, int64_t deadline,
			struct vc_err *err)
{
	char dir[PATH_MAX];

	if (!cg || cg->mode == TUNE_CG_NONE)
		return 0;
	if (cg->mode == TUNE_CG_V2) {
		snprintf(dir, sizeof(dir), "%s/vcpu%d", cg->dir, vcpu);
		while (rmdir(dir) < 0) {
			if (errno == ENOENT)
				return 0;
			if (errno != EBUSY || vc_now_ms() >= deadline)
				return fail_errno(err, errno, "cgroup", vcpu,
						  "removing cgroup %s", dir);
			sleep_ms(REMOVE_POLL_MS);
		}
		return 0;
	} else {
		char *name = v1_vcpu_name(cg, vcpu);
		struct cgroup *g = name ? v1_group(cg, name) : NULL;
		int rc = 0;

		if (!g) {
			free(name);
			return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		}
		/* Only an empty cgroup is removed: a thread still in it means
		 * the vCPU is not gone, and moving it would be wrong. */
		while (v1_exists(name)) {
			rc = cgroup_delete_cgroup_ext(g, CGFLAG_DELETE_EMPTY_ONLY);
			if (!rc && !v1_exists(name))
				break;
			if (vc_now_ms() >= deadline) {
				if (!rc)
					rc = ECGNONEMPTY;
				break;
			}
			sleep_ms(REMOVE_POLL_MS);
			rc = 0;
		}
		if (rc) {
			char *mnt = cg_mount_of("cpuset");

			vc_err_set(err, VC_EXIT_NOT_TUNED, "vCPU %d: removing cgroup %s/%s: %s",
				   vcpu, mnt ? mnt : "cpuset", name, cg_text(rc));
			free(mnt);
		}
		cgroup_free(&g);
		free(name);
		return rc ? -1 : 0;
	}
}

int tune_cgroup_remove(const struct tune_cgroup *cg, int vcpu, struct vc_err *err)
{
	return remove_until(cg, vcpu, vc_now_ms() + REMOVE_WAIT_MS, err);
}

/* ---- reading a thread back ---- */

void tune_thread_info_free(struct tune_thread_info *info)
{
	if (!info)
		return;
	free(info->affinity);
	free(info->sched);
	free(info->cgroup);
	memset(info, 0, sizeof(*info));
}

static FILE *open_task_file(pid_t pid, pid_t tid, const char *file)
{
	char path[96];

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/%s", (long)pid,
			 (long)tid, file);
	else
		snprintf(path, sizeof(path), "/proc/%ld/%s", (long)tid, file);
	return fopen(path, "re");
}

static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, word, n))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* From /proc/.../cgroup: the v1 cpuset line, else the v2 "0::" line. */
static char *read_cgroup(pid_t pid, pid_t tid)
{
	FILE *f = open_task_file(pid, tid, "cgroup");
	char line[4096], *v2 = NULL, *v1 = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *path;

		if (!ctl)
			continue;
		path = strchr(++ctl, ':');
		if (!path)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (!*ctl && !v2)
			v2 = strdup(path);
		else if (list_has(ctl, "cpuset") && !v1)
			v1 = strdup(path);
	}
	fclose(f);
	if (v1) {
		free(v2);
		return v1;
	}
	return v2;
}

int tune_thread_read(pid_t pid, pid_t tid, struct tune_thread_info *info)
{
	static const char key[] = "Cpus_allowed_list:";
	struct sched_param sp;
	char line[4096], buf[32];
	FILE *f;
	int policy;

	memset(info, 0, sizeof(*info));
	if (tid <= 0 || !thread_exists(pid, tid))
		return -1;
	f = open_task_file(pid, tid, "status");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *v = line + sizeof(key) - 1;

			if (strncmp(line, key, sizeof(key) - 1))
				continue;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			info->affinity = strdup(v);
			break;
		}
		fclose(f);
	}
	policy = sched_getscheduler(tid);
	if (policy >= 0 && sched_getparam(tid, &sp) == 0)
		info->sched = strdup(tune_sched_text(policy & ~SCHED_RESET_ON_FORK,
						     sp.sched_priority, buf, sizeof(buf)));
	info->cgroup = read_cgroup(pid, tid);
	return 0;
}

/* The directory that holds the VM's vcpuN cgroups: v2's own, v1's in
 * the cpuset hierarchy (vcpuctl makes each vcpuN in cpu, cpuacct and
 * cpuset together).  Caller frees. */
static char *vm_dir(const struct tune_cgroup *cg)
{
	char *mnt, *dir = NULL;

	if (cg->mode == TUNE_CG_V2)
		return strdup(cg->dir);
	mnt = cg_mount_of("cpuset");
	if (mnt && asprintf(&dir, "%s/%s", mnt, cg->name) < 0)
		dir = NULL;
	free(mnt);
	return dir;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The N of each vcpuN directly under dir, sorted.  -1 with errno. */
static int list_vcpu_dirs(const char *dir, int **out, size_t *n_out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int *v = NULL, *nv;
	size_t n = 0, cap = 0;

	*out = NULL;
	*n_out = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		long k;

		if (!is_vcpu_name(de->d_name) ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    strlen(de->d_name) > 4 + 9)
			continue;
		k = strtol(de->d_name + 4, NULL, 10);
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		v[n++] = (int)k;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_int);
	*out = v;
	*n_out = n;
	return 0;
}

static int sweep_add(struct tune_sweep *s, int vcpu, enum tune_sweep_state st,
		     const char *dir, const char *reason)
{
	struct tune_sweep_item *it;

	it = realloc(s->items, (s->n + 1) * sizeof(*s->items));
	if (!it)
		return -1;
	s->items = it;
	it = &s->items[s->n];
	memset(it, 0, sizeof(*it));
	it->vcpu = vcpu;
	it->state = st;
	if (asprintf(&it->path, "%s/vcpu%d", dir, vcpu) < 0) {
		it->path = NULL;
		return -1;
	}
	if (reason && !(it->reason = strdup(reason))) {
		free(it->path);
		return -1;
	}
	s->n++;
	return 0;
}

int tune_cgroup_sweep(const struct tune_cgroup *cg, const unsigned char *use,
		      size_t n_vcpus, struct tune_sweep *s, struct vc_err *err)
{
	int64_t deadline = vc_now_ms() + REMOVE_WAIT_MS;
	char *dir = NULL;
	int *found = NULL;
	size_t n_found = 0, i;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (!cg || cg->mode == TUNE_CG_NONE)
		return 0;
	s->swept = true;
	dir = vm_dir(cg);
	if (!dir)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	if (list_vcpu_dirs(dir, &found, &n_found) < 0) {
		rc = vc_err_set(err, VC_EXIT_NOT_TUNED, "cgroup %s: %s", dir,
				strerror(errno));
		goto out;
	}
	for (i = 0; i < n_found && rc == 0; i++) {
		int k = found[i];
		struct vc_err e = { 0 };
		char why[PATH_MAX + 64];

		if ((size_t)k >= n_vcpus) {
			snprintf(why, sizeof(why), "%s/vcpu%d: no vCPU %d in this VM (0-%zu)",
				 dir, k, k, n_vcpus ? n_vcpus - 1 : 0);
			rc = sweep_add(s, k, TUNE_SWEEP_FOREIGN, dir, why);
		} else if (use[k] == TUNE_VCPU_LISTED) {
			continue;
		} else if (use[k] == TUNE_VCPU_PENDING) {
			rc = sweep_add(s, k, TUNE_SWEEP_KEPT, dir, NULL);
		} else if (remove_until(cg, k, deadline, &e) == 0) {
			rc = sweep_add(s, k, TUNE_SWEEP_REMOVED, dir, NULL);
		} else {
			rc = sweep_add(s, k, TUNE_SWEEP_LEFT, dir, e.msg);
			s->n_left++;
		}
		if (rc < 0)
			rc = vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
out:
	free(found);
	free(dir);
	return rc;
}

void tune_sweep_free(struct tune_sweep *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->items[i].path);
		free(s->items[i].reason);
	}
	free(s->items);
	memset(s, 0, sizeof(*s));
}

struct tune_thread_info *tune_threads_read(const struct topology *t, pid_t pid)
{
	struct tune_thread_info *info = calloc(t->n_vcpus + 1, sizeof(*info));
	pid_t *tids = NULL, tid;
	size_t i, n = 0;

	if (!info)
		return NULL;
	if (pid > 0)
		tids = list_tasks(pid, &n);
	/* Without QEMU's pid a thread id could name anyone's thread. */
	for (i = 0; pid > 0 && i < t->n_vcpus; i++) {
		if (!t->vcpus[i].online)
			continue;
		tid = (pid_t)t->vcpus[i].thread_id;
		/* Not among QEMU's threads: tune_thread_read() finds
		 * nothing either. */
		if (tids && !bsearch(&tid, tids, n, sizeof(tid), tid_cmp))
			continue;
		tune_thread_read(pid, tid, &info[i]);
	}
	free(tids);
	return info;
}

void tune_threads_free(struct tune_thread_info *info, size_t n)
{
	size_t i;

	for (i = 0; info && i < n; i++)
		tune_thread_info_free(&info[i]);
	free(info);
}
