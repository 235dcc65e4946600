/* test_tune.c - tuning options and their range checks, --cgroup path
 * checks, the cgroup v2 file writes on a scratch directory, affinity and
 * scheduler on a thread of this test, and (as root, where cgroup v1 cpu and
 * cpuset are mounted) the v1 setup and removal on the real hierarchy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include <cmocka.h>

#include "vcpuctl/tune.h"

/* ---- helpers ---- */

static void expect_usage(int rc, const struct vc_err *err, const char *part)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, VC_EXIT_USAGE);
	if (!strstr(err->msg, part)) {
		print_error("message '%s' lacks '%s'\n", err->msg, part);
		fail();
	}
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part)) {
		print_error("'%s' lacks '%s'\n", s, part);
		fail();
	}
}

static char *slurp(const char *dir, const char *file)
{
	static char buf[4096];
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void put(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A thread of this process that sleeps until told to stop. */
struct sleeper {
	pthread_t th;
	pid_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ready, stop;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;

	pthread_mutex_lock(&s->mu);
	s->tid = (pid_t)syscall(SYS_gettid);
	s->ready = true;
	pthread_cond_broadcast(&s->cv);
	while (!s->stop)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void sleeper_start(struct sleeper *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, sleeper_main, s), 0);
	pthread_mutex_lock(&s->mu);
	while (!s->ready)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

static void sleeper_stop(struct sleeper *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

/* ---- option parsing ---- */

static void test_sched_parse(void **state)
{
	struct tune_opts o;
	struct vc_err err = { 0 };
	char buf[32];

	(void)state;
	tune_opts_init(&o);
	assert_int_equal(tune_parse_sched(&o, "batch", &err), 0);
	assert_int_equal(o.policy, SCHED_BATCH);
	assert_int_equal(tune_parse_sched(&o, "idle", &err), 0);
	assert_int_equal(o.policy, SCHED_IDLE);
	assert_int_equal(tune_parse_sched(&o, "other", &err), 0);
	assert_int_equal(o.policy, SCHED_OTHER);
	assert_int_equal(tune_parse_sched(&o, "fifo:1", &err), 0);
	assert_int_equal(o.policy, SCHED_FIFO);
	assert_int_equal(o.priority, 1);
	assert_int_equal(tune_parse_sched(&o, "rr:99", &err), 0);
	assert_int_equal(o.policy, SCHED_RR);
	assert_int_equal(o.priority, 99);
	assert_string_equal(tune_sched_text(o.policy, o.priority, buf, sizeof(buf)), "rr:99");
	assert_string_equal(tune_sched_text(SCHED_BATCH, 0, buf, sizeof(buf)), "batch");

	expect_usage(tune_parse_sched(&o, "fifo:0", &err), &err, "from 1 to 99");
	expect_usage(tune_parse_sched(&o, "rr:100", &err), &err, "from 1 to 99");
	expect_usage(tune_parse_sched(&o, "fifo:+5", &err), &err, "from 1 to 99");
	expect_usage(tune_parse_sched(&o, "fifo:", &err), &err, "from 1 to 99");
	expect_usage(tune_parse_sched(&o, "fifo", &err), &err, "needs a priority");
	expect_usage(tune_parse_sched(&o, "batch:3", &err), &err, "takes no priority");
	expect_usage(tune_parse_sched(&o, "deadline", &err), &err,
		     "not other, batch, idle, fifo:N or rr:N");
	expect_usage(tune_parse_sched(&o, "", &err), &err, "not other");
	tune_opts_free(&o);
}

static void test_bandwidth_ranges(void **state)
{
	struct tune_opts o;
	struct vc_err err = { 0 };

	(void)state;
	tune_opts_init(&o);
	assert_int_equal(tune_parse_quota(&o, "max", &err), 0);
	assert_int_equal(o.quota_us, TUNE_QUOTA_UNLIMITED);
	assert_int_equal(tune_parse_quota(&o, "1000", &err), 0);
	assert_int_equal(o.quota_us, 1000);
	assert_int_equal(tune_parse_quota(&o, "17592186044", &err), 0);
	expect_usage(tune_parse_quota(&o, "999", &err), &err, "--quota: '999'");
	expect_usage(tune_parse_quota(&o, "-1", &err), &err, "--quota");
	expect_usage(tune_parse_quota(&o, "17592186045", &err), &err, "--quota");
	expect_usage(tune_parse_quota(&o, "10ms", &err), &err, "--quota");

	assert_int_equal(tune_parse_period(&o, "1000", &err), 0);
	assert_int_equal(o.period_us, 1000);
	assert_int_equal(tune_parse_period(&o, "1000000", &err), 0);
	assert_int_equal(o.period_us, 1000000);
	expect_usage(tune_parse_period(&o, "999", &err), &err, "from 1000 to 1000000");
	expect_usage(tune_parse_period(&o, "1000001", &err), &err, "from 1000 to 1000000");
	expect_usage(tune_parse_period(&o, "max", &err), &err, "--period");
	tune_opts_free(&o);
}

static void test_affinity_parse(void **state)
{
	struct tune_opts o;
	struct vc_err err = { 0 };
	size_t ncpu = (size_t)get_nprocs_conf();
	const struct cpulist *l;
	char bad[32];

	(void)state;
	tune_opts_init(&o);
	assert_false(tune_opts_any(&o));
	assert_int_equal(tune_parse_affinity(&o, "r", &err), 0);
	assert_int_equal(cpulist_count(&o.affinity), ncpu);
	expect_usage(tune_parse_affinity(&o, "0", &err), &err, "given twice");
	assert_int_equal(tune_parse_affinity(&o, "5:0", &err), 0);
	assert_int_equal(tune_parse_affinity(&o, "7:0-1,^1", &err), 0);
	expect_usage(tune_parse_affinity(&o, "5:0", &err), &err, "vCPU 5 is given twice");
	expect_usage(tune_parse_affinity(&o, "x:0", &err), &err, "'x' is not a vCPU index");
	expect_usage(tune_parse_affinity(&o, ":0", &err), &err, "is not a vCPU index");
	expect_usage(tune_parse_affinity(&o, "1:", &err), &err, "--affinity");
	snprintf(bad, sizeof(bad), "2:%zu", ncpu);
	expect_usage(tune_parse_affinity(&o, bad, &err), &err, "--affinity: cpulist");
	assert_true(tune_opts_any(&o));

	l = tune_opts_affinity_for(&o, 5);
	assert_int_equal(cpulist_count(l), 1);
	assert_true(cpulist_has(l, 0));
	l = tune_opts_affinity_for(&o, 7);
	assert_int_equal(cpulist_count(l), 1);
	assert_true(tune_opts_affinity_for(&o, 3) == &o.affinity);
	tune_opts_free(&o);

	tune_opts_init(&o);
	assert_int_equal(tune_parse_affinity(&o, "0:0", &err), 0);
	assert_null(tune_opts_affinity_for(&o, 1));
	tune_opts_free(&o);
}

static void test_cpuset_and_check(void **state)
{
	struct tune_opts o;
	struct vc_err err = { 0 };

	(void)state;
	tune_opts_init(&o);
	assert_int_equal(tune_parse_cpuset(&o, "0,0", &err), 0);
	assert_string_equal(o.cpuset, "0");
	expect_usage(tune_parse_cpuset(&o, "0", &err), &err, "--cpuset was given twice");
	assert_int_equal(tune_parse_mems(&o, "0-1,^1", &err), 0);
	assert_string_equal(o.mems, "0");
	expect_usage(tune_opts_check(&o, &err), &err, "--cpuset sets the vCPU's cgroup: it needs --cgroup");
	o.cgroup = "vm1";
	assert_int_equal(tune_opts_check(&o, &err), 0);
	tune_opts_free(&o);

	tune_opts_init(&o);
	assert_int_equal(tune_parse_quota(&o, "max", &err), 0);
	expect_usage(tune_opts_check(&o, &err), &err, "--quota");
	tune_opts_free(&o);
	tune_opts_init(&o);
	assert_int_equal(tune_parse_period(&o, "5000", &err), 0);
	expect_usage(tune_opts_check(&o, &err), &err, "--period");
	tune_opts_free(&o);
}

/* ---- --cgroup paths ---- */

struct scratch {
	char root[64];     /* stands for /sys/fs/cgroup */
	char vm[128];      /* root/vm1: the VM's cgroup */
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));

	snprintf(s->root, sizeof(s->root), "/tmp/vcpuctl-unit-tune.XXXXXX");
	if (!mkdtemp(s->root))
		return -1;
	snprintf(s->vm, sizeof(s->vm), "%s/vm1", s->root);
	mkdir(s->vm, 0755);
	put(s->vm, "cgroup.subtree_control", "");
	put(s->vm, "cpuset.cpus", "0-1\n");
	put(s->vm, "cpuset.mems", "0\n");
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;

	rm_tree(s->root);
	free(s);
	return 0;
}

static void test_cgroup_path_checks(void **state)
{
	struct scratch *s = *state;
	struct tune_cgroup cg;
	struct vc_err err = { 0 };
	char spec[PATH_MAX], link[PATH_MAX];

	expect_usage(tune_cgroup_resolve("../etc", TUNE_CGROUP_ROOT, &cg, &err), &err,
		     "'..' is not allowed");
	expect_usage(tune_cgroup_resolve("vm/../../x", TUNE_CGROUP_ROOT, &cg, &err), &err,
		     "'..' is not allowed");
	expect_usage(tune_cgroup_resolve("", TUNE_CGROUP_ROOT, &cg, &err), &err, "empty");

	/* absolute, but not below the root */
	expect_usage(tune_cgroup_resolve("/tmp", s->root, &cg, &err), &err, "is not below");
	/* below the root by name, but a symlink leads out */
	snprintf(link, sizeof(link), "%s/escape", s->root);
	assert_int_equal(symlink("/etc", link), 0);
	snprintf(spec, sizeof(spec), "%s/escape", s->root);
	expect_usage(tune_cgroup_resolve(spec, s->root, &cg, &err), &err, "is not below");
	/* below the root, but not a cgroup file system */
	expect_usage(tune_cgroup_resolve(s->vm, s->root, &cg, &err), &err, "is not a cgroup");
	/* missing */
	snprintf(spec, sizeof(spec), "%s/nothing", s->root);
	expect_usage(tune_cgroup_resolve(spec, s->root, &cg, &err), &err, "No such file");
}

/* ---- cgroup v2 on a scratch directory ---- */

/* A vcpuN directory as the kernel would fill it. */
static void make_vcpu_dir(const char *vm, int n)
{
	static const char *const files[] = {
		"cgroup.type", "cpuset.cpus", "cpuset.mems", "cpu.max", "cgroup.threads",
	};
	char dir[PATH_MAX];
	size_t i;

	snprintf(dir, sizeof(dir), "%s/vcpu%d", vm, n);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(dir, files[i], "");
	put(dir, "cpu.max", "max 100000\n");
}

static void test_v2_writes(void **state)
{
	struct scratch *s = *state;
	struct tune_cgroup cg;
	struct tune_opts o;
	struct vc_err err = { 0 };
	char dir[PATH_MAX], tid[32];
	pid_t me = (pid_t)syscall(SYS_gettid);

	make_vcpu_dir(s->vm, 2);
	assert_int_equal(tune_cgroup_v2_at(s->vm, &cg, &err), 0);
	tune_opts_init(&o);
	o.cgroup = s->vm;
	assert_int_equal(tune_parse_quota(&o, "50000", &err), 0);
	assert_int_equal(tune_parse_period(&o, "200000", &err), 0);
	assert_int_equal(tune_parse_mems(&o, "0", &err), 0);
	if (tune_thread(&o, &cg, 2, 0, me, &err)) {
		print_error("%s\n", err.msg);
		fail();
	}
	snprintf(dir, sizeof(dir), "%s/vcpu2", s->vm);
	snprintf(tid, sizeof(tid), "%ld", (long)me);
	assert_string_equal(slurp(dir, "cgroup.type"), "threaded");
	assert_string_equal(slurp(s->vm, "cgroup.subtree_control"), "+cpu +cpuset");
	/* no --cpuset: the parent's */
	assert_string_equal(slurp(dir, "cpuset.cpus"), "0-1");
	assert_string_equal(slurp(dir, "cpuset.mems"), "0");
	assert_string_equal(slurp(dir, "cpu.max"), "50000 200000");
	assert_string_equal(slurp(dir, "cgroup.threads"), tid);
	tune_opts_free(&o);

	/* --quota max alone keeps the period; --period alone keeps the quota */
	tune_opts_init(&o);
	o.cgroup = s->vm;
	assert_int_equal(tune_parse_quota(&o, "max", &err), 0);
	assert_int_equal(tune_thread(&o, &cg, 2, 0, me, &err), 0);
	assert_string_equal(slurp(dir, "cpu.max"), "max");
	tune_opts_free(&o);
	put(dir, "cpu.max", "30000 100000\n");
	tune_opts_init(&o);
	o.cgroup = s->vm;
	assert_int_equal(tune_parse_period(&o, "50000", &err), 0);
	assert_int_equal(tune_parse_cpuset(&o, "0", &err), 0);
	assert_int_equal(tune_thread(&o, &cg, 2, 0, me, &err), 0);
	assert_string_equal(slurp(dir, "cpu.max"), "30000 50000");
	assert_string_equal(slurp(dir, "cpuset.cpus"), "0");
	tune_opts_free(&o);
	tune_cgroup_free(&cg);
}

static void test_v2_failure_removes_what_it_made(void **state)
{
	struct scratch *s = *state;
	struct tune_cgroup cg;
	struct tune_opts o;
	struct vc_err err = { 0 };
	char dir[PATH_MAX];
	pid_t me = (pid_t)syscall(SYS_gettid);

	assert_int_equal(tune_cgroup_v2_at(s->vm, &cg, &err), 0);
	tune_opts_init(&o);
	o.cgroup = s->vm;
	/* A plain directory has no cgroup.type: the first write fails, and the
	 * vcpu3 this call made is removed. */
	snprintf(dir, sizeof(dir), "%s/vcpu3", s->vm);
	assert_int_equal(tune_thread(&o, &cg, 3, 0, me, &err), -1);
	assert_int_equal(err.code, VC_EXIT_NOT_TUNED);
	assert_contains(err.msg, "vCPU 3: cgroup ");
	assert_contains(err.msg, "/vm1/vcpu3/cgroup.type: No such file or directory");
	assert_false(is_dir(dir));

	/* A vcpuN that was there before stays, whatever failed. */
	make_vcpu_dir(s->vm, 4);
	snprintf(dir, sizeof(dir), "%s/vcpu4/cpu.max", s->vm);
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(tune_parse_quota(&o, "max", &err), 0);
	assert_int_equal(tune_thread(&o, &cg, 4, 0, me, &err), -1);
	assert_contains(err.msg, "/vm1/vcpu4/cpu.max: Is a directory");
	assert_true(is_dir(dir));
	tune_opts_free(&o);
	tune_cgroup_free(&cg);
}

static void test_v2_remove(void **state)
{
	struct scratch *s = *state;
	struct tune_cgroup cg;
	struct vc_err err = { 0 };
	char dir[PATH_MAX];

	assert_int_equal(tune_cgroup_v2_at(s->vm, &cg, &err), 0);
	snprintf(dir, sizeof(dir), "%s/vcpu5", s->vm);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(tune_cgroup_remove(&cg, 5, &err), 0);
	assert_false(is_dir(dir));
	/* already gone: nothing to do */
	assert_int_equal(tune_cgroup_remove(&cg, 5, &err), 0);
	/* not empty (a real cgroup would say EBUSY while a thread is in it) */
	assert_int_equal(mkdir(dir, 0755), 0);
	put(dir, "x", "");
	assert_int_equal(tune_cgroup_remove(&cg, 5, &err), -1);
	assert_contains(err.msg, "vCPU 5: removing cgroup ");
	assert_contains(err.msg, "/vm1/vcpu5: Directory not empty");
	tune_cgroup_free(&cg);
}

/* The sweep: the cgroup of a vCPU QEMU no longer lists goes, a pending
 * one's stays and is named, a listed one's is not looked at; vcpuN beyond
 * the VM, other names and a cgroup that cannot go are left and named. */
static void test_v2_sweep(void **state)
{
	struct scratch *s = *state;
	static const char *const dirs[] = { "vcpu0", "vcpu1", "vcpu2", "vcpu3",
					    "vcpu9", "emulator", "vcpux" };
	unsigned char use[4] = { TUNE_VCPU_LISTED, TUNE_VCPU_GONE, TUNE_VCPU_PENDING,
				 TUNE_VCPU_GONE };
	struct tune_cgroup cg;
	struct tune_sweep sw;
	struct vc_err err = { 0 };
	char dir[PATH_MAX];
	size_t i;

	assert_int_equal(tune_cgroup_v2_at(s->vm, &cg, &err), 0);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", s->vm, dirs[i]);
		assert_int_equal(mkdir(dir, 0755), 0);
	}
	/* not empty: a real cgroup with a thread in it says EBUSY */
	snprintf(dir, sizeof(dir), "%s/vcpu3", s->vm);
	put(dir, "x", "");
	assert_int_equal(tune_cgroup_sweep(&cg, use, 4, &sw, &err), 0);
	assert_true(sw.swept);
	assert_int_equal(sw.n, 4);
	assert_int_equal(sw.n_left, 1);
	assert_int_equal(sw.items[0].vcpu, 1);
	assert_int_equal(sw.items[0].state, TUNE_SWEEP_REMOVED);
	assert_null(sw.items[0].reason);
	assert_int_equal(sw.items[1].vcpu, 2);
	assert_int_equal(sw.items[1].state, TUNE_SWEEP_KEPT);
	assert_int_equal(sw.items[2].vcpu, 3);
	assert_int_equal(sw.items[2].state, TUNE_SWEEP_LEFT);
	assert_contains(sw.items[2].reason, "/vm1/vcpu3: Directory not empty");
	assert_int_equal(sw.items[3].vcpu, 9);
	assert_int_equal(sw.items[3].state, TUNE_SWEEP_FOREIGN);
	assert_contains(sw.items[3].reason, "/vm1/vcpu9: no vCPU 9 in this VM (0-3)");
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", s->vm, dirs[i]);
		assert_int_equal(is_dir(dir), i != 1);
	}
	tune_sweep_free(&sw);

	/* no VM cgroup: an error, not a crash */
	tune_cgroup_free(&cg);
	snprintf(dir, sizeof(dir), "%s/gone", s->vm);
	assert_int_equal(tune_cgroup_v2_at(s->vm, &cg, &err), 0);
	free(cg.dir);
	cg.dir = strdup(dir);
	assert_int_equal(tune_cgroup_sweep(&cg, use, 4, &sw, &err), -1);
	assert_contains(err.msg, "/vm1/gone: No such file or directory");
	tune_sweep_free(&sw);
	tune_cgroup_free(&cg);
}

