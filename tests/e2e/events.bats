#!/usr/bin/env bats
# vcpuctl events on a real QEMU guest.  The VM gets a second QMP monitor:
# QEMU serves one client per monitor, and events holds the first.

load ../lib/vm
load ../lib/vcpuctl

setup_file() {
	vm_start --smp 1,maxcpus=6 -- -qmp "unix:$BATS_FILE_TMPDIR/qmp2.sock,server=on,wait=off"
	echo "$VM_DIR" > "$BATS_FILE_TMPDIR/vm_dir"
}

teardown_file() { vm_stop; }

setup() {
	export VCPUCTL_SOCKET=$VM_SOCK
	export VCPUCTL_LOCK_DIR=$BATS_FILE_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_FILE_TMPDIR/no-syslog.sock
	QMP2=$BATS_FILE_TMPDIR/qmp2.sock
}

qmp2() { python3 "$VM_LIB_DIR/qmp.py" "$QMP2" "$@"; }

# events_bg ARGS...: vcpuctl events in the background, stdout in $EV_OUT;
# returns once it has taken its first snapshot
events_bg() {
	EV_OUT=$BATS_TEST_TMPDIR/events.out
	"$VCPUCTL" events "$@" > "$EV_OUT" 2> "$BATS_TEST_TMPDIR/events.err" 3>&- &
	EV_PID=$!
	sleep 1
}

@test "a vCPU plugged through another monitor gives vcpu-added with its thread" {
	events_bg --vcpu-only --count 1 --timeout 20
	hp=$(qmp2 query-hotpluggable-cpus | jq -c '[.[] | select(."qom-path" == null)] | sort_by(.props."socket-id", .props."core-id", .props."thread-id") | .[0].props')
	qmp2 device_add "$(jq -c --arg t "$(qmp2 query-hotpluggable-cpus | jq -r '.[0].type')" '. + {driver: $t, id: "other1"}' <<<"$hp")"
	wait "$EV_PID"
	cat "$EV_OUT"
	[ "$(wc -l < "$EV_OUT")" -eq 1 ]
	[ "$(jq -r '.event + " " + (.data.index | tostring) + " " + .data.device_id' "$EV_OUT")" = "vcpu-added 1 other1" ]
	tid=$(jq .data.thread_id "$EV_OUT")
	vm_qmp query-cpus-fast | jq -e --argjson t "$tid" 'any(."thread-id" == $t)'
	[ -d "/proc/$VM_PID/task/$tid" ]
}

@test "set --no-wait, then events learns that the slow removal finished" {
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	# a paused guest cannot finish the removal: it is pending for sure
	vm_qmp stop
	run VC set --count 1 --no-wait
	[ "$status" -eq 0 ]
	[[ "$output" == *"removal pending for vCPUs 1"* ]]
	events_bg --timeout 30 --vcpu-only --count 1
	qmp2 cont
	wait "$EV_PID"
	cat "$EV_OUT"
	[ "$(jq -r '.event + " " + (.data.index | tostring) + " " + .data.device_id' "$EV_OUT")" = "vcpu-removed 1 other1" ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 1 ]
}

@test "raw QEMU events are printed as JSON lines, with the vCPU events" {
	VC set --count 2
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	events_bg --timeout 4 --json
	qmp2 device_del '{"id": "vcpu1"}'
	wait "$EV_PID"
	cat "$EV_OUT"
	jq -s -e 'all(type == "object" and has("event") and has("timestamp"))' "$EV_OUT"
	jq -s -e 'any(.event == "DEVICE_DELETED" and .data.path == "/machine/peripheral/vcpu1/lapic")' "$EV_OUT"
	jq -s -e 'any(.event == "ACPI_DEVICE_OST")' "$EV_OUT"
	jq -s -e '[.[] | select(.event == "vcpu-removed")] | length == 1 and .[0].data.index == 1' "$EV_OUT"
}

@test "QEMU quitting ends the stream: SHUTDOWN is printed, exit 3" {
	events_bg --timeout 30
	qmp2 quit || true
	rc=0
	wait "$EV_PID" || rc=$?
	cat "$EV_OUT" "$BATS_TEST_TMPDIR/events.err"
	[ "$rc" -eq 3 ]
	jq -s -e 'any(.event == "SHUTDOWN")' "$EV_OUT"
}
