/* cmd_ls.c - "vcpuctl ls": every QEMU process this user can see, with its
 * QMP monitors, from /proc (discover.h); --probe asks each monitor too.
 *
 * One row per monitor (a VM with none has one row), rendered from the
 * column table below as text or as a JSON array of one object per VM.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cli.h"
#include "vcpuctl/cmd.h"
#include "vcpuctl/discover.h"
#include "vcpuctl/fields.h"
#include "vcpuctl/util.h"

#define DEFAULT_PROBE_TIMEOUT_MS 1000

enum { OPT_JSON = 0x100, OPT_PROBE, OPT_PROBE_TIMEOUT };

struct ls_opts {
	struct cli_common c;
	bool probe;
	int64_t probe_timeout_ms;
	char **pats;             /* [NAME|PID...] */
	size_t n_pats;
};

static const char ls_doc[] =
	"List every QEMU process this user can see, or those whose -name matches "
	"a NAME pattern (as the shell matches, e.g. 'web*') or whose pid is PID, "
	"with its QMP monitors: "
	"PID, NAME (-name), UUID, MANAGER (libvirt, proxmox), SMP (-smp as "
	"given), QMP (the socket to give -s) and STATE.  Read from /proc "
	"alone: ls connects to nothing, so it never takes a monitor's one "
	"client slot.  STATE is \"held\" when another client (libvirt, always) "
	"is connected, \"client\" for a monitor QEMU connects out from."
	"\vWith --probe, each unix monitor is asked for its vCPUs, all at once, "
	"within --probe-timeout in total: STATE becomes \"online N of M\", "
	"\"busy\" (another client holds it), \"refused\" (nothing listens: a "
	"stale socket), \"timeout\" or \"error\".  --json prints an array of "
	"one object per process with every field, null where unknown.  The "
	"names and pids listed are what -s name:NAME and -s pid:PID take.";

static const struct argp_option ls_options[] = {
	{ "json", OPT_JSON, NULL, 0, "print one JSON array on stdout", 0 },
	{ "probe", OPT_PROBE, NULL, 0,
	  "connect to each unix monitor and report its vCPUs, or busy / refused", 0 },
	{ "probe-timeout", OPT_PROBE_TIMEOUT, "SEC", 0,
	  "bound on the whole probe, however many monitors (default 1)", 0 },
	{ 0 }
};

