#!/usr/bin/env bats
# The record of pending removals on a real QEMU 10 TCG guest, paused with
# QMP "stop" so that it cannot eject: QEMU's ACPI status then shows
# nothing, and only the record knows that vCPUs are on their way out.
# The tests run in order on one VM (threads created: 3 of 8).

bats_require_minimum_version 1.5.0
load ../lib/vm

load ../lib/vcpuctl

setup_file() {
	vm_start --smp 1,maxcpus=8
	export VCPUCTL_LOCK_DIR=$BATS_FILE_TMPDIR/locks
}

teardown_file() {
	vm_qmp cont >/dev/null 2>&1 || true
	vm_stop
}

setup() {
	export VCPUCTL_SOCKET=$VM_SOCK
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
}

qemu_vcpus() { vm_qmp query-cpus-fast | jq length; }
record_file() { echo "$VCPUCTL_LOCK_DIR/$(stat -L -c '%d-%i-%.9Y' "$VM_SOCK").pending"; }

@test "paused guest: set --no-wait records 1-2; wait without LIST times out (7) naming them" {
	run -0 VC set --count 3 --audit none
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-2" 30
	vm_qmp stop
	run -0 VC set --count 1 --no-wait --audit none
	[[ "$output" == *"removal pending for vCPUs 1-2"* ]]
	[ "$(jq -c '[.entries[].vcpu] | sort' "$(record_file)")" = "[1,2]" ]
	# QEMU's ACPI status knows nothing of it while the guest is stopped
	[ "$(vm_qmp query-acpi-ospm-status | jq '[.[] | select(.status == 132)] | length')" -eq 0 ]
	SECONDS=0
	run --separate-stderr VC wait --timeout 2
	[ "$status" -eq 7 ]
	[ "$SECONDS" -lt 6 ]
	[[ "$output" == *"vCPU 1    vcpu1      pending (from record)"* ]]
	[[ "$output" == *"vCPU 2    vcpu2      pending (from record)"* ]]
	[[ "$stderr" == *"removal pending: vCPUs 1-2"* ]]
	[ "$(qemu_vcpus)" -eq 3 ]
}

@test "show and count mark both as leaving" {
	run -0 VC show --json
	[ "$(jq -c '[.online, .pending, [.vcpus[] | select(.removal != null) | .index]]' <<<"$output")" = "[3,2,[1,2]]" ]
	run -0 VC show -o INDEX,STATE
	[[ "$output" == *"    1  removing"* ]]
	[[ "$output" == *"    2  removing"* ]]
	[[ "$output" == *"2 removals pending for "* ]]
	run -0 VC count
	[[ "$output" == *"pending 2"* ]]
}

@test "repeating set --count 1 --no-wait sends no new device_del; -1 counts from online minus pending" {
	run -0 VC set --count 1 --no-wait --audit none --json --trace "$BATS_TEST_TMPDIR/trace"
	[ "$(jq -c '[.from, .to, .pending]' <<<"$output")" = '[1,1,"1-2"]' ]
	! grep -q device_del "$BATS_TEST_TMPDIR/trace"
	run --separate-stderr VC set --count -1 --no-wait --audit none
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"(-1 from 1)"* ]]
	[ "$(qemu_vcpus)" -eq 3 ]
}

@test "after cont, wait without LIST exits 0 and QEMU has 1; a second wait returns at once" {
	vm_qmp cont
	run -0 VC wait --timeout 20
	[[ "$output" == *"vCPU 1    vcpu1      removed (from record"* ]]
	[ "$(qemu_vcpus)" -eq 1 ]
	[ ! -e "$(record_file)" ]
	SECONDS=0
	run -0 VC wait --timeout 20
	[[ "$output" == *"wait: nothing to do"* ]]
	[ "$SECONDS" -lt 2 ]
	run -0 VC show --json
	[ "$(jq -c '[.online, .pending]' <<<"$output")" = "[1,0]" ]
}
