/* agent.c - guest agent client: the sync and calls on the session layer
 * (session.c); guest-get-vcpus and guest-set-vcpus; matching guest CPUs to
 * vCPUs; the set/show helpers.
 *
 * As for QMP, every wait is bounded by the timeout, so a guest whose agent
 * is absent, hung or slow turns into an error; the messages speak of the
 * agent.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vcpuctl/agent.h"
#include "vcpuctl/cli.h"
#include "vcpuctl/cpulist.h"
#include "vcpuctl/jsonstream.h"
#include "vcpuctl/session.h"
#include "vcpuctl/sock.h"
#include "vcpuctl/util.h"

/* Bytes kept while looking for the sync reply; older ones are stale. */
#define AGENT_SYNC_KEEP (1024u * 1024)
/* The sentinel guest-sync-delimited puts before its answer; sent by us it
 * makes qemu-ga drop any half-received request. */
#define AGENT_SENTINEL 0xff
/* How often the guest is asked again while waiting for it. */
#define AGENT_POLL_MS 200
/* Highest guest logical id whose ACPI path is remembered. */
#define AGENT_MAX_CPU 4096

struct agent {
	struct sess s;
	bool need_sync;         /* a call failed: the channel is out of step */
	/* ACPI slot per guest logical id: -1 unknown, -2 unreadable */
	int *slot_of;
	bool acpi_broken;       /* guest-file-* unusable: do not ask again */
	char *acpi_note;        /* why, for agent_view.note */
};

/* ---- protocol on the session ------------------------------------------ */

static const struct sess_peer agent_peer = {
	.who = "the guest agent",
	.closed = "the guest agent socket was closed (QEMU gone?)",
	.stalled = "the guest agent took no input",
	.stalled_why = ": it is not running in the guest",
	.framing = "from the guest agent",
	.tag = "ga",
	.code = VC_EXIT_AGENT,
	.reply_code = VC_EXIT_AGENT,
	.reply_names_command = true,
	.strict_error = false,
};

static int agent_connect(struct agent *a, struct vc_err *err)
{
	int e;

	if (sess_connect_unix(&a->s, &e, err) == 0)
		return 0;
	if (e == ENOENT)
		return vc_err_set(err, VC_EXIT_AGENT,
				  "%s: no such socket: is the VM running with a guest agent channel?",
				  a->s.name);
	if (e == ECONNREFUSED)
		return vc_err_set(err, VC_EXIT_AGENT,
				  "%s: connection refused: no QEMU serves this guest agent socket",
				  a->s.name);
	return -1;
}

static uint32_t agent_random_id(void)
{
	uint32_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^
		     (uint32_t)vc_now_ms();
	/* An int on both sides; and never 0, which a confused peer might
	 * send back. */
	return (id & 0x7fffffffu) | 1u;
}

/* Look for the sync answer in buf[0, *len): the sentinel, then an object
 * whose "return" is id.  Everything before the sentinel, and objects after
 * it that are not the answer (an earlier client's sync), are dropped from
 * buf.  Returns 1 when found, 0 when more bytes are needed. */
static int agent_scan_sync(char *buf, size_t *len, json_int_t id)
{
	struct jstream js;
	struct vc_err jerr;
	json_t *msg, *ret;
	char *ff, *next;
	size_t seg, off;
	int r;

	for (;;) {
		ff = memchr(buf, AGENT_SENTINEL, *len);
		if (!ff) {
			*len = 0;
			return 0;
		}
		off = (size_t)(ff - buf) + 1;
		next = memchr(ff + 1, AGENT_SENTINEL, *len - off);
		seg = next ? (size_t)(next - ff) - 1 : *len - off;
		js_init(&js);
		r = js_feed(&js, ff + 1, seg, &jerr);
		if (r == 0)
			r = js_next(&js, &msg, &jerr);
		js_free(&js);
		if (r == 1) {
			ret = json_object_get(msg, "return");
			r = json_is_integer(ret) && json_integer_value(ret) == id;
			json_decref(msg);
			if (r)
				return 1;
		} else if (r == 0 && !next) {
			/* The answer may still be arriving: keep it. */
			memmove(buf, ff, *len - (size_t)(ff - buf));
			*len -= (size_t)(ff - buf);
			return 0;
		}
		/* Garbage, a stale answer, or a frame cut by a later
		 * sentinel: look past this sentinel. */
		memmove(buf, ff + 1, *len - off);
		*len -= off;
	}
}

/* Append the n bytes just read to the sync buffer *keep, growing it as
 * stale bytes come (most syncs see a few dozen) up to its bound, past
 * which the oldest are dropped.  Returns 0, or -1 when out of memory. */
static int agent_sync_keep(char **keep, size_t *klen, size_t *kcap,
			   const char *data, size_t n)
{
	const size_t max = AGENT_SYNC_KEEP + SOCK_READ_SIZE;
	char *grown;
	size_t cap;

	if (*klen + n > max)
		*klen = 0;
	if (*klen + n > *kcap) {
		cap = *klen + n > 2 * *kcap ? *klen + n : 2 * *kcap;
		cap = cap > max ? max : cap;
		grown = realloc(*keep, cap);
		if (!grown)
			return -1;
		*keep = grown;
		*kcap = cap;
	}
	memcpy(*keep + *klen, data, n);
	*klen += n;
	return 0;
}

/* guest-sync-delimited with a fresh random id; everything that arrives
 * before its answer is dropped. */
