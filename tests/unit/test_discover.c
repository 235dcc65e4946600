/* test_discover.c - the QEMU command-line parser (QEMU's option syntax,
 * ",," escapes, options whose argument looks like an option), the /proc
 * scan against a made-up proc tree, and name:/pid: selectors with their
 * messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vcpuctl/discover.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures/cmdlines"
#endif

/* argv as /proc/PID/cmdline holds it: each argument NUL-terminated. */
static size_t join_args(const char *const *argv, char *buf, size_t cap)
{
	size_t len = 0, n;

	for (; *argv; argv++) {
		n = strlen(*argv) + 1;
		assert_true(len + n <= cap);
		memcpy(buf + len, *argv, n);
		len += n;
	}
	return len;
}

static void parse_argv(const char *const *argv, struct disc_vm *vm)
{
	struct vc_err err = { 0 };
	char buf[8192];
	size_t len = join_args(argv, buf, sizeof(buf));

	memset(vm, 0, sizeof(*vm));
	assert_int_equal(disc_parse_cmdline(buf, len, NULL, vm, &err), 0);
}

/* A fixture: one argument per line. */
static void parse_fixture(const char *name, struct disc_vm *vm)
{
	struct vc_err err = { 0 };
	char path[256], *buf = NULL;
	size_t cap = 0, i;
	ssize_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	f = fopen(path, "r");
	assert_non_null(f);
	len = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	assert_true(len > 0);
	for (i = 0; i < (size_t)len; i++)
		if (buf[i] == '\n')
			buf[i] = '\0';
	memset(vm, 0, sizeof(*vm));
	assert_int_equal(disc_parse_cmdline(buf, (size_t)len, NULL, vm, &err), 0);
	free(buf);
}

static void test_plain_qmp(void **state)
{
	const char *argv[] = { "qemu-system-x86_64", "-name", "web1",
		"-qmp", "unix:/run/web1.qmp,server=on,wait=off", NULL };
	struct disc_vm vm;

	(void)state;
	parse_argv(argv, &vm);
	assert_string_equal(vm.name, "web1");
	assert_null(vm.uuid);
	assert_null(vm.smp);
	assert_int_equal(vm.manager, DISC_MGR_NONE);
	assert_int_equal(vm.n_mons, 1);
	assert_int_equal(vm.mons[0].transport, DISC_UNIX);
	assert_string_equal(vm.mons[0].path, "/run/web1.qmp");
	assert_string_equal(vm.mons[0].spec, "unix:/run/web1.qmp");
	assert_string_equal(vm.mons[0].option, "-qmp");
	assert_true(vm.mons[0].server);
	assert_false(vm.mons[0].pretty);
	assert_int_equal(vm.mons[0].fd, -1);
	disc_vm_free(&vm);
}

static void test_name_guest_and_escapes(void **state)
{
	const char *a1[] = { "qemu", "-name", "guest=db1,debug-threads=on", NULL };
	const char *a2[] = { "qemu", "-name", "a,,b,process=x", "-qmp",
		"unix:/tmp/x,,y.sock,server=on", NULL };
	const char *a3[] = { "qemu", "-name", "first", "-name", "guest=second", NULL };
	struct disc_vm vm;

	(void)state;
	parse_argv(a1, &vm);
	assert_string_equal(vm.name, "db1");
	assert_int_equal(vm.n_mons, 0);
	disc_vm_free(&vm);

	parse_argv(a2, &vm);
	assert_string_equal(vm.name, "a,b");
	assert_int_equal(vm.n_mons, 1);
	assert_string_equal(vm.mons[0].path, "/tmp/x,y.sock");
	assert_string_equal(vm.mons[0].spec, "unix:/tmp/x,y.sock");
	disc_vm_free(&vm);

	/* QEMU keeps the last -name. */
	parse_argv(a3, &vm);
	assert_string_equal(vm.name, "second");
	disc_vm_free(&vm);
}

