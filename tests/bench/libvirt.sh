#!/usr/bin/env bash
# tests/bench/libvirt.sh GUESTDIR - "make bench-libvirt": vcpuctl side by
# side with libvirt's `virsh setvcpus --live`, in one run, on the same QEMU.
#
# Both drive fresh guests of one shape (q35 TCG, 1 of 8 vCPUs, the test
# guest's kernel and initramfs): libvirt a transient domain, vcpuctl a QEMU
# started as tests/lib/vm.bash starts it.  Rounds alternate which tool goes
# first.  Each round times a plug 1->8 and an unplug 8->1 as whole
# processes (tests/bench/runtime.c), counts the QMP commands each tool sent
# (libvirt's from its monitor debug log, vcpuctl's from --stats), and after
# the unplug asks QEMU what it holds and each tool what it believes.
#
# libvirt runs as a private daemon: libvirtd started by hand in a mount
# namespace of its own, where /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt are scratch folders of this run.
# So the host's libvirt configuration and state are never touched (any
# running libvirtd keeps its own), and only the daemon started here is
# stopped.  Its configuration keeps libvirt's work to what vcpuctl does:
# QEMU as root, no relabelling, no security driver, no cgroups, no
# namespaces, and the console in a plain file because no virtlogd runs.
#
# A benchmark, not a test: it prints figures and fails only when a tool
# cannot be run at all.  Table: $VCPUCTL_BUILD/bench/libvirt.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

GUEST=$(cd "${1:-build/guest}" && pwd)
ROUNDS=${BENCH_ROUNDS:-5}
VC=${VCPUCTL:-$PWD/vcpuctl}
BUILD=${VCPUCTL_BUILD:-$PWD/build}
RUNTIME=$BUILD/tools/bench/runtime
OUT=$BUILD/bench
QEMU=${QEMU:-qemu-system-x86_64}
LIBVIRT_PKGS=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)

die() { echo "bench-libvirt: $*" >&2; exit 1; }
say() { echo "bench-libvirt: $*" >&2; }

[ -x "$VC" ] && [ -x "$RUNTIME" ] || die "$VC or $RUNTIME missing (make all)"
[ -f "$GUEST/vmlinuz" ] && [ -f "$GUEST/initrd.gz" ] || die "no guest in $GUEST (make guest)"
[ "$(id -u)" -eq 0 ] || die "needs root: libvirtd runs QEMU as root here"
QEMU_BIN=$(command -v "$QEMU") || die "$QEMU not found (make deps)"

# libvirt from Debian, without moving QEMU: libvirt 9.0's qemu driver
# depends on no qemu package, and the simulated install is checked first.
install_libvirt()
{
	local p missing=()
	for p in "${LIBVIRT_PKGS[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}\n' "$p" 2>/dev/null | grep -q '^ii' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	say "installing ${missing[*]} (--no-install-recommends)"
	export DEBIAN_FRONTEND=noninteractive
	local sim
	sim=$(apt-get -s -o DPkg::Lock::Timeout=600 install --no-install-recommends "${missing[@]}") ||
		die "apt-get -s install ${missing[*]} failed: $sim"
	if grep -E '^(Inst|Remv|Conf) qemu' <<<"$sim" >&2; then
		die "installing ${missing[*]} would change the QEMU packages above; not done"
	fi
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
}
install_libvirt

