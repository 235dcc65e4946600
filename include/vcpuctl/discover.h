/* discover.h - the QEMU processes on this host and their QMP monitors,
 * found from /proc alone, and "-s name:NAME" / "-s pid:PID" resolved
 * against them.
 *
 * Nothing here connects to a monitor: a scan reads /proc/PID/cmdline (and,
 * where the caller may, /proc/PID/exe, /proc/PID/cwd and /proc/PID/fd) and
 * /proc/net/unix.  A command line is another process's input and is
 * untrusted: any length, any bytes, options given twice or cut short.  A
 * process that exits mid-scan is left out; one whose command line cannot
 * be read is listed with cmdline_readable false.
 *
 * Data only: nothing here prints.  Strings are owned by the struct that
 * holds them and freed by disc_list_free() / disc_vm_free().
 */
#ifndef VCPUCTL_DISCOVER_H
#define VCPUCTL_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vcpuctl/err.h"

enum disc_transport {
	DISC_UNIX,
	DISC_TCP,
};

enum disc_manager {
	DISC_MGR_NONE,       /* started by hand, a script, or unrecognised */
	DISC_MGR_LIBVIRT,
	DISC_MGR_PROXMOX,
};

/* What a connection to the monitor found (ls --probe). */
enum disc_probe_state {
	DISC_PROBE_NONE,     /* not probed */
	DISC_PROBE_OK,       /* greeted; online/max are set */
	DISC_PROBE_BUSY,     /* another client holds the monitor */
	DISC_PROBE_REFUSED,  /* nothing listens on the path (stale socket) */
	DISC_PROBE_TIMEOUT,  /* no answer within the deadline */
	DISC_PROBE_ERROR,    /* anything else: see probe_msg */
};

struct disc_monitor {
	enum disc_transport transport;
	char *path;          /* unix: absolute when it could be made so;
	                        NULL for an inherited fd whose path is unknown */
	char *host, *port;   /* tcp: as QEMU was given them ("" host: any) */
	char *spec;          /* what -s takes: "unix:PATH", "tcp:HOST:PORT";
	                        NULL when path is unknown */
	const char *option;  /* "-qmp", "-qmp-pretty" or "-mon" (static) */
	char *chardev;       /* -mon's chardev id, else NULL */
	int fd;              /* -chardev ...,fd=N (libvirt), else -1 */
	bool server;         /* QEMU listens (server=on); false: QEMU
	                        connects out to someone else's socket */
	bool pretty;         /* -qmp-pretty, -mon ...,pretty=on */
	bool held;           /* /proc/net/unix (or tcp, tcp6) shows a client
	                        connected */
	/* ls --probe */
	enum disc_probe_state probe;
	int online, max;     /* DISC_PROBE_OK */
	char *probe_msg;     /* DISC_PROBE_ERROR: why; else NULL */
};

struct disc_vm {
	pid_t pid;
	char *exe;           /* basename of /proc/PID/exe, else of argv[0] */
	char *name;          /* -name NAME / -name guest=NAME; NULL: none */
	char *uuid;          /* -uuid; NULL: none */
	char *smp;           /* -smp as given; NULL: none */
	enum disc_manager manager;
	char *manager_id;    /* Proxmox VMID; else NULL */
	bool cmdline_readable;
	bool cmdline_truncated; /* longer than DISC_CMDLINE_MAX */
	struct disc_monitor *mons;
	size_t n_mons;
};

struct disc_list {
	struct disc_vm *vms; /* in pid order */
	size_t n;
};

/* Command lines past this are read this far and parsed as cut there. */
#define DISC_CMDLINE_MAX (8u * 1024 * 1024)

/* Parse a command line as /proc/PID/cmdline holds it: NUL-separated
 * arguments, the last NUL optional, any bytes.  Fills vm's name, uuid,
 * smp, mons (server and client alike: each -qmp in order, then each
 * -mon mode=control in order; fd-only monitors with path NULL) and
 * manager.  Relative unix paths are joined to cwd when cwd is non-NULL
 * and a socket exists there.  vm->pid, exe and the held/probe fields
 * are left as they were; vm must be zeroed or hold only those.  Returns
 * 0, or -1 with err set (VC_EXIT_INTERNAL) on out of memory. */
int disc_parse_cmdline(const char *buf, size_t len, const char *cwd,
		       struct disc_vm *vm, struct vc_err *err);

/* Does this program look like QEMU's system emulator?  prog is a basename
 * (argv[0]'s, exe's or comm). */
bool disc_is_qemu(const char *prog);

/* Scan proc_root (normally "/proc") for QEMU processes.  Fills out (owned
 * by the caller; disc_list_free()).  Returns 0, or -1 with err set when
 * proc_root cannot be read or memory runs out. */
int disc_scan(const char *proc_root, struct disc_list *out, struct vc_err *err);

void disc_vm_free(struct disc_vm *vm);
void disc_list_free(struct disc_list *l);

/* "libvirt", "proxmox", or NULL for DISC_MGR_NONE. */
const char *disc_manager_name(enum disc_manager m);
/* "ok", "busy", "refused", "timeout", "error", or NULL when not probed. */
const char *disc_probe_name(enum disc_probe_state s);

/* Keep only the VMs that one of pats[0..n-1] matches: a pid, or a shell
 * pattern (fnmatch) on the name.  n == 0 keeps all. */
void disc_filter(struct disc_list *l, char *const *pats, size_t n);

/* Is spec a selector that disc_resolve() takes: "name:..." or "pid:..."? */
bool disc_is_selector(const char *spec);

/* Pick the one QMP monitor that selector ("name:NAME" or "pid:PID") names
 * among l's server monitors.  On success *vm and *mon point into l.
 * Fails with err naming what was asked for and what exists:
 *   - VC_EXIT_USAGE: a malformed selector ("pid:x"), or several matches
 *     (two VMs of that name, or one VM with two QMP monitors that no
 *     client holds), with the candidates and how to pick one;
 * Of several monitors, the only one no client holds is picked; when all
 * are held, the first (mon->held tells).
 *   - VC_EXIT_CONN: nothing matches (with the names that do exist), or
 *     the VM has no QMP monitor a client can connect to.
 * Returns 0 or -1. */
int disc_resolve(const struct disc_list *l, const char *selector,
		 const struct disc_vm **vm, const struct disc_monitor **mon,
		 struct vc_err *err);

/* Resolve selector with a fresh scan of /proc.  On success returns a new
 * string (the monitor's spec) and sets *held when /proc/net/unix shows
 * another client on it; when it does, err is filled too with a message
 * for the user saying who holds it and what to use instead (virsh for
 * libvirt), so the caller can fail at once rather than wait for a
 * greeting.  Returns NULL with err set as disc_resolve() does. */
char *disc_resolve_socket(const char *selector, bool *held, struct vc_err *err);

/* ls --probe: connect to every unix server monitor of l at once and fill
 * probe, online, max and probe_msg.  Held monitors are reported busy
 * without connecting.  Returns once all are done or timeout_ms (> 0) has
 * passed, whichever is first: the total is bounded by timeout_ms, not by
 * the number of monitors.  Returns 0, or -1 with err set when threads
 * cannot be started. */
int disc_probe(struct disc_list *l, int timeout_ms, struct vc_err *err);

#endif
