/* fuzz_pending.c - libFuzzer target for the reader of the record of
 * pending removals (pending.h), which is a file anyone who can write the
 * lock directory may have made.
 *
 * Input: the record's text, any bytes.  Checks beyond "no crash": a
 * record that is refused is empty and says why; one that is taken keeps
 * the bounds (entries, id and path lengths, no overlap), formats to text
 * that parses back to the same entries, and after reconciliation with a
 * fixed topology (vCPU 0 boot, 1-2 plugged as vcpu1 and vcpu2, 3 offline)
 * every entry left names a plugged, removable entity exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/pending.h"
#include "fuzz_main.h"

static const char hotpluggable[] =
	"[{\"props\":{\"core-id\":0,\"thread-id\":0,\"socket-id\":3},\"vcpus-count\":1,"
	"\"type\":\"qemu64-x86_64-cpu\"},"
	"{\"props\":{\"core-id\":0,\"thread-id\":0,\"socket-id\":2},\"vcpus-count\":1,"
	"\"qom-path\":\"/machine/peripheral/vcpu2\",\"type\":\"qemu64-x86_64-cpu\"},"
	"{\"props\":{\"core-id\":0,\"thread-id\":0,\"socket-id\":1},\"vcpus-count\":1,"
	"\"qom-path\":\"/machine/peripheral/vcpu1\",\"type\":\"qemu64-x86_64-cpu\"},"
	"{\"props\":{\"core-id\":0,\"thread-id\":0,\"socket-id\":0},\"vcpus-count\":1,"
	"\"qom-path\":\"/machine/unattached/device[0]\",\"type\":\"qemu64-x86_64-cpu\"}]";

static const struct pending_key want = {
	.socket = "2049-4242", .pid = 4242, .start = 123456, .qemu = "",
};

static void check_bounds(const struct pending *p)
{
	size_t i, j;

	if (p->n > PENDING_MAX_ENTRIES)
		abort();
	for (i = 0; i < p->n; i++) {
		const struct pending_entry *e = &p->e[i];

		if (e->vcpu < 0 || e->count < 1 || !e->device_id || !e->qom_path ||
		    strlen(e->device_id) >= PENDING_MAX_ID ||
		    strlen(e->qom_path) >= PENDING_MAX_PATH || e->qom_path[0] != '/' ||
		    e->requested_at < 0 || e->timeout_ms < 0)
			abort();
		for (j = 0; j < i; j++)
			if (e->vcpu < p->e[j].vcpu + p->e[j].count &&
			    p->e[j].vcpu < e->vcpu + e->count)
				abort();
	}
}

static void check_round_trip(const struct pending *p)
{
	struct vc_err why = { 0 };
	struct pending again;
	char *text = pending_format(p);
	size_t i;

	if (!text)
		abort();
	if (pending_parse(text, strlen(text), &want, &again, &why) < 0 ||
	    again.n != p->n)
		abort();
	for (i = 0; i < p->n; i++)
		if (again.e[i].vcpu != p->e[i].vcpu || again.e[i].count != p->e[i].count ||
		    strcmp(again.e[i].device_id, p->e[i].device_id) ||
		    strcmp(again.e[i].qom_path, p->e[i].qom_path) ||
		    again.e[i].requested_at != p->e[i].requested_at ||
		    again.e[i].timeout_ms != p->e[i].timeout_ms)
			abort();
	pending_free(&again);
	free(text);
}

static void check_reconcile(struct pending *p)
{
	struct vc_err err = { 0 };
	struct topology t;
	size_t i, done;

	if (topo_build(&t, hotpluggable, sizeof(hotpluggable) - 1, NULL, 0, 0, &err) < 0)
		abort();
	pending_reconcile(p, &t, &done);
	for (i = 0; i < p->n; i++) {
		const struct pending_entry *e = &p->e[i];
		const struct topo_entity *ent;

		if ((size_t)e->vcpu >= t.n_vcpus)
			abort();
		ent = &t.ents[t.vcpus[e->vcpu].entity];
		if (!ent->online || !ent->removable || ent->first != e->vcpu ||
		    strcmp(ent->qom_path, e->qom_path) ||
		    strcmp(topo_entity_device_id(ent), e->device_id))
			abort();
		if (pending_find(p, e->vcpu) != e)
			abort();
	}
	topo_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_err why = { 0 };
	struct pending p;

	if (pending_parse((const char *)data, size, &want, &p, &why) < 0) {
		if (p.n || p.e || !why.msg[0])
			abort();
		return 0;
	}
	check_bounds(&p);
	check_round_trip(&p);
	check_reconcile(&p);
	pending_free(&p);
	return 0;
}
