/* test_plan.c - the planner's rules, on topologies built by topo_build_json()
 * from captured replies (tests/fixtures/plan/) and from small synthetic
 * replies made here: x86 threads, pseries cores of 8, mixed sizes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vcpuctl/output.h"
#include "vcpuctl/plan.h"

#define FIXTURES "tests/fixtures/plan/qemumonitorjson-cpuinfo-"
#define CAPTURES "tests/fixtures/captures/qemumonitorjson-cpuinfo-"
#define QEMU10 "tests/fixtures/plan/qemu10-"

/* ---- building topologies ---- */

static json_t *load_return_from(const char *dir, const char *name,
				const char *kind)
{
	char path[256];
	json_error_t jerr;
	json_t *root, *ret;

	snprintf(path, sizeof(path), "%s%s-%s.json", dir, name, kind);
	root = json_load_file(path, 0, &jerr);
	if (!root)
		fail_msg("%s: %s (run from the repository root)", path, jerr.text);
	ret = json_incref(json_object_get(root, "return"));
	json_decref(root);
	assert_non_null(ret);
	return ret;
}

static json_t *load_return(const char *name, const char *kind)
{
	return load_return_from(FIXTURES, name, kind);
}

static void build(struct topology *t, json_t *hp, json_t *cf)
{
	struct vc_err err = { 0 };

	if (topo_build_json(t, hp, cf, 0, &err) < 0)
		fail_msg("topo_build: %s", err.msg);
	json_decref(hp);
	json_decref(cf);
}

static void topo_fixture(struct topology *t, const char *name)
{
	build(t, load_return(name, "hotplug"), load_return(name, "cpus"));
}

static void topo_capture(struct topology *t, const char *dir,
			 const char *name)
{
	build(t, load_return_from(dir, name, "hotplug"),
	      load_return_from(dir, name, "cpus"));
}

static void topo_text(struct topology *t, const char *hp, const char *cf)
{
	json_error_t jerr;
	json_t *h = json_loads(hp, 0, &jerr), *c;

	if (!h)
		fail_msg("hotpluggable: %s", jerr.text);
	c = json_loads(cf, 0, &jerr);
	if (!c)
		fail_msg("cpus-fast: %s", jerr.text);
	build(t, h, c);
}

/* One character per entity, in topology order: 'b' boot CPU (under
 * /machine/unattached), 'p' plugged as "vcpu<first>", 'a' plugged without
 * an id (/machine/peripheral-anon), 'o' offline.  sizes[i] vCPUs each, or
 * 1 when sizes is NULL (then x86-like socket/core/thread ids).  The reply
 * lists entities last first, as QEMU does, so the order is topo_build's. */
static void topo_synth_nodes(struct topology *t, const char *spec,
			     const int *sizes, bool nodes)
{
	json_t *hp = json_array(), *cf = json_array(), *props, *row;
	size_t n = strlen(spec), i;
	int first = 0, cpu_index = 0, j, k;
	char path[96], tpath[128];

	for (i = 0; i < n; i++, first += k) {
		k = sizes ? sizes[i] : 1;
		if (sizes)
			props = json_pack("{s:i, s:i}", "core-id", first,
					  "node-id", 0);
		else
			props = json_pack("{s:i, s:i, s:i}",
					  "socket-id", first / 4,
					  "core-id", first / 2 % 2,
					  "thread-id", first % 2);
		if (!sizes && nodes)
			json_object_set_new(props, "node-id",
					    json_integer(first / 4));
		row = json_pack("{s:o, s:i, s:s}", "props", props,
				"vcpus-count", k, "type",
				sizes ? "host-spapr-cpu-core" : "qemu64-x86_64-cpu");
		assert_non_null(row);
		switch (spec[i]) {
		case 'b':
			snprintf(path, sizeof(path), "/machine/unattached/device[%zu]", i);
			break;
		case 'p':
			snprintf(path, sizeof(path), "/machine/peripheral/vcpu%d", first);
			break;
		case 'a':
			snprintf(path, sizeof(path), "/machine/peripheral-anon/device[%zu]", i);
			break;
		default:
			path[0] = '\0';
		}
		if (path[0])
			json_object_set_new(row, "qom-path", json_string(path));
		json_array_insert_new(hp, 0, row);
		for (j = 0; path[0] && j < k; j++) {
			if (sizes)
				snprintf(tpath, sizeof(tpath), "%s/thread[%d]", path, j);
			else
				snprintf(tpath, sizeof(tpath), "%s", path);
			json_array_append_new(cf, json_pack("{s:i, s:s, s:i}",
				"cpu-index", cpu_index, "qom-path", tpath,
				"thread-id", 1000 + cpu_index));
			cpu_index++;
		}
	}
	build(t, hp, cf);
}

static void topo_synth(struct topology *t, const char *spec, const int *sizes)
{
	topo_synth_nodes(t, spec, sizes, false);
}

/* ---- making plans ---- */

static int plan_count_req(const struct topology *t, const char *count,
			  long min, long max, struct plan *p, struct vc_err *err)
{
	struct plan_request req = { .min = min, .max = max };

	if (plan_parse_count(count, &req, err) < 0)
		fail_msg("plan_parse_count(%s): %s", count, err->msg);
	return plan_make(t, &req, p, err);
}

static int plan_list_req(const struct topology *t, enum plan_kind kind,
			 const char *list, struct plan *p, struct vc_err *err)
{
	struct plan_request req = { .kind = kind, .min = -1, .max = -1 };
	struct cpulist l;
	int rc;

	if (cpulist_parse(list, 4096, &l, err) < 0)
		fail_msg("cpulist_parse(%s): %s", list, err->msg);
	req.list = &l;
	rc = plan_make(t, &req, p, err);
	cpulist_free(&l);
	return rc;
}

/* The plan's steps are op on entities starting at firsts[], in order. */
static void assert_steps(const struct plan *p, enum plan_op op,
			 const int *firsts, size_t n)
{
	size_t i;

	assert_int_equal(p->n_steps, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(p->steps[i].op, op);
		assert_int_equal(p->steps[i].first, firsts[i]);
	}
}

static void assert_empty(const struct plan *p)
{
	assert_null(p->steps);
	assert_int_equal(p->n_steps, 0);
	assert_null(p->note);
}

static void assert_refused(int rc, const struct plan *p,
			   const struct vc_err *err, int code, const char *msg)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, code);
	assert_string_equal(err->msg, msg);
	assert_empty(p);
}

/* The plan document as "plan --json" prints it, without its "max". */
static json_t *plan_doc(const struct topology *t, const struct plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *doc;

	assert_non_null(f);
	assert_int_equal(out_plan_doc(f, t, p), 0);
	fclose(f);
	doc = json_loads(buf, 0, NULL);
	free(buf);
	assert_non_null(doc);
	json_object_del(doc, "max");
	return doc;
}

static void assert_json(json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, 0, NULL);
	char *g;

	assert_non_null(want);
	assert_non_null(got);
	if (!json_equal(got, want)) {
		g = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("got %s\nwant %s", g, want_text);
	}
	json_decref(want);
	json_decref(got);
}

/* ---- plan_parse_count ---- */

