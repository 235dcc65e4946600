#!/usr/bin/env bats
# The record of pending removals beside the VM's lock: what set/del leave
# pending is known to later wait, show, count and set; a record that is
# damaged, too large, another VM's, an earlier QEMU's or another user's is
# ignored with a warning, and nothing is ever removed because of it.

bats_require_minimum_version 1.5.0
load ../lib/fake

load ../lib/vcpuctl

setup() {
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
}

teardown() {
	fake_stop
	[ -z "${OPEN_DIR:-}" ] || rm -rf "$OPEN_DIR"
}

# start UNPLUG [EXTRA]: 1 boot CPU of 8, vCPUs 1-2 plugged
start() {
	fake_start_json "{\"synthetic\": {\"sockets\": 1, \"cores\": 8, \"threads\": 1, \"online\": 1}, \"unplug\": \"$1\"${2:+, $2}}"
	export VCPUCTL_SOCKET=$FAKE_SOCK
	VC set --count 3 --audit none -q
	: >"$FAKE_LOG"
}

# the socket's identity: device, inode and when the socket file was made
key() { stat -L -c '%d-%i-%.9Y' "$FAKE_SOCK"; }
record_file() { echo "$VCPUCTL_LOCK_DIR/$(key).pending"; }
# field 22 of /proc/PID/stat: the fields after the command name's ")"
start_tick() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $20 }'; }
deletes() { grep -c '"device_del"' "$FAKE_LOG" || true; }

# record PID TICK SOCKETKEY: a record naming vCPUs 1-2 as asked 10 s ago
# by a command with a 5 s timeout, as vcpuctl writes it
record() {
	local at=$(($(date +%s) - 10)) e=
	for i in 1 2; do
		e="$e${e:+,}{\"vcpu\":$i,\"count\":1,\"device_id\":\"vcpu$i\",\"qom_path\":\"/machine/peripheral/vcpu$i\",\"requested_at\":$at,\"timeout_ms\":5000}"
	done
	mkdir -p "$VCPUCTL_LOCK_DIR"
	printf '{"format":"vcpuctl-pending/1","socket":"%s","qemu_pid":%s,"qemu_start":%s,"qemu_version":"","entries":[%s]}\n' \
		"$3" "$1" "$2" "$e" >"$(record_file)"
}
this_vm() { record "$FAKE_PID" "$(start_tick "$FAKE_PID")" "$(key)"; }

# Nothing was sent or shown because of the record: QEMU's truth only.
assert_record_ignored() {
	run --separate-stderr VC show --json
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"record of pending removals $(record_file) ignored: $1"* ]]
	[ "$(jq -c '[.pending, [.vcpus[] | select(.removal != null)] | length]' <<<"$output")" = "[0,0]" ]
	run --separate-stderr VC wait --timeout 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"wait: nothing to do"* ]]
	run --separate-stderr VC set --count 3 --resend --audit none
	[ "$status" -eq 0 ]
	[[ "$output" == *"set: nothing to do"* ]]
	run --separate-stderr VC set --count -1 --no-wait --audit none --json
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.from, .to, .pending]' <<<"$output")" = '[3,2,"2"]' ]
	[ "$(deletes)" -eq 1 ]
}

