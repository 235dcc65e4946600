/* discover.c - QEMU processes and their QMP monitors from /proc: the
 * command-line parser (QEMU's option syntax), the scan, resolving
 * "name:NAME" / "pid:PID" selectors, and the bounded parallel probe.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vcpuctl/discover.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/topology.h"
#include "vcpuctl/util.h"

/* /proc/net/unix: SS_CONNECTED and __SO_ACCEPTCON (a listening socket). */
#define UNIX_SS_CONNECTED 3
#define UNIX_ACCEPTCON 0x10000
/* /proc/net/tcp's "st" of an established connection. */
#define TCP_ESTABLISHED_STATE 1

/* QEMU options that take no argument: every other option consumes the
 * next argument, whatever it looks like, exactly as QEMU's own parser
 * does, so "-append '-name x'" never reads as a -name. */
static const char *const no_arg_options[] = {
	"S", "s", "h", "help", "version", "nographic", "daemonize",
	"enable-kvm", "enable-sync-profile", "full-screen", "jitdump",
	"perfmap", "mem-prealloc", "no-fd-bootchk", "no-reboot",
	"no-shutdown", "no-user-config", "nodefaults", "only-migratable",
	"snapshot", "usb", "win2k-hack", "xen-attach", "xen-domid-restrict",
	"preconfig", "semihosting", "no-hpet", "no-acpi", "alt-grab",
	"ctrl-grab", "singlestep", "curses", "no-kvm", "no-kvm-irqchip",
	"no-kvm-pit-reinjection", "no-quit", "old-param", "rtc-td-hack",
	"no-frame", "enable-fips", "sdl", "localtime", "nouserconfig",
};

/* ---- QemuOpts: "key=value,flag,noflag,key=a,,b" ---- */

struct kv {
	char *key, *val;
};

struct opts {
	struct kv *kv;
	size_t n;
};

static void opts_free(struct opts *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->kv[i].key);
		free(o->kv[i].val);
	}
	free(o->kv);
	o->kv = NULL;
	o->n = 0;
}

/* A value runs to the first ',' that is not doubled; ",," is a comma. */
static char *opt_value(const char **pp)
{
	const char *p = *pp;
	char *v, *w;

	v = malloc(strlen(p) + 1);
	if (!v)
		return NULL;
	w = v;
	while (*p) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		*w++ = *p++;
	}
	*w = '\0';
	*pp = p;
	return v;
}

static int opts_add(struct opts *o, char *key, char *val)
{
	struct kv *kv;

	if (!key || !val)
		goto fail;
	kv = realloc(o->kv, (o->n + 1) * sizeof(*kv));
	if (!kv)
		goto fail;
	o->kv = kv;
	kv[o->n].key = key;
	kv[o->n].val = val;
	o->n++;
	return 0;
fail:
	free(key);
	free(val);
	return -1;
}

/* Parse s the way QEMU's QemuOpts does: the first element, when it has no
 * '=', is the value of implied (if any); any later one is a flag, "noX"
 * meaning X=off.  Returns 0 or -1 on out of memory. */
