#!/usr/bin/env bats
# Thread tuning on a real cgroup v2 host: the kernel's threaded-subtree
# rules decide here, not our own writes.  Runs inside tests/hostvm/run.sh
# (make check-hostvm) against a paused inner QEMU, whose vCPU threads are
# real; ospm.py plays the guest's part in an unplug.  Every value is read
# back from the kernel's files.
#
# Two inner VMs for the file, its tests in order: A for the placement and
# unplug tests (TCG thread budget: 8), B for the refusals and libvirt's
# layout, QEMU moved from one cgroup to the next (budget: 4).

load inner
bats_require_minimum_version 1.5.0
load ../lib/vcpuctl

C=/sys/fs/cgroup

setup_file() {
	[ -n "${HOSTVM:-}" ] || return 0
	inner_start --smp 1,maxcpus=4
	export B_DIR=$VM_DIR B_SOCK=$VM_SOCK B_PID=$VM_PID
	inner_start --smp 1,maxcpus=8
	mkdir -p $C/vt/vm1
	echo "+cpu +cpuset" > $C/vt/cgroup.subtree_control
	echo "$VM_PID" > $C/vt/vm1/cgroup.procs
}

teardown_file() {
	vm_stop
	VM_PID=${B_PID:-} VM_SOCK=${B_SOCK:-} vm_stop
}

setup() {
	[ -n "${HOSTVM:-}" ] || skip "runs inside tests/hostvm/run.sh (make check-hostvm)"
	export VCPUCTL_SOCKET=$VM_SOCK
}

teardown() {
	inner_ospm_stop
}

# use_b: drive VM B; QEMU goes into cgroup $1 (all its threads)
use_b() {
	VM_DIR=$B_DIR VM_SOCK=$B_SOCK VM_PID=$B_PID
	export VCPUCTL_SOCKET=$VM_SOCK
	echo "$VM_PID" > "$C/$1/cgroup.procs"
}

tid_of() { VC show --json | jq -r ".vcpus[$1].thread_id"; }
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status"; }

@test "set 1->4 --cgroup: each new thread in a threaded VM/vcpuN with cpuset, mems, cpu.max" {
	run VC set --count 4 --cgroup vt/vm1 --cpuset 0 --mems 0 --quota 50000 --period 100000 \
		--affinity 0 --sched batch
	echo "$output"
	[ "$status" -eq 0 ]
	local k tid d
	for k in 1 2 3; do
		tid=$(tid_of $k)
		d=$C/vt/vm1/vcpu$k
		[ "$(cat $d/cgroup.type)" = threaded ]
		[ "$(cat $d/cgroup.threads)" = "$tid" ]
		[ "$(cat $d/cpuset.cpus)" = 0 ]
		[ "$(cat $d/cpuset.mems)" = 0 ]
		[ "$(cat $d/cpu.max)" = "50000 100000" ]
		[ "$(cat /proc/$VM_PID/task/$tid/cgroup)" = "0::/vt/vm1/vcpu$k" ]
		[ "$(allowed "$tid")" = 0 ]
	done
	[ ! -e $C/vt/vm1/vcpu0 ]
	[ "$(cat /proc/$VM_PID/task/"$(tid_of 0)"/cgroup)" = "0::/vt/vm1" ]
	[ "$(cat $C/vt/vm1/cgroup.type)" = "domain threaded" ]
	[[ " $(cat $C/vt/vm1/cgroup.subtree_control) " == *" cpu "* ]]
}

@test "show: the v2 cgroup of each thread" {
	run VC show --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.vcpus[2].cgroup' <<<"$output")" = /vt/vm1/vcpu2 ]
	[ "$(jq -r '.vcpus[0].cgroup' <<<"$output")" = /vt/vm1 ]
}

@test "tune by absolute path: running vCPUs move, files rewritten" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
	run VC tune 0-3 --cgroup $C/vt/vm1 --cpuset 0-1 --quota max
	echo "$output"
	[ "$status" -eq 0 ]
	local k
	for k in 0 1 2 3; do
		[ "$(cat $C/vt/vm1/vcpu$k/cgroup.threads)" = "$(tid_of $k)" ]
		[ "$(cat $C/vt/vm1/vcpu$k/cpuset.cpus)" = 0-1 ]
	done
	[ "$(cat $C/vt/vm1/vcpu1/cpu.max)" = "max 100000" ]
	[ "$(cat $C/vt/vm1/vcpu0/cpu.max)" = "max 100000" ]
}

@test "--cgroup auto follows vcpuN placement, and says what it chose" {
	run --separate-stderr VC tune 2 --cgroup auto --quota 30000
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"--cgroup auto: $C/vt/vm1 (vCPU thread "*" is in /vt/vm1/vcpuN)"* ]]
	[ "$(cat $C/vt/vm1/vcpu2/cpu.max)" = "30000 100000" ]
}

@test "del --no-wait, then wait --cgroup while the eject comes: vcpuN removed" {
	run VC del 3 --no-wait
	echo "$output"
	[ "$status" -eq 0 ]
	[ -d $C/vt/vm1/vcpu3 ]
	# The eject comes after wait has seen the removal pending (the
	# other order is the next test): 10 s later, well inside wait's 120 s.
	(sleep 10; inner_eject) </dev/null >/dev/null 2>&1 3>&- &
	run VC wait 3 --cgroup vt/vm1 --timeout 120
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 3    vcpu3      removed"* ]]
	[ ! -e $C/vt/vm1/vcpu3 ]
	[ -d $C/vt/vm1/vcpu2 ]
}

