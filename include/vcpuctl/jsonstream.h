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

/* Drop everything buffered (used after guest-sync to discard stale
 * replies). */
void js_reset(struct jstream *js);

#endif
