#!/usr/bin/env bats
# set / plan / add / del / wait against the fake QMP server: what real QEMU
# cannot be made to do on cue (a guest that rejects, errors mid-batch, a
# connection that drops, events before replies, pseries cores of 8).

load ../lib/fake

load ../lib/vcpuctl

# scenario JSON-FRAGMENT: an x86 VM of 8 vCPUs in one socket, 1 boot CPU
# online, plus the given members.
scenario() {
	local extra=${1:-}
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}%s}\n' \
		"${extra:+, $extra}" > "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

ppc_scenario() {
	local extra=${1:-}
	printf '{"hotpluggable": "captures/qemumonitorjson-cpuinfo-ppc64-hotplug-1-hotplug.json", "cpus_fast": "captures/qemumonitorjson-cpuinfo-ppc64-hotplug-1-cpus.json"%s}\n' \
		"${extra:+, $extra}" > "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

count_cmds() { fake_log_commands | grep -c -x "$1" || true; }

teardown() { fake_stop; }

@test "set plugs the lowest free slots with ids vcpuN and checks them" {
	scenario
	run VC set --count 4
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 1    vcpu1      plugged"* ]]
	[[ "$output" == *"vCPU 3    vcpu3      plugged"* ]]
	[[ "$output" == *"set: online 4 of 8 vCPUs"* ]]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 4 ]
	# one planning query, three device_adds, one check
	[ "$(count_cmds device_add)" -eq 3 ]
	[ "$(count_cmds query-cpus-fast)" -eq 2 ]
}

@test "a plug costs 2 + n QMP round trips" {
	scenario
	run VC set --count 8 --stats --no-syslog
	[ "$status" -eq 0 ]
	[[ "$output" == *"qmp_round_trips=9 change_round_trips=9 "* ]]
}

@test "set to the current count does nothing and exits 0" {
	scenario
	run VC set --count 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to do"* ]]
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "relative counts" {
	scenario
	run VC set --count +2
	[ "$status" -eq 0 ]
	run VC set --count -1
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 2    vcpu2      removed"* ]]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 2 ]
}

@test "a count above the maximum is refused with the limit named, nothing sent" {
	scenario
	run VC set --count 9
	[ "$status" -eq 5 ]
	[[ "$output" == *"maximum is 8"* ]]
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "plan and set --dry-run send nothing that changes the VM" {
	scenario
	run VC plan --count 3
	[ "$status" -eq 0 ]
	[[ "$output" == *"1. device_add vcpu1"* ]]
	run VC set --count 3 --dry-run --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.steps[0].qmp.execute' <<<"$output")" = device_add ]
	[ "$(jq -r '.steps[1].qmp.arguments.id' <<<"$output")" = vcpu2 ]
	[ "$(jq -r '.steps[1].qmp.arguments.driver' <<<"$output")" != null ]
	[ "$(count_cmds device_add)" -eq 0 ]
	[ "$(count_cmds device_del)" -eq 0 ]
}

@test "a QEMU error on the 3rd of 5 device_adds: 2 done, reported, exit 8" {
	scenario '"fail": [{"command": "device_add", "nth": 3, "class": "GenericError", "desc": "no more room"}]'
	run VC set --count 6
	[ "$status" -eq 8 ]
	[[ "$output" == *"vCPU 1    vcpu1      plugged"* ]]
	[[ "$output" == *"vCPU 2    vcpu2      plugged"* ]]
	[[ "$output" == *"vCPU 3    vcpu3      failed: device_add: GenericError: no more room"* ]]
	[[ "$output" == *"vCPU 5    vcpu5      not-done"* ]]
	[[ "$output" == *"step 3 of 5"* ]]
	[[ "$output" == *"plugged: vCPUs 1-2"* ]]
	[ "$(count_cmds device_add)" -eq 3 ]
}

@test "a QEMU error on the first step changes nothing: exit 4" {
	scenario '"fail": [{"command": "device_add", "nth": 1, "class": "GenericError", "desc": "nope"}]'
	run VC set --count 3 --json
	[ "$status" -eq 4 ]
	[ "$(jq -r .result <<<"$output")" = qemu-refused ]
	[ "$(jq -r '.vcpus[0].state' <<<"$output")" = failed ]
	[ "$(jq -r '.vcpus[1].state' <<<"$output")" = not-done ]
}

@test "the connection dropping mid-batch is reported promptly with what was done" {
	scenario '"close": {"command": "device_add", "nth": 2, "when": "mid-reply"}'
	SECONDS=0
	run VC set --count 4
	[ "$status" -eq 8 ]
	[ "$SECONDS" -lt 5 ]
	[[ "$output" == *"vcpu1      plugged"* ]]
	[[ "$output" == *"QEMU closed the connection"* ]]
	[[ "$output" == *"vcpu3      not-done"* ]]
}

@test "a guest that rejects the unplug: prompt exit 6, count unchanged" {
	scenario '"unplug": "reject"'
	VC set --count 3
	SECONDS=0
	run VC set --count 2 --timeout 30
	[ "$status" -eq 6 ]
	[ "$SECONDS" -lt 10 ]
	[[ "$output" == *"rejected by the guest: ACPI _OST status 128 (eject not supported)"* ]]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 3 ]
}

@test "DEVICE_UNPLUG_GUEST_ERROR ends the wait as rejected" {
	scenario '"unplug": "guest-error"'
	VC set --count 2
	run VC del 1 --timeout 30
	[ "$status" -eq 6 ]
	[[ "$output" == *"rejected by the guest"* ]]
}

@test "CPU hot unplug not supported on this machine (s390x) is QEMU's refusal" {
	scenario '"unplug": "unsupported"'
	VC set --count 2
	run VC set --count 1
	[ "$status" -eq 4 ]
	[[ "$output" == *"CPU hot unplug not supported on this machine"* ]]
}

@test "unplug waits for the lapic DEVICE_DELETED that x86 QEMU sends" {
	scenario '"deleted_event": "lapic", "unplug_delay_ms": 200'
	VC set --count 4
	run VC set --count 1 --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.vcpus[].state] | unique | join(",")' <<<"$output")" = removed ]
	[ "$(jq .online <<<"$output")" -eq 1 ]
	# all device_dels go out before any waiting
	[ "$(count_cmds device_del)" -eq 3 ]
}

