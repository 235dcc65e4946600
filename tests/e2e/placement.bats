#!/usr/bin/env bats
# Placement against real QEMU 10 TCG: guest NUMA nodes (--node, --spread
# nodes, --node-affinity), whole units (--granularity), per-node counts.
# Each test starts its own VM: most are paused (-S), which QEMU lets plug
# CPUs into, and one boots the guest to unplug.  QEMU 10's TCG may create
# at most maxcpus vCPU threads over a VM's life, so each test counts the
# threads it creates (budget: 8, the boot CPUs included).

bats_require_minimum_version 1.5.0

load ../lib/vm
load ../lib/vcpuctl

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# Two guest nodes of 128 MiB each (vm_start gives -m 256), socket 0 on
# node 0 and socket 1 on node 1.
NUMA=(-object memory-backend-ram,id=m0,size=128M
      -object memory-backend-ram,id=m1,size=128M
      -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1
      -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1)

setup() {
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
}

teardown() {
	vm_stop
}

# start_paused SMP: a VM that never boots its guest, with the two nodes
start_paused() {
	vm_start --no-wait-boot --smp "$1" -- -S "${NUMA[@]}"
	export VCPUCTL_SOCKET=$VM_SOCK
}

# plugged_on NODE: vCPUs QEMU has plugged on guest node NODE
plugged_on() {
	vm_qmp query-hotpluggable-cpus |
		jq "[.[] | select(.[\"qom-path\"] and .props[\"node-id\"] == $1) | .[\"vcpus-count\"]] | add // 0"
}

# guest_cpus_wait N: the guest reports N CPUs online (its own numbering
# follows the order it took the CPUs in, so only the count is known)
guest_cpus_wait() {
	local n start=$SECONDS
	while [ $((SECONDS - start)) -lt 60 ]; do
		n=$(vm_guest_online | awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }')
		[ "${n:-0}" -eq "$1" ] && return 0
		sleep 0.2
	done
	echo "guest reports CPUs '$(vm_guest_online)', not $1 of them" >&2
	return 1
}

# affinity_of INDEX: Cpus_allowed_list of vCPU INDEX's host thread
affinity_of() {
	local tid
	tid=$(VC show --json 2>/dev/null | jq -r ".vcpus[$1].thread_id")
	[ "$tid" != null ] || { echo "vCPU $1 has no thread" >&2; return 1; }
	awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$tid/status"
}

@test "plan --node 1 plugs on node 1 only and sends nothing" {
	start_paused 1,sockets=2,cores=4,maxcpus=8
	run --separate-stderr VC plan --count 3 --node 1 --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.steps[] | .device_id]' <<<"$output")" = '["vcpu4","vcpu5"]' ]
	[ "$(jq -c '[.steps[] | .node] | unique' <<<"$output")" = '[1]' ]
	[ "$(jq -c '.nodes' <<<"$output")" = \
	  '[{"node":0,"online":1,"to":1,"max":4},{"node":1,"online":0,"to":2,"max":4}]' ]
	# the README's and the man page's examples
	run VC plan --count 3 --node 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"1. device_add vcpu4: vCPU 4 (socket 1, core 0, thread 0, node 1)"* ]]
	[[ "$output" == *"nodes: node 0: 1 -> 1 of 4; node 1: 0 -> 2 of 4"* ]]
	run VC plan --count +4 --spread nodes
	[ "$status" -eq 0 ]
	[[ "$output" == *"nodes: node 0: 1 -> 3 of 4; node 1: 0 -> 2 of 4"* ]]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 1 ]
}

