#!/usr/bin/env bats
# "vcpuctl guest" against the fake guest agent (tests/fake/fakeagent.py):
# an agent that never answers, a guest-set-vcpus that changes fewer CPUs
# than asked, garbage and stale replies before the sync answer, refusals
# made before anything is sent.

load ../lib/vcpuctl

FAKEAGENT=$BATS_TEST_DIRNAME/../fake/fakeagent.py

# agent_start [fakeagent options...]: start the fake, wait for its socket
agent_start() {
	local dir=$BATS_TEST_TMPDIR i
	[ ${#dir} -le 80 ] || dir=$(mktemp -d /tmp/fakeagent.XXXXXX)
	AGENT_SOCK=$dir/qga.sock
	AGENT_LOG=$dir/agent.log
	: > "$AGENT_LOG"
	python3 "$FAKEAGENT" --socket "$AGENT_SOCK" --log "$AGENT_LOG" "$@" \
		</dev/null >/dev/null 2>"$dir/agent.err" 3>&- &
	AGENT_PID=$!
	for ((i = 0; i < 500; i++)); do
		[ -S "$AGENT_SOCK" ] && break
		sleep 0.01
	done
	[ -S "$AGENT_SOCK" ]
	export VCPUCTL_AGENT_SOCKET=$AGENT_SOCK
	unset VCPUCTL_SOCKET
}

agent_cmds() { jq -r .execute "$AGENT_LOG"; }

teardown() {
	if [ -n "${AGENT_PID:-}" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
	fi
}

@test "guest lists the guest's CPUs after a guest-sync-delimited" {
	agent_start
	run VC guest
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "CPU  ONLINE  CAN-OFFLINE" ]
	[ "${lines[1]}" = "  0  yes     no" ]
	[ "${lines[2]}" = "  1  no      yes" ]
	[ "${lines[5]}" = "guest: 1 of 4 CPUs online" ]
	[ "$(agent_cmds | head -n1)" = guest-sync-delimited ]
	[ "$(agent_cmds | sed -n 2p)" = guest-get-vcpus ]
	# the sync id is random, not a constant
	run VC guest --json
	[ "$(jq -s '[.[] | select(.execute == "guest-sync-delimited") | .arguments.id] | unique | length' "$AGENT_LOG")" -eq 2 ]
}

@test "guest --json: the guest's view, no vCPU match without QMP" {
	agent_start
	run VC guest --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.online, .cpus, .mapping]' <<<"$output")" = '[1,4,null]' ]
	[ "$(jq -c '.guest_cpus[1]' <<<"$output")" = '{"cpu":1,"online":false,"can_offline":true,"vcpu":null}' ]
}

@test "guest --online changes the guest and reports each CPU" {
	agent_start
	run VC guest --online 1-2 --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.changes[] | [.cpu, .result]]' <<<"$output")" = '[[1,"done"],[2,"done"]]' ]
	[ "$(jq .online <<<"$output")" -eq 3 ]
	grep -q '"execute":"guest-set-vcpus","arguments":{"vcpus":\[{"logical-id":1,"online":true},{"logical-id":2,"online":true}\]' "$AGENT_LOG"
	# already online: nothing is sent
	run VC guest --online 1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "guest CPU 1: already online" ]
	[ "$(agent_cmds | grep -c guest-set-vcpus)" -eq 1 ]
	run VC guest --offline 2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "guest CPU 2: offline" ]
}

@test "the boot CPU and can-offline false CPUs are refused before sending, named" {
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false},{"id":1,"online":true,"can_offline":false},{"id":2,"online":true,"can_offline":true}]'
	run VC guest --offline 0-2
	[ "$status" -eq 5 ]
	[[ "$output" == *"guest CPUs 0-1 cannot be taken offline: guest CPU 0 is the boot CPU, and the guest reports can-offline false for the others; nothing was sent"* ]]
	run VC guest --offline 1
	[ "$status" -eq 5 ]
	[[ "$output" == *"guest CPU 1 cannot be taken offline: the guest reports can-offline false"* ]]
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
}

@test "a CPU the guest does not list: exit 5; a CPU in both lists is a usage error" {
	agent_start
	run VC guest --online 9
	[ "$status" -eq 5 ]
	[[ "$output" == *"guest CPU 9: the guest does not list it"* ]]
	run VC guest --online 1 --offline 1
	[ "$status" -eq 2 ]
	[[ "$output" == *"guest CPU 1 is in both --online and --offline"* ]]
	run VC guest --online x
	[ "$status" -eq 2 ]
}

