#!/usr/bin/env bats
# tests/cli/fake_selftest.bats - tests of the fake QMP server itself, driven
# by tests/lib/qmpclient.py, so CLI test failures can be trusted to be
# vcpuctl's and not the fake's.

load ../lib/fake

CAPS='{"execute": "qmp_capabilities"}'
HOT='{"execute": "query-hotpluggable-cpus", "id": "h"}'
FAST='{"execute": "query-cpus-fast", "id": "f"}'
OSPM='{"execute": "query-acpi-ospm-status", "id": "o"}'
X86=qemu64-x86_64-cpu

teardown()
{
	fake_stop
}

qmp()
{
	python3 "$QMPCLIENT" "$FAKE_SOCK" "$@"
}

# add ID SOCKET CORE THREAD -> a device_add command for the synthetic x86
add()
{
	printf '{"execute": "device_add", "id": "add-%s", "arguments": {"driver": "%s", "id": "%s", "socket-id": %d, "core-id": %d, "thread-id": %d}}' \
		"$1" "$X86" "$1" "$2" "$3" "$4"
}

del()
{
	printf '{"execute": "device_del", "id": "del-%s", "arguments": {"id": "%s"}}' "$1" "$1"
}

# reply ID: the message with that id in $output
reply()
{
	printf '%s\n' "$output" | jq -c --arg id "$1" 'select(.id == $id)'
}

events()
{
	printf '%s\n' "$output" | jq -c 'select(.event != null) | [.event, .data]'
}

@test "greeting, then capabilities are required before anything else" {
	fake_start q35-2s2c2t
	run qmp --raw "$FAST" "$CAPS" "$FAST"
	[ "$status" -eq 0 ]
	# every message ends in CRLF, like QEMU's
	[ "$(printf '%s\n' "$output" | grep -c $'\r$')" -eq 4 ]
	output=$(printf '%s\n' "$output" | tr -d '\r')
	[ "$(printf '%s\n' "$output" | head -1 | jq -c '.QMP.version.qemu')" = '{"micro":2,"minor":0,"major":10}' ]
	[ "$(printf '%s\n' "$output" | sed -n 2p | jq -r '.error.class + ": " + .error.desc + " " + .id')" = \
		"CommandNotFound: Expecting capabilities negotiation with 'qmp_capabilities' f" ]
	[ "$(printf '%s\n' "$output" | sed -n 3p)" = '{"return": {}}' ]
	[ "$(printf '%s\n' "$output" | sed -n 4p | jq '.return | length')" -eq 2 ]
	# negotiation is per connection: the next client must negotiate again
	run qmp "$CAPS" "$CAPS"
	[ "$(printf '%s\n' "$output" | sed -n 3p | jq -r .error.class)" = CommandNotFound ]
}

@test "unknown command and missing arguments give QEMU's errors" {
	fake_start q35-2s2c2t
	run qmp --caps '{"execute": "no-such-command", "id": 7}' \
		'{"execute": "device_del", "arguments": {}}' \
		'{"execute": "query-name"}' '{"execute": "query-status"}'
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -c 'select(.id == 7) | .error')" = \
		'{"class":"CommandNotFound","desc":"The command no-such-command has not been found"}' ]
	printf '%s\n' "$output" | grep -qF "Parameter 'id' is missing"
	printf '%s\n' "$output" | grep -qF '{"return": {"name": "fakevm"}}'
	printf '%s\n' "$output" | grep -qF '"status": "running"'
}

@test "device_add shows up in both queries and emits ACPI_DEVICE_OST" {
	fake_start q35-2s2c2t
	run qmp --caps "$(add vcpu2 0 1 0)" "$HOT" "$FAST"
	[ "$status" -eq 0 ]
	[ "$(reply add-vcpu2)" = '{"return":{},"id":"add-vcpu2"}' ]
	[ "$(events)" = '["ACPI_DEVICE_OST",{"info":{"device":"vcpu2","source":1,"status":0,"slot":"2","slot-type":"CPU"}}]' ]
	[ "$(reply h | jq -c '.return[] | select(.props == {"core-id":1,"thread-id":0,"socket-id":0}) | .["qom-path"]')" = '"/machine/peripheral/vcpu2"' ]
	reply f | jq -e '.return | length == 3'
	reply f | jq -e '[.return[]."thread-id"] | unique | length == 3'
	reply f | jq -e '[.return[]."cpu-index"] | unique | length == 3'
	reply f | jq -e '.return[] | select(."qom-path" == "/machine/peripheral/vcpu2") | .target == "x86_64" and .props == {"core-id":1,"thread-id":0,"socket-id":0}'
	# state persists across clients
	run qmp --caps "$(add vcpu2 1 0 0)" "$(add vcpu3 0 1 0)" "$(add vcpu9 9 0 0)"
	printf '%s\n' "$output" | grep -qF "Duplicate device ID 'vcpu2'"
	printf '%s\n' "$output" | grep -qF 'CPU[2] with APIC ID 2 exists'
	printf '%s\n' "$output" | grep -qF 'Invalid CPU socket-id: 9 must be in range 0:1'
	[ "$(fake_log_commands | grep -c '^device_add$')" -eq 4 ]
}