W=$(mktemp -d /tmp/vclv.XXXXXX)
LV_PID=
VM_PID=
declare -a MADE_DIRS=()
cleanup()
{
	local d
	if [ -n "$LV_PID" ]; then
		lv destroy vcbench >/dev/null 2>&1 || true
		kill "$LV_PID" 2>/dev/null || true
		wait "$LV_PID" 2>/dev/null || true
	fi
	vm_stop
	# Any QEMU of this run's domains still alive (a daemon that died).
	pkill -9 -f -- "-name guest=vcbench" 2>/dev/null || true
	for d in "${MADE_DIRS[@]}"; do rmdir "$d" 2>/dev/null || true; done
	[ -z "${MADE_USER:-}" ] || userdel "$MADE_USER" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

export TMPDIR=$W VCPUCTL_GUEST=$GUEST
# shellcheck source=tests/lib/vm.bash
source tests/lib/vm.bash

# --- a private libvirtd ------------------------------------------------
# libvirt 9.0 resolves its compiled-in default user before it reads
# qemu.conf's user = "root", so the user must exist (Debian makes it in
# libvirt-daemon-system, which is not installed here).  Made only if
# missing, and removed again on exit.
MADE_USER=
if ! getent passwd libvirt-qemu >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin libvirt-qemu || die "useradd libvirt-qemu failed"
	MADE_USER=libvirt-qemu
fi
mkdir -p "$W"/{etc,run,lib,cache,log,sock}
cat >"$W/etc/libvirtd.conf" <<EOF
unix_sock_dir = "$W/sock"
log_filters = "1:qemu.qemu_monitor_json 1:qemu.qemu_monitor 4:*"
log_outputs = "1:file:$W/libvirtd.log"
EOF
cat >"$W/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
# Mount points for the private folders; made here only if missing, and
# removed again on exit.
for d in /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
	if [ ! -d "$d" ]; then
		mkdir -p "$d"
		MADE_DIRS=("$d" "${MADE_DIRS[@]}")
	fi
done
unshare --mount --propagation private -- sh -c '
	w=$1
	mount --bind "$w/etc" /etc/libvirt &&
	mount --bind "$w/run" /run/libvirt &&
	mount --bind "$w/lib" /var/lib/libvirt &&
	mount --bind "$w/cache" /var/cache/libvirt &&
	mount --bind "$w/log" /var/log/libvirt &&
	exec libvirtd --pid-file "$w/libvirtd.pid"' sh "$W" \
	</dev/null >"$W/libvirtd.out" 2>&1 3>&- &
LV_PID=$!
URI="qemu:///system?socket=$W/sock/libvirt-sock"
lv() { virsh -q -c "$URI" "$@"; }
for _ in $(seq 100); do
	[ -S "$W/sock/libvirt-sock" ] && lv version >/dev/null 2>&1 && break
	kill -0 "$LV_PID" 2>/dev/null || { cat "$W/libvirtd.out" >&2; die "libvirtd exited"; }
	sleep 0.1
done
lv version >/dev/null 2>&1 || { cat "$W/libvirtd.out" >&2; die "libvirtd did not answer"; }
LV_VERSION=$(virsh --version)

# domain_xml CONSOLE: the transient domain, built like vm.bash's VM.
domain_xml()
{
	local v vcpus=""
	for v in $(seq 1 7); do
		vcpus="$vcpus    <vcpu id='$v' enabled='no' hotpluggable='yes'/>
"
	done
	cat <<EOF
<domain type='qemu'>
  <name>vcbench</name>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static' current='1'>8</vcpu>
  <vcpus>
    <vcpu id='0' enabled='yes' hotpluggable='no'/>
$vcpus  </vcpus>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$GUEST/vmlinuz</kernel>
    <initrd>$GUEST/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/><smm state='off'/></features>
  <cpu><topology sockets='1' dies='1' cores='8' threads='1'/></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$QEMU_BIN</emulator>
    <serial type='file'><source path='$1'/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# console_wait FILE FROM ERE: a line of FILE after line FROM matches ERE
console_wait()
{
	local start=$SECONDS
	while [ $((SECONDS - start)) -lt 60 ]; do
		tr -d '\r' <"$1" 2>/dev/null | tail -n +$(($2 + 1)) | grep -Eq -- "$3" && return 0
		sleep 0.1
	done
	echo "bench-libvirt: no /$3/ in $1 within 60 s; tail:" >&2
	tail -n 20 "$1" >&2
	return 1
}
lines() { tr -d '\r' <"$1" 2>/dev/null | wc -l; }

RAW=$OUT/libvirt-raw.txt
mkdir -p "$OUT"
: >"$RAW"

# timed KEY CMD...: one whole-process run; "KEY WALL_MS EXIT" into RAW
timed()
{
	local key=$1 line wall rss status
	shift
	line=$("$RUNTIME" "$W/out" "$W/err" -- "$@")
	read -r wall rss status <<<"$line"
	echo "$key $wall $status" >>"$RAW"
	if [ "$status" -ne 0 ]; then
		echo "note:$key $(tr '\n' ' ' <"$W/err" | cut -c1-200)" >>"$RAW"
	fi
}

# monitor_sends: QMP commands libvirt has sent so far (its monitor log)
monitor_sends() { grep -c "QEMU_MONITOR_SEND_MSG" "$W/libvirtd.log" 2>/dev/null || true; }

round_libvirt()
{
	local p=$1 con=$W/lv-console.log n0 n1 mark
	: >"$con"
	domain_xml "$con" >"$W/dom.xml"
	lv create "$W/dom.xml" >/dev/null || die "virsh create failed"
	console_wait "$con" 0 '^VCPUCTL-GUEST-READY' || die "libvirt's guest did not boot"

	mark=$(lines "$con")
	n0=$(monitor_sends)
	timed "${p}lv_plug" virsh -q -c "$URI" setvcpus vcbench 8 --live
	n1=$(monitor_sends)
	echo "qmp:${p}lv_plug $((n1 - n0))" >>"$RAW"
	console_wait "$con" "$mark" '^VCPUCTL-CPUS-ONLINE 0-7$' || true
	sleep 0.3

	mark=$(lines "$con")
	n0=$(monitor_sends)
	timed "${p}lv_unplug" virsh -q -c "$URI" setvcpus vcbench 1 --live
	n1=$(monitor_sends)
	echo "qmp:${p}lv_unplug $((n1 - n0))" >>"$RAW"
	# libvirt gives up after 5 s with its removals unconfirmed (it waits
	# for a DEVICE_DELETED naming the device, which x86 QEMU never sends),
	# so there is no online set to wait for: the guest had those 5 s.
	# What QEMU holds (asked through libvirt's own monitor) and what
	# libvirt believes.
	local qemu_has believes
	qemu_has=$(lv qemu-monitor-command vcbench '{"execute":"query-cpus-fast"}' |
		jq '.return | length')
	believes=$(lv vcpucount vcbench --live --active)
	echo "state:${p}lv $qemu_has $believes" >>"$RAW"
	lv destroy vcbench >/dev/null
}

# vc_round_trips KEY: the QMP round trips the last vcpuctl run reported
# (--stats, on its stderr), all of them: the audit records' queries too
vc_round_trips()
{
	echo "qmp:$1 $(sed -n 's/.*qmp_round_trips=\([0-9]*\).*/\1/p' "$W/err" | tail -n 1)" >>"$RAW"
}

round_vcpuctl()
{
	local p=$1
	vm_start --smp 1,maxcpus=8
	vm_console_mark
	timed "${p}vc_plug" "$VC" set --count 8 --stats -s "$VM_SOCK"
	vc_round_trips "${p}vc_plug"
	vm_console_wait '^VCPUCTL-CPUS-ONLINE 0-7$' 60 >/dev/null || true
	sleep 0.3
	vm_console_mark
	timed "${p}vc_unplug" "$VC" set --count 1 --stats -s "$VM_SOCK"
	vc_round_trips "${p}vc_unplug"
	vm_console_wait '^VCPUCTL-CPUS-ONLINE 0$' 60 >/dev/null || true
	local qemu_has believes
	qemu_has=$(vm_qmp query-cpus-fast | jq length)
	believes=$("$VC" count --json -s "$VM_SOCK" | jq .online)
	echo "state:${p}vc $qemu_has $believes" >>"$RAW"
	vm_stop
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 0 "$ROUNDS"); do
	p=""
	[ "$r" -eq 0 ] && p=warm-
	say "round $r of $ROUNDS${p:+ (warm-up, not counted)}"
	if [ $((r % 2)) -eq 0 ]; then
		round_libvirt "$p"
		round_vcpuctl "$p"
	else
		round_vcpuctl "$p"
		round_libvirt "$p"
	fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
{
	echo "### vcpuctl and libvirt side by side, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $CPU, $(nproc) CPUs, Linux $(uname -r); $("$QEMU" --version | head -n 1), TCG;" \
	     "libvirt $LV_VERSION (virsh setvcpus --live); load average $LOAD_BEFORE before," \
	     "$LOAD_AFTER after. $ROUNDS rounds on fresh guests, alternating which tool goes first;" \
	     "wall time of whole processes, median (min-max)."
	echo
	python3 tests/bench/libvirt_report.py "$RAW"
} >"$OUT/libvirt.md"
cat "$OUT/libvirt.md"
