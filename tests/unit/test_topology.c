/* test_topology.c - topo_build on every captured reply pair, against an
 * expected model written out here and against libvirt's own parse (.data);
 * malformed replies and their messages; host thread checks; the JSON
 * model; and the show table.
 *
 * Fixtures are read from tests/fixtures/captures/, relative to the repo
 * (the working directory of "make check-unit"), or relative to the test
 * binary (build/unit/) when run from elsewhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vcpuctl/output.h"
#include "vcpuctl/topology.h"

#define CAPTURES "tests/fixtures/captures/"
#define PREFIX "qemumonitorjson-cpuinfo-"

/* ---- fixtures ------------------------------------------------------- */

static FILE *open_fixture(const char *name)
{
	char path[8192], exe[4096];
	ssize_t n;
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), CAPTURES "%s", name);
	f = fopen(path, "r");
	if (f)
		return f;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(path, sizeof(path), "%s/../../" CAPTURES "%s", exe, name);
		f = fopen(path, "r");
	}
	if (!f) {
		print_error("cannot open fixture %s\n", name);
		fail();
	}
	return f;
}

/* The "return" value of a captured reply file (new reference). */
static json_t *load_return(const char *name)
{
	json_error_t jerr;
	json_t *doc, *ret;
	FILE *f = open_fixture(name);

	doc = json_loadf(f, 0, &jerr);
	fclose(f);
	if (!doc) {
		print_error("%s: %s\n", name, jerr.text);
		fail();
	}
	ret = json_incref(json_object_get(doc, "return"));
	json_decref(doc);
	assert_non_null(ret);
	return ret;
}

/* The "return" of the reply with this id in the lab's 7.2 trace. */
static json_t *load_trace_reply(const char *id)
{
	FILE *f = open_fixture("q35-topology-2s2c2t.log");
	char *line = NULL;
	size_t cap = 0;
	json_t *msg, *ret = NULL;

	while (!ret && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "< ", 2))
			continue;
		msg = json_loads(line + 2, 0, NULL);
		assert_non_null(msg);
		if (json_is_string(json_object_get(msg, "id")) &&
		    !strcmp(json_string_value(json_object_get(msg, "id")), id))
			ret = json_incref(json_object_get(msg, "return"));
		json_decref(msg);
	}
	free(line);
	fclose(f);
	if (!ret) {
		print_error("no reply '%s' in the trace\n", id);
		fail();
	}
	return ret;
}

static void build_capture(const char *name, pid_t pid, struct topology *t)
{
	char hp_name[256], cf_name[256];
	struct vc_err err = { 0 };
	json_t *hp, *cf;

	snprintf(hp_name, sizeof(hp_name), PREFIX "%s-hotplug.json", name);
	snprintf(cf_name, sizeof(cf_name), PREFIX "%s-cpus.json", name);
	hp = load_return(hp_name);
	cf = load_return(cf_name);
	if (topo_build_json(t, hp, cf, pid, &err)) {
		print_error("%s: %s\n", name, err.msg);
		fail();
	}
	json_decref(hp);
	json_decref(cf);
}

/* ---- the expected model ---------------------------------------------- */

/* One vCPU as a line: "<index> <on|off> <yes|no|boot|-> alias=<a|-> cpu=<n|->
 * tid=<n|-> <key>=<id>... [state=<s>]", so an expectation reads like a
 * row of "vcpuctl show". */
static void describe(const struct topology *t, size_t i, char *buf, size_t size)
{
	const struct topo_vcpu *v = &t->vcpus[i];
	const struct topo_entity *e = &t->ents[v->entity];
	const char *rem;
	size_t len;
	int k;

	rem = !v->online ? "-" : topo_vcpu_removable(t, v) ? "yes" :
	      topo_vcpu_boot(t, v) ? "boot" : "no";
	len = (size_t)snprintf(buf, size, "%d %s %s alias=%s", v->index,
			       v->online ? "on" : "off", rem,
			       e->alias ? e->alias : "-");
	if (v->cpu_index >= 0)
		len += (size_t)snprintf(buf + len, size - len, " cpu=%d", v->cpu_index);
	else
		len += (size_t)snprintf(buf + len, size - len, " cpu=-");
	if (v->thread_id >= 0)
		len += (size_t)snprintf(buf + len, size - len, " tid=%ld", v->thread_id);
	else
		len += (size_t)snprintf(buf + len, size - len, " tid=-");
	for (k = 0; k < TOPO_NKEYS; k++)
		if (e->ids[k] >= 0)
			len += (size_t)snprintf(buf + len, size - len, " %s=%ld",
						topo_key_name[k], e->ids[k]);
	if (v->cpu_state)
		snprintf(buf + len, size - len, " state=%s", v->cpu_state);
}

struct expect {
	int online, max, removable;
	const char *const *rows; /* each begins with the vCPU index */
};

static void check_model(const struct topology *t, const struct expect *x)
{
	char got[512];
	size_t i;
	long index;

	assert_int_equal(t->online, x->online);
	assert_int_equal(t->max, x->max);
	assert_int_equal(t->removable, x->removable);
	assert_int_equal(t->n_vcpus, (size_t)x->max);
	for (i = 0; i < t->n_vcpus; i++)
		assert_int_equal(t->vcpus[i].index, (int)i);
	for (i = 0; x->rows[i]; i++) {
		index = strtol(x->rows[i], NULL, 10);
		assert_in_range(index, 0, t->n_vcpus - 1);
		describe(t, (size_t)index, got, sizeof(got));
		assert_string_equal(got, x->rows[i]);
	}
	assert_true(t->per_vcpu_threads);
	assert_null(t->thread_warning);
}

/* ---- libvirt's parse --------------------------------------------------- */

/* One "[vcpu libvirt-id='N']" block of a .data file. */
struct lv_vcpu {
	bool online, hotpluggable, halted, has_topology;
	long thread_id, cpu_index, vcpus;
	long ids[TOPO_NKEYS];
	char alias[64], qom_path[256];
};

