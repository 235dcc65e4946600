/* qmp.c - QMP client session: connect, greeting, id-matched commands and
 * the event queue.
 *
 * The transport is sock.c: every wait is bounded by the session timeout,
 * so a QEMU that hangs, dies or serves another client turns into an error
 * instead of a stuck process.  Here its statuses become messages that
 * speak of QEMU and the monitor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vcpuctl/jsonstream.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/sock.h"
#include "vcpuctl/util.h"

struct qmp {
	int fd;
	char *name;             /* path or host:port, for messages */
	int timeout_ms;
	bool closed;            /* peer hung up; later calls fail at once */
	struct jstream js;
	char *rbuf;             /* SOCK_READ_SIZE bytes */
	char *sbuf;             /* serialised command, reused */
	size_t scap;
	unsigned next_id;
	unsigned round_trips;
	char version[64];
	char *package;
	pid_t peer_pid;
	char err_class[128];
	FILE *trace;
	json_t **ev;            /* events, oldest at ev[ev_head] */
	size_t ev_head;
	size_t ev_len;
	size_t ev_cap;
};

/* Results of reading one message. */
enum {
	RD_EOF = -2,
	RD_ERR = -1,
	RD_TIMEOUT = 0,
	RD_MSG = 1,
};

/* Reword a failed unix connect() for a QEMU monitor; err already holds
 * the plain errno message for everything else. */
static int qmp_unix_error(const char *path, int e, int timeout_ms,
			  struct vc_err *err)
{
	char secs[32];

	if (e == ECONNREFUSED)
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: connection refused: no QEMU is listening on this socket",
				  path);
	if (e == EAGAIN) {
		vc_fmt_secs(secs, sizeof(secs), timeout_ms);
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: no connection within %s s: too many clients are waiting on the monitor",
				  path, secs);
	}
	return -1;
}

static int qmp_connect_unix(struct qmp *q, const char *path, struct vc_err *err)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, e;

	fd = sock_connect_unix(path, q->timeout_ms, VC_EXIT_CONN, &e, err);
	if (fd < 0)
		return qmp_unix_error(path, e, q->timeout_ms, err);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		q->peer_pid = cred.pid;
	q->fd = fd;
	return 0;
}

/* Split "HOST:PORT" or "[V6ADDR]:PORT" in place. */
static int qmp_split_hostport(char *s, char **host, char **port)
{
	char *colon = strrchr(s, ':');

	if (!colon || colon == s || !colon[1])
		return -1;
	*colon = '\0';
	*port = colon + 1;
	*host = s;
	if (s[0] == '[') {
		if (colon[-1] != ']')
			return -1;
		colon[-1] = '\0';
		*host = s + 1;
	}
	return **host ? 0 : -1;
}

static int qmp_connect_tcp(struct qmp *q, const char *hostport,
			   struct vc_err *err)
{
	char *copy, *host, *port;
	int fd;

	copy = strdup(hostport);
	if (!copy)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	if (qmp_split_hostport(copy, &host, &port) < 0) {
		free(copy);
		return vc_err_set(err, VC_EXIT_CONN,
				  "tcp:%s: expected tcp:HOST:PORT", hostport);
	}
	fd = sock_connect_tcp(host, port, hostport, q->timeout_ms,
			      VC_EXIT_CONN, err);
	free(copy);
	if (fd < 0)
		return -1;
	q->fd = fd;
	return 0;
}

/* A received message as it came, minus insignificant whitespace (QEMU's
 * pretty=on spreads one over many lines): "< {json}\n". */
static void qmp_trace_frame(struct qmp *q, const char *text, size_t len)
{
	char *buf, *end;

	if (!q->trace)
		return;
	buf = malloc(len ? len : 1);
	if (!buf)
		return;
	end = js_minify(text, text + len, buf);
	fputs("< ", q->trace);
	fwrite(buf, 1, (size_t)(end - buf), q->trace);
	fputc('\n', q->trace);
	free(buf);
}

/* Read until one whole message is framed or the deadline passes; *text
 * is its verbatim bytes (borrowed from q->js, valid until the next read). */
