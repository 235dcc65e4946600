/* jsonstream.h - framing of a byte stream into JSON texts.
 *
 * QMP and the guest agent send JSON objects back to back, usually ended by
 * "\r\n" but with pretty=on spread over many lines.  The framer therefore
 * splits by JSON structure (brace/bracket depth, strings and escapes), not
 * by newline, and it copes with partial reads and many messages in one
 * read.  Bytes outside any object (whitespace, and the 0xff that
 * guest-sync-delimited sends) are skipped; any other stray byte at top level
 * is a framing error.
 */
#ifndef VCPUCTL_JSONSTREAM_H
#define VCPUCTL_JSONSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "vcpuctl/err.h"

/* Largest single message accepted; a longer one is an error, not an
 * allocation without bound. */
#define JS_MAX_MESSAGE (8u * 1024 * 1024)
/* Deepest nesting accepted (jansson itself stops at 2048). */
#define JS_MAX_DEPTH 64

struct jstream {
	char *buf;        /* owned */
	size_t len;       /* bytes held */
	size_t cap;
	size_t scan;      /* bytes of buf[] already scanned for the frame end */
	int depth;        /* scanner state, kept across feeds */
	int in_string;
	int escape;
	size_t start;     /* offset of the current message's first byte */
	int started;
};

void js_init(struct jstream *js);
void js_free(struct jstream *js);

/* Append n bytes read from the peer and scan them up to the end of the
 * next object.  Returns 0, or -1 with err set (VC_EXIT_CONN) when the
 * pending message would pass JS_MAX_MESSAGE or the framing is already
 * broken (stray byte, too deep); VC_EXIT_INTERNAL when out of memory. */
int js_feed(struct jstream *js, const void *data, size_t n, struct vc_err *err);

/* Take the next complete message.  Returns 1 and sets *out to a new
 * reference to a JSON object; 0 when no complete message is buffered yet;
 * -1 with err set (VC_EXIT_CONN) on malformed input (stray bytes, bad JSON,
 * too deep, top-level value not an object).  After -1 the stream is
 * unusable. */
int js_next(struct jstream *js, json_t **out, struct vc_err *err);

/* Like js_next, but the message is not parsed: *text (borrowed from js,
 * valid until the next js_feed or js_reset) and *len are its verbatim
 * bytes.  Same returns; -1 only for framing errors.  For replies so big
 * that a jansson tree of them costs more than the work done on them. */
int js_next_frame(struct jstream *js, const char **text, size_t *len,
		  struct vc_err *err);

/* Parse one framed message as js_next does, with its errors ("malformed
 * JSON: ...", "top-level JSON value is not an object").  Returns 1 with
 * *out a new reference, or -1 with err set. */
int js_parse_frame(const char *text, size_t len, json_t **out,
		   struct vc_err *err);

/* Reading values straight from a reply's text, without a jansson tree:
 * for replies of thousands of vCPUs, where a tree costs more than the
 * work done on it.
 *
 * js_valid() tells whether text[0, len) is one JSON value that jansson
 * would accept (strings of well-formed UTF-8 and escapes, no U+0000,
 * nesting at most JS_MAX_DEPTH), with optional whitespace around it; any
 * size of number passes.  When not, *bad_at (may be NULL) is the offset
 * of the first byte at fault.  The walkers below assume text that passed
 * it. */
bool js_valid(const char *text, size_t len, size_t *bad_at);

/* The first byte at or after p that is not JSON whitespace. */
const char *js_skip_ws(const char *p, const char *end);

/* The byte just past the value starting at p (which is not whitespace). */
const char *js_skip_value(const char *p, const char *end);

/* Step through a container: given p just inside '[' or '{' or just after
 * a value, skip to the next member.  Returns the member's first byte (for
 * an object: its key's opening quote), or NULL at the closing bracket;
 * *end_out then points past it. */
const char *js_next_member(const char *p, const char *end,
			   const char **end_out);

/* The value of an object member whose key starts at p: the first byte of
 * the value after the ':'.  *key and *klen are the key's bytes between
 * the quotes, escapes not decoded (js_key_is compares them). */
const char *js_member_value(const char *p, const char *end,
			    const char **key, size_t *klen);

/* The key's bytes (as js_member_value gives them) spell name, a name
 * without backslashes. */
bool js_key_is(const char *key, size_t klen, const char *name);

/* The string value whose opening quote is at p, decoded (new, NUL
 * terminated), or NULL when out of memory. */
char *js_string_dup(const char *p, const char *end);

/* Decode the n bytes between a string's quotes into out (n + 1 bytes at
 * least); returns the decoded length. */
size_t js_unescape(const char *s, size_t n, char *out);

/* Copy the value p[0, end) to out without its whitespace (strings
 * verbatim); returns the end of what was written, at most end - p bytes.
 * Simple replies come out as jansson's compact dump would write them. */
char *js_minify(const char *p, const char *end, char *out);

/* Drop everything buffered (used after guest-sync to discard stale
 * replies). */
void js_reset(struct jstream *js);

#endif
