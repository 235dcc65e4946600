#!/usr/bin/env bats
# The fault matrix against the fake QMP server: a QEMU that is missing,
# refuses, crashes, hangs or lies.  For every row: the message names the
# cause, the exit code is the documented one, the report says what was
# already done, nothing waits past its timeout, and the VM holds no change
# the report does not mention (asked afterwards, where the fake lives on).
# None of these passes --cgroup, so none may create a cgroup; cgroup
# cleanup after a failed tuning is tests/cli/tune.bats' business.
#
# Time bounds are loose on purpose: check-valgrind runs these too.  The
# README's fault table points at these test names.

load ../lib/fake

load ../lib/vcpuctl

setup() {
	export VCPUCTL_SOCKET=
}

teardown() {
	fake_stop
	[ -z "${OPEN_DIR:-}" ] || rm -rf "$OPEN_DIR"
	if [ -n "${HOLD_PID:-}" ]; then
		kill "$HOLD_PID" 2>/dev/null || true
		wait "$HOLD_PID" 2>/dev/null || true
	fi
}

# scenario [JSON-MEMBERS]: an x86 VM of 8 vCPUs in one socket, vCPU 0 a
# boot CPU, plus the given scenario members.
scenario() {
	local extra=${1:-}
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}%s}\n' \
		"${extra:+, $extra}" >"$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

count_cmds() { fake_log_commands | grep -c -x "$1" || true; }

# online_now: the vCPUs QEMU (the fake) has online, as a sorted list
# (fails when vcpuctl does, so valgrind's exit 99 cannot hide in a pipe)
online_now() {
	local out
	out=$(VC show --json) || return 1
	jq -c '[.vcpus[] | select(.online) | .index]' <<<"$out"
}

# The run took less than $1 seconds (set T0=$SECONDS before it).
fast() { [ $((SECONDS - T0)) -lt "$1" ]; }

# ---------------------------------------------------------------- socket

@test "fault: socket missing -> exit 3 naming the path, at once" {
	T0=$SECONDS
	run VC show -s "$BATS_TEST_TMPDIR/no-such.sock"
	[ "$status" -eq 3 ]
	[[ "$output" == *"no-such.sock: No such file or directory"* ]]
	fast 5
}

@test "fault: path is not a socket -> exit 3 'not a socket'" {
	echo hello >"$BATS_TEST_TMPDIR/plain"
	run VC set --count 2 -s "$BATS_TEST_TMPDIR/plain"
	[ "$status" -eq 3 ]
	[[ "$output" == *"plain: not a socket"* ]]
	[ "$(cat "$BATS_TEST_TMPDIR/plain")" = hello ]
}

@test "fault: socket refuses (stale, nobody listening) -> exit 3 'connection refused'" {
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
		"$BATS_TEST_TMPDIR/stale.sock"
	[ -S "$BATS_TEST_TMPDIR/stale.sock" ]
	run VC set --count 2 -s "$BATS_TEST_TMPDIR/stale.sock"
	[ "$status" -eq 3 ]
	[[ "$output" == *"stale.sock: connection refused: no QEMU is listening"* ]]
}

# open_scenario: scenario, with the socket in a folder everyone may enter,
# so that only the socket's own owner and mode decide who gets in.
open_scenario() {
	OPEN_DIR=$(mktemp -d /tmp/vcpuctl-faults.XXXXXX)
	chmod 0755 "$OPEN_DIR"
	local BATS_TEST_TMPDIR=$OPEN_DIR
	scenario "$@"
}

# nobody CMD...: run vcpuctl as uid/gid 65534 with no groups (and under
# $VCPUCTL_WRAP, as VC does)
nobody() {
	VCPUCTL_WRAP="setpriv --reuid=65534 --regid=65534 --clear-groups ${VCPUCTL_WRAP:-}" VC "$@"
}

