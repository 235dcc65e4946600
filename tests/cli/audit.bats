#!/usr/bin/env bats
# The audit record: one syslog datagram per change, sent to a socket the
# test owns ($VCPUCTL_SYSLOG_SOCKET), checked field by field.

load ../lib/fake

load ../lib/vcpuctl
bats_require_minimum_version 1.5.0

setup() {
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	SYSLOG_SOCK=$BATS_TEST_TMPDIR/log.sock
	SYSLOG_OUT=$BATS_TEST_TMPDIR/syslog.out
	: > "$SYSLOG_OUT"
	python3 "$BATS_TEST_DIRNAME/syslogd.py" "$SYSLOG_SOCK" "$SYSLOG_OUT" \
		</dev/null >/dev/null 2>&1 3>&- &
	SYSLOG_PID=$!
	for _ in $(seq 200); do [ -S "$SYSLOG_SOCK" ] && break; sleep 0.01; done
	export VCPUCTL_SYSLOG_SOCKET=$SYSLOG_SOCK
}

teardown() {
	fake_stop
	[ -z "${SYSLOG_PID:-}" ] || { kill "$SYSLOG_PID"; wait "$SYSLOG_PID" 2>/dev/null || true; }
}

# x86, 8 vCPUs, 1 online; extra JSON members appended
scenario() {
	printf '{"synthetic": {"sockets": 1, "cores": 8, "threads": 1, "online": 1}%s}\n' \
		"${1:+, $1}" > "$BATS_TEST_TMPDIR/scenario.json"
	fake_start "$BATS_TEST_TMPDIR/scenario.json"
	export VCPUCTL_SOCKET=$FAKE_SOCK
}

records() { wc -l < "$SYSLOG_OUT"; }

@test "a set writes one record with the VM, counts, vCPUs, result and user" {
	scenario '"name": "web1", "uuid": "11111111-2222-3333-4444-555555555555"'
	run VC set --count 4
	[ "$status" -eq 0 ]
	[ "$(records)" -eq 1 ]
	rec=$(cat "$SYSLOG_OUT")
	# <PRI>: authpriv (10) * 8 + notice (5)
	[[ "$rec" == "<85>"* ]]
	[[ "$rec" =~ \ vcpuctl\[[0-9]+\]:\ op=set\  ]]
	[[ "$rec" == *' vm="web1" uuid=11111111-2222-3333-4444-555555555555 '* ]]
	[[ "$rec" == *" old-vcpus=1 new-vcpus=4 vcpus=1-3 pending=- result=success "* ]]
	[[ "$rec" == *" user=\"$(id -un)\"($(id -u))"* ]]
	# the identity queries come after the change
	[ "$(fake_log_commands | tail -n 2 | tr '\n' ' ')" = "query-name query-uuid " ]
}

@test "an unplug records the removed vCPUs; del names its op" {
	scenario
	run VC set --count 3
	[ "$status" -eq 0 ]
	run VC del 2
	[ "$status" -eq 0 ]
	[ "$(records)" -eq 2 ]
	rec=$(tail -n 1 "$SYSLOG_OUT")
	[[ "$rec" == *" op=del vm=\"fakevm\" "* ]]
	[[ "$rec" == *" old-vcpus=3 new-vcpus=2 vcpus=2 pending=- result=success "* ]]
}

@test "--no-wait records the removal as pending" {
	scenario '"unplug": "pending"'
	run VC set --count 2
	run VC set --count 1 --no-wait
	[ "$status" -eq 0 ]
	rec=$(tail -n 1 "$SYSLOG_OUT")
	[[ "$rec" == *" old-vcpus=2 new-vcpus=2 vcpus=1 pending=1 result=success "* ]]
}

@test "a failed change is recorded as a failure at warning level" {
	scenario '"fail": [{"command": "device_add", "class": "GenericError", "desc": "no room"}]'
	run VC set --count 2
	[ "$status" -eq 4 ]
	[ "$(records)" -eq 1 ]
	rec=$(cat "$SYSLOG_OUT")
	[[ "$rec" == "<84>"* ]]
	[[ "$rec" == *" result=failure reason=\"qemu-refused: "*"no room"* ]]
}