static long lv_value(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s='", key);
	p = strstr(line, pat);
	return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static void lv_string(const char *line, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *end;

	if (strncmp(line, key, klen) || line[klen] != '=' || line[klen + 1] != '\'')
		return;
	end = strchr(line + klen + 2, '\'');
	snprintf(out, size, "%.*s", (int)(end - line - klen - 2), line + klen + 2);
}

static size_t load_libvirt_data(const char *name, struct lv_vcpu *out, size_t max)
{
	/* libvirt spells cluster "cluster_id"; it reports no drawer/book/module. */
	static const char *const lv_key[TOPO_NKEYS] = {
		NULL, NULL, "socket", "die", "cluster_id", NULL, "core",
		"thread", "node",
	};
	char fname[256], *line = NULL, *s;
	size_t cap = 0, n = 0;
	struct lv_vcpu *v = NULL;
	FILE *f;
	int k;

	snprintf(fname, sizeof(fname), PREFIX "%s.data", name);
	f = open_fixture(fname);
	while (getline(&line, &cap, f) > 0) {
		for (s = line; *s == ' '; s++)
			;
		s[strcspn(s, "\n")] = '\0';
		if (!strncmp(s, "[vcpu ", 6)) {
			assert_true(n < max);
			v = &out[n++];
			memset(v, 0, sizeof(*v));
			v->thread_id = v->cpu_index = -1;
			continue;
		}
		assert_non_null(v);
		if (!strcmp(s, "online=yes"))
			v->online = true;
		else if (!strcmp(s, "hotpluggable=yes"))
			v->hotpluggable = true;
		else if (!strcmp(s, "halted"))
			v->halted = true;
		else if (!strncmp(s, "thread-id=", 10))
			v->thread_id = strtol(s + 11, NULL, 10);
		else if (!strncmp(s, "query-cpus-id=", 14))
			v->cpu_index = strtol(s + 15, NULL, 10);
		else if (!strncmp(s, "topology:", 9)) {
			v->has_topology = true;
			for (k = 0; k < TOPO_NKEYS; k++)
				v->ids[k] = lv_key[k] ? lv_value(s + 9, lv_key[k]) : -1;
			v->vcpus = lv_value(s + 9, "vcpus");
		}
		lv_string(s, "alias", v->alias, sizeof(v->alias));
		lv_string(s, "qom_path", v->qom_path, sizeof(v->qom_path));
	}
	free(line);
	fclose(f);
	return n;
}

/* Every entity libvirt lists is ours too, with the same ids, size, alias,
 * path, and per vCPU the same state, thread and cpu-index.  libvirt's vCPU
 * numbering is its own, so entities are matched by topology ids. */
static void cross_check_libvirt(const char *name, const struct topology *t)
{
	struct lv_vcpu lv[64];
	size_t n = load_libvirt_data(name, lv, 64), i, e, entities = 0;
	const struct topo_entity *ent;
	long j;
	int k;

	assert_int_equal(n, t->n_vcpus);
	for (i = 0; i < n; i++) {
		if (!lv[i].has_topology)
			continue;
		entities++;
		ent = NULL;
		for (e = 0; e < t->n_ents && !ent; e++) {
			for (k = 0; k < TOPO_NKEYS; k++)
				if (topo_key_prop[k] && t->ents[e].ids[k] != lv[i].ids[k] &&
				    !(k == TOPO_DRAWER || k == TOPO_BOOK || k == TOPO_MODULE))
					break;
			if (k == TOPO_NKEYS)
				ent = &t->ents[e];
		}
		if (!ent) {
			print_error("%s: libvirt vCPU %zu has no entity here\n", name, i);
			fail();
		}
		assert_int_equal(ent->vcpus_count, lv[i].vcpus);
		assert_string_equal(ent->alias ? ent->alias : "", lv[i].alias);
		assert_string_equal(ent->qom_path ? ent->qom_path : "", lv[i].qom_path);
		for (j = 0; j < lv[i].vcpus; j++) {
			const struct lv_vcpu *l = &lv[i + (size_t)j];
			const struct topo_vcpu *v = &t->vcpus[ent->first + j];

			assert_int_equal(v->online, l->online);
			/* libvirt: hotpluggable = offline, or plugged by device_add. */
			assert_int_equal(!v->online || topo_vcpu_removable(t, v),
					 l->hotpluggable);
			assert_int_equal(v->thread_id, l->thread_id);
			assert_int_equal(v->cpu_index, l->cpu_index);
			assert_int_equal(v->cpu_state && !strcmp(v->cpu_state, "stopped"),
					 l->halted);
		}
	}
	assert_int_equal(entities, t->n_ents);
}

static void check_capture(const char *name, const struct expect *x)
{
	struct topology t;

	build_capture(name, 0, &t);
	check_model(&t, x);
	cross_check_libvirt(name, &t);
	topo_free(&t);
}

/* ---- every capture ----------------------------------------------------- */

static void test_x86_dies(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=1538346 socket=0 die=0 core=0 thread=0",
		"1 on boot alias=- cpu=1 tid=1538347 socket=0 die=0 core=0 thread=1",
		"2 on boot alias=- cpu=2 tid=1538348 socket=0 die=0 core=1 thread=0",
		"4 on boot alias=- cpu=4 tid=1538350 socket=0 die=1 core=0 thread=0",
		"6 on boot alias=- cpu=6 tid=1538352 socket=0 die=1 core=1 thread=0",
		"7 off - alias=- cpu=- tid=- socket=0 die=1 core=1 thread=1",
		"8 off - alias=- cpu=- tid=- socket=1 die=0 core=0 thread=0",
		"13 off - alias=- cpu=- tid=- socket=1 die=1 core=0 thread=1",
		"15 off - alias=- cpu=- tid=- socket=1 die=1 core=1 thread=1",
		NULL
	};
	static const struct expect x = { 7, 16, 0, rows };
	struct topology t;

	(void)state;
	check_capture("x86-dies", &x);
	build_capture("x86-dies", 0, &t);
	assert_string_equal(t.vcpus[3].target, "x86_64");
	assert_string_equal(t.vcpus[3].qom_path, "/machine/unattached/device[4]");
	assert_null(t.vcpus[7].target);
	assert_null(t.vcpus[7].qom_path);
	assert_string_equal(t.ents[9].type, "host-x86_64-cpu");
	assert_null(t.ents[9].qom_path);
	assert_false(t.ents[9].online);
	assert_int_equal(topo_keys_present(&t),
			 1u << TOPO_SOCKET | 1u << TOPO_DIE | 1u << TOPO_CORE |
			 1u << TOPO_THREAD);
	topo_free(&t);
}

static void test_x86_node_full(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=2033724 socket=0 core=0 thread=0 node=0",
		"1 on boot alias=- cpu=1 tid=2033725 socket=0 core=0 thread=1 node=1",
		"2 off - alias=- cpu=- tid=- socket=0 core=1 thread=0 node=0",
		"3 off - alias=- cpu=- tid=- socket=0 core=1 thread=1 node=1",
		"4 off - alias=- cpu=- tid=- socket=1 core=0 thread=0 node=0",
		"7 off - alias=- cpu=- tid=- socket=1 core=1 thread=1 node=1",
		NULL
	};
	static const struct expect x = { 2, 8, 0, rows };

	(void)state;
	check_capture("x86-node-full", &x);
}

/* cpus-fast props differ from the hotplug props for the same qom-path
 * here; the merge must follow the path. */
static void test_x86_basic_pluggable(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=518291 socket=0 core=0 thread=0",
		"1 on boot alias=- cpu=1 tid=518292 socket=0 core=0 thread=1",
		"2 on boot alias=- cpu=2 tid=518294 socket=0 core=1 thread=0",
		"3 on boot alias=- cpu=3 tid=518295 socket=0 core=1 thread=1",
		"4 on boot alias=- cpu=4 tid=518296 socket=1 core=0 thread=0",
		"5 off - alias=- cpu=- tid=- socket=1 core=0 thread=1",
		"6 off - alias=- cpu=- tid=- socket=1 core=1 thread=0",
		"7 off - alias=- cpu=- tid=- socket=1 core=1 thread=1",
		NULL
	};
	static const struct expect x = { 5, 8, 0, rows };

	(void)state;
	check_capture("x86-basic-pluggable", &x);
}

/* vcpu1 and vcpu10 both exist: a path prefix must end at a '/'. */
static void test_x86_full_fast(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=895040 socket=0 core=0 thread=0",
		"1 on yes alias=vcpu1 cpu=1 tid=895056 socket=1 core=0 thread=0",
		"2 on yes alias=vcpu2 cpu=2 tid=895057 socket=2 core=0 thread=0",
		"9 on yes alias=vcpu9 cpu=9 tid=895064 socket=9 core=0 thread=0",
		"10 on yes alias=vcpu10 cpu=10 tid=895065 socket=10 core=0 thread=0",
		NULL
	};
	static const struct expect x = { 11, 11, 10, rows };
	struct topology t;

	(void)state;
	check_capture("x86-full-fast", &x);
	build_capture("x86-full-fast", 0, &t);
	assert_string_equal(topo_entity_device_id(&t.ents[10]), "vcpu10");
	assert_string_equal(topo_entity_device_id(&t.ents[0]),
			    "/machine/unattached/device[0]");
	assert_ptr_equal(topo_find_alias(&t, "vcpu1"), &t.ents[1]);
	assert_ptr_equal(topo_find_alias(&t, "/machine/peripheral/vcpu10"), &t.ents[10]);
	assert_null(topo_find_alias(&t, "vcpu11"));
	assert_null(topo_find_alias(&t, "vcpu"));
	topo_free(&t);
}

