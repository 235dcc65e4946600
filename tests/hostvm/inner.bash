# tests/hostvm/inner.bash - a paused QEMU inside the host VM, for tests run
# by tests/hostvm/run.sh.
#
# TCG inside TCG boots a guest too slowly for a test, but a paused VM (-S)
# is enough for tuning: QEMU makes a real host thread for every vCPU at
# once, and a CPU device_add on the paused VM makes a new one.  The VM is
# driven with tests/lib/vm.bash (vm_qmp, vm_alive, vm_stop).
#
# Nor does a guest answer an unplug: ospm.py ejects the CPUs QEMU was asked
# to remove, as the guest's ACPI code would, over a second monitor.
#
# inner_start [--smp SPEC] [-- QEMU-ARGS...]: start it (default smp
# 1,maxcpus=8); sets VM_DIR (on tmpfs: no unix sockets on 9p), VM_SOCK,
# VM_PID, VM_OSPM_SOCK; switched to the modern CPU hotplug interface.

load ../lib/vm

inner_start()
{
	local smp=1,maxcpus=8
	while [ $# -gt 0 ]; do
		case $1 in
		--smp) smp=$2; shift 2 ;;
		--) shift; break ;;
		*) echo "inner_start: unknown option $1" >&2; return 2 ;;
		esac
	done
	VM_DIR=$(mktemp -d /tmp/inner.XXXXXX)
	VM_SOCK=$VM_DIR/qmp.sock
	VM_OSPM_SOCK=$VM_DIR/ospm.sock
	VM_PID=
	export VM_DIR VM_SOCK VM_PID VM_OSPM_SOCK
	if ! qemu-system-x86_64 -S -machine q35,accel=tcg,smm=off -m 64 -smp "$smp" \
		-nodefaults -display none -monitor none -serial none \
		-qmp "unix:$VM_SOCK,server=on,wait=off" \
		-qmp "unix:$VM_OSPM_SOCK,server=on,wait=off" \
		-pidfile "$VM_DIR/qemu.pid" -daemonize "$@" \
		</dev/null >"$VM_DIR/qemu.log" 2>&1 3>&-; then
		echo "inner_start: QEMU failed to start:" >&2
		cat "$VM_DIR/qemu.log" >&2
		return 1
	fi
	VM_PID=$(cat "$VM_DIR/qemu.pid")
	# Until a guest's ACPI switches it, QEMU offers only the legacy CPU
	# hotplug interface, which refuses device_del; the first scan switches.
	inner_eject
}

# inner_threads: host thread ids of the inner VM's vCPUs, in vCPU order
inner_threads()
{
	vm_qmp query-cpus-fast | jq -r 'sort_by(."cpu-index") | .[]."thread-id"'
}

# inner_eject: eject every CPU whose removal is pending, once
inner_eject()
{
	python3 "$BATS_TEST_DIRNAME/ospm.py" "$VM_OSPM_SOCK"
}

# inner_ospm_start: keep ejecting in the background (for a vcpuctl that
# waits for its unplug) until inner_ospm_stop
inner_ospm_start()
{
	python3 "$BATS_TEST_DIRNAME/ospm.py" --loop 600 "$VM_OSPM_SOCK" \
		</dev/null >"$VM_DIR/ospm.log" 2>&1 3>&- &
	INNER_OSPM_PID=$!
}

inner_ospm_stop()
{
	[ -n "${INNER_OSPM_PID:-}" ] || return 0
	kill "$INNER_OSPM_PID" 2>/dev/null || true
	wait "$INNER_OSPM_PID" 2>/dev/null || true
	INNER_OSPM_PID=
}
