#!/usr/bin/env bats
# SIGTERM, SIGHUP and SIGINT on a real QEMU 10 TCG guest: a wait ends as a
# timeout does (exit 7, the pending vCPUs named, --json complete), and a
# change stops before its next step and says what was done (exit 8).  A VM
# paused with QMP "stop" keeps an unplug pending for as long as a test needs.
# One VM for the file; vCPU threads created (budget 8) are counted below.

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
	TRACE=$BATS_TEST_TMPDIR/trace
}

teardown() {
	[ -z "${VC_PID:-}" ] || kill -9 "$VC_PID" 2>/dev/null || true
	[ -z "${RELAY_PID:-}" ] || kill "$RELAY_PID" 2>/dev/null || true
	# Leave the VM running with 1 vCPU for the next test.
	vm_qmp cont >/dev/null 2>&1 || true
}

qemu_vcpus() { vm_qmp query-cpus-fast | jq length; }

# guest_has_only_cpu0: the guest's last word is that CPU 0 alone is present.
# QEMU counts a removal done at the guest's eject; the guest's CPU watcher
# reports it later.  Seen once in CI: the guest had printed ONLINE 0 but not
# yet PRESENT 0 when the next test plugged CPU 1 again, and CPU 1 never came
# online in the guest.  So each grow starts from a guest that is done.
guest_has_only_cpu0() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(vm_console | sed -n 's/^VCPUCTL-CPUS-PRESENT //p' | tail -n 1)" = 0 ] &&
			return 0
		sleep 0.1
	done
	echo "the guest still reports CPUs other than 0 present after 60 s:" >&2
	vm_console | tail -n 20 >&2
	return 1
}