@test "events that arrive before the device_del reply are not lost" {
	scenario '"deleted_event": "device", "events_before_reply": true'
	VC set --count 3
	run VC set --count 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"set: online 1 of"* ]]
}

@test "a removal that never finishes times out with exit 7 and lists what is pending" {
	scenario '"unplug": "pending"'
	VC set --count 3
	SECONDS=0
	run VC set --count 1 --timeout 1
	[ "$status" -eq 7 ]
	[ "$SECONDS" -lt 4 ]
	[[ "$output" == *"removal pending for vCPUs 1-2"* ]]
	run VC wait 1-2 --timeout 0.5
	[ "$status" -eq 7 ]
	# without a list, QEMU's ACPI status names them
	run VC wait --timeout 0.5 --json
	[ "$status" -eq 7 ]
	[ "$(jq -r .pending <<<"$output")" = 1-2 ]
}

@test "--no-wait returns at once, and wait finishes the job" {
	scenario '"unplug_delay_ms": 700'
	VC set --count 3
	run VC set --count 1 --no-wait --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .pending <<<"$output")" = 1-2 ]
	run VC wait 1-2 --timeout 10
	[ "$status" -eq 0 ]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 1 ]
}

@test "wait with nothing pending exits 0" {
	scenario
	run VC wait
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to do"* ]]
}

@test "named vCPUs: add and del a list, boot CPUs and missing vCPUs refused" {
	scenario
	run VC add 3,5
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 3    vcpu3      plugged"* ]]
	[[ "$output" == *"vCPU 5    vcpu5      plugged"* ]]
	run VC del 0
	[ "$status" -eq 5 ]
	[[ "$output" == *"boot CPU"* ]]
	run VC add 8
	[ "$status" -eq 2 ]
	[[ "$output" == *"vCPU 8 does not exist"* ]]
	run VC del 3-5
	[ "$status" -eq 0 ]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 1 ]
}

@test "pseries: a core of 8 vCPUs moves whole" {
	ppc_scenario '"deleted_event": "children", "events_before_reply": true'
	run VC set --count 12
	[ "$status" -eq 5 ]
	[[ "$output" == *"8 and 16"* ]]
	run VC add 16-19
	[ "$status" -eq 5 ]
	[[ "$output" == *"16-23"* ]]
	run VC set --count 24 --json
	[ "$status" -eq 0 ]
	[ "$(jq '.vcpus | length' <<<"$output")" -eq 8 ]
	[ "$(jq -r '.vcpus[0].device_id' <<<"$output")" = vcpu16 ]
	[ "$(count_cmds device_add)" -eq 1 ]
	run VC set --count 8
	[ "$status" -eq 0 ]
	# the core plugged as vcpu0 by someone else goes by its own alias
	grep -q '"id": *"vcpu0"' "$FAKE_LOG"
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 8 ]
}

@test "bad counts and lists are usage errors before anything is sent" {
	scenario
	for bad in x 1.5 ++1 "" 99999999999999999999; do
		run VC set --count "$bad"
		[ "$status" -eq 2 ]
	done
	run VC add 3-1
	[ "$status" -eq 2 ]
	run VC set
	[ "$status" -eq 2 ]
	# add and del name their vCPUs: placement is refused by name, not
	# taken as an abbreviation of --node-affinity
	for cmd in add del; do
		for opt in "--node 1" "--spread nodes" "--granularity core"; do
			run VC $cmd 3 $opt
			[ "$status" -eq 2 ]
			[[ "$output" == *"--node, --spread and --granularity apply to --count, not to a list of vCPUs"* ]]
		done
	done
	[ "$(count_cmds qmp_capabilities)" -eq 0 ]
}

@test "clamps: --max and --min turn a refusal into a reported clamp" {
	scenario
	run VC set --count +20 --max 6
	[ "$status" -eq 0 ]
	[[ "$output" == *"clamped"* ]]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 6 ]
}

@test "a removal seen only by polling costs one poll, not a poll and a second look" {
	# No DEVICE_DELETED at all: only query-hotpluggable-cpus can tell.
	scenario '"deleted_event": "none"'
	VC set --count 3
	before=$(count_cmds query-hotpluggable-cpus)
	run VC set --count 1 --timeout 10 --no-syslog
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 2    vcpu2      removed"* ]]
	# one to plan, one poll that finds both gone
	[ "$(( $(count_cmds query-hotpluggable-cpus) - before ))" -eq 2 ]
}