static int opts_parse(const char *s, const char *implied, struct opts *o)
{
	const char *p = s;
	bool first = true;

	memset(o, 0, sizeof(*o));
	while (*p) {
		size_t len = strcspn(p, "=,");
		char *key, *val;

		if (p[len] != '=') {
			if (first && implied) {
				key = strdup(implied);
				val = opt_value(&p);
			} else if (len > 2 && !strncmp(p, "no", 2)) {
				key = strndup(p + 2, len - 2);
				val = strdup("off");
				p += len;
			} else {
				key = strndup(p, len);
				val = strdup("on");
				p += len;
			}
		} else {
			key = strndup(p, len);
			p += len + 1;
			val = opt_value(&p);
		}
		if (opts_add(o, key, val) < 0) {
			opts_free(o);
			return -1;
		}
		first = false;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The last value given for key wins, as in QEMU. */
static const char *opts_get(const struct opts *o, const char *key)
{
	size_t i = o->n;

	while (i-- > 0)
		if (!strcmp(o->kv[i].key, key))
			return o->kv[i].val;
	return NULL;
}

static bool opt_bool(const char *v)
{
	return v && (!strcmp(v, "on") || !strcmp(v, "yes") ||
		     !strcmp(v, "true") || !strcmp(v, "y"));
}

/* ---- the parsed command line ---- */

struct chardev {
	char *id;
	struct disc_monitor mon;  /* transport, path/host/port, fd, server */
};

struct mon_ref {
	char *chardev;
	bool pretty;
};

struct parse {
	struct chardev *chr;
	size_t n_chr;
	struct mon_ref *mons;
	size_t n_mons;
	const char *cwd;
};

static void monitor_clear(struct disc_monitor *m)
{
	free(m->path);
	free(m->host);
	free(m->port);
	free(m->spec);
	free(m->chardev);
	free(m->probe_msg);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

static void parse_free(struct parse *ps)
{
	size_t i;

	for (i = 0; i < ps->n_chr; i++) {
		free(ps->chr[i].id);
		monitor_clear(&ps->chr[i].mon);
	}
	free(ps->chr);
	for (i = 0; i < ps->n_mons; i++)
		free(ps->mons[i].chardev);
	free(ps->mons);
}

static int set_str(char **dst, const char *src)
{
	char *s = strdup(src);

	if (!s)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

static int add_monitor(struct disc_vm *vm, struct disc_monitor *m)
{
	struct disc_monitor *mons;

	mons = realloc(vm->mons, (vm->n_mons + 1) * sizeof(*mons));
	if (!mons)
		return -1;
	vm->mons = mons;
	mons[vm->n_mons++] = *m;
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	return 0;
}

/* "unix:PATH" for a path, absolute when cwd makes it so and the joined
 * path is a socket there (QEMU may have changed directory since). */
static int unix_path(struct disc_monitor *m, const char *path, const char *cwd)
{
	struct stat st;
	char *joined;

	m->transport = DISC_UNIX;
	if (path[0] != '/' && cwd &&
	    asprintf(&joined, "%s%s%s", cwd,
		     cwd[strlen(cwd) - 1] == '/' ? "" : "/", path) >= 0) {
		if (stat(joined, &st) == 0 && S_ISSOCK(st.st_mode)) {
			free(m->path);
			m->path = joined;
			return 0;
		}
		free(joined);
	}
	return set_str(&m->path, path);
}

/* A socket chardev's address and mode from its options. */
static int socket_from_opts(struct disc_monitor *m, const struct opts *o,
			    const char *cwd)
{
	const char *path = opts_get(o, "path"), *fd = opts_get(o, "fd");
	const char *host = opts_get(o, "host"), *port = opts_get(o, "port");
	long n;

	m->server = opt_bool(opts_get(o, "server"));
	if (path && *path)
		return unix_path(m, path, cwd);
	if (fd && vc_parse_long(fd, 0, INT_MAX, &n)) {
		/* An inherited socket: the scan finds its path, if it may. */
		m->transport = DISC_UNIX;
		m->fd = (int)n;
		return 0;
	}
	if (port && *port) {
		m->transport = DISC_TCP;
		if (set_str(&m->host, host ? host : "") < 0 ||
		    set_str(&m->port, port) < 0)
			return -1;
	}
	return 0;
}

static bool monitor_has_address(const struct disc_monitor *m)
{
	return m->path || m->port || m->fd >= 0;
}

/* -qmp's argument: the compatibility chardev syntax, of which "unix:" and
 * "tcp:" / "telnet:" name sockets; anything else (stdio, pty, ...) is no
 * socket a client could use. */
static int parse_qmp(struct disc_vm *vm, const char *arg, bool pretty,
		     const char *cwd)
{
	struct disc_monitor m = { .fd = -1, .option = pretty ? "-qmp-pretty" : "-qmp",
				  .pretty = pretty };
	struct opts o;
	const char *p, *colon;
	int rc = 0;

	if (!strncmp(arg, "unix:", 5)) {
		if (opts_parse(arg + 5, "path", &o) < 0)
			return -1;
	} else if (!strncmp(arg, "tcp:", 4) || !strncmp(arg, "telnet:", 7)) {
		p = arg + (arg[0] == 't' && arg[1] == 'c' ? 4 : 7);
		colon = strchr(p, ':');
		if (!colon || colon[1] == '\0' || colon[1] == ',' ||
		    memchr(p, ',', (size_t)(colon - p)))
			return 0;   /* QEMU would have refused it */
		if (opts_parse(colon + 1, "port", &o) < 0)
			return -1;
		m.transport = DISC_TCP;
		m.host = strndup(p, (size_t)(colon - p));
		if (!m.host) {
			opts_free(&o);
			return -1;
		}
	} else {
		return 0;
	}
	if (m.transport == DISC_TCP) {
		const char *port = opts_get(&o, "port");

		m.server = opt_bool(opts_get(&o, "server"));
		if (port && *port && set_str(&m.port, port) < 0)
			rc = -1;
	} else {
		rc = socket_from_opts(&m, &o, cwd);
	}
	opts_free(&o);
	if (rc == 0 && monitor_has_address(&m))
		rc = add_monitor(vm, &m);
	monitor_clear(&m);
	return rc;
}

static int parse_chardev(struct parse *ps, const char *arg)
{
	struct chardev *chr;
	struct opts o;
	const char *id, *backend;
	int rc = 0;

	if (opts_parse(arg, "backend", &o) < 0)
		return -1;
	id = opts_get(&o, "id");
	backend = opts_get(&o, "backend");
	if (!id || !backend || strcmp(backend, "socket"))
		goto out;
	chr = realloc(ps->chr, (ps->n_chr + 1) * sizeof(*chr));
	if (!chr) {
		rc = -1;
		goto out;
	}
	ps->chr = chr;
	chr = &ps->chr[ps->n_chr];
	memset(chr, 0, sizeof(*chr));
	chr->mon.fd = -1;
	chr->id = strdup(id);
	ps->n_chr++;
	if (!chr->id || socket_from_opts(&chr->mon, &o, ps->cwd) < 0)
		rc = -1;
out:
	opts_free(&o);
	return rc;
}

static int parse_mon(struct parse *ps, const char *arg)
{
	struct mon_ref *mons;
	struct opts o;
	const char *chardev, *mode;
	int rc = 0;

	if (opts_parse(arg, "chardev", &o) < 0)
		return -1;
	chardev = opts_get(&o, "chardev");
	mode = opts_get(&o, "mode");
	/* Without mode=control a -mon is the human monitor (HMP). */
	if (!chardev || !mode || strcmp(mode, "control"))
		goto out;
	mons = realloc(ps->mons, (ps->n_mons + 1) * sizeof(*mons));
	if (!mons) {
		rc = -1;
		goto out;
	}
	ps->mons = mons;
	mons[ps->n_mons].chardev = strdup(chardev);
	mons[ps->n_mons].pretty = opt_bool(opts_get(&o, "pretty"));
	if (!mons[ps->n_mons].chardev)
		rc = -1;
	else
		ps->n_mons++;
out:
	opts_free(&o);
	return rc;
}

static int parse_name(struct disc_vm *vm, const char *arg)
{
	struct opts o;
	const char *guest;
	int rc = 0;

	if (opts_parse(arg, "guest", &o) < 0)
		return -1;
	guest = opts_get(&o, "guest");
	if (guest && set_str(&vm->name, guest) < 0)
		rc = -1;
	opts_free(&o);
	return rc;
}

/* A -mon joins the -chardev of its id, wherever on the line either is. */
static int join_mons(struct parse *ps, struct disc_vm *vm)
{
	struct disc_monitor m;
	size_t i, j;

	for (i = 0; i < ps->n_mons; i++) {
		for (j = 0; j < ps->n_chr; j++)
			if (!strcmp(ps->chr[j].id, ps->mons[i].chardev))
				break;
		if (j == ps->n_chr || !monitor_has_address(&ps->chr[j].mon))
			continue;
		m = ps->chr[j].mon;
		m.path = m.path ? strdup(m.path) : NULL;
		m.host = m.host ? strdup(m.host) : NULL;
		m.port = m.port ? strdup(m.port) : NULL;
		m.spec = NULL;
		m.probe_msg = NULL;
		m.chardev = strdup(ps->chr[j].id);
		m.option = "-mon";
		m.pretty = ps->mons[i].pretty;
		if ((ps->chr[j].mon.path && !m.path) ||
		    (ps->chr[j].mon.host && !m.host) ||
		    (ps->chr[j].mon.port && !m.port) || !m.chardev ||
		    add_monitor(vm, &m) < 0) {
			monitor_clear(&m);
			return -1;
		}
	}
	return 0;
}

static int monitor_make_spec(struct disc_monitor *m)
{
	free(m->spec);
	m->spec = NULL;
	if (m->transport == DISC_UNIX && m->path)
		return asprintf(&m->spec, "unix:%s", m->path) < 0 ? -1 : 0;
	if (m->transport == DISC_TCP && m->port) {
		/* No host: QEMU listens on every address, this one too. */
		const char *host = m->host && *m->host ? m->host : "localhost";

		return asprintf(&m->spec, "tcp:%s:%s", host, m->port) < 0 ? -1 : 0;
	}
	return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* Proxmox's qemu-server names the monitor after the VMID; libvirt keeps
 * it in the domain's directory, or passes an fd to "charmonitor". */
static void detect_manager(struct disc_vm *vm)
{
	size_t i;

	for (i = 0; i < vm->n_mons; i++) {
		const char *path = vm->mons[i].path, *id, *dot;

		if (has_prefix(path, "/var/run/qemu-server/") ||
		    has_prefix(path, "/run/qemu-server/")) {
			id = strrchr(path, '/') + 1;
			dot = strstr(id, ".qmp");
			vm->manager = DISC_MGR_PROXMOX;
			if (dot && dot > id && !vm->manager_id)
				vm->manager_id = strndup(id, (size_t)(dot - id));
			return;
		}
		if ((path && strstr(path, "/libvirt/qemu/")) ||
		    (vm->mons[i].chardev &&
		     !strcmp(vm->mons[i].chardev, "charmonitor"))) {
			vm->manager = DISC_MGR_LIBVIRT;
			return;
		}
	}
}

static bool takes_no_arg(const char *opt)
{
	size_t i;

	for (i = 0; i < sizeof(no_arg_options) / sizeof(no_arg_options[0]); i++)
		if (!strcmp(opt, no_arg_options[i]))
			return true;
	return false;
}

/* One option and its argument (NULL when the line ended first). */
static int parse_option(struct parse *ps, struct disc_vm *vm, const char *opt,
			const char *arg)
{
	if (!arg)
		return 0;
	if (!strcmp(opt, "qmp"))
		return parse_qmp(vm, arg, false, ps->cwd);
	if (!strcmp(opt, "qmp-pretty"))
		return parse_qmp(vm, arg, true, ps->cwd);
	if (!strcmp(opt, "chardev"))
		return parse_chardev(ps, arg);
	if (!strcmp(opt, "mon"))
		return parse_mon(ps, arg);
	if (!strcmp(opt, "name"))
		return parse_name(vm, arg);
	if (!strcmp(opt, "uuid"))
		return set_str(&vm->uuid, arg);
	if (!strcmp(opt, "smp"))
		return set_str(&vm->smp, arg);
	return 0;
}

int disc_parse_cmdline(const char *buf, size_t len, const char *cwd,
		       struct disc_vm *vm, struct vc_err *err)
{
	struct parse ps = { .cwd = cwd };
	char *copy, *end, *arg, *next;
	size_t i;
	int rc = 0;

	copy = malloc(len + 1);
	if (!copy)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	memcpy(copy, buf, len);
	copy[len] = '\0';
	end = copy + len;
	/* argv[0] is the program. */
	arg = copy + strlen(copy) + 1;
	while (rc == 0 && arg < end) {
		const char *opt = arg;

		next = arg + strlen(arg) + 1;
		if (opt[0] != '-' || opt[1] == '\0') {
			arg = next;
			continue;
		}
		opt += opt[1] == '-' ? 2 : 1;
		if (takes_no_arg(opt)) {
			arg = next;
			continue;
		}
		rc = parse_option(&ps, vm, opt, next < end ? next : NULL);
		arg = next < end ? next + strlen(next) + 1 : end;
	}
	if (rc == 0)
		rc = join_mons(&ps, vm);
	for (i = 0; rc == 0 && i < vm->n_mons; i++)
		rc = monitor_make_spec(&vm->mons[i]);
	if (rc == 0)
		detect_manager(vm);
	parse_free(&ps);
	free(copy);
	if (rc < 0)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	return 0;
}

bool disc_is_qemu(const char *prog)
{
	return has_prefix(prog, "qemu-system-") || !strcmp(prog, "qemu-kvm") ||
	       !strcmp(prog, "kvm");
}

/* ---- the scan ---- */

struct unix_sock {
	unsigned long inode;
	unsigned flags, state;
	char *path;
};

struct unix_table {
	struct unix_sock *s;
	size_t n;
};

static void unix_table_free(struct unix_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->s[i].path);
	free(t->s);
}

/* /proc/net/unix, the named sockets only.  A table that cannot be read is
 * empty: nothing is then known to be held. */
static int unix_table_read(const char *proc_root, struct unix_table *t)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/net/unix", proc_root);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct unix_sock u, *s;
		int off = 0;

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (sscanf(line, "%*s %*s %*s %x %*s %x %lu %n", &u.flags,
			   &u.state, &u.inode, &off) < 3 || off <= 0 ||
		    line[off] != '/')
			continue;
		s = realloc(t->s, (t->n + 1) * sizeof(*s));
		if (!s || !(u.path = strdup(line + off))) {
			if (s)
				t->s = s;
			rc = -1;
			break;
		}
		t->s = s;
		t->s[t->n++] = u;
	}
	free(line);
	fclose(f);
	return rc;
}

static bool unix_held(const struct unix_table *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->s[i].state == UNIX_SS_CONNECTED &&
		    !(t->s[i].flags & UNIX_ACCEPTCON) && !strcmp(t->s[i].path, path))
			return true;
	return false;
}

/* Does /proc/net/tcp or tcp6 show an established connection on local
 * port port: QEMU's end of a client's connection to its monitor?  Read
 * only for tcp monitors, which are few. */
static bool tcp_held(const char *proc_root, const char *port_text)
{
	static const char *const files[] = { "net/tcp", "net/tcp6" };
	char path[PATH_MAX + 16], *line = NULL;
	unsigned lport, state;
	bool held = false;
	size_t cap = 0, i;
	long port;
	FILE *f;

	if (!vc_parse_long(port_text, 1, 65535, &port))
		return false;
	for (i = 0; !held && i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", proc_root, files[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (!held && getline(&line, &cap, f) > 0)
			held = sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x",
				      &lport, &state) == 2 &&
			       lport == (unsigned)port && state == TCP_ESTABLISHED_STATE;
		fclose(f);
	}
	free(line);
	return held;
}