/* x86-full has only the old query-cpus reply: refused, and said why. */
static void test_x86_full_old_query_cpus(void **state)
{
	struct topology t;
	struct vc_err err = { 0 };
	json_t *hp = load_return(PREFIX "x86-full-fast-hotplug.json");
	json_t *cf = load_return(PREFIX "x86-full-cpus.json");

	(void)state;
	assert_int_equal(topo_build_json(&t, hp, cf, 0, &err), -1);
	assert_int_equal(err.code, VC_EXIT_CONN);
	assert_string_equal(err.msg,
		"query-cpus-fast: entry 0: 'qom-path' is missing "
		"(this looks like a reply to the old query-cpus)");
	assert_null(t.ents);
	assert_null(t.vcpus);
	json_decref(hp);
	json_decref(cf);
}

static void test_ppc64_basic(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=21925 core=0",
		"3 on boot alias=- cpu=3 tid=21928 core=0",
		"4 on boot alias=- cpu=4 tid=21930 core=0",
		"7 on boot alias=- cpu=7 tid=21933 core=0",
		"8 off - alias=- cpu=- tid=- core=8",
		"15 off - alias=- cpu=- tid=- core=8",
		"16 off - alias=- cpu=- tid=- core=16",
		"23 off - alias=- cpu=- tid=- core=16",
		NULL
	};
	static const struct expect x = { 8, 24, 0, rows };
	struct topology t;

	(void)state;
	check_capture("ppc64-basic", &x);
	build_capture("ppc64-basic", 0, &t);
	assert_int_equal(t.n_ents, 3);
	assert_int_equal(t.ents[1].first, 8);
	assert_int_equal(t.ents[1].vcpus_count, 8);
	assert_int_equal(t.vcpus[15].entity, 1);
	assert_string_equal(t.vcpus[5].qom_path, "/machine/unattached/device[1]/thread[5]");
	topo_free(&t);
}

static void test_ppc64_hotplug_1(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=21925 core=0",
		"8 on yes alias=vcpu0 cpu=8 tid=22131 core=8",
		"11 on yes alias=vcpu0 cpu=11 tid=22134 core=8",
		"15 on yes alias=vcpu0 cpu=15 tid=22138 core=8",
		"16 off - alias=- cpu=- tid=- core=16",
		NULL
	};
	static const struct expect x = { 16, 24, 8, rows };

	(void)state;
	check_capture("ppc64-hotplug-1", &x);
}

static void test_ppc64_hotplug_2(void **state)
{
	static const char *const rows[] = {
		"7 on boot alias=- cpu=7 tid=21933 core=0",
		"8 on yes alias=vcpu0 cpu=8 tid=22131 core=8",
		"16 on yes alias=vcpu1 cpu=16 tid=22223 core=16",
		"23 on yes alias=vcpu1 cpu=23 tid=22230 core=16",
		NULL
	};
	static const struct expect x = { 24, 24, 16, rows };

	(void)state;
	check_capture("ppc64-hotplug-2", &x);
}

/* vcpu1 holds core 16 but cpus-fast claims core-id 8 for its threads:
 * the threads follow the qom-path. */
static void test_ppc64_hotplug_4(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=21925 core=0",
		"8 on yes alias=vcpu0 cpu=16 tid=23170 core=8",
		"12 on yes alias=vcpu0 cpu=20 tid=23174 core=8",
		"15 on yes alias=vcpu0 cpu=23 tid=23177 core=8",
		"16 on yes alias=vcpu1 cpu=8 tid=22741 core=16",
		"23 on yes alias=vcpu1 cpu=15 tid=22748 core=16",
		NULL
	};
	static const struct expect x = { 24, 24, 16, rows };

	(void)state;
	check_capture("ppc64-hotplug-4", &x);
}

static void test_ppc64_no_threads(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=35232 core=0",
		"1 on boot alias=- cpu=1 tid=35233 core=8",
		"7 on boot alias=- cpu=7 tid=35239 core=56",
		"8 off - alias=- cpu=- tid=- core=64",
		"15 off - alias=- cpu=- tid=- core=120",
		NULL
	};
	static const struct expect x = { 8, 16, 0, rows };

	(void)state;
	check_capture("ppc64-no-threads", &x);
}

static void test_s390_fast(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=89504 core=0 state=operating",
		"1 on boot alias=- cpu=1 tid=89505 core=1 state=stopped",
		NULL
	};
	static const struct expect x = { 2, 2, 0, rows };

	(void)state;
	check_capture("s390-fast", &x);
}

static void test_aarch64_clusters(void **state)
{
	static const char *const rows[] = {
		"0 on boot alias=- cpu=0 tid=284700 socket=0 cluster=0 core=0 thread=0",
		"3 on boot alias=- cpu=3 tid=284703 socket=0 cluster=0 core=1 thread=1",
		"4 on boot alias=- cpu=4 tid=284704 socket=0 cluster=1 core=0 thread=0",
		"6 on boot alias=- cpu=6 tid=284706 socket=0 cluster=1 core=1 thread=0",
		"7 off - alias=- cpu=- tid=- socket=0 cluster=1 core=1 thread=1",
		"8 off - alias=- cpu=- tid=- socket=1 cluster=0 core=0 thread=0",
		"15 off - alias=- cpu=- tid=- socket=1 cluster=1 core=1 thread=1",
		NULL
	};
	static const struct expect x = { 7, 16, 0, rows };

	(void)state;
	check_capture("aarch64-clusters", &x);
}

/* The lab's QEMU 7.2 trace: boot state, after three plugs, after one
 * unplug, and while a second unplug is still in flight. */
static void build_trace(const char *hp_id, const char *cf_id, pid_t pid,
			struct topology *t)
{
	struct vc_err err = { 0 };
	json_t *hp = load_trace_reply(hp_id), *cf = load_trace_reply(cf_id);

	if (topo_build_json(t, hp, cf, pid, &err)) {
		print_error("%s/%s: %s\n", hp_id, cf_id, err.msg);
		fail();
	}
	json_decref(hp);
	json_decref(cf);
}

static void test_q35_72_trace(void **state)
{
	static const char *const boot_rows[] = {
		"0 on boot alias=- cpu=0 tid=4092 socket=0 core=0 thread=0",
		"1 on boot alias=- cpu=1 tid=4093 socket=0 core=0 thread=1",
		"2 off - alias=- cpu=- tid=- socket=0 core=1 thread=0",
		"7 off - alias=- cpu=- tid=- socket=1 core=1 thread=1",
		NULL
	};
	static const char *const plugged_rows[] = {
		"1 on boot alias=- cpu=1 tid=4093 socket=0 core=0 thread=1",
		"2 on yes alias=vcpu2 cpu=2 tid=4153 socket=0 core=1 thread=0",
		"3 on yes alias=vcpu3 cpu=3 tid=4154 socket=0 core=1 thread=1",
		"4 on yes alias=vcpu4 cpu=4 tid=4155 socket=1 core=0 thread=0",
		"5 off - alias=- cpu=- tid=- socket=1 core=0 thread=1",
		NULL
	};
	static const char *const unplugged_rows[] = {
		"3 on yes alias=vcpu3 cpu=3 tid=4154 socket=0 core=1 thread=1",
		"4 off - alias=- cpu=- tid=- socket=1 core=0 thread=0",
		NULL
	};
	static const struct expect boot = { 2, 8, 0, boot_rows };
	static const struct expect plugged = { 5, 8, 3, plugged_rows };
	static const struct expect unplugged = { 4, 8, 2, unplugged_rows };
	struct topology t;

	(void)state;
	build_trace("c2", "c3", 0, &t);
	check_model(&t, &boot);
	topo_free(&t);
	build_trace("c11", "c12", 0, &t);
	check_model(&t, &plugged);
	assert_string_equal(t.vcpus[4].target, "x86_64");
	topo_free(&t);
	build_trace("c17", "c16", 0, &t);
	check_model(&t, &unplugged);
	topo_free(&t);

	/* c17 still lists vcpu3 as plugged; c19 no longer runs it. */
	build_trace("c17", "c19", 0, &t);
	assert_int_equal(t.online, 3);
	assert_int_equal(t.removable, 1);
	assert_true(t.ents[3].online);
	assert_false(t.vcpus[3].online);
	assert_int_equal(t.vcpus[3].thread_id, -1);
	topo_free(&t);
}

