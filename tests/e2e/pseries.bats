#!/usr/bin/env bats
# A real ppc64le Linux guest on pseries (QEMU TCG, Debian's powerpc64le
# kernel; tests/guest/build.sh --arch ppc64el), with SMT cores:
# -smp 2,threads=2,maxcpus=10, so each hotpluggable core holds two vCPUs.
#
# One VM for the whole file (a boot costs 10 s and more under TCG), so the
# tests run in this order and each starts from the state the one before
# left.  TCG creates at most maxcpus vCPU threads over a VM's life
# (LAB.md), and a removed vCPU does not give its thread back: threads
# made so far are counted on the right, 2 at boot, 10 at most.
#   1. plug 2->10 with wait; 7 refused               10 online, 10 threads
#   2. 10->8->6 with wait, events and show alongside  6 online
#   3. 6->4 --no-wait, then wait                      4 online
#   4. the refusing guest: 4->2 is refused, exit 6    4 online
# The guest sets the refusal up itself (tests/guest/init): once its 8th
# hot-added CPU appears it offlines its boot core, so core vcpu2, the last
# one left in test 4, holds its last online CPUs.  It takes no commands
# from the host: lines sent to this guest's console were at times never
# acted on after CPU hotplug.
#
# Besides the main monitor the VM has two more: QEMU serves one client per
# monitor, and events and show run while set holds the first.

load ../lib/vm
load ../lib/vcpuctl

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	vm_start --arch ppc64 --smp 2,threads=2,maxcpus=10 --append vcpuctl.offline_boot=8 --qmp2 -- \
		-qmp "unix:$BATS_FILE_TMPDIR/qmp3.sock,server=on,wait=off"
}

teardown_file() { vm_stop; }

setup() {
	export VCPUCTL_SOCKET=$VM_SOCK
	export VCPUCTL_LOCK_DIR=$BATS_FILE_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_FILE_TMPDIR/no-syslog.sock
	QMP2=$VM_SOCK2
	QMP3=$BATS_FILE_TMPDIR/qmp3.sock
	# Each test needs the one before: stop at the first failure.
	if [ -e "$BATS_FILE_TMPDIR/failed" ]; then
		skip "an earlier test of this VM failed"
	fi
}

teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ]; then
		touch "$BATS_FILE_TMPDIR/failed"
	fi
}

# plugged_cores: cores QEMU shows plugged; fast_rows: vCPUs it runs
plugged_cores() { vm_qmp query-hotpluggable-cpus | jq '[.[] | select(has("qom-path"))] | length'; }
fast_rows() { vm_qmp query-cpus-fast | jq length; }

# bg_until PIDVAR TRACE ERE CMD...: CMD (run with --trace TRACE) in the
# background; returns once a line of TRACE matches ERE
bg_until() {
	local var=$1 trace=$2 ere=$3 i
	shift 3
	"$@" 3>&- &
	printf -v "$var" %s $!
	for i in $(seq 300); do
		grep -Eq -- "$ere" "$trace" 2>/dev/null && return 0
		kill -0 "${!var}" 2>/dev/null || break
		sleep 0.1
	done
	echo "not connected: $*" >&2
	return 1
}

@test "SMT cores of 2 move whole: plug 2->10 with wait; 7 is refused (exit 5), nothing sent" {
	vm_console_mark
	run VC set --count 10 --timeout 60
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(plugged_cores)" -eq 5 ]
	[ "$(fast_rows)" -eq 10 ]
	# four new cores, each a device whose two threads are vCPUs
	[ "$(vm_qmp query-cpus-fast | jq -r '[.[]."qom-path" | select(startswith("/machine/peripheral/"))] | sort | join(" ")')" = \
	  "$(for c in 2 4 6 8; do printf '/machine/peripheral/vcpu%d/thread[0] /machine/peripheral/vcpu%d/thread[1] ' $c $c; done | sed 's/ $//')" ]
	# the guest kernel onlines a hot-added core by itself; then the
	# guest's init offlines the boot core (vcpuctl.offline_boot=8)
	vm_console_wait "^VCPUCTL-BOOT-OFFLINE 0,1$" 60
	vm_console_wait "^VCPUCTL-CPUS-ONLINE 2-9$" 60
	run VC set --count 7
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *"entities of 2"* ]]
	run VC del 7
	echo "$output"
	[ "$status" -eq 5 ]
	[ "$(fast_rows)" -eq 10 ]
	[ "$(plugged_cores)" -eq 5 ]
}