@test "partial guest-set-vcpus is reported CPU by CPU, exit 12" {
	agent_start --mode partial:1
	run VC guest --online 1-3
	[ "$status" -eq 12 ]
	[[ "$output" == *"guest CPU 1: online"* ]]
	[[ "$output" == *"guest CPU 2: failed to go online"* ]]
	[[ "$output" == *"guest CPU 3: not tried (online)"* ]]
	[[ "$output" == *"the guest changed 1 of 3 CPUs; guest CPU 2 could not be brought online, and the CPUs after it were not tried"* ]]
	# the table shows the guest's state afterwards
	[[ "$output" == *"guest: 2 of 4 CPUs online"* ]]
	run VC guest --online 2-3 --json
	[ "$status" -eq 12 ]
	[ "$(jq -c '[.changes[].result]' <<<"$output")" = '["done","failed"]' ]
	[ "$(jq -r .error <<<"$output")" != null ]
}

@test "partial:0: the agent's error reply names the first CPU" {
	agent_start --mode partial:0
	run VC guest --online 2
	[ "$status" -eq 12 ]
	[[ "$output" == *"guest CPU 2: guest-set-vcpus: GenericError: CPU 2: cannot change state"* ]]
}

@test "an agent that never answers: exit 12 within --agent-timeout, saying so" {
	agent_start --mode silent
	SECONDS=0
	run VC guest --agent-timeout 0.5
	[ "$status" -eq 12 ]
	[ "$SECONDS" -lt 3 ]
	[[ "$output" == *"no answer to guest-sync-delimited within 0.5 s: the guest agent is not running in the guest"* ]]
}

@test "an agent that stops answering after the sync: the call times out" {
	agent_start --mode silent-after-sync
	run VC guest --agent-timeout 0.3 --json
	[ "$status" -eq 12 ]
	[[ "$output" == *"guest-get-vcpus: no reply within 0.3 s"* ]]
	[ "$(jq -r .error.name <<<"${lines[1]}")" != null ]
}

@test "garbage, a stale reply and a stale sync answer before the sync are thrown away" {
	agent_start --mode garbage
	run VC guest --json
	[ "$status" -eq 0 ]
	[ "$(jq .cpus <<<"$output")" -eq 4 ]
}

@test "no agent socket: usage error; a missing socket: exit 12 naming it" {
	unset VCPUCTL_AGENT_SOCKET VCPUCTL_SOCKET
	run VC guest
	[ "$status" -eq 2 ]
	[[ "$output" == *"give --guest-agent PATH or set VCPUCTL_AGENT_SOCKET"* ]]
	run VC guest --guest-agent "$BATS_TEST_TMPDIR/none.sock"
	[ "$status" -eq 12 ]
	[[ "$output" == *"none.sock: no such socket"* ]]
	: > "$BATS_TEST_TMPDIR/plain"
	run VC guest --guest-agent "$BATS_TEST_TMPDIR/plain"
	[ "$status" -eq 12 ]
	[[ "$output" == *"plain: not a socket"* ]]
}

@test "with a QMP socket the VCPU column follows the ACPI ids, not the numbers" {
	load ../lib/fake
	# guest CPU 1 is vCPU 5 and guest CPU 2 is vCPU 3: plugged 5 before 3
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false,"acpi":0},{"id":1,"online":false,"can_offline":true,"acpi":5},{"id":2,"online":true,"can_offline":true,"acpi":3}]'
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}}\n' > "$BATS_TEST_TMPDIR/s.json"
	fake_start "$BATS_TEST_TMPDIR/s.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
	VC add 3,5 >/dev/null
	run VC guest --json
	fake_stop
	[ "$status" -eq 0 ]
	[ "$(jq -r .mapping <<<"$output")" = acpi ]
	[ "$(jq -c '[.guest_cpus[] | [.cpu, .vcpu]]' <<<"$output")" = '[[0,0],[1,5],[2,3]]' ]
}

@test "guest files disabled: numbers are matched only when they agree with QMP" {
	load ../lib/fake
	agent_start --no-files --cpus '[{"id":0,"online":true,"can_offline":false},{"id":1,"online":false,"can_offline":true},{"id":2,"online":true,"can_offline":true}]'
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}}\n' > "$BATS_TEST_TMPDIR/s.json"
	fake_start "$BATS_TEST_TMPDIR/s.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
	VC add 1-2 >/dev/null
	run VC guest --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .mapping <<<"$output")" = identity ]
	[ "$(jq -c '[.guest_cpus[] | .vcpu]' <<<"$output")" = '[0,1,2]' ]
	VC add 5 >/dev/null
	run VC guest --json
	fake_stop
	[ "$status" -eq 0 ]
	[ "$(jq -r .mapping <<<"$output")" = null ]
	[ "$(jq -c '[.guest_cpus[] | .vcpu]' <<<"$output")" = '[null,null,null]' ]
}