/* Without query-cpus-fast, plugged entities count as running. */
static void test_hotpluggable_only(void **state)
{
	struct topology t;
	struct vc_err err = { 0 };
	json_t *hp = load_trace_reply("c11");

	(void)state;
	assert_int_equal(topo_build_json(&t, hp, NULL, 0, &err), 0);
	assert_int_equal(t.online, 5);
	assert_int_equal(t.max, 8);
	assert_int_equal(t.removable, 3);
	assert_true(t.vcpus[4].online);
	assert_true(topo_vcpu_removable(&t, &t.vcpus[4]));
	assert_true(topo_vcpu_boot(&t, &t.vcpus[0]));
	assert_int_equal(t.vcpus[4].thread_id, -1);
	assert_int_equal(t.vcpus[4].cpu_index, -1);
	assert_false(t.vcpus[5].online);
	assert_false(t.per_vcpu_threads);
	assert_null(t.thread_warning);
	topo_free(&t);
	json_decref(hp);
}

/* ---- host threads ------------------------------------------------------ */

static void build_text(const char *hp_text, const char *cf_text, pid_t pid,
		       struct topology *t, int want_rc, struct vc_err *err)
{
	json_t *hp = json_loads(hp_text, 0, NULL);
	json_t *cf = json_loads(cf_text, 0, NULL);

	assert_non_null(hp);
	assert_non_null(cf);
	memset(err, 0, sizeof(*err));
	assert_int_equal(topo_build_json(t, hp, cf, pid, err), want_rc);
	json_decref(hp);
	json_decref(cf);
}

#define HP_TWO \
	"[{\"props\": {\"socket-id\": 1}, \"vcpus-count\": 1, \"type\": \"t\"," \
	" \"qom-path\": \"/machine/peripheral/vcpu1\"}," \
	" {\"props\": {\"socket-id\": 0}, \"vcpus-count\": 1, \"type\": \"t\"," \
	" \"qom-path\": \"/machine/unattached/device[0]\"}]"

static void test_threads_shared(void **state)
{
	struct topology t;
	struct vc_err err;

	(void)state;
	build_text(HP_TWO,
		   "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"thread-id\": 4242},"
		   " {\"qom-path\": \"/machine/peripheral/vcpu1\", \"cpu-index\": 1, \"thread-id\": 4242}]",
		   0, &t, 0, &err);
	assert_false(t.per_vcpu_threads);
	assert_string_equal(t.thread_warning,
		"vCPUs 0 and 1 share host thread 4242: QEMU runs no per-vCPU threads (single-threaded TCG?)");
	assert_int_equal(t.online, 2);
	topo_free(&t);
}

static void test_threads_qemu_pid(void **state)
{
	struct topology t;
	struct vc_err err;

	(void)state;
	build_text(HP_TWO,
		   "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"thread-id\": 100},"
		   " {\"qom-path\": \"/machine/peripheral/vcpu1\", \"cpu-index\": 1, \"thread-id\": 777}]",
		   777, &t, 0, &err);
	assert_false(t.per_vcpu_threads);
	assert_string_equal(t.thread_warning,
		"vCPU 1 runs on QEMU's main thread 777: QEMU runs no per-vCPU threads (single-threaded TCG?)");
	topo_free(&t);

	/* A pid matching no vCPU is fine. */
	build_text(HP_TWO,
		   "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"thread-id\": 100},"
		   " {\"qom-path\": \"/machine/peripheral/vcpu1\", \"cpu-index\": 1, \"thread-id\": 101}]",
		   99, &t, 0, &err);
	assert_true(t.per_vcpu_threads);
	assert_null(t.thread_warning);
	topo_free(&t);
}

static void test_threads_missing(void **state)
{
	struct topology t;
	struct vc_err err;

	(void)state;
	build_text(HP_TWO,
		   "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"thread-id\": 100},"
		   " {\"qom-path\": \"/machine/peripheral/vcpu1\", \"cpu-index\": 1}]",
		   0, &t, 0, &err);
	assert_false(t.per_vcpu_threads);
	assert_string_equal(t.thread_warning,
		"vCPU 1: query-cpus-fast reports no thread-id: per-vCPU tuning is impossible");
	topo_free(&t);
}

/* The real captures pass the pid check with the pid of a thread that is
 * not a vCPU's. */
static void test_threads_capture_pid(void **state)
{
	struct topology t;

	(void)state;
	build_capture("x86-dies", 1538345, &t);
	assert_true(t.per_vcpu_threads);
	topo_free(&t);
	build_capture("x86-dies", 1538350, &t);
	assert_false(t.per_vcpu_threads);
	assert_string_equal(t.thread_warning,
		"vCPU 4 runs on QEMU's main thread 1538350: QEMU runs no per-vCPU threads (single-threaded TCG?)");
	topo_free(&t);
}

/* ---- malformed replies -------------------------------------------------- */

struct bad_case {
	const char *hp, *cf, *msg;
};

#define CF_OK "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"thread-id\": 10}]"
#define HP_ONE \
	"[{\"props\": {\"core-id\": 0}, \"vcpus-count\": 1, \"type\": \"t\"," \
	" \"qom-path\": \"/machine/unattached/device[0]\"}]"
#define HP_E1(row) \
	"[{\"props\": {\"core-id\": 0}, \"vcpus-count\": 1, \"type\": \"t\"," \
	" \"qom-path\": \"/machine/unattached/device[0]\"}, " row "]"