static int qmp_read_frame(struct qmp *q, int64_t deadline, const char **text,
			  size_t *len, struct vc_err *err)
{
	ssize_t n;
	int r;

	*text = NULL;
	if (q->closed)
		return RD_EOF;
	for (;;) {
		r = js_next_frame(&q->js, text, len, err);
		if (r < 0)
			return RD_ERR;
		if (r > 0) {
			qmp_trace_frame(q, *text, *len);
			return RD_MSG;
		}
		/* No prefix: callers name the step ("greeting", a command). */
		n = sock_recv(q->fd, q->rbuf, SOCK_READ_SIZE, deadline, NULL,
			      VC_EXIT_CONN, err);
		if (n == SOCK_TIMEOUT)
			return RD_TIMEOUT;
		if (n == SOCK_CLOSED) {
			q->closed = true;
			return RD_EOF;
		}
		if (n < 0)
			return RD_ERR;
		if (js_feed(&q->js, q->rbuf, (size_t)n, err) < 0)
			return RD_ERR;
	}
}

/* Parse a framed message (errors as js_next's). */
static int qmp_parse_msg(const char *text, size_t len, json_t **out,
			 struct vc_err *err)
{
	return js_parse_frame(text, len, out, err) < 0 ? RD_ERR : RD_MSG;
}

/* Read until one whole message is parsed or the deadline passes. */
static int qmp_read_msg(struct qmp *q, int64_t deadline, json_t **out,
			struct vc_err *err)
{
	const char *text;
	size_t len;
	int r;

	*out = NULL;
	r = qmp_read_frame(q, deadline, &text, &len, err);
	if (r != RD_MSG)
		return r;
	return qmp_parse_msg(text, len, out, err);
}

static int qmp_event_push(struct qmp *q, json_t *ev)
{
	json_t **nev;
	size_t cap;

	if (q->ev_len == q->ev_cap && q->ev_head > 0) {
		memmove(q->ev, q->ev + q->ev_head,
			(q->ev_len - q->ev_head) * sizeof(*q->ev));
		q->ev_len -= q->ev_head;
		q->ev_head = 0;
	}
	if (q->ev_len == q->ev_cap) {
		cap = q->ev_cap ? q->ev_cap * 2 : 16;
		nev = realloc(q->ev, cap * sizeof(*nev));
		if (!nev)
			return -1;
		q->ev = nev;
		q->ev_cap = cap;
	}
	q->ev[q->ev_len++] = ev;
	return 0;
}

/* Queue msg if it is an event (taking the reference); otherwise drop it.
 * Returns 1 when queued. */
static int qmp_keep_event(struct qmp *q, json_t *msg, struct vc_err *err)
{
	if (!json_object_get(msg, "event")) {
		json_decref(msg);
		return 0;
	}
	if (qmp_event_push(q, msg) < 0) {
		json_decref(msg);
		return vc_err_set(err, VC_EXIT_INTERNAL,
				  "out of memory queueing events");
	}
	return 1;
}

static int qmp_read_greeting(struct qmp *q, struct vc_err *err)
{
	json_t *msg, *greet, *qemu, *pkg;
	char secs[32];
	int r;

	r = qmp_read_msg(q, vc_deadline(q->timeout_ms), &msg, err);
	if (r == RD_TIMEOUT) {
		vc_fmt_secs(secs, sizeof(secs), q->timeout_ms);
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: no QMP greeting within %s s: the monitor is busy with another client, or QEMU is not answering",
				  q->name, secs);
	}
	if (r == RD_EOF)
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: QEMU closed the connection before its greeting",
				  q->name);
	if (r == RD_ERR)
		return vc_err_prefix(err, "%s: greeting", q->name);
	greet = json_object_get(msg, "QMP");
	if (!json_is_object(greet)) {
		json_decref(msg);
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: not a QMP monitor (no greeting)", q->name);
	}
	qemu = json_object_get(json_object_get(greet, "version"), "qemu");
	if (json_is_integer(json_object_get(qemu, "major")))
		snprintf(q->version, sizeof(q->version),
			 "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT
			 ".%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(qemu, "major")),
			 json_integer_value(json_object_get(qemu, "minor")),
			 json_integer_value(json_object_get(qemu, "micro")));
	pkg = json_object_get(json_object_get(greet, "version"), "package");
	q->package = strdup(json_is_string(pkg) ? json_string_value(pkg) : "");
	json_decref(msg);
	if (!q->package)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	return 0;
}

struct qmp *qmp_open(const char *spec, int timeout_ms, struct vc_err *err)
{
	struct qmp *q;
	json_t *r;
	int rc;

