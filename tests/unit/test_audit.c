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
#include <sys/wait.h>
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
	s = audit_syslog_format(&r);
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
	s = audit_syslog_format(&r);
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

	assert_int_equal(audit_syslog_send(sa.sun_path, LOG_NOTICE, "op=set x=1", &err), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(!strncmp(buf, "<85>", 4));
	snprintf(want, sizeof(want), " vcpuctl[%ld]: op=set x=1", (long)getpid());
	assert_non_null(strstr(buf, want));
	assert_int_equal(buf[n - 1], '1');

	/* $VCPUCTL_SYSLOG_SOCKET is the default target. */
	setenv("VCPUCTL_SYSLOG_SOCKET", sa.sun_path, 1);
	assert_int_equal(audit_syslog_send(NULL, LOG_WARNING, "m", &err), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	assert_true(!strncmp(buf, "<84>", 4));

	close(fd);
	unlink(sa.sun_path);
	assert_int_equal(audit_syslog_send(sa.sun_path, LOG_NOTICE, "m", &err), -1);
	assert_non_null(strstr(err.msg, "syslog socket "));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	rmdir(dir);
}

static char *linux_format(const char *virt, const char *name, const char *uuid,
			  int old_n, int new_n)
{
	struct audit_vcpu_record r = {
		.virt = virt, .vm_name = name, .vm_uuid = uuid,
		.old_vcpus = old_n, .new_vcpus = new_n,
	};
	char *s = audit_linux_format(&r);

	assert_non_null(s);
	return s;
}

static void test_linux_format_fields(void **state)
{
	char *s;

	(void)state;
	s = linux_format("kvm", "web1", "4b6fb2a3-0c9e-4a3e-9d55-6b5b4f1e2a10", 1, 4);
	assert_string_equal(s, "virt=kvm resrc=vcpu reason=update vm=\"web1\" "
			    "uuid=4b6fb2a3-0c9e-4a3e-9d55-6b5b4f1e2a10 old-vcpu=1 new-vcpu=4");
	free(s);
	s = linux_format(NULL, NULL, NULL, 3, -1);
	assert_string_equal(s, "virt=? resrc=vcpu reason=update vm=\"?\" uuid=? "
			    "old-vcpu=3 new-vcpu=?");
	free(s);
}

/* As libaudit encodes untrusted strings: a blank, a quote, a control or a
 * byte above 0x7e makes the whole value hex, upper case, unquoted. */
static void test_linux_format_encodes_vm(void **state)
{
	static const struct { const char *name, *field; } cases[] = {
		{ "web 1", " vm=7765622031 " },
		{ "a\" res=success", " vm=6122207265733D73756363657373 " },
		{ "caf\xc3\xa9", " vm=636166C3A9 " },
		{ "tab\tx", " vm=7461620978 " },
		{ "", " vm=\"\" " },
		{ "x=y'z", " vm=\"x=y'z\" " },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = linux_format("qemu", cases[i].name, NULL, 1, 2);

		if (!strstr(s, cases[i].field))
			fail_msg("vm name %zu: %s lacks '%s'", i, s, cases[i].field);
		free(s);
	}
}

/* Nothing QEMU says can add a field: a UUID that is not one is unknown. */
static void test_linux_format_rejects_bad_uuid(void **state)
{
	static const char *const bad[] = {
		"4b6fb2a3-0c9e-4a3e-9d55-6b5b4f1e2a1 res=x",
		"4b6fb2a3 0c9e-4a3e-9d55-6b5b4f1e2a10",
		"4b6fb2a3-0c9e-4a3e-9d55-6b5b4f1e2a1",
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = linux_format("kvm", "vm", bad[i], 1, 2);

		assert_non_null(strstr(s, " uuid=? "));
		free(s);
	}
}

/* res= comes after the message: a name long enough to push it past the
 * end of the kernel's record is cut. */
static void test_linux_format_cuts_long_names(void **state)
{
	char name[5000], want[AUDIT_VM_NAME_MAX + 8], *s;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(want, sizeof(want), "vm=\"%.*s\" ", AUDIT_VM_NAME_MAX, name);
	s = linux_format("kvm", name, NULL, 1, 2);
	assert_non_null(strstr(s, want));
	assert_true(strlen(s) < AUDIT_VM_NAME_MAX + 128);
	free(s);
}

static void test_targets_parse(void **state)
{
	(void)state;
	assert_int_equal(audit_targets_parse("auto"), AUDIT_TO_SYSLOG | AUDIT_TO_LINUX);
	assert_int_equal(audit_targets_parse("linux"), AUDIT_TO_LINUX | AUDIT_LINUX_REQUIRED);
	assert_int_equal(audit_targets_parse("syslog"), AUDIT_TO_SYSLOG);
	assert_int_equal(audit_targets_parse("both"),
			 AUDIT_TO_SYSLOG | AUDIT_TO_LINUX | AUDIT_LINUX_REQUIRED);
	assert_int_equal(audit_targets_parse("none"), 0);
	assert_int_equal(audit_targets_parse("Linux"), -1);
	assert_int_equal(audit_targets_parse(""), -1);
}

/* Without CAP_AUDIT_WRITE the kernel would refuse: the probe says so
 * without asking it. */
static void test_probe_unprivileged(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vc_err err = { 0 };

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		if (audit_linux_probe(&err) != -1 || err.code != VC_EXIT_USAGE ||
		    strcmp(err.msg, "Linux audit: not permitted (needs root or CAP_AUDIT_WRITE)"))
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_format_unknowns_and_hex),
		cmocka_unit_test(test_send_datagram),
		cmocka_unit_test(test_linux_format_fields),
		cmocka_unit_test(test_linux_format_encodes_vm),
		cmocka_unit_test(test_linux_format_rejects_bad_uuid),
		cmocka_unit_test(test_linux_format_cuts_long_names),
		cmocka_unit_test(test_targets_parse),
		cmocka_unit_test(test_probe_unprivileged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