@test "10->8->6 with wait; events on a second monitor: one vcpu-removed per vCPU, no error; show never fails" {
	local ev=$BATS_TEST_TMPDIR/events show_rc=$BATS_TEST_TMPDIR/show.rc
	# started once it has its first snapshot: query-cpus-fast answered
	bg_until EV_PID "$ev.trace" '^< .*"thread-id"' \
		"$VCPUCTL" events -s "$QMP2" --trace "$ev.trace" --vcpu-only --count 4 --timeout 60 \
		>"$ev.out" 2>"$ev.err"
	# show, over and over on a third monitor, while the cores go: it reads
	# QEMU's passing state (a thread of a core already unplugged)
	( while [ ! -e "$BATS_TEST_TMPDIR/done" ]; do
		rc=0
		"$VCPUCTL" show -s "$QMP3" --json >/dev/null 2>>"$show_rc.err" || rc=$?
		echo "$rc" >>"$show_rc"
	  done ) 3>&- &
	SHOW_PID=$!
	vm_console_mark
	# one core at a time: each removal is a window for the readers
	run VC set --count 8 --timeout 60
	echo "$output"
	st8=$status
	run VC set --count 6 --timeout 60
	echo "$output"
	touch "$BATS_TEST_TMPDIR/done"
	rc=0
	wait "$EV_PID" || rc=$?
	wait "$SHOW_PID"
	cat "$ev.out" "$ev.err"
	[ "$st8" -eq 0 ]
	[ "$status" -eq 0 ]
	[ "$rc" -eq 0 ]
	[ ! -s "$ev.err" ]
	[ "$(jq -r '.event' "$ev.out" | sort -u)" = vcpu-removed ]
	[ "$(jq -r '.data.index' "$ev.out" | sort -n | paste -sd' ')" = "6 7 8 9" ]
	[ "$(jq -r '.data.device_id' "$ev.out" | sort | uniq -c | awk '{ print $1 $2 }' | paste -sd' ')" = "2vcpu6 2vcpu8" ]
	echo "show ran $(wc -l <"$show_rc") times: $(sort "$show_rc" | uniq -c | paste -sd' ')"
	cat "$show_rc.err" 2>/dev/null || true
	[ "$(sort -u "$show_rc")" = 0 ]
	[ "$(plugged_cores)" -eq 3 ]
	[ "$(fast_rows)" -eq 6 ]
	vm_console_wait "^VCPUCTL-CPUS-PRESENT 0-5$" 30
}

@test "6->4 --no-wait, then wait: the removal a paused guest holds ends once it runs" {
	# A paused VM keeps the unplug pending for sure; pseries may otherwise
	# finish it before the device_del reply.
	vm_qmp stop
	vm_console_mark
	run VC set --count 4 --no-wait
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"removal pending for vCPUs 4-5"* ]]
	[ "$(fast_rows)" -eq 6 ]
	# started once it has read what is pending
	bg_until WAIT_PID "$BATS_TEST_TMPDIR/wait.trace" '^< .*"qom-path"' \
		"$VCPUCTL" wait --trace "$BATS_TEST_TMPDIR/wait.trace" --timeout 60 4-5 \
		>"$BATS_TEST_TMPDIR/wait.out" 2>&1
	# wait holds the main monitor: resume the guest through the second
	vm_qmp2 cont
	rc=0
	wait "$WAIT_PID" || rc=$?
	cat "$BATS_TEST_TMPDIR/wait.out"
	[ "$rc" -eq 0 ]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 4 ]
	[ "$(plugged_cores)" -eq 2 ]
	[ "$(fast_rows)" -eq 4 ]
	vm_console_wait "^VCPUCTL-CPUS-PRESENT 0-3$" 30
}

@test "the refusing guest: the core asked for holds its last online CPUs: exit 6, count unchanged" {
	# core vcpu2 holds the guest's only online CPUs: its boot core is
	# offline since test 1
	[ "$(vm_guest_online)" = 2-3 ]
	SECONDS=0
	run VC del 2-3 --timeout 60
	echo "$output"
	[ "$status" -eq 6 ]
	[ "$SECONDS" -lt 20 ]
	[[ "$output" == *"rejected by the guest"* ]]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 4 ]
	[ "$(plugged_cores)" -eq 2 ]
	[ "$(fast_rows)" -eq 4 ]
}