	q = calloc(1, sizeof(*q));
	if (!q) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		return NULL;
	}
	q->fd = -1;
	q->timeout_ms = timeout_ms;
	js_init(&q->js);
	if (strncmp(spec, "unix:", 5) == 0)
		q->name = strdup(spec + 5);
	else if (strncmp(spec, "tcp:", 4) == 0)
		q->name = strdup(spec + 4);
	else
		q->name = strdup(spec);
	q->rbuf = malloc(SOCK_READ_SIZE);
	if (!q->name || !q->rbuf) {
		vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
		goto fail;
	}
	if (!*q->name) {
		vc_err_set(err, VC_EXIT_CONN, "%s: empty socket path", spec);
		goto fail;
	}
	if (strncmp(spec, "tcp:", 4) == 0)
		rc = qmp_connect_tcp(q, q->name, err);
	else
		rc = qmp_connect_unix(q, q->name, err);
	if (rc < 0 || qmp_read_greeting(q, err) < 0)
		goto fail;
	r = qmp_call(q, "qmp_capabilities", NULL, err);
	if (!r) {
		vc_err_prefix(err, "%s", q->name);
		goto fail;
	}
	json_decref(r);
	/* Only the caller's commands count (qmp.h). */
	q->round_trips = 0;
	return q;
fail:
	qmp_close(q);
	return NULL;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	if (q->trace)
		fclose(q->trace);
	while (q->ev_head < q->ev_len)
		json_decref(q->ev[q->ev_head++]);
	free(q->ev);
	js_free(&q->js);
	free(q->rbuf);
	free(q->sbuf);
	free(q->package);
	free(q->name);
	free(q);
}

const char *qmp_version(const struct qmp *q)
{
	return q->version;
}

const char *qmp_package(const struct qmp *q)
{
	return q->package ? q->package : "";
}

