/* session.c - one JSON session over a stream, under QMP and the guest
 * agent: transport, framing, trace, commands and reply decoding.
 *
 * The transport is sock.c (or a caller's, for the fuzz targets): every wait
 * is bounded by the session timeout, so a peer that hangs, dies or never
 * answers turns into an error instead of a stuck process.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vcpuctl/session.h"
#include "vcpuctl/sock.h"
#include "vcpuctl/util.h"

int sess_init(struct sess *s, const struct sess_peer *peer, const char *name,
	      int timeout_ms, struct vc_err *err)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->peer = peer;
	s->timeout_ms = timeout_ms;
	js_init(&s->js);
	s->name = strdup(name ? name : "");
	s->rbuf = malloc(SOCK_READ_SIZE);
	if (!s->name || !s->rbuf)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	return 0;
}

void sess_free(struct sess *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->trace)
		fclose(s->trace);
	js_free(&s->js);
	free(s->rbuf);
	free(s->sbuf);
	free(s->name);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

int sess_connect_unix(struct sess *s, int *conn_errno, struct vc_err *err)
{
	s->fd = sock_connect_unix(s->name, s->timeout_ms, s->peer->code,
				  conn_errno, err);
	return s->fd < 0 ? -1 : 0;
}

void sess_use_transport(struct sess *s, const struct sess_transport *tp)
{
	s->tp = *tp;
}

int sess_trace_open(struct sess *s, const char *path, struct vc_err *err)
{
	s->trace = fopen(path, "a");
	if (!s->trace)
		return vc_err_errno(err, VC_EXIT_USAGE, errno, "--trace %s", path);
	setvbuf(s->trace, NULL, _IOLBF, 0);
	return 0;
}

void sess_trace(struct sess *s, char dir, const char *text, size_t len)
{
	char *buf, *end;

	if (!s->trace)
		return;
	buf = malloc(len ? len : 1);
	if (!buf)
		return;
	end = js_minify(text, text + len, buf);
	fprintf(s->trace, "%s%c ", s->peer->tag, dir);
	fwrite(buf, 1, (size_t)(end - buf), s->trace);
	fputc('\n', s->trace);
	free(buf);
}

int sess_send(struct sess *s, const char *what, const char *buf, size_t len,
	      int *status, struct vc_err *err)
{
	int64_t deadline = vc_deadline(s->timeout_ms);
	char secs[32];
	int r;

	if (s->tp.send)
		r = s->tp.send(s->tp.ctx, buf, len, deadline);
	else
		r = sock_send_all(s->fd, buf, len, deadline, what,
				  s->peer->code, err);
	if (status)
		*status = r;
	if (r == SOCK_CLOSED) {
		s->closed = true;
		return vc_err_set(err, s->peer->code, "%s: %s", what,
				  s->peer->closed);
	}
	if (r == SOCK_TIMEOUT) {
		vc_fmt_secs(secs, sizeof(secs), s->timeout_ms);
		return vc_err_set(err, s->peer->code, "%s: %s within %s s%s",
				  what, s->peer->stalled, secs,
				  s->peer->stalled_why);
	}
	return r < 0 ? -1 : 0;
}

/* Serialise the command and a newline into s->sbuf.  Returns the length,
 * or 0 when out of memory. */
static size_t sess_build(struct sess *s, const char *command, json_t *args,
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
	if (id && json_object_set_new(req, "id", json_string(id)) < 0)
		goto fail;
	n = json_dumpb(req, NULL, 0, JSON_COMPACT);
	if (n == 0)
		goto fail;
	if (n + 1 > s->scap) {
		buf = realloc(s->sbuf, n + 1);
		if (!buf)
			goto fail;
		s->sbuf = buf;
		s->scap = n + 1;
	}
	json_dumpb(req, s->sbuf, n, JSON_COMPACT);
	s->sbuf[n] = '\n';
	json_decref(req);
	return n + 1;
fail:
	json_decref(req);
	return 0;
}

int sess_command(struct sess *s, const char *command, json_t *args,
		 const char *id, struct vc_err *err)
{
	size_t len;

	s->err_class[0] = '\0';
	if (s->closed)
		return vc_err_set(err, s->peer->code, "%s: %s", command,
				  s->peer->closed);
	len = sess_build(s, command, args, id);
	if (!len)
		return vc_err_set(err, VC_EXIT_INTERNAL,
				  "%s: cannot encode command", command);
	if (s->trace) {
		fprintf(s->trace, "%s> ", s->peer->tag);
		fwrite(s->sbuf, 1, len, s->trace);
	}
	if (sess_send(s, command, s->sbuf, len, NULL, err) < 0)
		return -1;
	s->round_trips++;
	return 0;
}