static void test_tcp(void **state)
{
	const char *argv[] = { "qemu", "-qmp", "tcp:127.0.0.1:4444,server=on,wait=off",
		"-qmp", "tcp::4445,server,nowait", "-qmp", "tcp:nocolon",
		"-qmp", "telnet:h:23,server=on", NULL };
	struct disc_vm vm;

	(void)state;
	parse_argv(argv, &vm);
	assert_int_equal(vm.n_mons, 3);
	assert_int_equal(vm.mons[0].transport, DISC_TCP);
	assert_string_equal(vm.mons[0].host, "127.0.0.1");
	assert_string_equal(vm.mons[0].port, "4444");
	assert_string_equal(vm.mons[0].spec, "tcp:127.0.0.1:4444");
	assert_true(vm.mons[0].server);
	/* no host: QEMU listens on every address */
	assert_string_equal(vm.mons[1].host, "");
	assert_string_equal(vm.mons[1].spec, "tcp:localhost:4445");
	assert_true(vm.mons[1].server);
	assert_string_equal(vm.mons[2].spec, "tcp:h:23");
	disc_vm_free(&vm);
}

static void test_chardev_mon(void **state)
{
	const char *argv[] = { "qemu",
		"-mon", "chardev=c1,mode=control,pretty=on",   /* before its chardev */
		"-chardev", "socket,id=c1,path=/tmp/c1.sock,server=on,wait=off",
		"-chardev", "socket,id=h1,path=/tmp/h1.sock,server=on,wait=off",
		"-mon", "chardev=h1",                          /* HMP */
		"-mon", "h1,mode=readline",                    /* HMP */
		"-chardev", "socket,id=t1,host=0.0.0.0,port=5555,server=on",
		"-mon", "t1,mode=control",
		"-mon", "nosuch,mode=control",
		"-chardev", "pty,id=p1", "-mon", "p1,mode=control",
		"-monitor", "unix:/tmp/hmp.sock,server=on", NULL };
	struct disc_vm vm;

	(void)state;
	parse_argv(argv, &vm);
	assert_int_equal(vm.n_mons, 2);
	assert_string_equal(vm.mons[0].option, "-mon");
	assert_string_equal(vm.mons[0].chardev, "c1");
	assert_string_equal(vm.mons[0].spec, "unix:/tmp/c1.sock");
	assert_true(vm.mons[0].pretty);
	assert_true(vm.mons[0].server);
	assert_int_equal(vm.mons[1].transport, DISC_TCP);
	assert_string_equal(vm.mons[1].spec, "tcp:0.0.0.0:5555");
	assert_string_equal(vm.mons[1].chardev, "t1");
	disc_vm_free(&vm);
}

static void test_pretty_and_several(void **state)
{
	const char *argv[] = { "qemu", "-qmp", "unix:/a.sock,server=on,wait=off",
		"-qmp-pretty", "unix:/b.sock,server=on,wait=off",
		"-qmp", "unix:/c.sock", "-qmp", "stdio", "-qmp", "pty", NULL };
	struct disc_vm vm;

	(void)state;
	parse_argv(argv, &vm);
	assert_int_equal(vm.n_mons, 3);
	assert_string_equal(vm.mons[0].path, "/a.sock");
	assert_false(vm.mons[0].pretty);
	assert_string_equal(vm.mons[1].path, "/b.sock");
	assert_string_equal(vm.mons[1].option, "-qmp-pretty");
	assert_true(vm.mons[1].pretty);
	/* no server=on: QEMU connects out, nobody can connect in */
	assert_string_equal(vm.mons[2].path, "/c.sock");
	assert_false(vm.mons[2].server);
	disc_vm_free(&vm);
}

/* What an option's argument holds is never read as an option, and an
 * option cut off by the end of the line is no trouble. */
