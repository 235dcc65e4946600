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

int js_next_frame(struct jstream *js, const char **text, size_t *len,
		  struct vc_err *err)
{
	int r;

	*text = NULL;
	*len = 0;
	r = js_scan(js, err);
	if (r <= 0)
		return r;
	*text = js->buf + js->start;
	*len = js->scan - js->start;
	js->started = 0;
	js->depth = 0;
	return 1;
}

int js_next(struct jstream *js, json_t **out, struct vc_err *err)
{
	const char *text;
	size_t len;
	int r;

	*out = NULL;
	r = js_next_frame(js, &text, &len, err);
	if (r <= 0)
		return r;
	return js_parse_frame(text, len, out, err);
}

int js_parse_frame(const char *text, size_t len, json_t **out,
		   struct vc_err *err)
{
	json_error_t jerr;
	json_t *msg;

	*out = NULL;
	msg = json_loadb(text, len, 0, &jerr);
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

/* Simple JSON (jsonstream.h): checked in one pass without allocating, so
 * that a multi-MiB reply costs a few ms; jansson's tree of it would cost
 * tens of ms and 8x its size in memory. */

static bool js_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *js_skip_ws(const char *p, const char *end)
{
	while (p < end && js_is_ws(*p))
		p++;
	return p;
}

/* Past the closing quote of the simple string at p, or NULL. */
static const char *js_simple_string(const char *p, const char *end)
{
	unsigned char c;

	for (p++; p < end; p++) {
		c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20 || c > 0x7e || c == '\\')
			return NULL;
	}
	return NULL;
}

/* Past a simple integer or literal at p, or NULL.  What may follow a
 * value ("1.5", "01", "truex") is the caller's structural check. */
static const char *js_simple_scalar(const char *p, const char *end)
{
	const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" :
			  *p == 'n' ? "null" : NULL;
	const char *d;
	size_t n;

	if (lit) {
		n = strlen(lit);
		if ((size_t)(end - p) >= n && !memcmp(p, lit, n))
			return p + n;
		return NULL;
	}
	d = p + (p < end && *p == '-');
	if (d == end || *d < '0' || *d > '9' || (d > p && *d == '0'))
		return NULL;
	for (p = d; p < end && *p >= '0' && *p <= '9'; p++)
		;
	return p - d <= 18 ? p : NULL;
}

bool js_simple(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	char close[JS_MAX_DEPTH];
	int depth = 0;
	bool want_key = false;

	for (;;) {
		/* A value (or, in an object, a key and its value). */
		p = js_skip_ws(p, end);
		if (p == end)
			return false;
		if (want_key) {
			if (*p != '"' || !(p = js_simple_string(p, end)))
				return false;
			p = js_skip_ws(p, end);
			if (p == end || *p != ':')
				return false;
			p = js_skip_ws(p + 1, end);
			if (p == end)
				return false;
		}
		if (*p == '{' || *p == '[') {
			if (depth == JS_MAX_DEPTH)
				return false;
			close[depth++] = *p == '{' ? '}' : ']';
			want_key = *p == '{';
			p = js_skip_ws(p + 1, end);
			if (p < end && *p == close[depth - 1])
				depth--;
			else
				continue;
			p++;
		} else if (*p == '"') {
			p = js_simple_string(p, end);
		} else {
			p = js_simple_scalar(p, end);
		}
		if (!p)
			return false;
		/* After a value: a comma, closing brackets, or the end. */
		for (;;) {
			p = js_skip_ws(p, end);
			if (depth == 0)
				return p == end;
			if (p == end)
				return false;
			if (*p == ',') {
				want_key = close[depth - 1] == '}';
				p++;
				break;
			}
			if (*p != close[depth - 1])
				return false;
			depth--;
			p++;
		}
	}
}

/* The closing quote of the simple string opened at p: strings here are
 * short, where a loop beats memchr's set-up. */
static const char *js_close_quote(const char *p, const char *end)
{
	for (p++; p < end && *p != '"'; p++)
		;
	return p;
}

const char *js_skip_value(const char *p, const char *end)
{
	int depth = 0;

	if (p < end && *p == '"')
		return js_close_quote(p, end) + 1;
	if (p < end && *p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != ']' && *p != '}' &&
		       !js_is_ws(*p))
			p++;
		return p;
	}
	for (; p < end; p++) {
		if (*p == '"')
			p = js_close_quote(p, end);
		else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
	}
	return end;
}

const char *js_next_member(const char *p, const char *end,
			   const char **end_out)
{
	p = js_skip_ws(p, end);
	if (p < end && *p == ',')
		return js_skip_ws(p + 1, end);
	if (p < end && (*p == ']' || *p == '}')) {
		*end_out = p + 1;
		return NULL;
	}
	return p;
}

const char *js_member_value(const char *p, const char *end,
			    const char **key, size_t *klen)
{
	const char *q = js_close_quote(p, end);

	*key = p + 1;
	*klen = (size_t)(q - p - 1);
	p = js_skip_ws(q + 1, end);
	return js_skip_ws(p + 1, end);
}