/* Read a whole /proc file, up to max bytes.  Returns the length, or -1
 * with errno set. */
static ssize_t read_file(const char *path, char **out, size_t max, bool *cut)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;
	int fd, e;

	*out = NULL;
	if (cut)
		*cut = false;
	if (!buf)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				if (cut)
					*cut = true;
				break;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				e = ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, (cap < max ? cap : max) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	return (ssize_t)len;
fail:
	close(fd);
	free(buf);
	errno = e;
	return -1;
}

static char *read_link(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The program's name: exe's basename when we may read it (" (deleted)"
 * after a package upgrade dropped), else argv[0]'s, else comm. */
static char *program_name(const char *dir, const char *argv0)
{
	char path[PATH_MAX + 32], *exe, *name, *del, *comm = NULL;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/exe", dir);
	exe = read_link(path);
	if (exe) {
		del = strstr(exe, " (deleted)");
		if (del && del[10] == '\0')
			*del = '\0';
		name = strdup(base_name(exe));
		free(exe);
		return name;
	}
	if (argv0 && *argv0)
		return strdup(base_name(argv0));
	snprintf(path, sizeof(path), "%s/comm", dir);
	n = read_file(path, &comm, 256, NULL);
	if (n <= 0) {
		free(comm);
		return NULL;
	}
	comm[n - 1] = comm[n - 1] == '\n' ? '\0' : comm[n - 1];
	name = strndup(comm, (size_t)n);
	free(comm);
	return name;
}

/* An inherited fd=N monitor: its path from the fd's socket inode. */
static void fill_fd_path(struct disc_monitor *m, const char *dir,
			 const struct unix_table *t)
{
	char path[PATH_MAX + 32], *link;
	unsigned long ino;
	size_t i;

	snprintf(path, sizeof(path), "%s/fd/%d", dir, m->fd);
	link = read_link(path);
	if (!link)
		return;
	if (sscanf(link, "socket:[%lu]", &ino) == 1)
		for (i = 0; i < t->n; i++)
			if (t->s[i].inode == ino) {
				m->path = strdup(t->s[i].path);
				break;
			}
	free(link);
}

static int scan_one(const char *proc_root, pid_t pid,
		    const struct unix_table *ut, struct disc_list *l,
		    struct vc_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], *cmd = NULL, *cwd, *prog;
	struct disc_vm vm = { .pid = pid };
	struct disc_vm *vms;
	ssize_t n;
	bool cut;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/%d", proc_root, (int)pid);
	snprintf(path, sizeof(path), "%s/cmdline", dir);
	n = read_file(path, &cmd, DISC_CMDLINE_MAX, &cut);
	if (n < 0 && errno != EACCES && errno != EPERM) {
		/* Gone mid-scan (ENOENT, ESRCH), or out of memory. */
		if (errno == ENOMEM)
			return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		return 0;
	}
	if (n == 0) {          /* a kernel thread or a zombie */
		free(cmd);
		return 0;
	}
	prog = program_name(dir, n > 0 ? cmd : NULL);
	if (!prog || !disc_is_qemu(prog)) {
		free(prog);
		free(cmd);
		return 0;
	}
	vm.exe = prog;
	vm.cmdline_readable = n > 0;
	vm.cmdline_truncated = n > 0 && cut;
	if (n > 0) {
		snprintf(path, sizeof(path), "%s/cwd", dir);
		cwd = read_link(path);
		if (disc_parse_cmdline(cmd, (size_t)n, cwd, &vm, err) < 0) {
			free(cwd);
			free(cmd);
			disc_vm_free(&vm);
			return -1;
		}
		free(cwd);
	}
	free(cmd);
	for (i = 0; i < vm.n_mons; i++) {
		struct disc_monitor *m = &vm.mons[i];

		if (m->fd >= 0 && !m->path) {
			fill_fd_path(m, dir, ut);
			if (monitor_make_spec(m) < 0)
				goto oom;
		}
		if (m->transport == DISC_UNIX && m->path)
			m->held = unix_held(ut, m->path);
		else if (m->transport == DISC_TCP && m->server)
			m->held = tcp_held(proc_root, m->port);
	}
	if (vm.manager == DISC_MGR_NONE)
		detect_manager(&vm);
	vms = realloc(l->vms, (l->n + 1) * sizeof(*vms));
	if (!vms)
		goto oom;
	l->vms = vms;
	vms[l->n++] = vm;
	return 0;
oom:
	disc_vm_free(&vm);
	return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
}