static int agent_sync(struct agent *a, struct vc_err *err)
{
	const char *what = "guest-sync-delimited";
	json_int_t id = agent_random_id();
	char *text = NULL, *req = NULL, *keep = NULL, secs[32];
	size_t klen = 0, kcap = 0;
	int64_t deadline;
	json_t *msg;
	ssize_t n;
	int rc = -1, len = -1, status;

	if (a->s.closed)
		return vc_err_set(err, VC_EXIT_AGENT,
				  "%s: the guest agent socket was closed", a->s.name);
	msg = json_pack("{s:s,s:{s:I}}", "execute", what, "arguments", "id", id);
	text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	/* The sentinel first: it resets qemu-ga's parser if an earlier
	 * client left half a request behind. */
	if (text)
		len = asprintf(&req, "%c%s\n", AGENT_SENTINEL, text);
	if (len < 0) {
		free(text);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	sess_trace(&a->s, '>', text, strlen(text));
	free(text);
	deadline = vc_deadline(a->s.timeout_ms);
	if (sess_send(&a->s, what, req, (size_t)len, &status, err) < 0) {
		a->need_sync = status == SOCK_TIMEOUT;
		goto out;
	}
	for (;;) {
		n = sess_recv(&a->s, deadline, err);
		if (n == SESS_TIMEOUT) {
			vc_fmt_secs(secs, sizeof(secs), a->s.timeout_ms);
			a->need_sync = true;
			vc_err_set(err, VC_EXIT_AGENT,
				   "%s: no answer to %s within %s s: the guest agent is not running in the guest (or not started yet)",
				   a->s.name, what, secs);
			goto out;
		}
		if (n < 0) {
			sess_read_error(&a->s, what, (int)n, err);
			goto out;
		}
		if (agent_sync_keep(&keep, &klen, &kcap, a->s.rbuf, (size_t)n) < 0) {
			vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
			goto out;
		}
		if (agent_scan_sync(keep, &klen, id) == 1)
			break;
	}
	if (a->s.trace)
		fprintf(a->s.trace, "ga< {\"return\":%" JSON_INTEGER_FORMAT "}\n", id);
	/* Nothing was in flight but the sync: what follows it is noise. */
	js_reset(&a->s.js);
	a->need_sync = false;
	rc = 0;
out:
	free(req);
	free(keep);
	return rc;
}

/* trace: a file the session logs its messages to (appended), or NULL;
 * tp: a transport in place of connecting to path, or NULL. */
static struct agent *agent_new(const char *path, int timeout_ms,
			       const char *trace,
			       const struct sess_transport *tp,
			       struct vc_err *err)
{
	struct agent *a;
	size_t i;

	a = calloc(1, sizeof(*a));
	if (!a) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	if (path && strncmp(path, "unix:", 5) == 0)
		path += 5;
	if (sess_init(&a->s, &agent_peer, path, timeout_ms, err) < 0)
		goto fail;
	a->slot_of = malloc(AGENT_MAX_CPU * sizeof(*a->slot_of));
	if (!a->slot_of) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		goto fail;
	}
	for (i = 0; i < AGENT_MAX_CPU; i++)
		a->slot_of[i] = -1;
	if (!*a->s.name) {
		vc_err_set(err, VC_EXIT_AGENT, "empty guest agent socket path");
		goto fail;
	}
	if (trace && *trace && sess_trace_open(&a->s, trace, err) < 0)
		goto fail;
	if (tp)
		sess_use_transport(&a->s, tp);
	if ((!tp && agent_connect(a, err) < 0) || agent_sync(a, err) < 0)
		goto fail;
	return a;
fail:
	agent_close(a);
	return NULL;
}

struct agent *agent_open(const char *path, int timeout_ms, struct vc_err *err)
{
	return agent_new(path, timeout_ms, NULL, NULL, err);
}

struct agent *agent_open_transport(const struct sess_transport *tp,
				   const char *name, int timeout_ms,
				   struct vc_err *err)
{
	return agent_new(name, timeout_ms, NULL, tp, err);
}

struct agent *agent_open_opts(const struct agent_opts *o, struct vc_err *err)
{
	return agent_new(o->path, (int)o->timeout_ms, o->trace, NULL, err);
}

void agent_close(struct agent *a)
{
	if (!a)
		return;
	sess_free(&a->s);
	free(a->slot_of);
	free(a->acpi_note);
	free(a);
}

const char *agent_last_error_class(const struct agent *a)
{
	return a->s.err_class;
}

unsigned agent_round_trips(const struct agent *a)
{
	return a->s.round_trips;
}

/* One command; a new reference to its "return", or NULL with err.  A
 * call that fails on the way (not an error reply) leaves the channel out
 * of step: the next one syncs first. */
static json_t *agent_call(struct agent *a, const char *command, json_t *args,
			  struct vc_err *err)
{
	json_t *msg, *val;
	int r;

	a->s.err_class[0] = '\0';
	if (a->need_sync && !a->s.closed && agent_sync(a, err) < 0)
		return NULL;
	if (sess_command(&a->s, command, args, NULL, err) < 0) {
		a->need_sync = true;
		return NULL;
	}
	r = sess_read_msg(&a->s, vc_deadline(a->s.timeout_ms), &msg, err);
	if (r != SESS_MSG) {
		if (r == SESS_ERR)
			js_reset(&a->s.js);
		a->need_sync = true;
		sess_read_error(&a->s, command, r, err);
		return NULL;
	}
	val = sess_reply_value(&a->s, command, msg, err);
	json_decref(msg);
	return val;
}

/* ---- guest-get-vcpus / guest-set-vcpus ---------------------------------- */

static int agent_gcpu_cmp(const void *x, const void *y)
{
	const struct agent_gcpu *a = x, *b = y;

	return (a->logical_id > b->logical_id) - (a->logical_id < b->logical_id);
}

int agent_get_vcpus(struct agent *a, struct agent_gcpus *out,
		    struct vc_err *err)
{
	json_t *ret, *row, *id, *on, *can;
	size_t i;