static const struct bad_case bad_cases[] = {
	{ "{}", CF_OK, "query-hotpluggable-cpus: reply is not a list" },
	{ "[]", "[]",
	  "query-hotpluggable-cpus: empty list (the machine type does not support CPU hotplug?)" },
	{ HP_E1("3"), CF_OK, "query-hotpluggable-cpus: entry 1: not an object" },
	{ HP_E1("{\"props\": {}, \"vcpus-count\": 1}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'type' is missing" },
	{ HP_E1("{\"props\": {}, \"vcpus-count\": 1, \"type\": 5}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'type' is not a string" },
	{ HP_E1("{\"props\": {}, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'vcpus-count' is missing" },
	{ HP_E1("{\"props\": {}, \"vcpus-count\": \"1\", \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'vcpus-count' is not an integer" },
	{ HP_E1("{\"props\": {}, \"vcpus-count\": 0, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'vcpus-count' is 0, not a positive count" },
	{ HP_E1("{\"props\": {}, \"vcpus-count\": -2, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'vcpus-count' is -2, not a positive count" },
	{ HP_E1("{\"props\": {}, \"vcpus-count\": 1.5, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'vcpus-count' is not an integer" },
	{ HP_E1("{\"vcpus-count\": 1, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'props' is missing" },
	{ HP_E1("{\"props\": [], \"vcpus-count\": 1, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'props' is not an object" },
	{ HP_E1("{\"props\": {\"core-id\": \"1\"}, \"vcpus-count\": 1, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'props.core-id' is not an integer" },
	{ HP_E1("{\"props\": {\"node-id\": -1}, \"vcpus-count\": 1, \"type\": \"t\"}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'props.node-id' is out of range: -1" },
	{ HP_E1("{\"props\": {}, \"vcpus-count\": 1, \"type\": \"t\", \"qom-path\": 7}"), CF_OK,
	  "query-hotpluggable-cpus: entry 1: 'qom-path' is not a string" },
	{ HP_E1("{\"props\": {\"core-id\": 1}, \"vcpus-count\": 1, \"type\": \"t\","
		" \"qom-path\": \"/machine/unattached/device[0]\"}"), CF_OK,
	  "query-hotpluggable-cpus: entries 0 and 1 have the same qom-path '/machine/unattached/device[0]'" },
	{ HP_ONE, "{}", "query-cpus-fast: reply is not a list" },
	{ HP_ONE, "[null]", "query-cpus-fast: entry 0: not an object" },
	{ HP_ONE, "[{\"cpu-index\": 0, \"thread-id\": 10}]",
	  "query-cpus-fast: entry 0: 'qom-path' is missing" },
	{ HP_ONE, "[{\"qom-path\": [], \"cpu-index\": 0}]",
	  "query-cpus-fast: entry 0: 'qom-path' is not a string" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]\", \"thread-id\": 10}]",
	  "query-cpus-fast: entry 0: 'cpu-index' is missing" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0,"
		  " \"thread-id\": \"10\"}]",
	  "query-cpus-fast: entry 0: 'thread-id' is not an integer" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0,"
		  " \"thread-id\": 0}]",
	  "query-cpus-fast: entry 0: 'thread-id' is out of range: 0" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0,"
		  " \"props\": 1}]",
	  "query-cpus-fast: entry 0: 'props' is not an object" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0,"
		  " \"cpu-state\": 1}]",
	  "query-cpus-fast: entry 0: 'cpu-state' is not a string" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0,"
		  " \"target\": true}]",
	  "query-cpus-fast: entry 0: 'target' is not a string" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[1]\", \"cpu-index\": 0}]",
	  "query-cpus-fast: entry 0: qom-path '/machine/unattached/device[1]' belongs to no "
	  "plugged entity of query-hotpluggable-cpus" },
	/* A prefix that does not end at '/' is another device. */
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]x\", \"cpu-index\": 0}]",
	  "query-cpus-fast: entry 0: qom-path '/machine/unattached/device[0]x' belongs to no "
	  "plugged entity of query-hotpluggable-cpus" },
	{ "[{\"props\": {\"core-id\": 0}, \"vcpus-count\": 2, \"type\": \"t\","
	  " \"qom-path\": \"/c\"}]",
	  "[{\"qom-path\": \"/c/thread[0]\", \"cpu-index\": 0},"
	  " {\"qom-path\": \"/c/thread[0]\", \"cpu-index\": 1}]",
	  "query-cpus-fast: entries 0 and 1 have the same qom-path '/c/thread[0]'" },
	{ "[{\"props\": {\"core-id\": 0}, \"vcpus-count\": 2, \"type\": \"t\","
	  " \"qom-path\": \"/c\"}, {\"props\": {\"core-id\": 2}, \"vcpus-count\": 2,"
	  " \"type\": \"t\"}]",
	  "[{\"qom-path\": \"/c/thread[0]\", \"cpu-index\": 0},"
	  " {\"qom-path\": \"/c/thread[1]\", \"cpu-index\": 1},"
	  " {\"qom-path\": \"/c/thread[2]\", \"cpu-index\": 2}]",
	  "query-cpus-fast: 3 vCPUs belong to '/c', which has 'vcpus-count' 2" },
	{ HP_ONE, "[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0},"
		  " {\"qom-path\": \"/machine/unattached/device[1]\", \"cpu-index\": 1}]",
	  "query-cpus-fast: 2 vCPUs listed, but query-hotpluggable-cpus allows only 1" },
};

static void test_bad_replies(void **state)
{
	struct topology t;
	struct vc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		build_text(bad_cases[i].hp, bad_cases[i].cf, 0, &t, -1, &err);
		assert_int_equal(err.code, VC_EXIT_CONN);
		if (strcmp(err.msg, bad_cases[i].msg)) {
			print_error("case %zu:\n got  %s\n want %s\n", i, err.msg,
				    bad_cases[i].msg);
			fail();
		}
		assert_null(t.ents);
		assert_null(t.vcpus);
		assert_int_equal(t.n_ents, 0);
	}
}

/* Unknown fields are QEMU's business, and props pass through verbatim. */
static void test_extra_fields(void **state)
{
	struct topology t;
	struct vc_err err;
	json_t *props;

	(void)state;
	build_text("[{\"props\": {\"core-id\": 0, \"future-id\": \"x\"}, \"vcpus-count\": 1,"
		   " \"type\": \"t\", \"qom-path\": \"/machine/peripheral-anon/device[3]\","
		   " \"new\": {\"a\": 1}}]",
		   "[{\"qom-path\": \"/machine/peripheral-anon/device[3]\", \"cpu-index\": 0,"
		   " \"thread-id\": 5, \"arch\": \"x86\", \"later\": [1]}]",
		   0, &t, 0, &err);
	props = topo_entity_props(&t.ents[0]);
	assert_non_null(props);
	assert_string_equal(json_string_value(json_object_get(props, "future-id")), "x");
	assert_int_equal(json_integer_value(json_object_get(props, "core-id")), 0);
	json_decref(props);
	/* Plugged without an id: removable, and device_del takes the path. */
	assert_true(t.ents[0].removable);
	assert_null(t.ents[0].alias);
	assert_string_equal(topo_entity_device_id(&t.ents[0]),
			    "/machine/peripheral-anon/device[3]");
	assert_int_equal(t.removable, 1);
	topo_free(&t);
}

/* Sorting is by ids in key order, absent ids first, and QEMU's order
 * breaks ties; vCPUs inside an entity follow thread[N], not reply order. */
static void test_sort_and_threads_order(void **state)
{
	struct topology t;
	struct vc_err err;

	(void)state;
	build_text("[{\"props\": {\"socket-id\": 1, \"core-id\": 0}, \"vcpus-count\": 1, \"type\": \"a\"},"
		   " {\"props\": {\"socket-id\": 0, \"core-id\": 1}, \"vcpus-count\": 1, \"type\": \"b\"},"
		   " {\"props\": {\"core-id\": 5}, \"vcpus-count\": 1, \"type\": \"c\"},"
		   " {\"props\": {\"socket-id\": 0, \"core-id\": 0}, \"vcpus-count\": 2, \"type\": \"d\","
		   "  \"qom-path\": \"/machine/peripheral/core0\"},"
		   " {\"props\": {\"socket-id\": 0, \"core-id\": 1}, \"vcpus-count\": 1, \"type\": \"e\"}]",
		   "[{\"qom-path\": \"/machine/peripheral/core0/thread[1]\", \"cpu-index\": 0, \"thread-id\": 11},"
		   " {\"qom-path\": \"/machine/peripheral/core0/thread[0]\", \"cpu-index\": 1, \"thread-id\": 10}]",
		   0, &t, 0, &err);
	assert_int_equal(t.max, 6);
	assert_string_equal(t.ents[0].type, "c");
	assert_string_equal(t.ents[1].type, "d");
	assert_string_equal(t.ents[2].type, "b");
	assert_string_equal(t.ents[3].type, "e");
	assert_string_equal(t.ents[4].type, "a");
	assert_int_equal(t.ents[1].first, 1);
	assert_int_equal(t.ents[2].first, 3);
	assert_int_equal(t.vcpus[1].thread_id, 10);
	assert_int_equal(t.vcpus[1].cpu_index, 1);
	assert_int_equal(t.vcpus[2].thread_id, 11);
	assert_int_equal(t.vcpus[2].entity, 1);
	assert_string_equal(t.ents[1].alias, "core0");
	assert_int_equal(t.removable, 2);
	topo_free(&t);
}

/* ---- JSON model and the show table --------------------------------------- */

static void test_to_json(void **state)
{
	struct topology t;
	json_t *doc, *v, *props;

	(void)state;
	build_capture("ppc64-hotplug-4", 0, &t);
	doc = topo_to_json(&t);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "online")), 24);
	assert_int_equal(json_integer_value(json_object_get(doc, "max")), 24);
	assert_int_equal(json_integer_value(json_object_get(doc, "removable")), 16);
	assert_true(json_is_true(json_object_get(doc, "per_vcpu_threads")));
	assert_true(json_is_null(json_object_get(doc, "thread_warning")));
	assert_int_equal(json_array_size(json_object_get(doc, "vcpus")), 24);
	v = json_array_get(json_object_get(doc, "vcpus"), 17);
	assert_int_equal(json_integer_value(json_object_get(v, "index")), 17);
	assert_int_equal(json_integer_value(json_object_get(v, "entity_first")), 16);
	assert_int_equal(json_integer_value(json_object_get(v, "vcpus_per_entity")), 8);
	assert_string_equal(json_string_value(json_object_get(v, "alias")), "vcpu1");
	assert_string_equal(json_string_value(json_object_get(v, "device_id")), "vcpu1");
	assert_string_equal(json_string_value(json_object_get(v, "qom_path")),
			    "/machine/peripheral/vcpu1/thread[1]");
	assert_true(json_is_true(json_object_get(v, "removable")));
	assert_true(json_is_false(json_object_get(v, "boot")));
	assert_int_equal(json_integer_value(json_object_get(v, "thread_id")), 22742);
	assert_int_equal(json_integer_value(json_object_get(v, "cpu_index")), 9);
	assert_true(json_is_null(json_object_get(v, "node")));
	assert_true(json_is_null(json_object_get(v, "cpu_state")));
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(v, "topology"), "core")), 16);
	assert_int_equal(json_object_size(json_object_get(v, "topology")), 1);
	props = topo_entity_props(&t.ents[2]);
	assert_true(json_equal(json_object_get(v, "props"), props));
	json_decref(props);
	v = json_array_get(json_object_get(doc, "vcpus"), 0);
	assert_true(json_is_true(json_object_get(v, "boot")));
	assert_string_equal(json_string_value(json_object_get(v, "device_id")),
			    "/machine/unattached/device[1]");
	json_decref(doc);
	topo_free(&t);

	build_capture("x86-node-full", 0, &t);
	doc = topo_to_json(&t);
	v = json_array_get(json_object_get(doc, "vcpus"), 3);
	assert_false(json_is_true(json_object_get(v, "online")));
	assert_true(json_is_null(json_object_get(v, "device_id")));
	assert_true(json_is_null(json_object_get(v, "thread_id")));
	assert_true(json_is_null(json_object_get(v, "cpu_index")));
	assert_int_equal(json_integer_value(json_object_get(v, "node")), 1);
	assert_null(json_object_get(json_object_get(v, "topology"), "node"));
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(doc, "topology_keys"), 3)), "node");
	json_decref(doc);
	topo_free(&t);
}

