# tests/lib/fake.bash - bats helpers to run the fake QMP server.
#
#   load ../lib/fake
#   fake_start scenario.json     # or a name from tests/fixtures/scenarios/
#   VC show --socket "$FAKE_SOCK" ...   # VC: tests/lib/vcpuctl.bash
#   fake_log_commands            # execute names the fake received
#   fake_stop                    # also safe to call from teardown
#
# Exports FAKE_SOCK (socket path), FAKE_LOG (one compact JSON per command
# received), FAKE_PID, FAKE_STDERR (the server's stderr).
# Also sets FAKE_DIR (repo tests/), FAKE_SCENARIOS, FAKE_FIXTURES and
# QMPCLIENT (tests/lib/qmpclient.py).

FAKE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FAKE_SCENARIOS=$FAKE_DIR/fixtures/scenarios
FAKE_FIXTURES=$FAKE_DIR/fixtures
QMPCLIENT=$FAKE_DIR/lib/qmpclient.py
export FAKE_DIR FAKE_SCENARIOS FAKE_FIXTURES QMPCLIENT

# fake_start SCENARIO: start the server in the background and wait (at
# most 5 s) until its socket accepts connections.  SCENARIO is a path, or
# the name of a file in tests/fixtures/scenarios/ with or without ".json".
fake_start()
{
	local scen=$1 dir i
	if [ ! -f "$scen" ]; then
		if [ -f "$FAKE_SCENARIOS/$scen" ]; then
			scen=$FAKE_SCENARIOS/$scen
		elif [ -f "$FAKE_SCENARIOS/$scen.json" ]; then
			scen=$FAKE_SCENARIOS/$scen.json
		else
			echo "fake_start: no scenario '$1'" >&2
			return 1
		fi
	fi
	dir=${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}
	# sun_path holds 108 bytes; fall back to a short directory.
	if [ ${#dir} -gt 80 ]; then
		dir=$(mktemp -d /tmp/fakeqmp.XXXXXX) || return 1
	fi
	FAKE_SOCK=$dir/qmp.sock
	FAKE_LOG=$dir/fakeqmp.log
	FAKE_STDERR=$dir/fakeqmp.stderr
	: >"$FAKE_LOG"
	# Close bats' fd 3 in the child, or bats waits for it at the end.
	python3 "$FAKE_DIR/fake/fakeqmp.py" --socket "$FAKE_SOCK" \
		--scenario "$scen" --log "$FAKE_LOG" \
		--pidfile "$dir/fakeqmp.pid" </dev/null >/dev/null \
		2>"$FAKE_STDERR" 3>&- &
	FAKE_PID=$!
	export FAKE_SOCK FAKE_LOG FAKE_PID FAKE_STDERR
	for ((i = 0; i < 500; i++)); do
		[ -S "$FAKE_SOCK" ] && return 0
		if ! kill -0 "$FAKE_PID" 2>/dev/null; then
			echo "fake_start: server exited:" >&2
			cat "$FAKE_STDERR" >&2
			unset FAKE_PID
			return 1
		fi
		sleep 0.01
	done
	echo "fake_start: no socket after 5 s" >&2
	fake_stop
	return 1
}

# fake_start_json JSON: like fake_start, for a scenario given inline.
# Relative file names in it resolve against tests/fixtures/.
fake_start_json()
{
	local f=${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/scenario.$$.$RANDOM.json
	printf '%s\n' "$1" >"$f" || return 1
	fake_start "$f"
}

# fake_stop: SIGTERM the server and reap it (SIGKILL after 2 s).  Safe to
# call twice and from teardown.
fake_stop()
{
	local i state
	[ -n "${FAKE_PID:-}" ] || return 0
	kill -TERM "$FAKE_PID" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		# a zombie still answers kill -0: look at its state instead
		state=$(awk '{ print $3 }' "/proc/$FAKE_PID/stat" 2>/dev/null) || true
		[ -n "$state" ] && [ "$state" != Z ] || break
		sleep 0.01
	done
	kill -KILL "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
	unset FAKE_PID
	return 0
}

# fake_log_commands: the "execute" names received so far, one per line.
fake_log_commands()
{
	jq -r 'select(type == "object") | .execute | select(type == "string")' \
		"$FAKE_LOG"
}
