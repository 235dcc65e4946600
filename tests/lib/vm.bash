# tests/lib/vm.bash - boot, drive and stop a real QEMU TCG test guest.
#
# Sourced by tests/e2e/*.bats and tests/demo.sh. One VM at a time per shell;
# call vm_stop from teardown (it is safe when no VM runs).
#
# In:  VCPUCTL_GUEST    folder with vmlinuz and initrd.gz (default build/guest,
#                       made by tests/guest/build.sh)
#      VCPUCTL_GUEST_PPC64  the same for --arch ppc64: vmlinux and initrd.gz
#                       (default: guest-ppc64 next to VCPUCTL_GUEST, made by
#                       tests/guest/build.sh --arch ppc64el)
#      VM_BOOT_TIMEOUT  seconds to wait for the guest's READY line (60)
#      QEMU             the emulator (qemu-system-x86_64; QEMU_PPC64 for
#                       --arch ppc64: qemu-system-ppc64)
# Out: VM_DIR (console.log, qemu.log, qmp.sock, qga.sock, qemu.pid),
#      VM_SOCK (QMP), VM_SOCK2 (a second QMP monitor, with --qmp2: QEMU
#      serves one client per monitor, so a test drives the VM there while
#      vcpuctl holds the first), VM_AGENT_SOCK (guest agent, with --agent),
#      VM_PID.
#
# QEMU 10 under TCG can create at most maxcpus vCPU threads over a VM's whole
# life: unplugged CPUs do not give their thread back, and a plug past the
# budget aborts QEMU ("tcg_register_thread: assertion failed"). Size maxcpus
# for every plug a test makes, re-plugs included.

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# vm_start [--arch x86_64|ppc64] [--smp SPEC] [--append ARGS] [--agent]
#          [--qmp2] [--no-wait-boot] [-- QEMU-ARGS...]
# --arch ppc64 boots a pseries guest (power9, TCG) on the same init.
vm_start()
{
	local arch=x86_64 smp=1,maxcpus=8 append="" agent="" qmp2="" wait_boot=1
	local guest=${VCPUCTL_GUEST:-$VM_LIB_DIR/../../build/guest}
	local kernel=vmlinuz qemu=${QEMU:-qemu-system-x86_64} target=guest
	while [ $# -gt 0 ]; do
		case $1 in
		--arch) arch=$2; shift 2 ;;
		--smp) smp=$2; shift 2 ;;
		--append) append="$append $2"; shift 2 ;;
		--agent) agent=1; append="$append vcpuctl.agent=1"; shift ;;
		--qmp2) qmp2=1; shift ;;
		--no-wait-boot) wait_boot=""; shift ;;
		--) shift; break ;;
		*) echo "vm_start: unknown option $1" >&2; return 2 ;;
		esac
	done
	case $arch in
	x86_64) ;;
	ppc64)
		guest=${VCPUCTL_GUEST_PPC64:-$(dirname "$guest")/guest-ppc64}
		kernel=vmlinux
		qemu=${QEMU_PPC64:-qemu-system-ppc64}
		target=guest-ppc64
		;;
	*) echo "vm_start: unknown --arch $arch" >&2; return 2 ;;
	esac
	local f
	for f in "$kernel" initrd.gz; do
		if [ ! -f "$guest/$f" ]; then
			echo "vm_start: no $guest/$f (run make $target)" >&2
			return 1
		fi
	done

	# A unix socket path must fit in 108 bytes; bats' tmpdir usually does.
	if [ -n "${BATS_TEST_TMPDIR:-}" ] && [ ${#BATS_TEST_TMPDIR} -lt 80 ]; then
		VM_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/vm.XXXX")
	else
		VM_DIR=$(mktemp -d /tmp/vcpuctl-vm.XXXXXX)
	fi
	VM_SOCK=$VM_DIR/qmp.sock
	VM_SOCK2=
	VM_AGENT_SOCK=
	VM_PID=
	VM_CONSOLE_MARK=0
	export VM_DIR VM_SOCK VM_SOCK2 VM_AGENT_SOCK VM_PID VM_CONSOLE_MARK

	# panic=-1 with -no-reboot: a guest that panics ends QEMU at once.
	# -nographic refuses -daemonize; -display none -monitor none and the
	# console's own -serial say the same.
	local args=()
	if [ "$arch" = ppc64 ]; then
		# The caps only silence TCG's warnings. The guest kernel onlines a
		# hot-added core by itself: init need not (vcpuctl.online=none).
		args=(
			-nodefaults -machine pseries,accel=tcg,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off
			-cpu power9 -m 1024 -smp "$smp"
			-append "console=hvc0 quiet panic=-1 vcpuctl.online=none$append"
		)
	else
		args=(
			-machine q35,accel=tcg,smm=off -m 256 -smp "$smp"
			-append "console=ttyS0 quiet panic=-1$append"
		)
	fi
	args+=(
		-serial "file:$VM_DIR/console.log"
		-kernel "$guest/$kernel" -initrd "$guest/initrd.gz" -no-reboot
		-display none -monitor none
		-qmp "unix:$VM_SOCK,server=on,wait=off"
		-pidfile "$VM_DIR/qemu.pid" -daemonize
	)
	if [ -n "$qmp2" ]; then
		VM_SOCK2=$VM_DIR/qmp2.sock
		args+=(-qmp "unix:$VM_SOCK2,server=on,wait=off")
	fi
	if [ -n "$agent" ]; then
		VM_AGENT_SOCK=$VM_DIR/qga.sock
		args+=(-chardev "socket,id=qga0,path=$VM_AGENT_SOCK,server=on,wait=off"
		       -device virtio-serial-pci,id=vser0
		       -device virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0)
	fi

	# -daemonize returns once QEMU is set up, so a bad option fails here.
	# fd 3 is bats' output channel: a child holding it stalls bats.
	if ! "$qemu" "${args[@]}" "$@" \
		</dev/null >"$VM_DIR/qemu.log" 2>&1 3>&-; then
		echo "vm_start: QEMU failed to start:" >&2
		cat "$VM_DIR/qemu.log" >&2
		return 1
	fi
	VM_PID=$(cat "$VM_DIR/qemu.pid")
	if [ -n "$wait_boot" ]; then
		vm_console_wait '^VCPUCTL-GUEST-READY' "${VM_BOOT_TIMEOUT:-60}" || return 1
	fi
	return 0
}

# vm_alive: the VM's QEMU still runs (a zombie, unreaped by a container's
# PID 1, counts as dead)
vm_alive()
{
	[ -n "${VM_PID:-}" ] || return 1
	local state
	state=$(awk '{ print $3 }' "/proc/$VM_PID/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# vm_qmp CMD [JSON-ARGS]: print CMD's return value as JSON
vm_qmp()
{
	python3 "$VM_LIB_DIR/qmp.py" "$VM_SOCK" "$@"
}

# vm_wait_vcpus N [SECONDS]: until QEMU lists N vCPUs (query-cpus-fast),
# polled every 0.1 s for up to SECONDS (30); fails when it never does
vm_wait_vcpus()
{
	local i
	for i in $(seq $((${2:-30} * 10))); do
		[ "$(vm_qmp query-cpus-fast | jq length)" -eq "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# vm_qmp2 CMD [JSON-ARGS]: the same on the second monitor (vm_start --qmp2)
vm_qmp2()
{
	python3 "$VM_LIB_DIR/qmp.py" "$VM_SOCK2" "$@"
}

# vm_agent CMD [JSON-ARGS]: the same through the guest agent (vm_start --agent)
vm_agent()
{
	python3 "$VM_LIB_DIR/qmp.py" --agent "$VM_AGENT_SOCK" "$@"
}

# vm_console: the console log so far, without the serial line's \r
vm_console()
{
	tr -d '\r' < "$VM_DIR/console.log" 2>/dev/null
}

# vm_console_mark: later vm_console_wait calls only look at lines after now
vm_console_mark()
{
	VM_CONSOLE_MARK=$(vm_console | wc -l)
}

# vm_console_wait ERE [TIMEOUT=30]: wait for a console line matching ERE
# (after the last vm_console_mark); on timeout or QEMU's death print the
# console tail and fail
vm_console_wait()
{
	local pattern=$1 timeout=${2:-30} start=$SECONDS
	while :; do
		if vm_console | tail -n +$((VM_CONSOLE_MARK + 1)) | grep -Eq -- "$pattern"; then
			return 0
		fi
		if ! vm_alive; then
			echo "vm: QEMU died waiting for /$pattern/; console tail:" >&2
			break
		fi
		if [ $((SECONDS - start)) -ge "$timeout" ]; then
			echo "vm: no /$pattern/ on the console in ${timeout}s; console tail:" >&2
			break
		fi
		sleep 0.1
	done
	vm_console | tail -n 20 >&2
	cat "$VM_DIR/qemu.log" >&2 2>/dev/null
	return 1
}

# vm_guest_online: the guest's last reported online CPU list ("0-1,3")
vm_guest_online()
{
	vm_console | sed -n 's/^VCPUCTL-CPUS-ONLINE //p' | tail -n 1
}

# vm_thread_ids: host thread ids of QEMU's vCPU threads, one per line
vm_thread_ids()
{
	vm_qmp query-cpus-fast | jq -r '.[]."thread-id"'
}

# vm_stop: quit the VM, kill -9 if still alive after 3 s; never fails
vm_stop()
{
	[ -n "${VM_PID:-}" ] || return 0
	if vm_alive; then
		python3 "$VM_LIB_DIR/qmp.py" --timeout 2 "$VM_SOCK" quit >/dev/null 2>&1 || true
		local _
		for _ in $(seq 30); do
			vm_alive || break
			sleep 0.1
		done
		if vm_alive; then
			kill -9 "$VM_PID" 2>/dev/null || true
		fi
	fi
	VM_PID=
	return 0
}
