#!/usr/bin/env bats
# Every command takes --json, and what it prints then is JSON that jq
# reads: one document, or (events) one object per line; errors included.

bats_require_minimum_version 1.5.0
load ../lib/fake

load ../lib/vcpuctl

setup() {
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}, "unplug_delay_ms": 4000}\n' \
		> "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

teardown() { fake_stop; }

# json_doc CMD...: run it with --json; stdout must be exactly one JSON
# object on one line
json_doc() {
	run --separate-stderr VC "$@" --json
	echo "status $status: $output" >&2
	[ "${#lines[@]}" -eq 1 ]
	jq -e 'type == "object"' <<<"$output" >/dev/null
}

commands() { "$VCPUCTL" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }'; }

@test "every command lists --json in its --help" {
	for c in $(commands); do
		"$VCPUCTL" "$c" --help | grep -q -- '--json' || { echo "$c: no --json"; false; }
	done
}

@test "show, count, plan, set, add, del and wait print one JSON document" {
	json_doc show
	[ "$status" -eq 0 ]
	json_doc count
	[ "$status" -eq 0 ]
	json_doc plan --count 3
	[ "$status" -eq 0 ]
	json_doc set --count 3 --dry-run
	[ "$status" -eq 0 ]
	json_doc set --count 3
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 3 ]
	json_doc add 4
	[ "$status" -eq 0 ]
	json_doc del 4
	[ "$status" -eq 0 ]
	json_doc set --count 2 --no-wait
	[ "$status" -eq 0 ]
	[ "$(jq -r .pending <<<"$output")" = 2 ]
	json_doc wait 2 --timeout 10
	[ "$status" -eq 0 ]
	json_doc wait
	[ "$status" -eq 0 ]
}

@test "a clamp is reported in the JSON document" {
	json_doc set --count +20 --max 6
	[ "$status" -eq 0 ]
	[ "$(jq .to <<<"$output")" -eq 6 ]
	[ "$(jq .requested <<<"$output")" -eq 21 ]
	[ "$(jq -r '.note | type' <<<"$output")" = string ]
	json_doc set --count -20 --min 2
	[ "$status" -eq 0 ]
	[ "$(jq .to <<<"$output")" -eq 2 ]
	[ "$(jq -r '.note | type' <<<"$output")" = string ]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 2 ]
}

@test "--quiet prints nothing on success" {
	for args in "show" "count" "plan --count 3" "set --count 3" "add 4" "del 4" "wait"; do
		# shellcheck disable=SC2086
		run --separate-stderr VC $args --quiet
		[ "$status" -eq 0 ]
		[ -z "$output" ] || { echo "$args printed: $output"; false; }
	done
}

@test "events --json: one object per line, each readable by jq" {
	VC set --count 3 >/dev/null
	VC set --count 1 --no-wait >/dev/null
	run --separate-stderr VC events --json --timeout 8
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 3 ]
	printf '%s\n' "${lines[@]}" | jq -e -s 'length >= 3 and all(type == "object")' >/dev/null
}

@test "errors are JSON documents too, for every command" {
	local checked=0
	for c in $(commands); do
		case $c in
		add|del) extra=(1) ;;
		set|plan) extra=(--count 2) ;;
		*) extra=() ;;
		esac
		run --separate-stderr VC "$c" "${extra[@]}" --json --timeout 1 \
			--socket "$BATS_TEST_TMPDIR/none.sock"
		if [ "$status" -eq 2 ]; then
			# argp refused --timeout or the arguments: try without them
			run --separate-stderr VC "$c" "${extra[@]}" --json \
				--socket "$BATS_TEST_TMPDIR/none.sock"
		fi
		[ "$status" -ne 2 ] || { echo "$c: usage error: $stderr"; continue; }
		checked=$((checked + 1))
		[ "$status" -ne 0 ] || { echo "$c: exit 0 without a socket"; false; }
		jq -e '.error.exit_code == '"$status"' and (.error.message | length > 0)' \
			<<<"$output" >/dev/null || { echo "$c: $output"; false; }
	done
	[ "$checked" -ge 8 ]
}