@test "a --node target the node cannot reach is refused and changes nothing" {
	start_paused 1,sockets=2,cores=4,maxcpus=8
	before=$(vm_qmp query-hotpluggable-cpus | jq -S -c .)
	run --separate-stderr VC set --count 6 --node 0
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"cannot reach 6 vCPUs with --node 0: node 0 has 3 free vCPU slots (1-3) and 0 removable vCPUs; the nearest reachable count is 4"* ]]
	run --separate-stderr VC set --count 2 --node 2
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"guest node 2 does not exist: this VM has nodes 0, 1"* ]]
	run --separate-stderr VC set --count 2 --node-affinity 3:0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--node-affinity 3: guest node 3 does not exist"* ]]
	[ "$(vm_qmp query-hotpluggable-cpus | jq -S -c .)" = "$before" ]
	# options are checked before QEMU is contacted
	run --separate-stderr VC set --count 2 --node 1 --spread nodes --socket /nonexistent
	[ "$status" -eq 2 ]
	run --separate-stderr VC set --count 2 --granularity node --socket /nonexistent
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--granularity 'node': expected socket, die, module, cluster, core or thread"* ]]
}

@test "set --spread nodes 1 -> 6 ends 3 and 3; show and count report per node" {
	start_paused 1,sockets=2,cores=4,maxcpus=8
	# the autoscaler passes --spread nodes on: one real step, on node 1
	run "$REPO/examples/autoscale.sh" --vcpuctl "$VCPUCTL" --socket "$VM_SOCK" \
		--interval 0.2 --min 1 --max 8 --high 0 --streak 1 --spread \
		--state "$BATS_TEST_TMPDIR/as.state" --log "$BATS_TEST_TMPDIR/as.log"
	cat "$BATS_TEST_TMPDIR/as.log"
	[ "$status" -eq 0 ]
	grep -q 'action="vcpuctl set --count +1 --max 8 --spread nodes" target=2 exit=0' "$BATS_TEST_TMPDIR/as.log"
	[ "$(plugged_on 1)" -eq 1 ]
	# threads created: 2 of 8
	run --separate-stderr VC set --count 6 --spread nodes
	[ "$status" -eq 0 ]
	# threads created: 6 of 8
	[ "$(plugged_on 0)" -eq 3 ]
	[ "$(plugged_on 1)" -eq 3 ]
	run --separate-stderr VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq -c .nodes <<<"$output")" = \
	  '[{"node":0,"online":3,"max":4,"removable":2},{"node":1,"online":3,"max":4,"removable":3}]' ]
	run --separate-stderr VC show --json
	[ "$(jq -c .nodes <<<"$output")" = \
	  '[{"node":0,"online":3,"max":4,"removable":2},{"node":1,"online":3,"max":4,"removable":3}]' ]
	# the per-node counts are QEMU's own
	[ "$(jq '[.vcpus[] | select(.online and .node == 1)] | length' <<<"$output")" -eq "$(plugged_on 1)" ]
	run --separate-stderr VC show
	[[ "$output" == *$'online 6 of 8 vCPUs, 5 removable\nnode 0: online 3 of 4 vCPUs, 2 removable\nnode 1: online 3 of 4 vCPUs, 3 removable'* ]]
	run --separate-stderr VC count
	[[ "$output" == *$'removable 5\npending 0\nnode 0: online 3 of 4 vCPUs, 2 removable'* ]]
}

@test "the README's spread example plugs 3 and 3" {
	start_paused 1,sockets=2,cores=4,maxcpus=8
	run --separate-stderr VC set --count 6 --spread nodes
	[ "$status" -eq 0 ]
	# threads created: 6 of 8
	[ "$(plugged_on 0)" -eq 3 ]
	[ "$(plugged_on 1)" -eq 3 ]
}

@test "--node-affinity pins each node's new vCPUs; tune re-pins them by node" {
	start_paused 1,sockets=2,cores=4,maxcpus=8
	boot=$(affinity_of 0)
	run --separate-stderr VC set --count 6 --spread nodes --node-affinity 0:0 --node-affinity 1:1
	[ "$status" -eq 0 ]
	# threads created: 6 of 8
	for i in 1 2; do [ "$(affinity_of $i)" = 0 ]; done
	for i in 4 5 6; do [ "$(affinity_of $i)" = 1 ]; done
	# only new vCPUs are tuned: the boot CPU keeps what it had
	[ "$(affinity_of 0)" = "$boot" ]
	run --separate-stderr VC tune 0-2,4-6 --node-affinity 0:1 --node-affinity 1:0
	[ "$status" -eq 0 ]
	for i in 0 1 2; do [ "$(affinity_of $i)" = 1 ]; done
	for i in 4 5 6; do [ "$(affinity_of $i)" = 0 ]; done
	# --affinity V:LIST wins over the node's list
	run --separate-stderr VC tune 4 --node-affinity 1:0 --affinity 4:1
	[ "$status" -eq 0 ]
	[ "$(affinity_of 4)" = 1 ]
	[ "$(affinity_of 5)" = 0 ]
}

