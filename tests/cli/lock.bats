#!/usr/bin/env bats
# The per-VM lock: a changing command waits for another vcpuctl on the same
# socket and gives up with exit 11; read-only commands never wait for it.

bats_require_minimum_version 1.5.0
load ../lib/fake

load ../lib/vcpuctl

setup() {
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}}\n' \
		> "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

teardown() {
	[ -z "${HOLDER:-}" ] || { kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null || true; }
	fake_stop
}

# hold_lock FILE: flock FILE from another process until it is killed
# ($HOLDER; exec, so that killing it drops the lock) or teardown
hold_lock() {
	mkdir -p "$VCPUCTL_LOCK_DIR"
	bash -c 'exec 9>"$1"; flock 9; exec sleep 30' _ "$1" </dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	for _ in $(seq 200); do
		flock -n "$1" true || return 0
		sleep 0.01
	done
	return 1
}

lockfile() { echo "$VCPUCTL_LOCK_DIR/$(stat -L -c '%d-%i' "$FAKE_SOCK").lock"; }

@test "a held lock makes set give up with exit 11 and send nothing" {
	hold_lock "$(lockfile)"
	SECONDS=0
	run VC set --count 3 --lock-timeout 0.5 --no-syslog
	[ "$status" -eq 11 ]
	[ "$SECONDS" -lt 3 ]
	[[ "$output" == *"another vcpuctl is changing this VM (lock $(lockfile)): gave up after 0.500 s"* ]]
	[ ! -s "$FAKE_LOG" ]
}

@test "--json reports busy as an error document" {
	hold_lock "$(lockfile)"
	run --separate-stderr VC add 3 --lock-timeout 0.2 --json
	[ "$status" -eq 11 ]
	[ "$(jq -r .error.name <<<"$output")" = busy ]
	[ "$(jq -r .error.exit_code <<<"$output")" -eq 11 ]
}

@test "the lock is keyed by the socket, not the spelling of its path" {
	ln -s "$FAKE_SOCK" "$BATS_TEST_TMPDIR/alias.sock"
	hold_lock "$(lockfile)"
	run VC del 1 --socket "unix:$BATS_TEST_TMPDIR/alias.sock" --lock-timeout 0.2
	[ "$status" -eq 11 ]
}

@test "read-only commands do not wait for the lock" {
	hold_lock "$(lockfile)"
	run VC count
	[ "$status" -eq 0 ]
	run VC plan --count 3
	[ "$status" -eq 0 ]
	run VC show
	[ "$status" -eq 0 ]
}

@test "set waits for the holder and then runs" {
	hold_lock "$(lockfile)"
	( sleep 0.5; kill "$HOLDER" ) &
	SECONDS=0
	run VC set --count 3 --lock-timeout 10
	[ "$status" -eq 0 ]
	[[ "$output" == *"set: online 3 of"* ]]
}

@test "a socket that does not exist is a connection error, not busy" {
	run VC set --count 2 --socket "$BATS_TEST_TMPDIR/none.sock" --lock-timeout 0.1
	[ "$status" -eq 3 ]
}

@test "bad --lock-timeout is a usage error" {
	run VC set --count 2 --lock-timeout soon
	[ "$status" -eq 2 ]
	[[ "$output" == *"--lock-timeout: 'soon' is not a number of seconds"* ]]
}