static void parse_count_forms(void **state)
{
	struct plan_request req = { .min = -1, .max = -1 };
	struct vc_err err = { 0 };

	(void)state;
	assert_int_equal(plan_parse_count("12", &req, &err), 0);
	assert_int_equal(req.count, 12);
	assert_false(req.relative);
	assert_int_equal(req.kind, PLAN_SET_COUNT);
	assert_int_equal(plan_parse_count("+3", &req, &err), 0);
	assert_int_equal(req.count, 3);
	assert_true(req.relative);
	assert_int_equal(plan_parse_count("-2", &req, &err), 0);
	assert_int_equal(req.count, -2);
	assert_true(req.relative);
	assert_int_equal(plan_parse_count("+0", &req, &err), 0);
	assert_int_equal(req.count, 0);
	assert_true(req.relative);
	assert_int_equal(plan_parse_count("-0", &req, &err), 0);
	assert_int_equal(req.count, 0);
	assert_int_equal(plan_parse_count("0", &req, &err), 0);
	assert_false(req.relative);
}

static void parse_count_junk(void **state)
{
	static const char *const bad[] = {
		"", "abc", "1.5", "--3", "+-3", "+", "-", " 4", "4 ", "0x10",
		"4k", "1e3", "99999999999999999999999", "+99999999999999",
		"2000000",
	};
	struct plan_request req;
	struct vc_err err;
	size_t i;
	char quoted[64];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(plan_parse_count(bad[i], &req, &err), -1);
		assert_int_equal(err.code, VC_EXIT_USAGE);
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		if (!strstr(err.msg, quoted))
			fail_msg("message for %s does not name it: %s",
				 quoted, err.msg);
	}
}

/* ---- counts on x86 (one vCPU per entity) ---- */

static void x86_grow_lowest_first(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int want[] = { 4, 5, 6 };

	(void)state;
	topo_synth(&t, "bbppoooo", NULL);
	assert_int_equal(plan_count_req(&t, "7", -1, -1, &p, &err), 0);
	assert_int_equal(p.from, 4);
	assert_int_equal(p.to, 7);
	assert_int_equal(p.requested, 7);
	assert_null(p.note);
	assert_steps(&p, PLAN_OP_ADD, want, 3);
	assert_string_equal(p.steps[0].device_id, "vcpu4");
	assert_string_equal(p.steps[2].device_id, "vcpu6");
	assert_int_equal(p.steps[1].count, 1);
	plan_free(&p);
	assert_empty(&p);
	topo_free(&t);
}

static void x86_shrink_highest_first(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int want[] = { 5, 4, 3 };

	(void)state;
	/* vCPU 3 is plugged without an id: device_del takes its qom-path. */
	topo_synth(&t, "bbbappoo", NULL);
	assert_int_equal(plan_count_req(&t, "3", -1, -1, &p, &err), 0);
	assert_int_equal(p.from, 6);
	assert_int_equal(p.to, 3);
	assert_steps(&p, PLAN_OP_DEL, want, 3);
	assert_string_equal(p.steps[0].device_id, "vcpu5");
	assert_string_equal(p.steps[1].device_id, "vcpu4");
	assert_string_equal(p.steps[2].device_id,
			    "/machine/peripheral-anon/device[3]");
	plan_free(&p);
	topo_free(&t);
}