ssize_t sess_recv(struct sess *s, int64_t deadline, struct vc_err *err)
{
	ssize_t n;

	if (s->closed)
		return SESS_EOF;
	/* No prefix: callers name the step ("greeting", a command). */
	if (s->tp.recv)
		n = s->tp.recv(s->tp.ctx, s->rbuf, SOCK_READ_SIZE, deadline);
	else
		n = sock_recv(s->fd, s->rbuf, SOCK_READ_SIZE, deadline, NULL,
			      s->peer->code, err);
	if (n == SOCK_TIMEOUT)
		return SESS_TIMEOUT;
	if (n == SOCK_CLOSED) {
		s->closed = true;
		return SESS_EOF;
	}
	return n < 0 ? SESS_ERR : n;
}

int sess_read_frame(struct sess *s, int64_t deadline, const char **text,
		    size_t *len, struct vc_err *err)
{
	ssize_t n;
	int r;

	*text = NULL;
	if (s->closed)
		return SESS_EOF;
	for (;;) {
		r = js_next_frame(&s->js, text, len, err);
		if (r < 0)
			return SESS_ERR;
		if (r > 0) {
			sess_trace(s, '<', *text, *len);
			return SESS_MSG;
		}
		n = sess_recv(s, deadline, err);
		if (n <= 0)
			return (int)n;
		if (js_feed(&s->js, s->rbuf, (size_t)n, err) < 0)
			return SESS_ERR;
	}
}

int sess_read_msg(struct sess *s, int64_t deadline, json_t **out,
		  struct vc_err *err)
{
	const char *text;
	size_t len;
	int r;

	*out = NULL;
	r = sess_read_frame(s, deadline, &text, &len, err);
	if (r != SESS_MSG)
		return r;
	return js_parse_frame(text, len, out, err) < 0 ? SESS_ERR : SESS_MSG;
}

void sess_read_error(struct sess *s, const char *command, int r,
		     struct vc_err *err)
{
	char secs[32];

	if (r == SESS_TIMEOUT) {
		vc_fmt_secs(secs, sizeof(secs), s->timeout_ms);
		vc_err_set(err, s->peer->code, "%s: no reply within %s s",
			   command, secs);
	} else if (r == SESS_EOF) {
		vc_err_set(err, s->peer->code, "%s: %s", command,
			   s->peer->closed);
	} else {
		if (s->peer->framing)
			vc_err_prefix(err, "%s: %s", command, s->peer->framing);
		else
			vc_err_prefix(err, "%s", command);
		/* The framing's own code is QMP's. */
		if (err->code != VC_EXIT_INTERNAL)
			err->code = s->peer->code;
	}
}

json_t *sess_reply_value(struct sess *s, const char *command, json_t *msg,
			 struct vc_err *err)
{
	const struct sess_peer *p = s->peer;
	json_t *ret = json_object_get(msg, "return");
	json_t *e = json_object_get(msg, "error");
	const char *cls, *desc;

	if (ret && !e)
		return json_incref(ret);
	if (e && !ret) {
		cls = json_string_value(json_object_get(e, "class"));
		desc = json_string_value(json_object_get(e, "desc"));
		if (p->strict_error && (!cls || !desc)) {
			vc_err_set(err, p->code,
				   "%s: malformed error reply from %s", command,
				   p->who);
			return NULL;
		}
		snprintf(s->err_class, sizeof(s->err_class), "%s",
			 cls ? cls : "");
		if (p->reply_names_command)
			vc_err_set(err, p->reply_code, "%s: %s: %s", command,
				   cls ? cls : "Error",
				   desc ? desc : "(no description)");
		else
			vc_err_set(err, p->reply_code, "%s: %s",
				   cls ? cls : "Error",
				   desc ? desc : "(no description)");
		return NULL;
	}
	vc_err_set(err, p->code, "%s: malformed reply from %s: %s", command,
		   p->who, ret ? "both \"return\" and \"error\""
			       : "neither \"return\" nor \"error\"");
	return NULL;
}
