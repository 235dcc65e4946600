/* fuzz_cpulist.c - libFuzzer target for the cpulist parser.
 *
 * Input: two bytes that pick the limit (1..65536, the range the commands
 * use), then the list text.  Checks beyond "no crash": a parsed list
 * formats to text that parses back to the same set, and a failure always
 * carries a message and a usage exit code.
 */
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cpulist.h"
#include "fuzz_main.h"

/* Longer texts only cost time: "0-65535," repeated is already the worst. */
#define FUZZ_MAX_TEXT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_err err = { 0 };
	struct cpulist l, again;
	size_t limit, i;
	char *text, *fmt;

	if (size < 2 || size - 2 > FUZZ_MAX_TEXT)
		return 0;
	limit = 1 + ((size_t)data[0] | (size_t)data[1] << 8);
	text = malloc(size - 1);
	if (!text)
		return 0;
	memcpy(text, data + 2, size - 2);
	text[size - 2] = '\0';
	if (cpulist_parse(text, limit, &l, &err) < 0) {
		if (err.code != VC_EXIT_USAGE || !err.msg[0])
			abort();
		if (l.bits)
			abort();
		free(text);
		return 0;
	}
	if (!cpulist_count(&l) || cpulist_next(&l, 0) < 0)
		abort();
	fmt = cpulist_format(&l);
	if (!fmt)
		abort();
	if (cpulist_parse(fmt, limit, &again, &err) < 0)
		abort();
	for (i = 0; i < limit; i++)
		if (cpulist_has(&l, i) != cpulist_has(&again, i))
			abort();
	free(fmt);
	cpulist_free(&again);
	cpulist_free(&l);
	free(text);
	return 0;
}