static int vm_cmp(const void *a, const void *b)
{
	const struct disc_vm *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int disc_scan(const char *proc_root, struct disc_list *out, struct vc_err *err)
{
	struct unix_table ut;
	struct dirent *de;
	DIR *d;
	long pid;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	d = opendir(proc_root);
	if (!d)
		return vc_err_errno(err, VC_EXIT_INTERNAL, errno, "%s", proc_root);
	if (unix_table_read(proc_root, &ut) < 0) {
		closedir(d);
		unix_table_free(&ut);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	while (rc == 0 && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]) ||
		    !vc_parse_long(de->d_name, 1, INT_MAX, &pid))
			continue;
		rc = scan_one(proc_root, (pid_t)pid, &ut, out, err);
	}
	closedir(d);
	unix_table_free(&ut);
	if (rc < 0) {
		disc_list_free(out);
		return -1;
	}
	if (out->n)
		qsort(out->vms, out->n, sizeof(*out->vms), vm_cmp);
	return 0;
}

void disc_vm_free(struct disc_vm *vm)
{
	size_t i;

	for (i = 0; i < vm->n_mons; i++)
		monitor_clear(&vm->mons[i]);
	free(vm->mons);
	free(vm->exe);
	free(vm->name);
	free(vm->uuid);
	free(vm->smp);
	free(vm->manager_id);
	memset(vm, 0, sizeof(*vm));
}