static char *render_table(const struct topology *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(out_topology_table(t, f), 0);
	fclose(f);
	return buf;
}

static void test_show_table(void **state)
{
	struct topology t;
	char *text;

	(void)state;
	build_trace("c11", "c12", 0, &t);
	text = render_table(&t);
	assert_string_equal(text,
		"INDEX  SOCKET  CORE  THREAD  STATE    REMOVABLE  ALIAS  HOST-TID\n"
		"    0       0     0       0  online   boot       -          4092\n"
		"    1       0     0       1  online   boot       -          4093\n"
		"    2       0     1       0  online   yes        vcpu2      4153\n"
		"    3       0     1       1  online   yes        vcpu3      4154\n"
		"    4       1     0       0  online   yes        vcpu4      4155\n"
		"    5       1     0       1  offline  -          -             -\n"
		"    6       1     1       0  offline  -          -             -\n"
		"    7       1     1       1  offline  -          -             -\n"
		"online 5 of 8 vCPUs, 3 removable\n");
	free(text);
	topo_free(&t);

	build_capture("s390-fast", 0, &t);
	text = render_table(&t);
	assert_string_equal(text,
		"INDEX  CORE  STATE   REMOVABLE  ALIAS  HOST-TID  CPU-STATE\n"
		"    0     0  online  boot       -         89504  operating\n"
		"    1     1  online  boot       -         89505  stopped\n"
		"online 2 of 2 vCPUs, 0 removable\n");
	free(text);
	topo_free(&t);

	build_capture("x86-node-full", 0, &t);
	text = render_table(&t);
	assert_non_null(strstr(text, "INDEX  SOCKET  CORE  THREAD  NODE  STATE"));
	assert_non_null(strstr(text, "online 2 of 8 vCPUs, 0 removable\n"));
	free(text);
	topo_free(&t);
}


static void build_text_json(json_t *hp, json_t *cf, struct topology *t)
{
	struct vc_err err = { 0 };

	if (topo_build_json(t, hp, cf, 0, &err)) {
		print_error("topo_build: %s\n", err.msg);
		fail();
	}
}

/* ---- the text path (topo_build_text) and the streamed --json ------------ */

/* Per-node counts, made here from the entities, lowest node first. */
static json_t *nodes_json(const struct topology *t)
{
	json_t *a = json_array();
	long node, prev = -1;
	size_t i;

	for (;;) {
		int online = 0, max = 0, removable = 0;

		node = -1;
		for (i = 0; i < t->n_ents; i++)
			if (t->ents[i].ids[TOPO_NODE] > prev &&
			    (node < 0 || t->ents[i].ids[TOPO_NODE] < node))
				node = t->ents[i].ids[TOPO_NODE];
		if (node < 0)
			return a;
		for (i = 0; i < t->n_ents; i++) {
			const struct topo_entity *e = &t->ents[i];

			if (e->ids[TOPO_NODE] != node)
				continue;
			max += e->vcpus_count;
			online += e->online ? e->vcpus_count : 0;
			removable += e->online && e->removable ? e->vcpus_count : 0;
		}
		json_array_append_new(a, json_pack("{s:I,s:i,s:i,s:i}",
			"node", (json_int_t)node, "online", online, "max", max,
			"removable", removable));
		prev = node;
	}
}

/* What "vcpuctl show --json" printed when it built the document with
 * jansson: the reference out_show_json() must match byte for byte. */
static char *jansson_show_json(const struct topology *t, const char *version,
			       const char *package,
			       const struct tune_thread_info *info)
{
	json_t *doc, *model, *row;
	char *text, *line;
	size_t i;

	model = topo_to_json(t);
	assert_non_null(model);
	json_array_foreach(json_object_get(model, "vcpus"), i, row) {
		if (!info) {
			json_object_set_new(row, "removal", json_null());
			continue;
		}
		json_object_set_new(row, "affinity", info[i].affinity ?
				    json_string(info[i].affinity) : json_null());
		json_object_set_new(row, "sched", info[i].sched ?
				    json_string(info[i].sched) : json_null());
		json_object_set_new(row, "cgroup", info[i].cgroup ?
				    json_string(info[i].cgroup) : json_null());
		json_object_set_new(row, "removal", json_null());
	}
	doc = json_pack("{s:{s:s,s:s}}", "qemu", "version", version,
			"package", package);
	assert_non_null(doc);
	assert_int_equal(json_object_update(doc, model), 0);
	assert_int_equal(json_object_set_new(doc, "pending", json_integer(0)), 0);
	assert_int_equal(json_object_set_new(doc, "nodes", nodes_json(t)), 0);
	text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	assert_non_null(text);
	assert_true(asprintf(&line, "%s\n", text) > 0);
	free(text);
	json_decref(model);
	json_decref(doc);
	return line;
}