	memset(out, 0, sizeof(*out));
	ret = agent_call(a, "guest-get-vcpus", NULL, err);
	if (!ret)
		return -1;
	if (!json_is_array(ret)) {
		json_decref(ret);
		return vc_err_set(err, VC_EXIT_AGENT,
				  "guest-get-vcpus: the reply is not a list");
	}
	out->cpus = calloc(json_array_size(ret) + 1, sizeof(*out->cpus));
	if (!out->cpus) {
		json_decref(ret);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	json_array_foreach(ret, i, row) {
		id = json_object_get(row, "logical-id");
		on = json_object_get(row, "online");
		can = json_object_get(row, "can-offline");
		if (!json_is_integer(id) || json_integer_value(id) < 0 ||
		    json_integer_value(id) > 0x7fffffff || !json_is_boolean(on)) {
			json_decref(ret);
			agent_gcpus_free(out);
			return vc_err_set(err, VC_EXIT_AGENT,
					  "guest-get-vcpus: entry %zu: no 'logical-id' and 'online'",
					  i);
		}
		out->cpus[out->n].logical_id = (int)json_integer_value(id);
		out->cpus[out->n].online = json_is_true(on);
		/* Absent means the guest cannot say; treat as "no". */
		out->cpus[out->n].can_offline = json_is_true(can);
		out->n++;
	}
	json_decref(ret);
	qsort(out->cpus, out->n, sizeof(*out->cpus), agent_gcpu_cmp);
	for (i = 1; i < out->n; i++)
		if (out->cpus[i].logical_id == out->cpus[i - 1].logical_id) {
			i = (size_t)out->cpus[i].logical_id;
			agent_gcpus_free(out);
			return vc_err_set(err, VC_EXIT_AGENT,
					  "guest-get-vcpus: logical id %zu listed twice",
					  i);
		}
	return 0;
}

void agent_gcpus_free(struct agent_gcpus *g)
{
	free(g->cpus);
	memset(g, 0, sizeof(*g));
}

const struct agent_gcpu *agent_gcpus_find(const struct agent_gcpus *g,
					  int logical_id)
{
	struct agent_gcpu key = { .logical_id = logical_id };

	if (!g->n)
		return NULL;
	return bsearch(&key, g->cpus, g->n, sizeof(*g->cpus), agent_gcpu_cmp);
}

/* "guest CPU 4" or "guest CPUs 0,4-5" for the ids in l. */
static void agent_name_cpus(char *buf, size_t size, const struct cpulist *l)
{
	char *text = cpulist_format(l);

	snprintf(buf, size, "guest CPU%s %s", cpulist_count(l) > 1 ? "s" : "",
		 text ? text : "?");
	free(text);
}

int agent_check_changes(const struct agent_gcpus *g,
			const struct agent_change *ch, size_t n,
			struct vc_err *err)
{
	struct cpulist missing = { 0 }, boot = { 0 }, fixed = { 0 };
	const struct agent_gcpu *c;
	size_t i, top = 1;
	char name[256];
	int rc = 0;

	for (i = 0; i < n; i++)
		if ((size_t)ch[i].logical_id + 1 > top)
			top = (size_t)ch[i].logical_id + 1;
	if (cpulist_init(&missing, top) || cpulist_init(&boot, top) ||
	    cpulist_init(&fixed, top)) {
		rc = vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (ch[i].logical_id < 0) {
			rc = vc_err_set(err, VC_EXIT_USAGE,
					"guest CPU %d does not exist",
					ch[i].logical_id);
			goto out;
		}
		c = agent_gcpus_find(g, ch[i].logical_id);
		if (!c)
			cpulist_set(&missing, (size_t)ch[i].logical_id);
		else if (!ch[i].online && ch[i].logical_id == 0)
			cpulist_set(&boot, 0);
		else if (!ch[i].online && !c->can_offline && c->online)
			cpulist_set(&fixed, (size_t)ch[i].logical_id);
	}
	if (cpulist_count(&missing)) {
		agent_name_cpus(name, sizeof(name), &missing);
		rc = vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				"%s: the guest does not list %s (guest-get-vcpus); nothing was sent",
				name, cpulist_count(&missing) > 1 ? "them" : "it");
	} else if (cpulist_count(&boot) || cpulist_count(&fixed)) {
		for (i = 0; i < boot.nbits; i++)
			if (cpulist_has(&boot, i))
				cpulist_set(&fixed, i);
		agent_name_cpus(name, sizeof(name), &fixed);
		rc = vc_err_set(err, VC_EXIT_IMPOSSIBLE,
				"%s cannot be taken offline: %s%s; nothing was sent",
				name, cpulist_count(&boot) ? "guest CPU 0 is the boot CPU" : "",
				cpulist_count(&fixed) > cpulist_count(&boot)
				? (cpulist_count(&boot) ? ", and the guest reports can-offline false for the others"
							: "the guest reports can-offline false")
				: "");
	}
out:
	cpulist_free(&missing);
	cpulist_free(&boot);
	cpulist_free(&fixed);
	return rc;
}

int agent_set_vcpus(struct agent *a, struct agent_change *ch, size_t n,
		    struct vc_err *err)
{
	json_t *args, *list, *ret;
	json_int_t done;
	size_t i;

	if (!n)
		return 0;
	list = json_array();
	args = json_pack("{s:o}", "vcpus", list);
	if (!list || !args) {
		json_decref(args);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	for (i = 0; i < n; i++)
		if (json_array_append_new(list, json_pack("{s:i,s:b}", "logical-id",
							  ch[i].logical_id,
							  "online", ch[i].online))) {
			json_decref(args);
			return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		}
	ret = agent_call(a, "guest-set-vcpus", args, err);
	json_decref(args);
	if (!ret) {
		/* An error reply: qemu-ga failed on the first entry. */
		if (agent_last_error_class(a)[0]) {
			ch[0].state = AGENT_CHANGE_FAILED;
			for (i = 1; i < n; i++)
				ch[i].state = AGENT_CHANGE_NOT_TRIED;
			vc_err_prefix(err, "guest CPU %d", ch[0].logical_id);
		}
		return -1;
	}
	if (json_is_integer(ret) && json_integer_value(ret) > (json_int_t)n) {
		done = json_integer_value(ret);
		json_decref(ret);
		return vc_err_set(err, VC_EXIT_AGENT,
				  "guest-set-vcpus: the agent claims %lld changes for the %zu asked: not believed",
				  (long long)done, n);
	}
	if (!json_is_integer(ret) || json_integer_value(ret) < 0) {
		json_decref(ret);
		return vc_err_set(err, VC_EXIT_AGENT,
				  "guest-set-vcpus: the agent answered neither a count nor an error");
	}
	done = json_integer_value(ret);
	json_decref(ret);
	for (i = 0; i < n; i++)
		ch[i].state = (json_int_t)i < done ? AGENT_CHANGE_DONE
			    : (json_int_t)i == done ? AGENT_CHANGE_FAILED
			    : AGENT_CHANGE_NOT_TRIED;
	return (int)done;
}

const char *agent_change_state_name(enum agent_change_state s)
{
	switch (s) {
	case AGENT_CHANGE_PENDING: return "pending";
	case AGENT_CHANGE_DONE: return "done";
	case AGENT_CHANGE_FAILED: return "failed";
	case AGENT_CHANGE_NOT_TRIED: return "not-tried";
	}
	return "?";
}

/* ---- matching guest CPUs to vCPUs ------------------------------------- */

const char *agent_map_name(enum agent_map_how how)
{
	switch (how) {
	case AGENT_MAP_ACPI: return "acpi";
	case AGENT_MAP_IDENTITY: return "identity";
	case AGENT_MAP_NONE: break;
	}
	return NULL;
}

static size_t agent_b64_decode(const char *in, unsigned char *out, size_t cap)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned v = 0;
	size_t n = 0;
	int bits = 0;
	const char *p;