@test "device_add without id goes to peripheral-anon" {
	fake_start q35-2s2c2t
	run qmp --caps '{"execute": "device_add", "arguments": {"driver": "qemu64-x86_64-cpu", "socket-id": 1, "core-id": 0, "thread-id": 0}}' "$FAST"
	[ "$status" -eq 0 ]
	reply f | jq -e '.return[2]."qom-path" == "/machine/peripheral-anon/device[0]"'
	run qmp --caps '{"execute": "device_del", "id": "d", "arguments": {"id": "/machine/peripheral-anon/device[0]"}}' "$FAST"
	[ "$(reply d)" = '{"return":{},"id":"d"}' ]
	reply f | jq -e '.return | length == 2'
}

@test "device_del completes with the lapic DEVICE_DELETED only, as x86 QEMU does" {
	fake_start q35-2s2c2t
	run qmp --caps "$(add vcpu2 0 1 0)"
	run qmp --caps "$(del vcpu2)" "$(del /machine/unattached/device\[0\])" "$(del nosuch)" "$FAST" "$HOT"
	[ "$status" -eq 0 ]
	[ "$(events)" = '["ACPI_DEVICE_OST",{"info":{"device":"vcpu2","source":3,"status":132,"slot":"2","slot-type":"CPU"}}]
["DEVICE_DELETED",{"path":"/machine/peripheral/vcpu2/lapic"}]
["ACPI_DEVICE_OST",{"info":{"source":3,"status":0,"slot":"2","slot-type":"CPU"}}]' ]
	[ "$(reply 'del-/machine/unattached/device[0]' | jq -r .error.class)" = GenericError ]
	[ "$(reply del-nosuch | jq -c .error)" = '{"class":"DeviceNotFound","desc":"Device '"'nosuch'"' not found"}' ]
	reply f | jq -e '.return | length == 2'
	reply h | jq -e '[.return[] | select(."qom-path" != null)] | length == 2'
	# the id is free again
	run qmp --caps "$(add vcpu2 1 1 1)"
	[ "$(reply add-vcpu2)" = '{"return":{},"id":"add-vcpu2"}' ]
}

@test "reject mode: OST 128 and the CPU stays" {
	fake_start x86-reject
	run qmp --caps "$(add vcpu2 0 1 0)" "$(del vcpu2)" "$FAST" "$OSPM"
	[ "$status" -eq 0 ]
	events | grep -qxF '["ACPI_DEVICE_OST",{"info":{"device":"vcpu2","source":3,"status":128,"slot":"2","slot-type":"CPU"}}]'
	! events | grep -q DEVICE_DELETED
	reply f | jq -e '.return | length == 3'
	reply o | jq -e '.return[] | select(.device == "vcpu2") | .source == 3 and .status == 128'
}

@test "pending mode: nothing happens, ospm says eject in progress, repeat is ok" {
	fake_start x86-pending
	run qmp --caps "$(add vcpu2 0 1 0)" "$(del vcpu2)" "$(del vcpu2)" "$FAST" "$OSPM"
	[ "$status" -eq 0 ]
	[ "$(reply del-vcpu2 | jq -c .return | sort -u)" = '{}' ]
	[ "$(events | grep -c .)" -eq 1 ]	# only the plug's OST
	reply f | jq -e '.return | length == 3'
	reply o | jq -e '.return[] | select(.device == "vcpu2") | .source == 3 and .status == 132'
}

@test "guest-error mode emits DEVICE_UNPLUG_GUEST_ERROR" {
	fake_start x86-guest-error
	run qmp --caps "$(add vcpu2 0 1 0)" "$(del vcpu2)" "$FAST"
	events | grep -qxF '["DEVICE_UNPLUG_GUEST_ERROR",{"device":"vcpu2","path":"/machine/peripheral/vcpu2"}]'
	reply f | jq -e '.return | length == 3'
}

@test "unsupported mode (s390 capture) refuses device_del" {
	fake_start s390-unsupported
	run qmp --caps '{"execute": "device_add", "id": "a", "arguments": {"driver": "host-s390x-cpu", "id": "c1", "core-id": 1}}' \
		'{"execute": "device_del", "id": "d", "arguments": {"id": "/machine/unattached/device[1]"}}' "$FAST"
	[ "$status" -eq 0 ]
	[ "$(reply a | jq -r .error.class)" = GenericError ]
	[ "$(reply d | jq -r .error.desc)" = "CPU hot unplug not supported on this machine" ]
	# new vCPUs copy the capture's other fields (here cpu-state, arch)
	reply f | jq -e '.return | length == 2'
}

@test "slow unplug: other commands are served during the delay" {
	fake_start x86-slow-unplug
	run qmp --caps "$(add vcpu2 0 1 0)"
	t0=$EPOCHREALTIME
	run qmp --caps "$(del vcpu2)" "$FAST" --events 3
	t1=$EPOCHREALTIME
	[ "$status" -eq 0 ]
	# the query was answered before the removal, which came after >= 0.3 s
	reply f | jq -e '.return | length == 3'
	[ "$(printf '%s\n' "$output" | jq -r '.id // .event' | tr '\n' ' ')" = \
		"null null del-vcpu2 ACPI_DEVICE_OST f DEVICE_DELETED ACPI_DEVICE_OST " ]
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.3) }'
}