static void x86_dies_capture(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int want[] = { 7, 8 };

	(void)state;
	topo_fixture(&t, "x86-dies");
	assert_int_equal(plan_count_req(&t, "9", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, want, 2);
	/* Lowest in topology order: socket 0 die 1 core 1 thread 1, then
	 * socket 1 die 0 core 0 thread 0. */
	assert_json(plan_step_command(&t, &p.steps[0]),
		    "{\"execute\": \"device_add\", \"arguments\": {"
		    "\"core-id\": 1, \"thread-id\": 1, \"die-id\": 1,"
		    " \"socket-id\": 0, \"driver\": \"host-x86_64-cpu\","
		    " \"id\": \"vcpu7\"}}");
	assert_json(plan_step_command(&t, &p.steps[1]),
		    "{\"execute\": \"device_add\", \"arguments\": {"
		    "\"core-id\": 0, \"thread-id\": 0, \"die-id\": 0,"
		    " \"socket-id\": 1, \"driver\": \"host-x86_64-cpu\","
		    " \"id\": \"vcpu8\"}}");
	plan_free(&p);

	assert_refused(plan_count_req(&t, "17", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 17 vCPUs: the maximum is 16");
	assert_refused(plan_count_req(&t, "6", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 6 vCPUs: 7 online vCPUs cannot be removed"
		       " (boot CPUs 0-6); the minimum is 7");
	topo_free(&t);
}

static void equal_count_is_noop(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_synth(&t, "bbppoooo", NULL);
	assert_int_equal(plan_count_req(&t, "4", -1, -1, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_int_equal(p.from, 4);
	assert_int_equal(p.to, 4);
	assert_null(p.note);
	plan_free(&p);
	assert_int_equal(plan_count_req(&t, "+0", -1, -1, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	plan_free(&p);
	assert_int_equal(plan_count_req(&t, "-0", -1, -1, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	plan_free(&p);
	topo_free(&t);
}

static void s390_limits(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_fixture(&t, "s390-fast");
	assert_refused(plan_count_req(&t, "1", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 1 vCPU: 2 online vCPUs cannot be removed"
		       " (boot CPUs 0-1); the minimum is 2");
	assert_refused(plan_count_req(&t, "3", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 3 vCPUs: the maximum is 2");
	assert_int_equal(plan_count_req(&t, "2", -1, -1, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	plan_free(&p);
	topo_free(&t);
}

static void below_one_refused(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	/* Nothing is a boot CPU here, so only "at least one" holds. */
	topo_synth(&t, "ppoo", NULL);
	assert_refused(plan_count_req(&t, "0", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 0 vCPUs: the minimum is 1");
	assert_refused(plan_count_req(&t, "-3", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set -1 vCPUs (-3 from 2): the minimum is 1");
	assert_refused(plan_list_req(&t, PLAN_DEL_LIST, "0-1", &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "cannot unplug every vCPU: the minimum is 1");
	assert_int_equal(plan_count_req(&t, "1", -1, -1, &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_string_equal(p.steps[0].device_id, "vcpu1");
	plan_free(&p);
	topo_free(&t);
}

/* ---- counts on pseries (cores of 8) ---- */

static void pseries_moves_whole_cores(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int add16[] = { 16 }, del8[] = { 8 };

	(void)state;
	/* Core 0 boot, core 8 plugged as "vcpu0" (libvirt's numbering),
	 * core 16 offline. */
	topo_fixture(&t, "ppc64-hotplug-1");
	assert_int_equal(plan_count_req(&t, "24", -1, -1, &p, &err), 0);
	assert_int_equal(p.from, 16);
	assert_steps(&p, PLAN_OP_ADD, add16, 1);
	assert_int_equal(p.steps[0].count, 8);
	assert_string_equal(p.steps[0].device_id, "vcpu16");
	plan_free(&p);

	assert_int_equal(plan_count_req(&t, "-8", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, del8, 1);
	assert_string_equal(p.steps[0].device_id, "vcpu0");
	assert_int_equal(p.to, 8);
	plan_free(&p);

	assert_refused(plan_count_req(&t, "12", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 12 vCPUs: this VM moves vCPUs in entities"
		       " of 8; nearest reachable counts are 8 and 16");
	assert_refused(plan_count_req(&t, "20", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 20 vCPUs: this VM moves vCPUs in entities"
		       " of 8; nearest reachable counts are 16 and 24");
	assert_refused(plan_count_req(&t, "+1", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 17 vCPUs (+1 from 16): this VM moves vCPUs"
		       " in entities of 8; nearest reachable counts are 16 and 24");
	assert_refused(plan_count_req(&t, "4", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 4 vCPUs: 8 online vCPUs cannot be removed"
		       " (boot CPUs 0-7); the minimum is 8");
	topo_free(&t);
}

static void pseries_synthetic_steps(void **state)
{
	static const int sizes[] = { 8, 8, 8, 8 };
	static const int add[] = { 8, 16, 24 }, del[] = { 24, 16 };
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_synth(&t, "booo", sizes);
	assert_int_equal(plan_count_req(&t, "32", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, add, 3);
	plan_free(&p);
	topo_free(&t);

	topo_synth(&t, "bppp", sizes);
	assert_int_equal(plan_count_req(&t, "-16", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, del, 2);
	assert_string_equal(p.steps[0].device_id, "vcpu24");
	plan_free(&p);
	assert_refused(plan_count_req(&t, "-4", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 28 vCPUs (-4 from 32): this VM moves vCPUs"
		       " in entities of 8; nearest reachable counts are 24 and 32");
	topo_free(&t);
}

/* ---- mixed entity sizes ---- */

static void mixed_sizes_greedy(void **state)
{
	static const int sizes[] = { 2, 2, 4, 8 };
	static const int add[] = { 2, 4 }, del[] = { 8, 4 };
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_synth(&t, "booo", sizes);
	assert_int_equal(plan_count_req(&t, "8", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, add, 2);
	assert_int_equal(p.steps[0].count, 2);
	assert_int_equal(p.steps[1].count, 4);
	plan_free(&p);
	assert_refused(plan_count_req(&t, "6", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 6 vCPUs: this VM moves vCPUs in entities"
		       " of 2, 4 and 8; nearest reachable counts are 4 and 8");
	/* 2 + 8 would make 10, but plug order is fixed: lowest first. */
	assert_refused(plan_count_req(&t, "10", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 10 vCPUs: this VM moves vCPUs in entities"
		       " of 2, 4 and 8; nearest reachable counts are 8 and 16");
	topo_free(&t);

	topo_synth(&t, "bppp", sizes);
	assert_int_equal(plan_count_req(&t, "4", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, del, 2);
	assert_int_equal(p.to, 4);
	plan_free(&p);
	assert_refused(plan_count_req(&t, "12", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 12 vCPUs: this VM moves vCPUs in entities"
		       " of 2, 4 and 8; nearest reachable counts are 8 and 16");
	topo_free(&t);
}

/* ---- relative counts and clamps ---- */

static void relative_counts(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int add[] = { 4, 5 }, del[] = { 3 };

	(void)state;
	topo_synth(&t, "bbppoooo", NULL);
	assert_int_equal(plan_count_req(&t, "+2", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, add, 2);
	assert_int_equal(p.requested, 6);
	assert_int_equal(p.to, 6);
	plan_free(&p);
	assert_int_equal(plan_count_req(&t, "-1", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, del, 1);
	assert_int_equal(p.to, 3);
	plan_free(&p);
	assert_refused(plan_count_req(&t, "+5", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 9 vCPUs (+5 from 4): the maximum is 8");
	topo_free(&t);
}

static void clamp_to_max(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int add[] = { 4, 5 };

	(void)state;
	topo_synth(&t, "bbppoooo", NULL);
	assert_int_equal(plan_count_req(&t, "+4", -1, 6, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, add, 2);
	assert_int_equal(p.requested, 8);
	assert_int_equal(p.to, 6);
	assert_string_equal(p.note, "clamped +4 to 6 by --max 6");
	plan_free(&p);

	/* --max above the VM's maximum: the VM's maximum clamps. */
	assert_int_equal(plan_count_req(&t, "+5", -1, 16, &p, &err), 0);
	assert_int_equal(p.requested, 9);
	assert_int_equal(p.to, 8);
	assert_int_equal(p.n_steps, 4);
	assert_string_equal(p.note,
			    "clamped +5 to 8: the VM's maximum is 8 (--max 16)");
	plan_free(&p);

	/* A clamp may take a count down: --max is a ceiling. */
	assert_int_equal(plan_count_req(&t, "+1", -1, 3, &p, &err), 0);
	assert_int_equal(p.to, 3);
	assert_int_equal(p.n_steps, 1);
	assert_int_equal(p.steps[0].op, PLAN_OP_DEL);
	plan_free(&p);
	topo_free(&t);

	/* An autoscaler's +1 at the top is a no-op, not an error. */
	topo_synth(&t, "bbpppppp", NULL);
	assert_int_equal(plan_count_req(&t, "+1", -1, 16, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_int_equal(p.to, 8);
	assert_int_equal(p.requested, 9);
	assert_non_null(p.note);
	plan_free(&p);
	assert_int_equal(plan_count_req(&t, "+1", 1, 8, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_string_equal(p.note, "clamped +1 to 8 by --max 8");
	plan_free(&p);
	topo_free(&t);
}

static void clamp_to_min(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int del[] = { 5, 4, 3 };

	(void)state;
	topo_synth(&t, "bbppppoo", NULL);
	assert_int_equal(plan_count_req(&t, "-5", 3, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, del, 3);
	assert_int_equal(p.requested, 1);
	assert_int_equal(p.to, 3);
	assert_string_equal(p.note, "clamped -5 to 3 by --min 3");
	plan_free(&p);

	/* --min below what cannot be removed: the boot CPUs clamp. */
	assert_int_equal(plan_count_req(&t, "1", 1, -1, &p, &err), 0);
	assert_int_equal(p.to, 2);
	assert_int_equal(p.n_steps, 4);
	assert_string_equal(p.note,
			    "clamped 1 to 2: 2 online vCPUs cannot be removed"
			    " (boot CPUs 0-1) (--min 1)");
	plan_free(&p);

	/* --min raises a count too. */
	assert_int_equal(plan_count_req(&t, "5", 7, -1, &p, &err), 0);
	assert_int_equal(p.to, 7);
	assert_int_equal(p.n_steps, 1);
	assert_int_equal(p.steps[0].op, PLAN_OP_ADD);
	plan_free(&p);

	/* Each limit clamps only when given: --max alone still refuses a
	 * count below the boot CPUs. */
	assert_refused(plan_count_req(&t, "1", -1, 6, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot set 1 vCPU: 2 online vCPUs cannot be removed"
		       " (boot CPUs 0-1); the minimum is 2");
	topo_free(&t);
}

static void clamp_errors(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_synth(&t, "bbppoooo", NULL);
	assert_refused(plan_count_req(&t, "4", 5, 3, &p, &err), &p, &err,
		       VC_EXIT_USAGE, "--min 5 is above --max 3");
	assert_refused(plan_count_req(&t, "4", 9, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "--min 9 is above this VM's maximum of 8 vCPUs");
	assert_refused(plan_count_req(&t, "4", -1, 1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "--max 1 is below this VM's minimum of 2 vCPUs");
	topo_free(&t);
}

static void clamp_unreachable_pseries(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_fixture(&t, "ppc64-hotplug-1");
	/* 20 is not a whole number of cores: the nearest count inside the
	 * limits is the current 16. */
	assert_int_equal(plan_count_req(&t, "24", -1, 20, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_int_equal(p.requested, 24);
	assert_int_equal(p.to, 16);
	assert_string_equal(p.note,
			    "clamped 24 to 20 by --max 20; 20 is not reachable"
			    " in entities of 8, so 16");
	plan_free(&p);
	/* From below: 8 clamps up to 12, and the nearest reachable count
	 * inside the limits is the current 16. */
	assert_int_equal(plan_count_req(&t, "8", 12, -1, &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_int_equal(p.to, 16);
	plan_free(&p);
	/* Limits given but not binding: an unreachable count still fails. */
	assert_refused(plan_count_req(&t, "+1", 8, 24, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 17 vCPUs (+1 from 16): this VM moves vCPUs"
		       " in entities of 8; nearest reachable counts are 16 and 24");
	topo_free(&t);
}

/* ---- named vCPUs ---- */

static void add_named(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int want[] = { 5, 6, 7 };

	(void)state;
	topo_synth(&t, "bbppoooo", NULL);
	assert_int_equal(plan_list_req(&t, PLAN_ADD_LIST, "7,5,6", &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, want, 3);
	assert_int_equal(p.from, 4);
	assert_int_equal(p.to, 7);
	assert_null(p.note);
	assert_string_equal(p.steps[0].device_id, "vcpu5");
	plan_free(&p);

	/* Already online ones are left alone, and said so. */
	assert_int_equal(plan_list_req(&t, PLAN_ADD_LIST, "2-4", &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_int_equal(p.steps[0].first, 4);
	assert_string_equal(p.note, "vCPUs 2-3 already online");
	plan_free(&p);
	assert_int_equal(plan_list_req(&t, PLAN_ADD_LIST, "0-3", &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_int_equal(p.to, 4);
	assert_string_equal(p.note, "vCPUs 0-3 already online");
	plan_free(&p);

	assert_refused(plan_list_req(&t, PLAN_ADD_LIST, "6,12", &p, &err), &p,
		       &err, VC_EXIT_USAGE,
		       "vCPU 12 does not exist: this VM has vCPUs 0-7");
	topo_free(&t);
}

static void del_named(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int want[] = { 5, 3 };

	(void)state;
	topo_synth(&t, "bbppppoo", NULL);
	assert_int_equal(plan_list_req(&t, PLAN_DEL_LIST, "3,5", &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, want, 2);
	assert_int_equal(p.to, 4);
	assert_null(p.note);
	plan_free(&p);

	assert_int_equal(plan_list_req(&t, PLAN_DEL_LIST, "5-7", &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_string_equal(p.steps[0].device_id, "vcpu5");
	assert_string_equal(p.note, "vCPUs 6-7 already offline");
	plan_free(&p);
	assert_int_equal(plan_list_req(&t, PLAN_DEL_LIST, "7", &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_string_equal(p.note, "vCPU 7 already offline");
	plan_free(&p);

	assert_refused(plan_list_req(&t, PLAN_DEL_LIST, "0,4", &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "vCPU 0 is a boot CPU and cannot be unplugged");
	assert_refused(plan_list_req(&t, PLAN_DEL_LIST, "0-5", &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "vCPUs 0-1 are boot CPUs and cannot be unplugged");
	assert_refused(plan_list_req(&t, PLAN_DEL_LIST, "8", &p, &err), &p,
		       &err, VC_EXIT_USAGE,
		       "vCPU 8 does not exist: this VM has vCPUs 0-7");
	topo_free(&t);
}

static void named_pseries(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_fixture(&t, "ppc64-hotplug-1");
	assert_refused(plan_list_req(&t, PLAN_DEL_LIST, "9", &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "vCPU 9 is part of an entity of 8 vCPUs (8-15):"
		       " name all of 8-15");
	assert_refused(plan_list_req(&t, PLAN_ADD_LIST, "16,18,20-23", &p,
				     &err), &p, &err, VC_EXIT_IMPOSSIBLE,
		       "vCPUs 16,18,20,21,22,23 are part of an entity of 8"
		       " vCPUs (16-23): name all of 16-23");
	assert_refused(plan_list_req(&t, PLAN_DEL_LIST, "0-7", &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "vCPUs 0-7 are boot CPUs and cannot be unplugged");
	assert_refused(plan_list_req(&t, PLAN_ADD_LIST, "24-31", &p, &err), &p,
		       &err, VC_EXIT_USAGE,
		       "vCPU 24 does not exist: this VM has vCPUs 0-23");

	assert_int_equal(plan_list_req(&t, PLAN_DEL_LIST, "8-15", &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_string_equal(p.steps[0].device_id, "vcpu0");
	assert_int_equal(p.to, 8);
	assert_json(plan_step_command(&t, &p.steps[0]),
		    "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"vcpu0\"}}");
	plan_free(&p);

	assert_int_equal(plan_list_req(&t, PLAN_ADD_LIST, "8-23", &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_int_equal(p.steps[0].first, 16);
	assert_int_equal(p.steps[0].count, 8);
	assert_string_equal(p.note, "vCPUs 8-15 already online");
	plan_free(&p);
	topo_free(&t);
}

/* ---- device ids ---- */

/* Four x86 threads: 0 boot, 1 offline, 2 plugged under the id "vcpu1"
 * (another tool's numbering), 3 offline. */
static const char dup_hp[] =
	"[{\"props\": {\"socket-id\": 0, \"core-id\": 0, \"thread-id\": 3},"
	"  \"vcpus-count\": 1, \"type\": \"qemu64-x86_64-cpu\"},"
	" {\"props\": {\"socket-id\": 0, \"core-id\": 0, \"thread-id\": 2},"
	"  \"vcpus-count\": 1, \"type\": \"qemu64-x86_64-cpu\","
	"  \"qom-path\": \"%s\"},"
	" {\"props\": {\"socket-id\": 0, \"core-id\": 0, \"thread-id\": 1},"
	"  \"vcpus-count\": 1, \"type\": \"qemu64-x86_64-cpu\"},"
	" {\"props\": {\"socket-id\": 0, \"core-id\": 0, \"thread-id\": 0},"
	"  \"vcpus-count\": 1, \"type\": \"qemu64-x86_64-cpu\","
	"  \"qom-path\": \"/machine/unattached/device[0]\"}]";
static const char dup_cf[] =
	"[{\"cpu-index\": 0, \"qom-path\": \"/machine/unattached/device[0]\","
	"  \"thread-id\": 100},"
	" {\"cpu-index\": 1, \"qom-path\": \"%s\", \"thread-id\": 101}]";

static void topo_dup(struct topology *t, const char *path)
{
	char hp[1024], cf[512];

	snprintf(hp, sizeof(hp), dup_hp, path);
	snprintf(cf, sizeof(cf), dup_cf, path);
	topo_text(t, hp, cf);
}

static void duplicate_id_refused(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_dup(&t, "/machine/peripheral/vcpu1");
	assert_refused(plan_count_req(&t, "3", -1, -1, &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "device id vcpu1 is already used by vCPU 2"
		       " (/machine/peripheral/vcpu1): unplug it first or plug"
		       " other vCPUs");
	assert_refused(plan_list_req(&t, PLAN_ADD_LIST, "1", &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "device id vcpu1 is already used by vCPU 2"
		       " (/machine/peripheral/vcpu1): unplug it first or plug"
		       " other vCPUs");
	/* A free id goes through; the other plugged vCPU is untouched. */
	assert_int_equal(plan_list_req(&t, PLAN_ADD_LIST, "3", &p, &err), 0);
	assert_string_equal(p.steps[0].device_id, "vcpu3");
	plan_free(&p);
	/* The alias is what device_del takes. */
	assert_int_equal(plan_list_req(&t, PLAN_DEL_LIST, "2", &p, &err), 0);
	assert_string_equal(p.steps[0].device_id, "vcpu1");
	plan_free(&p);
	topo_free(&t);

	/* Not an alias, but a qom-path ending in the id: still refused. */
	topo_dup(&t, "/machine/peripheral-anon/vcpu1");
	assert_refused(plan_list_req(&t, PLAN_ADD_LIST, "1", &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "device id vcpu1 is already used by vCPU 2"
		       " (/machine/peripheral-anon/vcpu1): unplug it first or"
		       " plug other vCPUs");
	topo_free(&t);

	/* "vcpu11" must not count as "vcpu1". */
	topo_dup(&t, "/machine/peripheral/vcpu11");
	assert_int_equal(plan_list_req(&t, PLAN_ADD_LIST, "1", &p, &err), 0);
	assert_string_equal(p.steps[0].device_id, "vcpu1");
	plan_free(&p);
	topo_free(&t);
}

/* ---- commands and JSON ---- */

static void command_props_verbatim(void **state)
{
	static const char hp[] =
		"[{\"props\": {\"node-id\": 1, \"socket-id\": 1, \"core-id\": 0,"
		"  \"thread-id\": 0}, \"vcpus-count\": 1,"
		"  \"type\": \"Broadwell-x86_64-cpu\"},"
		" {\"props\": {\"node-id\": 0, \"socket-id\": 0, \"core-id\": 0,"
		"  \"thread-id\": 0}, \"vcpus-count\": 1,"
		"  \"type\": \"Broadwell-x86_64-cpu\","
		"  \"qom-path\": \"/machine/unattached/device[0]\"}]";
	static const char cf[] =
		"[{\"cpu-index\": 0, \"qom-path\": \"/machine/unattached/device[0]\","
		"  \"thread-id\": 100}]";
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	char *before;

	(void)state;
	topo_text(&t, hp, cf);
	before = strdup(t.ents[1].props);
	assert_int_equal(plan_count_req(&t, "2", -1, -1, &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_json(plan_step_command(&t, &p.steps[0]),
		    "{\"execute\": \"device_add\", \"arguments\": {"
		    "\"node-id\": 1, \"socket-id\": 1, \"core-id\": 0,"
		    " \"thread-id\": 0, \"driver\": \"Broadwell-x86_64-cpu\","
		    " \"id\": \"vcpu1\"}}");
	/* Making the command leaves the topology's props alone. */
	assert_string_equal(before, t.ents[1].props);
	free(before);
	plan_free(&p);
	topo_free(&t);
}

static void plan_json(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_fixture(&t, "ppc64-hotplug-1");
	assert_int_equal(plan_count_req(&t, "+8", -1, -1, &p, &err), 0);
	assert_json(plan_doc(&t, &p),
		    "{\"from\": 16, \"to\": 24, \"requested\": 24, \"note\": null,"
		    " \"unit\": \"core\", \"whole_units\": false,"
		    " \"steps\": [{\"op\": \"add\", \"vcpus\": \"16-23\","
		    " \"first\": 16, \"count\": 8, \"device_id\": \"vcpu16\","
		    " \"node\": null, \"unit\": {\"kind\": \"core\","
		    " \"vcpus\": \"16-23\", \"fill\": \"whole\"},"
		    " \"qmp\": {\"execute\": \"device_add\", \"arguments\":"
		    " {\"core-id\": 16, \"driver\": \"host-spapr-cpu-core\","
		    " \"id\": \"vcpu16\"}}}], \"nodes\": []}");
	plan_free(&p);
	topo_free(&t);

	topo_synth(&t, "bbpppoo", NULL);
	assert_int_equal(plan_count_req(&t, "+3", -1, 6, &p, &err), 0);
	assert_json(plan_doc(&t, &p),
		    "{\"from\": 5, \"to\": 6, \"requested\": 8,"
		    " \"note\": \"clamped +3 to 6 by --max 6\","
		    " \"unit\": \"thread\", \"whole_units\": false,"
		    " \"steps\": [{\"op\": \"add\", \"vcpus\": \"5\","
		    " \"first\": 5, \"count\": 1, \"device_id\": \"vcpu5\","
		    " \"node\": null, \"unit\": {\"kind\": \"thread\","
		    " \"vcpus\": \"5\", \"fill\": \"whole\"},"
		    " \"qmp\": {\"execute\": \"device_add\", \"arguments\":"
		    " {\"socket-id\": 1, \"core-id\": 0, \"thread-id\": 1,"
		    " \"driver\": \"qemu64-x86_64-cpu\", \"id\": \"vcpu5\"}}}],"
		    " \"nodes\": []}");
	plan_free(&p);
	assert_int_equal(plan_list_req(&t, PLAN_DEL_LIST, "3-4", &p, &err), 0);
	assert_json(plan_doc(&t, &p),
		    "{\"from\": 5, \"to\": 3, \"requested\": 3, \"note\": null,"
		    " \"unit\": \"thread\", \"whole_units\": false,"
		    " \"steps\": ["
		    "{\"op\": \"del\", \"vcpus\": \"4\", \"first\": 4, \"count\": 1,"
		    " \"node\": null, \"unit\": {\"kind\": \"thread\","
		    " \"vcpus\": \"4\", \"fill\": \"whole\"},"
		    " \"device_id\": \"vcpu4\", \"qmp\": {\"execute\":"
		    " \"device_del\", \"arguments\": {\"id\": \"vcpu4\"}}},"
		    "{\"op\": \"del\", \"vcpus\": \"3\", \"first\": 3, \"count\": 1,"
		    " \"node\": null, \"unit\": {\"kind\": \"thread\","
		    " \"vcpus\": \"3\", \"fill\": \"whole\"},"
		    " \"device_id\": \"vcpu3\", \"qmp\": {\"execute\":"
		    " \"device_del\", \"arguments\": {\"id\": \"vcpu3\"}}}],"
		    " \"nodes\": []}");
	plan_free(&p);
	topo_free(&t);
}

/* ---- placement: node filter, spread, granularity ---- */

struct place {
	bool node_set;
	long node;
	bool spread;
	const char *unit;   /* --granularity, or NULL */
};

static int plan_place(const struct topology *t, const char *count,
		      struct place pl, struct plan *p, struct vc_err *err)
{
	struct plan_request req = { .min = -1, .max = -1 };

	if (plan_parse_count(count, &req, err) < 0)
		fail_msg("plan_parse_count(%s): %s", count, err->msg);
	req.node_set = pl.node_set;
	req.node = pl.node;
	req.spread_nodes = pl.spread;
	if (pl.unit) {
		req.unit_set = true;
		if (plan_parse_granularity(pl.unit, &req.unit, err) < 0)
			fail_msg("plan_parse_granularity(%s): %s", pl.unit,
				 err->msg);
	}
	return plan_make(t, &req, p, err);
}

#define NODE(n) ((struct place){ .node_set = true, .node = (n) })
#define SPREAD ((struct place){ .spread = true })
#define UNIT(u) ((struct place){ .unit = (u) })

/* Online vCPUs per node after the plan, from the topology and steps. */
static void assert_node_online(const struct topology *t, const struct plan *p,
			       long node, int want)
{
	size_t i;
	int n = 0;

	for (i = 0; i < t->n_ents; i++)
		if (t->ents[i].online && t->ents[i].ids[TOPO_NODE] == node)
			n += t->ents[i].vcpus_count;
	for (i = 0; i < p->n_steps; i++)
		if (p->steps[i].node == node)
			n += p->steps[i].op == PLAN_OP_ADD ? p->steps[i].count :
							     -p->steps[i].count;
	assert_int_equal(n, want);
}

static void assert_fill(const struct plan *p, size_t i, int unit_first,
			int unit_count, enum plan_fill fill)
{
	assert_true(i < p->n_steps);
	assert_int_equal(p->steps[i].unit_first, unit_first);
	assert_int_equal(p->steps[i].unit_count, unit_count);
	assert_int_equal(p->steps[i].fill, fill);
}

static void node_filter_capture(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int node1[] = { 3, 5 }, node0[] = { 2, 4, 6 };

	(void)state;
	/* libvirt's x86-node-full: socket, core, thread; thread 0 of every
	 * core on node 0, thread 1 on node 1; vCPUs 0 and 1 booted. */
	topo_capture(&t, CAPTURES, "x86-node-full");
	assert_int_equal(plan_place(&t, "4", NODE(1), &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, node1, 2);
	assert_int_equal(p.steps[0].node, 1);
	assert_int_equal(p.steps[1].node, 1);
	assert_int_equal(p.to, 4);
	plan_free(&p);
	assert_int_equal(plan_place(&t, "+3", NODE(0), &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, node0, 3);
	assert_node_online(&t, &p, 0, 4);
	assert_node_online(&t, &p, 1, 1);
	plan_free(&p);
	assert_refused(plan_place(&t, "6", NODE(1), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 6 vCPUs with --node 1: node 1 has 3 free"
		       " vCPU slots (3,5,7) and 0 removable vCPUs; the nearest"
		       " reachable count is 5");
	assert_refused(plan_place(&t, "4", NODE(3), &p, &err), &p, &err,
		       VC_EXIT_USAGE,
		       "--node 3: guest node 3 does not exist: this VM has"
		       " nodes 0, 1");
	/* Nothing to do is still checked against the VM. */
	assert_refused(plan_place(&t, "2", NODE(2), &p, &err), &p, &err,
		       VC_EXIT_USAGE,
		       "--node 2: guest node 2 does not exist: this VM has"
		       " nodes 0, 1");
	assert_int_equal(plan_place(&t, "2", NODE(1), &p, &err), 0);
	assert_empty(&p);
	topo_free(&t);
}

static void node_filter_unplug(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int want[] = { 6, 5 };

	(void)state;
	/* node 0: vCPUs 0-3, node 1: 4-7 */
	topo_synth_nodes(&t, "bppppppo", NULL, true);
	assert_int_equal(plan_place(&t, "5", NODE(1), &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, want, 2);
	assert_node_online(&t, &p, 0, 4);
	assert_node_online(&t, &p, 1, 1);
	plan_free(&p);
	assert_refused(plan_place(&t, "3", NODE(1), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 3 vCPUs with --node 1: node 1 has 1 free"
		       " vCPU slot (7) and 3 removable vCPUs (4-6); the nearest"
		       " reachable count is 4");
	assert_refused(plan_place(&t, "-5", NODE(0), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 2 vCPUs (-5 from 7) with --node 0: node 0"
		       " has 0 free vCPU slots and 3 removable vCPUs (1-3); the"
		       " nearest reachable count is 4");
	topo_free(&t);

	topo_synth(&t, "bpoo", NULL);
	assert_refused(plan_place(&t, "3", NODE(0), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "--node 0: this VM reports no guest NUMA nodes (no"
		       " node-id in query-hotpluggable-cpus)");
	topo_free(&t);
}

static void spread_nodes_order(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int grow[] = { 4, 1, 5, 2, 6 };
	static const int shrink[] = { 6, 2, 5, 1 };
	static const int plain[] = { 1, 2, 3, 4, 5 };

	(void)state;
	/* A 2-node VM going from 1 to 6 ends 3 and 3. */
	topo_synth_nodes(&t, "booooooo", NULL, true);
	assert_int_equal(plan_place(&t, "6", SPREAD, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, grow, 5);
	assert_node_online(&t, &p, 0, 3);
	assert_node_online(&t, &p, 1, 3);
	plan_free(&p);
	/* Without spread node 0 fills first. */
	assert_int_equal(plan_count_req(&t, "6", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, plain, 5);
	assert_node_online(&t, &p, 0, 4);
	plan_free(&p);
	topo_free(&t);

	/* 3 and 3 down to 2: ties take the highest node. */
	topo_synth_nodes(&t, "bppopppo", NULL, true);
	assert_int_equal(plan_place(&t, "2", SPREAD, &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, shrink, 4);
	assert_node_online(&t, &p, 0, 1);
	assert_node_online(&t, &p, 1, 1);
	plan_free(&p);
	topo_free(&t);

	/* No nodes reported: spread keeps the plain order. */
	topo_synth(&t, "bpoo", NULL);
	assert_int_equal(plan_place(&t, "4", SPREAD, &p, &err), 0);
	assert_int_equal(p.n_steps, 2);
	assert_int_equal(p.steps[0].first, 2);
	plan_free(&p);
	topo_free(&t);
}

static void spread_modules_capture(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int want[] = { 9, 2, 10, 3 };
	struct plan_request req = { .min = -1, .max = -1, .node_set = true,
				    .spread_nodes = true };

	(void)state;
	/* QEMU 10 q35 -smp 2,sockets=2,dies=2,modules=2,cores=1,threads=2,
	 * maxcpus=16, socket 0 on node 0 and socket 1 on node 1, then
	 * vcpu8 (socket 1 die 0 module 0 thread 0) plugged. */
	topo_capture(&t, QEMU10, "x86-modules-nodes");
	assert_int_equal(t.online, 3);
	assert_int_equal(plan_place(&t, "7", SPREAD, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, want, 4);
	assert_node_online(&t, &p, 0, 4);
	assert_node_online(&t, &p, 1, 3);
	plan_free(&p);
	req.count = 4;
	assert_refused(plan_make(&t, &req, &p, &err), &p, &err, VC_EXIT_USAGE,
		       "give either --node or --spread nodes, not both");
	topo_free(&t);
}

static void granularity_core_threads(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int four[] = { 1, 2, 3 };
	static const int down[] = { 6, 5, 4 };

	(void)state;
	/* socket, core, thread: cores of 2; only vCPU 0 booted, so core
	 * 0-1 is half online. */
	topo_synth(&t, "boooooo", NULL);
	assert_int_equal(plan_place(&t, "2", UNIT("core"), &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_int_equal(p.steps[0].first, 1);
	assert_fill(&p, 0, 0, 2, PLAN_FILL_COMPLETES);
	assert_int_equal(p.unit, TOPO_CORE);
	assert_true(p.whole_units);
	plan_free(&p);
	assert_int_equal(plan_place(&t, "4", UNIT("core"), &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, four, 3);
	assert_fill(&p, 1, 2, 2, PLAN_FILL_WHOLE);
	assert_fill(&p, 2, 2, 2, PLAN_FILL_WHOLE);
	plan_free(&p);
	assert_refused(plan_place(&t, "3", UNIT("core"), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 3 vCPUs: this VM moves vCPUs in whole cores"
		       " of 1 and 2; nearest reachable counts are 2 and 4");
	topo_free(&t);

	/* Unplug: the partly online core 6-7 is emptied first. */
	topo_synth(&t, "bbpppppo", NULL);
	assert_int_equal(plan_place(&t, "4", UNIT("core"), &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, down, 3);
	assert_fill(&p, 0, 6, 2, PLAN_FILL_EMPTIES);
	assert_fill(&p, 1, 4, 2, PLAN_FILL_WHOLE);
	assert_fill(&p, 2, 4, 2, PLAN_FILL_WHOLE);
	assert_int_equal(p.steps[1].first, 5);
	plan_free(&p);
	assert_refused(plan_place(&t, "3", UNIT("core"), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 3 vCPUs: this VM moves vCPUs in whole cores"
		       " of 2; nearest reachable counts are 2 and 4");
	/* thread: the default order, named after the unit. */
	assert_int_equal(plan_place(&t, "5", UNIT("thread"), &p, &err), 0);
	assert_int_equal(p.n_steps, 2);
	assert_int_equal(p.steps[0].first, 6);
	assert_fill(&p, 0, 6, 1, PLAN_FILL_WHOLE);
	plan_free(&p);
	/* socket: socket 4-7 is emptied; socket 0-3 keeps its boot CPUs. */
	assert_int_equal(plan_place(&t, "2", UNIT("socket"), &p, &err), 0);
	assert_int_equal(p.n_steps, 5);
	assert_fill(&p, 0, 4, 4, PLAN_FILL_EMPTIES);
	assert_fill(&p, 4, 0, 4, PLAN_FILL_EMPTIES);
	assert_int_equal(p.steps[4].first, 2);
	plan_free(&p);
	topo_free(&t);
}

static void granularity_dies_and_modules(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	static const int die[] = { 2, 3, 9, 10, 11 };

	(void)state;
	topo_capture(&t, QEMU10, "x86-modules-nodes");
	/* Modules of 2 threads: module 8-9 is half online. */
	assert_int_equal(plan_place(&t, "4", UNIT("module"), &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_int_equal(p.steps[0].first, 9);
	assert_fill(&p, 0, 8, 2, PLAN_FILL_COMPLETES);
	plan_free(&p);
	assert_refused(plan_place(&t, "5", UNIT("module"), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 5 vCPUs: this VM moves vCPUs in whole"
		       " modules of 2; nearest reachable counts are 4 and 6");
	/* Dies of 4: both partly online dies are completed first. */
	assert_int_equal(plan_place(&t, "8", UNIT("die"), &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, die, 5);
	assert_fill(&p, 0, 0, 4, PLAN_FILL_COMPLETES);
	assert_fill(&p, 2, 8, 4, PLAN_FILL_COMPLETES);
	plan_free(&p);
	assert_refused(plan_place(&t, "7", UNIT("die"), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 7 vCPUs: this VM moves vCPUs in whole dies"
		       " of 4; nearest reachable counts are 5 and 8");
	/* A node and a unit together. */
	assert_int_equal(plan_place(&t, "6",
				    ((struct place){ .node_set = true, .node = 1,
						     .unit = "module" }),
				    &p, &err), 0);
	assert_int_equal(p.n_steps, 3);
	assert_int_equal(p.steps[2].first, 11);
	assert_node_online(&t, &p, 1, 4);
	plan_free(&p);
	assert_refused(plan_place(&t, "7",
				  ((struct place){ .node_set = true, .node = 0,
						   .unit = "socket" }),
				  &p, &err), &p, &err, VC_EXIT_IMPOSSIBLE,
		       "cannot reach 7 vCPUs with --node 0: node 0 has 6 free"
		       " vCPU slots (2-7) and 0 removable vCPUs; vCPUs move in"
		       " whole sockets of 8; nearest reachable counts are 3"
		       " and 9");
	assert_refused(plan_place(&t, "4", UNIT("cluster"), &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "--granularity cluster: this VM reports no cluster-id"
		       " (its topology keys: socket, die, module, core, thread)");
	topo_free(&t);
}

static void granularity_aarch64_clusters(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	/* socket, cluster, core, thread; vCPUs 0-6 booted. */
	topo_capture(&t, CAPTURES, "aarch64-clusters");
	assert_int_equal(plan_place(&t, "8", UNIT("cluster"), &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_fill(&p, 0, 4, 4, PLAN_FILL_COMPLETES);
	plan_free(&p);
	assert_int_equal(plan_place(&t, "12", UNIT("cluster"), &p, &err), 0);
	assert_int_equal(p.n_steps, 5);
	assert_fill(&p, 4, 8, 4, PLAN_FILL_WHOLE);
	plan_free(&p);
	assert_refused(plan_place(&t, "10", UNIT("cluster"), &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "cannot reach 10 vCPUs: this VM moves vCPUs in whole"
		       " clusters of 4; nearest reachable counts are 8 and 12");
	assert_int_equal(plan_place(&t, "10", UNIT("core"), &p, &err), 0);
	assert_int_equal(p.n_steps, 3);
	plan_free(&p);
	assert_refused(plan_place(&t, "8", NODE(0), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "--node 0: this VM reports no guest NUMA nodes (no"
		       " node-id in query-hotpluggable-cpus)");
	topo_free(&t);
}

static void granularity_pseries_s390(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	/* pseries: the entity is a core; core and thread are that core. */
	topo_fixture(&t, "ppc64-hotplug-1");
	assert_int_equal(plan_place(&t, "24", UNIT("thread"), &p, &err), 0);
	assert_int_equal(p.n_steps, 1);
	assert_fill(&p, 0, 16, 8, PLAN_FILL_WHOLE);
	plan_free(&p);
	assert_refused(plan_place(&t, "20", UNIT("core"), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "cannot reach 20 vCPUs: this VM moves vCPUs in whole cores"
		       " of 8; nearest reachable counts are 16 and 24");
	assert_refused(plan_place(&t, "24", UNIT("socket"), &p, &err), &p,
		       &err, VC_EXIT_IMPOSSIBLE,
		       "--granularity socket: this VM reports no socket-id (its"
		       " topology keys: core)");
	/* Default unit: what one entity is. */
	assert_int_equal(plan_count_req(&t, "24", -1, -1, &p, &err), 0);
	assert_int_equal(p.unit, TOPO_CORE);
	assert_false(p.whole_units);
	plan_free(&p);
	topo_free(&t);

	topo_fixture(&t, "s390-fast");
	assert_int_equal(plan_place(&t, "2", UNIT("core"), &p, &err), 0);
	assert_empty(&p);
	assert_refused(plan_place(&t, "2", NODE(0), &p, &err), &p, &err,
		       VC_EXIT_IMPOSSIBLE,
		       "--node 0: this VM reports no guest NUMA nodes (no"
		       " node-id in query-hotpluggable-cpus)");
	topo_free(&t);
}

static void placement_needs_a_count(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };
	struct plan_request req = { .kind = PLAN_ADD_LIST, .min = -1,
				    .max = -1, .spread_nodes = true };
	struct cpulist l;
	enum topo_key k;

	(void)state;
	topo_synth_nodes(&t, "bpoo", NULL, true);
	assert_int_equal(cpulist_parse("2", 16, &l, &err), 0);
	req.list = &l;
	assert_refused(plan_make(&t, &req, &p, &err), &p, &err, VC_EXIT_USAGE,
		       "--node, --spread and --granularity apply to a count,"
		       " not to a list of vCPUs");
	cpulist_free(&l);
	topo_free(&t);
	assert_int_equal(plan_parse_granularity("core", &k, &err), 0);
	assert_int_equal(k, TOPO_CORE);
	assert_int_equal(plan_parse_granularity("node", &k, &err), -1);
	assert_int_equal(err.code, VC_EXIT_USAGE);
	assert_string_equal(err.msg, "--granularity 'node': expected socket,"
			    " die, module, cluster, core or thread");
	assert_int_equal(plan_parse_granularity("drawer", &k, &err), -1);
	assert_string_equal(plan_unit_name(TOPO_NKEYS), "entity");
}

static void nodes_summary(void **state)
{
	struct topology t;
	struct plan_node *n;
	size_t k;

	(void)state;
	topo_capture(&t, QEMU10, "x86-modules-nodes");
	assert_int_equal(plan_nodes(&t, &n, &k), 0);
	assert_int_equal(k, 2);
	assert_int_equal(n[0].node, 0);
	assert_int_equal(n[0].online, 2);
	assert_int_equal(n[0].max, 8);
	assert_int_equal(n[0].removable, 0);
	assert_int_equal(n[1].node, 1);
	assert_int_equal(n[1].online, 1);
	assert_int_equal(n[1].max, 8);
	assert_int_equal(n[1].removable, 1);
	free(n);
	topo_free(&t);

	topo_fixture(&t, "s390-fast");
	assert_int_equal(plan_nodes(&t, &n, &k), 0);
	assert_int_equal(k, 0);
	assert_null(n);
	topo_free(&t);
}

static void placement_json(void **state)
{
	struct topology t;
	struct plan p;
	struct vc_err err = { 0 };

	(void)state;
	topo_synth_nodes(&t, "boooooo", NULL, true);
	assert_int_equal(plan_place(&t, "2", UNIT("core"), &p, &err), 0);
	assert_json(plan_doc(&t, &p),
		    "{\"from\": 1, \"to\": 2, \"requested\": 2, \"note\": null,"
		    " \"unit\": \"core\", \"whole_units\": true,"
		    " \"steps\": [{\"op\": \"add\", \"vcpus\": \"1\","
		    " \"first\": 1, \"count\": 1, \"device_id\": \"vcpu1\","
		    " \"node\": 0, \"unit\": {\"kind\": \"core\","
		    " \"vcpus\": \"0-1\", \"fill\": \"completes\"},"
		    " \"qmp\": {\"execute\": \"device_add\", \"arguments\":"
		    " {\"socket-id\": 0, \"core-id\": 0, \"thread-id\": 1,"
		    " \"node-id\": 0, \"driver\": \"qemu64-x86_64-cpu\","
		    " \"id\": \"vcpu1\"}}}],"
		    " \"nodes\": [{\"node\": 0, \"online\": 1, \"to\": 2,"
		    " \"max\": 4}, {\"node\": 1, \"online\": 0, \"to\": 0,"
		    " \"max\": 3}]}");
	plan_free(&p);
	topo_free(&t);
}

static void free_is_idempotent(void **state)
{
	struct plan p;

	(void)state;
	memset(&p, 0, sizeof(p));
	plan_free(&p);
	plan_free(&p);
	plan_free(NULL);
	assert_empty(&p);
}

/* Recorded removals (pending.h) are planned against where the VM is
 * going: not online, not free, not removed twice unless resent. */
static void leaving_entities(void **state)
{
	struct topology t;
	struct plan p;
	struct plan_request req = { .kind = PLAN_SET_COUNT, .min = -1, .max = -1 };
	struct vc_err err = { 0 };
	static const int plug[] = { 4, 5 };
	static const int resend[] = { 3, 2 };

	(void)state;
	/* vCPU 0 boot, 1-3 plugged, 2-3 on their way out, 4-7 free. */
	topo_synth(&t, "bpppoooo", NULL);
	t.ents[t.vcpus[2].entity].leaving = true;
	t.ents[t.vcpus[3].entity].leaving = true;
	/* The same target again: nothing to send. */
	assert_int_equal(plan_count_req(&t, "2", -1, -1, &p, &err), 0);
	assert_int_equal(p.from, 2);
	assert_int_equal(p.n_steps, 0);
	plan_free(&p);
	/* -1 counts from online minus pending: vCPU 1 goes, not 3. */
	assert_int_equal(plan_count_req(&t, "-1", -1, -1, &p, &err), 0);
	assert_int_equal(p.to, 1);
	assert_int_equal(p.n_steps, 1);
	assert_int_equal(p.steps[0].first, 1);
	plan_free(&p);
	/* A plug takes free slots, never a leaving one. */
	assert_int_equal(plan_count_req(&t, "4", -1, -1, &p, &err), 0);
	assert_steps(&p, PLAN_OP_ADD, plug, 2);
	plan_free(&p);
	/* --resend: their device_dels again, and nothing else. */
	req.resend = true;
	assert_int_equal(plan_parse_count("2", &req, &err), 0);
	assert_int_equal(plan_make(&t, &req, &p, &err), 0);
	assert_steps(&p, PLAN_OP_DEL, resend, 2);
	assert_string_equal(p.steps[0].device_id, "vcpu3");
	plan_free(&p);
	/* del LIST of a leaving vCPU sends nothing and says why. */
	assert_int_equal(plan_list_req(&t, PLAN_DEL_LIST, "3-4", &p, &err), 0);
	assert_int_equal(p.n_steps, 0);
	assert_string_equal(p.note, "vCPU 4 already offline; vCPU 3 already being removed");
	plan_free(&p);
	topo_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_count_forms),
		cmocka_unit_test(parse_count_junk),
		cmocka_unit_test(x86_grow_lowest_first),
		cmocka_unit_test(x86_shrink_highest_first),
		cmocka_unit_test(x86_dies_capture),
		cmocka_unit_test(equal_count_is_noop),
		cmocka_unit_test(s390_limits),
		cmocka_unit_test(below_one_refused),
		cmocka_unit_test(pseries_moves_whole_cores),
		cmocka_unit_test(pseries_synthetic_steps),
		cmocka_unit_test(mixed_sizes_greedy),
		cmocka_unit_test(relative_counts),
		cmocka_unit_test(clamp_to_max),
		cmocka_unit_test(clamp_to_min),
		cmocka_unit_test(clamp_errors),
		cmocka_unit_test(clamp_unreachable_pseries),
		cmocka_unit_test(add_named),
		cmocka_unit_test(del_named),
		cmocka_unit_test(leaving_entities),
		cmocka_unit_test(named_pseries),
		cmocka_unit_test(duplicate_id_refused),
		cmocka_unit_test(command_props_verbatim),
		cmocka_unit_test(plan_json),
		cmocka_unit_test(node_filter_capture),
		cmocka_unit_test(node_filter_unplug),
		cmocka_unit_test(spread_nodes_order),
		cmocka_unit_test(spread_modules_capture),
		cmocka_unit_test(granularity_core_threads),
		cmocka_unit_test(granularity_dies_and_modules),
		cmocka_unit_test(granularity_aarch64_clusters),
		cmocka_unit_test(granularity_pseries_s390),
		cmocka_unit_test(placement_needs_a_count),
		cmocka_unit_test(nodes_summary),
		cmocka_unit_test(placement_json),
		cmocka_unit_test(free_is_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