	for (; *in && *in != '='; in++) {
		p = strchr(tab, *in);
		if (!p)
			continue;
		v = (v << 6) | (unsigned)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < cap)
				out[n++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	return n;
}

/* Read a small guest file through guest-file-open/-read/-close into buf
 * (NUL-terminated).  Returns 0 or -1 with err. */
static int agent_read_file(struct agent *a, const char *path, char *buf,
			   size_t size, struct vc_err *err)
{
	json_t *ret, *args;
	struct vc_err ignore = { 0 };
	json_int_t handle;
	const char *b64;
	size_t n = 0;
	int rc = -1;

	args = json_pack("{s:s,s:s}", "path", path, "mode", "r");
	ret = args ? agent_call(a, "guest-file-open", args, err) : NULL;
	json_decref(args);
	if (!ret)
		return -1;
	if (!json_is_integer(ret)) {
		json_decref(ret);
		return vc_err_set(err, VC_EXIT_AGENT,
				  "guest-file-open: %s: no handle in the reply", path);
	}
	handle = json_integer_value(ret);
	json_decref(ret);
	args = json_pack("{s:I,s:i}", "handle", handle, "count", (int)size - 1);
	ret = args ? agent_call(a, "guest-file-read", args, err) : NULL;
	json_decref(args);
	if (ret) {
		b64 = json_string_value(json_object_get(ret, "buf-b64"));
		if (b64) {
			n = agent_b64_decode(b64, (unsigned char *)buf, size - 1);
			rc = 0;
		} else {
			vc_err_set(err, VC_EXIT_AGENT,
				   "guest-file-read: %s: no 'buf-b64' in the reply",
				   path);
		}
		json_decref(ret);
	}
	buf[n] = '\0';
	/* A failed read keeps its own message; the close is best effort. */
	args = json_pack("{s:I}", "handle", handle);
	ret = args ? agent_call(a, "guest-file-close", args,
				rc ? &ignore : err) : NULL;
	json_decref(args);
	if (!ret)
		rc = -1;
	json_decref(ret);
	return rc;
}

/* "\_SB_.CPUS.C00A" -> 10; -1 when the name is not QEMU's. */
static int agent_parse_acpi_slot(const char *path)
{
	const char *p = strrchr(path, '.');
	char *end;
	long v;

	p = p ? p + 1 : path;
	if (*p != 'C' || !p[1])
		return -1;
	v = strtol(p + 1, &end, 16);
	if (end == p + 1 || (*end && *end != '\n') || v < 0 || v > 0xfff)
		return -1;
	return (int)v;
}

/* The ACPI slot of guest CPU id: from the cache, or read from the guest.
 * Returns the slot, -1 when unknown.  Sets a->acpi_broken (and its note)
 * when the agent cannot read files at all. */
static int agent_acpi_slot(struct agent *a, int id)
{
	struct vc_err err = { 0 };
	char path[96], buf[64];
	int slot;

	if (id < 0 || id >= AGENT_MAX_CPU)
		return -1;
	if (a->slot_of[id] != -1)
		return a->slot_of[id] >= 0 ? a->slot_of[id] : -1;
	if (a->acpi_broken)
		return -1;
	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%d/firmware_node/path", id);
	if (agent_read_file(a, path, buf, sizeof(buf), &err) < 0) {
		/* A disabled command, or no such file on this guest (no
		 * ACPI): either way the others will not do better.  A
		 * transport error also ends up here and is met again by the
		 * next guest-get-vcpus. */
		a->acpi_broken = true;
		free(a->acpi_note);
		a->acpi_note = strdup(err.msg);
		return -1;
	}
	slot = agent_parse_acpi_slot(buf);
	a->slot_of[id] = slot >= 0 ? slot : -2;
	return slot;
}

/* vCPU index of ACPI slot s.  The slot is the CPU's position in QEMU's
 * possible-CPU list, which on x86 is sorted by APIC id, i.e. by socket,
 * die, module, core, thread: the order the topology gives vCPU indexes in
 * (QEMU's cpu-index is that position too).  Only for machines whose
 * hotplug unit is one vCPU: elsewhere the list is not known to match. */
static int agent_slot_vcpu(const struct topology *t, int slot)
{
	size_t i;

	for (i = 0; i < t->n_ents; i++)
		if (t->ents[i].vcpus_count != 1)
			return -1;
	if (slot < 0 || (size_t)slot >= t->n_vcpus)
		return -1;
	return slot;
}

/* Returns 0, -1 when the guest cannot read its ACPI paths or one is not a
 * QEMU CPU name (firmware that names CPUs otherwise, as the legacy "CPxx"
 * hotplug does), or -2 with v->note set when what it reads cannot be
 * true: a slot the VM does not have, two guest CPUs on one vCPU, or
 * another CPU on the boot vCPU.  A mapping with any of those is not used
 * at all: every entry came from the same guest. */
static int agent_map_acpi(struct agent *a, const struct topology *t,
			  struct agent_view *v)
{
	bool uniform = true;
	int slot, idx, id, r = 0;
	size_t i;

	for (i = 0; i < t->n_ents; i++)
		uniform = uniform && t->ents[i].vcpus_count == 1;
	for (i = 0; i < v->guest.n; i++) {
		id = v->guest.cpus[i].logical_id;
		slot = agent_acpi_slot(a, id);
		if (a->acpi_broken)
			return -1;
		if (uniform && slot < 0) {
			/* A CPU left out would read as absent: no match. */
			free(a->acpi_note);
			if (asprintf(&a->acpi_note, "the ACPI path of guest CPU %d is not a QEMU CPU name",
				     id) < 0)
				a->acpi_note = NULL;
			return -1;
		}
		idx = slot >= 0 ? agent_slot_vcpu(t, slot) : -1;
		if (uniform && slot >= 0 && idx < 0)
			r = asprintf(&v->note, "the guest's ACPI id of guest CPU %d is slot %d, which this VM does not have (%zu vCPUs)",
				     id, slot, t->n_vcpus);
		else if (idx >= 0 && v->logical[idx] >= 0)
			r = asprintf(&v->note, "the guest's ACPI ids put guest CPUs %d and %d on vCPU %d",
				     v->logical[idx], id, idx);
		else if (idx == 0 && id != 0)
			r = asprintf(&v->note, "the guest's ACPI ids put guest CPU %d on the boot vCPU 0",
				     id);
		else if (idx < 0)
			continue;
		else {
			v->logical[idx] = id;
			v->vcpu_of[i] = idx;
			continue;
		}
		if (r < 0)
			v->note = NULL;
		return -2;
	}
	return 0;
}

static bool agent_sets_equal(const struct topology *t,
			     const struct agent_gcpus *g)
{
	size_t i, online = 0;

	for (i = 0; i < t->n_vcpus; i++) {
		if (!t->vcpus[i].online)
			continue;
		online++;
		if (!agent_gcpus_find(g, (int)i))
			return false;
	}
	return online == g->n;
}

/* Forget cached paths of CPUs the guest no longer lists: on guests that
 * reuse numbers, a later CPU may take the id. */
static void agent_forget_gone(struct agent *a, const struct agent_gcpus *g)
{
	int id;

	for (id = 0; id < AGENT_MAX_CPU; id++)
		if (a->slot_of[id] != -1 && !agent_gcpus_find(g, id))
			a->slot_of[id] = -1;
}

int agent_view_query(struct agent *a, const struct topology *t,
		     struct agent_view *v, struct vc_err *err)
{
	size_t i;
	int r;

