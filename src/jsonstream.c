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

/* Reading values straight from reply text (jsonstream.h): js_valid()
 * checks a whole reply in one pass without allocating, so that a
 * multi-MiB reply costs a few ms; jansson's tree of it would cost tens of
 * ms and 8x its size in memory. */

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

static int js_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The code unit of "\uXXXX" at p (p[0] == '\\'), or -1. */
static long js_u_escape(const char *p, const char *end)
{
	long v = 0;
	int i, h;

	if (end - p < 6 || p[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++) {
		h = js_hex(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Past one UTF-8 sequence at p (first byte >= 0x80), or NULL when it is
 * not well formed: no overlong forms, no surrogates, nothing past
 * U+10FFFF, as jansson checks. */
static const char *js_utf8(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned long cp;
	int n, i;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 1, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 2, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 3, cp = u[0] & 0x07;
	else
		return NULL;
	if (end - p <= n)
		return NULL;
	for (i = 1; i <= n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return NULL;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return NULL;
	return p + n + 1;
}

/* Past the closing quote of the string at p, or NULL (*bad set) when it
 * is not a JSON string jansson accepts: no raw control bytes, escapes
 * well formed, surrogates paired, no U+0000. */
static const char *js_check_string(const char *p, const char *end,
				   const char **bad)
{
	unsigned char c;
	long u, lo;

	for (p++; p < end; ) {
		c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c >= 0x20 && c < 0x80 && c != '\\') {
			p++;
			continue;
		}
		*bad = p;
		if (c < 0x20)
			return NULL;
		if (c >= 0x80) {
			p = js_utf8(p, end);
			if (!p)
				return NULL;
			continue;
		}
		if (end - p < 2)
			return NULL;
		if (strchr("\"\\/bfnrt", p[1]) && p[1]) {
			p += 2;
			continue;
		}
		u = js_u_escape(p, end);
		if (u <= 0 || (u >= 0xdc00 && u <= 0xdfff))
			return NULL;
		p += 6;
		if (u >= 0xd800 && u <= 0xdbff) {
			lo = js_u_escape(p, end);
			if (lo < 0xdc00 || lo > 0xdfff)
				return NULL;
			p += 6;
		}
	}
	*bad = end;
	return NULL;
}

static const char *js_digits(const char *p, const char *end)
{
	const char *d = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > d ? p : NULL;
}

/* Past the number or literal at p, or NULL.  Any size of number passes:
 * range is the reader's question (js_integer). */
static const char *js_check_scalar(const char *p, const char *end)
{
	const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" :
			  *p == 'n' ? "null" : NULL;
	size_t n;

	if (lit) {
		n = strlen(lit);
		if ((size_t)(end - p) >= n && !memcmp(p, lit, n))
			return p + n;
		return NULL;
	}
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (!(p = js_digits(p, end)))
		return NULL;
	if (p < end && *p == '.' && !(p = js_digits(p + 1, end)))
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		p = js_digits(p, end);
	}
	return p;
}

bool js_valid(const char *text, size_t len, size_t *bad_at)
{
	const char *p = text, *end = text + len, *bad = NULL, *v;
	char close[JS_MAX_DEPTH];
	int depth = 0;
	bool want_key = false;

	for (;;) {
		/* A value (or, in an object, a key and its value). */
		p = js_skip_ws(p, end);
		if (p == end)
			goto fail;
		if (want_key) {
			if (*p != '"' || !(p = js_check_string(p, end, &bad)))
				goto fail;
			p = js_skip_ws(p, end);
			if (p == end || *p != ':')
				goto fail;
			p = js_skip_ws(p + 1, end);
			if (p == end)
				goto fail;
		}
		if (*p == '{' || *p == '[') {
			if (depth == JS_MAX_DEPTH)
				goto fail;
			close[depth++] = *p == '{' ? '}' : ']';
			want_key = *p == '{';
			p = js_skip_ws(p + 1, end);
			if (p < end && *p == close[depth - 1])
				depth--;
			else
				continue;
			v = p + 1;
		} else if (*p == '"') {
			v = js_check_string(p, end, &bad);
		} else {
			v = js_check_scalar(p, end);
		}
		if (!v)
			goto fail;
		p = v;
		/* After a value: a comma, closing brackets, or the end. */
		for (;;) {
			p = js_skip_ws(p, end);
			if (depth == 0) {
				if (p != end)
					goto fail;
				return true;
			}
			if (p == end)
				goto fail;
			if (*p == ',') {
				want_key = close[depth - 1] == '}';
				p++;
				break;
			}
			if (*p != close[depth - 1])
				goto fail;
			depth--;
			p++;
		}
	}
fail:
	if (bad_at)
		*bad_at = (size_t)((bad ? bad : p) - text);
	return false;
}

/* The closing quote of the string opened at p: the first quote after it
 * with an even run of backslashes before it.  Not a byte loop that steps
 * over escapes: there each byte's address depends on the byte before,
 * which made this loop half of what reading a 4096-vCPU topology cost. */
static const char *js_close_quote(const char *p, const char *end)
{
	const char *start = ++p, *q, *b;

	for (; p < end; p = q + 1) {
		q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			return end;
		for (b = q; b > start && b[-1] == '\\'; b--)
			;
		if ((q - b) % 2 == 0)
			return q;
	}
	return end;
}

/* Just past the string opened at p; end when it is not closed. */
static const char *js_past_string(const char *p, const char *end)
{
	const char *q = js_close_quote(p, end);

	return q < end ? q + 1 : end;
}

const char *js_skip_value(const char *p, const char *end)
{
	int depth = 0;

	if (p < end && *p == '"')
		return js_past_string(p, end);
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
	p = js_skip_ws(q < end ? q + 1 : end, end);
	return js_skip_ws(p < end ? p + 1 : end, end);
}

/* Append code point cp to o as UTF-8. */
static char *js_put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

size_t js_unescape(const char *s, size_t n, char *out)
{
	const char *end = s + n, *esc = "b\bf\fn\nr\rt\t";
	char *o = out;
	unsigned long cp;
	const char *m;

	while (s < end) {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		if (s[1] == 'u') {
			cp = (unsigned long)js_u_escape(s, end);
			s += 6;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     ((unsigned long)js_u_escape(s, end) - 0xdc00);
				s += 6;
			}
			o = js_put_utf8(o, cp);
			continue;
		}
		m = strchr(esc, s[1]);
		*o++ = m && (m - esc) % 2 == 0 ? m[1] : s[1];
		s += 2;
	}
	*o = '\0';
	return (size_t)(o - out);
}

char *js_string_dup(const char *p, const char *end)
{
	const char *q = js_close_quote(p, end);
	size_t n = (size_t)(q - p - 1);
	char *s;

	s = malloc(n + 1);
	if (!s)
		return NULL;
	if (memchr(p + 1, '\\', n))
		js_unescape(p + 1, n, s);
	else {
		memcpy(s, p + 1, n);
		s[n] = '\0';
	}
	return s;
}

bool js_key_is(const char *key, size_t klen, const char *name)
{
	size_t n;
	char buf[128];

	/* One pass, no strlen: this runs for every member of every row.  Up
	 * to a key's first escape its text is its value, so a key can only
	 * equal name (which has no backslash) if they first differ at one. */
	for (n = 0; n < klen && name[n] && name[n] == key[n]; n++)
		;
	if (n == klen)
		return !name[n];
	if (key[n] != '\\' || klen >= sizeof(buf))
		return false;
	n = strlen(name);
	/* An escape spells one byte in at least two. */
	if (klen <= n)
		return false;
	return js_unescape(key, klen, buf) == n && !memcmp(buf, name, n);
}

char *js_minify(const char *p, const char *end, char *out)
{
	const char *q;

	while (p < end) {
		if (*p == '"') {
			q = js_past_string(p, end);
			memcpy(out, p, (size_t)(q - p));
			out += q - p;
			p = q;
		} else if (js_is_ws(*p)) {
			p++;
		} else {
			*out++ = *p++;
		}
	}
	return out;
}
