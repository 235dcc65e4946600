#!/usr/bin/env bats
# The Linux audit record, seen in a real kernel's audit stream: this VM's
# kernel has audit but no auditd, so kauditd prints each record to the
# kernel log ("audit: type=2501 audit(...): ... msg='virt=...'"), read here
# with dmesg.  The lab host's own kernel runs with audit disabled, which
# drops records silently.  Run inside tests/hostvm/run.sh (make
# check-hostvm); the tests turn audit on and off in the VM's kernel.

load inner
load ../lib/vcpuctl
bats_require_minimum_version 1.5.0

UUID=5e1f0c8a-7b2d-4c3e-9f40-1a2b3c4d5e6f

setup() {
	[ -n "${HOSTVM:-}" ] || skip "runs inside tests/hostvm/run.sh"
	export VCPUCTL_LOCK_DIR=$BATS_TEST_TMPDIR/locks
	export VCPUCTL_SYSLOG_SOCKET=$BATS_TEST_TMPDIR/no-syslog.sock
	# A name unique to the test, with a blank: libaudit must hex-encode it.
	NAME="audit $BATS_TEST_NUMBER $$"
	HEX=$(printf '%s' "$NAME" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
	[ "$(python3 "$BATS_TEST_DIRNAME/auditctl.py" 1)" = 1 ]
}

teardown() {
	vm_stop
}

# The kernel's VIRT_RESOURCE records of this test's VM, once at least $1
# have arrived (kauditd prints them a moment after they are sent).
records() {
	local want=$1 i out
	for i in $(seq 100); do
		out=$(dmesg | grep "type=2501 " | grep -F " vm=$HEX " || true)
		[ "$(printf '%s' "$out" | grep -c .)" -ge "$want" ] && break
		sleep 0.1
	done
	printf '%s\n' "$out"
}

@test "a set leaves one VIRT_RESOURCE record with libvirt's fields in the kernel's log" {
	inner_start --smp 1,maxcpus=4 -- -name "$NAME" -uuid "$UUID"
	run VC -s "$VM_SOCK" set --count 3
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"Linux audit"* ]]
	rec=$(records 1)
	echo "$rec"
	[ "$(grep -c . <<<"$rec")" -eq 1 ]
	[[ "$rec" == *" msg='virt=qemu resrc=vcpu reason=update vm=$HEX uuid=$UUID old-vcpu=1 new-vcpu=3 exe=\"$(readlink -f "$VCPUCTL")\" hostname=? addr=? terminal=? res=success'"* ]]
	# the kernel names the process and its (absent) login session
	[[ "$rec" =~ \ pid=[0-9]+\ uid=0\ auid=4294967295\ ses=4294967295\  ]]
	# an unplug is another record; nobody ejects the CPU of this paused
	# VM (inner_eject is not run), so the removal times out and QEMU
	# still holds 3: res=failed, with the count QEMU really has
	run VC -s "$VM_SOCK" del 2 --timeout 1
	echo "$output"
	[ "$status" -eq 7 ]
	rec=$(records 2 | tail -n 1)
	echo "$rec"
	[[ "$rec" == *" old-vcpu=3 new-vcpu=3 "*" res=failed'"* ]]
}

@test "a partial change records what QEMU holds afterwards, with res=failed" {
	# A device that is not a CPU holds the id vcpuctl will give vCPU 3:
	# QEMU refuses that device_add after the first two went in.
	inner_start --smp 1,maxcpus=4 -- -name "$NAME" -uuid "$UUID" \
		-device pci-testdev,id=vcpu3
	run VC -s "$VM_SOCK" set --count 4
	echo "$output"
	[ "$status" -eq 8 ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 3 ]
	rec=$(records 1)
	echo "$rec"
	[ "$(grep -c . <<<"$rec")" -eq 1 ]
	[[ "$rec" == *" old-vcpu=1 new-vcpu=3 "*" res=failed'"* ]]
}

@test "the record's auid and ses are the caller's login session" {
	inner_start --smp 1,maxcpus=4 -- -name "$NAME" -uuid "$UUID"
	# what a login does (pam_loginuid): the kernel then gives a session
	run sh -c 'echo 1000 > /proc/self/loginuid && exec "$0" -s "$1" set --count 2' \
		"$VCPUCTL" "$VM_SOCK"
	[ "$status" -eq 0 ]
	rec=$(records 1)
	echo "$rec"
	[[ "$rec" =~ \ uid=0\ auid=1000\ ses=[0-9]+\  ]]
	[[ "$rec" != *" ses=4294967295 "* ]]
}

@test "with audit disabled: one warning and the change stands; --audit=linux refuses it" {
	[ "$(python3 "$BATS_TEST_DIRNAME/auditctl.py" 0)" = 0 ]
	inner_start --smp 1,maxcpus=4 -- -name "$NAME" -uuid "$UUID"
	run --separate-stderr VC -s "$VM_SOCK" set --count 2
	[ "$status" -eq 0 ]
	[ "$(grep -c "Linux audit" <<<"$stderr")" -eq 1 ]
	[[ "$stderr" == *"vcpuctl: warning: audit record not written: Linux audit: disabled in the kernel"* ]]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 2 ]
	run --separate-stderr VC -s "$VM_SOCK" set --count 3 --audit=linux
	[ "$status" -eq 2 ]
	[ "$stderr" = "vcpuctl: --audit: Linux audit: disabled in the kernel; nothing was changed" ]
	[ "$(vm_qmp query-cpus-fast | jq length)" -eq 2 ]
	[ -z "$(records 0)" ]
}
