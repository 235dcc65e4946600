#!/usr/bin/env bats
# vcpuctl events against the fake QMP server: raw QMP events and the
# vcpu-added / vcpu-removed lines, --count, --timeout, exit codes.

bats_require_minimum_version 1.5.0
load ../lib/fake

load ../lib/vcpuctl

setup() {
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
}

teardown() { fake_stop; }

# Removals take 4 s in these scenarios: events must connect before they
# finish, also under valgrind (make check-valgrind), where each vcpuctl run
# takes a second or two.  A removal that ends before events connects gives
# no event, by design.

start() {
	printf '%s\n' "$1" > "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

@test "set --no-wait, then events sees the slow removal finish" {
	# events must be listening before the removals finish: 8 s leaves room
	# for a slow start under valgrind; --count 2 returns as soon as both come
	start '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}, "unplug_delay_ms": 8000}'
	run VC set --count 3
	[ "$status" -eq 0 ]
	run VC set --count 1 --no-wait
	[ "$status" -eq 0 ]
	run --separate-stderr VC events --timeout 20 --vcpu-only --count 2
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r '[.event, .data.index, .data.device_id] | join(" ")' <<<"${lines[0]}")" = "vcpu-removed 1 vcpu1" ]
	[ "$(jq -r '[.event, .data.index, .data.device_id] | join(" ")' <<<"${lines[1]}")" = "vcpu-removed 2 vcpu2" ]
	# the thread the vCPU had, and a QMP-shaped timestamp
	[ "$(jq '.data.thread_id > 0 and (.timestamp.seconds | type) == "number"' <<<"${lines[0]}")" = true ]
}

@test "a pseries core of 8 vCPUs gives 8 vcpu-removed events" {
	start '{"synthetic": {"sockets": 1, "cores": 4, "threads": 1, "vcpus_count": 8, "online": 8}, "unplug_delay_ms": 4000, "deleted_event": "children"}'
	run VC set --count 16
	[ "$status" -eq 0 ]
	run VC set --count 8 --no-wait
	[ "$status" -eq 0 ]
	run --separate-stderr VC events --timeout 10
	[ "$status" -eq 0 ]
	removed=$(printf '%s\n' "${lines[@]}" | jq -c 'select(.event == "vcpu-removed") | .data.index' | tr '\n' ' ')
	[ "$removed" = "8 9 10 11 12 13 14 15 " ]
	# one device, 8 vCPUs (jq -s: jq 1.6's -e looks at the last input only)
	printf '%s\n' "${lines[@]}" | jq -s -e '[.[] | select(.event == "vcpu-removed")] | all(.data.device_id == "vcpu8")' >/dev/null
	# QEMU's own events are there too: the core and its 8 threads
	[ "$(printf '%s\n' "${lines[@]}" | jq -c 'select(.event == "DEVICE_DELETED")' | wc -l)" -eq 9 ]
}

@test "every line is one JSON object, raw events as QEMU sent them" {
	start '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}, "unplug_delay_ms": 4000, "deleted_event": "both"}'
	VC set --count 2 >/dev/null
	VC set --count 1 --no-wait >/dev/null
	run --separate-stderr VC events --timeout 8 --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 4 ]
	for l in "${lines[@]}"; do jq -e 'type == "object" and has("event") and has("timestamp")' <<<"$l" >/dev/null; done
	printf '%s\n' "${lines[@]}" | jq -s -e 'any(.event == "DEVICE_DELETED" and .data.device == "vcpu1")' >/dev/null
	printf '%s\n' "${lines[@]}" | jq -s -e 'any(.event == "ACPI_DEVICE_OST" and .data.info.status == 0)' >/dev/null
	printf '%s\n' "${lines[@]}" | jq -s -e 'any(.event == "vcpu-removed" and .data.index == 1)' >/dev/null
}

@test "--count stops after N lines, counting raw and vCPU events" {
	start '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}, "unplug_delay_ms": 4000}'
	VC set --count 2 >/dev/null
	VC set --count 1 --no-wait >/dev/null
	SECONDS=0
	run --separate-stderr VC events --count 1 --timeout 10
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$SECONDS" -lt 5 ]
}

@test "--timeout: exit 0 without --count, 7 when --count was not reached" {
	start '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}}'
	# Each run ends at its 1 s, well before the 10 s QMP timeout; the
	# bound leaves room for valgrind on a busy machine.
	SECONDS=0
	run --separate-stderr VC events --timeout 1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$SECONDS" -lt 6 ]
	SECONDS=0
	run --separate-stderr VC events --timeout 1 --count 1
	[ "$status" -eq 7 ]
	[[ "$stderr" == *"0 of 1 events before the timeout"* ]]
	[ "$SECONDS" -lt 6 ]
}

@test "--quiet prints nothing and still counts" {
	start '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}, "unplug_delay_ms": 4000}'
	VC set --count 2 >/dev/null
	VC set --count 1 --no-wait >/dev/null
	run VC events --quiet --vcpu-only --count 1 --timeout 10
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "bad --count and stray arguments are usage errors" {
	run VC events --count 0
	[ "$status" -eq 2 ]
	run VC events --count x
	[ "$status" -eq 2 ]
	run VC events now
	[ "$status" -eq 2 ]
}

@test "no socket: usage error; closed socket: connection error" {
	run env -u VCPUCTL_SOCKET ${VCPUCTL_WRAP:-} "$VCPUCTL" events --timeout 1
	[ "$status" -eq 2 ]
	run VC events --timeout 1 --socket "$BATS_TEST_TMPDIR/none.sock"
	[ "$status" -eq 3 ]
}
