#!/usr/bin/env bats
# A real guest that refuses ejects (LAB.md: processor hotplug disabled in
# /sys/firmware/acpi): the refusal must end the wait at once.

load ../lib/vm

load ../lib/vcpuctl

setup_file() {
	vm_start --smp 1,maxcpus=4 --append "vcpuctl.eject=refuse"
}

teardown_file() {
	vm_stop
}

@test "a guest that refuses the eject: prompt 'rejected by the guest', count unchanged" {
	export VCPUCTL_SOCKET=$VM_SOCK
	run VC set --count 2
	[ "$status" -eq 0 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	SECONDS=0
	run VC set --count 1 --timeout 60
	[ "$status" -eq 6 ]
	[ "$SECONDS" -lt 20 ]
	[[ "$output" == *"rejected by the guest: ACPI _OST status 128 (eject not supported)"* ]]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 2 ]
}