	memset(v, 0, sizeof(*v));
	if (agent_get_vcpus(a, &v->guest, err) < 0)
		return -1;
	v->n_vcpus = t ? t->n_vcpus : 0;
	v->logical = malloc((v->n_vcpus + 1) * sizeof(*v->logical));
	v->vcpu_of = malloc((v->guest.n + 1) * sizeof(*v->vcpu_of));
	if (!v->logical || !v->vcpu_of) {
		agent_view_free(v);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	for (i = 0; i < v->n_vcpus; i++)
		v->logical[i] = -1;
	for (i = 0; i < v->guest.n; i++)
		v->vcpu_of[i] = -1;
	if (!t) {
		v->note = strdup("no QMP socket: vCPU indexes unknown");
		return 0;
	}
	agent_forget_gone(a, &v->guest);
	r = agent_map_acpi(a, t, v);
	if (r == 0) {
		v->how = AGENT_MAP_ACPI;
		return 0;
	}
	for (i = 0; i < v->n_vcpus; i++)
		v->logical[i] = -1;
	for (i = 0; i < v->guest.n; i++)
		v->vcpu_of[i] = -1;
	if (r == -2) {
		/* A guest caught lying is not believed by number either. */
		if (!v->note)
			v->note = strdup("the guest's ACPI ids contradict QEMU's vCPUs");
		return 0;
	}
	if (agent_sets_equal(t, &v->guest)) {
		v->how = AGENT_MAP_IDENTITY;
		for (i = 0; i < v->guest.n; i++) {
			v->vcpu_of[i] = v->guest.cpus[i].logical_id;
			v->logical[v->guest.cpus[i].logical_id] =
				v->guest.cpus[i].logical_id;
		}
		return 0;
	}
	if (asprintf(&v->note,
		     "cannot match guest CPUs to vCPUs: the guest numbers CPUs in the order it saw them, and reading their ACPI ids failed (%s)",
		     a->acpi_note ? a->acpi_note : "?") < 0)
		v->note = NULL;
	return 0;
}

void agent_view_free(struct agent_view *v)
{
	agent_gcpus_free(&v->guest);
	free(v->logical);
	free(v->vcpu_of);
	free(v->note);
	memset(v, 0, sizeof(*v));
}

const struct agent_gcpu *agent_view_vcpu(const struct agent_view *v,
					 int index)
{
	if (index < 0 || (size_t)index >= v->n_vcpus || v->logical[index] < 0)
		return NULL;
	return agent_gcpus_find(&v->guest, v->logical[index]);
}

bool agent_view_mismatch(const struct agent_view *v, const struct topology *t,
			 int index)
{
	const struct agent_gcpu *g;

	if (v->how == AGENT_MAP_NONE || index < 0 ||
	    (size_t)index >= t->n_vcpus || (size_t)index >= v->n_vcpus)
		return false;
	g = agent_view_vcpu(v, index);
	if (t->vcpus[index].online)
		return !g || !g->online;
	return g != NULL;
}

int agent_view_fetch(const struct agent_opts *o, const struct topology *t,
		     struct agent_view *v, struct vc_err *err)
{
	struct agent *a;
	int rc;

