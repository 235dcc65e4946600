/* fuzz_topology.c - libFuzzer target for the topology builder and the
 * planner that runs on its result.
 *
 * The builder reads the replies' text with its own scanner: the same
 * replies spaced two ways (compact, pretty=on) must give the same model
 * and messages, every entity's props must read back as an object, and
 * raw input (two texts split at a NUL byte) it accepts must be JSON that
 * jansson accepts too.
 *
 * Input: a JSON object {"hotpluggable": <reply>, "cpus_fast": <reply>,
 * "pid": N, "count": N, "list": "cpulist"}, every member optional, as
 * QEMU might send the two replies.  The topology is built with and
 * without query-cpus-fast, turned into JSON, and planned on: counts up,
 * down and to the stated count, and named adds and dels.  Beyond "no
 * crash" it checks the invariants the rest of the program relies on.
 */
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/output.h"
#include "vcpuctl/plan.h"
#include "vcpuctl/topology.h"
#include "fuzz_main.h"

static void check_topology(const struct topology *t)
{
	size_t i;
	int online = 0;

	if (t->n_vcpus != (size_t)t->max || t->online > t->max ||
	    t->removable > t->online || t->max < 1)
		abort();
	for (i = 0; i < t->n_vcpus; i++) {
		const struct topo_vcpu *v = &t->vcpus[i];

		if (v->index != (int)i || v->entity >= t->n_ents)
			abort();
		if (v->index < t->ents[v->entity].first ||
		    v->index >= t->ents[v->entity].first +
		    t->ents[v->entity].vcpus_count)
			abort();
		online += v->online;
	}
	if (online != t->online)
		abort();
}

static void run_plan(const struct topology *t, struct plan_request *req)
{
	struct vc_err err = { 0 };
	struct plan p;
	json_t *cmd;
	FILE *out;
	size_t i;

	if (plan_make(t, req, &p, &err) < 0) {
		if (!err.msg[0] || (err.code != VC_EXIT_IMPOSSIBLE &&
				    err.code != VC_EXIT_USAGE &&
				    err.code != VC_EXIT_INTERNAL))
			abort();
		return;
	}
	if (p.to < 0 || p.to > t->max)
		abort();
	for (i = 0; i < p.n_steps; i++) {
		if (p.steps[i].entity >= t->n_ents || !p.steps[i].device_id)
			abort();
		cmd = plan_step_command(t, &p.steps[i]);
		if (!cmd)
			abort();
		json_decref(cmd);
	}
	/* The plan document, rendered and thrown away. */
	out = fopen("/dev/null", "w");
	if (out) {
		out_plan_doc(out, t, &p);
		fclose(out);
	}
	plan_free(&p);
}

static void run_plans(const struct topology *t, json_t *in)
{
	struct plan_request req = { .min = -1, .max = -1 };
	struct cpulist list;
	struct vc_err err = { 0 };
	json_t *count = json_object_get(in, "count");
	json_t *text = json_object_get(in, "list");

	req.kind = PLAN_SET_COUNT;
	req.count = t->max;
	run_plan(t, &req);
	req.count = 1;
	run_plan(t, &req);
	req.relative = true;
	req.count = -1;
	run_plan(t, &req);
	req.count = 2;
	req.min = 1;
	req.max = t->max;
	run_plan(t, &req);
	req.relative = false;
	req.min = req.max = -1;
	if (json_is_integer(count)) {
		req.count = (long)json_integer_value(count);
		if (req.count >= 0 && req.count <= 1 << 20)
			run_plan(t, &req);
	}
	if (json_is_string(text) &&
	    cpulist_parse(json_string_value(text), 65536, &list, &err) == 0) {
		req.list = &list;
		req.kind = PLAN_ADD_LIST;
		run_plan(t, &req);
		req.kind = PLAN_DEL_LIST;
		run_plan(t, &req);
		cpulist_free(&list);
	}
}

