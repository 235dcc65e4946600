#!/usr/bin/env bash
# tests/fuzz/run.sh - run each libFuzzer target for a bounded time.
#
#   tests/fuzz/run.sh BINDIR SECONDS TARGET...      (make fuzz runs it)
#
# One target at a time, at nice 19 (the machine is shared).  Each starts
# from its seeds (tests/fuzz/corpus/T/) and regression inputs
# (tests/fuzz/regress/T/); inputs it finds go to BINDIR/corpus/T/, so the
# repo's corpus only changes when someone copies a useful input over.  A
# crash leaves BINDIR/crashes/T/crash-*; the script then fails and says how
# to keep it as a regression case.  Per-target logs: BINDIR/T.log.
set -euo pipefail

bindir=$1 secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
failed=()

for t in "$@"; do
	work=$bindir/corpus/$t
	crashes=$bindir/crashes/$t
	mkdir -p "$work" "$crashes"
	seeds=()
	for d in "$here/corpus/$t" "$here/regress/$t"; do
		[ -d "$d" ] && seeds+=("$d")
	done
	# The QMP session target replays whole conversations: give it room.
	max_len=65536
	[ "$t" = fuzz_cpulist ] && max_len=4098
	echo "fuzz: $t for ${secs}s (log: $bindir/$t.log)"
	if nice -n 19 "$bindir/$t" -max_total_time="$secs" -timeout=20 \
		-rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$work" "${seeds[@]}" \
		>"$bindir/$t.log" 2>&1; then
		grep -E '^stat::number_of_executed_units' "$bindir/$t.log" | sed "s/^/fuzz: $t: /" || true
	else
		failed+=("$t")
		tail -n 40 "$bindir/$t.log"
		echo "fuzz: $t FAILED; reproducer(s):" "$crashes"/* >&2
		echo "fuzz: keep each fixed one as tests/fuzz/regress/$t/<name>" >&2
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failures in: ${failed[*]}" >&2
	exit 1
fi