static void test_arguments_not_options(void **state)
{
	const char *a1[] = { "qemu", "-append", "-qmp", "unix:/evil,server=on",
		"-S", "-qmp", "unix:/good,server=on", NULL };
	const char *a2[] = { "qemu", "-name", NULL };
	const char *a3[] = { "-qmp", "unix:/argv0-is-no-option,server=on", NULL };
	struct disc_vm vm;
	struct vc_err err = { 0 };

	(void)state;
	parse_argv(a1, &vm);
	assert_int_equal(vm.n_mons, 1);
	assert_string_equal(vm.mons[0].path, "/good");
	disc_vm_free(&vm);
	parse_argv(a2, &vm);
	assert_null(vm.name);
	disc_vm_free(&vm);
	parse_argv(a3, &vm);
	assert_int_equal(vm.n_mons, 0);
	disc_vm_free(&vm);
	/* no final NUL, and an empty line */
	memset(&vm, 0, sizeof(vm));
	assert_int_equal(disc_parse_cmdline("q\0-name\0x", 10, NULL, &vm, &err), 0);
	assert_string_equal(vm.name, "x");
	disc_vm_free(&vm);
	assert_int_equal(disc_parse_cmdline("", 0, NULL, &vm, &err), 0);
	assert_int_equal(vm.n_mons, 0);
	disc_vm_free(&vm);
}