static void build(json_t *in, json_t *hp, json_t *cf)
{
	struct vc_err err = { 0 };
	struct topology t;
	json_t *pid = json_object_get(in, "pid");
	json_t *doc;
	size_t i;

	if (topo_build_json(&t, hp, cf, json_is_integer(pid) ?
		       (pid_t)json_integer_value(pid) : 0, &err) < 0) {
		if (!err.msg[0] || t.ents || t.vcpus || t.n_ents)
			abort();
		return;
	}
	check_topology(&t);
	doc = topo_to_json(&t);
	if (!doc)
		abort();
	json_decref(doc);
	for (i = 0; i < t.n_ents; i++)
		if (t.ents[i].qom_path &&
		    !topo_find_alias(&t, t.ents[i].qom_path))
			abort();
	topo_keys_present(&t);
	run_plans(&t, in);
	topo_free(&t);
}

static char *model_text(const struct topology *t)
{
	json_t *doc = topo_to_json(t);
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	size_t i;

	json_decref(doc);
	for (i = 0; i < t->n_ents; i++) {
		doc = topo_entity_props(&t->ents[i]);
		if (!json_is_object(doc))
			abort();
		json_decref(doc);
	}
	return s;
}

/* Spacing is not meaning: compact and indented text build alike. */
static void build_spaced_same(json_t *hp, json_t *cf)
{
	struct vc_err err = { 0 }, terr = { 0 };
	struct topology t, tt;
	char *hs, *cs = NULL, *a = NULL, *b = NULL;
	const size_t pretty = JSON_INDENT(1) | JSON_ENCODE_ANY;
	int rc, trc;

	hs = json_dumps(hp, pretty);
	if (cf)
		cs = json_dumps(cf, pretty);
	if (!hs || (cf && !cs))
		goto out;
	rc = topo_build_json(&t, hp, cf, 0, &err);
	trc = topo_build(&tt, hs, strlen(hs), cs, cs ? strlen(cs) : 0, 0,
			 &terr);
	if (rc != trc || strcmp(err.msg, terr.msg) || err.code != terr.code)
		abort();
	if (rc == 0) {
		a = model_text(&t);
		b = model_text(&tt);
		if (!a || !b || strcmp(a, b))
			abort();
		topo_free(&t);
		topo_free(&tt);
	}
out:
	free(a);
	free(b);
	free(hs);
	free(cs);
}

/* Text the builder took is JSON to jansson too (numbers past json_int_t
 * aside: the builder judges range only where it reads a number). */
static void check_jansson_agrees(const char *text, size_t len)
{
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &jerr);

	if (!v && !strstr(jerr.text, "too big") && !strstr(jerr.text, "overflow"))
		abort();
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_err err = { 0 };
	json_error_t jerr;
	json_t *in, *hp, *cf;
	struct topology t;
	const uint8_t *nul;

	in = json_loadb((const char *)data, size, 0, &jerr);
	if (!in) {
		/* Not JSON: the text scanner gets it raw, split at a NUL
		 * into the two replies. */
		nul = memchr(data, 0, size);
		if (topo_build(&t, (const char *)data,
				    nul ? (size_t)(nul - data) : size,
				    nul ? (const char *)nul + 1 : NULL,
				    nul ? size - (size_t)(nul - data) - 1 : 0,
				    0, &err) == 0) {
			check_topology(&t);
			free(model_text(&t));
			topo_free(&t);
			check_jansson_agrees((const char *)data,
					     nul ? (size_t)(nul - data) : size);
			if (nul)
				check_jansson_agrees((const char *)nul + 1,
						     size - (size_t)(nul - data) - 1);
		}
		return 0;
	}
	hp = json_object_get(in, "hotpluggable");
	cf = json_object_get(in, "cpus_fast");
	if (hp) {
		/* An absent query-cpus-fast reply stands for an empty list. */
		cf = cf ? json_incref(cf) : json_array();
		build(in, hp, cf);
		build(in, hp, NULL);
		build_spaced_same(hp, cf);
		build_spaced_same(hp, NULL);
		json_decref(cf);
	}
	json_decref(in);
	return 0;
}