void disc_list_free(struct disc_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		disc_vm_free(&l->vms[i]);
	free(l->vms);
	l->vms = NULL;
	l->n = 0;
}

const char *disc_manager_name(enum disc_manager m)
{
	switch (m) {
	case DISC_MGR_LIBVIRT:
		return "libvirt";
	case DISC_MGR_PROXMOX:
		return "proxmox";
	case DISC_MGR_NONE:
		break;
	}
	return NULL;
}

const char *disc_probe_name(enum disc_probe_state s)
{
	static const char *const names[] = {
		[DISC_PROBE_OK] = "ok",
		[DISC_PROBE_BUSY] = "busy",
		[DISC_PROBE_REFUSED] = "refused",
		[DISC_PROBE_TIMEOUT] = "timeout",
		[DISC_PROBE_ERROR] = "error",
	};

	if (s <= DISC_PROBE_NONE || s > DISC_PROBE_ERROR)
		return NULL;
	return names[s];
}

static bool vm_matches(const struct disc_vm *vm, char *const *pats, size_t n)
{
	size_t i;
	long pid;

	for (i = 0; i < n; i++) {
		if (vc_parse_long(pats[i], 1, INT_MAX, &pid) && vm->pid == (pid_t)pid)
			return true;
		if (vm->name && fnmatch(pats[i], vm->name, 0) == 0)
			return true;
	}
	return false;
}