@test "a record of this VM: show marks removing, count and wait know, nothing is sent" {
	start complete
	this_vm
	run --separate-stderr VC show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"    1       0     1       0  removing"* ]]
	# asked 10 s ago; under valgrind the commands themselves take seconds
	[[ "$output" =~ "2 removals pending for "[1-5][0-9]" s, overdue: past the 5 s timeout of the command that asked" ]]
	run -0 VC show --json
	[ "$(jq -c '[.pending, .vcpus[1].online, .vcpus[1].removal.age_s >= 10, .vcpus[1].removal.age_s <= 59, .vcpus[1].removal.overdue, .vcpus[3].removal]' <<<"$output")" = "[2,true,true,true,true,null]" ]
	[[ "$(jq -r .vcpus[1].removal.requested_at <<<"$output")" =~ ^20[0-9-]+T[0-9:]+Z$ ]]
	run -0 VC count
	[[ "$output" == *"pending 2"* ]]
	# The guest never got a request (the record says so alone): a timeout.
	run --separate-stderr VC wait --timeout 1 --json
	[ "$status" -eq 7 ]
	[ "$(jq -c '[.pending, [.vcpus[].sources]]' <<<"$output")" = '["1-2",[["record"],["record"]]]' ]
	[[ "$stderr" == *"removal pending: vCPUs 1-2"* ]]
	[ "$(deletes)" -eq 0 ]
}

@test "a damaged record is ignored with a warning and replaced at the next write" {
	start complete
	mkdir -p "$VCPUCTL_LOCK_DIR"
	printf '{"format":"vcpuctl-pending/1","socket":' >"$(record_file)"
	assert_record_ignored "not a record: not JSON"
	# set wrote the record again: what it asked for, nothing of the damage
	[ "$(jq -c '[.entries[].vcpu]' "$(record_file)")" = "[2]" ]
}

@test "a record too large, or of another VM, is ignored with a warning" {
	start complete
	this_vm
	head -c 300000 /dev/zero | tr '\0' ' ' >>"$(record_file)"
	run --separate-stderr VC show
	[[ "$stderr" == *"ignored: 300"*" bytes, more than 262144"* ]]
	[[ "$output" != *removing* ]]
	record "$FAKE_PID" "$(start_tick "$FAKE_PID")" "1-2"
	assert_record_ignored "of another VM: socket 1-2, not $(key)"
}

@test "a restarted VM on the same socket path does not inherit the record" {
	start pending
	run -0 VC set --count 1 --no-wait --audit none
	old=$(record_file)
	old_key=$(key)
	[ "$(jq -c '[.entries[].vcpu] | sort' "$old")" = "[1,2]" ]
	cp "$old" "$BATS_TEST_TMPDIR/old.pending"
	fake_stop
	# The same path, a new QEMU with vCPUs 1-2 plugged and no removal asked
	# for: a new socket file, whose record the old one is not.
	start complete
	run --separate-stderr VC show --json
	[ -z "$stderr" ]
	[ "$(jq .pending <<<"$output")" -eq 0 ]
	# Even under the new socket's name (the same socket file kept across
	# a restart) the old QEMU's record is not this one's.
	sed "s/\"$old_key\"/\"$(key)\"/" "$BATS_TEST_TMPDIR/old.pending" >"$(record_file)"
	assert_record_ignored "of an earlier QEMU on this socket: pid "
}

@test "a write removes the records of earlier sockets at the same inode" {
	start pending
	mkdir -p "$VCPUCTL_LOCK_DIR"
	inode=$(stat -L -c '%d-%i' "$FAKE_SOCK")
	: >"$VCPUCTL_LOCK_DIR/$inode-1.000000000.pending"
	: >"$VCPUCTL_LOCK_DIR/${inode}9-1.000000000.pending"
	run -0 VC set --count 1 --no-wait --audit none
	[ ! -e "$VCPUCTL_LOCK_DIR/$inode-1.000000000.pending" ]
	[ -e "$VCPUCTL_LOCK_DIR/${inode}9-1.000000000.pending" ]
	[ -s "$(record_file)" ]
}

