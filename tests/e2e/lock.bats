#!/usr/bin/env bats
# Ten concurrent "set" runs with different targets against one real guest.
# The lock must serialize them: each exits 0 or 11 (busy), none fails
# half-way or with a duplicate device id, and the VM ends at the target of
# the run that took the lock last.  Audit records are sent while the lock
# is held, so their order is the order the runs held it in.

load ../lib/vm
load ../lib/vcpuctl

setup_file() {
	# TCG creates one thread per plug over the VM's life, never more than
	# maxcpus: 9 + 8 + ... + 1 plugs at the very worst, so 64.
	vm_start --smp 1,maxcpus=64
	echo "$VM_DIR" > "$BATS_FILE_TMPDIR/vm_dir"
}

teardown_file() { vm_stop; }

setup() {
	export VCPUCTL_SOCKET=$VM_SOCK
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	SYSLOG_SOCK=$BATS_TEST_TMPDIR/log.sock
	SYSLOG_OUT=$BATS_TEST_TMPDIR/syslog.out
	: > "$SYSLOG_OUT"
	python3 "$BATS_TEST_DIRNAME/../cli/syslogd.py" "$SYSLOG_SOCK" "$SYSLOG_OUT" \
		</dev/null >/dev/null 2>&1 3>&- &
	SYSLOG_PID=$!
	for _ in $(seq 200); do [ -S "$SYSLOG_SOCK" ] && break; sleep 0.01; done
	export VCPUCTL_SYSLOG_SOCKET=$SYSLOG_SOCK
}

teardown() {
	[ -z "${SYSLOG_PID:-}" ] || { kill "$SYSLOG_PID"; wait "$SYSLOG_PID" 2>/dev/null || true; }
}

@test "10 concurrent set runs: 0 or busy, nothing half-done, last locker wins" {
	local d=$BATS_TEST_TMPDIR pids=() t
	for t in 4 9 2 7 1 10 3 8 5 6; do
		"$VCPUCTL" set --count "$t" --timeout 60 --lock-timeout 240 \
			> "$d/out.$t" 2>&1 3>&- &
		pids+=("$!:$t")
	done
	local rcs= bad=
	for p in "${pids[@]}"; do
		rc=0
		wait "${p%%:*}" || rc=$?
		rcs="$rcs ${p#*:}:$rc"
		case $rc in 0|11) ;; *) bad="$bad ${p#*:}:$rc" ;; esac
	done
	echo "exit codes:$rcs"
	cat "$d"/out.*
	[ -z "$bad" ]
	! grep -l -E 'Duplicate device ID|partial|not done|pending' "$d"/out.*
	# order of lock holders = order of audit records (no-op runs write none,
	# and leave the count as the previous holder set it)
	cat "$SYSLOG_OUT"
	last=$(tail -n 1 "$SYSLOG_OUT" | sed -n 's/.* new-vcpus=\([0-9]*\) .*/\1/p')
	[ -n "$last" ]
	final=$(vm_qmp query-cpus-fast | jq length)
	[ "$final" -eq "$last" ]
	# and the runs that exited 0 with a change all have their record
	[ "$(grep -c 'result=success' "$SYSLOG_OUT")" -eq "$(grep -L 'nothing to do' "$d"/out.* | xargs grep -l '^set: ' | wc -l)" ]
}