# grow_to_2_and_pause: vCPU 1 plugged and onlined by the guest, VM paused
grow_to_2_and_pause() {
	guest_has_only_cpu0
	vm_console_mark
	run VC set --count 2 --no-syslog
	[ "$status" -eq 0 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	vm_qmp stop
}

# bg CMD...: vcpuctl CMD in the background, --trace to $TRACE; VC_PID is
# vcpuctl's own pid (exec: no shell in between to take the signal)
bg() {
	# shellcheck disable=SC2086
	( exec ${VCPUCTL_WRAP:-} "$VCPUCTL" "$@" --trace "$TRACE" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- ) &
	VC_PID=$!
}

# until_waiting: wait (60 s at most) until the trace shows a reply just
# after a device_del: vcpuctl is in (or about to start) its wait.
until_waiting() {
	local i
	for ((i = 0; i < 600; i++)); do
		grep -A1 '"execute":"device_del"' "$TRACE" 2>/dev/null | grep -q '^< {"return"' &&
			return 0
		kill -0 "$VC_PID" || { cat "$BATS_TEST_TMPDIR/err"; return 1; }
		sleep 0.1
	done
	echo "vcpuctl never got to its wait" >&2
	return 1
}

# collect: wait for vcpuctl; status, output (stdout), err (stderr)
collect() {
	status=0
	wait "$VC_PID" || status=$?
	VC_PID=
	output=$(cat "$BATS_TEST_TMPDIR/out")
	err=$(cat "$BATS_TEST_TMPDIR/err")
	printf 'status %s\n--- stdout\n%s\n--- stderr\n%s\n' "$status" "$output" "$err"
}

@test "SIGTERM during an unplug wait: exit 7, the pending vCPU named" {
	grow_to_2_and_pause		# threads created: 2 of 8
	bg set --count 1 --timeout 600 --no-syslog
	until_waiting
	kill -TERM "$VC_PID"
	collect
	[ "$status" -eq 7 ]
	[[ "$output" == *"vCPU 1    vcpu1      pending"* ]]
	[[ "$err" == *"interrupted by SIGTERM while waiting; removals still pending"* ]]
	[[ "$err" == *"removal pending: vCPUs 1"* ]]
	# The removal was asked for and goes on: after cont, wait sees it done.
	vm_qmp cont
	run VC wait 1 --timeout 60
	[ "$status" -eq 0 ]
	[ "$(qemu_vcpus)" -eq 1 ]
}

@test "SIGHUP during an unplug wait with --json: one complete document" {
	grow_to_2_and_pause		# threads created: 3 of 8
	bg set --count 1 --timeout 600 --no-syslog --json
	until_waiting
	kill -HUP "$VC_PID"
	collect
	[ "$status" -eq 7 ]
	jq -e . <<<"$output" >/dev/null
	[ "$(jq -r .result <<<"$output")" = timeout ]
	[ "$(jq -r .interrupted_by <<<"$output")" = SIGHUP ]
	[ "$(jq -r .pending <<<"$output")" = 1 ]
	[ "$(jq -r '.vcpus[] | select(.index == 1) | .state' <<<"$output")" = pending ]
	vm_qmp cont
	run VC wait 1 --timeout 60
	[ "$status" -eq 0 ]
}

@test "SIGINT during 'vcpuctl wait': exit 7, still pending" {
	grow_to_2_and_pause		# threads created: 4 of 8
	run VC del 1 --no-wait --no-syslog
	[ "$status" -eq 0 ]
	bg wait 1 --timeout 600
	# wait sends no device_del: its first poll says it is waiting.
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(grep -c '"execute":"query-hotpluggable-cpus"' "$TRACE" 2>/dev/null)" -ge 2 ] && break
		sleep 0.1
	done
	kill -INT "$VC_PID"
	collect
	[ "$status" -eq 7 ]
	[[ "$err" == *"interrupted by SIGINT while waiting"* ]]
	[[ "$output" == *"vCPU 1    vcpu1      pending"* ]]
	vm_qmp cont
	run VC wait 1 --timeout 60
	[ "$status" -eq 0 ]
	[ "$(qemu_vcpus)" -eq 1 ]
}

@test "SIGTERM during a plug: no step after it is sent, exit 8, what was done reported" {
	# A relay holds the second device_add until vcpuctl has the signal.
	local relay=$BATS_TEST_TMPDIR/relay.sock
	python3 "$BATS_TEST_DIRNAME/../lib/holdqmp.py" "$relay" "$VM_SOCK" \
		'"device_add"' 2 "$BATS_TEST_TMPDIR/held" "$BATS_TEST_TMPDIR/release" 3>&- &
	RELAY_PID=$!
	for ((i = 0; i < 500; i++)); do [ -S "$relay" ] && break; sleep 0.01; done
	VCPUCTL_SOCKET=$relay bg set --count 4 --no-syslog --json
	for ((i = 0; i < 600; i++)); do [ -e "$BATS_TEST_TMPDIR/held" ] && break; sleep 0.1; done
	[ -e "$BATS_TEST_TMPDIR/held" ]
	kill -TERM "$VC_PID"
	touch "$BATS_TEST_TMPDIR/release"
	collect
	[ "$status" -eq 8 ]
	[ "$(jq -r .interrupted_by <<<"$output")" = SIGTERM ]
	[ "$(jq -r '[.vcpus[] | .state] | join(",")' <<<"$output")" = plugged,plugged,not-done ]
	[ "$(jq -r '.vcpus[2].reason' <<<"$output")" = "not sent: interrupted by SIGTERM" ]
	[[ "$(jq -r .error <<<"$output")" == "interrupted by SIGTERM after step 2 of 3; the steps after it were not sent" ]]
	[ "$(grep -c '"execute":"device_add"' "$TRACE")" -eq 2 ]
	# QEMU has exactly what was reported: vCPUs 0-2.  threads created: 6 of 8
	[ "$(qemu_vcpus)" -eq 3 ]
	run VC set --count 1 --no-syslog --timeout 60
	[ "$status" -eq 0 ]
}