	memset(v, 0, sizeof(*v));
	a = agent_open_opts(o, err);
	if (!a)
		return -1;
	rc = agent_view_query(a, t, v, err);
	agent_close(a);
	return rc;
}

/* ---- command line ----------------------------------------------------- */

enum {
	OPT_GUEST_AGENT = 0x300,
	OPT_AGENT_TIMEOUT,
	OPT_OFFLINE_FIRST,
};

static const struct argp_option agent_options[] = {
	{ "guest-agent", OPT_GUEST_AGENT, "PATH", 0,
	  "the guest agent's socket (QEMU's chardev for org.qemu.guest_agent.0)", 0 },
	{ "agent-timeout", OPT_AGENT_TIMEOUT, "SEC", 0,
	  "give up on the guest agent's connect, sync or any reply after SEC seconds (default 5)", 0 },
	{ 0 }
};

static const struct argp_option agent_resize_options[] = {
	{ "guest-offline-first", OPT_OFFLINE_FIRST, NULL, 0,
	  "with --guest-agent: take vCPUs offline in the guest before unplugging them", 0 },
	{ 0 }
};

static error_t agent_parse_opt(int key, char *arg, struct argp_state *state)
{
	struct agent_opts *o = ((struct cli_inputs *)state->input)->agent;

	switch (key) {
	case OPT_GUEST_AGENT:
		o->path = arg;
		return 0;
	case OPT_AGENT_TIMEOUT:
		if (!vc_parse_seconds(arg, &o->timeout_ms))
			argp_error(state, "--agent-timeout: '%s' is not a number of seconds", arg);
		return 0;
	case OPT_OFFLINE_FIRST:
		o->offline_first = true;
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

const struct argp agent_argp = {
	agent_options, agent_parse_opt, NULL, NULL, NULL, NULL, NULL
};

static const struct argp_child agent_resize_children[] = {
	{ &agent_argp, 0, NULL, 0 },
	{ 0 }
};

static error_t agent_resize_parse(int key, char *arg, struct argp_state *state)
{
	if (key == ARGP_KEY_INIT) {
		state->child_inputs[0] = state->input;
		return 0;
	}
	return agent_parse_opt(key, arg, state);
}

const struct argp agent_resize_argp = {
	agent_resize_options, agent_resize_parse, NULL, NULL,
	agent_resize_children, NULL, NULL
};

void agent_opts_init(struct agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = AGENT_DEFAULT_TIMEOUT_MS;
}

/* ---- "set" and "show" ------------------------------------------------- */

const char *agent_vcpu_state_name(enum agent_vcpu_state s)
{
	switch (s) {
	case AGENT_VCPU_ONLINE: return "online";
	case AGENT_VCPU_OFFLINE: return "offline";
	case AGENT_VCPU_ABSENT: return "absent";
	case AGENT_VCPU_FAILED: return "failed";
	case AGENT_VCPU_NOT_TRIED: return "not-tried";
	case AGENT_VCPU_UNMAPPED: return "unmapped";
	case AGENT_VCPU_WAS_OFFLINE: return "already-offline";
	}
	return "?";
}

void agent_outcome_free(struct agent_outcome *out)
{
	free(out->items);
	free(out->error);
	memset(out, 0, sizeof(*out));
}

static int agent_outcome_add(struct agent_outcome *out, size_t cap, int index)
{
	if (out->n == cap)
		return -1;
	out->items[out->n].index = index;
	out->items[out->n].logical_id = -1;
	out->items[out->n].state = AGENT_VCPU_NOT_TRIED;
	out->n++;
	return 0;
}

/* The vCPUs of out in state s, as a cpulist ("2-3"); NULL when none. */
static char *agent_outcome_list(const struct agent_outcome *out,
				enum agent_vcpu_state s, size_t *count)
{
	struct cpulist l;
	size_t i, top = 1;
	char *text;

	*count = 0;
	for (i = 0; i < out->n; i++)
		if ((size_t)out->items[i].index + 1 > top)
			top = (size_t)out->items[i].index + 1;
	if (cpulist_init(&l, top) < 0)
		return NULL;
	for (i = 0; i < out->n; i++)
		if (out->items[i].state == s)
			cpulist_set(&l, (size_t)out->items[i].index);
	*count = cpulist_count(&l);
	text = *count ? cpulist_format(&l) : NULL;
	cpulist_free(&l);
	return text;
}

/* Set out->code and out->error (taking ownership of a formatted text). */
static int agent_outcome_fail(struct agent_outcome *out, int code,
			      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int agent_outcome_fail(struct agent_outcome *out, int code,
			      const char *fmt, ...)
{
	va_list ap;

	free(out->error);
	va_start(ap, fmt);
	if (vasprintf(&out->error, fmt, ap) < 0)
		out->error = NULL;
	va_end(ap);
	out->code = out->error ? code : VC_EXIT_INTERNAL;
	return out->code;
}

static void agent_outcome_mark(struct agent_outcome *out,
			       enum agent_vcpu_state s)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		out->items[i].state = s;
}

/* Read each item's state from view v.  Items already FAILED stay so. */
static void agent_outcome_observe(struct agent_outcome *out,
				  const struct agent_view *v)
{
	const struct agent_gcpu *g;
	struct agent_vcpu_outcome *it;
	size_t i;

	out->how = v->how;
	for (i = 0; i < out->n; i++) {
		it = &out->items[i];
		if (it->state == AGENT_VCPU_FAILED)
			continue;
		if (v->how == AGENT_MAP_NONE) {
			it->state = AGENT_VCPU_UNMAPPED;
			continue;
		}
		g = agent_view_vcpu(v, it->index);
		it->logical_id = g ? g->logical_id : -1;
		it->state = !g ? AGENT_VCPU_ABSENT
			  : g->online ? AGENT_VCPU_ONLINE : AGENT_VCPU_OFFLINE;
	}
}

/* Send one guest-set-vcpus for the items in state from (each once), and
 * mark the entries the guest did not process FAILED.  Returns how many
 * were sent, or -1 with err set when the agent could not be asked. */
static int agent_outcome_change(struct agent *a, struct agent_outcome *out,
				enum agent_vcpu_state from, bool online,
				bool *tried, struct vc_err *err)
{
	struct agent_change *ch;
	size_t *which, n = 0, i;
	int rc;

	ch = calloc(out->n + 1, sizeof(*ch));
	which = calloc(out->n + 1, sizeof(*which));
	if (!ch || !which) {
		free(ch);
		free(which);
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	}
	for (i = 0; i < out->n; i++) {
		if (out->items[i].state != from || tried[i])
			continue;
		tried[i] = true;
		ch[n].logical_id = out->items[i].logical_id;
		ch[n].online = online;
		which[n++] = i;
	}
	rc = n ? agent_set_vcpus(a, ch, n, err) : 0;
	for (i = 0; i < n; i++)
		if (ch[i].state == AGENT_CHANGE_FAILED)
			out->items[which[i]].state = AGENT_VCPU_FAILED;
	/* A refusal is the vCPU's outcome, not the session's. */
	if (rc < 0 && n && ch[0].state == AGENT_CHANGE_FAILED)
		rc = 0;
	free(ch);
	free(which);
	return rc < 0 ? -1 : (int)n;
}

static bool agent_outcome_all(const struct agent_outcome *out,
			      enum agent_vcpu_state s)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (out->items[i].state != s)
			return false;
	return true;
}

static bool agent_outcome_any(const struct agent_outcome *out,
			      enum agent_vcpu_state s)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (out->items[i].state == s)
			return true;
	return false;
}

/* Why not every vCPU reached the wanted state, naming them. */
static int agent_outcome_explain(struct agent_outcome *out, int code,
				 int64_t timeout_ms, const char *note,
				 const char *reason)
{
	const char *want = out->online ? "online" : "offline";
	char secs[32], *l;
	size_t n;
	int rc;

	vc_fmt_secs(secs, sizeof(secs), (int)timeout_ms);
	if ((l = agent_outcome_list(out, AGENT_VCPU_FAILED, &n))) {
		rc = agent_outcome_fail(out, code,
					"the guest could not take vCPU%s %s %s%s%s",
					n > 1 ? "s" : "", l, want,
					reason ? ": " : "", reason ? reason : "");
	} else if ((l = agent_outcome_list(out, AGENT_VCPU_UNMAPPED, &n))) {
		rc = agent_outcome_fail(out, code,
					"vCPU%s %s: %s", n > 1 ? "s" : "", l,
					note ? note : "cannot match guest CPUs to vCPUs");
	} else if ((l = agent_outcome_list(out, AGENT_VCPU_ABSENT, &n))) {
		rc = agent_outcome_fail(out, code,
					"the guest has not seen vCPU%s %s%s%s",
					n > 1 ? "s" : "", l,
					timeout_ms > 0 ? " within " : "",
					timeout_ms > 0 ? secs : "");
		if (timeout_ms > 0 && out->error) {
			free(l);
			l = out->error;
			if (asprintf(&out->error, "%s s", l) < 0)
				out->error = NULL;
		}
	} else if ((l = agent_outcome_list(out, out->online ? AGENT_VCPU_OFFLINE
								: AGENT_VCPU_ONLINE, &n))) {
		rc = agent_outcome_fail(out, code,
					"vCPU%s %s still %s in the guest%s%s%s",
					n > 1 ? "s" : "", l,
					out->online ? "offline" : "online",
					timeout_ms > 0 ? " after " : "",
					timeout_ms > 0 ? secs : "",
					timeout_ms > 0 ? " s" : "");
	} else {
		rc = agent_outcome_fail(out, code, "guest agent: %s",
					reason ? reason : "unknown error");
	}
	free(l);
	return rc;
}

void agent_link_init(struct agent_link *l, const struct agent_opts *o)
{
	memset(l, 0, sizeof(*l));
	l->opts = o;
}

struct agent *agent_link_get(struct agent_link *l, struct vc_err *err)
{
	if (!l->tried) {
		l->tried = true;
		l->a = agent_open_opts(l->opts, &l->err);
	}
	if (!l->a)
		*err = l->err;
	return l->a;
}

void agent_link_close(struct agent_link *l)
{
	agent_close(l->a);
	l->a = NULL;
}

/* Forget the guest paths read so far: after a change of the VM's CPUs a
 * guest that reuses numbers may give an unplugged CPU's id to a new one. */
static void agent_forget_paths(struct agent *a)
{
	size_t i;

	for (i = 0; i < AGENT_MAX_CPU; i++)
		a->slot_of[i] = -1;
	a->acpi_broken = false;
	free(a->acpi_note);
	a->acpi_note = NULL;
}

int agent_online_after_plug(struct agent_link *l,
			    const struct topology *t,
			    const struct apply_result *r, int64_t timeout_ms,
			    struct agent_outcome *out)
{
	struct agent_view v = { 0 };
	struct vc_err err = { 0 };
	struct agent *a = NULL;
	int64_t start = vc_now_ms(), deadline = vc_deadline(timeout_ms);
	size_t i, cap = 0;
	bool *tried = NULL;
	int k, left, sent, rc;

