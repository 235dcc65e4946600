#!/usr/bin/env bash
# tests/hostvm/run.sh [OPTIONS] [--] COMMAND [ARG...] - run COMMAND as root
# inside a VM that is a cgroup v2 host, and exit with its status.
#
# The VM (built by tests/hostvm/build.sh; see tests/hostvm/init) runs this
# machine's own / read-only over virtio-9p, so every installed program is
# there; the tree under test (--share, default the repository) is shared
# read-write at the same path, and COMMAND starts in the current directory
# (which must be inside it, or is replaced by it).  cgroup2 alone is mounted
# at /sys/fs/cgroup, with +cpu +cpuset enabled from the root.  The VM runs
# under TCG with 2 vCPUs, so a QEMU started inside is TCG in TCG: start it
# paused (-S) where a booted guest is not needed; a CPU device_add on a
# paused VM still makes a real vCPU thread.
#
# COMMAND's output (stdout and stderr together) is printed as it comes.
# Exit status: COMMAND's, or 125 when the VM did not run it to the end
# (boot failure, timeout, kernel panic; the console's tail is printed).
#
# Options:
#   --out DIR       the VM's build (vmlinux, initrd.gz): default
#                   $VCPUCTL_BUILD/hostvm, else build/hostvm
#   --share DIR     the directory shared read-write (default: the repository)
#   --timeout SECS  kill the VM after SECS (default 1800)
#   --smp N         vCPUs of the VM (default 2)
#   --mem MB        its memory (default 1024)
#   --append ARGS   more kernel command line
#   --env VAR=VALUE set VAR inside (repeatable); VCPUCTL* and BATS_*
#                   variables of the caller are passed on by themselves
#   --keep          keep the run's folder (console.log, cmd, output, status)
#
# Sharp edges inside (see init): no systemd, udev, network or /dev/log
# (syslog(3) goes nowhere; audit records appear only in dmesg); unix
# sockets only on tmpfs (/tmp, /run), never on the 9p paths; the root is
# cached, so host files changed during a run can look stale; the first exec
# of a big program is slow (cold 9p cache); HOME is /tmp.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${VCPUCTL_BUILD:+$VCPUCTL_BUILD/hostvm}
out=${out:-$top/build/hostvm}
share=$top
timeout=1800
smp=2
mem=1024
append=
keep=
envs=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--share) share=$(cd "$2" && pwd); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	--keep) keep=1; shift ;;
	--help|-h) usage ;;
	--) shift; break ;;
	-*) echo "hostvm: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
for f in vmlinux initrd.gz; do
	[ -f "$out/$f" ] || { echo "hostvm: no $out/$f (run make hostvm)" >&2; exit 125; }
done
case $share in *[[:space:]]*)
	echo "hostvm: the shared path '$share' holds white space" >&2; exit 125 ;;
esac

# The run's folder must be on the share, where the VM writes.
runs=$out/runs
case $runs/ in "$share"/*) ;; *) runs=$share/.hostvm-runs ;; esac
mkdir -p "$runs"
run=$(mktemp -d "$runs/run.XXXXXX")
cleanup() { [ -n "$keep" ] && echo "hostvm: kept $run" >&2 || rm -rf "$run"; }
trap cleanup EXIT

cwd=$PWD
case $cwd/ in "$share"/*) ;; *) cwd=$share ;; esac
{
	echo "cd $(printf %q "$cwd") || exit 125"
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	echo "export HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb HOSTVM=1 PYTHONDONTWRITEBYTECODE=1"
	while IFS= read -r v; do
		echo "export $(printf %q "$v")=$(printf %q "${!v}")"
	done < <(compgen -e | grep -E '^(VCPUCTL|BATS_)' | grep -vE '^BATS_(RUN|FILE|SUITE|TEST)_TMPDIR$' || true)
	for e in "${envs[@]}"; do
		echo "export ${e%%=*}=$(printf %q "${e#*=}")"
	done
	printf 'exec'
	printf ' %q' "$@"
	echo
} > "$run/cmd"
: > "$run/output"

start=$(date +%s.%N)
# fd 3 is bats' output channel when this runs under bats: QEMU must not
# hold it.
timeout --signal=KILL "$timeout" qemu-system-x86_64 \
	-machine q35,accel=tcg,smm=off -m "$mem" -smp "$smp" \
	-kernel "$out/vmlinux" -initrd "$out/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 mitigations=off cgroup_no_v1=all hostvm.share=$share hostvm.run=$run$append" \
	-no-reboot -nodefaults -display none -monitor none \
	-serial "file:$run/console.log" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$share,mount_tag=hostshare,security_model=none,multidevs=remap" \
	</dev/null >"$run/qemu.log" 2>&1 3>&- &
qpid=$!
tail -n +1 -f --pid=$qpid "$run/output" 3>&- || true
rc=0
wait $qpid || rc=$?
end=$(date +%s.%N)

ready=$(tr -d '\r' < "$run/console.log" | sed -n 's/^HOSTVM-READY //p')
done_up=$(tr -d '\r' < "$run/console.log" | sed -n 's/^HOSTVM-DONE [0-9]* //p')
if [ ! -s "$run/status" ]; then
	if [ $rc -eq 137 ]; then
		echo "hostvm: timed out after ${timeout}s" >&2
	else
		echo "hostvm: the VM ended (QEMU status $rc) without running the command to its end" >&2
	fi
	tr -d '\r' < "$run/console.log" | tail -n 30 >&2
	cat "$run/qemu.log" >&2
	exit 125
fi
status=$(cat "$run/status")
awk -v s="$start" -v e="$end" -v r="${ready:-0}" -v d="${done_up:-0}" \
	'BEGIN { printf "hostvm: booted in %.1f s (guest uptime), command %.1f s, %.1f s in all\n", r, d - r, e - s }' >&2
exit "$status"
