#!/usr/bin/env bats
# Tuning options: every check that runs before QEMU is asked (exit 2, no
# connection), and against the fake QMP server what happens when the vCPU
# threads QEMU names are not threads of it on this host, or are shared.
# Real threads, cgroups and schedulers: tests/e2e/tune.bats.

bats_require_minimum_version 1.5.0
load ../lib/fake

load ../lib/vcpuctl

setup() {
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
	# a socket nobody listens on: validation must fail before connecting
	export VCPUCTL_SOCKET=$BATS_TEST_TMPDIR/none.sock
}

teardown() { fake_stop; }

usage_error() {
	run --separate-stderr VC "$@"
	echo "$stderr"
	[ "$status" -eq 2 ]
	[[ "$stderr" != *"none.sock"* ]]
}

@test "--sched: policy names and priority ranges" {
	usage_error set --count 2 --sched deadline
	[[ "$stderr" == *"--sched: 'deadline': the policy is not other, batch, idle, fifo:N or rr:N"* ]]
	usage_error set --count 2 --sched fifo:0
	[[ "$stderr" == *"the fifo priority must be from 1 to 99"* ]]
	usage_error add 2 --sched rr:100
	[[ "$stderr" == *"the rr priority must be from 1 to 99"* ]]
	usage_error tune 0 --sched fifo
	[[ "$stderr" == *"needs a priority: fifo:N, N from 1 to 99"* ]]
	usage_error tune 0 --sched batch:1
	[[ "$stderr" == *"batch takes no priority"* ]]
}

@test "--quota and --period: the kernel's ranges" {
	usage_error set --count 2 --cgroup x --quota 999
	[[ "$stderr" == *"--quota: '999' is not 'max' or a number of microseconds from 1000"* ]]
	usage_error set --count 2 --cgroup x --period 999
	[[ "$stderr" == *"--period: '999' is not a number of microseconds from 1000 to 1000000"* ]]
	usage_error set --count 2 --cgroup x --period 1000001
	[[ "$stderr" == *"from 1000 to 1000000"* ]]
}

@test "--affinity and --cpuset: host CPUs only, cpulist syntax, per-vCPU form" {
	local n
	n=$(nproc --all)
	usage_error set --count 2 --affinity "$n"
	[[ "$stderr" == *"--affinity: cpulist '$n': $n is too large (the highest is $((n - 1)))"* ]]
	usage_error set --count 2 --affinity 0-x
	[[ "$stderr" == *"--affinity: cpulist '0-x'"* ]]
	usage_error set --count 2 --affinity 1:0 --affinity 1:0
	[[ "$stderr" == *"--affinity: vCPU 1 is given twice"* ]]
	usage_error set --count 2 --affinity v1:0
	[[ "$stderr" == *"'v1' is not a vCPU index"* ]]
	usage_error set --count 2 --cgroup x --cpuset "$n"
	[[ "$stderr" == *"--cpuset: cpulist"* ]]
}

@test "cgroup settings need --cgroup" {
	usage_error set --count 2 --cpuset 0
	[[ "$stderr" == *"--cpuset sets the vCPU's cgroup: it needs --cgroup PATH"* ]]
	usage_error add 1 --quota max
	[[ "$stderr" == *"--quota sets the vCPU's cgroup: it needs --cgroup PATH"* ]]
}

@test "--cgroup: no '..', nothing outside the cgroup mounts, must exist" {
	usage_error set --count 2 --cgroup ../../etc
	[[ "$stderr" == *"--cgroup '../../etc': '..' is not allowed"* ]]
	usage_error set --count 2 --cgroup vm/../../x
	[[ "$stderr" == *"'..' is not allowed"* ]]
	usage_error set --count 2 --cgroup /etc
	[[ "$stderr" == *"--cgroup '/etc': /etc is not below /sys/fs/cgroup"* ]]
	usage_error set --count 2 --cgroup vcpuctl-no-such-cgroup-$$
	[[ "$stderr" == *"vcpuctl-no-such-cgroup-$$"* ]]
	usage_error del 1 --cgroup ../x
	[[ "$stderr" == *"'..' is not allowed"* ]]
}

@test "tune needs a LIST and something to do; del and plan take no tuning" {
	usage_error tune --sched batch
	[[ "$stderr" == *"name the vCPUs"* ]]
	usage_error tune 1
	[[ "$stderr" == *"give at least one of --cgroup, --affinity, --node-affinity and --sched"* ]]
	usage_error del 1 --sched batch
	usage_error plan --count 2 --cgroup x
	run VC tune --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--sched=POLICY[:PRIO]"* ]]
	[[ "$output" == *"CAP_SYS_NICE"* ]]
	run VC set --help
	[[ "$output" == *"--cgroup=PATH"* ]]
	[[ "$output" == *"needs root"* ]]
}

