#!/usr/bin/env bats
# The guest agent on a real QEMU 10 TCG guest running Debian's qemu-ga,
# whose init does NOT online hot-added CPUs (vcpuctl.online=none): plugging
# (QMP) and onlining (agent) are separate steps, and this file checks both
# and the match between guest CPU numbers and vCPU indexes.
#
# One VM for the whole file; tests run in order.  QEMU 10's TCG creates at
# most maxcpus vCPU threads over a VM's life: budget 8, counted below.

load ../lib/vm
load ../lib/vcpuctl

setup_file() {
	vm_start --smp 1,maxcpus=8 --agent --append "vcpuctl.online=none"
	vm_console_wait '^VCPUCTL-AGENT-STARTED' 30
	echo "$VM_DIR $VM_PID $VM_AGENT_SOCK" > "$BATS_FILE_TMPDIR/vm"
}

teardown_file() {
	read -r VM_DIR VM_PID VM_AGENT_SOCK < "$BATS_FILE_TMPDIR/vm"
	vm_stop
}

setup() {
	read -r VM_DIR VM_PID VM_AGENT_SOCK < "$BATS_FILE_TMPDIR/vm"
	VM_SOCK=$VM_DIR/qmp.sock
	export VM_DIR VM_PID VM_AGENT_SOCK VM_SOCK
	export VCPUCTL_SOCKET=$VM_SOCK
	unset VCPUCTL_AGENT_SOCKET
}

qemu_vcpus() { vm_qmp query-cpus-fast | jq length; }
# guest CPUs online, as the agent reports them: "0,1,2"
agent_online() { vm_agent guest-get-vcpus | jq -r '[.[] | select(.online) | ."logical-id"] | sort | join(",")'; }

# guest_sh CMD: run CMD in the guest through the agent, print its stdout
guest_sh() {
	local pid out
	pid=$(vm_agent guest-exec "$(jq -nc --arg c "$1" \
		'{path: "/bin/sh", arg: ["-c", $c], "capture-output": true}')" | jq .pid)
	for _ in $(seq 50); do
		out=$(vm_agent guest-exec-status "{\"pid\": $pid}")
		[ "$(jq .exited <<<"$out")" = true ] && break
		sleep 0.1
	done
	jq -r '."out-data" // ""' <<<"$out" | base64 -d
}

@test "guest: a fresh guest has its boot CPU online, and it cannot be offlined" {
	run VC guest --guest-agent "$VM_AGENT_SOCK" --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '.guest_cpus' <<<"$output")" = '[{"cpu":0,"online":true,"can_offline":false,"vcpu":0}]' ]
	run VC guest --guest-agent "$VM_AGENT_SOCK" --offline 0
	[ "$status" -eq 5 ]
	[[ "$output" == *"guest CPU 0 cannot be taken offline"* ]]
}

@test "set --count 4 --guest-agent: plugged and online in the guest" {
	vm_console_mark
	run VC set --count 4 --guest-agent "$VM_AGENT_SOCK" --timeout 30 --json
	echo "$output"
	[ "$status" -eq 0 ]
	# threads created: 4 of 8
	[ "$(qemu_vcpus)" -eq 4 ]
	[ "$(jq -r '.guest.ok' <<<"$output")" = true ]
	[ "$(jq -c '[.guest.vcpus[] | [.index, .state]]' <<<"$output")" = '[[1,"online"],[2,"online"],[3,"online"]]' ]
	[ "$(agent_online)" = 0,1,2,3 ]
	vm_console_wait '^VCPUCTL-CPUS-ONLINE 0-3$' 30
	[ "$(guest_sh 'cat /sys/devices/system/cpu/online')" = 0-3 ]
}

@test "without --guest-agent the new CPUs stay offline; show --guest-agent shows the mismatch" {
	# (if the previous test failed, the guest may have fewer CPUs online)
	run VC set --count 6
	[ "$status" -eq 0 ]
	# threads created: 6 of 8
	vm_console_wait '^VCPUCTL-CPUS-PRESENT 0-5$' 30
	sleep 1
	[[ "$(agent_online)" != *4* ]]
	[[ "$(agent_online)" != *5* ]]
	run VC show --guest-agent "$VM_AGENT_SOCK" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .guest_agent.mapping <<<"$output")" = acpi ]
	[ "$(jq -c '.guest_agent.mismatch' <<<"$output" | tr -d '[]' | tr ',' '\n' | grep -cx '[45]')" -eq 2 ]
	[ "$(jq -c '.vcpus[4].guest' <<<"$output")" = '{"cpu":4,"online":false,"can_offline":true}' ]
	run VC show --guest-agent "$VM_AGENT_SOCK"
	[ "$status" -eq 0 ]
	[[ "$output" == *"guest: vCPU 4 is online in QEMU but offline in the guest (guest CPU 4)"* ]]
}

@test "guest --online brings plugged CPUs online; init sees it" {
	vm_console_mark
	# 1-3 are already online when the set --guest-agent test above passed
	run VC guest --guest-agent "$VM_AGENT_SOCK" --online 1-5
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"guest CPU 4: online"* ]]
	[[ "$output" == *"guest CPU 5: online"* ]]
	vm_console_wait '^VCPUCTL-CPUS-ONLINE 0-5$' 30
	[ "$(agent_online)" = 0,1,2,3,4,5 ]
}

@test "set --guest-offline-first: offlined in the guest, then unplugged" {
	run VC set --count 4 --guest-agent "$VM_AGENT_SOCK" --guest-offline-first --timeout 30 --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(qemu_vcpus)" -eq 4 ]
	[ "$(jq -r '.guest.wanted' <<<"$output")" = offline ]
	[ "$(jq -c '[.guest.vcpus[].state] | unique' <<<"$output")" = '["offline"]' ]
	[ "$(vm_agent guest-get-vcpus | jq length)" -eq 4 ]
}

@test "out of order plugs: guest numbers differ from vCPU indexes, and guest matches them by ACPI id" {
	run VC add 7
	[ "$status" -eq 0 ]
	run VC add 6
	[ "$status" -eq 0 ]
	# threads created: 8 of 8
	vm_console_wait '^VCPUCTL-CPUS-PRESENT ' 30
	run VC guest --guest-agent "$VM_AGENT_SOCK" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .mapping <<<"$output")" = acpi ]
	# every plugged vCPU is matched exactly once
	[ "$(jq -c '[.guest_cpus[].vcpu] | sort' <<<"$output")" = "$(vm_qmp query-cpus-fast | jq -c '[.[]."cpu-index"] | sort')" ]
	# the guest saw vCPU 7 first, so it did not number it 7
	cpu7=$(jq -r '.guest_cpus[] | select(.vcpu == 7) | .cpu' <<<"$output")
	[ "$cpu7" != 7 ]
	# check against the CPU's own topology (CPUID, not ACPI) once online:
	# with -smp 1,maxcpus=8 core-id is the vCPU index
	run VC guest --guest-agent "$VM_AGENT_SOCK" --online "$cpu7"
	[ "$status" -eq 0 ]
	[ "$(guest_sh "cat /sys/devices/system/cpu/cpu$cpu7/topology/core_id")" = 7 ]
}
