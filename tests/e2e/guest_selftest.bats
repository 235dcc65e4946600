#!/usr/bin/env bats
# Self-test of the real-QEMU test guest and tests/lib/vm.bash: the guest
# boots, its init onlines a hot-added CPU (or not, with vcpuctl.online=none),
# and its guest agent answers. Uses raw QMP only, not ./vcpuctl.

load ../lib/vm.bash

teardown()
{
	vm_stop
}

# plug_free_cpu ID: device_add the first CPU slot QEMU lists as free
plug_free_cpu()
{
	local slot
	slot=$(vm_qmp query-hotpluggable-cpus |
		jq -c '[.[] | select(has("qom-path") | not)][0]')
	[ "$slot" != null ]
	vm_qmp device_add "$(jq -c --arg id "$1" \
		'.props + {driver: .type, id: $id}' <<<"$slot")"
}

@test "guest boots and its init onlines a hot-added CPU" {
	vm_start --smp 1,maxcpus=4
	vm_console | grep -qx 'VCPUCTL-GUEST-READY'
	[ "$(vm_guest_online)" = 0 ]
	[ "$(vm_thread_ids | wc -l)" -eq 1 ]

	plug_free_cpu vcpu1
	vm_console_wait '^VCPUCTL-CPUS-ONLINE 0-1$' 20
	[ "$(vm_guest_online)" = 0-1 ]
	# TCG: one distinct host thread per vCPU
	[ "$(vm_thread_ids | sort -u | wc -l)" -eq 2 ]
}

@test "with vcpuctl.online=none a hot-added CPU stays offline" {
	vm_start --smp 1,maxcpus=4 --append vcpuctl.online=none
	plug_free_cpu vcpu1
	# The guest has seen the CPU...
	vm_console_wait '^VCPUCTL-CPUS-PRESENT 0-1$' 20
	# ...and five polls of init's loop later it is still offline.
	sleep 1
	[ "$(vm_guest_online)" = 0 ]
	[ -z "$(vm_console | grep '^VCPUCTL-CPUS-ONLINE 0-1')" ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 2 ]
}

@test "--agent: the guest agent answers and vm_stop copes with a dead VM" {
	vm_start --smp 1,maxcpus=2 --agent
	[ -S "$VM_AGENT_SOCK" ]
	run vm_agent guest-ping
	[ "$status" -eq 0 ]
	[ "$output" = "{}" ]
	run vm_agent guest-get-vcpus
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.[] | select(.online)] | map(."logical-id")' <<<"$output")" = "[0]" ]

	kill -9 "$VM_PID"
	vm_stop
	run vm_alive
	[ "$status" -ne 0 ]
}