pid_t qmp_peer_pid(const struct qmp *q)
{
	return q->peer_pid;
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

unsigned qmp_round_trips(const struct qmp *q)
{
	return q->round_trips;
}

void qmp_set_trace(struct qmp *q, FILE *trace)
{
	if (q->trace && q->trace != trace)
		fclose(q->trace);
	q->trace = trace;
}

const char *qmp_last_error_class(const struct qmp *q)
{
	return q->err_class;
}

size_t qmp_event_count(const struct qmp *q)
{
	return q->ev_len - q->ev_head;
}

json_t *qmp_event_pop(struct qmp *q)
{
	json_t *ev;

	if (q->ev_head == q->ev_len)
		return NULL;
	ev = q->ev[q->ev_head++];
	if (q->ev_head == q->ev_len)
		q->ev_head = q->ev_len = 0;
	return ev;
}

static const char *json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static long json_long_or(json_t *obj, const char *key, long dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

void qmp_event_decode(json_t *raw, struct qmp_event *ev)
{
	json_t *data = json_object_get(raw, "data");
	json_t *info = json_object_get(data, "info");

	memset(ev, 0, sizeof(*ev));
	ev->raw = raw;
	ev->ost_source = ev->ost_status = -1;
	ev->name = json_str(raw, "event");
	if (!ev->name || !json_is_object(data))
		return;
	if (!strcmp(ev->name, "DEVICE_DELETED"))
		ev->kind = QMP_EV_DEVICE_DELETED;
	else if (!strcmp(ev->name, "DEVICE_UNPLUG_GUEST_ERROR"))
		ev->kind = QMP_EV_UNPLUG_GUEST_ERROR;
	else if (!strcmp(ev->name, "ACPI_DEVICE_OST") && json_is_object(info))
		ev->kind = QMP_EV_ACPI_OST;
	else
		return;
	if (ev->kind == QMP_EV_ACPI_OST) {
		ev->device = json_str(info, "device");
		ev->ost_source = json_long_or(info, "source", -1);
		ev->ost_status = json_long_or(info, "status", -1);
	} else {
		ev->device = json_str(data, "device");
		ev->path = json_str(data, "path");
	}
}

int qmp_event_next(struct qmp *q, struct qmp_event *ev)
{
	json_t *raw = qmp_event_pop(q);

	if (!raw)
		return 0;
	qmp_event_decode(raw, ev);
	return 1;
}

void qmp_event_clear(struct qmp_event *ev)
{
	json_decref(ev->raw);
	memset(ev, 0, sizeof(*ev));
}

/* Serialise {"execute", "arguments", "id"} plus a newline into q->sbuf.
 * Returns the length, or 0 when out of memory. */
static size_t qmp_build(struct qmp *q, const char *command, json_t *args,
			const char *id)
{
	json_t *req;
	size_t n;
	char *buf;

	req = json_pack("{s:s}", "execute", command);
	if (!req)
		return 0;
	if (args && json_object_set(req, "arguments", args) < 0)
		goto fail;
	if (json_object_set_new(req, "id", json_string(id)) < 0)
		goto fail;
	n = json_dumpb(req, NULL, 0, JSON_COMPACT);
	if (n == 0)
		goto fail;
	if (n + 1 > q->scap) {
		buf = realloc(q->sbuf, n + 1);
		if (!buf)
			goto fail;
		q->sbuf = buf;
		q->scap = n + 1;
	}
	json_dumpb(req, q->sbuf, n, JSON_COMPACT);
	q->sbuf[n] = '\n';
	json_decref(req);
	return n + 1;
fail:
	json_decref(req);
	return 0;
}

static int qmp_send(struct qmp *q, const char *command, size_t len,
		    int64_t deadline, struct vc_err *err)
{
	char secs[32];
	int r;

	r = sock_send_all(q->fd, q->sbuf, len, deadline, command,
			  VC_EXIT_CONN, err);
	if (r == SOCK_CLOSED) {
		q->closed = true;
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: QEMU closed the connection", command);
	}
	if (r == SOCK_TIMEOUT) {
		vc_fmt_secs(secs, sizeof(secs), q->timeout_ms);
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: QEMU did not take the command within %s s",
				  command, secs);
	}
	return r < 0 ? -1 : 0;
}

/* Turn our reply into the result of qmp_call.  Consumes nothing. */
static json_t *qmp_reply_value(struct qmp *q, const char *command,
			       json_t *msg, struct vc_err *err)
{
	json_t *ret = json_object_get(msg, "return");
	json_t *e = json_object_get(msg, "error");
	json_t *cls, *desc;

	if (ret && !e)
		return json_incref(ret);
	if (!ret && e) {
		cls = json_object_get(e, "class");
		desc = json_object_get(e, "desc");
		if (!json_is_string(cls) || !json_is_string(desc)) {
			vc_err_set(err, VC_EXIT_CONN,
				   "%s: malformed error reply from QEMU", command);
			return NULL;
		}
		snprintf(q->err_class, sizeof(q->err_class), "%s",
			 json_string_value(cls));
		vc_err_set(err, VC_EXIT_QEMU, "%s: %s", json_string_value(cls),
			   json_string_value(desc));
		return NULL;
	}
	vc_err_set(err, VC_EXIT_CONN,
		   "%s: malformed reply from QEMU: %s", command,
		   ret ? "both \"return\" and \"error\""
		       : "neither \"return\" nor \"error\"");
	return NULL;
}

/* Send command with a fresh id (written to id, 32 bytes).  Returns 0, or
 * -1 with err set. */
static int qmp_send_command(struct qmp *q, const char *command, json_t *args,
			    char *id, struct vc_err *err)
{
	size_t len;

	q->err_class[0] = '\0';
	if (q->closed)
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: QEMU closed the connection", command);
	snprintf(id, 32, "vc-%u", ++q->next_id);
	len = qmp_build(q, command, args, id);
	if (!len)
		return vc_err_set(err, VC_EXIT_INTERNAL,
				  "%s: cannot encode command", command);
	if (q->trace) {
		fputs("> ", q->trace);
		fwrite(q->sbuf, 1, len, q->trace);
	}
	if (qmp_send(q, command, len, vc_deadline(q->timeout_ms), err) < 0)
		return -1;
	q->round_trips++;
	return 0;
}

/* The reply read failed with r: err says why, naming the command. */
static void qmp_reply_error(struct qmp *q, const char *command, int r,
			    struct vc_err *err)
{
	char secs[32];

	if (r == RD_TIMEOUT) {
		vc_fmt_secs(secs, sizeof(secs), q->timeout_ms);
		vc_err_set(err, VC_EXIT_CONN, "%s: no reply within %s s",
			   command, secs);
	} else if (r == RD_EOF) {
		vc_err_set(err, VC_EXIT_CONN, "%s: QEMU closed the connection",
			   command);
	} else {
		vc_err_prefix(err, "%s", command);
	}
}

/* msg is the reply to id (true), or it was queued as an event or dropped
 * (false; *fail set when queueing failed, with err set). */
static bool qmp_is_reply(struct qmp *q, json_t *msg, const char *id,
			 bool *fail, struct vc_err *err)
{
	json_t *mid = json_object_get(msg, "id");

	*fail = false;
	if (json_is_string(mid) && strcmp(json_string_value(mid), id) == 0)
		return true;
	/* An event, or a late reply to a command that timed out. */
	*fail = qmp_keep_event(q, msg, err) < 0;
	return false;
}

json_t *qmp_call(struct qmp *q, const char *command, json_t *args,
		 struct vc_err *err)
{
	char id[32];
	json_t *msg, *val;
	int64_t deadline;
	bool fail;
	int r;

	if (qmp_send_command(q, command, args, id, err) < 0)
		return NULL;
	deadline = vc_deadline(q->timeout_ms);
	for (;;) {
		r = qmp_read_msg(q, deadline, &msg, err);
		if (r != RD_MSG) {
			qmp_reply_error(q, command, r, err);
			return NULL;
		}
		if (qmp_is_reply(q, msg, id, &fail, err))
			break;
		if (fail)
			return NULL;
	}
	val = qmp_reply_value(q, command, msg, err);
	json_decref(msg);
	return val;
}

/* Our reply to id, with "return" and no "error": *ret, *rlen is the
 * verbatim text of the "return" value.  The frame must be valid JSON
 * (js_valid).  Anything else (an event, an error reply, another id) is
 * for qmp_is_reply() and qmp_reply_value() to judge. */
static bool qmp_return_text(const char *text, size_t len, const char *id,
			    const char **ret, size_t *rlen)
{
	const char *end = text + len, *p, *v, *key, *vend;
	bool ours = false, error = false;
	size_t klen;

	*ret = NULL;
	p = js_skip_ws(text, end);
	if (*p != '{')
		return false;
	for (p++; (p = js_next_member(p, end, &vend)); p = vend) {
		v = js_member_value(p, end, &key, &klen);
		vend = js_skip_value(v, end);
		/* Duplicate members: the last one counts, as in jansson. */
		if (js_key_is(key, klen, "return")) {
			*ret = v;
			*rlen = (size_t)(vend - v);
		} else if (js_key_is(key, klen, "id")) {
			ours = *v == '"' &&
			       js_key_is(v + 1, (size_t)(vend - v - 2), id);
		} else if (js_key_is(key, klen, "error")) {
			error = true;
		}
	}
	return ours && !error && *ret;
}

int qmp_call_text(struct qmp *q, const char *command, json_t *args,
		  const char **text, size_t *len, struct vc_err *err)
{
	const char *frame;
	char id[32];
	json_t *msg, *val;
	int64_t deadline;
	size_t flen, bad;
	bool fail;
	int r;

	*text = NULL;
	*len = 0;
	if (qmp_send_command(q, command, args, id, err) < 0)
		return -1;
	deadline = vc_deadline(q->timeout_ms);
	for (;;) {
		r = qmp_read_frame(q, deadline, &frame, &flen, err);
		if (r == RD_MSG && !js_valid(frame, flen, &bad)) {
			vc_err_set(err, VC_EXIT_CONN, "malformed JSON at byte %zu",
				   bad);
			r = RD_ERR;
		}
		if (r == RD_MSG && qmp_return_text(frame, flen, id, text, len))
			return 0;
		if (r == RD_MSG)
			r = qmp_parse_msg(frame, flen, &msg, err);
		if (r != RD_MSG) {
			qmp_reply_error(q, command, r, err);
			return -1;
		}
		if (qmp_is_reply(q, msg, id, &fail, err))
			break;
		if (fail)
			return -1;
	}
	/* An error reply, or one of the wrong shape. */
	val = qmp_reply_value(q, command, msg, err);
	json_decref(msg);
	if (!val)
		return -1;
	json_decref(val);
	return vc_err_set(err, VC_EXIT_CONN,
			  "%s: malformed reply from QEMU", command);
}

int qmp_wait_event(struct qmp *q, int timeout_ms, struct vc_err *err)
{
	int64_t deadline;
	json_t *msg;
	int r;

	if (qmp_event_count(q))
		return 1;
	deadline = timeout_ms < 0 ? -1 : vc_now_ms() + timeout_ms;
	for (;;) {
		/* Only here: a stop signal never cuts a command's reply short. */
		vc_stop_interruptible = 1;
		r = qmp_read_msg(q, deadline, &msg, err);
		vc_stop_interruptible = 0;
		if (r == RD_TIMEOUT)
			return 0;
		if (r == RD_EOF)
			return vc_err_set(err, VC_EXIT_CONN,
					  "%s: QEMU closed the connection",
					  q->name);
		if (r == RD_ERR)
			return vc_err_prefix(err, "%s", q->name);
		r = qmp_keep_event(q, msg, err);
		if (r != 0)
			return r;
	}
}