# set --guest-agent: the plug, then the agent.
set_scenario() {
	load ../lib/fake
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}}\n' > "$BATS_TEST_TMPDIR/s.json"
	fake_start "$BATS_TEST_TMPDIR/s.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

@test "set --guest-agent onlines the plugged vCPU in the guest" {
	agent_start
	set_scenario
	run VC set --count 2 --guest-agent "$AGENT_SOCK" --json
	fake_stop
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.guest.ok, .guest.mapping, [.guest.vcpus[] | [.index, .guest_cpu, .state]]]' <<<"$output")" = '[true,"acpi",[[1,1,"online"]]]' ]
	grep -q '"execute":"guest-set-vcpus","arguments":{"vcpus":\[{"logical-id":1,"online":true}\]' "$AGENT_LOG"
}

@test "set --guest-agent: a vCPU the guest never lists stays plugged, exit 10" {
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false,"acpi":0}]'
	set_scenario
	SECONDS=0
	run VC set --count 2 --guest-agent "$AGENT_SOCK" --timeout 0.5
	fake_stop
	[ "$status" -eq 10 ]
	[ "$SECONDS" -lt 5 ]
	[[ "$output" == *"vCPU 1    vcpu1      plugged"* ]]
	[[ "$output" == *"plugged, but not online in the guest: the guest has not seen vCPU 1 within 0.5 s"* ]]
}

@test "set --guest-agent with an agent that never answers: plugged, exit 10" {
	agent_start --mode silent
	set_scenario
	run VC set --count 2 --guest-agent "$AGENT_SOCK" --agent-timeout 0.3 --json
	fake_stop
	[ "$status" -eq 10 ]
	[ "$(jq -r '.vcpus[0].state' <<<"${lines[0]}")" = plugged ]
	[ "$(jq -r '.guest.vcpus[0].state' <<<"${lines[0]}")" = not-tried ]
	[[ "$(jq -r '.guest.error' <<<"${lines[0]}")" == *"not running in the guest"* ]]
}

@test "--trace records the guest agent's messages too, as ga> / ga<" {
	agent_start
	run VC guest --trace "$BATS_TEST_TMPDIR/trace"
	[ "$status" -eq 0 ]
	grep -q '^ga> {"execute":"guest-sync-delimited"' "$BATS_TEST_TMPDIR/trace"
	grep -q '^ga< {"return":' "$BATS_TEST_TMPDIR/trace"
	grep -q '^ga> {"execute":"guest-get-vcpus"}' "$BATS_TEST_TMPDIR/trace"
	grep -q '^ga< {"return":\[' "$BATS_TEST_TMPDIR/trace"
}

@test "guest exit codes: 2 before contacting anything, 5 when the guest's state forbids it, 12 when the agent fails" {
	# 2: bad input, found before any socket is opened
	agent_start
	run VC guest --online 1 --offline 1
	[ "$status" -eq 2 ]
	run VC guest --offline 'x'
	[ "$status" -eq 2 ]
	[ ! -s "$AGENT_LOG" ]
	# 5: a CPU the guest does not list, the boot CPU: nothing is sent
	run VC guest --online 9
	[ "$status" -eq 5 ]
	[[ "$output" == *"guest CPU 9: the guest does not list it (guest-get-vcpus); nothing was sent"* ]]
	run VC guest --offline 0
	[ "$status" -eq 5 ]
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
	# 12: the agent refuses the change
	teardown; unset AGENT_PID
	agent_start --mode partial:0
	run VC guest --online 1
	[ "$status" -eq 12 ]
}

@test "del --guest-offline-first on a vCPU already offline in the guest says it was" {
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false,"acpi":0},{"id":1,"online":false,"can_offline":true,"acpi":6},{"id":2,"online":true,"can_offline":true,"acpi":5}]'
	set_scenario
	VC add 5,6 >/dev/null
	run VC del 6 --guest-agent "$AGENT_SOCK" --guest-offline-first
	[ "$status" -eq 0 ]
	[[ "$output" == *"guest: vCPU 6 already-offline"* ]]
	[[ "$output" != *"guest: vCPU 6 offline"* ]]
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
	run VC del 5 --guest-agent "$AGENT_SOCK" --guest-offline-first --json
	fake_stop
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.guest.vcpus[] | [.index, .guest_cpu, .state]]' <<<"$output")" = '[[5,2,"offline"]]' ]
}