@test "threads QEMU names that are not its threads here: plugged, not tuned, exit 9" {
	fake_start_json '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}}'
	export VCPUCTL_SOCKET=$FAKE_SOCK
	run --separate-stderr VC set --count 3 --sched batch --json
	echo "$output"; echo "$stderr"
	[ "$status" -eq 9 ]
	[ "$(jq -r .result <<<"$output")" = not-tuned ]
	[ "$(jq .online <<<"$output")" -eq 3 ]
	[ "$(jq -r '[.vcpus[].state] | unique | join(",")' <<<"$output")" = plugged ]
	[ "$(jq -r '[.vcpus[].tuning] | unique | join(",")' <<<"$output")" = not-tuned ]
	[[ "$(jq -r '.vcpus[0].reason' <<<"$output")" == "plugged, not tuned: vCPU 1: thread "*" is not a thread of QEMU (pid "*") on this host" ]]
	# the second vCPU was tried too, and named
	[[ "$(jq -r '.vcpus[1].reason' <<<"$output")" == "plugged, not tuned: vCPU 2: thread "* ]]
	[[ "$stderr" == *"vcpuctl: set: plugged, not tuned: vCPU 1: "* ]]
	# text form
	run VC set --count 4 --affinity 0
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 3    vcpu3      plugged (thread "*"): plugged, not tuned: vCPU 3: thread "* ]]
	# nothing was undone
	run VC count --json
	[ "$(jq .online <<<"$output")" -eq 4 ]
	# show has the columns, empty for threads that are not on this host
	run VC show
	[[ "${lines[0]}" == *"HOST-TID  AFFINITY  SCHED  CGROUP"* ]]
	run VC show --json
	[ "$(jq -c '[.vcpus[0] | .affinity, .sched, .cgroup]' <<<"$output")" = '[null,null,null]' ]
}

@test "without per-vCPU threads tuning is skipped with a warning, exit 0" {
	local hp='[{"type": "qemu64-x86_64-cpu", "vcpus-count": 1, "props": {"socket-id": 0, "core-id": 0, "thread-id": 0}, "qom-path": "/machine/unattached/device[0]"},
	           {"type": "qemu64-x86_64-cpu", "vcpus-count": 1, "props": {"socket-id": 0, "core-id": 1, "thread-id": 0}, "qom-path": "/machine/unattached/device[1]"},
	           {"type": "qemu64-x86_64-cpu", "vcpus-count": 1, "props": {"socket-id": 0, "core-id": 2, "thread-id": 0}},
	           {"type": "qemu64-x86_64-cpu", "vcpus-count": 1, "props": {"socket-id": 0, "core-id": 3, "thread-id": 0}}]'
	local cf='[{"cpu-index": 0, "qom-path": "/machine/unattached/device[0]", "thread-id": 4242, "target": "x86_64", "props": {"socket-id": 0, "core-id": 0, "thread-id": 0}},
	           {"cpu-index": 1, "qom-path": "/machine/unattached/device[1]", "thread-id": 4242, "target": "x86_64", "props": {"socket-id": 0, "core-id": 1, "thread-id": 0}}]'
	fake_start_json "{\"hotpluggable\": $hp, \"cpus_fast\": $cf}"
	export VCPUCTL_SOCKET=$FAKE_SOCK
	run --separate-stderr VC set --count 3 --sched batch --json
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"vcpuctl: warning: tuning skipped: vCPUs 0 and 1 share host thread 4242"* ]]
	[ "$(jq -r '.vcpus[0] | [.state, .tuning] | join(" ")' <<<"$output")" = "plugged skipped" ]
	run --separate-stderr VC tune 0-1 --affinity 0
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"tuning skipped: vCPUs 0 and 1 share host thread 4242"* ]]
	[[ "$output" == *"vCPU 0    thread 4242     not tuned: skipped: "* ]]
}

@test "tune: a vCPU index beyond the VM is a usage error; offline ones are named" {
	fake_start_json '{"synthetic": {"sockets": 1, "cores": 4, "threads": 1, "online": 2}}'
	export VCPUCTL_SOCKET=$FAKE_SOCK
	run --separate-stderr VC tune 9 --sched batch
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"vCPU 9 does not exist: this VM has vCPUs 0-3"* ]]
	run --separate-stderr VC tune 1-2 --sched batch
	[ "$status" -eq 9 ]
	[[ "$output" == *"vCPU 1    thread "*" not tuned: vCPU 1: thread "*" is not a thread of QEMU"* ]]
	[[ "$output" == *"vCPU 2    not tuned: vCPU 2 is offline"* ]]
	[ "$stderr" = "vcpuctl: tune: 2 of 2 vCPUs not tuned" ]
}
