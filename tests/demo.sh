#!/usr/bin/env bash
# tests/demo.sh GUESTDIR - "make demo": boot a throwaway QEMU guest, resize
# it up and down with vcpuctl, and show the topology before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

export VCPUCTL_GUEST=${1:-build/guest}
# shellcheck source=tests/lib/vm.bash
source tests/lib/vm.bash
trap vm_stop EXIT

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "vcpuctl $*"; ./vcpuctl "$@"; }

# Changes write audit records (Linux audit and syslog); without a syslog
# daemon every one would warn that it could not, and so would a kernel
# that takes no audit records.  Say why once instead.
audit=()
if [ ! -S "${VCPUCTL_SYSLOG_SOCKET:-/dev/log}" ]; then
	audit=(--audit=none)
	echo "No syslog socket (${VCPUCTL_SYSLOG_SOCKET:-/dev/log}) here: the changes below pass --audit=none."
	echo "Elsewhere each change writes a Linux audit record and a syslog record (man vcpuctl: AUDIT)."
fi

echo "Booting a throwaway guest (QEMU TCG, 1 vCPU, room for 8)..."
vm_start --smp 1,maxcpus=8
export VCPUCTL_SOCKET=$VM_SOCK
echo "QMP socket: $VM_SOCK"

run show
run plan --count 4
run set --count 4 "${audit[@]}"
vm_console_wait "VCPUCTL-CPUS-ONLINE 0-3" 30 >/dev/null &&
	echo "(the guest kernel now runs CPUs $(vm_guest_online))"
run show
run set --count 2 "${audit[@]}"
run set --count 1 --no-wait "${audit[@]}"
run wait 1
run count
echo
echo "Done; the guest is stopped on exit."