@test "fault: permission denied on a 0600 root socket (as nobody) -> exit 3, nothing sent" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
	command -v setpriv >/dev/null || skip "no setpriv"
	open_scenario
	chmod 0600 "$FAKE_SOCK"
	run nobody set --count 2 -s "$FAKE_SOCK"
	[ "$status" -eq 3 ]
	[[ "$output" == *"qmp.sock: Permission denied"* ]]
	[ ! -s "$FAKE_LOG" ]
}

@test "least privilege: plain hotplug as nobody needs only access to the socket" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
	command -v setpriv >/dev/null || skip "no setpriv"
	open_scenario
	chown 65534:65534 "$FAKE_SOCK"
	chmod 0600 "$FAKE_SOCK"
	run nobody set --count 3 -s "$FAKE_SOCK"
	[ "$status" -eq 0 ]
	[[ "$output" == *"set: online 3 of 8 vCPUs"* ]]
	[ "$(online_now)" = "[0,1,2]" ]
}

# ---------------------------------------------------------------- protocol

@test "fault: no greeting -> exit 3 within the QMP timeout, nothing sent" {
	scenario '"greeting": false'
	T0=$SECONDS
	run VC set --count 2 --qmp-timeout 1
	[ "$status" -eq 3 ]
	[[ "$output" == *"no QMP greeting within 1 s"* ]]
	fast 6
	[ ! -s "$FAKE_LOG" ]
}

@test "an event ahead of the greeting is an event, not a stranger on the socket" {
	# QEMU sends a late event (a guest ejecting what the previous client
	# unplugged) to a client that takes the monitor as that one leaves,
	# before it greets it.
	scenario '"events_before_greeting": [{"event": "ACPI_DEVICE_OST", "data": {"info": {"device": "vcpu5", "source": 3, "status": 0, "slot-type": "CPU", "slot": "5"}}}, {"event": "DEVICE_DELETED", "data": {"device": "vcpu5", "path": "/machine/peripheral/vcpu5"}}]'
	run VC set --count 2
	[ "$status" -eq 0 ]
	[ "$(online_now)" = "[0,1]" ]
	run VC events --timeout 1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == '{"event":"ACPI_DEVICE_OST",'* ]]
	[[ "${lines[1]}" == '{"event":"DEVICE_DELETED",'* ]]
}

