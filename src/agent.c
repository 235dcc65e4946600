/* agent.c - guest agent client: the sync and calls on the session layer
 * (session.c); guest-get-vcpus and guest-set-vcpus; small guest files
 * (guest-file-open/-read/-close); the command-line options and the one
 * session a command shares between its guest steps.
 *
 * As for QMP, every wait is bounded by the timeout, so a guest whose agent
 * is absent, hung or slow turns into an error; the messages speak of the
 * agent.
 */
#include <errno.h>
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

struct agent {
	struct sess s;
	bool need_sync;         /* a call failed: the channel is out of step */
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

	a = calloc(1, sizeof(*a));
	if (!a) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	if (path && strncmp(path, "unix:", 5) == 0)
		path += 5;
	if (sess_init(&a->s, &agent_peer, path, timeout_ms, err) < 0)
		goto fail;
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

/* ---- guest files ------------------------------------------------------ */

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

int agent_read_file(struct agent *a, const char *path, char *buf,
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

/* ---- one session per command ------------------------------------------ */

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