@test "a record not owned by the caller (or root) is ignored; root's is read by anyone" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to own files as others"
	command -v setpriv >/dev/null || skip "no setpriv"
	# A directory nobody can reach, for the socket and the lock directory.
	OPEN_DIR=$(mktemp -d /tmp/vcpuctl-pending.XXXXXX)
	chmod 0755 "$OPEN_DIR"
	BATS_TEST_TMPDIR=$OPEN_DIR VCPUCTL_LOCK_DIR=$OPEN_DIR/locks start complete
	export VCPUCTL_LOCK_DIR=$OPEN_DIR/locks
	this_vm
	chown 65534:65534 "$FAKE_SOCK"
	# root's record, read by nobody: taken
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$VCPUCTL" show --json
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq .pending <<<"$output")" -eq 2 ]
	# another user's, read by nobody and by root: ignored
	chown 1:1 "$(record_file)"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$VCPUCTL" show --json
	[[ "$stderr" == *"ignored: owned by uid 1, neither this user nor root"* ]]
	[ "$(jq .pending <<<"$output")" -eq 0 ]
	chown 65534:65534 "$(record_file)"
	assert_record_ignored "owned by uid 65534, neither this user nor root"
}

@test "repeating set --no-wait is idempotent; --resend asks again; -1 counts from online minus pending" {
	start pending
	run -0 VC set --count 1 --no-wait --audit none
	[ "$(deletes)" -eq 2 ]
	run -0 VC set --count 1 --no-wait --audit none --json
	[ "$(jq -c '[.from, .to, .pending, [.vcpus[] | [.index, .state, .sources]]]' <<<"$output")" = \
	  '[1,1,"1-2",[[2,"pending",["record"]],[1,"pending",["record"]]]]' ]
	[ "$(deletes)" -eq 2 ]
	run -0 VC set --count 1 --no-wait --resend --audit none
	[[ "$output" == *"removal pending for vCPUs 1-2"* ]]
	[ "$(deletes)" -eq 4 ]
	run --separate-stderr VC set --count -1 --no-wait --audit none
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"cannot set 0 vCPUs (-1 from 1)"* ]]
	run -0 VC del 2 --no-wait --audit none
	[[ "$output" == *"note: vCPU 2 already being removed"* ]]
	[ "$(deletes)" -eq 4 ]
	# A plug takes a free slot, never one on its way out.
	run -0 VC set --count 2 --no-wait --audit none --json
	[ "$(jq -c '[.from, .to, [.vcpus[] | select(.op == "add") | .index]]' <<<"$output")" = '[1,2,[3]]' ]
	# wait without LIST: the record and QEMU's ACPI status both name them
	run --separate-stderr VC wait --timeout 1 --json
	[ "$status" -eq 7 ]
	[ "$(jq -c '[.vcpus[] | .sources]' <<<"$output")" = '[["record","acpi"],["record","acpi"]]' ]
}

@test "events' vcpu-removed closes the entries; a finished wait leaves no record" {
	start complete '"unplug_delay_ms": 1500'
	run -0 VC set --count 1 --no-wait --audit none
	[ -s "$(record_file)" ]
	run --separate-stderr VC events --vcpu-only --count 2 --timeout 10
	[ "$status" -eq 0 ]
	[ ! -e "$(record_file)" ]
	run --separate-stderr VC show
	[ -z "$stderr" ]
	[[ "$output" != *"removals pending"* ]]
	run -0 VC set --count 3 --audit none -q
	run -0 VC set --count 1 --no-wait --audit none
	run -0 VC wait --timeout 10
	[[ "$output" == *"wait: online 1 of 8 vCPUs"* ]]
	[ ! -e "$(record_file)" ]
	run -0 VC wait --timeout 1
	[[ "$output" == *"wait: nothing to do"* ]]
}

@test "pseries: a removal done before QEMU's reply leaves no entry" {
	fake_start_json '{"synthetic": {"sockets": 1, "cores": 4, "threads": 1, "online": 1, "vcpus_count": 2}, "events_before_reply": true, "deleted_event": "children"}'
	export VCPUCTL_SOCKET=$FAKE_SOCK
	run -0 VC set --count 6 --audit none -q
	run -0 VC set --count 2 --no-wait --audit none
	[[ "$output" != *pending* ]]
	[ ! -e "$(record_file)" ]
}