	memset(out, 0, sizeof(*out));
	out->online = true;
	if (!l || !l->opts || !l->opts->path || !r)
		return 0;
	for (i = 0; i < r->n; i++)
		if (r->items[i].op == PLAN_OP_ADD &&
		    r->items[i].state == APPLY_PLUGGED)
			cap += (size_t)r->items[i].count;
	if (!cap)
		return 0;
	out->items = calloc(cap, sizeof(*out->items));
	tried = calloc(cap, sizeof(*tried));
	if (!out->items || !tried) {
		free(tried);
		return agent_outcome_fail(out, VC_EXIT_INTERNAL, "out of memory");
	}
	for (i = 0; i < r->n; i++)
		if (r->items[i].op == PLAN_OP_ADD &&
		    r->items[i].state == APPLY_PLUGGED)
			for (k = 0; k < r->items[i].count; k++)
				agent_outcome_add(out, cap, r->items[i].first + k);

	a = agent_link_get(l, &err);
	if (!a) {
		rc = agent_outcome_fail(out, err.code == VC_EXIT_INTERNAL
					? VC_EXIT_INTERNAL : VC_EXIT_NOT_ONLINE,
					"guest agent: %s", err.msg);
		goto out;
	}
	agent_forget_paths(a);
	/* The guest learns of a plug through an ACPI event and lists the CPU
	 * some time later; ask until it is there and online. */
	for (;;) {
		agent_view_free(&v);
		if (agent_view_query(a, t, &v, &err) < 0)
			break;
		agent_outcome_observe(out, &v);
		if (agent_outcome_all(out, AGENT_VCPU_ONLINE))
			break;
		sent = agent_outcome_change(a, out, AGENT_VCPU_OFFLINE, true,
					    tried, &err);
		if (sent < 0)
			break;
		if (sent > 0)
			continue;
		left = vc_ms_left(deadline);
		if (left == 0)
			break;
		if (left < 0 || left > AGENT_POLL_MS)
			left = AGENT_POLL_MS;
		poll(NULL, 0, left);
	}
	if (err.code) {
		/* The agent went away mid-way: what was seen stands, the rest
		 * is unknown. */
		for (i = 0; i < out->n; i++)
			if (out->items[i].state != AGENT_VCPU_ONLINE &&
			    out->items[i].state != AGENT_VCPU_FAILED)
				out->items[i].state = AGENT_VCPU_NOT_TRIED;
	}
	if (agent_outcome_all(out, AGENT_VCPU_ONLINE) && !err.code)
		rc = 0;
	else if (err.code == VC_EXIT_INTERNAL)
		rc = agent_outcome_fail(out, VC_EXIT_INTERNAL, "%s", err.msg);
	else if (err.code && !agent_outcome_any(out, AGENT_VCPU_FAILED))
		rc = agent_outcome_fail(out, VC_EXIT_NOT_ONLINE,
					"guest agent: %s", err.msg);
	else
		rc = agent_outcome_explain(out, VC_EXIT_NOT_ONLINE, timeout_ms,
					   v.note, err.code ? err.msg : NULL);
out:
	if (!a && err.code)
		agent_outcome_mark(out, AGENT_VCPU_NOT_TRIED);
	out->code = rc;
	out->elapsed_ms = vc_now_ms() - start;
	agent_view_free(&v);
	free(tried);
	return rc;
}

int agent_offline_before_unplug(struct agent_link *l,
				const struct topology *t, const struct plan *p,
				struct agent_outcome *out)
{
	struct agent_view v = { 0 };
	struct vc_err err = { 0 };
	struct agent *a = NULL;
	const struct agent_gcpu *g;
	int64_t start = vc_now_ms();
	size_t i, cap = 0;
	bool *tried = NULL, *was, *unlisted, all_offline = true;
	int k, idx, rc = 0;