static void test_fixture_handmade(void **state)
{
	struct disc_vm vm;

	(void)state;
	parse_fixture("handmade.args", &vm);
	assert_string_equal(vm.name, "my,vm");
	assert_string_equal(vm.uuid, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(vm.smp, "1,maxcpus=8");
	assert_int_equal(vm.n_mons, 4);
	assert_string_equal(vm.mons[0].spec, "unix:/tmp/a,b.sock");
	assert_true(vm.mons[0].server);
	assert_string_equal(vm.mons[1].spec, "tcp:localhost:4444");
	assert_string_equal(vm.mons[1].option, "-qmp-pretty");
	assert_true(vm.mons[1].server);
	assert_string_equal(vm.mons[2].spec, "unix:/tmp/client.sock");
	assert_false(vm.mons[2].server);
	assert_string_equal(vm.mons[3].spec, "unix:/tmp/mon1.sock");
	assert_true(vm.mons[3].pretty);
	disc_vm_free(&vm);
}

static void test_fixture_libvirt(void **state)
{
	struct disc_vm vm;

	(void)state;
	parse_fixture("libvirt.args", &vm);
	assert_string_equal(vm.name, "web1");
	assert_string_equal(vm.uuid, "6c7a3c3e-3f5e-4e4b-9d0b-2a4b7c1e8f11");
	assert_string_equal(vm.smp, "2,maxcpus=8,sockets=8,cores=1,threads=1");
	assert_int_equal(vm.manager, DISC_MGR_LIBVIRT);
	assert_int_equal(vm.n_mons, 1);
	/* libvirt passes the listening socket as an fd: the scan finds it */
	assert_int_equal(vm.mons[0].fd, 31);
	assert_null(vm.mons[0].path);
	assert_null(vm.mons[0].spec);
	assert_string_equal(vm.mons[0].chardev, "charmonitor");
	assert_true(vm.mons[0].server);
	disc_vm_free(&vm);
}

static void test_fixture_proxmox(void **state)
{
	struct disc_vm vm;

	(void)state;
	parse_fixture("proxmox.args", &vm);
	assert_string_equal(vm.name, "web2");
	assert_int_equal(vm.manager, DISC_MGR_PROXMOX);
	assert_string_equal(vm.manager_id, "101");
	assert_string_equal(vm.smp, "4,sockets=1,cores=4,maxcpus=4");
	assert_int_equal(vm.n_mons, 2);
	assert_string_equal(vm.mons[0].spec, "unix:/var/run/qemu-server/101.qmp");
	assert_true(vm.mons[0].server);
	assert_string_equal(vm.mons[1].spec, "unix:/var/run/qmeventd.sock");
	assert_false(vm.mons[1].server);
	disc_vm_free(&vm);
}

static void test_is_qemu(void **state)
{
	(void)state;
	assert_true(disc_is_qemu("qemu-system-x86_64"));
	assert_true(disc_is_qemu("qemu-system-ppc64"));
	assert_true(disc_is_qemu("qemu-kvm"));
	assert_true(disc_is_qemu("kvm"));
	assert_false(disc_is_qemu("qemu-img"));
	assert_false(disc_is_qemu("qemu-ga"));
	assert_false(disc_is_qemu("bash"));
}

/* ---- a made-up /proc ---- */

static char proc[64];

static void put_file(const char *rel, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", proc, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void put_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", proc, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int proc_setup(void **state)
{
	static const char qemu1[] = "/usr/bin/qemu-system-x86_64\0-name\0guest=lv1,debug-threads=on\0"
		"-chardev\0socket,id=charmonitor,fd=31,server=on,wait=off\0"
		"-mon\0chardev=charmonitor,id=monitor,mode=control\0";
	static const char qemu2[] = "qemu-system-x86_64\0-name\0dup\0-qmp\0unix:/tmp/d1.sock,server=on\0";
	static const char qemu3[] = "qemu-system-aarch64\0-name\0dup\0-qmp\0unix:/tmp/d2.sock,server=on\0"
		"-qmp\0unix:/tmp/d3.sock,server=on\0";
	static const char qemu8[] = "qemu-system-x86_64\0-name\0t\0-qmp\0tcp::4444,server=on\0"
		"-qmp\0tcp:localhost:4445,server=on\0";
	static const char net_tcp[] =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 00000000:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
		"   1: 00000000:115D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n"
		"   2: 0100007F:115C 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1\n"
		"   3: 0100007F:D2F1 0100007F:115D 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1\n";
	static const char bash[] = "bash\0-qmp\0unix:/tmp/no.sock,server=on\0";
	static const char net_unix[] =
		"Num       RefCount Protocol Flags    Type St Inode Path\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 777 /var/lib/libvirt/qemu/domain-1-lv1/monitor.sock\n"
		"0000000000000000: 00000003 00000000 00000000 0001 03 778 /var/lib/libvirt/qemu/domain-1-lv1/monitor.sock\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 779 /tmp/d1.sock\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 780 @abstract\n"
		"0000000000000000: 00000002 00000000 00000000 0001 03 781\n"
		"garbage line\n";
	char path[256];

	(void)state;
	snprintf(proc, sizeof(proc), "/tmp/test_discover.XXXXXX");
	if (!mkdtemp(proc))
		return -1;
	put_dir("net");
	put_file("net/unix", net_unix, sizeof(net_unix) - 1);
	put_dir("300");
	put_file("300/cmdline", qemu3, sizeof(qemu3) - 1);
	put_dir("100");
	put_file("100/cmdline", qemu1, sizeof(qemu1) - 1);
	put_dir("100/fd");
	snprintf(path, sizeof(path), "%s/100/fd/31", proc);
	assert_int_equal(symlink("socket:[777]", path), 0);
	put_dir("200");
	put_file("200/cmdline", qemu2, sizeof(qemu2) - 1);
	put_dir("400");
	put_file("400/cmdline", bash, sizeof(bash) - 1);
	put_file("net/tcp", net_tcp, sizeof(net_tcp) - 1);
	put_dir("800");
	put_file("800/cmdline", qemu8, sizeof(qemu8) - 1);
	put_dir("500");             /* a zombie: empty cmdline */
	put_file("500/cmdline", "", 0);
	put_dir("600");             /* gone before its cmdline was read */
	{
		/* 3 MiB of -name: read whole, in steps */
		size_t n = 3u << 20;
		char *big = malloc(n + 64);
		int len;

		assert_non_null(big);
		len = snprintf(big, 64, "qemu-system-x86_64%c-name%c", 0, 0);
		memset(big + len, 'n', n);
		big[len + n] = '\0';
		put_dir("700");
		put_file("700/cmdline", big, (size_t)len + n + 1);
		free(big);
	}
	put_dir("self");
	return 0;
}

static int proc_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", proc);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_scan(void **state)
{
	struct vc_err err = { 0 };
	struct disc_list l;

	(void)state;
	assert_int_equal(disc_scan(proc, &l, &err), 0);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.vms[0].pid, 100);
	assert_int_equal(l.vms[1].pid, 200);
	assert_int_equal(l.vms[2].pid, 300);
	assert_int_equal(l.vms[3].pid, 700);
	assert_int_equal(strlen(l.vms[3].name), 3u << 20);
	assert_false(l.vms[3].cmdline_truncated);
	/* a client on 4444; on 4445 only our own outgoing connection's far end */
	assert_int_equal(l.vms[4].pid, 800);
	assert_true(l.vms[4].mons[0].held);
	assert_false(l.vms[4].mons[1].held);
	assert_string_equal(l.vms[0].exe, "qemu-system-x86_64");
	assert_string_equal(l.vms[2].exe, "qemu-system-aarch64");
	assert_true(l.vms[0].cmdline_readable);
	assert_int_equal(l.vms[0].manager, DISC_MGR_LIBVIRT);
	assert_string_equal(l.vms[0].mons[0].spec,
			    "unix:/var/lib/libvirt/qemu/domain-1-lv1/monitor.sock");
	assert_true(l.vms[0].mons[0].held);
	assert_false(l.vms[1].mons[0].held);
	disc_list_free(&l);

	assert_int_equal(disc_scan("/nonexistent-proc", &l, &err), -1);
	assert_string_equal(err.msg, "/nonexistent-proc: No such file or directory");
}

static void assert_resolve_fails(const struct disc_list *l, const char *sel,
				 int code, const char *msg)
{
	const struct disc_monitor *mon;
	const struct disc_vm *vm;
	struct vc_err err = { 0 };

	assert_int_equal(disc_resolve(l, sel, &vm, &mon, &err), -1);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.code, code);
}