@test "fault: a garbage line after the greeting -> exit 3 naming the byte, nothing changed" {
	scenario '"garbage_after_greeting": "garbage line\r\n"'
	run VC set --count 2
	[ "$status" -eq 3 ]
	[[ "$output" == *"unexpected byte 0x67 between JSON messages"* ]]
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "fault: something else than QMP on the socket -> exit 3 'not a QMP monitor'" {
	scenario '"greeting_raw": "{\"hello\": \"I am not QEMU\"}\r\n"'
	run VC set --count 2
	[ "$status" -eq 3 ]
	[[ "$output" == *"not a QMP monitor"* ]]
	[ ! -s "$FAKE_LOG" ]
}

@test "fault: deeply nested JSON (100000 levels) -> exit 3, bounded, nothing sent" {
	local deep
	deep=$(python3 -c 'print("[" * 100000 + "]" * 100000, end="")')
	scenario "\"raw\": {\"query-hotpluggable-cpus\": \"{\\\"return\\\": $deep, \\\"id\\\": {id}}\\r\\n\"}"
	T0=$SECONDS
	run VC set --count 2
	[ "$status" -eq 3 ]
	[[ "$output" == *"query-hotpluggable-cpus: JSON nested deeper than 64 levels"* ]]
	fast 10
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "fault: a 64 MiB reply line -> exit 3 at the 8 MiB limit, nothing sent" {
	scenario '"pad_reply_bytes": {"query-hotpluggable-cpus": 67108864}'
	T0=$SECONDS
	run VC set --count 2
	[ "$status" -eq 3 ]
	[[ "$output" == *"query-hotpluggable-cpus: message exceeds 8 MiB limit"* ]]
	# bounded, not timed: under valgrind on a loaded machine the first
	# 8 MiB alone take seconds
	fast 60
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "fault: a reply with an id we never sent is ignored, then the QMP timeout" {
	scenario '"raw": {"query-hotpluggable-cpus": "{\"return\": [], \"id\": \"not-ours\"}\r\n"}'
	T0=$SECONDS
	run VC set --count 2 --qmp-timeout 1
	[ "$status" -eq 3 ]
	[[ "$output" == *"query-hotpluggable-cpus: no reply within 1 s"* ]]
	fast 6
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "fault: a stray reply before ours is skipped and ours is used" {
	local cpus='[{\"thread-id\": 10000, \"props\": {\"core-id\": 0, \"thread-id\": 0, \"socket-id\": 0}, \"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"target\": \"x86_64\"}]'
	scenario "\"raw\": {\"query-cpus-fast\": \"{\\\"return\\\": [], \\\"id\\\": \\\"vc-99\\\"}\\r\\n{\\\"return\\\": $cpus, \\\"id\\\": {id}}\\r\\n\"}"
	run VC show --json
	[ "$status" -eq 0 ]
	[ "$(jq '.online' <<<"$output")" -eq 1 ]
	[ "$(jq '.vcpus[0].thread_id' <<<"$output")" -eq 10000 ]
}

@test "fault: a reply that never comes (query) -> exit 3 within the QMP timeout" {
	scenario '"stall": {"command": "query-hotpluggable-cpus"}'
	T0=$SECONDS
	run VC set --count 2 --qmp-timeout 1
	[ "$status" -eq 3 ]
	[[ "$output" == *"query-hotpluggable-cpus: no reply within 1 s"* ]]
	fast 6
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "fault: a reply that never comes (2nd device_add) -> exit 8, step 1 reported, outcome of step 2 unknown" {
	scenario '"stall": {"command": "device_add", "nth": 2}'
	T0=$SECONDS
	run VC set --count 4 --qmp-timeout 1
	[ "$status" -eq 8 ]
	fast 6
	[[ "$output" == *"vCPU 1    vcpu1      plugged"* ]]
	[[ "$output" == *"vCPU 2    vcpu2      failed: device_add: no reply within 1 s (whether QEMU carried it out is unknown)"* ]]
	[[ "$output" == *"vCPU 3    vcpu3      not-done"* ]]
	[[ "$output" == *"plugged: vCPUs 1"* ]]
	[ "$(count_cmds device_add)" -eq 2 ]
	# the stalled device_add was not run: QEMU holds what the report says
	[ "$(online_now)" = "[0,1]" ]
}

# ------------------------------------------- EOF at each step of a plug of 3

@test "fault: EOF before the greeting -> exit 3, nothing sent" {
	scenario '"hangup": "on-connect"'
	run VC set --count 4
	[ "$status" -eq 3 ]
	[[ "$output" == *"QEMU closed the connection before its greeting"* ]]
	[ ! -s "$FAKE_LOG" ]
	fake_stop
	scenario
	[ "$(online_now)" = "[0]" ]
}

@test "fault: EOF right after the greeting -> exit 3, nothing changed" {
	scenario '"hangup": "after-greeting"'
	run VC set --count 4
	[ "$status" -eq 3 ]
	[[ "$output" == *"QEMU closed the connection"* ]]
	[ "$(count_cmds device_add)" -eq 0 ]
}

@test "fault: EOF during capabilities negotiation -> exit 3, nothing changed" {
	scenario '"close": {"command": "qmp_capabilities", "when": "mid-reply"}'
	run VC set --count 4
	[ "$status" -eq 3 ]
	[[ "$output" == *"qmp_capabilities: QEMU closed the connection"* ]]
	[ "$(count_cmds device_add)" -eq 0 ]
	[ "$(count_cmds query-hotpluggable-cpus)" -eq 0 ]
}

@test "fault: EOF during the topology query -> exit 3, nothing changed" {
	scenario '"close": {"command": "query-hotpluggable-cpus", "nth": 1, "when": "mid-reply"}'
	run VC set --count 4
	[ "$status" -eq 3 ]
	[[ "$output" == *"query-hotpluggable-cpus: QEMU closed the connection"* ]]
	[ "$(count_cmds device_add)" -eq 0 ]
	[ "$(online_now)" = "[0]" ]
}

# eof_after_add K: the connection drops right after device_add K's reply.
eof_after_add() {
	scenario "\"close\": {\"command\": \"device_add\", \"nth\": $1, \"when\": \"after-reply\"}"
	T0=$SECONDS
	run VC set --count 4
	fast 10
}

@test "fault: EOF after device_add 1 of 3 -> exit 8, vCPU 1 plugged and reported" {
	eof_after_add 1
	[ "$status" -eq 8 ]
	[[ "$output" == *"vCPU 1    vcpu1      plugged"* ]]
	[[ "$output" == *"vCPU 2    vcpu2      failed: device_add: QEMU closed the connection (whether QEMU carried it out is unknown)"* ]]
	[[ "$output" == *"vCPU 3    vcpu3      not-done"* ]]
	[[ "$output" == *"plugged: vCPUs 1;"* ]]
	[ "$(online_now)" = "[0,1]" ]
}

@test "fault: EOF after device_add 2 of 3 -> exit 8, vCPUs 1-2 plugged and reported" {
	eof_after_add 2
	[ "$status" -eq 8 ]
	[[ "$output" == *"vCPU 2    vcpu2      plugged"* ]]
	[[ "$output" == *"vCPU 3    vcpu3      failed: device_add: QEMU closed the connection (whether QEMU carried it out is unknown)"* ]]
	[[ "$output" == *"plugged: vCPUs 1-2;"* ]]
	[ "$(online_now)" = "[0,1,2]" ]
}

@test "fault: EOF after device_add 3 of 3 -> exit 3, all 3 reported accepted but unchecked" {
	eof_after_add 3
	[ "$status" -eq 3 ]
	[[ "$output" == *"checking the new vCPUs: query-cpus-fast: QEMU closed the connection"* ]]
	for i in 1 2 3; do
		[[ "$output" == *"vCPU $i    vcpu$i      failed: device_add was accepted, but the result could not be checked"* ]]
	done
	[ "$(online_now)" = "[0,1,2,3]" ]
}

@test "fault: EOF during the check query -> exit 3, never 'nothing changed'" {
	scenario '"close": {"command": "query-cpus-fast", "nth": 1, "when": "mid-reply"}'
	run VC set --count 4 --json
	[ "$status" -eq 3 ]
	[ "$(jq -r .result <<<"$output")" = connection ]
	[[ "$(jq -r .error <<<"$output")" == *"query-cpus-fast: QEMU closed the connection"* ]]
	[ "$(jq -r '[.vcpus[].reason] | unique | .[]' <<<"$output")" = \
	  "device_add was accepted, but the result could not be checked" ]
	[ "$(online_now)" = "[0,1,2,3]" ]
}

@test "fault: QEMU refuses the check query -> exit 8, never 'nothing changed'" {
	scenario '"fail": [{"command": "query-cpus-fast", "nth": 1, "desc": "not now"}]'
	run VC set --count 3 --json
	[ "$status" -eq 8 ]
	[ "$(jq -r .result <<<"$output")" = partial ]
	[[ "$(jq -r .error <<<"$output")" == *"checking the new vCPUs: GenericError: not now"* ]]
	[ "$(online_now)" = "[0,1,2]" ]
}

@test "fault: QEMU dies during the unplug wait -> exit 3, pending reported, promptly" {
	scenario '"unplug": "pending", "close": {"command": "query-hotpluggable-cpus", "nth": 3, "when": "before-reply", "exit": true}'
	VC set --count 2 -q
	T0=$SECONDS
	run VC set --count 1 --timeout 30
	[ "$status" -eq 3 ]
	fast 5
	[[ "$output" == *"waiting for removals: query-hotpluggable-cpus: QEMU closed the connection"* ]]
	[[ "$output" == *"removal pending: vCPUs 1"* ]]
}

# ---------------------------------------------------------------- guest

@test "fault: the guest rejects the unplug -> exit 6 promptly, nothing removed" {
	scenario '"unplug": "reject"'
	VC set --count 3 -q
	T0=$SECONDS
	run VC set --count 2 --timeout 30
	[ "$status" -eq 6 ]
	fast 10
	[[ "$output" == *"vCPU 2    vcpu2      rejected: rejected by the guest: ACPI _OST status 128"* ]]
	[ "$(online_now)" = "[0,1,2]" ]
}

@test "fault: the guest never finishes the unplug -> exit 7 at --timeout, pending reported" {
	scenario '"unplug": "pending"'
	VC set --count 3 -q
	T0=$SECONDS
	run VC set --count 2 --timeout 1
	[ "$status" -eq 7 ]
	fast 6
	[[ "$output" == *"removal pending for vCPUs 2"* ]]
	[ "$(online_now)" = "[0,1,2]" ]
}

@test "fault: 10,000 events during the unplug wait -> the removal still completes, exit 0" {
	scenario '"unplug_delay_ms": 300, "event_flood": {"after": "device_del", "count": 10000}'
	VC set --count 3 -q
	T0=$SECONDS
	run VC set --count 2 --timeout 30
	[ "$status" -eq 0 ]
	fast 20
	[[ "$output" == *"vCPU 2    vcpu2      removed"* ]]
	[ "$(online_now)" = "[0,1]" ]
}

@test "fault: a guest agent that never answers -> bounded, plug reported, exit 10" {
	scenario
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' "$BATS_TEST_TMPDIR/qga.sock" 3>&- &
	HOLD_PID=$!
	for _ in $(seq 100); do [ -S "$BATS_TEST_TMPDIR/qga.sock" ] && break; sleep 0.05; done
	T0=$SECONDS
	run VC set --count 2 --guest-agent "$BATS_TEST_TMPDIR/qga.sock" --agent-timeout 1
	[ "$status" -eq 10 ]
	fast 15
	[[ "$output" == *"vCPU 1    vcpu1      plugged"* ]]
	[[ "$output" == *"no answer to guest-sync-delimited within 1 s: the guest agent is not running"* ]]
	[ "$(online_now)" = "[0,1]" ]
}

# ---------------------------------------------------------------- input

# Every bad value is refused before vcpuctl connects: the fake logs nothing.
bad_input() {
	run VC "$@"
	[ "$status" -eq 2 ]
	[ ! -s "$FAKE_LOG" ]
}

@test "input: bad counts are refused before anything is sent" {
	scenario
	bad_input set --count abc
	bad_input set --count ''
	bad_input set --count 0x4
	bad_input set --count ' 4'
	bad_input set --count 4.0
	bad_input set --count +-1
	bad_input set --count 99999999999999999999999
	bad_input set --count 2 --min 0
	bad_input set --count 2 --min 5 --max 3
	bad_input set --count 2 --timeout -1
	bad_input set --count 2 --qmp-timeout soon
}

@test "input: bad cpulists and ids are refused before anything is sent" {
	scenario
	bad_input add 4-x
	bad_input add ''
	bad_input add 7-3
	bad_input add 1,,2
	bad_input add ^1
	bad_input del 65536
	bad_input del 99999999999999999999
	bad_input del vcpu1
	bad_input del -- -1
	bad_input plan --add 1 --del 2
}

@test "least privilege: no shell and no program is ever run (no system/popen/exec in src/)" {
	run grep -nE '\b(system|popen|execl|execlp|execle|execv|execvp|execvpe|execve|fexecve|posix_spawnp?)[[:space:]]*\(' \
		"$BATS_TEST_DIRNAME"/../../src/*.c
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}