@test "the man page's example: spread and pin node 1 near its memory" {
	start_paused 1,sockets=2,cores=4,maxcpus=8
	run --separate-stderr VC plan --count +4 --spread nodes
	[ "$status" -eq 0 ]
	run --separate-stderr VC set --count 6 --spread nodes --node-affinity 1:0
	[ "$status" -eq 0 ]
	# threads created: 6 of 8
	for i in 4 5 6; do [ "$(affinity_of $i)" = 0 ]; done
	run --separate-stderr VC count --json
	[ "$(jq -c .nodes <<<"$output")" = \
	  '[{"node":0,"online":3,"max":4,"removable":2},{"node":1,"online":3,"max":4,"removable":3}]' ]
}

@test "threads=2 with --granularity core plugs whole cores and refuses odd counts" {
	vm_start --no-wait-boot --smp 2,sockets=1,cores=4,threads=2,maxcpus=8 -- -S
	export VCPUCTL_SOCKET=$VM_SOCK
	run --separate-stderr VC set --count 5 --granularity core
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"cannot reach 5 vCPUs: this VM moves vCPUs in whole cores of 2; nearest reachable counts are 4 and 6"* ]]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 2 ]
	run --separate-stderr VC plan --count 8 --granularity core --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.steps[] | .unit.vcpus] | unique' <<<"$output")" = '["2-3","4-5","6-7"]' ]
	[ "$(jq -r '.unit + " " + ([.steps[].unit.fill] | unique | join(","))' <<<"$output")" = "core whole" ]
	run --separate-stderr VC set --count 4 --granularity core
	[ "$status" -eq 0 ]
	# threads created: 4 of 8
	# QEMU's own view: core 1 has both threads, cores 2 and 3 none
	[ "$(vm_qmp query-hotpluggable-cpus | jq -c '[.[] | select(.["qom-path"]) | .props["core-id"]] | sort')" = '[0,0,1,1]' ]
	run --separate-stderr VC set --count 7 --granularity core
	[ "$status" -eq 5 ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 4 ]
	# a level the VM does not report
	run --separate-stderr VC set --count 6 --granularity module
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"this VM reports no module-id"* ]]
}

@test "a booted two-node guest unplugs --node 1 from node 1 only" {
	vm_start --smp 1,sockets=2,cores=4,maxcpus=8 -- "${NUMA[@]}"
	export VCPUCTL_SOCKET=$VM_SOCK
	run --separate-stderr VC set --count 5 --spread nodes
	[ "$status" -eq 0 ]
	# threads created: 5 of 8; node 0 has vCPUs 0-2, node 1 has 4-5
	[ "$(plugged_on 0)" -eq 3 ]
	[ "$(plugged_on 1)" -eq 2 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-4" 60
	run --separate-stderr VC set --count 3 --node 1 --timeout 30 --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.vcpus[] | [.index, .state, .node]]' <<<"$output")" = '[[5,"removed",1],[4,"removed",1]]' ]
	[ "$(plugged_on 0)" -eq 3 ]
	[ "$(plugged_on 1)" -eq 0 ]
	[ "$(vm_qmp query-cpus-fast | jq -c '[.[] | .props["node-id"]] | sort')" = '[0,0,0]' ]
	guest_cpus_wait 3
	# node 1 has nothing left to remove
	run --separate-stderr VC set --count 2 --node 1
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"node 1 has 4 free vCPU slots (4-7) and 0 removable vCPUs; the nearest reachable count is 3"* ]]
}
