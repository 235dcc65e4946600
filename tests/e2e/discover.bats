#!/usr/bin/env bats
# vcpuctl ls and -s name:/pid: against real QEMUs, paused before boot
# (-S, no kernel), one per monitor spelling.  Other QEMUs may run on the
# host at the same time: every check filters on this file's own pids and
# names (a prefix unique to the run), never on the whole list.

bats_require_minimum_version 1.5.0
load ../lib/vcpuctl

QEMU_ARGS=(-machine q35,accel=tcg -m 64 -S -display none -monitor none
	   -serial none -nodefaults -daemonize)

# qemu_start NAME-ARG PIDFILE-TAG QEMU-ARGS...: daemonize one, note its pid
qemu_start() {
	local tag=$1
	shift
	"${QEMU:-qemu-system-x86_64}" "${QEMU_ARGS[@]}" -pidfile "$D/$tag.pid" "$@" \
		</dev/null >"$D/$tag.log" 2>&1 3>&- || { cat "$D/$tag.log" >&2; return 1; }
	cat "$D/$tag.pid" >>"$D/pids"
}

setup_file() {
	# sun_path is 108 bytes: a short directory of our own
	D=$(mktemp -d /tmp/vcpuctl-ls.XXXXXX)
	P=vcls$$r$RANDOM
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	export D P PORT
	: >"$D/pids"
	qemu_start unix -name "$P-unix" -smp 1,maxcpus=4 \
		-qmp "unix:$D/unix.sock,server=on,wait=off"
	qemu_start tcp -name "$P-tcp" -qmp "tcp:127.0.0.1:$PORT,server=on,wait=off"
	qemu_start mon -name "$P-mon" \
		-chardev "socket,id=hmp0,path=$D/hmp.sock,server=on,wait=off" -mon chardev=hmp0 \
		-chardev "socket,id=qmp0,path=$D/mon.sock,server=on,wait=off" \
		-mon chardev=qmp0,mode=control
	qemu_start pretty -name "$P-pretty" -qmp-pretty "unix:$D/pretty.sock,server=on,wait=off"
	qemu_start two -name "$P-two" -qmp "unix:$D/two1.sock,server=on,wait=off" \
		-qmp "unix:$D/two2.sock,server=on,wait=off"
	qemu_start db1 -name "guest=$P-db1,debug-threads=on" -smp 2,maxcpus=6 \
		-uuid 5c1e0d7a-0e1f-4d5a-9f3b-1a2b3c4d5e6f \
		-qmp "unix:$D/db1.sock,server=on,wait=off"
	qemu_start dupa -name "$P-dup" -qmp "unix:$D/dupa.sock,server=on,wait=off"
	qemu_start dupb -name "$P-dup" -qmp "unix:$D/dupb.sock,server=on,wait=off"
}

