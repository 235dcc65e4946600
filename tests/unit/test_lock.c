/* test_lock.c - the per-VM lock: naming by device and inode, exclusion
 * between two holders, the bounded wait and its "busy" error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "vcpuctl/lock.h"
#include "vcpuctl/util.h"

static char tmpdir[64];
static char sockpath[128];
static char lockdir[128];

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_lock.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sockpath, sizeof(sockpath), "%s/qmp.sock", tmpdir);
	snprintf(lockdir, sizeof(lockdir), "%s/locks", tmpdir);
	setenv("VCPUCTL_LOCK_DIR", lockdir, 1);
	/* A real socket inode, as QEMU leaves behind. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, sockpath);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_name_is_dev_and_inode(void **state)
{
	struct vc_err err = { 0 };
	char a[512], b[512], c[512], want[512], link[160];
	struct stat st;

	(void)state;
	assert_int_equal(stat(sockpath, &st), 0);
	snprintf(want, sizeof(want), "%s/%llu-%llu.lock", lockdir,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	snprintf(link, sizeof(link), "%s/alias.sock", tmpdir);
	assert_int_equal(symlink(sockpath, link), 0);

	assert_int_equal(lock_file_for(sockpath, lockdir, a, sizeof(a), &err), 1);
	assert_string_equal(a, want);
	snprintf(c, sizeof(c), "unix:%s", link);
	assert_int_equal(lock_file_for(c, lockdir, b, sizeof(b), &err), 1);
	assert_string_equal(b, want);
}

static void test_tcp_and_missing(void **state)
{
	struct vc_err err = { 0 };
	char buf[512], want[512];

	(void)state;
	assert_int_equal(lock_file_for("tcp:[::1]:4444", lockdir, buf, sizeof(buf), &err), 1);
	snprintf(want, sizeof(want), "%s/tcp-___1__4444.lock", lockdir);
	assert_string_equal(buf, want);
	assert_int_equal(lock_file_for("/nonexistent/qmp.sock", lockdir, buf,
				       sizeof(buf), &err), 0);
	assert_int_equal(lock_acquire("/nonexistent/qmp.sock", 0, &err), -2);
}

static void test_exclusion_and_busy(void **state)
{
	struct vc_err err = { 0 };
	int64_t t0;
	int a, b;

	(void)state;
	a = lock_acquire(sockpath, 0, &err);
	assert_true(a >= 0);
	/* A second open file description conflicts, even in one process. */
	t0 = vc_now_ms();
	b = lock_acquire(sockpath, 300, &err);
	assert_int_equal(b, -1);
	assert_int_equal(err.code, VC_EXIT_BUSY);
	assert_true(vc_now_ms() - t0 >= 300);
	assert_true(vc_now_ms() - t0 < 2000);
	assert_non_null(strstr(err.msg, "another vcpuctl is changing this VM (lock "));
	assert_non_null(strstr(err.msg, "gave up after 0.300 s"));

	lock_release(a);
	b = lock_acquire(sockpath, 0, &err);
	assert_true(b >= 0);
	lock_release(b);
}

static void test_dir_from_env(void **state)
{
	struct vc_err err = { 0 };
	char buf[256];
	struct stat st;

	(void)state;
	assert_int_equal(lock_dir(buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, lockdir);
	assert_int_equal(stat(lockdir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_is_dev_and_inode),
		cmocka_unit_test(test_tcp_and_missing),
		cmocka_unit_test(test_exclusion_and_busy),
		cmocka_unit_test(test_dir_from_env),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