/* --node-affinity: the node's list is the affinity and, with --cgroup,
 * cpuset.cpus of the vCPUs on that node; other nodes keep --cpuset. */
static void test_v2_node_affinity(void **state)
{
	struct scratch *s = *state;
	struct tune_cgroup cg;
	struct tune_opts o;
	struct tune_thread_info info;
	struct sleeper th;
	struct vc_err err = { 0 };
	char dir[PATH_MAX];
	const char *all = get_nprocs_conf() > 1 ? "0-1" : "0";

	make_vcpu_dir(s->vm, 3);
	make_vcpu_dir(s->vm, 4);
	assert_int_equal(tune_cgroup_v2_at(s->vm, &cg, &err), 0);
	sleeper_start(&th);
	tune_opts_init(&o);
	o.cgroup = s->vm;
	assert_int_equal(tune_parse_cpuset(&o, "r", &err), 0);
	assert_int_equal(tune_parse_node_affinity(&o, "1:0", &err), 0);
	assert_int_equal(tune_parse_node_affinity(&o, "1:0", &err), -1);
	assert_string_equal(err.msg, "--node-affinity: node 1 is given twice");
	assert_int_equal(tune_parse_node_affinity(&o, "x:0", &err), -1);
	assert_string_equal(err.msg, "--node-affinity 'x:0': 'x' is not a guest node (0 to 1023)");
	assert_int_equal(tune_parse_node_affinity(&o, "0", &err), -1);
	assert_true(tune_opts_any(&o));
	if (tune_thread_on_node(&o, &cg, 3, 1, getpid(), th.tid, &err)) {
		print_error("%s\n", err.msg);
		fail();
	}
	snprintf(dir, sizeof(dir), "%s/vcpu3", s->vm);
	assert_string_equal(slurp(dir, "cpuset.cpus"), "0");
	assert_int_equal(tune_thread_read(getpid(), th.tid, &info), 0);
	assert_string_equal(info.affinity, "0");
	tune_thread_info_free(&info);
	/* node 0 has no list of its own: --cpuset, no affinity change */
	assert_int_equal(tune_thread_on_node(&o, &cg, 4, 0, getpid(), th.tid, &err), 0);
	snprintf(dir, sizeof(dir), "%s/vcpu4", s->vm);
	assert_string_equal(slurp(dir, "cpuset.cpus"), all);
	tune_opts_free(&o);
	sleeper_stop(&th);
	tune_cgroup_free(&cg);
}

