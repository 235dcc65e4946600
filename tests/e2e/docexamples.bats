#!/usr/bin/env bats
# Every vcpuctl command line in README and in the man page's EXAMPLES, run
# as printed against a real QEMU 10 guest (with its guest agent), so that
# documentation that stops working fails the suite.  tests/lib/docexamples.py
# extracts them; the example socket paths map to this VM's sockets, the
# example cgroups live for the test only.  Each README block starts from
# a VM with 1 vCPU (5 for the guest agent block); the man page's EXAMPLES
# are one story and run in order.

load ../lib/vm

load ../lib/vcpuctl

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

V1=/sys/fs/cgroup

v1_ok() {
	[ "$(id -u)" -eq 0 ] &&
	[ "$(stat -f -c %T $V1/cpu 2>/dev/null)" = cgroupfs ] &&
	[ "$(stat -f -c %T $V1/cpuset 2>/dev/null)" = cgroupfs ]
}

setup_file() {
	# Every example's plug counts against TCG's thread budget: room for
	# all.  32 possible vCPUs boot slower; a loaded machine slower still.
	VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-240} vm_start --smp 1,maxcpus=32 --agent -- \
		-monitor "unix:$BATS_FILE_TMPDIR/hmp.sock,server=on,wait=off" \
		-name "vcpuctl-doc-$$"
	echo "$VM_DIR" > "$BATS_FILE_TMPDIR/vm_dir"
	# The examples' VM cgroups (machine/vm1, machine.slice/web1) stand for
	# ones the VM's manager made: here under vcpuctl-doc-PID in this
	# host's cgroup v1 cpu, cpuacct and cpuset hierarchies.
	CG=vcpuctl-doc-$$
	echo "$CG" > "$BATS_FILE_TMPDIR/cg"
	if v1_ok; then
		local c d
		for c in cpu cpuacct cpuset; do
			[ -d $V1/$c ] && mkdir -p $V1/$c/$CG/vm1 $V1/$c/$CG/web1
		done
		for d in $V1/cpuset/$CG $V1/cpuset/$CG/vm1 $V1/cpuset/$CG/web1; do
			cat $V1/cpuset/cpuset.cpus > $d/cpuset.cpus
			cat $V1/cpuset/cpuset.mems > $d/cpuset.mems
		done
		for c in cpu cpuacct cpuset; do
			[ -d $V1/$c/$CG/vm1 ] && echo "$VM_PID" > $V1/$c/$CG/vm1/cgroup.procs
		done
	fi
}

teardown_file() {
	vm_stop
	local CG c
	CG=$(cat "$BATS_FILE_TMPDIR/cg")
	sleep 0.2
	for c in cpu cpuacct cpuset; do
		[ -d $V1/$c/$CG ] && find $V1/$c/$CG -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	true
}

setup() {
	export VCPUCTL_SOCKET=$VM_SOCK
	export VCPUCTL_SYSLOG_SOCKET=$BATS_FILE_TMPDIR/no-syslog.sock
	export VCPUCTL_LOCK_DIR=$BATS_FILE_TMPDIR/locks
	HMP=$BATS_FILE_TMPDIR/hmp.sock
	CG=$(cat "$BATS_FILE_TMPDIR/cg")
	NAME=$CG	# the VM's -name: vcpuctl-doc-PID too
}

examples() { python3 "$REPO/tests/lib/docexamples.py" "$REPO/README" "$REPO/man/vcpuctl.1"; }

# The example paths, mapped to this VM.
map() {
	sed -e "s|/run/vm1/qmp.sock|$VM_SOCK|g" -e "s|/run/qemu/web1.qmp|$VM_SOCK|g" \
	    -e "s|/run/vm/qga.sock|$VM_AGENT_SOCK|g" \
	    -e "s|--cgroup machine/vm1|--cgroup $CG/vm1|g" \
	    -e "s|--cgroup machine.slice/web1|--cgroup $CG/web1|g" \
	    -e "s|name:web1|name:$NAME|g" -e "s|ls --probe web1|ls --probe $NAME|g"
}

vcpuctl() { VC "$@"; }

# to COUNT: the VM at COUNT vCPUs, nothing pending, the guest's CPUs online
to() {
	VC wait --timeout 60 >/dev/null
	VC set --count "$1" --timeout 60 >/dev/null
}

# run_example LINE: run it as a shell line; fail naming it if it fails.
# "events" waits for a vCPU to go.  QEMU serves one QMP client at a time,
# and one QMP monitor keeps "-s name:" unambiguous: vCPU 1's removal is
# asked for while the VM is paused, events connects, and the human monitor
# (HMP) resumes the VM.
run_example() {
	local line=$1 out=$BATS_TEST_TMPDIR/example.out rc=0
	echo "\$ $line"
	if [[ $line == *"--cgroup "* ]] && ! v1_ok; then
		# The tune suite covers cgroup v2 in a VM; this host has no v1.
		echo "(not run: needs root and cgroup v1 cpu and cpuset here)"
		return 0
	fi
	if [[ $line =~ --(node|spread|granularity|node-affinity)\  ]]; then
		# They need a VM with guest NUMA nodes or threads=2 cores; each
		# is run as printed by tests/e2e/placement.bats on such a VM.
		echo "(run by tests/e2e/placement.bats on a two-node or threads=2 VM)"
		return 0
	fi
	if [[ $line == "vcpuctl events "* ]]; then
		local trace=$BATS_TEST_TMPDIR/events.trace i
		vm_qmp stop >/dev/null
		VC del 1 --no-wait >/dev/null
		( export VCPUCTL_QMP_TRACE=$trace; eval "$line" ) >"$out" 2>&1 3>&- &
		local pid=$!
		for ((i = 0; i < 600; i++)); do
			[ "$(grep -c '^<' "$trace" 2>/dev/null)" -ge 2 ] && break
			sleep 0.1
		done
		python3 -c 'import socket,sys,time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"cont\n"); time.sleep(0.5)' "$HMP"
		wait "$pid" || rc=$?
	else
		eval "$line" >"$out" 2>&1 || rc=$?
	fi
	cat "$out"
	if [ "$rc" -ne 0 ]; then
		echo "documented example failed (exit $rc): $line" >&2
		return 1
	fi
}

@test "the extraction finds the documented examples" {
	run examples
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *$'\nvcpuctl -s /run/vm1/qmp.sock set --count 8\n'* ]]
	[[ "$output" == *"man/vcpuctl.1:"* ]]
	[ "$(grep -c '^vcpuctl ' <<<"$output")" -ge 20 ]
}

@test "README's examples, block by block" {
	local line start n=0
	while IFS= read -r line; do
		if [[ $line == "# "* ]]; then
			start=1
			[[ $line == *"README"* ]] || break
			# The guest agent block shows guest CPUs 3-4: it needs them.
			grep -q -- "--guest-agent" <<<"$(examples | sed -n "/^$(sed 's|[/.]|\\&|g' <<<"$line")\$/,/^# /p")" && start=5
			to "$start"
			echo "--- $line (from $start vCPUs)"
			continue
		fi
		run_example "$(map <<<"$line")"
		n=$((n + 1))
	done < <(examples)
	[ "$n" -ge 15 ]
}

@test "the man page's EXAMPLES, in order" {
	local line n=0 in_man=
	to 1
	while IFS= read -r line; do
		if [[ $line == "# "* ]]; then
			[[ $line == *"vcpuctl.1"* ]] && in_man=1
			continue
		fi
		[ -n "$in_man" ] || continue
		run_example "$(map <<<"$line")"
		n=$((n + 1))
	done < <(examples)
	[ "$n" -ge 9 ]
}
