/* qmp.c - QMP client: connect, greeting, id-matched commands and the
 * event queue, on the session layer (session.c).
 *
 * Every wait is bounded by the session timeout, so a QEMU that hangs, dies
 * or serves another client turns into an error instead of a stuck process;
 * the messages speak of QEMU and the monitor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vcpuctl/jsonstream.h"
#include "vcpuctl/qmp.h"
#include "vcpuctl/session.h"
#include "vcpuctl/sock.h"
#include "vcpuctl/util.h"

struct qmp {
	struct sess s;
	unsigned next_id;
	char version[64];
	char *package;
	pid_t peer_pid;
	json_t **ev;            /* events, oldest at ev[ev_head] */
	size_t ev_head;
	size_t ev_len;
	size_t ev_cap;
};

static const struct sess_peer qmp_peer = {
	.who = "QEMU",
	.closed = "QEMU closed the connection",
	.stalled = "QEMU did not take the command",
	.stalled_why = "",
	.framing = NULL,
	.tag = "",
	.code = VC_EXIT_CONN,
	.reply_code = VC_EXIT_QEMU,
	.reply_names_command = false,
	.strict_error = true,
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

	if (sess_connect_unix(&q->s, &e, err) < 0)
		return qmp_unix_error(path, e, q->s.timeout_ms, err);
	fd = q->s.fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		q->peer_pid = cred.pid;
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
	fd = sock_connect_tcp(host, port, hostport, q->s.timeout_ms,
			      VC_EXIT_CONN, err);
	free(copy);
	if (fd < 0)
		return -1;
	q->s.fd = fd;
	return 0;
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
	int64_t deadline;
	int r;

	deadline = vc_deadline(q->s.timeout_ms);
	/* QEMU can put an event ahead of the greeting: a client that takes the
	 * monitor the moment the previous one leaves may be sent an event (a
	 * guest's late eject of the previous client's device_del) before
	 * QEMU has greeted it.  It is an event like any other; queue it and
	 * read on, within the same deadline. */
	while ((r = sess_read_msg(&q->s, deadline, &msg, err)) == SESS_MSG &&
	       !json_object_get(msg, "QMP") &&
	       json_is_string(json_object_get(msg, "event")))
		if (qmp_keep_event(q, msg, err) < 0)
			return -1;
	if (r == SESS_TIMEOUT) {
		vc_fmt_secs(secs, sizeof(secs), q->s.timeout_ms);
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: no QMP greeting within %s s: the monitor is busy with another client, or QEMU is not answering",
				  q->s.name, secs);
	}
	if (r == SESS_EOF)
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: QEMU closed the connection before its greeting",
				  q->s.name);
	if (r == SESS_ERR)
		return vc_err_prefix(err, "%s: greeting", q->s.name);
	greet = json_object_get(msg, "QMP");
	if (!json_is_object(greet)) {
		json_decref(msg);
		return vc_err_set(err, VC_EXIT_CONN,
				  "%s: not a QMP monitor (no greeting)", q->s.name);
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
	if (sess_init(&q->s, &qmp_peer,
		      strncmp(spec, "unix:", 5) == 0 ? spec + 5
		      : strncmp(spec, "tcp:", 4) == 0 ? spec + 4 : spec,
		      timeout_ms, err) < 0)
		goto fail;
	if (!*q->s.name) {
		vc_err_set(err, VC_EXIT_CONN, "%s: empty socket path", spec);
		goto fail;
	}
	if (strncmp(spec, "tcp:", 4) == 0)
		rc = qmp_connect_tcp(q, q->s.name, err);
	else
		rc = qmp_connect_unix(q, q->s.name, err);
	if (rc < 0 || qmp_read_greeting(q, err) < 0)
		goto fail;
	r = qmp_call(q, "qmp_capabilities", NULL, err);
	if (!r) {
		vc_err_prefix(err, "%s", q->s.name);
		goto fail;
	}
	json_decref(r);
	/* Only the caller's commands count (qmp.h). */
	q->s.round_trips = 0;
	return q;
fail:
	qmp_close(q);
	return NULL;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	sess_free(&q->s);
	while (q->ev_head < q->ev_len)
		json_decref(q->ev[q->ev_head++]);
	free(q->ev);
	free(q->package);
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
	return q->s.fd;
}

unsigned qmp_round_trips(const struct qmp *q)
{
	return q->s.round_trips;
}

void qmp_set_trace(struct qmp *q, FILE *trace)
{
	if (q->s.trace && q->s.trace != trace)
		fclose(q->s.trace);
	q->s.trace = trace;
}

const char *qmp_last_error_class(const struct qmp *q)
{
	return q->s.err_class;
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

/* Send command with a fresh id (written to id, 32 bytes).  Returns 0, or
 * -1 with err set. */
static int qmp_send_command(struct qmp *q, const char *command, json_t *args,
			    char *id, struct vc_err *err)
{
	snprintf(id, 32, "vc-%u", ++q->next_id);
	return sess_command(&q->s, command, args, id, err);
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
	deadline = vc_deadline(q->s.timeout_ms);
	for (;;) {
		r = sess_read_msg(&q->s, deadline, &msg, err);
		if (r != SESS_MSG) {
			sess_read_error(&q->s, command, r, err);
			return NULL;
		}
		if (qmp_is_reply(q, msg, id, &fail, err))
			break;
		if (fail)
			return NULL;
	}
	val = sess_reply_value(&q->s, command, msg, err);
	json_decref(msg);
	return val;
}

/* Our reply to id, with "return" and no "error": *ret, *rlen is the
 * verbatim text of the "return" value.  The frame must be valid JSON
 * (js_valid).  Anything else (an event, an error reply, another id) is
 * for qmp_is_reply() and sess_reply_value() to judge. */
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
	deadline = vc_deadline(q->s.timeout_ms);
	for (;;) {
		r = sess_read_frame(&q->s, deadline, &frame, &flen, err);
		if (r == SESS_MSG && !js_valid(frame, flen, &bad)) {
			vc_err_set(err, VC_EXIT_CONN, "malformed JSON at byte %zu",
				   bad);
			r = SESS_ERR;
		}
		if (r == SESS_MSG && qmp_return_text(frame, flen, id, text, len))
			return 0;
		if (r == SESS_MSG && js_parse_frame(frame, flen, &msg, err) < 0)
			r = SESS_ERR;
		if (r != SESS_MSG) {
			sess_read_error(&q->s, command, r, err);
			return -1;
		}
		if (qmp_is_reply(q, msg, id, &fail, err))
			break;
		if (fail)
			return -1;
	}
	/* An error reply, or one of the wrong shape. */
	val = sess_reply_value(&q->s, command, msg, err);
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
		r = sess_read_msg(&q->s, deadline, &msg, err);
		vc_stop_interruptible = 0;
		if (r == SESS_TIMEOUT)
			return 0;
		if (r == SESS_EOF)
			return vc_err_set(err, VC_EXIT_CONN,
					  "%s: QEMU closed the connection",
					  q->s.name);
		if (r == SESS_ERR)
			return vc_err_prefix(err, "%s", q->s.name);
		r = qmp_keep_event(q, msg, err);
		if (r != 0)
			return r;
	}
}
