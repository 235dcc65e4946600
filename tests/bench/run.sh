#!/usr/bin/env bash
# tests/bench/run.sh GUESTDIR - "make bench": vcpuctl against the protocol
# floor, on a real QEMU TCG guest and on the fake server's big topologies.
#
# A benchmark, not a test: it prints one markdown table of medians and
# min-max over BENCH_ROUNDS rounds (default 7) and writes it, with the
# date, kernel, CPU and QEMU it came from, to $VCPUCTL_BUILD/bench/latest.md.
# It fails only when a measured command fails.  Every figure is the wall
# time of a whole process (fork and exec included), taken by runtime.c.
#
# One guest serves every VM round.  QEMU 10 TCG creates at most maxcpus
# vCPU threads over a VM's life (LAB.md), so maxcpus covers every plug of
# every round: 22 per round (7 + 7 + 7 + 1), a warm-up round included.
set -euo pipefail
cd "$(dirname "$0")/../.."

GUEST=${1:-build/guest}
ROUNDS=${BENCH_ROUNDS:-7}
VC=${VCPUCTL:-$PWD/vcpuctl}
BUILD=${VCPUCTL_BUILD:-$PWD/build}
BIN=$BUILD/tools/bench
OUT=$BUILD/bench
PLUGS_PER_ROUND=22
MAXCPUS=$((1 + (ROUNDS + 1) * PLUGS_PER_ROUND))

if [ "$MAXCPUS" -gt 288 ]; then
	echo "bench: BENCH_ROUNDS=$ROUNDS needs maxcpus $MAXCPUS; q35 allows 288" >&2
	exit 2
fi
for f in "$VC" "$BIN/runtime" "$BIN/floor"; do
	[ -x "$f" ] || { echo "bench: $f missing (make all)" >&2; exit 1; }
done

mkdir -p "$OUT"
RAW=$OUT/raw.txt
: >"$RAW"
# Short socket paths: sun_path holds 108 bytes.
TMPDIR=$(mktemp -d /tmp/vcbench.XXXXXX)
export TMPDIR VCPUCTL_GUEST=$GUEST
# shellcheck source=tests/lib/vm.bash
source tests/lib/vm.bash
# shellcheck source=tests/lib/fake.bash
source tests/lib/fake.bash
cleanup() { vm_stop; fake_stop; rm -rf "$TMPDIR"; }
trap cleanup EXIT

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# measure KEY PROGRAM [ARG...]: time one run; record "KEY WALL_MS RSS_KIB"
# and the round trips the program reported.  KEY "-" records nothing.
measure()
{
	local key=$1 line wall rss status rt
	shift
	line=$("$BIN/runtime" "$TMPDIR/out" "$TMPDIR/err" -- "$@")
	read -r wall rss status <<<"$line"
	if [ "$status" -ne 0 ]; then
		echo "bench: '$*' exited $status:" >&2
		cat "$TMPDIR/err" >&2
		exit 1
	fi
	[ "$key" = - ] && return 0
	echo "$key $wall $rss" >>"$RAW"
	# A change's own round trips; the audit record's two queries after it
	# are in the wall time, not in this count (vcpuctl(1), --stats).
	rt=$(sed -n 's/.*change_round_trips=\([0-9]*\).*/\1/p' "$TMPDIR/err" | tail -n 1)
	[ -n "$rt" ] || rt=$(sed -n 's/.*qmp_round_trips=\([0-9]*\).*/\1/p' "$TMPDIR/err" | tail -n 1)
	[ -z "$rt" ] || echo "rt:$key $rt" >>"$RAW"
}

# online_wait LIST: the guest reports exactly LIST online (after the last
# vm_console_mark), then a moment for its CPU watcher to go quiet.
online_wait()
{
	vm_console_wait "^VCPUCTL-CPUS-ONLINE $1\$" 60 >/dev/null
	sleep 0.3
}

echo "bench: start-up" >&2
for i in $(seq 3); do measure - "$VC" --version; done
for i in $(seq 21); do measure startup "$VC" --version; done