void disc_filter(struct disc_list *l, char *const *pats, size_t n)
{
	size_t i, kept = 0;

	if (!n)
		return;
	for (i = 0; i < l->n; i++) {
		if (vm_matches(&l->vms[i], pats, n))
			l->vms[kept++] = l->vms[i];
		else
			disc_vm_free(&l->vms[i]);
	}
	l->n = kept;
}

/* ---- selectors ---- */

bool disc_is_selector(const char *spec)
{
	return has_prefix(spec, "name:") || has_prefix(spec, "pid:");
}

/* A monitor a client can connect to: QEMU listens, and we know where. */
static bool connectable(const struct disc_monitor *m)
{
	return m->server && m->spec;
}

/* Append to a message, never past its end. */
static void msg_add(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void msg_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* Enough of a name to recognise it; the message has room for the rest. */
#define NAME_IN_MSG 48

/* "web1 (pid 12), pid 34 (no name), ..." of every VM in l. */
static void list_vms(char *buf, size_t size, const struct disc_list *l)
{
	size_t i;

	if (!l->n) {
		msg_add(buf, size, "no QEMU process is visible to this user");
		return;
	}
	msg_add(buf, size, "found ");
	for (i = 0; i < l->n; i++) {
		if (i == 8) {
			msg_add(buf, size, ", and %zu more", l->n - i);
			break;
		}
		if (l->vms[i].name)
			msg_add(buf, size, "%s%.*s%s (pid %d)", i ? ", " : "",
				NAME_IN_MSG, l->vms[i].name,
				strlen(l->vms[i].name) > NAME_IN_MSG ? "..." : "",
				(int)l->vms[i].pid);
		else
			msg_add(buf, size, "%spid %d (no -name)", i ? ", " : "",
				(int)l->vms[i].pid);
	}
}

/* Why a VM offers nothing to connect to. */
static void why_none(char *buf, size_t size, const struct disc_vm *vm)
{
	size_t i;

	if (!vm->cmdline_readable) {
		msg_add(buf, size, "its command line cannot be read by this user");
		return;
	}
	for (i = 0; i < vm->n_mons; i++)
		if (vm->mons[i].server && !vm->mons[i].spec) {
			msg_add(buf, size, "its QMP monitor is inherited fd %d, whose "
				"socket path only root or the VM's user can see",
				vm->mons[i].fd);
			return;
		}
	if (vm->n_mons)
		msg_add(buf, size, "its QMP monitors connect out (no server=on)");
	else
		msg_add(buf, size, "it has no QMP monitor (-qmp unix:PATH,server=on,wait=off adds one)");
}

static int pick_monitor(const struct disc_vm *vm, const char *selector,
			const struct disc_monitor **mon, struct vc_err *err)
{
	const struct disc_monitor *found = NULL, *free_one = NULL;
	size_t i, n = 0, n_free = 0;
	char msg[VC_ERR_MSG_MAX] = "";

	for (i = 0; i < vm->n_mons; i++) {
		if (!connectable(&vm->mons[i]))
			continue;
		n++;
		found = found ? found : &vm->mons[i];
		if (!vm->mons[i].held) {
			n_free++;
			free_one = &vm->mons[i];
		}
	}
	/* Several, all held: the caller says so, which beats asking the user
	 * to pick among monitors none of which would answer. */
	if (n == 1 || (n > 1 && n_free <= 1)) {
		*mon = n_free == 1 ? free_one : found;
		return 0;
	}
	if (n == 0) {
		why_none(msg, sizeof(msg), vm);
		return vc_err_set(err, VC_EXIT_CONN, "%s: pid %d: %s", selector,
				  (int)vm->pid, msg);
	}
	for (i = 0; i < vm->n_mons; i++)
		if (connectable(&vm->mons[i]))
			msg_add(msg, sizeof(msg), "%s%s", msg[0] ? ", " : "",
				vm->mons[i].spec);
	return vc_err_set(err, VC_EXIT_USAGE,
			  "%s: pid %d has %zu QMP monitors: %s; pick one with -s, e.g. -s %s",
			  selector, (int)vm->pid, n, msg, found->spec);
}

int disc_resolve(const struct disc_list *l, const char *selector,
		 const struct disc_vm **vm, const struct disc_monitor **mon,
		 struct vc_err *err)
{
	const struct disc_vm *match = NULL;
	char msg[VC_ERR_MSG_MAX] = "";
	const char *what;
	size_t i, n = 0;
	long pid = 0;

	if (!disc_is_selector(selector))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "%s: not name:NAME or pid:PID", selector);
	what = strchr(selector, ':') + 1;
	if (has_prefix(selector, "pid:") &&
	    !vc_parse_long(what, 1, INT_MAX, &pid))
		return vc_err_set(err, VC_EXIT_USAGE,
				  "%s: '%s' is not a process id", selector, what);
	if (!*what)
		return vc_err_set(err, VC_EXIT_USAGE, "%s: no name given", selector);
	for (i = 0; i < l->n; i++) {
		const struct disc_vm *v = &l->vms[i];

		if (pid ? v->pid != (pid_t)pid : (!v->name || strcmp(v->name, what)))
			continue;
		match = match ? match : v;
		n++;
		msg_add(msg, sizeof(msg), "%spid %d (%s)", n > 1 ? ", " : "",
			(int)v->pid, v->n_mons && v->mons[0].spec ?
			v->mons[0].spec : "no QMP socket");
	}
	if (n > 1)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "%s: %zu QEMU processes are named %s: %s; pick one with -s pid:PID or -s PATH",
				  selector, n, what, msg);
	if (n == 0) {
		list_vms(msg, sizeof(msg), l);
		return vc_err_set(err, VC_EXIT_CONN,
				  pid ? "%s: no QEMU process with pid %s; %s ('vcpuctl ls' lists them)"
				      : "%s: no QEMU process with -name %s; %s ('vcpuctl ls' lists them)",
				  selector, what, msg);
	}
	*vm = match;
	return pick_monitor(match, selector, mon, err);
}

