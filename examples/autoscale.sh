#!/bin/bash
# autoscale.sh - scale one VM's vCPUs between a minimum and a maximum from
# the load of its vCPU threads, with hysteresis.  Meant to run once a
# minute (cron, or the systemd timer beside it); each run:
#
#   1. asks vcpuctl for the VM's online vCPUs and their host thread ids;
#   2. samples utime+stime of each thread from /proc/PID/task/TID/stat
#      twice, --interval seconds apart, and averages the busy share;
#   3. decides "up" (busy >= --high), "down" (busy <= --low) or "hold";
#   4. acts only after --streak runs in a row decided the same way (the
#      streak lives in --state), so one spike does not plug a vCPU;
#   5. runs "vcpuctl set --count +1 --max MAX" or "--count -1 --min MIN",
#      which clamp at the bounds instead of failing (with --spread, each
#      step also takes "--spread nodes": on a VM with guest NUMA nodes it
#      plugs on the node with the fewest vCPUs and unplugs from the one
#      with the most, so the nodes stay even);
#   6. logs the decision (syslog with --syslog, else --log FILE or stderr).
#
# Usage: autoscale.sh --socket PATH --min N --max N [--high PCT] [--low PCT]
#          [--interval SEC] [--streak N] [--state FILE] [--log FILE]
#          [--syslog] [--dry-run] [--spread] [--vcpuctl PATH]
# Exit status: 0, or vcpuctl's when the change failed (see vcpuctl(1)).
set -u

VCPUCTL_BIN=${VCPUCTL_BIN:-vcpuctl}
socket=${VCPUCTL_SOCKET:-}
min= max= high=75 low=25 interval=5 streak=3
state= log= use_syslog= dry_run= spread=()

usage() {
	sed -n 's/^# \{0,1\}//; /^Usage:/,/^Exit/p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--socket) socket=$2; shift 2 ;;
	--min) min=$2; shift 2 ;;
	--max) max=$2; shift 2 ;;
	--high) high=$2; shift 2 ;;
	--low) low=$2; shift 2 ;;
	--interval) interval=$2; shift 2 ;;
	--streak) streak=$2; shift 2 ;;
	--state) state=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--syslog) use_syslog=1; shift ;;
	--dry-run) dry_run=--dry-run; shift ;;
	--spread) spread=(--spread nodes); shift ;;
	--vcpuctl) VCPUCTL_BIN=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "autoscale.sh: unknown option '$1'" >&2; usage ;;
	esac
done
[ -n "$socket" ] && [ -n "$min" ] && [ -n "$max" ] || usage
for v in "$min" "$max" "$streak"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "autoscale.sh: '$v' is not a whole number" >&2; exit 2; }
done
[ "$min" -le "$max" ] || { echo "autoscale.sh: --min $min is above --max $max" >&2; exit 2; }
state=${state:-/var/lib/vcpuctl-autoscale/$(basename "$socket").state}

say() {
	local line
	line="$(date '+%Y-%m-%dT%H:%M:%S') vm=$socket $*"
	if [ -n "$use_syslog" ]; then
		logger -t vcpuctl-autoscale -- "$line"
	elif [ -n "$log" ]; then
		printf '%s\n' "$line" >> "$log"
	else
		printf '%s\n' "$line" >&2
	fi
}

# cpu_ticks TID...: utime + stime of all the threads, in clock ticks.  The
# thread's process is found from /proc/TID/status, so the path read is
# /proc/PID/task/TID/stat; fields 14 and 15 come after the ")" that ends
# the command name (which may hold blanks).
cpu_ticks() {
	local tid pid sum=0 rest
	for tid in "$@"; do
		pid=$(awk '/^Tgid:/ { print $2 }' "/proc/$tid/status" 2>/dev/null) || return 1
		[ -n "$pid" ] || return 1
		rest=$(sed 's/^.*) //' "/proc/$pid/task/$tid/stat") || return 1
		# after the name: state is field 3, so utime/stime are 12 and 13 here
		sum=$((sum + $(awk '{ print $12 + $13 }' <<<"$rest")))
	done
	echo "$sum"
}

show=$("$VCPUCTL_BIN" show --json --socket "$socket") || {
	rc=$?
	say "decision=none error=\"vcpuctl show failed with exit $rc\""
	exit "$rc"
}
online=$(jq -r .online <<<"$show")
mapfile -t tids < <(jq -r '.vcpus[] | select(.online and .thread_id != null) | .thread_id' <<<"$show")
if [ "${#tids[@]}" -eq 0 ]; then
	say "online=$online decision=none error=\"QEMU reports no vCPU threads\""
	exit 0
fi

hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "${tids[@]}") || { say "decision=none error=\"a vCPU thread went away while sampling\""; exit 0; }
sleep "$interval"
t1=$(cpu_ticks "${tids[@]}") || { say "decision=none error=\"a vCPU thread went away while sampling\""; exit 0; }
busy=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$interval" -v n="${#tids[@]}" \
	'BEGIN { printf "%.1f", 100 * d / (hz * s * n) }')

decision=hold
if awk -v b="$busy" -v h="$high" 'BEGIN { exit !(b >= h) }' && [ "$online" -lt "$max" ]; then
	decision=up
elif awk -v b="$busy" -v l="$low" 'BEGIN { exit !(b <= l) }' && [ "$online" -gt "$min" ]; then
	decision=down
fi

# Hysteresis: the same decision this many runs in a row.
last= count=0
if [ -r "$state" ]; then
	read -r last count < "$state" || true
	[[ ${count:-} =~ ^[0-9]+$ ]] || count=0
fi
if [ "$decision" = "$last" ]; then
	count=$((count + 1))
else
	count=1
fi

act=
if [ "$decision" != hold ] && [ "$count" -ge "$streak" ]; then
	act=1
	count=0
fi
mkdir -p "$(dirname "$state")"
printf '%s %s\n' "$decision" "$count" > "$state"

if [ -z "$act" ]; then
	say "online=$online busy=${busy}% high=$high low=$low decision=$decision streak=$count/$streak action=none"
	exit 0
fi

if [ "$decision" = up ]; then
	args=(set --count +1 --max "$max" "${spread[@]}")
else
	args=(set --count -1 --min "$min" "${spread[@]}")
fi
out=$("$VCPUCTL_BIN" "${args[@]}" $dry_run --socket "$socket" --json 2>&1)
rc=$?
to=$(jq -r 'select(type == "object") | .to // empty' <<<"$out" 2>/dev/null | tail -n 1)
say "online=$online busy=${busy}% high=$high low=$low decision=$decision streak=$streak/$streak" \
	"action=\"vcpuctl ${args[*]}${dry_run:+ $dry_run}\" target=${to:-?} exit=$rc"
exit "$rc"