	memset(out, 0, sizeof(*out));
	out->online = false;
	if (!l || !l->opts || !l->opts->path || !l->opts->offline_first ||
	    !p || !t)
		return 0;
	for (i = 0; i < p->n_steps; i++)
		if (p->steps[i].op == PLAN_OP_DEL)
			cap += (size_t)p->steps[i].count;
	if (!cap)
		return 0;
	out->items = calloc(cap, sizeof(*out->items));
	tried = calloc(3 * cap, sizeof(*tried));
	if (!out->items || !tried) {
		free(tried);
		return agent_outcome_fail(out, VC_EXIT_INTERNAL, "out of memory");
	}
	was = tried + cap;
	unlisted = tried + 2 * cap;
	for (i = 0; i < p->n_steps; i++)
		for (k = 0; p->steps[i].op == PLAN_OP_DEL && k < p->steps[i].count; k++) {
			idx = p->steps[i].first + k;
			if (idx >= 0 && (size_t)idx < t->n_vcpus &&
			    t->vcpus[idx].online)
				agent_outcome_add(out, cap, idx);
		}
	if (!out->n)
		goto out;

	a = agent_link_get(l, &err);
	if (!a || agent_view_query(a, t, &v, &err) < 0) {
		agent_outcome_mark(out, AGENT_VCPU_NOT_TRIED);
		rc = agent_outcome_fail(out, err.code == VC_EXIT_INTERNAL
					? VC_EXIT_INTERNAL : VC_EXIT_AGENT,
					"guest agent: %s", err.msg);
		goto out;
	}
	out->how = v.how;
	if (v.how != AGENT_MAP_ACPI) {
		agent_outcome_mark(out, AGENT_VCPU_UNMAPPED);
		rc = agent_outcome_fail(out, VC_EXIT_AGENT,
					"not offlining first: only an exact (ACPI) match of guest CPUs to vCPUs is trusted to pick CPUs to offline%s%s",
					v.note ? "; " : "", v.note ? v.note : "");
		goto out;
	}
	agent_outcome_observe(out, &v);
	for (i = 0; i < out->n; i++) {
		/* Already offline: nothing to ask, and the report says so. */
		was[i] = out->items[i].state == AGENT_VCPU_OFFLINE;
		unlisted[i] = out->items[i].state == AGENT_VCPU_ABSENT;
		g = agent_view_vcpu(&v, out->items[i].index);
		if (g && g->online && (!g->can_offline || g->logical_id == 0))
			out->items[i].state = AGENT_VCPU_FAILED;
	}
	if (agent_outcome_change(a, out, AGENT_VCPU_ONLINE, false, tried,
				 &err) < 0) {
		rc = agent_outcome_explain(out, VC_EXIT_AGENT, 0, NULL, err.msg);
		goto out;
	}
	agent_view_free(&v);
	if (agent_view_query(a, t, &v, &err) < 0) {
		rc = agent_outcome_fail(out, VC_EXIT_AGENT, "guest agent: %s",
					err.msg);
		goto out;
	}
	agent_outcome_observe(out, &v);
	/* A CPU the guest no longer lists has nothing left to offline; one
	 * it never listed is not known to be offline. */
	for (i = 0; i < out->n; i++) {
		if (out->items[i].state == AGENT_VCPU_ABSENT && !unlisted[i])
			out->items[i].state = AGENT_VCPU_OFFLINE;
		if (out->items[i].state == AGENT_VCPU_OFFLINE)
			out->items[i].state = was[i] ? AGENT_VCPU_WAS_OFFLINE
						     : AGENT_VCPU_OFFLINE;
		else
			all_offline = false;
	}
	if (!all_offline)
		rc = agent_outcome_explain(out, VC_EXIT_AGENT, 0, NULL,
					   "guest CPU refused (can-offline false, or the boot CPU)");
out:
	out->code = rc;
	out->elapsed_ms = vc_now_ms() - start;
	agent_view_free(&v);
	free(tried);
	return rc;
}

char *agent_outcome_text(const struct agent_outcome *out)
{
	static const enum agent_vcpu_state order[] = {
		AGENT_VCPU_ONLINE, AGENT_VCPU_OFFLINE, AGENT_VCPU_FAILED,
		AGENT_VCPU_WAS_OFFLINE, AGENT_VCPU_ABSENT, AGENT_VCPU_UNMAPPED,
		AGENT_VCPU_NOT_TRIED,
	};
	char *text = NULL, *l, *more;
	size_t i, n;

	if (!out->n)
		return NULL;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		l = agent_outcome_list(out, order[i], &n);
		if (!l)
			continue;
		if (asprintf(&more, "%s%svCPU%s %s %s", text ? text : "guest: ",
			     text ? "; " : "", n > 1 ? "s" : "", l,
			     agent_vcpu_state_name(order[i])) < 0)
			more = NULL;
		free(l);
		free(text);
		text = more;
		if (!text)
			return NULL;
	}
	if (text && out->error) {
		if (asprintf(&more, "%s (%s)", text, out->error) < 0)
			more = NULL;
		free(text);
		text = more;
	}
	return text;
}

char *agent_view_text(const struct agent_view *v, const struct topology *t)
{
	const struct agent_gcpu *g;
	size_t i, online = 0;
	char *text = NULL, *more;
	int r;

	for (i = 0; i < v->guest.n; i++)
		online += v->guest.cpus[i].online;
	if (v->how != AGENT_MAP_NONE)
		r = asprintf(&text, "guest: %zu of %zu CPUs online (guest agent; matched to vCPUs by %s)\n",
			     online, v->guest.n,
			     v->how == AGENT_MAP_ACPI ? "ACPI id" : "number, assumed");
	else
		r = asprintf(&text, "guest: %zu of %zu CPUs online (guest agent; %s)\n",
			     online, v->guest.n, v->note ? v->note : "not matched to vCPUs");
	if (r < 0)
		return NULL;
	for (i = 0; t && i < t->n_vcpus; i++) {
		if (!agent_view_mismatch(v, t, (int)i))
			continue;
		g = agent_view_vcpu(v, (int)i);
		if (!t->vcpus[i].online)
			r = asprintf(&more, "%sguest: vCPU %zu is offline in QEMU but the guest lists it (guest CPU %d)\n",
				     text, i, g ? g->logical_id : -1);
		else if (g)
			r = asprintf(&more, "%sguest: vCPU %zu is online in QEMU but offline in the guest (guest CPU %d)\n",
				     text, i, g->logical_id);
		else
			r = asprintf(&more, "%sguest: vCPU %zu is online in QEMU but the guest does not list it\n",
				     text, i);
		free(text);
		if (r < 0)
			return NULL;
		text = more;
	}
	return text;
}