teardown_file() {
	local pid
	[ -n "${D:-}" ] || return 0
	for pid in $(cat "$D/pids" 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $(cat "$D/pids" 2>/dev/null); do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$D"
}

teardown() {
	[ -z "${HOLDER:-}" ] || { kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null || true; }
}

pid_of() { cat "$D/$1.pid"; }

# ls_json_vm TAG: this VM's object from ls --json
ls_json_vm() {
	VC ls --json | jq -c --argjson p "$(pid_of "$1")" '.[] | select(.pid == $p)'
}

# hold SOCKET: a client that takes the monitor and keeps it, as libvirt does
hold() {
	rm -f "$D/held"
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(4096)
open(sys.argv[2], "w").close()
time.sleep(120)' "$1" "$D/held" </dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	for _ in $(seq 300); do [ -e "$D/held" ] && return 0; sleep 0.1; done
	echo "hold: no greeting on $1" >&2
	return 1
}

@test "ls --json: every spelling with pid, name and sockets" {
	local v
	v=$(ls_json_vm unix)
	[ "$(jq -r .name <<<"$v")" = "$P-unix" ]
	[ "$(jq -r .smp <<<"$v")" = "1,maxcpus=4" ]
	[ "$(jq -c '[.sockets[] | .spec, .option, .server, .held]' <<<"$v")" = \
	  "[\"unix:$D/unix.sock\",\"-qmp\",true,false]" ]
	[ "$(jq -r .uuid,.manager,.probe <<<"$v")" = "$(printf 'null\nnull\nnull')" ]

	v=$(ls_json_vm tcp)
	[ "$(jq -c '[.sockets[] | .spec, .transport, .host, .port]' <<<"$v")" = \
	  "[\"tcp:127.0.0.1:$PORT\",\"tcp\",\"127.0.0.1\",\"$PORT\"]" ]

	# -mon mode=control joined to its -chardev; the HMP -mon is not QMP
	v=$(ls_json_vm mon)
	[ "$(jq -c '[.sockets[] | .spec, .option, .chardev]' <<<"$v")" = \
	  "[\"unix:$D/mon.sock\",\"-mon\",\"qmp0\"]" ]

	v=$(ls_json_vm pretty)
	[ "$(jq -c '[.sockets[] | .spec, .option, .pretty]' <<<"$v")" = \
	  "[\"unix:$D/pretty.sock\",\"-qmp-pretty\",true]" ]

	v=$(ls_json_vm two)
	[ "$(jq -c '[.sockets[].spec]' <<<"$v")" = "[\"unix:$D/two1.sock\",\"unix:$D/two2.sock\"]" ]

	v=$(ls_json_vm db1)
	[ "$(jq -r .name,.uuid,.smp,.program <<<"$v")" = \
	  "$(printf '%s\n' "$P-db1" 5c1e0d7a-0e1f-4d5a-9f3b-1a2b3c4d5e6f 2,maxcpus=6 qemu-system-x86_64)" ]
}

@test "ls: a row per monitor, the socket to give -s" {
	run -0 VC ls
	[[ ${lines[0]} == *PID*NAME*UUID*MANAGER*SMP*QMP*STATE* ]]
	grep -E "^ *$(pid_of unix) +$P-unix .* unix:$D/unix.sock" <<<"$output"
	[ "$(grep -cE "^ *$(pid_of two) +$P-two " <<<"$output")" -eq 2 ]
}

@test "ls NAME-PATTERN PID: only those" {
	run -0 VC ls --json "$P-d*" "$(pid_of unix)"
	[ "$(jq -c '[.[].name] | sort' <<<"$output")" = "[\"$P-db1\",\"$P-dup\",\"$P-dup\",\"$P-unix\"]" ]
	run -0 VC ls --json "$P-nosuch"
	[ "$output" = "[]" ]
}

@test "count -s name:NAME and -s pid:PID, each spelling" {
	run -0 VC count -s "name:$P-unix"
	[ "$output" = "$(printf 'online 1\nmax 4\nremovable 0\npending 0')" ]
	run -0 VC count -s "pid:$(pid_of unix)" --json
	[ "$(jq -c '[.online, .max, .removable, .nodes]' <<<"$output")" = '[1,4,0,[]]' ]
	run -0 VC count -s "name:$P-tcp" --json
	[ "$(jq .online <<<"$output")" = 1 ]
	run -0 VC count -s "name:$P-mon" --json
	[ "$(jq .online <<<"$output")" = 1 ]
	run -0 VC count -s "name:$P-pretty" --json
	[ "$(jq .online <<<"$output")" = 1 ]
	run -0 VC count -s "name:$P-db1" --json
	[ "$(jq -c '[.online, .max, .removable, .nodes]' <<<"$output")" = '[2,6,0,[]]' ]
	VCPUCTL_SOCKET="pid:$(pid_of db1)" run -0 VC show --json
	[ "$(jq '.vcpus | length' <<<"$output")" = 6 ]
}

@test "name: of two VMs, and a VM with two monitors: exit 2, the candidates named" {
	run -2 --separate-stderr VC count -s "name:$P-dup"
	[[ $stderr == *"name:$P-dup: 2 QEMU processes are named $P-dup: pid $(pid_of dupa) (unix:$D/dupa.sock), pid $(pid_of dupb) (unix:$D/dupb.sock); pick one with -s pid:PID or -s PATH"* ]]
	run -2 --separate-stderr VC count -s "name:$P-two"
	[[ $stderr == *"pid $(pid_of two) has 2 QMP monitors: unix:$D/two1.sock, unix:$D/two2.sock; pick one with -s, e.g. -s unix:$D/two1.sock"* ]]
	run -0 VC count -s "unix:$D/two2.sock"
	run -0 VC count -s "pid:$(pid_of dupb)"
}

@test "a name or pid that is not there: exit 3, what exists named" {
	run -3 --separate-stderr VC count -s "name:$P-nosuch" --json
	[[ $stderr == *"name:$P-nosuch: no QEMU process with -name $P-nosuch; found "* ]]
	[[ $stderr == *"$P-unix (pid $(pid_of unix))"* ]] || [[ $stderr == *"more"* ]]
	[ "$(jq -r .error.name <<<"$output")" = connection ]
	run -3 --separate-stderr VC count -s "pid:$$"
	[[ $stderr == *"pid:$$: no QEMU process with pid $$"* ]]
	run -2 --separate-stderr VC count -s pid:nope
	[[ $stderr == *"pid:nope: 'nope' is not a process id"* ]]
}

@test "a held monitor: ls at once, --probe busy, -s name: says who holds it" {
	hold "$D/unix.sock"
	run -0 timeout 60 "$VCPUCTL" ls --json
	[ "$(jq -r --argjson p "$(pid_of unix)" '.[] | select(.pid == $p) | .sockets[0].held' <<<"$output")" = true ]
	run -0 timeout 60 "$VCPUCTL" ls --probe --probe-timeout 30 --json "$P-*"
	[ "$(jq -r --argjson p "$(pid_of unix)" '.[] | select(.pid == $p) | .sockets[0].probe.state' <<<"$output")" = busy ]
	# the others still answer in the same probe
	[ "$(jq -c --argjson p "$(pid_of db1)" '.[] | select(.pid == $p) | .sockets[0].probe' <<<"$output")" = \
	  '{"state":"ok","online":2,"max":6,"message":null}' ]
	run -3 --separate-stderr timeout 60 "$VCPUCTL" count -s "name:$P-unix"
	[[ $stderr == *"name:$P-unix: pid $(pid_of unix)'s QMP monitor unix:$D/unix.sock is held by another client"* ]]
	[[ $stderr != *"no QMP greeting"* ]]
}

@test "ls --probe: online of max, and a stale socket refused" {
	# a socket file nobody listens on any more, named by a live QEMU
	qemu_start stale -name "$P-stale" -qmp "unix:$D/stale.sock,server=on,wait=off"
	rm "$D/stale.sock"
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$D/stale.sock"
	run -0 VC ls --probe --probe-timeout 30 "$P-*"
	grep -E "^ *$(pid_of unix) +$P-unix .* online 1 of 4$" <<<"$output"
	grep -E "^ *$(pid_of db1) +$P-db1 .* online 2 of 6$" <<<"$output"
	grep -E "^ *$(pid_of stale) +$P-stale .* refused$" <<<"$output"
	grep -E "^ *$(pid_of tcp) +$P-tcp .* tcp:127.0.0.1:$PORT +-$" <<<"$output"
}

@test "libvirt's way: the monitor as an inherited fd, held; ls finds its path, -s name: points to virsh" {
	local dir=$D/libvirt/qemu/domain-1-$P-lv
	mkdir -p "$dir"
	# libvirt binds and listens itself and hands QEMU the fd
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
os.set_inheritable(s.fileno(), True)
args = [a.replace("@FD@", str(s.fileno())) for a in sys.argv[2:]]
os.execvp(args[0], args)' "$dir/monitor.sock" "${QEMU:-qemu-system-x86_64}" "${QEMU_ARGS[@]}" \
		-pidfile "$D/lv.pid" -name "guest=$P-lv,debug-threads=on" \
		-chardev "socket,id=charmonitor,fd=@FD@,server=on,wait=off" \
		-mon chardev=charmonitor,id=monitor,mode=control </dev/null >"$D/lv.log" 2>&1 3>&-
	cat "$D/lv.pid" >>"$D/pids"
	v=$(ls_json_vm lv)
	[ "$(jq -r .manager <<<"$v")" = libvirt ]
	[ "$(jq -c '[.sockets[] | .spec, .fd, .chardev]' <<<"$v")" = \
	  "[\"unix:$dir/monitor.sock\",$(jq '.sockets[0].fd' <<<"$v"),\"charmonitor\"]" ]
	[ "$(jq '.sockets[0].fd' <<<"$v")" -ge 3 ]
	run -0 VC count -s "name:$P-lv" --json
	[ "$(jq .online <<<"$output")" = 1 ]
	hold "$dir/monitor.sock"
	run -3 --separate-stderr VC count -s "name:$P-lv"
	[[ $stderr == *"QMP monitor unix:$dir/monitor.sock is held by libvirt, which keeps it open: use virsh (virsh setvcpus $P-lv N --live;"* ]]
	run -0 VC ls
	grep -E "^ *$(pid_of lv) +$P-lv +- +libvirt .* held$" <<<"$output"
}

# complete LINE: COMPREPLY for the end of LINE, split as bash splits it
# (':' and '=' are word breaks), one per line, sorted
complete_line() {
	# shellcheck source=/dev/null
	source "$BATS_TEST_DIRNAME/../../src/vcpuctl.bash"
	COMP_LINE=$1
	COMP_POINT=${#1}
	read -ra COMP_WORDS <<<"$(sed 's/\([:=]\)/ \1 /g' <<<"$1")"
	[[ $1 == *[[:space:]:=] ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_vcpuctl
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

@test "bash completion: -s name: completes the names ls finds, pid: the pids" {
	run -0 complete_line "$VCPUCTL count -s name:$P-d"
	# bash replaces only what follows the last ':'
	[ "$output" = "$(printf '%s\n' "$P-db1" "$P-dup")" ]
	run -0 complete_line "$VCPUCTL count --socket=name:$P-un"
	[ "$output" = "$P-unix" ]
	# another QEMU's pid may start with the same digits
	run -0 complete_line "$VCPUCTL show -s pid:$(pid_of db1)"
	grep -qx "$(pid_of db1)" <<<"$output"
	! grep -v "^$(pid_of db1)" <<<"$output"
	run -0 complete_line "$VCPUCTL show -s na"
	[ "$output" = "name:" ]
}

# The README's and the man page's examples of ls and name:, as written,
# with web1 standing for a VM of this file.
doc_examples() {
	local repo=$BATS_TEST_DIRNAME/../..
	{
		sed -n 's/^    \(vcpuctl [^#]*\)#.*/\1/p' "$repo/README"
		sed -n '/^\.SH EXAMPLES/,/^\.SH /s/^\$ \(vcpuctl .*\)/\1/p' "$repo/man/vcpuctl.1" | sed 's/\\-/-/g'
	} | grep -E 'vcpuctl ls|name:web1' | sed 's/ *$//'
}

@test "the README's and the man page's ls and name: examples run" {
	local n=0 cmd
	while read -r cmd; do
		cmd=${cmd//web1/$P-unix}
		run -0 --separate-stderr env PATH="$(dirname "$VCPUCTL"):$PATH" bash -c "$cmd"
		[ -n "$output" ]
		n=$((n + 1))
	done < <(doc_examples)
	[ "$n" -ge 6 ]
}

@test "ls --probe: monitors that never greet cost the deadline once, not once each" {
	local s
	qemu_start silent -name "$P-silent" \
		-qmp "unix:$D/s1.sock,server=on,wait=off" -qmp "unix:$D/s2.sock,server=on,wait=off" \
		-qmp "unix:$D/s3.sock,server=on,wait=off" -qmp "unix:$D/s4.sock,server=on,wait=off"
	# in their place: listeners that accept and never say a word
	rm "$D"/s[1-4].sock
	python3 -c '
import socket, sys, time
ls = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(8); ls.append(s)
open(sys.argv[1] + ".ready", "w").close()
time.sleep(120)' "$D"/s{1,2,3,4}.sock </dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	for _ in $(seq 300); do [ -e "$D/s1.sock.ready" ] && break; sleep 0.1; done
	s=$SECONDS
	run -0 VC ls --probe --probe-timeout 5 --json "$(pid_of silent)"
	# four monitors, 5 s each one after another would be 20 s
	[ $((SECONDS - s)) -lt 15 ]
	[ "$(jq -r --argjson p "$(pid_of silent)" '[.[] | select(.pid == $p) | .sockets[].probe.state | select(. == "busy" or . == "timeout")] | length' <<<"$output")" = 4 ]
}

@test "as another user: listed from argv[0]; a socket only root may open is exit 3" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
	command -v setpriv >/dev/null || skip "no setpriv"
	chmod 0711 "$D"
	run -0 setpriv --reuid=65534 --regid=65534 --clear-groups "$VCPUCTL" ls --json "$P-unix"
	[ "$(jq -c '.[] | [.pid, .program, .cmdline_readable, .sockets[0].spec]' <<<"$output")" = \
	  "[$(pid_of unix),\"qemu-system-x86_64\",true,\"unix:$D/unix.sock\"]" ]
	chmod 0600 "$D/unix.sock"
	run -3 --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VCPUCTL" count -s "name:$P-unix"
	[[ $stderr == *"$D/unix.sock: Permission denied"* ]]
	chmod 0755 "$D/unix.sock"
	chmod 0700 "$D"
}

@test "ls: bad arguments are usage errors" {
	run -2 --separate-stderr VC ls --probe-timeout 0
	[[ $stderr == *"--probe-timeout: '0' is not a number of seconds above 0 and up to 3600"* ]]
	run -2 VC ls --probe-timeout x
	run -2 VC ls --socket /x
}

@test "a held tcp monitor: ls says held, -s name: says who holds it" {
	rm -f "$D/held"
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(4096)
open(sys.argv[2], "w").close()
time.sleep(120)' "$PORT" "$D/held" </dev/null >/dev/null 2>&1 3>&- &
	HOLDER=$!
	for _ in $(seq 300); do [ -e "$D/held" ] && break; sleep 0.1; done
	[ -e "$D/held" ]
	v=$(ls_json_vm tcp)
	[ "$(jq -r '.sockets[0].held' <<<"$v")" = true ]
	run -3 --separate-stderr VC count -s "name:$P-tcp"
	[[ $stderr == *"QMP monitor tcp:127.0.0.1:$PORT is held by another client"* ]]
}