static error_t ls_parse(int key, char *arg, struct argp_state *state)
{
	struct ls_opts *o = state->input;

	switch (key) {
	case OPT_JSON:
		o->c.json = true;
		return 0;
	case OPT_PROBE:
		o->probe = true;
		return 0;
	case OPT_PROBE_TIMEOUT:
		if (!vc_parse_seconds(arg, &o->probe_timeout_ms) ||
		    o->probe_timeout_ms <= 0 || o->probe_timeout_ms > 3600000)
			argp_error(state, "--probe-timeout: '%s' is not a number of "
				   "seconds above 0 and up to 3600", arg);
		return 0;
	case ARGP_KEY_ARGS:
		o->pats = state->argv + state->next;
		o->n_pats = (size_t)(state->argc - state->next);
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

static const struct argp ls_argp = {
	ls_options, ls_parse, "[NAME|PID...]", ls_doc, NULL, NULL, NULL
};

/* ---- columns ---- */

struct ls_cell {
	const struct disc_vm *vm;
	const struct disc_monitor *mon;  /* NULL: the VM has none */
};

/* STATE: what /proc says, or what the probe found. */
static const char *cell_state(const struct ls_cell *r, char *buf, size_t n)
{
	const struct disc_monitor *m = r->mon;

	if (!m)
		return r->vm->cmdline_readable ? NULL : "unreadable";
	if (!m->server)
		return "client";
	if (m->probe == DISC_PROBE_OK) {
		snprintf(buf, n, "online %d of %d", m->online, m->max);
		return buf;
	}
	if (m->probe != DISC_PROBE_NONE)
		return disc_probe_name(m->probe);
	if (m->held)
		return "held";
	if (!m->spec)
		return "fd (path unknown)";
	return NULL;
}

static const char *cell_pid(const struct ls_cell *r, char *buf, size_t n)
{
	snprintf(buf, n, "%d", (int)r->vm->pid);
	return buf;
}

static const char *cell_name(const struct ls_cell *r, char *buf, size_t n)
{
	(void)buf, (void)n;
	return r->vm->name;
}

static const char *cell_uuid(const struct ls_cell *r, char *buf, size_t n)
{
	(void)buf, (void)n;
	return r->vm->uuid;
}

static const char *cell_manager(const struct ls_cell *r, char *buf, size_t n)
{
	const char *name = disc_manager_name(r->vm->manager);

	if (name && r->vm->manager_id) {
		snprintf(buf, n, "%s:%s", name, r->vm->manager_id);
		return buf;
	}
	return name;
}

static const char *cell_smp(const struct ls_cell *r, char *buf, size_t n)
{
	(void)buf, (void)n;
	return r->vm->smp;
}

static const char *cell_qmp(const struct ls_cell *r, char *buf, size_t n)
{
	if (!r->mon)
		return NULL;
	if (r->mon->spec)
		return r->mon->spec;
	snprintf(buf, n, "fd:%d", r->mon->fd);
	return buf;
}

static const struct ls_column {
	const char *header;
	bool right;
	const char *(*get)(const struct ls_cell *r, char *buf, size_t n);
} ls_columns[] = {
	{ "PID", true, cell_pid },
	{ "NAME", false, cell_name },
	{ "UUID", false, cell_uuid },
	{ "MANAGER", false, cell_manager },
	{ "SMP", false, cell_smp },
	{ "QMP", false, cell_qmp },
	{ "STATE", false, cell_state },
};
#define LS_NCOLS (sizeof(ls_columns) / sizeof(ls_columns[0]))

/* Another process's command line may hold terminal escapes and newlines:
 * the cell with every control byte as '?'. */
static const char *ls_text(const void *ctx, size_t i, char *buf, size_t n, int col)
{
	const struct ls_cell *r = &((const struct ls_cell *)ctx)[i];
	const char *s = ls_columns[col].get(r, buf, n);
	size_t k;

	if (!s)
		return NULL;
	if (s != buf)
		snprintf(buf, n, "%s", s);
	for (k = 0; buf[k]; k++)
		if ((unsigned char)buf[k] < 0x20 || buf[k] == 0x7f)
			buf[k] = '?';
	return buf;
}

#define LS_TEXT(n) \
	static const char *ls_text_##n(const void *c, size_t i, char *buf, size_t size) \
	{ return ls_text(c, i, buf, size, n); }
LS_TEXT(0) LS_TEXT(1) LS_TEXT(2) LS_TEXT(3) LS_TEXT(4) LS_TEXT(5) LS_TEXT(6)

static const struct field ls_fields[] = {
	{ .header = "PID", .right = true, .text = ls_text_0 },
	{ .header = "NAME", .text = ls_text_1 },
	{ .header = "UUID", .text = ls_text_2 },
	{ .header = "MANAGER", .text = ls_text_3 },
	{ .header = "SMP", .text = ls_text_4 },
	{ .header = "QMP", .text = ls_text_5 },
	{ .header = "STATE", .text = ls_text_6 },
};

static int ls_print_table(const struct disc_list *l)
{
	const struct field_set set = { ls_fields, LS_NCOLS };
	struct field_cols cols;
	struct vc_err err;
	struct ls_cell *rows;
	size_t i, k, n = 0;
	int rc;

	for (i = 0; i < l->n; i++)
		n += l->vms[i].n_mons ? l->vms[i].n_mons : 1;
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows)
		return -1;
	n = 0;
	for (i = 0; i < l->n; i++) {
		rows[n].vm = &l->vms[i];
		if (!l->vms[i].n_mons)
			n++;
		for (k = 0; k < l->vms[i].n_mons; k++) {
			rows[n].vm = &l->vms[i];
			rows[n++].mon = &l->vms[i].mons[k];
		}
	}
	rc = fields_select(&set, NULL, NULL, &cols, &err) < 0 ? -1 :
	     fields_table(&cols, rows, n, stdout);
	free(rows);
	return rc;
}

/* ---- JSON ---- */

/* JSON strings must be UTF-8; a command line need not be: bytes that are
 * not become '?' rather than losing the whole document. */
static json_t *str_or_null(const char *s)
{
	json_t *j;
	char *c;
	size_t i;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j || !(c = strdup(s)))
		return j;
	for (i = 0; c[i]; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

static json_t *ls_probe_json(const struct disc_monitor *m)
{
	if (m->probe == DISC_PROBE_NONE)
		return json_null();
	if (m->probe == DISC_PROBE_OK)
		return json_pack("{s:s,s:i,s:i,s:n}", "state", "ok", "online",
				 m->online, "max", m->max, "message");
	return json_pack("{s:s,s:n,s:n,s:o}", "state", disc_probe_name(m->probe),
			 "online", "max", "message", str_or_null(m->probe_msg));
}

static json_t *ls_monitor_json(const struct disc_monitor *m)
{
	return json_pack("{s:o,s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:b,s:b,s:b,s:o}",
			 "spec", str_or_null(m->spec),
			 "transport", m->transport == DISC_TCP ? "tcp" : "unix",
			 "path", str_or_null(m->path),
			 "host", str_or_null(m->host),
			 "port", str_or_null(m->port),
			 "option", m->option,
			 "chardev", str_or_null(m->chardev),
			 "fd", m->fd >= 0 ? json_integer(m->fd) : json_null(),
			 "server", m->server,
			 "pretty", m->pretty,
			 "held", m->held,
			 "probe", ls_probe_json(m));
}

static json_t *ls_vm_json(const struct disc_vm *vm)
{
	json_t *socks = json_array(), *o;
	size_t k;

	for (k = 0; socks && k < vm->n_mons; k++)
		if (json_array_append_new(socks, ls_monitor_json(&vm->mons[k])) < 0) {
			json_decref(socks);
			return NULL;
		}
	o = json_pack("{s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:o}",
		      "pid", (int)vm->pid,
		      "name", str_or_null(vm->name),
		      "uuid", str_or_null(vm->uuid),
		      "program", str_or_null(vm->exe),
		      "manager", str_or_null(disc_manager_name(vm->manager)),
		      "manager_id", str_or_null(vm->manager_id),
		      "smp", str_or_null(vm->smp),
		      "cmdline_readable", vm->cmdline_readable,
		      "cmdline_truncated", vm->cmdline_truncated,
		      "sockets", socks);
	return o;
}

static json_t *ls_json(const struct disc_list *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < l->n; i++)
		if (json_array_append_new(a, ls_vm_json(&l->vms[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int cmd_ls(int argc, char **argv)
{
	struct ls_opts o = { .probe_timeout_ms = DEFAULT_PROBE_TIMEOUT_MS };
	struct vc_err err = { 0 };
	struct disc_list l;
	json_t *doc;
	int rc = VC_EXIT_OK;

	cli_common_init(&o.c);
	argp_parse(&ls_argp, argc, argv, 0, NULL, &o);
	if (disc_scan("/proc", &l, &err) < 0)
		return cli_fail(&o.c, &err);
	disc_filter(&l, o.pats, o.n_pats);
	if (o.probe && disc_probe(&l, (int)o.probe_timeout_ms, &err) < 0)
		goto fail;
	if (o.c.json) {
		doc = ls_json(&l);
		if (!doc)
			goto oom;
		cli_print_json(doc);
	} else if (ls_print_table(&l) < 0) {
		goto oom;
	}
	fflush(stdout);
	disc_list_free(&l);
	return rc;
oom:
	vc_err_set(&err, VC_EXIT_INTERNAL, "out of memory");
fail:
	disc_list_free(&l);
	return cli_fail(&o.c, &err);
}