static char *streamed_show_json(const struct topology *t, const char *version,
				const char *package,
				const struct tune_thread_info *info)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(out_show_json(t, version, package, info, f), 0);
	fclose(f);
	return buf;
}

static void assert_same_text(const char *what, const char *got,
			     const char *want)
{
	size_t i;

	if (!strcmp(got, want))
		return;
	for (i = 0; got[i] && got[i] == want[i]; i++)
		;
	print_error("%s: differs at byte %zu:\n got  ...%.80s\n want ...%.80s\n",
		    what, i, got + (i > 20 ? i - 20 : 0),
		    want + (i > 20 ? i - 20 : 0));
	fail();
}

/* One pair of replies built from jansson's compact text and from text
 * spaced as given (QEMU's, pretty=on's) agree, every entity's props are an
 * object, and the streamed document is jansson's to the byte.  Returns
 * how many entities there are. */
static size_t check_text_build(const char *what, json_t *hp, json_t *cf,
			       size_t hp_flags, pid_t pid)
{
	struct topology a, b;
	struct vc_err err = { 0 };
	char *hp_text, *cf_text, *want, *got;
	json_t *ja, *jb, *props;
	size_t i;

	hp_text = json_dumps(hp, hp_flags | JSON_ENCODE_ANY);
	cf_text = cf ? json_dumps(cf, hp_flags | JSON_ENCODE_ANY) : NULL;
	assert_non_null(hp_text);
	if (topo_build_json(&a, hp, cf, pid, &err)) {
		print_error("%s: topo_build_json: %s\n", what, err.msg);
		fail();
	}
	if (topo_build(&b, hp_text, strlen(hp_text), cf_text,
			    cf_text ? strlen(cf_text) : 0, pid, &err)) {
		print_error("%s: topo_build: %s\n", what, err.msg);
		fail();
	}
	ja = topo_to_json(&a);
	jb = topo_to_json(&b);
	if (!json_equal(ja, jb)) {
		print_error("%s: the spacing of the text changed the model\n", what);
		fail();
	}
	for (i = 0; i < b.n_ents; i++) {
		props = topo_entity_props(&b.ents[i]);
		assert_true(json_is_object(props));
		json_decref(props);
	}
	want = jansson_show_json(&a, "10.0.2", "pkg", NULL);
	got = streamed_show_json(&b, "10.0.2", "pkg", NULL);
	assert_same_text(what, got, want);
	free(got);
	free(want);
	json_decref(ja);
	json_decref(jb);
	topo_free(&a);
	topo_free(&b);
	free(hp_text);
	free(cf_text);
	return i;
}

static void test_text_captures(void **state)
{
	static const char *const names[] = {
		"x86-dies", "x86-node-full", "x86-basic-pluggable",
		"x86-full-fast", "ppc64-basic", "ppc64-hotplug-1",
		"ppc64-hotplug-2", "ppc64-hotplug-4", "ppc64-no-threads",
		"s390-fast", "aarch64-clusters",
	};
	char hp_name[256], cf_name[256];
	json_t *hp, *cf;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(hp_name, sizeof(hp_name), PREFIX "%s-hotplug.json", names[i]);
		snprintf(cf_name, sizeof(cf_name), PREFIX "%s-cpus.json", names[i]);
		hp = load_return(hp_name);
		cf = load_return(cf_name);
		/* QEMU's own spacing, and pretty=on's newlines. */
		assert_true(check_text_build(names[i], hp, cf, 0, 0) > 0);
		assert_true(check_text_build(names[i], hp, cf, JSON_INDENT(2), 0) > 0);
		assert_true(check_text_build(names[i], hp, NULL, 0, 0) > 0);
		json_decref(hp);
		json_decref(cf);
	}
}

/* Replies outside the usual shape: escapes, non-ASCII, reals, "-0",
 * duplicate members (the last counts, as in jansson), nested props.
 * Strings come out decoded; props verbatim, minus whitespace. */
static void test_text_unusual(void **state)
{
	static const char hp[] =
		"[{\"props\": {\"core-id\": 0, \"x\": 1.5}, \"vcpus-count\": 1,"
		"  \"type\": \"t\", \"qom-path\": \"/machine/unattached/device[0]\"},"
		" {\"props\": {\"core-id\": 4}, \"vcpus-count\": 1, \"type\": \"caf\\u00e9\"},"
		" {\"props\": {\"core-id\": 5, \"s\": \"a\\/b\"}, \"vcpus-count\": 1, \"type\": \"t\","
		"  \"qom-path\": \"/machine/peripheral/v\\u0035\"},"
		" {\"props\": {\"core-id\": 6, \"z\": -0, \"n\": {\"a\": [1, 2]}},"
		"  \"vcpus-count\": 1, \"type\": \"t\", \"type\": \"u\"},"
		" {\"props\": {\"core\\u002did\": 8, \"b\": true, \"c\": null, \"d\": \"x y\"},"
		"  \"vcpus-count\": 1, \"type\": \"t\", \"qom-path\": null}]";
	static const char cf[] =
		"[{\"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0,"
		"  \"thread-id\": 10, \"target\": \"x86_64\", \"props\": {\"core-id\": 0}},"
		" {\"qom-path\": \"/machine/peripheral/v5\", \"cpu-index\": 5, \"cpu-index\": 6,"
		"  \"thread-id\": 15, \"target\": \"x86\\u005f64\", \"cpu-state\": \"\\u00e9\\ud83d\\ude00\"}]";
	struct topology t;
	struct vc_err err = { 0 };
	char *got;

	(void)state;
	assert_int_equal(topo_build(&t, hp, strlen(hp), cf, strlen(cf), 0, &err), 0);
	assert_int_equal(t.n_ents, 5);
	assert_string_equal(t.ents[0].props, "{\"core-id\":0,\"x\":1.5}");
	assert_string_equal(t.ents[1].type, "caf\xc3\xa9");
	assert_string_equal(t.ents[2].alias, "v5");
	assert_string_equal(t.ents[2].props, "{\"core-id\":5,\"s\":\"a\\/b\"}");
	assert_string_equal(t.ents[3].type, "u");
	assert_string_equal(t.ents[3].props,
			    "{\"core-id\":6,\"z\":-0,\"n\":{\"a\":[1,2]}}");
	/* An escaped key is the key. */
	assert_int_equal(t.ents[4].ids[TOPO_CORE], 8);
	assert_int_equal(t.vcpus[2].cpu_index, 6);
	assert_string_equal(t.vcpus[2].target, "x86_64");
	assert_string_equal(t.vcpus[2].cpu_state, "\xc3\xa9\xf0\x9f\x98\x80");
	/* --json stays ASCII: escaped props get jansson's spelling. */
	got = streamed_show_json(&t, "1", "p", NULL);
	assert_non_null(strstr(got, "\"props\":{\"core-id\":5,\"s\":\"a/b\"}"));
	assert_non_null(strstr(got, "\"props\":{\"core-id\":6,\"z\":-0,"));
	assert_non_null(strstr(got, "\"type\":\"caf\\u00E9\""));
	free(got);
	topo_free(&t);
}