/* ---- affinity and scheduler on a real thread ---- */

static void test_thread_affinity_and_sched(void **state)
{
	struct sleeper th;
	struct tune_opts o;
	struct tune_thread_info info;
	struct vc_err err = { 0 };

	(void)state;
	sleeper_start(&th);
	tune_opts_init(&o);
	assert_int_equal(tune_parse_affinity(&o, "0", &err), 0);
	assert_int_equal(tune_parse_sched(&o, "batch", &err), 0);
	if (tune_thread(&o, NULL, 1, getpid(), th.tid, &err)) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_int_equal(sched_getscheduler(th.tid), SCHED_BATCH);
	assert_int_equal(tune_thread_read(getpid(), th.tid, &info), 0);
	assert_string_equal(info.affinity, "0");
	assert_string_equal(info.sched, "batch");
	assert_non_null(info.cgroup);
	tune_thread_info_free(&info);
	tune_opts_free(&o);

	/* the per-vCPU form wins over the common list */
	tune_opts_init(&o);
	assert_int_equal(tune_parse_affinity(&o, "r", &err), 0);
	assert_int_equal(tune_parse_affinity(&o, "1:0", &err), 0);
	assert_int_equal(tune_thread(&o, NULL, 2, getpid(), th.tid, &err), 0);
	assert_int_equal(tune_thread_read(getpid(), th.tid, &info), 0);
	assert_string_equal(info.affinity, get_nprocs_conf() > 1 ? "0-1" : "0");
	tune_thread_info_free(&info);
	assert_int_equal(tune_thread(&o, NULL, 1, getpid(), th.tid, &err), 0);
	assert_int_equal(tune_thread_read(getpid(), th.tid, &info), 0);
	assert_string_equal(info.affinity, "0");
	tune_thread_info_free(&info);
	tune_opts_free(&o);
	sleeper_stop(&th);
}

