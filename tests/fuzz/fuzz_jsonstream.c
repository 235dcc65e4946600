/* fuzz_jsonstream.c - libFuzzer target for the JSON stream framer.
 *
 * Input: one byte that picks the read size (1..256 bytes, so messages are
 * split at every possible place), then the stream.  Every complete message
 * must come out as a JSON object, an error must stick and carry a message,
 * and nothing may leak.
 */
#include <stdlib.h>

#include "vcpuctl/jsonstream.h"
#include "fuzz_main.h"

static int drain(struct jstream *js)
{
	struct vc_err err = { 0 };
	json_t *msg;
	int r;

	while ((r = js_next(js, &msg, &err)) > 0) {
		if (!json_is_object(msg))
			abort();
		json_decref(msg);
	}
	if (r < 0 && (err.code != VC_EXIT_CONN || !err.msg[0] || msg))
		abort();
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_err err = { 0 };
	struct jstream js;
	size_t chunk, off, n;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	js_init(&js);
	for (off = 0; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (js_feed(&js, data + off, n, &err) < 0) {
			if (!err.msg[0])
				abort();
			break;
		}
		if (drain(&js) < 0)
			break;
	}
	js_free(&js);
	return 0;
}
