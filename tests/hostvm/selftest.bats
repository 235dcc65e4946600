#!/usr/bin/env bats
# The host VM is what the other suites here assume: cgroup2 alone with cpu
# and cpuset from the root, the tree under test writable, a paused inner
# QEMU whose vCPU device_add makes a real thread.  Run inside
# tests/hostvm/run.sh (make check-hostvm).

load inner
bats_require_minimum_version 1.5.0

setup() {
	[ -n "${HOSTVM:-}" ] || skip "runs inside tests/hostvm/run.sh"
}

teardown() {
	vm_stop
}

@test "cgroup2 alone at /sys/fs/cgroup, +cpu +cpuset from the root" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
	[ -z "$(awk '$3 == "cgroup"' /proc/mounts)" ]
	[ "$(cat /sys/fs/cgroup/cgroup.subtree_control)" = "cpuset cpu" ]
	[ "$(cat /proc/self/cgroup)" = "0::/" ]
}

@test "the shared tree is writable, the root is not" {
	local f
	f=$(mktemp "$BATS_TEST_DIRNAME/.selftest.XXXXXX")
	rm "$f"
	run touch /usr/.hostvm-selftest
	[ "$status" -ne 0 ]
}

@test "a device_add on a paused inner VM makes a real vCPU thread" {
	inner_start --smp 1,maxcpus=2
	[ "$(inner_threads | wc -l)" -eq 1 ]
	local slot
	slot=$(vm_qmp query-hotpluggable-cpus |
		jq -c '.[] | select(has("qom-path") | not) | .props + {driver: .type, id: "vcpu1"}')
	vm_qmp device_add "$slot"
	[ "$(inner_threads | wc -l)" -eq 2 ]
	local tid
	tid=$(inner_threads | tail -n 1)
	[ -d "/proc/$VM_PID/task/$tid" ]
	[ "$(cat "/proc/$VM_PID/task/$tid/cgroup")" = "0::/" ]
}
