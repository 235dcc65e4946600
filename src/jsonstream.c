/* jsonstream.c - splitting a byte stream into JSON objects.
 *
 * The scanner keeps its state (depth, inside a string, after a backslash)
 * across feeds and never looks at a byte twice, so a multi-MiB reply that
 * arrives in small reads costs O(n).  It only finds where an object ends;
 * jansson then parses that one frame.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/jsonstream.h"

/* First allocation: one socket read's worth. */
#define JS_MIN_CAP (64u * 1024)

void js_init(struct jstream *js)
{
	memset(js, 0, sizeof(*js));
}

void js_free(struct jstream *js)
{
	free(js->buf);
	js_init(js);
}

void js_reset(struct jstream *js)
{
	char *buf = js->buf;
	size_t cap = js->cap;

	js_init(js);
	js->buf = buf;
	js->cap = cap;
}

static bool js_complete(const struct jstream *js)
{
	return js->started && js->depth == 0;
}

static int js_too_big(struct vc_err *err)
{
	return vc_err_set(err, VC_EXIT_CONN, "message exceeds %u MiB limit",
			  JS_MAX_MESSAGE / (1024 * 1024));
}

/* Advance the scanner over buffered bytes up to the end of the current
 * object.  Returns 1 when buf[start, scan) holds a whole object, 0 when more
 * bytes are needed, -1 on a framing error. */
static int js_scan(struct jstream *js, struct vc_err *err)
{
	const unsigned char *p = (const unsigned char *)js->buf;
	size_t i = js->scan;
	unsigned char c;

	if (js_complete(js))
		return 1;
	while (i < js->len) {
		c = p[i];
		if (!js->started) {
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			    c == 0xff) {
				i++;
				continue;
			}
			if (c != '{') {
				js->scan = i;
				if (c == '[' || c == '"' || (c >= '0' && c <= '9') ||
				    c == '-' || c == 't' || c == 'f' || c == 'n')
					return vc_err_set(err, VC_EXIT_CONN,
							  "top-level JSON value is not an object");
				return vc_err_set(err, VC_EXIT_CONN,
						  "unexpected byte 0x%02x between JSON messages",
						  c);
			}
			js->started = 1;
			js->start = i;
			js->depth = 1;
			i++;
			continue;
		}
		if (js->in_string) {
			if (js->escape) {
				js->escape = 0;
			} else if (c == '\\') {
				js->escape = 1;
			} else if (c == '"') {
				js->in_string = 0;
			} else {
				/* Skip the dull middle of long strings fast. */
				const unsigned char *q = p + i + 1;
				const unsigned char *end = p + js->len;

				while (q < end && *q != '"' && *q != '\\')
					q++;
				i = (size_t)(q - p);
				continue;
			}
			i++;
			continue;
		}
		switch (c) {
		case '"':
			js->in_string = 1;
			break;
		case '{':
		case '[':
			if (++js->depth > JS_MAX_DEPTH) {
				js->scan = i;
				return vc_err_set(err, VC_EXIT_CONN,
						  "JSON nested deeper than %d levels",
						  JS_MAX_DEPTH);
			}
			break;
		case '}':
		case ']':
			js->depth--;
			break;
		}
		i++;
		if (js->depth == 0)
			break;
	}
	js->scan = i;
	if (js->started && js->scan - js->start > JS_MAX_MESSAGE)
		return js_too_big(err);
	return js_complete(js);
}

/* Drop bytes already consumed so the buffer holds only the pending tail. */
static void js_compact(struct jstream *js)
{
	size_t base = js->started ? js->start : js->scan;

	if (base == 0)
		return;
	memmove(js->buf, js->buf + base, js->len - base);
	js->len -= base;
	js->scan -= base;
	if (js->started)
		js->start = 0;
}

int js_feed(struct jstream *js, const void *data, size_t n, struct vc_err *err)
{
	size_t need, cap;
	char *buf;

	js_compact(js);
	need = js->len + n;
	if (need > js->cap) {
		cap = js->cap ? js->cap : JS_MIN_CAP;
		while (cap < need)
			cap *= 2;
		buf = realloc(js->buf, cap);
		if (!buf)
			return vc_err_set(err, VC_EXIT_INTERNAL,
					  "out of memory buffering %zu bytes", need);
		js->buf = buf;
		js->cap = cap;
	}
	if (n) {
		memcpy(js->buf + js->len, data, n);
		js->len += n;
	}
	return js_scan(js, err) < 0 ? -1 : 0;
}

int js_next(struct jstream *js, json_t **out, struct vc_err *err)
{
	json_error_t jerr;
	json_t *msg;
	int r;

	*out = NULL;
	r = js_scan(js, err);
	if (r <= 0)
		return r;
	msg = json_loadb(js->buf + js->start, js->scan - js->start, 0, &jerr);
	js->started = 0;
	js->depth = 0;
	if (!msg)
		return vc_err_set(err, VC_EXIT_CONN, "malformed JSON: %s",
				  jerr.text);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return vc_err_set(err, VC_EXIT_CONN,
				  "top-level JSON value is not an object");
	}
	*out = msg;
	return 1;
}
