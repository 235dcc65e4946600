#!/usr/bin/env bats
# Thread tuning on a real QEMU 10 TCG guest: TCG runs one host thread per
# vCPU, so cgroups, affinity and scheduler are set on real threads and read
# back from the kernel (/proc/TID/status, chrt -p, the cgroup files).
#
# One VM for the file; QEMU 10's TCG creates at most maxcpus vCPU threads
# over a VM's life, so the tests run in order and count (budget: 12).
# Cgroups live under a unique vcpuctl-test-PID/vm1 in this host's cgroup v1
# cpu, cpuacct and cpuset hierarchies, and go in teardown_file.  Cgroup v2
# is tested in tests/hostvm/tune_v2.bats, inside a VM booted as a v2 host.

load ../lib/vm
bats_require_minimum_version 1.5.0

load ../lib/vcpuctl

V1=/sys/fs/cgroup

v1_ok() {
	[ "$(id -u)" -eq 0 ] &&
	[ "$(stat -f -c %T $V1/cpu 2>/dev/null)" = cgroupfs ] &&
	[ "$(stat -f -c %T $V1/cpuset 2>/dev/null)" = cgroupfs ]
}

setup_file() {
	vm_start --qmp2 --smp 1,maxcpus=12
	echo "$VM_DIR" > "$BATS_FILE_TMPDIR/vm_dir"
	CG=vcpuctl-test-$$
	echo "$CG" > "$BATS_FILE_TMPDIR/cg"
	if v1_ok; then
		local c
		for c in cpu cpuacct cpuset; do
			[ -d $V1/$c ] || continue
			mkdir -p $V1/$c/$CG/vm1
		done
		# a new v1 cpuset is empty: give the VM's both host CPUs and
		# memory, as libvirt does, then put QEMU in it
		for d in $V1/cpuset/$CG $V1/cpuset/$CG/vm1; do
			cat $V1/cpuset/cpuset.cpus > $d/cpuset.cpus
			cat $V1/cpuset/cpuset.mems > $d/cpuset.mems
		done
		for c in cpu cpuacct cpuset; do
			[ -d $V1/$c/$CG/vm1 ] && echo "$VM_PID" > $V1/$c/$CG/vm1/cgroup.procs
		done
	fi
}

teardown_file() {
	vm_stop
	local CG c
	CG=$(cat "$BATS_FILE_TMPDIR/cg")
	sleep 0.2
	for c in cpu cpuacct cpuset; do
		[ -d $V1/$c/$CG ] && find $V1/$c/$CG -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	true
}

setup() {
	export VCPUCTL_SOCKET=$VM_SOCK
	CG=$(cat "$BATS_FILE_TMPDIR/cg")
}

need_v1() {
	v1_ok || skip "needs root and cgroup v1 cpu and cpuset under $V1"
}

tid_of() { VC show --json | jq -r ".vcpus[$1].thread_id"; }
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status"; }
policy() { chrt -p "$1" | sed -n 's/.*scheduling policy: //p'; }
prio() { chrt -p "$1" | sed -n 's/.*scheduling priority: //p'; }
vcpu_dirs() { find $V1/cpu/$CG $V1/cpuacct/$CG $V1/cpuset/$CG -name 'vcpu[0-9]*' 2>/dev/null; }

@test "set 1->4 with --cgroup --cpuset --affinity --sched: 3 threads placed as asked" {
	need_v1
	run VC set --count 4 --cgroup "$CG/vm1" --cpuset 0 --affinity 0 --sched batch
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 3    vcpu3      plugged (thread "*"), tuned"* ]]
	# threads created: 4 of 12
	local k tid c
	for k in 1 2 3; do
		tid=$(tid_of $k)
		[ "$tid" -gt 0 ]
		for c in cpu cpuacct cpuset; do
			grep -qx "$tid" $V1/$c/$CG/vm1/vcpu$k/tasks
		done
		[ "$(cat $V1/cpuset/$CG/vm1/vcpu$k/cpuset.cpus)" = 0 ]
		[ "$(cat $V1/cpuset/$CG/vm1/vcpu$k/cpuset.mems)" = "$(cat $V1/cpuset/$CG/vm1/cpuset.mems)" ]
		[ "$(allowed "$tid")" = 0 ]
		[ "$(policy "$tid")" = SCHED_BATCH ]
	done
	# the boot vCPU was not touched
	[ ! -e $V1/cpuset/$CG/vm1/vcpu0 ]
	[ "$(policy "$(tid_of 0)")" = SCHED_OTHER ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-3" 30
}

@test "show: AFFINITY, SCHED and CGROUP columns and JSON fields" {
	need_v1
	run VC show
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"HOST-TID  AFFINITY  SCHED  CGROUP"* ]]
	[[ "$output" == *" 0         batch  /$CG/vm1/vcpu2"* ]]
	run VC show --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.vcpus[1] | [.affinity, .sched, .cgroup] | join(" ")' <<<"$output")" = "0 batch /$CG/vm1/vcpu1" ]
	[ "$(jq -r '.vcpus[0].cgroup' <<<"$output")" = "/$CG/vm1" ]
	[ "$(jq -r '.vcpus[5] | [.affinity, .sched, .cgroup] | map(tostring) | join(" ")' <<<"$output")" = "null null null" ]
}