static void test_thread_not_found(void **state)
{
	struct tune_opts o;
	struct tune_thread_info info;
	struct vc_err err = { 0 };

	(void)state;
	tune_opts_init(&o);
	assert_int_equal(tune_parse_sched(&o, "batch", &err), 0);
	/* pid 1's threads are not ours to name: a tid that is not a thread
	 * of the given process is refused, whatever else it is */
	assert_int_equal(tune_thread(&o, NULL, 4, getpid(), 1, &err), -1);
	assert_int_equal(err.code, VC_EXIT_NOT_TUNED);
	assert_contains(err.msg, "vCPU 4: thread 1 is not a thread of QEMU");
	assert_int_equal(tune_thread(&o, NULL, 4, getpid(), -1, &err), -1);
	assert_contains(err.msg, "vCPU 4: QEMU reports no host thread");
	assert_int_equal(tune_thread_read(getpid(), 1, &info), -1);
	assert_null(info.affinity);
	tune_opts_free(&o);
}

/* ---- cgroup v1 on this host's hierarchy ---- */

#define V1_CPUSET "/sys/fs/cgroup/cpuset"
#define V1_CPU "/sys/fs/cgroup/cpu"
#define V1_CPUACCT "/sys/fs/cgroup/cpuacct"

static bool v1_usable(void)
{
	struct statfs a, b;

	return geteuid() == 0 && statfs(V1_CPUSET, &a) == 0 && statfs(V1_CPU, &b) == 0 &&
	       a.f_type == CGROUP_SUPER_MAGIC && b.f_type == CGROUP_SUPER_MAGIC &&
	       access(V1_CPUSET "/tasks", W_OK) == 0;
}