char *disc_resolve_socket(const char *selector, bool *held, struct vc_err *err)
{
	const struct disc_monitor *mon;
	const struct disc_vm *vm;
	struct disc_list l;
	char *spec = NULL;

	*held = false;
	if (disc_scan("/proc", &l, err) < 0)
		return NULL;
	if (disc_resolve(&l, selector, &vm, &mon, err) == 0) {
		spec = strdup(mon->spec);
		if (!spec)
			vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		else if (mon->held && vm->manager == DISC_MGR_LIBVIRT)
			*held = vc_err_set(err, VC_EXIT_CONN,
				"%s: pid %d's QMP monitor %s is held by libvirt, which keeps "
				"it open: use virsh (virsh setvcpus %s N --live; "
				"virsh qemu-monitor-command %s '{\"execute\":\"query-cpus-fast\"}'), "
				"or give the VM a second QMP monitor for vcpuctl",
				selector, (int)vm->pid, mon->spec,
				vm->name ? vm->name : "DOMAIN",
				vm->name ? vm->name : "DOMAIN") < 0;
		else if (mon->held)
			*held = vc_err_set(err, VC_EXIT_CONN,
				"%s: pid %d's QMP monitor %s is held by another client, and "
				"QEMU serves one at a time: close that client, or give the VM "
				"a second -qmp monitor", selector, (int)vm->pid, mon->spec) < 0;
	}
	disc_list_free(&l);
	return spec;
}

/* ---- ls --probe ---- */

/* A job belongs to its thread and to disc_probe() at once: whichever lets
 * go last frees it, so a probe abandoned at the deadline can still finish
 * writing into its own memory. */
struct probe_job {
	char *spec;
	int timeout_ms;
	enum disc_probe_state state;
	int online, max;
	char msg[VC_ERR_MSG_MAX];
	int refs;
	bool done;
	struct probe_shared *shared;
};

struct probe_shared {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t pending;
	int refs;
};

static void shared_put(struct probe_shared *sh)
{
	bool last;

	pthread_mutex_lock(&sh->lock);
	last = --sh->refs == 0;
	pthread_mutex_unlock(&sh->lock);
	if (last) {
		pthread_mutex_destroy(&sh->lock);
		pthread_cond_destroy(&sh->cond);
		free(sh);
	}
}