#define N8 "nnnnnnnn"
#define N48 N8 N8 N8 N8 N8 N8

static void test_resolve(void **state)
{
	const struct disc_monitor *mon;
	const struct disc_vm *vm;
	struct vc_err err = { 0 };
	struct disc_list l;

	(void)state;
	assert_int_equal(disc_scan(proc, &l, &err), 0);
	assert_int_equal(disc_resolve(&l, "name:lv1", &vm, &mon, &err), 0);
	assert_int_equal(vm->pid, 100);
	assert_true(mon->held);
	assert_int_equal(disc_resolve(&l, "pid:200", &vm, &mon, &err), 0);
	assert_string_equal(mon->spec, "unix:/tmp/d1.sock");

	assert_resolve_fails(&l, "name:dup", VC_EXIT_USAGE,
		"name:dup: 2 QEMU processes are named dup: pid 200 (unix:/tmp/d1.sock), "
		"pid 300 (unix:/tmp/d2.sock); pick one with -s pid:PID or -s PATH");
	assert_resolve_fails(&l, "pid:300", VC_EXIT_USAGE,
		"pid:300: pid 300 has 2 QMP monitors: unix:/tmp/d2.sock, unix:/tmp/d3.sock; "
		"pick one with -s, e.g. -s unix:/tmp/d2.sock");
	assert_resolve_fails(&l, "name:web9", VC_EXIT_CONN,
		"name:web9: no QEMU process with -name web9; found lv1 (pid 100), "
		"dup (pid 200), dup (pid 300), " N48 "... (pid 700), t (pid 800) ('vcpuctl ls' lists them)");
	assert_resolve_fails(&l, "pid:400", VC_EXIT_CONN,
		"pid:400: no QEMU process with pid 400; found lv1 (pid 100), "
		"dup (pid 200), dup (pid 300), " N48 "... (pid 700), t (pid 800) ('vcpuctl ls' lists them)");
	assert_resolve_fails(&l, "pid:x1", VC_EXIT_USAGE,
			     "pid:x1: 'x1' is not a process id");
	assert_resolve_fails(&l, "pid:", VC_EXIT_USAGE, "pid:: '' is not a process id");
	assert_resolve_fails(&l, "name:", VC_EXIT_USAGE, "name:: no name given");
	assert_resolve_fails(&l, "/tmp/x", VC_EXIT_USAGE,
			     "/tmp/x: not name:NAME or pid:PID");

	/* Of two monitors, the one nobody holds. */
	l.vms[2].mons[0].held = true;
	assert_int_equal(disc_resolve(&l, "pid:300", &vm, &mon, &err), 0);
	assert_string_equal(mon->spec, "unix:/tmp/d3.sock");
	/* both held: the first, and the caller says it is held */
	l.vms[2].mons[1].held = true;
	assert_int_equal(disc_resolve(&l, "pid:300", &vm, &mon, &err), 0);
	assert_string_equal(mon->spec, "unix:/tmp/d2.sock");
	assert_true(mon->held);
	disc_list_free(&l);

	l.n = 0;
	l.vms = NULL;
	assert_resolve_fails(&l, "name:a", VC_EXIT_CONN,
		"name:a: no QEMU process with -name a; no QEMU process is visible "
		"to this user ('vcpuctl ls' lists them)");
}