static char v1_name[64];

static int rmdir_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	return 0;
}

/* Whatever a test left in the three hierarchies (cgroup files cannot be
 * unlinked; only the directories go). */
static void v1_rmdirs(void)
{
	static const char *const mnts[] = { V1_CPUSET, V1_CPU, V1_CPUACCT };
	char path[PATH_MAX];
	size_t i;

	if (!v1_name[0])
		return;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", mnts[i], v1_name);
		nftw(path, rmdir_one, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static int v1_teardown(void **state)
{
	(void)state;
	v1_rmdirs();
	return 0;
}

static void test_v1_real(void **state)
{
	static const char *const mnts[] = { V1_CPUSET, V1_CPU, V1_CPUACCT };
	char path[PATH_MAX], spec[128], dir[PATH_MAX], tid[32];
	struct tune_cgroup cg;
	struct tune_opts o;
	struct vc_err err = { 0 };
	struct sleeper th;
	size_t i;

	(void)state;
	if (!v1_usable()) {
		print_message("skipped: needs root and cgroup v1 cpu and cpuset mounted\n");
		skip();
	}
	snprintf(v1_name, sizeof(v1_name), "vcpuctl-unit-%ld", (long)getpid());
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s/vm1", mnts[i], v1_name);
		snprintf(dir, sizeof(dir), "%s/%s", mnts[i], v1_name);
		mkdir(dir, 0755);
		mkdir(path, 0755);
	}
	/* A VM cgroup of CPU 0 only, as the parent of what is tested. */
	snprintf(dir, sizeof(dir), "%s/%s", V1_CPUSET, v1_name);
	put(dir, "cpuset.cpus", "0");
	put(dir, "cpuset.mems", slurp(V1_CPUSET, "cpuset.mems"));
	snprintf(dir, sizeof(dir), "%s/%s/vm1", V1_CPUSET, v1_name);
	put(dir, "cpuset.cpus", "0");
	put(dir, "cpuset.mems", slurp(V1_CPUSET, "cpuset.mems"));

	snprintf(spec, sizeof(spec), "%s/vm1", v1_name);
	if (tune_cgroup_resolve(spec, TUNE_CGROUP_ROOT, &cg, &err)) {
		print_error("%s\n", err.msg);
		v1_rmdirs();
		fail();
	}
	assert_int_equal(cg.mode, TUNE_CG_V1);
	assert_string_equal(cg.name, spec);

	sleeper_start(&th);
	snprintf(tid, sizeof(tid), "%ld", (long)th.tid);
	tune_opts_init(&o);
	o.cgroup = spec;
	assert_int_equal(tune_parse_quota(&o, "20000", &err), 0);
	assert_int_equal(tune_parse_period(&o, "100000", &err), 0);
	if (tune_thread(&o, &cg, 1, getpid(), th.tid, &err)) {
		print_error("%s\n", err.msg);
		sleeper_stop(&th);
		v1_rmdirs();
		fail();
	}
	snprintf(dir, sizeof(dir), "%s/%s/vm1/vcpu1", V1_CPUSET, v1_name);
	assert_string_equal(slurp(dir, "cpuset.cpus"), "0");
	assert_string_equal(slurp(dir, "tasks"), tid);
	snprintf(dir, sizeof(dir), "%s/%s/vm1/vcpu1", V1_CPU, v1_name);
	assert_string_equal(slurp(dir, "cpu.cfs_quota_us"), "20000");
	assert_string_equal(slurp(dir, "cpu.cfs_period_us"), "100000");
	assert_string_equal(slurp(dir, "tasks"), tid);
	tune_opts_free(&o);

	/* A cpuset outside the VM's: the kernel refuses cpuset.cpus, the
	 * error names that file, and vcpu2 is gone again. */
	if (get_nprocs_conf() > 1) {
		tune_opts_init(&o);
		o.cgroup = spec;
		assert_int_equal(tune_parse_cpuset(&o, "1", &err), 0);
		assert_int_equal(tune_thread(&o, &cg, 2, getpid(), th.tid, &err), -1);
		assert_contains(err.msg, "vCPU 2: cgroup " V1_CPUSET "/");
		assert_contains(err.msg, "/vm1/vcpu2/cpuset.cpus: ");
		snprintf(dir, sizeof(dir), "%s/%s/vm1/vcpu2", V1_CPUSET, v1_name);
		assert_false(is_dir(dir));
		snprintf(dir, sizeof(dir), "%s/%s/vm1/vcpu2", V1_CPU, v1_name);
		assert_false(is_dir(dir));
		tune_opts_free(&o);
	}

	/* While the thread is in it, vcpu1 stays; once it is gone, it goes. */
	sleeper_stop(&th);
	assert_int_equal(tune_cgroup_remove(&cg, 1, &err), 0);
	for (i = 0; i < 3; i++) {
		snprintf(dir, sizeof(dir), "%s/%s/vm1/vcpu1", mnts[i], v1_name);
		assert_false(is_dir(dir));
	}
	tune_cgroup_free(&cg);
	v1_rmdirs();
}

static void test_v1_remove_busy(void **state)
{
	char spec[128], dir[PATH_MAX];
	struct tune_cgroup cg;
	struct tune_opts o;
	struct vc_err err = { 0 };
	struct sleeper th;
	static const char *const mnts[] = { V1_CPUSET, V1_CPU, V1_CPUACCT };
	size_t i;

	(void)state;
	if (!v1_usable()) {
		print_message("skipped: needs root and cgroup v1 cpu and cpuset mounted\n");
		skip();
	}
	snprintf(v1_name, sizeof(v1_name), "vcpuctl-unit-%ld", (long)getpid());
	for (i = 0; i < 3; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", mnts[i], v1_name);
		mkdir(dir, 0755);
		snprintf(dir, sizeof(dir), "%s/%s/vm1", mnts[i], v1_name);
		mkdir(dir, 0755);
	}
	snprintf(dir, sizeof(dir), "%s/%s", V1_CPUSET, v1_name);
	put(dir, "cpuset.cpus", slurp(V1_CPUSET, "cpuset.cpus"));
	put(dir, "cpuset.mems", slurp(V1_CPUSET, "cpuset.mems"));
	snprintf(dir, sizeof(dir), "%s/%s/vm1", V1_CPUSET, v1_name);
	put(dir, "cpuset.cpus", slurp(V1_CPUSET, "cpuset.cpus"));
	put(dir, "cpuset.mems", slurp(V1_CPUSET, "cpuset.mems"));
	snprintf(spec, sizeof(spec), "%s/vm1", v1_name);
	assert_int_equal(tune_cgroup_resolve(spec, TUNE_CGROUP_ROOT, &cg, &err), 0);

	sleeper_start(&th);
	tune_opts_init(&o);
	o.cgroup = spec;
	assert_int_equal(tune_thread(&o, &cg, 6, getpid(), th.tid, &err), 0);
	/* the thread still runs: removal is refused, and the thread stays */
	assert_int_equal(tune_cgroup_remove(&cg, 6, &err), -1);
	assert_contains(err.msg, "vCPU 6: removing cgroup " V1_CPUSET "/");
	snprintf(dir, sizeof(dir), "%s/%s/vm1/vcpu6", V1_CPUSET, v1_name);
	assert_true(is_dir(dir));
	sleeper_stop(&th);
	assert_int_equal(tune_cgroup_remove(&cg, 6, &err), 0);
	assert_false(is_dir(dir));
	tune_opts_free(&o);
	tune_cgroup_free(&cg);
	v1_rmdirs();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_parse),
		cmocka_unit_test(test_bandwidth_ranges),
		cmocka_unit_test(test_affinity_parse),
		cmocka_unit_test(test_cpuset_and_check),
		cmocka_unit_test_setup_teardown(test_cgroup_path_checks, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_v2_writes, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_v2_node_affinity, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_v2_failure_removes_what_it_made,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_v2_remove, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_v2_sweep, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_thread_affinity_and_sched),
		cmocka_unit_test(test_thread_not_found),
		cmocka_unit_test_teardown(test_v1_real, v1_teardown),
		cmocka_unit_test_teardown(test_v1_remove_busy, v1_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