/* Mid-removal (issue seen on pseries SMT): query-cpus-fast still lists
 * a thread of a core that query-hotpluggable-cpus shows unplugged.  The
 * vCPU is leaving, not an error; a row under no device at all is. */
static void test_leaving_vcpu(void **state)
{
	static const char hp[] =
		"[{\"props\": {\"core-id\": 2}, \"vcpus-count\": 2, \"type\": \"c\"},"
		" {\"props\": {\"core-id\": 0}, \"vcpus-count\": 2, \"type\": \"c\","
		"  \"qom-path\": \"/machine/unattached/device[0]\"}]";
	static const char cf[] =
		"[{\"qom-path\": \"/machine/unattached/device[0]/thread[0]\", \"cpu-index\": 0, \"thread-id\": 10},"
		" {\"qom-path\": \"/machine/unattached/device[0]/thread[1]\", \"cpu-index\": 1, \"thread-id\": 11},"
		" {\"qom-path\": \"/machine/peripheral/vcpu2/thread[1]\", \"cpu-index\": 3, \"thread-id\": 13}]";
	static const char cf_bad[] =
		"[{\"qom-path\": \"/machine/unattached/device[7]\", \"cpu-index\": 0}]";
	struct topology t;
	struct vc_err err = { 0 };

	(void)state;
	assert_int_equal(topo_build(&t, hp, strlen(hp), cf, strlen(cf), 0, &err), 0);
	assert_int_equal(t.online, 2);
	assert_int_equal(t.max, 4);
	assert_false(t.vcpus[2].online);
	assert_false(t.vcpus[3].online);
	assert_int_equal(t.n_leaving, 1);
	assert_int_equal(t.n_leaving_vcpus, 1);
	assert_string_equal(t.leaving[0], "/machine/peripheral/vcpu2");
	assert_true(topo_leaving(&t, "/machine/peripheral/vcpu2"));
	assert_false(topo_leaving(&t, "/machine/peripheral/vcpu"));
	topo_free(&t);
	assert_int_equal(topo_build(&t, hp, strlen(hp), cf_bad, strlen(cf_bad), 0, &err), -1);
	assert_string_equal(err.msg, "query-cpus-fast: entry 0: qom-path "
		"'/machine/unattached/device[7]' belongs to no plugged entity of "
		"query-hotpluggable-cpus");
}

/* Props with a key given twice are refused: which would QEMU take? */
static void test_props_duplicate_key(void **state)
{
	static const char hp[] =
		"[{\"props\": {\"core-id\": 1, \"core\\u002did\": 2}, \"vcpus-count\": 1,"
		"  \"type\": \"t\"}]";
	struct topology t;
	struct vc_err err = { 0 };

	(void)state;
	assert_int_equal(topo_build(&t, hp, strlen(hp), NULL, 0, 0, &err), -1);
	assert_string_equal(err.msg,
		"query-hotpluggable-cpus: entry 0: 'props' has the key 'core\\u002did' twice");
}

/* Every malformed reply fails the text build with the tree build's
 * message, whether the entry is read from the text or by jansson. */
static void test_bad_replies_text(void **state)
{
	struct topology t;
	struct vc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(topo_build(&t, bad_cases[i].hp,
						 strlen(bad_cases[i].hp),
						 bad_cases[i].cf,
						 strlen(bad_cases[i].cf), 0,
						 &err), -1);
		assert_int_equal(err.code, VC_EXIT_CONN);
		if (strcmp(err.msg, bad_cases[i].msg)) {
			print_error("case %zu:\n got  %s\n want %s\n", i, err.msg,
				    bad_cases[i].msg);
			fail();
		}
		assert_null(t.ents);
		assert_null(t.vcpus);
		assert_int_equal(t.n_ents, 0);
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(topo_build(&t, "[{", 2, NULL, 0, 0, &err), -1);
	assert_string_equal(err.msg, "query-hotpluggable-cpus: malformed JSON at byte 2");
	assert_int_equal(topo_build(&t, "[{\"props\":{},\"vcpus-count\":1,\"type\":\"t\"}]", 41,
				    "[\"\\u0000\"]", 10, 0, &err), -1);
	assert_string_equal(err.msg, "query-cpus-fast: malformed JSON at byte 2");
}

/* A big synthetic topology (the usual shape throughout) and host-thread
 * fields that jansson must escape or refuses: still jansson's bytes. */
static void test_show_json_stream(void **state)
{
	json_t *hp = json_array(), *cf = json_array();
	struct tune_thread_info *info;
	struct topology t;
	struct vc_err err = { 0 };
	char *want, *got, path[64];
	int i;

	(void)state;
	for (i = 0; i < 1024; i++) {
		snprintf(path, sizeof(path), "/machine/peripheral/vcpu%d", i);
		json_array_append_new(hp, json_pack("{s:{s:i,s:i,s:i},s:i,s:s,s:s}",
			"props", "socket-id", i / 64, "core-id", (i / 2) % 32,
			"thread-id", i % 2, "vcpus-count", 1,
			"type", "qemu64-x86_64-cpu", "qom-path", path));
		if (i % 3)
			json_array_append_new(cf, json_pack("{s:s,s:i,s:i,s:s}",
				"qom-path", path, "cpu-index", i,
				"thread-id", 100000 + i, "target", "x86_64"));
	}
	assert_true(check_text_build("synthetic", hp, cf, 0, 0) == 1024);
	build_text_json(hp, cf, &t);
	info = calloc(t.n_vcpus, sizeof(*info));
	assert_non_null(info);
	info[0].affinity = strdup("0-3");
	info[0].sched = strdup("other");
	info[0].cgroup = strdup("/machine.slice/caf\xc3\xa9");
	info[1].cgroup = strdup("/bad\xff");       /* not UTF-8: left out */
	info[2].sched = strdup("tab\there \"q\" \\");
	want = jansson_show_json(&t, "10.0.2", "", info);
	got = streamed_show_json(&t, "10.0.2", "", info);
	assert_same_text("host threads", got, want);
	free(want);
	free(got);
	for (i = 0; i < (int)t.n_vcpus; i++)
		tune_thread_info_free(&info[i]);
	free(info);
	topo_free(&t);
	json_decref(hp);
	json_decref(cf);
	(void)err;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x86_dies),
		cmocka_unit_test(test_x86_node_full),
		cmocka_unit_test(test_x86_basic_pluggable),
		cmocka_unit_test(test_x86_full_fast),
		cmocka_unit_test(test_x86_full_old_query_cpus),
		cmocka_unit_test(test_ppc64_basic),
		cmocka_unit_test(test_ppc64_hotplug_1),
		cmocka_unit_test(test_ppc64_hotplug_2),
		cmocka_unit_test(test_ppc64_hotplug_4),
		cmocka_unit_test(test_ppc64_no_threads),
		cmocka_unit_test(test_s390_fast),
		cmocka_unit_test(test_aarch64_clusters),
		cmocka_unit_test(test_q35_72_trace),
		cmocka_unit_test(test_hotpluggable_only),
		cmocka_unit_test(test_threads_shared),
		cmocka_unit_test(test_threads_qemu_pid),
		cmocka_unit_test(test_threads_missing),
		cmocka_unit_test(test_threads_capture_pid),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_extra_fields),
		cmocka_unit_test(test_sort_and_threads_order),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_show_table),
		cmocka_unit_test(test_text_captures),
		cmocka_unit_test(test_text_unusual),
		cmocka_unit_test(test_props_duplicate_key),
		cmocka_unit_test(test_leaving_vcpu),
		cmocka_unit_test(test_bad_replies_text),
		cmocka_unit_test(test_show_json_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
