#!/usr/bin/env bats
# The examples against a real QEMU guest: the autoscaler (dry run, forced
# decisions, hysteresis, one real step), the systemd units, the Ansible
# playbook (check mode, then for real).

load ../lib/vm
load ../lib/vcpuctl

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
AUTOSCALE=$REPO/examples/autoscale.sh

setup_file() {
	vm_start --smp 1,maxcpus=4
	echo "$VM_DIR" > "$BATS_FILE_TMPDIR/vm_dir"
}

teardown_file() { vm_stop; }

setup() {
	export VCPUCTL_LOCK_DIR=$BATS_FILE_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_FILE_TMPDIR/no-syslog.sock
	LOG=$BATS_TEST_TMPDIR/autoscale.log
	STATE=$BATS_TEST_TMPDIR/autoscale.state
}

online() { vm_qmp query-cpus-fast | jq length; }

# scale ARGS...: one autoscaler run against the VM, logging to $LOG
scale() {
	"$AUTOSCALE" --vcpuctl "$VCPUCTL" --socket "$VM_SOCK" --interval 0.5 \
		--state "$STATE" --log "$LOG" "$@"
}

@test "autoscaler: forced high load decides up; --dry-run changes nothing" {
	run scale --min 1 --max 4 --high 0 --streak 1 --dry-run
	[ "$status" -eq 0 ]
	cat "$LOG"
	grep -q 'online=1 busy=[0-9.]*% high=0 low=25 decision=up streak=1/1 action="vcpuctl set --count +1 --max 4 --dry-run" target=2 exit=0' "$LOG"
	[ "$(online)" -eq 1 ]
}

@test "autoscaler: the busy share is measured from the vCPU threads" {
	run scale --min 1 --max 4 --streak 5
	[ "$status" -eq 0 ]
	busy=$(sed -n 's/.* busy=\([0-9.]*\)%.*/\1/p' "$LOG")
	[ -n "$busy" ]
	awk -v b="$busy" 'BEGIN { exit !(b >= 0 && b <= 110) }'
}

@test "autoscaler: hysteresis needs --streak runs in a row" {
	run scale --min 1 --max 4 --high 0 --streak 2 --dry-run
	[ "$status" -eq 0 ]
	grep -q 'decision=up streak=1/2 action=none' "$LOG"
	run scale --min 1 --max 4 --high 0 --low -1 --streak 2 --dry-run
	grep -q 'decision=up streak=2/2 action="vcpuctl set --count +1' "$LOG"
	# a hold in between starts the count again
	run scale --min 1 --max 4 --high 101 --low -1 --streak 2 --dry-run
	grep -q 'decision=hold streak=1/2 action=none' "$LOG"
	run scale --min 1 --max 4 --high 0 --streak 2 --dry-run
	[ "$(tail -n 1 "$LOG" | grep -c 'decision=up streak=1/2 action=none')" -eq 1 ]
	[ "$(online)" -eq 1 ]
}

@test "autoscaler: a real step up, then forced low load decides down to --min" {
	run scale --min 1 --max 2 --high 0 --streak 1
	[ "$status" -eq 0 ]
	[ "$(online)" -eq 2 ]
	vm_console_wait "VCPUCTL-CPUS-ONLINE 0-1" 30
	# at --max: hold, even under load
	run scale --min 1 --max 2 --high 0 --low -1 --streak 1 --dry-run
	tail -n 1 "$LOG" | grep -q 'online=2 .* decision=hold'
	run scale --min 1 --max 2 --high 101 --low 100 --streak 1 --dry-run
	[ "$status" -eq 0 ]
	tail -n 1 "$LOG" | grep -q 'decision=down streak=1/1 action="vcpuctl set --count -1 --min 1 --dry-run" target=1 exit=0'
	[ "$(online)" -eq 2 ]
}

@test "autoscaler: bad arguments exit 2" {
	run "$AUTOSCALE" --socket "$VM_SOCK" --min 3 --max 2
	[ "$status" -eq 2 ]
	run "$AUTOSCALE" --socket "$VM_SOCK" --min 1
	[ "$status" -eq 2 ]
}

@test "systemd units pass systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	d=$BATS_TEST_TMPDIR/units
	mkdir -p "$d"
	# the unit names the installed path; point it at the repo's copy
	sed "s|/usr/local/share/vcpuctl/examples/autoscale.sh|$AUTOSCALE|" \
		"$REPO/examples/systemd/vcpuctl-autoscale@.service" > "$d/vcpuctl-autoscale@.service"
	cp "$REPO/examples/systemd/vcpuctl-autoscale@.timer" "$d/"
	ln -s "vcpuctl-autoscale@.service" "$d/vcpuctl-autoscale@web1.service"
	ln -s "vcpuctl-autoscale@.timer" "$d/vcpuctl-autoscale@web1.timer"
	run env SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
		"$d/vcpuctl-autoscale@web1.service" "$d/vcpuctl-autoscale@web1.timer"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"vcpuctl-autoscale"* ]]
}

# playbook ARGS...: run the playbook on localhost against the guest
playbook() {
	export ANSIBLE_LOCAL_TEMP=$BATS_TEST_TMPDIR/ansible ANSIBLE_REMOTE_TEMP=$BATS_TEST_TMPDIR/ansible
	export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
	ansible-playbook -i localhost, -c local \
		-e "{\"vcpuctl_hosts\": \"localhost\", \"vcpuctl_bin\": \"$VCPUCTL\", \"vcpu_changes\": [{\"socket\": \"$VM_SOCK\", \"count\": \"$1\"}]}" \
		"${@:2}" "$REPO/examples/ansible/vcpuctl.yml"
}

@test "ansible playbook: syntax check, --check is a dry run, then a real change" {
	command -v ansible-playbook >/dev/null || skip "ansible-playbook is not installed (apt-get install ansible-core)"
	run ansible-playbook -i "$REPO/examples/ansible/inventory.ini" --syntax-check \
		"$REPO/examples/ansible/vcpuctl.yml"
	[ "$status" -eq 0 ]
	before=$(online)
	run playbook 3 --check
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$before ->"*"3 vCPUs"*"(dry run)"* ]]
	[[ "$output" == *"changed=0"* ]]
	[ "$(online)" -eq "$before" ]
	run playbook 3
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"changed=1"* ]]
	[ "$(online)" -eq 3 ]
}