/* Called with sh->lock held; returns true when the job is to be freed. */
static bool job_put_locked(struct probe_job *j)
{
	return --j->refs == 0;
}

static void job_free(struct probe_job *j)
{
	free(j->spec);
	free(j);
}

/* The probe sorts qmp_open()'s and topo_query()'s failures by their
 * wording (qmp.c): a monitor that connects but never greets, or whose
 * backlog is full, has another client (one that came after
 * /proc/net/unix was read); a refused or vanished socket has no listener. */
static void probe_classify(struct probe_job *j, const struct vc_err *err)
{
	if (strstr(err->msg, "no QMP greeting") ||
	    strstr(err->msg, "too many clients"))
		j->state = DISC_PROBE_BUSY;
	else if (strstr(err->msg, "connection refused") ||
		 strstr(err->msg, "No such file"))
		j->state = DISC_PROBE_REFUSED;
	else if (strstr(err->msg, " within "))
		j->state = DISC_PROBE_TIMEOUT;
	else
		j->state = DISC_PROBE_ERROR;
	snprintf(j->msg, sizeof(j->msg), "%s", err->msg);
}

static void *probe_thread(void *arg)
{
	struct probe_job *j = arg;
	struct probe_shared *sh = j->shared;
	struct vc_err err = { 0 };
	struct topology t;
	struct qmp *q;
	bool last;

	q = qmp_open(j->spec, j->timeout_ms, &err);
	if (!q) {
		probe_classify(j, &err);
	} else if (topo_query(q, &t, &err) < 0) {
		probe_classify(j, &err);
	} else {
		j->state = DISC_PROBE_OK;
		j->online = t.online;
		j->max = t.max;
		topo_free(&t);
	}
	qmp_close(q);
	pthread_mutex_lock(&sh->lock);
	j->done = true;
	sh->pending--;
	pthread_cond_signal(&sh->cond);
	last = job_put_locked(j);
	pthread_mutex_unlock(&sh->lock);
	if (last)
		job_free(j);
	shared_put(sh);
	return NULL;
}

static int probe_start(struct probe_job *j)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Two QMP round trips need little stack. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&tid, &attr, probe_thread, j);
	pthread_attr_destroy(&attr);
	return rc;
}

int disc_probe(struct disc_list *l, int timeout_ms, struct vc_err *err)
{
	struct probe_shared *sh;
	struct probe_job **jobs;
	struct disc_monitor **mons;
	struct timespec until;
	size_t i, k, n = 0, total = 0;
	int rc = 0;

	for (i = 0; i < l->n; i++)
		for (k = 0; k < l->vms[i].n_mons; k++)
			total++;
	if (!total)
		return 0;
	sh = calloc(1, sizeof(*sh));
	jobs = calloc(total, sizeof(*jobs));
	mons = calloc(total, sizeof(*mons));
	if (!sh || !jobs || !mons) {
		free(sh);
		free(jobs);
		free(mons);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	pthread_mutex_init(&sh->lock, NULL);
	pthread_cond_init(&sh->cond, NULL);
	sh->refs = 1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sh->lock);
	for (i = 0; i < l->n; i++) {
		for (k = 0; k < l->vms[i].n_mons; k++) {
			struct disc_monitor *m = &l->vms[i].mons[k];
			struct probe_job *j;

			if (m->transport != DISC_UNIX || !connectable(m))
				continue;
			if (m->held) {
				m->probe = DISC_PROBE_BUSY;
				continue;
			}
			j = calloc(1, sizeof(*j));
			if (!j || !(j->spec = strdup(m->spec))) {
				free(j);
				rc = vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
				goto wait;
			}
			j->timeout_ms = timeout_ms;
			j->shared = sh;
			j->refs = 2;
			sh->refs++;
			sh->pending++;
			if (probe_start(j)) {
				sh->refs--;
				sh->pending--;
				job_free(j);
				rc = vc_err_set(err, VC_EXIT_INTERNAL,
						"cannot start a probe thread");
				goto wait;
			}
			jobs[n] = j;
			mons[n++] = m;
		}
	}
wait:
	while (sh->pending > 0)
		if (pthread_cond_timedwait(&sh->cond, &sh->lock, &until) == ETIMEDOUT)
			break;
	for (i = 0; i < n; i++) {
		struct probe_job *j = jobs[i];
		struct disc_monitor *m = mons[i];

		if (j->done) {
			m->probe = j->state;
			m->online = j->online;
			m->max = j->max;
			if (j->state != DISC_PROBE_OK && j->msg[0])
				m->probe_msg = strdup(j->msg);
		} else {
			m->probe = DISC_PROBE_TIMEOUT;
		}
		if (job_put_locked(j))
			job_free(j);
	}
	pthread_mutex_unlock(&sh->lock);
	shared_put(sh);
	free(jobs);
	free(mons);
	return rc;
}