@test "stop keeps the unplug pending until cont" {
	fake_start q35-2s2c2t
	run qmp --caps "$(add vcpu2 0 1 0)" '{"execute": "stop"}' "$(del vcpu2)" "$FAST" \
		'{"execute": "query-status", "id": "s"}'
	[ "$status" -eq 0 ]
	! events | grep -q DEVICE_DELETED
	reply f | jq -e '.return | length == 3'
	reply s | jq -e '.return.running == false and .return.status == "paused"'
	run qmp --caps '{"execute": "cont"}' --events 4 "$FAST"
	[ "$status" -eq 0 ]
	[ "$(events | jq -r '.[0]' | tr '\n' ' ')" = "RESUME ACPI_DEVICE_OST DEVICE_DELETED ACPI_DEVICE_OST " ]
	reply f | jq -e '.return | length == 2'
}

@test "pseries: children DEVICE_DELETED arrive before the device_del reply" {
	fake_start ppc64-hotplug-1
	run qmp --caps '{"execute": "device_add", "id": "a", "arguments": {"driver": "host-spapr-cpu-core", "id": "core16", "core-id": 16}}' "$FAST"
	[ "$(reply a)" = '{"return":{},"id":"a"}' ]
	! events | grep -q ACPI
	reply f | jq -e '[.return[] | select(."qom-path" | startswith("/machine/peripheral/core16/thread["))] | length == 8'
	run qmp --caps "$(del vcpu0)" "$FAST"
	[ "$(printf '%s\n' "$output" | jq -r '.id // .data.path // "-"' | tr '\n' ' ')" = \
		"- - $(for i in 0 1 2 3 4 5 6 7; do printf '/machine/peripheral/vcpu0/thread[%d] ' $i; done)/machine/peripheral/vcpu0 del-vcpu0 f " ]
	printf '%s\n' "$output" | grep -qF '"data": {"device": "vcpu0", "path": "/machine/peripheral/vcpu0"}'
	reply f | jq -e '.return | length == 16'
}

@test "fail nth: the 3rd device_add fails and changes nothing" {
	fake_start x86-fail-3rd-add
	run qmp --caps "$(add vcpu2 0 1 0)" "$(add vcpu3 0 1 1)" "$(add vcpu4 1 0 0)" "$FAST" "$(add vcpu5 1 0 1)"
	[ "$status" -eq 0 ]
	[ "$(reply add-vcpu4 | jq -c .error)" = '{"class":"GenericError","desc":"injected: out of memory"}' ]
	reply f | jq -e '.return | length == 4'
	reply f | jq -e '[.return[] | select(."qom-path" == "/machine/peripheral/vcpu4")] | length == 0'
	[ "$(reply add-vcpu5)" = '{"return":{},"id":"add-vcpu5"}' ]
}

@test "close mid-reply: half a reply, then EOF; the next client is served" {
	fake_start x86-close-mid-reply
	run qmp --caps "$HOT"
	[ "$status" -eq 4 ]
	[[ "$output" == *"connection closed"* ]]
	[[ "$output" == *"partial message"* ]]
	run qmp --caps "$HOT"
	[ "$status" -eq 0 ]
	reply h | jq -e '.return | length == 8'
}

@test "close before reply with exit: the server dies like a crashed QEMU" {
	fake_start x86-die-on-2nd-add
	run qmp --caps "$(add vcpu2 0 1 0)" "$(add vcpu3 0 1 1)"
	[ "$status" -eq 4 ]
	[ "$(reply add-vcpu2)" = '{"return":{},"id":"add-vcpu2"}' ]
	[ -z "$(reply add-vcpu3)" ]
	for i in $(seq 100); do kill -0 "$FAKE_PID" 2>/dev/null || break; sleep 0.02; done
	! kill -0 "$FAKE_PID" 2>/dev/null
	[ -S "$FAKE_SOCK" ]	# left behind, as QEMU's is
	run qmp
	[ "$status" -eq 5 ]
}