echo "bench: topology at scale (fake server)" >&2
# sockets cores threads: 8, 288, 1024 and 8192 vCPUs, all online.  Thread
# ids above any pid, so none can equal the fake's own pid (vcpuctl would
# then warn of single-threaded TCG).
for shape in "1 8 1" "2 72 2" "4 128 2" "8 512 2"; do
	read -r s c t <<<"$shape"
	n=$((s * c * t))
	printf '{"synthetic": {"sockets": %d, "cores": %d, "threads": %d, "online": %d, "thread_id_base": 1000000000}}\n' \
		"$s" "$c" "$t" "$n" >"$TMPDIR/topo$n.json"
	fake_start "$TMPDIR/topo$n.json"
	# The first run fills the fake's reply cache.
	measure - "$VC" show --json -s "$FAKE_SOCK"
	echo "bytes$n $(wc -c <"$TMPDIR/out")" >>"$RAW"
	for i in $(seq "$ROUNDS"); do
		measure "show$n" "$VC" show --json --stats -s "$FAKE_SOCK"
		measure "fakeq$n" "$BIN/floor" queries "$FAKE_SOCK"
	done
	fake_stop
done

# Plug 1->8 and unplug 8->1 with vcpuctl, then with the floor client
# (removing one by one): round_vcpuctl PREFIX, round_floor PREFIX.
round_vcpuctl()
{
	vm_console_mark
	measure "${1}plug_vc" "$VC" set --count 8 --stats -s "$VM_SOCK"
	online_wait 0-7
	vm_console_mark
	measure "${1}unplug_vc" "$VC" set --count 1 --stats -s "$VM_SOCK"
	online_wait 0
}

round_floor()
{
	vm_console_mark
	measure "${1}plug_floor" "$BIN/floor" plug "$VM_SOCK" 8
	online_wait 0-7
	vm_console_mark
	measure "${1}unplug_1by1" "$BIN/floor" unplug1by1 "$VM_SOCK" 1
	online_wait 0
}

echo "bench: booting a guest with maxcpus=$MAXCPUS" >&2
vm_start --smp "1,maxcpus=$MAXCPUS"
for r in $(seq 0 "$ROUNDS"); do
	p=""
	[ "$r" -eq 0 ] && p=warm-
	echo "bench: VM round $r of $ROUNDS${p:+ (warm-up, not counted)}" >&2

	# vcpuctl and the floor take turns at going first, so that neither
	# always meets a guest that has just been busy.
	if [ $((r % 2)) -eq 0 ]; then
		round_vcpuctl "$p"
		round_floor "$p"
	else
		round_floor "$p"
		round_vcpuctl "$p"
	fi

	vm_console_mark
	measure - "$VC" set --count 8 -s "$VM_SOCK"
	online_wait 0-7
	vm_console_mark
	measure "${p}unplug_bulkfloor" "$BIN/floor" unplugbulk "$VM_SOCK" 1
	cp "$TMPDIR/err" "$OUT/eject-timeline.txt"
	online_wait 0

	vm_console_mark
	measure - "$VC" set --count 2 -s "$VM_SOCK"
	online_wait 0-1
	vm_console_mark
	measure "${p}unplug_single" "$VC" set --count 1 --stats -s "$VM_SOCK"
	online_wait 0
done
vm_stop

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
NCPU=$(nproc)
QEMU_VER=$("${QEMU:-qemu-system-x86_64}" --version | head -n 1)
{
	echo "### vcpuctl benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $CPU, $NCPU CPUs, Linux $(uname -r); $QEMU_VER, TCG;" \
	     "load average $LOAD_BEFORE before, $LOAD_AFTER after." \
	     "$ROUNDS rounds; wall time of whole processes, median (min-max)."
	echo
	python3 tests/bench/report.py "$RAW" "$OUT/eject-timeline.txt"
} >"$OUT/latest.md"
cat "$OUT/latest.md"