static void test_resolve_nothing_to_connect(void **state)
{
	const char *a1[] = { "qemu", "-name", "h", "-monitor", "stdio", NULL };
	const char *a2[] = { "qemu", "-name", "c", "-qmp", "unix:/x", NULL };
	const char *a3[] = { "qemu", "-name", "f", "-chardev",
		"socket,id=m,fd=3,server=on", "-mon", "m,mode=control", NULL };
	struct disc_vm vms[3];
	struct disc_list l = { vms, 3 };

	(void)state;
	parse_argv(a1, &vms[0]);
	parse_argv(a2, &vms[1]);
	parse_argv(a3, &vms[2]);
	vms[0].pid = 1;
	vms[1].pid = 2;
	vms[2].pid = 3;
	vms[0].cmdline_readable = vms[1].cmdline_readable = vms[2].cmdline_readable = true;
	assert_resolve_fails(&l, "name:h", VC_EXIT_CONN,
		"name:h: pid 1: it has no QMP monitor (-qmp unix:PATH,server=on,wait=off adds one)");
	assert_resolve_fails(&l, "name:c", VC_EXIT_CONN,
		"name:c: pid 2: its QMP monitors connect out (no server=on)");
	assert_resolve_fails(&l, "name:f", VC_EXIT_CONN,
		"name:f: pid 3: its QMP monitor is inherited fd 3, whose socket path "
		"only root or the VM's user can see");
	disc_vm_free(&vms[0]);
	disc_vm_free(&vms[1]);
	disc_vm_free(&vms[2]);
}

static void test_filter(void **state)
{
	struct vc_err err = { 0 };
	struct disc_list l;
	char *pats[] = { "d?p", "100" };

	(void)state;
	assert_int_equal(disc_scan(proc, &l, &err), 0);
	disc_filter(&l, pats, 0);
	assert_int_equal(l.n, 5);
	disc_filter(&l, pats + 1, 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.vms[0].pid, 100);
	disc_list_free(&l);
	assert_int_equal(disc_scan(proc, &l, &err), 0);
	disc_filter(&l, pats, 1);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.vms[0].pid, 200);
	assert_int_equal(l.vms[1].pid, 300);
	disc_list_free(&l);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(disc_manager_name(DISC_MGR_LIBVIRT), "libvirt");
	assert_string_equal(disc_manager_name(DISC_MGR_PROXMOX), "proxmox");
	assert_null(disc_manager_name(DISC_MGR_NONE));
	assert_string_equal(disc_probe_name(DISC_PROBE_BUSY), "busy");
	assert_null(disc_probe_name(DISC_PROBE_NONE));
	assert_true(disc_is_selector("name:x"));
	assert_true(disc_is_selector("pid:1"));
	assert_false(disc_is_selector("unix:/x"));
	assert_false(disc_is_selector("/tmp/name:x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_qmp),
		cmocka_unit_test(test_name_guest_and_escapes),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_chardev_mon),
		cmocka_unit_test(test_pretty_and_several),
		cmocka_unit_test(test_arguments_not_options),
		cmocka_unit_test(test_fixture_handmade),
		cmocka_unit_test(test_fixture_libvirt),
		cmocka_unit_test(test_fixture_proxmox),
		cmocka_unit_test(test_is_qemu),
		cmocka_unit_test_setup_teardown(test_scan, proc_setup, proc_teardown),
		cmocka_unit_test_setup_teardown(test_resolve, proc_setup, proc_teardown),
		cmocka_unit_test_setup_teardown(test_filter, proc_setup, proc_teardown),
		cmocka_unit_test(test_resolve_nothing_to_connect),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
