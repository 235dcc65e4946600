#!/usr/bin/env bats
# show's columns: -o picks them from the field table, --help lists them,
# and --json is the same document with or without -o.

bats_require_minimum_version 1.5.0
load ../lib/fake
load ../lib/vcpuctl

setup() {
	printf '{"synthetic": {"sockets": 2, "cores": 2, "threads": 1, "online": 3, "thread_id_base": 1000000000}}\n' \
		> "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

teardown() { fake_stop; }

@test "show -o prints exactly the named columns, in that order" {
	run --separate-stderr VC show -o state,INDEX,Host-Tid
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "STATE    INDEX    HOST-TID" ]
	[[ "${lines[1]}" =~ ^online\ +0\ +[0-9]+$ ]]
	[[ "${lines[4]}" =~ ^offline\ +3\ +-$ ]]
	[ "${lines[5]}" = "online 3 of 4 vCPUs, 0 removable" ]
	[ "${#lines[@]}" -eq 6 ]
}

@test "show -o can name a column the default table leaves out" {
	run --separate-stderr VC show
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" != *QOM-PATH* ]]
	run --separate-stderr VC show --output INDEX,QOM-PATH
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "INDEX  QOM-PATH" ]
	[[ "${lines[1]}" == "    0  /machine/"* ]]
}

@test "show -o with an unknown column: exit 2, naming it and the known ones" {
	run --separate-stderr VC show -o INDEX,SIZE
	[ "$status" -eq 2 ]
	[[ "$stderr" == "vcpuctl: --output: unknown column 'SIZE'; columns: INDEX,STATE,"* ]]
	[ -z "$output" ]
}

@test "show --help lists every column with what it means" {
	run "$VCPUCTL" show --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"-o, --output=COLS"* ]]
	for c in INDEX SOCKET NODE STATE REMOVABLE ALIAS HOST-TID AFFINITY SCHED CGROUP CPU-STATE QOM-PATH TYPE CPU-INDEX TARGET; do
		grep -qE "^  $c +[a-zA-Z]" <<<"$output" || { echo "column $c not listed"; false; }
	done
}

@test "show --json is the same document with -o" {
	run --separate-stderr VC show --json
	[ "$status" -eq 0 ]
	local plain=$output
	run --separate-stderr VC show --json -o INDEX
	[ "$status" -eq 0 ]
	# thread info aside, which a second run reads again
	[ "$(jq -c 'del(.vcpus[].affinity, .vcpus[].sched, .vcpus[].cgroup)' <<<"$output")" = \
	  "$(jq -c 'del(.vcpus[].affinity, .vcpus[].sched, .vcpus[].cgroup)' <<<"$plain")" ]
}
