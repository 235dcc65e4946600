#!/usr/bin/env bats
# set / wait / add / del on a real QEMU 10 TCG guest with a real Linux
# kernel.  One VM for the whole file: booting costs seconds, and QEMU 10's
# TCG may create at most maxcpus vCPU threads over a VM's life, so the tests
# run in order and keep count of the threads they create (budget: 8).

load ../lib/vm

load ../lib/vcpuctl

setup_file() {
	vm_start --smp 1,maxcpus=8
	echo "$VM_DIR" > "$BATS_FILE_TMPDIR/vm_dir"
}

teardown_file() {
	vm_stop
}

setup() {
	export VCPUCTL_SOCKET=$VM_SOCK
}

qemu_vcpus() { vm_qmp query-cpus-fast | jq length; }

@test "set 1->4: QEMU runs 4 vCPU threads and the guest onlines 3 CPUs" {
	run VC set --count 4 --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 4 ]
	[ "$(jq -r '[.vcpus[].state] | unique | join(",")' <<<"$output")" = plugged ]
	[ "$(qemu_vcpus)" -eq 4 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-3" 30
	# what show reports is what QEMU reports, thread by thread
	run VC show --json
	[ "$status" -eq 0 ]
	diff <(jq -c '[.vcpus[] | select(.online) | [.cpu_index, .thread_id]] | sort' <<<"$output") \
	     <(vm_qmp query-cpus-fast | jq -c '[.[] | [.["cpu-index"], .["thread-id"]]] | sort')
	# threads created: 4 of 8
}

@test "set 4->2 waits until the guest has released both vCPUs" {
	run VC set --count 2 --timeout 20
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 3    vcpu3      removed"* ]]
	[[ "$output" == *"vCPU 2    vcpu2      removed"* ]]
	[ "$(qemu_vcpus)" -eq 2 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
}

@test "--no-wait returns with the removal pending; wait finishes it" {
	run VC set --count 3
	[ "$status" -eq 0 ]
	# threads created: 5 of 8
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-2" 30
	run VC set --count 2 --no-wait --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.vcpus[0].state' <<<"$output")" != failed ]
	run VC wait 2 --timeout 20
	[ "$status" -eq 0 ]
	[ "$(qemu_vcpus)" -eq 2 ]
}

@test "a paused guest cannot finish a removal: exit 7, then cont and wait succeeds" {
	run VC add 2
	[ "$status" -eq 0 ]
	# threads created: 6 of 8
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-2" 30
	vm_qmp stop
	SECONDS=0
	run VC del 2 --timeout 1
	[ "$status" -eq 7 ]
	[ "$SECONDS" -lt 5 ]
	[[ "$output" == *"removal pending for vCPUs 2"* ]]
	[ "$(qemu_vcpus)" -eq 3 ]
	vm_qmp cont
	run VC wait 2 --timeout 20
	[ "$status" -eq 0 ]
	[ "$(qemu_vcpus)" -eq 2 ]
}

@test "plan sends nothing; named add and del" {
	run VC plan --count 5 --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq '.steps | length' <<<"$output")" -eq 3 ]
	[ "$(qemu_vcpus)" -eq 2 ]
	run VC add 5
	[ "$status" -eq 0 ]
	# threads created: 7 of 8
	[ "$(vm_qmp query-hotpluggable-cpus | jq -r '[.[] | select(.["qom-path"] == "/machine/peripheral/vcpu5")] | length')" -eq 1 ]
	run VC del 5 --timeout 20
	[ "$status" -eq 0 ]
	[ "$(qemu_vcpus)" -eq 2 ]
}
