#!/usr/bin/env bats
# Faults only a real QEMU can show: QEMU killed with SIGKILL while vcpuctl
# waits on it.  The kernel then closes the monitor socket under vcpuctl,
# which must say so at once (exit 3, "QEMU closed the connection") and
# report what it had done, instead of sitting out its --timeout.

load ../lib/vm

load ../lib/vcpuctl

setup() {
	vm_start --smp 1,maxcpus=4
	export VCPUCTL_SOCKET=$VM_SOCK
}

teardown() {
	[ -z "${VC_PID:-}" ] || kill "$VC_PID" 2>/dev/null || true
	vm_stop
}

# kill_qemu_during CMD...: start vcpuctl CMD in the background, SIGKILL
# QEMU once vcpuctl is waiting, and collect status, output and how long
# vcpuctl took after the kill (KILL_SECS).
kill_qemu_during() {
	local out=$BATS_TEST_TMPDIR/vc.out t0
	VC "$@" >"$out" 2>&1 3>&- &
	VC_PID=$!
	# Let it connect, send and start waiting (valgrind or ASan: slower).
	sleep 3
	kill -0 "$VC_PID"
	kill -9 "$VM_PID"
	t0=$SECONDS
	status=0
	wait "$VC_PID" || status=$?
	VC_PID=
	KILL_SECS=$((SECONDS - t0))
	output=$(cat "$out")
	echo "$output"
}

@test "QEMU SIGKILLed during an unplug wait: exit 3 'QEMU closed the connection' at once, pending reported" {
	run VC set --count 2
	[ "$status" -eq 0 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	# A paused VM keeps the removal pending: the wait is long.
	vm_qmp stop
	kill_qemu_during set --count 1 --timeout 60
	[ "$status" -eq 3 ]
	[ "$KILL_SECS" -lt 3 ]
	[[ "$output" == *"QEMU closed the connection"* ]]
	[[ "$output" == *"removal pending: vCPUs 1"* ]]
	[[ "$output" == *"vCPU 1    vcpu1      pending"* ]]
}

@test "QEMU SIGKILLed during 'vcpuctl wait': exit 3 at once" {
	run VC set --count 2
	[ "$status" -eq 0 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	vm_qmp stop
	run VC del 1 --no-wait
	[ "$status" -eq 0 ]
	kill_qemu_during wait 1 --timeout 60
	[ "$status" -eq 3 ]
	[ "$KILL_SECS" -lt 3 ]
	[[ "$output" == *"QEMU closed the connection"* ]]
}