@test "the removal finished before wait started: wait --cgroup (no LIST) still removes vcpuN" {
	run VC del 2 --no-wait
	[ "$status" -eq 0 ]
	inner_eject
	vm_wait_vcpus 2
	[ -d $C/vt/vm1/vcpu2 ]
	run VC wait --cgroup vt/vm1 --timeout 10
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 2    cgroup removed: $C/vt/vm1/vcpu2"* ]]
	[ ! -e $C/vt/vm1/vcpu2 ]
	[ -d $C/vt/vm1/vcpu1 ]
}

@test "set --count 1 --cgroup auto: unplug removes vcpu1" {
	inner_ospm_start
	run VC set --count 1 --cgroup auto --timeout 60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 1 ]
	[ ! -e $C/vt/vm1/vcpu1 ]
	[ ! -e $C/vt/vm1/vcpu2 ]
	[ -d $C/vt/vm1/vcpu0 ]
}

@test "a controller the parent does not hand down: named before anything is made" {
	mkdir -p $C/nc/vm
	use_b nc/vm
	run VC set --count 2 --cgroup nc/vm --quota 50000
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 1: cgroup $C/nc/vm/cgroup.subtree_control: +cpu: No such file or directory: the cpu controller is not enabled in $C/nc/cgroup.subtree_control"* ]]
	[ ! -e $C/nc/vm/vcpu1 ]
	[ -z "$(cat $C/nc/vm/cgroup.subtree_control)" ]
	[ "$(cat $C/nc/vm/cgroup.type)" = domain ]
}

@test "a VM cgroup that is not QEMU's own: named, nothing made" {
	use_b ""
	mkdir -p $C/other/vm
	echo "+cpu +cpuset" > $C/other/cgroup.subtree_control
	run VC tune 0 --cgroup other/vm --quota 50000
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 0: cgroup $C/other/vm/vcpu0/cgroup.threads: Operation not supported: QEMU (pid $VM_PID) is in $C/, outside $C/other/vm"* ]]
	[ ! -e $C/other/vm/vcpu0 ]
	[ -z "$(cat $C/other/vm/cgroup.subtree_control)" ]
}

@test "a vcpuN that exists as a domain cgroup with a process in it" {
	mkdir -p $C/dom/vm/vcpu0
	echo "+cpu +cpuset" > $C/dom/cgroup.subtree_control
	use_b dom/vm
	sleep 600 3>&- &
	local sp=$!
	echo $sp > $C/dom/vm/vcpu0/cgroup.procs
	run VC tune 0 --cgroup dom/vm --quota 50000
	kill $sp
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 0: cgroup $C/dom/vm/vcpu0/cgroup.type: Operation not supported (it exists as a domain cgroup with processes in it or below"* ]]
	[ "$(cat $C/dom/vm/vcpu0/cgroup.type)" = domain ]
	[ -z "$(cat $C/dom/vm/cgroup.subtree_control)" ]
}

@test "a delegated subtree, a non-root user: EPERM on cgroup.threads, vcpuN removed" {
	mkdir -p $C/del/vm
	echo "+cpu +cpuset" > $C/del/cgroup.subtree_control
	use_b del/vm
	chown -R nobody $C/del/vm
	chmod 755 "$VM_DIR"
	chmod 666 "$VM_SOCK"
	run setpriv --reuid nobody --regid nogroup --clear-groups "$VCPUCTL" tune 0 --cgroup del/vm --quota 50000
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 0: cgroup $C/del/vm/vcpu0/cgroup.threads: Operation not permitted (the cgroups are writable, but moving QEMU's thread also needs root or QEMU's own user)"* ]]
	[ ! -e $C/del/vm/vcpu0 ]
	chown -R root $C/del/vm
	run setpriv --reuid nobody --regid nogroup --clear-groups "$VCPUCTL" tune 0 --cgroup del/vm --quota 50000
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 0: cgroup $C/del/vm/vcpu0: mkdir: Permission denied (writing cgroups needs root or write access to the VM's cgroup)"* ]]
}

@test "libvirt's v2 layout, escaped names: vCPUs in libvirt/vcpuN, QEMU in libvirt/emulator" {
	use_b ""
	local scope='machine.slice/machine-qemu\x2d1\x2dvm1.scope' lv t
	lv=$C/$scope/libvirt
	mkdir -p "$lv/emulator"
	echo "+cpu +cpuset" > $C/machine.slice/cgroup.subtree_control
	echo "+cpu +cpuset" > "$C/$scope/cgroup.subtree_control"
	echo "$VM_PID" > "$lv/cgroup.procs"
	echo "+cpu +cpuset" > "$lv/cgroup.subtree_control"
	echo threaded > "$lv/emulator/cgroup.type"
	for t in /proc/$VM_PID/task/*; do
		echo "${t##*/}" > "$lv/emulator/cgroup.threads"
	done
	run --separate-stderr VC set --count 4 --cgroup auto --cpuset 0
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"--cgroup auto: $lv (QEMU's main thread is in /$scope/libvirt/emulator)"* ]]
	# vCPU 1 was plugged by the refusal test above; 2 and 3 are new
	[ "$(cat "$lv/vcpu2/cgroup.threads")" = "$(tid_of 2)" ]
	[ "$(cat "$lv/vcpu3/cgroup.type")" = threaded ]
	[ "$(cat "$lv/vcpu3/cpuset.cpus")" = 0 ]
	[ ! -e "$lv/vcpu1" ]
	[ "$(cat /proc/$VM_PID/cgroup)" = "0::/$scope/libvirt/emulator" ]
	run VC tune 1 --cgroup "$scope/libvirt" --quota 40000
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cat "$lv/vcpu1/cpu.max")" = "40000 100000" ]
	run --separate-stderr VC tune 2 --cgroup auto --quota 20000
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"--cgroup auto: $lv (vCPU thread "*" is in /$scope/libvirt/vcpuN)"* ]]
}
