/* test_audit.c - the audit record: its fields, the encoding of values
 * that could forge a field, and the datagram on a socket of our own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "vcpuctl/audit.h"

static void test_format_fields(void **state)
{
	struct audit_record r = {
		.op = "set", .vm_name = "web 1",
		.vm_uuid = "4b6fb2a3-0c9e-4a3e-9d55-6b5b4f1e2a10",
		.old_vcpus = 1, .new_vcpus = 4, .vcpus = "1-3", .pending = NULL,
		.success = true, .reason = "ok", .user = "root", .uid = 0,
		.auid = 1000,
	};
	char *s;

	(void)state;
	s = audit_format(&r);
	assert_non_null(s);
	assert_string_equal(s, "op=set vm=\"web 1\" uuid=4b6fb2a3-0c9e-4a3e-9d55-6b5b4f1e2a10 "
			    "old-vcpus=1 new-vcpus=4 vcpus=1-3 pending=- result=success "
			    "reason=\"ok\" user=\"root\"(0) auid=1000");
	free(s);
}

static void test_format_unknowns_and_hex(void **state)
{
	struct audit_record r = {
		.op = "del", .vm_name = "a\" user=\"root", .vm_uuid = NULL,
		.old_vcpus = 3, .new_vcpus = -1, .vcpus = "2", .pending = "2",
		.success = false, .reason = "timeout: still\npending",
		.user = NULL, .uid = 1000, .auid = -1,
	};
	char *s;

	(void)state;
	s = audit_format(&r);
	assert_non_null(s);
	assert_string_equal(s, "op=del vm=612220757365723D22726F6F74 uuid=? old-vcpus=3 "
			    "new-vcpus=? vcpus=2 pending=2 result=failure "
			    "reason=74696D656F75743A207374696C6C0A70656E64696E67 user=?(1000)");
	free(s);
}

static void test_send_datagram(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vc_err err = { 0 };
	char dir[] = "/tmp/test_audit.XXXXXX", buf[1024], want[64];
	ssize_t n;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/log", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	assert_int_equal(audit_send(sa.sun_path, LOG_NOTICE, "op=set x=1", &err), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(!strncmp(buf, "<85>", 4));
	snprintf(want, sizeof(want), " vcpuctl[%ld]: op=set x=1", (long)getpid());
	assert_non_null(strstr(buf, want));
	assert_int_equal(buf[n - 1], '1');

	/* $VCPUCTL_SYSLOG_SOCKET is the default target. */
	setenv("VCPUCTL_SYSLOG_SOCKET", sa.sun_path, 1);
	assert_int_equal(audit_send(NULL, LOG_WARNING, "m", &err), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	assert_true(!strncmp(buf, "<84>", 4));

	close(fd);
	unlink(sa.sun_path);
	assert_int_equal(audit_send(sa.sun_path, LOG_NOTICE, "m", &err), -1);
	assert_non_null(strstr(err.msg, "syslog socket "));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_format_unknowns_and_hex),
		cmocka_unit_test(test_send_datagram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
