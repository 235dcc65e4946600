#!/usr/bin/env bash
# tests/fuzz/make-seeds.sh - (re)build tests/fuzz/corpus/ from the captures.
#
#   tests/fuzz/make-seeds.sh [CAPTURES]   (default ../shared/qmp-captures)
#
# fuzz_topology and fuzz_jsonstream get the captured replies; fuzz_qmp gets
# whole conversations as vcpuctl sees them, recorded with VCPUCTL_QMP_TRACE
# while ./vcpuctl runs show, set and wait against the fake QMP server; so
# its seeds carry the ids vcpuctl really sends.  Needs ./vcpuctl built.
set -euo pipefail
cd "$(dirname "$0")/../.."
caps=${1:-../shared/qmp-captures}
[ -d "$caps" ] || caps=tests/fixtures/captures
out=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'kill "$fpid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
fpid=
rm -rf "$out"
mkdir -p "$out"/fuzz_{cpulist,jsonstream,topology,qmp}

# cpulist: two bytes of limit (little endian, +1), then the text.
n=0
for spec in "7 0-3,^2" "7 5" "15 4-7" "15 0-7,^2" "15 1,3,5" "255 0-65535" \
	    "255 ^1" "7 4-x" "7 7-3" "15 1,,2" "255 0-255,^0-254" "0 0"; do
	lim=${spec%% *} text=${spec#* }
	printf "\\x$(printf %02x "$lim")\\x00%s" "$text" >"$out/fuzz_cpulist/seed$((n++))"
done

# topology: every capture pair, with a pid, a count and a list.
for hp in "$caps"/libvirt/*-hotplug.json "$caps"/*-hotplug.json; do
	[ -f "$hp" ] || continue
	cf=${hp%-hotplug.json}-cpus.json
	[ -f "$cf" ] || continue
	name=$(basename "${hp%-hotplug.json}")
	jq -c --slurpfile c "$cf" '{hotpluggable: .return, cpus_fast: $c[0].return,
		pid: 1, count: 2, list: "1-2"}' "$hp" >"$out/fuzz_topology/$name"
	# jsonstream: the raw capture (pretty-printed, many lines) read 7
	# bytes at a time, and both replies back to back read 256 at a time.
	{ printf '\x06'; cat "$hp"; } >"$out/fuzz_jsonstream/$name-pretty"
	{ printf '\xff'; jq -c . "$hp"; printf '\r\n'; jq -c . "$cf"; } \
		>"$out/fuzz_jsonstream/$name-compact"
done
# jsonstream: a real QEMU 7.2 session, as received.
for log in "$caps"/qemu-7.2-x86/*.log; do
	[ -f "$log" ] || continue
	{ printf '\x3f'; sed -n 's/^< //p' "$log" | sed 's/$/\r/'; } \
		>"$out/fuzz_jsonstream/$(basename "$log" .log)"
done

# qmp: first byte picks the flow (0 show, 1 plug to max, 2 unplug to 1,
# 3 wait; see fuzz_qmp.c), then what the fake said, recorded.
record() {		# record NAME MODE SCENARIO-JSON SETUP-ARGS -- ARGS
	local name=$1 mode=$2 scen=$3
	shift 3
	local setup=()
	while [ "$1" != -- ]; do setup+=("$1"); shift; done
	shift
	printf '%s\n' "$scen" >"$tmp/scen.json"
	rm -f "$tmp/sock"
	python3 tests/fake/fakeqmp.py --socket "$tmp/sock" --scenario "$tmp/scen.json" &
	fpid=$!
	for _ in $(seq 200); do [ -S "$tmp/sock" ] && break; sleep 0.02; done
	if [ ${#setup[@]} -gt 0 ]; then
		VCPUCTL_SOCKET=$tmp/sock ./vcpuctl "${setup[@]}" -q >/dev/null 2>&1 || true
		VCPUCTL_SOCKET=$tmp/sock ./vcpuctl wait -q >/dev/null 2>&1 || true
	fi
	: >"$tmp/trace"
	VCPUCTL_SOCKET=$tmp/sock VCPUCTL_QMP_TRACE=$tmp/trace ./vcpuctl "$@" >/dev/null 2>&1 || true
	kill "$fpid"; wait "$fpid" 2>/dev/null || true
	fpid=
	# The trace starts after qmp_open(): add what it read before.
	{ printf "\\x$(printf %02x "$mode")"
	  printf '{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": ["oob"]}}\r\n'
	  printf '{"return": {}, "id": "vc-1"}\r\n'
	  sed -n 's/^< //p' "$tmp/trace" | sed 's/$/\r/'; } \
		>"$out/fuzz_qmp/$name"
}
x86='{"synthetic": {"sockets": 2, "cores": 2, "threads": 2, "online": 2}'
ppc='{"synthetic": {"sockets": 1, "cores": 4, "threads": 8, "vcpus_count": 8, "online": 8}, "deleted_event": "children", "events_before_reply": true'
dies='{"hotpluggable": "captures/qemumonitorjson-cpuinfo-x86-dies-hotplug.json", "cpus_fast": "captures/qemumonitorjson-cpuinfo-x86-dies-cpus.json"'
s390='{"hotpluggable": "captures/qemumonitorjson-cpuinfo-s390-fast-hotplug.json", "cpus_fast": "captures/qemumonitorjson-cpuinfo-s390-fast-cpus.json", "unplug": "unsupported"'
record show-x86 0 "$x86}" -- show
record show-dies 0 "$dies}" -- show
record show-s390 0 "$s390}" -- show
record plug-x86 1 "$x86}" -- set --count 8
record plug-ppc 1 "$ppc}" -- set --count 32
record plug-fail 1 "$x86, \"fail\": [{\"command\": \"device_add\", \"nth\": 3}]}" -- set --count 8
record unplug-x86 2 "$x86}" set --count 6 -- set --count 2
record unplug-x86-device 2 "$x86, \"deleted_event\": \"both\"}" set --count 6 -- set --count 2
record unplug-ppc 2 "$ppc}" set --count 24 -- set --count 8
record unplug-reject 2 "$x86, \"unplug\": \"reject\"}" set --count 4 -- set --count 2
record unplug-guest-error 2 "$x86, \"unplug\": \"guest-error\"}" set --count 4 -- set --count 2
record unplug-s390 2 "$s390}" -- set --count 1
record wait-pending 3 "$x86, \"unplug\": \"pending\"}" set --count 4 -- wait
record wait-reject 3 "$x86, \"unplug\": \"reject\"}" set --count 4 -- wait
# agent: first byte picks the flow (0 guest-get-vcpus, 1 match to vCPUs,
# 2 guest-set-vcpus; see fuzz_agent.c), then the agent's side: the sync
# answer (id 4243, what fuzz_agent.c's getrandom() makes) and replies.
mkdir -p "$out/fuzz_agent"
sync='\xff{"return": 4243}\n'
gcpus='{"return": [{"online": true, "can-offline": false, "logical-id": 0}, {"online": true, "can-offline": true, "logical-id": 1}, {"online": false, "can-offline": true, "logical-id": 2}, {"online": true, "can-offline": true, "logical-id": 3}]}\n'
printf "\x00$sync$gcpus" >"$out/fuzz_agent/get-vcpus"
printf "\x02$sync"'{"return": 2}\n' >"$out/fuzz_agent/set-vcpus-partial"
printf "\x02$sync"'{"error": {"class": "GenericError", "desc": "cannot offline"}}\n' >"$out/fuzz_agent/set-vcpus-error"
{
	printf "\x01$sync$gcpus"
	for i in 0 1 2 3; do
		b64=$(printf '\\_SB_.CPUS.C%03X\n' "$i" | base64 -w0)
		printf '{"return": %d}\n{"return": {"count": 16, "buf-b64": "%s", "eof": true}}\n{"return": {}}\n' \
			$((1000 + i)) "$b64"
	done
} >"$out/fuzz_agent/view-acpi"
printf "\x01$sync$gcpus"'{"error": {"class": "CommandNotFound", "desc": "disabled"}}\n' \
	>"$out/fuzz_agent/view-identity"
printf '\x00garbage\xff{"return": 7}\n\xff{"return": 4243}\n{"return": []}\n' \
	>"$out/fuzz_agent/stale-sync"

# discover: the command-line fixtures (one argument a line) as
# /proc/PID/cmdline holds them, and QEMU option-syntax corners.
mkdir -p "$out/fuzz_discover"
for f in tests/fixtures/cmdlines/*.args; do
	tr '\n' '\0' <"$f" >"$out/fuzz_discover/$(basename "$f" .args)"
done
printf 'qemu\0-qmp\0unix:/a,,b,server=on,wait=off\0-name\0guest=x,,y\0' \
	>"$out/fuzz_discover/escapes"
printf 'qemu\0-chardev\0socket,id=m,host=,port=1,server\0-mon\0m,mode=control\0-qmp\0tcp::\0-qmp\0unix:\0-qmp\0unix:=,\0-name' \
	>"$out/fuzz_discover/edges"

# pending: records as fuzz_pending.c's key expects them (socket 2049-4242,
# pid 4242, start 123456), whole, of another VM, of an earlier QEMU, and
# damaged in the ways a file is: cut short, overlapping, out of bounds.
mkdir -p "$out/fuzz_pending"
head='{"format":"vcpuctl-pending/1","socket":"2049-4242","qemu_pid":4242,"qemu_start":123456,"qemu_version":""'
e1='{"vcpu":1,"count":1,"device_id":"vcpu1","qom_path":"/machine/peripheral/vcpu1","requested_at":1764636000,"timeout_ms":5000}'
e2='{"vcpu":2,"count":1,"device_id":"vcpu2","qom_path":"/machine/peripheral/vcpu2","requested_at":1764636001,"timeout_ms":0}'
e3='{"vcpu":3,"count":1,"device_id":"vcpu3","qom_path":"/machine/peripheral/vcpu3","requested_at":1764636000,"timeout_ms":5000}'
printf '%s,"entries":[%s,%s]}\n' "$head" "$e1" "$e2" >"$out/fuzz_pending/two"
printf '%s,"entries":[%s,%s]}\n' "$head" "$e1" "$e3" >"$out/fuzz_pending/one-gone"
printf '%s,"entries":[]}\n' "$head" >"$out/fuzz_pending/empty"
printf '%s,"entries":[{"vcpu":0,"count":1,"device_id":"cpu0","qom_path":"/machine/unattached/device[0]","requested_at":1,"timeout_ms":1}]}\n' \
	"$head" >"$out/fuzz_pending/boot-cpu"
printf '%s,"entries":[{"vcpu":1,"count":2,"device_id":"vcpu1","qom_path":"/machine/peripheral/vcpu1","requested_at":1,"timeout_ms":1}]}\n' \
	"$head" >"$out/fuzz_pending/wrong-shape"
printf '%s,"entries":[%s,%s]}\n' "$head" "$e1" "$e1" >"$out/fuzz_pending/twice"
printf '%s,"entries":[%s,' "$head" "$e1" >"$out/fuzz_pending/cut-short"
printf '%s' "$head" | sed 's/4242,"qemu_start"/4243,"qemu_start"/' >"$out/fuzz_pending/earlier-qemu"
printf ',"entries":[%s]}\n' "$e1" >>"$out/fuzz_pending/earlier-qemu"
printf '%s' "$head" | sed 's/2049-4242/2049-4243/' >"$out/fuzz_pending/another-vm"
printf ',"entries":[%s]}\n' "$e1" >>"$out/fuzz_pending/another-vm"
printf '%s,"entries":[{"vcpu":1048575,"count":2,"device_id":"v\\u0007","qom_path":"x","requested_at":-1,"timeout_ms":1e3}]}\n' \
	"$head" >"$out/fuzz_pending/out-of-bounds"
printf '%s,"entries":[%s],"entries":[]}\n' "$head" "$e1" >"$out/fuzz_pending/duplicate-key"

for d in "$out"/*; do echo "seeds: $(basename "$d"): $(ls "$d" | wc -l)"; done
