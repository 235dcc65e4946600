# tests/hostvm/inner.bash - a paused QEMU inside the host VM, for tests run
# by tests/hostvm/run.sh.
#
# TCG inside TCG boots a guest too slowly for a test, but a paused VM (-S)
# is enough for tuning: QEMU makes a real host thread for every vCPU at
# once, and a CPU device_add on the paused VM makes a new one.  The VM is
# driven with tests/lib/vm.bash (vm_qmp, vm_alive, vm_stop).
#
# inner_start [--smp SPEC] [-- QEMU-ARGS...]: start it (default smp
# 1,maxcpus=8); sets VM_DIR (on tmpfs: no unix sockets on 9p), VM_SOCK,
# VM_PID.

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
	VM_PID=
	export VM_DIR VM_SOCK VM_PID
	if ! qemu-system-x86_64 -S -machine q35,accel=tcg,smm=off -m 64 -smp "$smp" \
		-nodefaults -display none -monitor none -serial none \
		-qmp "unix:$VM_SOCK,server=on,wait=off" \
		-pidfile "$VM_DIR/qemu.pid" -daemonize "$@" \
		</dev/null >"$VM_DIR/qemu.log" 2>&1 3>&-; then
		echo "inner_start: QEMU failed to start:" >&2
		cat "$VM_DIR/qemu.log" >&2
		return 1
	fi
	VM_PID=$(cat "$VM_DIR/qemu.pid")
}

# inner_threads: host thread ids of the inner VM's vCPUs, in vCPU order
inner_threads()
{
	vm_qmp query-cpus-fast | jq -r 'sort_by(."cpu-index") | .[]."thread-id"'
}