@test "no record for --no-syslog, plan, --dry-run and nothing to do" {
	scenario
	run VC set --count 2 --no-syslog
	[ "$status" -eq 0 ]
	run VC plan --count 3
	run VC set --count 3 --dry-run
	run VC set --count 2
	[ "$status" -eq 0 ]
	[ "$(records)" -eq 0 ]
	[ "$(fake_log_commands | grep -c query-name)" -eq 0 ]
}

@test "a VM name that could forge a field is hex-encoded" {
	scenario '"name": "x\" user=\"root"'
	run VC set --count 2
	[ "$status" -eq 0 ]
	rec=$(cat "$SYSLOG_OUT")
	hex=$(printf '%s' 'x" user="root' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
	[[ "$rec" == *" vm=$hex uuid="* ]]
	[ "$(grep -o 'user=' <<<"$rec" | wc -l)" -eq 1 ]
}

@test "a missing syslog socket warns but does not fail the change" {
	scenario
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/nowhere.sock
	run VC set --count 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: audit record not written: syslog socket $BATS_TEST_TMPDIR/nowhere.sock"* ]]
	run VC count --json
	[ "$status" -eq 0 ]
	[ "$(jq .online <<<"$output")" -eq 2 ]
}

# vcpuctl without CAP_AUDIT_WRITE: the kernel would refuse its Linux record
# whatever the host (a root run only drops it from the bounding set, so it
# keeps its access to the test's files).
VC_NO_AUDIT_WRITE() {
	if [ "$(id -u)" -eq 0 ]; then
		# shellcheck disable=SC2086
		setpriv --bounding-set -audit_write -- ${VCPUCTL_WRAP:-} "$VCPUCTL" "$@"
	else
		VC "$@"
	fi
}

@test "where the kernel refuses the Linux record: one warning, the syslog record, exit 0" {
	scenario
	run --separate-stderr VC_NO_AUDIT_WRITE set --count 3
	[ "$status" -eq 0 ]
	[ "$stderr" = "vcpuctl: warning: audit record not written: Linux audit: not permitted (needs root or CAP_AUDIT_WRITE)" ]
	[ "$(records)" -eq 1 ]
	[[ "$(cat "$SYSLOG_OUT")" == *" old-vcpus=1 new-vcpus=3 "* ]]
	# nothing asked of QEMU for a record that is not written
	[ "$(fake_log_commands | grep -c query-kvm)" -eq 0 ]
	run VC count --json
	[ "$(jq .online <<<"$output")" -eq 3 ]
}

@test "--audit=linux and both refuse the change, before QEMU is touched, where the kernel would refuse" {
	scenario
	for where in linux both; do
		run --separate-stderr VC_NO_AUDIT_WRITE set --count 3 --audit="$where"
		[ "$status" -eq 2 ]
		[ "$stderr" = "vcpuctl: --audit: Linux audit: not permitted (needs root or CAP_AUDIT_WRITE); nothing was changed" ]
	done
	[ "$(records)" -eq 0 ]
	[ -z "$(fake_log_commands)" ]
	# nothing to record, nothing refused
	run VC_NO_AUDIT_WRITE set --count 3 --audit=linux --dry-run
	[ "$status" -eq 0 ]
}

@test "--audit=syslog writes only the syslog record and never tries Linux audit" {
	scenario
	run --separate-stderr VC_NO_AUDIT_WRITE set --count 2 --audit=syslog
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(records)" -eq 1 ]
	[ "$(fake_log_commands | grep -c query-kvm)" -eq 0 ]
}

@test "--audit=none and --no-syslog with --audit=syslog, in either order, write nothing" {
	scenario
	run --separate-stderr VC_NO_AUDIT_WRITE set --count 2 --audit=none
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run --separate-stderr VC set --count 3 --no-syslog --audit=syslog
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run --separate-stderr VC set --count 4 --audit=syslog --no-syslog
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(records)" -eq 0 ]
	[ "$(fake_log_commands | grep -c query-name)" -eq 0 ]
}

@test "--audit takes only its five words" {
	scenario
	run VC set --count 2 --audit=Linux
	[ "$status" -eq 2 ]
	[[ "$output" == *"--audit: 'Linux' is not auto, linux, syslog, both or none"* ]]
	[ -z "$(fake_log_commands)" ]
}