# Hostile guests: each is a clear exit 12 or a refusal to trust the
# mapping, and the agent log shows no guest-set-vcpus sent on its word.
hostile_del() {
	set_scenario
	VC add 5,6 >/dev/null
	run timeout 60 "$VCPUCTL" del 6 --guest-agent "$AGENT_SOCK" --guest-offline-first --json --agent-timeout 2
	fake_stop
	output=$(grep '^{' <<<"$output")
}

@test "hostile guest: an ACPI slot the VM does not have is not believed" {
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false,"acpi":0},{"id":1,"online":true,"can_offline":true,"acpi":40},{"id":2,"online":true,"can_offline":true,"acpi":6}]'
	hostile_del
	[ "$(jq -r .guest.mapping <<<"$output")" = null ]
	[[ "$(jq -r .guest.error <<<"$output")" == *"not offlining first"*"guest CPU 1 is slot 40, which this VM does not have"* ]]
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
}

@test "hostile guest: two guest CPUs on one vCPU, or one on the boot vCPU" {
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false,"acpi":0},{"id":1,"online":true,"can_offline":true,"acpi":6},{"id":2,"online":true,"can_offline":true,"acpi":6}]'
	hostile_del
	[[ "$(jq -r .guest.error <<<"$output")" == *"put guest CPUs 1 and 2 on vCPU 6"* ]]
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
	teardown; unset AGENT_PID
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false,"acpi":6},{"id":1,"online":true,"can_offline":true,"acpi":0}]'
	hostile_del
	[[ "$(jq -r .guest.error <<<"$output")" == *"guest CPU 1 on the boot vCPU 0"* ]]
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
	# guest, too, shows no vCPU for any of them
	set_scenario
	run VC guest --json
	fake_stop
	[ "$(jq -c '[.mapping, [.guest_cpus[].vcpu]]' <<<"$output")" = '[null,[null,null]]' ]
}

@test "hostile guest: every CPU offline, or none listed" {
	agent_start --cpus '[{"id":0,"online":false,"can_offline":false,"acpi":0},{"id":1,"online":false,"can_offline":true,"acpi":6}]'
	hostile_del
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
	teardown; unset AGENT_PID
	agent_start --cpus '[]'
	run VC guest --offline 1
	[ "$status" -eq 5 ]
	[[ "$output" == *"the guest does not list it"* ]]
	hostile_del
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
	# a CPU the guest never listed is not reported offline
	[ "$(jq -c '[.guest.ok, [.guest.vcpus[].state]]' <<<"$output")" = '[false,["absent"]]' ]
	[[ "$(jq -r .guest.error <<<"$output")" == *"the guest has not seen vCPU 6"* ]]
}

@test "hostile guest: ACPI paths that are not QEMU's CPU names are no match" {
	agent_start --cpus '[{"id":0,"online":true,"can_offline":false,"acpi":"\\_SB_.CP00\n"},{"id":1,"online":true,"can_offline":true,"acpi":"\\_SB_.CP06\n"}]'
	hostile_del
	[ "$(jq -r .guest.mapping <<<"$output")" = null ]
	[[ "$(jq -r .guest.error <<<"$output")" == *"not offlining first"*"the ACPI path of guest CPU 0 is not a QEMU CPU name"* ]]
	[ "$(jq -c '[.guest.vcpus[].state]' <<<"$output")" = '["unmapped"]' ]
	[ "$(agent_cmds | grep -c guest-set-vcpus || true)" -eq 0 ]
}

@test "hostile guest: guest-set-vcpus claiming more changes than asked, exit 12" {
	agent_start --mode overcount
	run VC guest --online 1
	[ "$status" -eq 12 ]
	[[ "$output" == *"the agent claims 6 changes for the 1 asked: not believed"* ]]
}

@test "hostile guest: a flood on the channel ends in a clear exit 12" {
	agent_start --mode flood
	run timeout 60 "$VCPUCTL" guest --agent-timeout 2
	[ "$status" -eq 12 ]
	[[ "$output" == *"guest-get-vcpus: from the guest agent: message exceeds 8 MiB limit"* ]]
}