@test "tune existing vCPUs: cpuset, bandwidth, per-vCPU affinity, scheduler" {
	need_v1
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 host CPUs"
	run VC tune 1-3 --cgroup "$CG/vm1" --cpuset 0-1 --quota 20000 --period 100000 \
		--affinity 1:1 --affinity 0-1 --sched other
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tune: 3 of 3 vCPUs tuned"* ]]
	local k tid
	for k in 1 2 3; do
		tid=$(tid_of $k)
		grep -qx "$tid" $V1/cpu/$CG/vm1/vcpu$k/tasks
		[ "$(cat $V1/cpuset/$CG/vm1/vcpu$k/cpuset.cpus)" = 0-1 ]
		[ "$(cat $V1/cpu/$CG/vm1/vcpu$k/cpu.cfs_quota_us)" = 20000 ]
		[ "$(cat $V1/cpu/$CG/vm1/vcpu$k/cpu.cfs_period_us)" = 100000 ]
		[ "$(policy "$tid")" = SCHED_OTHER ]
	done
	[ "$(allowed "$(tid_of 1)")" = 1 ]
	[ "$(allowed "$(tid_of 2)")" = 0-1 ]
	[ "$(allowed "$(tid_of 3)")" = 0-1 ]
}

@test "tune --sched rr:N: real-time priority, or the missing privilege named" {
	need_v1
	# Outside any vcpuN cgroup of ours, vCPU 0 sits in the VM's cgroup;
	# with RT group scheduling that cgroup needs real-time runtime.
	local rt=$V1/cpu/$CG/vm1/cpu.rt_runtime_us tid
	tid=$(tid_of 0)
	run VC tune 0 --sched rr:10
	echo "$output"
	if [ -e "$rt" ] && [ "$(cat "$rt")" -eq 0 ]; then
		[ "$status" -eq 9 ]
		[[ "$output" == *"vCPU 0: sched_setscheduler(thread $tid, rr:10): Operation not permitted (needs CAP_SYS_NICE, and on cgroup v1 a cpu.rt_runtime_us above 0"* ]]
		[ "$(policy "$tid")" = SCHED_OTHER ]
		# give the VM's cgroup some real-time runtime, and it works
		echo 10000 > $V1/cpu/$CG/cpu.rt_runtime_us
		echo 10000 > "$rt"
		run VC tune 0 --sched rr:10
	fi
	[ "$status" -eq 0 ]
	[ "$(policy "$tid")" = SCHED_RR ]
	[ "$(prio "$tid")" = 10 ]
	run VC tune 0 --sched other
	[ "$status" -eq 0 ]
	[ "$(policy "$tid")" = SCHED_OTHER ]
}

@test "tune: one vCPU that cannot be tuned is named; the others are tuned (exit 9)" {
	need_v1
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 host CPUs"
	# vCPU 3's affinity lies outside the cpuset it is put in; vCPU 5 is offline
	run --separate-stderr VC tune 2,3,5 --cgroup "$CG/vm1" --cpuset 0 --affinity 3:1 --sched idle --json
	echo "$output"
	[ "$status" -eq 9 ]
	[ "$stderr" = "vcpuctl: tune: 2 of 3 vCPUs not tuned" ]
	[ "$(jq -r .result <<<"$output")" = not-tuned ]
	[ "$(jq -r '.vcpus[] | select(.index == 2) | .tuned' <<<"$output")" = true ]
	[[ "$(jq -r '.vcpus[] | select(.index == 3) | .reason' <<<"$output")" == "vCPU 3: sched_setaffinity(thread "*", 1): no CPU of the list is online and in the thread's cpuset" ]]
	[ "$(jq -r '.vcpus[] | select(.index == 5) | .reason' <<<"$output")" = "vCPU 5 is offline" ]
	[ "$(policy "$(tid_of 2)")" = SCHED_IDLE ]
}