@test "stall: the command never gets a reply" {
	fake_start x86-stall-cpus-fast
	run qmp --timeout 0.5 --caps "$FAST"
	[ "$status" -eq 3 ]
	[[ "$output" == *"timeout waiting for reply"* ]]
	run qmp --caps "$FAST"
	[ "$status" -eq 0 ]
	reply f | jq -e '.return | length == 2'
	[ "$(fake_log_commands | grep -c query-cpus-fast)" -eq 2 ]
}

@test "no greeting: the client times out waiting" {
	fake_start no-greeting
	run qmp --timeout 0.3
	[ "$status" -eq 3 ]
	[[ "$output" == *"timeout waiting for greeting"* ]]
}

@test "garbage after the greeting is sent verbatim" {
	fake_start garbage-after-greeting
	run qmp --raw --events 0 --hold 0.1 --timeout 0.5 '{"execute": "qmp_capabilities"}'
	[ "$(printf '%s\n' "$output" | sed -n 2p)" = $'}{ not json\r' ]
}

@test "raw reply with the request id substituted" {
	fake_start_json '{"synthetic": {"sockets": 1, "cores": 2, "threads": 1, "online": 1}, "raw": {"query-cpus-fast": "{\"return\": [{\"bogus\": true}], \"id\": {id}}\r\n"}}'
	run qmp --caps '{"execute": "query-cpus-fast", "id": "z9"}'
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | tail -1)" = '{"return": [{"bogus": true}], "id": "z9"}' ]
}

# Speed is the benchmark's business (make bench); this checks the content.
@test "synthetic 8192 vCPUs are generated and served" {
	fake_start synthetic-8192
	run qmp --caps "$HOT" "$FAST"
	[ "$status" -eq 0 ]
	reply h | jq -e '.return | length == 8192'
	reply h | jq -e '[.return[] | select(."qom-path" != null)] | length == 4096'
	reply f | jq -e '.return | length == 4096'
	reply f | jq -e '[.return[]."thread-id"] | unique | length == 4096'
}

@test "synthetic pseries cores carry vcpus_count threads" {
	fake_start pseries-synthetic
	run qmp --caps "$HOT" "$FAST"
	reply h | jq -e '.return | length == 4 and all(.[]; ."vcpus-count" == 8)'
	reply f | jq -e '.return | length == 8 and .[7]."qom-path" == "/machine/unattached/device[0]/thread[7]"'
}

@test "a second client gets no greeting until the first leaves" {
	fake_start q35-2s2c2t
	python3 "$QMPCLIENT" --hold 1 "$FAKE_SOCK" >/dev/null 3>&- &
	first=$!
	sleep 0.2
	# connect() succeeds but nothing comes while the first holds on
	run qmp --timeout 0.3
	[ "$status" -eq 3 ]
	t0=$EPOCHREALTIME
	run qmp --caps "$FAST"
	t1=$EPOCHREALTIME
	[ "$status" -eq 0 ]
	wait "$first"
	reply f | jq -e '.return | length == 2'
	# the greeting waited for the first client (about 0.5 s left of its hold)
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.2) }'
}

@test "a 16 MiB reply stays valid JSON" {
	fake_start huge-reply
	# kept out of bash variables, which are slow at this size
	qmp --caps "$HOT" >"$BATS_TEST_TMPDIR/out"
	size=$(grep '"id": "h"' "$BATS_TEST_TMPDIR/out" | wc -c)
	[ "$size" -gt 16000000 ]
	[ "$size" -lt 17000000 ]
	grep '"id": "h"' "$BATS_TEST_TMPDIR/out" | jq -e '.return | length == 8'
}

@test "event flood: 10000 events after device_del" {
	fake_start event-flood
	run qmp --caps "$(add vcpu2 0 1 0)" "$(del vcpu2)" --events 10004
	[ "$status" -eq 0 ]
	[ "$(events | grep -c RTC_CHANGE)" -eq 10000 ]
	events | grep -qF '"/machine/peripheral/vcpu2/lapic"'
}

@test "fake_log_commands lists what was received; SIGTERM removes the socket" {
	fake_start q35-2s2c2t
	run qmp --caps "$HOT" "$FAST"
	[ "$(fake_log_commands | tr '\n' ' ')" = "qmp_capabilities query-hotpluggable-cpus query-cpus-fast " ]
	! fake_log_commands | grep -q device_add
	sock=$FAKE_SOCK
	fake_stop
	[ ! -e "$sock" ]
}
