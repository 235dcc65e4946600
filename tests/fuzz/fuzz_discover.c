/* fuzz_discover.c - libFuzzer target for the QEMU command-line parser.
 *
 * Input: a /proc/PID/cmdline as QEMU would leave it (NUL-separated
 * arguments, any bytes).  Checks beyond "no crash": the parse never fails
 * but for memory, every monitor's spec says what its fields say, and
 * resolving the VM by its own name and pid either picks one of its
 * connectable monitors or fails with a message and a documented code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/discover.h"
#include "fuzz_main.h"

/* Longer lines only cost time: the parser is one pass over the options. */
#define FUZZ_MAX_LINE 65536

static void check_monitor(const struct disc_monitor *m)
{
	char want[FUZZ_MAX_LINE + 64];

	if (!m->option)
		abort();
	if (m->transport == DISC_UNIX) {
		if (!m->path && m->fd < 0)
			abort();
		if (m->path) {
			snprintf(want, sizeof(want), "unix:%s", m->path);
			if (!m->spec || strcmp(m->spec, want))
				abort();
		} else if (m->spec) {
			abort();
		}
	} else if (!m->port || !m->host || !m->spec || strncmp(m->spec, "tcp:", 4)) {
		abort();
	}
}

static void check_resolve(const struct disc_list *l, const char *selector)
{
	const struct disc_monitor *mon;
	const struct disc_vm *vm;
	struct vc_err err = { 0 };

	if (disc_resolve(l, selector, &vm, &mon, &err) == 0) {
		if (vm != &l->vms[0] || mon < vm->mons || mon >= vm->mons + vm->n_mons ||
		    !mon->server || !mon->spec)
			abort();
		return;
	}
	if (!err.msg[0] || (err.code != VC_EXIT_USAGE && err.code != VC_EXIT_CONN))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_err err = { 0 };
	struct disc_vm vm = { .pid = 4242, .cmdline_readable = true };
	struct disc_list l = { &vm, 1 };
	char *sel;
	size_t i;

	if (size > FUZZ_MAX_LINE)
		return 0;
	if (disc_parse_cmdline((const char *)data, size, "/", &vm, &err) < 0) {
		if (err.code != VC_EXIT_INTERNAL)
			abort();
		disc_vm_free(&vm);
		return 0;
	}
	for (i = 0; i < vm.n_mons; i++)
		check_monitor(&vm.mons[i]);
	check_resolve(&l, "pid:4242");
	if (vm.name && asprintf(&sel, "name:%s", vm.name) >= 0) {
		check_resolve(&l, sel);
		free(sel);
	}
	disc_vm_free(&vm);
	return 0;
}