@test "a plug whose tuning fails stays plugged: exit 9, 'plugged, not tuned'" {
	need_v1
	[ "$(nproc --all)" -ge 2 ] || skip "needs 2 host CPUs"
	run --separate-stderr VC set --count 5 --cgroup "$CG/vm1" --cpuset 0 --affinity 1 --json
	echo "$output"
	[ "$status" -eq 9 ]
	# threads created: 5 of 12
	[ "$(jq -r '.vcpus[0].state' <<<"$output")" = plugged ]
	[ "$(jq -r '.vcpus[0].tuning' <<<"$output")" = not-tuned ]
	[[ "$(jq -r '.vcpus[0].reason' <<<"$output")" == "plugged, not tuned: vCPU 4: sched_setaffinity("* ]]
	[ "$(jq .online <<<"$output")" -eq 5 ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 5 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-4" 30
}

@test "a failed cgroup setup removes the vcpuN it made and names the file and errno" {
	need_v1
	# NUMA node 7 does not exist: the kernel refuses cpuset.mems
	run VC set --count 6 --cgroup "$CG/vm1" --mems 7
	echo "$output"
	[ "$status" -eq 9 ]
	# threads created: 6 of 12
	[[ "$output" == *"vCPU 5    vcpu5      plugged (thread "*"): plugged, not tuned: vCPU 5: cgroup $V1/cpuset/$CG/vm1/vcpu5/cpuset.mems: "* ]]
	[ -z "$(vcpu_dirs | grep /vcpu5)" ]
	[ -n "$(vcpu_dirs | grep /vcpu4)" ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 6 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-5" 30
}

@test "set --count 1 --cgroup removes the cgroups of the removed vCPUs" {
	need_v1
	[ -n "$(vcpu_dirs)" ]
	run VC set --count 1 --cgroup "$CG/vm1" --timeout 30
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 1 ]
	[ -z "$(vcpu_dirs)" ]
	[ -d $V1/cpuset/$CG/vm1 ]
}

# Cleanup follows state: whichever run sees a vCPU go, the next run with
# --cgroup removes its vcpuN.  Each order is forced, not left to timing.
@test "add tunes; the removal finishes before wait starts: wait --cgroup removes the cgroup" {
	need_v1
	run VC add 1 --cgroup "$CG/vm1" --sched idle --affinity 0
	echo "$output"
	[ "$status" -eq 0 ]
	# threads created: 7 of 12
	local tid
	tid=$(tid_of 1)
	grep -qx "$tid" $V1/cpuset/$CG/vm1/vcpu1/tasks
	[ "$(policy "$tid")" = SCHED_IDLE ]
	[ "$(allowed "$tid")" = 0 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	run VC del 1 --no-wait
	[ "$status" -eq 0 ]
	# QEMU drops the vCPU before wait is started
	vm_wait_vcpus 1
	[ -d $V1/cpuset/$CG/vm1/vcpu1 ]
	run VC wait --cgroup "$CG/vm1" --timeout 30
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 1    cgroup removed: $V1/cpuset/$CG/vm1/vcpu1"* ]]
	[[ "$output" == *"wait: nothing to do"* ]]
	[ -z "$(vcpu_dirs)" ]
}

@test "the removal finishes during wait (paused, then resumed): wait --cgroup removes the cgroup" {
	need_v1
	run VC add 1 --cgroup "$CG/vm1" --affinity 0
	[ "$status" -eq 0 ]
	# threads created: 8 of 12
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	vm_qmp2 stop >/dev/null
	run VC del 1 --no-wait
	[ "$status" -eq 0 ]
	local trace=$BATS_TEST_TMPDIR/trace out=$BATS_TEST_TMPDIR/out pid i
	VC wait 1 --cgroup "$CG/vm1" --timeout 60 --json --trace "$trace" >"$out" 2>&1 &
	pid=$!
	# resume only once wait is waiting for the removal
	for i in $(seq 300); do
		grep -q query-acpi-ospm-status "$trace" 2>/dev/null && break
		sleep 0.1
	done
	grep -q query-acpi-ospm-status "$trace"
	sleep 0.3
	kill -0 "$pid"
	[ -d $V1/cpuset/$CG/vm1/vcpu1 ]
	vm_qmp2 cont >/dev/null
	wait "$pid" || { cat "$out"; false; }
	cat "$out"
	[ "$(jq -r '.vcpus[0] | "\(.index) \(.state)"' "$out")" = "1 removed" ]
	[ "$(jq -r '.cgroups[0] | "\(.index) \(.state) \(.path)"' "$out")" = "1 removed $V1/cpuset/$CG/vm1/vcpu1" ]
	[ -z "$(vcpu_dirs)" ]
}

@test "an earlier run's leftover vcpuN is swept by the next set --cgroup; others are named, not touched" {
	need_v1
	run VC add 1 --cgroup "$CG/vm1"
	[ "$status" -eq 0 ]
	# threads created: 9 of 12
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	# a removal without --cgroup leaves vcpu1 behind
	run VC del 1 --timeout 30
	[ "$status" -eq 0 ]
	[ -d $V1/cpuset/$CG/vm1/vcpu1 ]
	# not ours: a vcpuN beyond the VM's 12, and another name
	mkdir $V1/cpuset/$CG/vm1/vcpu40 $V1/cpuset/$CG/vm1/vcpu1x
	run VC set --count 1 --cgroup "$CG/vm1" --json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.cgroups | map("\(.index) \(.state)") | join(",")' <<<"$output")" = "1 removed,40 foreign" ]
	[ "$(jq -r '.cgroups[1].reason' <<<"$output")" = "$V1/cpuset/$CG/vm1/vcpu40: no vCPU 40 in this VM (0-11)" ]
	[ ! -e $V1/cpuset/$CG/vm1/vcpu1 ] && [ ! -e $V1/cpu/$CG/vm1/vcpu1 ]
	[ -d $V1/cpuset/$CG/vm1/vcpu40 ] && [ -d $V1/cpuset/$CG/vm1/vcpu1x ]
	rmdir $V1/cpuset/$CG/vm1/vcpu40 $V1/cpuset/$CG/vm1/vcpu1x
}

@test "a gone vCPU's cgroup that still holds a task is left and named: exit 9; once empty it goes" {
	need_v1
	local d c sleeper
	for c in cpu cpuacct cpuset; do
		[ -d $V1/$c/$CG/vm1 ] && mkdir $V1/$c/$CG/vm1/vcpu3
	done
	d=$V1/cpuset/$CG/vm1/vcpu3
	cat $V1/cpuset/$CG/vm1/cpuset.cpus >$d/cpuset.cpus
	cat $V1/cpuset/$CG/vm1/cpuset.mems >$d/cpuset.mems
	sleep 120 &
	sleeper=$!
	echo "$sleeper" >$d/tasks
	run VC wait --cgroup "$CG/vm1" --timeout 5
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 3    cgroup left: vCPU 3: removing cgroup $d: "* ]]
	[[ "$output" == *"wait: 1 cgroup of removed vCPUs left"* ]]
	# the task was not moved
	grep -qx "$sleeper" $d/tasks
	kill "$sleeper"
	wait "$sleeper" || true
	run VC wait --cgroup "$CG/vm1" --timeout 5
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 3    cgroup removed: $d"* ]]
	[ -z "$(vcpu_dirs)" ]
}

@test "--cgroup auto on v1: QEMU's own cgroup, then the parent of vcpuN" {
	need_v1
	local tid
	tid=$(tid_of 0)
	run --separate-stderr VC tune 0 --cgroup auto --sched other
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"vcpuctl: warning: --cgroup auto: $CG/vm1 (QEMU (pid $VM_PID) is in it)"* ]]
	grep -qx "$tid" $V1/cpuset/$CG/vm1/vcpu0/tasks
	run --separate-stderr VC tune 0 --cgroup auto --quota 30000
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"vcpuctl: warning: --cgroup auto: $CG/vm1 (vCPU thread $tid is in /$CG/vm1/vcpuN)"* ]]
	[ "$(cat $V1/cpu/$CG/vm1/vcpu0/cpu.cfs_quota_us)" = 30000 ]
}

@test "an escaped libvirt scope name (backslashes) on v1" {
	need_v1
	local scope='machine-qemu\x2d1\x2dvm1.scope' c tid
	for c in cpu cpuacct cpuset; do
		[ -d $V1/$c ] && mkdir -p "$V1/$c/$CG/$scope"
	done
	cat $V1/cpuset/cpuset.cpus > "$V1/cpuset/$CG/$scope/cpuset.cpus"
	cat $V1/cpuset/cpuset.mems > "$V1/cpuset/$CG/$scope/cpuset.mems"
	tid=$(tid_of 0)
	run VC tune 0 --cgroup "$CG/$scope" --quota 40000
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "$tid" "$V1/cpuset/$CG/$scope/vcpu0/tasks"
	[ "$(cat "$V1/cpu/$CG/$scope/vcpu0/cpu.cfs_quota_us")" = 40000 ]
	[ "$(VC show --json | jq -r '.vcpus[0].cgroup')" = "/$CG/$scope/vcpu0" ]
}
