#!/usr/bin/env bash
# tests/fuzz/make-seeds.sh - (re)build tests/fuzz/corpus/ from the captures.
#
#   tests/fuzz/make-seeds.sh [CAPTURES]   (default ../shared/qmp-captures)
#   tests/fuzz/make-seeds.sh --agent      (fuzz_agent's seeds alone)
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

# agent: the first byte picks the flow and the delivery (0 get-vcpus,
# 1 match to vCPUs, 2 set-vcpus, 3 offline-first; +4 the end is a
# timeout, +8 all in one read, +0x10/0x20/0x30 reads of 1/3/7 bytes; see
# fuzz_agent.c), then the agent's side, a line per read: the sync answer
# (id 4243, what fuzz_agent.c's getrandom() makes) and replies.
agent_seeds() {
	local d=$out/fuzz_agent sync='\xff{"return": 4243}\n' gcpus i
	rm -rf "$d"
	mkdir -p "$d"
	gcpus='{"return": [{"online": true, "can-offline": false, "logical-id": 0}, {"online": true, "can-offline": true, "logical-id": 1}, {"online": false, "can-offline": true, "logical-id": 2}, {"online": true, "can-offline": true, "logical-id": 3}]}\n'
	# The file reads of the match: one path per guest CPU, in order.
	paths() {		# paths CONTENT...
		local n=1000 p
		for p in "$@"; do
			printf '{"return": %d}\n{"return": {"count": 16, "buf-b64": "%s", "eof": true}}\n{"return": {}}\n' \
				$((n++)) "$(printf '%b' "$p" | base64 -w0)"
		done
	}
	acpi=('\\_SB_.CPUS.C000\n' '\\_SB_.CPUS.C001\n' '\\_SB_.CPUS.C002\n' '\\_SB_.CPUS.C003\n')

	# guest-sync-delimited: stale data, sentinels, the answer cut up.
	printf '\x00garbage\xff{"return": 7}\n\xff{"return": 4243}\n{"return": []}\n' >"$d/stale-sync"
	printf '\x00{"return": 4243}\n\xff\xff\xff{"return": "4243"}\n\xff{"ret\xffurn": 4243}\n\xff{"return": 4243}\n{"return": []}\n' \
		>"$d/sync-sentinels"
	printf '\x00{"half": [1, \xff{"return": 4243, "extra": {"a": "\xff"}}\n{"return": []}\n' >"$d/sync-half-before"
	printf "\\x10$sync$gcpus" >"$d/sync-bytewise"
	printf "\\x30junk\\xff{\"return\": 9}\\n$sync$gcpus" >"$d/sync-chunks-7"
	printf "\\x08$sync$gcpus" >"$d/sync-flood-drops-replies"
	printf '\x04\xff{"return": 4243' >"$d/sync-cut-timeout"
	printf '\x00\xff{"return": 4243}}\n' >"$d/sync-stray-brace"
	# guest-get-vcpus: shapes that cannot be true.
	printf "\\x00$gcpus" >"$d/no-sync-answer"
	printf "\\x00$sync$gcpus" >"$d/get-vcpus"
	printf "\\x00$sync"'{"return": [{"online": true, "logical-id": 0}, {"online": false, "logical-id": 0}]}\n' >"$d/get-twice"
	printf "\\x00$sync"'{"return": [{"online": true, "logical-id": -1}, {"online": true, "logical-id": 2147483648}]}\n' >"$d/get-bad-ids"
	printf "\\x00$sync"'{"return": [{"online": "yes", "logical-id": 1}]}\n' >"$d/get-no-online"
	printf "\\x00$sync"'{"return": {"logical-id": 0}}\n' >"$d/get-not-list"
	printf "\\x00$sync"'{"return": [], "error": {"class": "X"}}\n' >"$d/get-both"
	printf "\\x00$sync"'{"error": {"desc": 5}}\n' >"$d/get-error-no-class"
	printf "\\x01$sync"'{"return": [{"online": false, "can-offline": true, "logical-id": 0}, {"online": false, "can-offline": true, "logical-id": 1}]}\n%s\n' \
		"$(paths "${acpi[@]:0:2}")" >"$d/view-all-offline"
	printf "\\x01$sync"'{"return": []}\n' >"$d/view-none"
	printf "\\x01$sync"'{"return": [{"online": true, "can-offline": true, "logical-id": 0}, {"online": true, "can-offline": true, "logical-id": 1}, {"online": true, "can-offline": true, "logical-id": 2}, {"online": true, "can-offline": true, "logical-id": 3}, {"online": true, "can-offline": true, "logical-id": 4}, {"online": true, "can-offline": true, "logical-id": 9}]}\n%s\n' \
		"$(paths "${acpi[@]}" '\\_SB_.CPUS.C004\n' '\\_SB_.CPUS.C009\n')" >"$d/view-claims-more"
	# guest-set-vcpus: counts that lie.
	printf "\\x02$sync"'{"return": 2}\n' >"$d/set-vcpus-partial"
	printf "\\x02$sync"'{"error": {"class": "GenericError", "desc": "cannot offline"}}\n' >"$d/set-vcpus-error"
	printf "\\x02$sync"'{"return": 4}\n' >"$d/set-overcount"
	printf "\\x02$sync"'{"return": -1}\n' >"$d/set-negative"
	printf "\\x02$sync"'{"return": 1e3}\n' >"$d/set-real"
	printf "\\x02$sync"'{"return": 0}\n' >"$d/set-none-done"
	printf "\\x06$sync" >"$d/set-timeout"
	# The match through guest-file-*: paths that lie, sizes, base64.
	printf "\\x01$sync$gcpus%s\\n" "$(paths "${acpi[@]}")" >"$d/view-acpi"
	printf "\\x01$sync$gcpus"'{"error": {"class": "CommandNotFound", "desc": "disabled"}}\n' >"$d/view-identity"
	printf "\\x01$sync$gcpus%s\\n" "$(paths "${acpi[0]}" '\\_SB_.CPUS.C002\n' '\\_SB_.CPUS.C002\n' "${acpi[3]}")" >"$d/acpi-two-on-one"
	printf "\\x01$sync$gcpus%s\\n" "$(paths "${acpi[0]}" '\\_SB_.CPUS.C000\n' "${acpi[2]}" "${acpi[3]}")" >"$d/acpi-boot-vcpu"
	printf "\\x01$sync$gcpus%s\\n" "$(paths "${acpi[@]:0:3}" '\\_SB_.CPUS.C00A\n')" >"$d/acpi-slot-not-in-vm"
	printf "\\x01$sync$gcpus%s\\n" "$(paths '\\_SB_.CPUS.CFFFFFFFF' '\\_SB_.CPUS.C-01' 'C' '\\_SB_.SCK0.C001 trailing')" >"$d/acpi-names-not-qemus"
	printf "\\x01$sync$gcpus%s\\n" "$(paths '' '\\_SB_.CPUS.C001' "${acpi[2]}" "${acpi[3]}")" >"$d/acpi-empty-no-newline"
	{ printf "\\x01$sync$gcpus"
	  printf '{"return": 1000}\n{"return": {"count": 99999, "buf-b64": "XF9T!Ql8u\\nQ1BV*Uy5DMDAwCg===", "eof": false}}\n{"return": {}}\n'
	  printf '{"return": 1001}\n{"return": {"count": 16, "buf-b64": 5}}\n{"return": {}}\n'
	} >"$d/acpi-bad-base64"
	{ printf "\\x01$sync$gcpus"
	  printf '{"return": "handle"}\n'
	} >"$d/acpi-handle-not-int"
	{ printf "\\x01$sync$gcpus"
	  printf '{"return": 9223372036854775807}\n{"return": {"count": 16, "buf-b64": "%s"}}\n{"error": {"class": "GenericError", "desc": "bad handle"}}\n' \
		"$(head -c 300 /dev/zero | tr '\0' 'C' | base64 -w0)"
	} >"$d/acpi-long-content-close-fails"
	{ printf "\\x01$sync$gcpus%s\\n" "$(paths "${acpi[0]}")"
	  printf '{"error": {"class": "GenericError", "desc": "open failed"}}\n'
	} >"$d/acpi-open-fails-midway"
	# offline-first of vCPUs 1-3: match, offline, match again (paths
	# cached).
	off='{"return": [{"online": true, "can-offline": false, "logical-id": 0}, {"online": false, "can-offline": true, "logical-id": 1}, {"online": false, "can-offline": true, "logical-id": 2}, {"online": false, "can-offline": true, "logical-id": 3}]}\n'
	printf "\\x03$sync$gcpus%s\n"'{"return": 2}\n'"$off" "$(paths "${acpi[@]}")" >"$d/offline-first"
	printf "\\x03$sync$gcpus%s\n"'{"return": 2}\n'"$gcpus" \
		"$(paths "${acpi[0]}" '\\_SB_.CPUS.C003\n' "${acpi[2]}" '\\_SB_.CPUS.C001\n')" >"$d/offline-first-swapped"
	printf "\\x03$sync$gcpus%s\n"'{"return": 2}\n'"$off" \
		"$(paths '\\_SB_.CPUS.C002\n' "${acpi[1]}" '\\_SB_.CPUS.C000\n' "${acpi[3]}")" >"$d/offline-first-cpu0-elsewhere"
	printf "\\x03$sync$gcpus"'{"error": {"class": "CommandNotFound", "desc": "disabled"}}\n'"$gcpus" >"$d/offline-first-identity"
	printf "\\x03$sync$gcpus%s\n"'{"return": 5}\n' "$(paths "${acpi[@]}")" >"$d/offline-first-overcount"
	printf "\\x03$sync$gcpus%s\n"'{"error": {"class": "GenericError", "desc": "busy"}}\n'"$gcpus" "$(paths "${acpi[@]}")" >"$d/offline-first-refused"
	printf "\\x07$sync$gcpus%s" "$(paths "${acpi[@]:0:2}")" >"$d/offline-first-timeout-resync"
	# online-after-plug of vCPUs 4-5: the guest lists them offline, is
	# asked, lists them online; or never sees them; or refuses.
	plugged='{"return": [{"online": true, "can-offline": false, "logical-id": 0}, {"online": true, "can-offline": true, "logical-id": 1}, {"online": false, "can-offline": true, "logical-id": 2}, {"online": true, "can-offline": true, "logical-id": 3}, {"online": false, "can-offline": true, "logical-id": 4}, {"online": false, "can-offline": true, "logical-id": 5}]}\n'
	onl='{"return": [{"online": true, "can-offline": false, "logical-id": 0}, {"online": true, "can-offline": true, "logical-id": 1}, {"online": false, "can-offline": true, "logical-id": 2}, {"online": true, "can-offline": true, "logical-id": 3}, {"online": true, "can-offline": true, "logical-id": 4}, {"online": true, "can-offline": true, "logical-id": 5}]}\n'
	printf "\\x40$sync$plugged%s\n"'{"return": 2}\n'"$onl" \
		"$(paths "${acpi[@]}" '\\_SB_.CPUS.C004\n' '\\_SB_.CPUS.C005\n')" >"$d/online-after-plug"
	printf "\\x40$sync$plugged%s\n"'{"return": 2}\n'"$onl" \
		"$(paths "${acpi[@]}" '\\_SB_.CPUS.C005\n' '\\_SB_.CPUS.C004\n')" >"$d/online-after-plug-swapped"
	printf "\\x40$sync$gcpus%s\n$gcpus$gcpus" "$(paths "${acpi[@]}")" >"$d/online-after-plug-not-seen"
	printf "\\x40$sync$plugged%s\n"'{"error": {"class": "GenericError", "desc": "no"}}\n'"$plugged" \
		"$(paths "${acpi[@]}" '\\_SB_.CPUS.C004\n' '\\_SB_.CPUS.C005\n')" >"$d/online-after-plug-refused"
	printf "\\x40$sync$plugged%s\n"'{"return": 1}\n'"$plugged" \
		"$(paths "${acpi[@]}" '\\_SB_.CPUS.C004\n' '\\_SB_.CPUS.C004\n')" >"$d/online-after-plug-two-on-one"
	printf "\\x40$sync$plugged"'{"error": {"class": "CommandNotFound", "desc": "disabled"}}\n{"return": 2}\n'"$onl" >"$d/online-after-plug-identity"
	# match twice: the second reads only the paths of CPUs it has not seen.
	printf "\\x41$sync$gcpus%s\n$plugged%s\n" "$(paths "${acpi[@]}")" \
		"$(paths '\\_SB_.CPUS.C004\n' '\\_SB_.CPUS.C005\n')" >"$d/view-twice-cached"
	printf "\\x41$sync$plugged%s\n$gcpus" "$(paths "${acpi[@]}" '\\_SB_.CPUS.C004\n' '\\_SB_.CPUS.C005\n')" >"$d/view-twice-cpus-gone"
}
if [ "${1:-}" = --agent ]; then
	agent_seeds
	echo "seeds: fuzz_agent: $(ls "$out/fuzz_agent" | wc -l)"
	exit 0
fi

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
agent_seeds

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
