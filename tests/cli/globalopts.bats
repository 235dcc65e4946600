#!/usr/bin/env bats
# Options common to every command go before or after the command, with the
# same meaning and the same errors (fake QMP server).

load ../lib/fake

load ../lib/vcpuctl

setup() {
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}}\n' \
		> "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	unset VCPUCTL_SOCKET
}

teardown() { fake_stop; }

online() { VC count --json -s "$FAKE_SOCK" | jq .online; }

@test "-s SOCK before the command: README's headline form" {
	run VC -s "$FAKE_SOCK" set --count 8 --no-syslog
	[ "$status" -eq 0 ]
	[[ "$output" == *"set: online 8 of 8 vCPUs"* ]]
	[ "$(online)" -eq 8 ]
}

@test "every spelling of a leading option means the same" {
	local form
	for form in "-s $FAKE_SOCK" "-s$FAKE_SOCK" "--socket $FAKE_SOCK" \
		    "--socket=$FAKE_SOCK" "--sock=$FAKE_SOCK" "-qs $FAKE_SOCK"; do
		# shellcheck disable=SC2086
		run VC $form count --json
		[ "$status" -eq 0 ] || { echo "form '$form': $output"; false; }
		[ "$(jq .online <<<"$output")" -eq 1 ]
	done
}

@test "--json -s SOCK count equals count --json -s SOCK" {
	run VC --json -s "$FAKE_SOCK" count
	[ "$status" -eq 0 ]
	local before=$output
	run VC count -s "$FAKE_SOCK" --json
	[ "$status" -eq 0 ]
	[ "$output" = "$before" ]
	jq -e .online <<<"$before"
}

@test "options on both sides of the command combine" {
	run VC -q --no-syslog -s "$FAKE_SOCK" set --count 3 --qmp-timeout 20
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(online)" -eq 3 ]
	run VC --stats -s "$FAKE_SOCK" --lock-timeout 5 set --count 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"vcpuctl: stats: qmp_round_trips="* ]]
	[ "$(online)" -eq 2 ]
}

@test "a leading option's bad value gives the error it gives after the command" {
	run VC --qmp-timeout abc -s "$FAKE_SOCK" count
	[ "$status" -eq 2 ]
	local before=$output
	run VC count --qmp-timeout abc -s "$FAKE_SOCK"
	[ "$status" -eq 2 ]
	[ "$output" = "$before" ]
	[[ "$output" == *"--qmp-timeout: 'abc' is not a number of seconds"* ]]
}

@test "--no-syslog before a read-only command is refused as it is after it" {
	run VC --no-syslog -s "$FAKE_SOCK" count
	[ "$status" -eq 2 ]
	local before=$output
	run VC count --no-syslog -s "$FAKE_SOCK"
	[ "$status" -eq 2 ]
	[ "$output" = "$before" ]
}

@test "an unknown leading option, a missing argument, no command: usage errors" {
	run VC --bogus count
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '--bogus' before the command"* ]]
	run VC --count 3 set
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '--count' before the command"* ]]
	run VC -s
	[ "$status" -eq 2 ]
	[[ "$output" == *"option '-s' needs an argument"* ]]
	run VC -s "$FAKE_SOCK" --json
	[ "$status" -eq 2 ]
	[[ "$output" == *"no command after the options"* ]]
	run VC -s "$FAKE_SOCK" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command 'frobnicate'"* ]]
	# Nothing reached QEMU.
	[ -z "$(fake_log_commands | grep -v -x -e qmp_capabilities -e query-cpus-fast -e query-hotpluggable-cpus || true)" ]
}

@test "-- ends the leading options and is not a command" {
	run VC -s "$FAKE_SOCK" -- count
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command '--'"* ]]
}

@test "--help lists both forms" {
	run VC --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: vcpuctl [COMMON-OPTION...] COMMAND [OPTION...]"* ]]
	[[ "$output" == *"'vcpuctl -s SOCK set --count 8' is"* ]]
	run VC -s "$FAKE_SOCK" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: vcpuctl"* ]]
}
