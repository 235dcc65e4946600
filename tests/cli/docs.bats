#!/usr/bin/env bats
# The manual and the bash completion keep up with the binary: every command
# and long option that --help prints is documented and completed, and the
# man page renders without warnings.

bats_require_minimum_version 1.5.0
load ../lib/vcpuctl
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
MAN=$REPO/man/vcpuctl.1

commands() { "$VCPUCTL" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }'; }
long_options() { "$VCPUCTL" "$1" --help | grep -oE -- '(^|[ ,])--[a-z][a-z-]*' | sed 's/^[ ,]*//' | sort -u; }
# the man source with \- turned into -
man_text() { sed 's/\\-/-/g' "$MAN"; }

@test "the man page passes mandoc -T lint and groff -ww" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run mandoc -T lint -W warning "$MAN"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run groff -ww -man -Tutf8 -z "$MAN"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "man -l renders it without warnings" {
	command -v man >/dev/null || skip "man is not installed"
	run --separate-stderr env MANWIDTH=80 man -l "$MAN"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"EXIT STATUS"* ]]
}

@test "every command has its entry in COMMANDS" {
	local n=0
	for c in $(commands); do
		man_text | sed -n '/^\.SH COMMANDS/,/^\.SH /p' | grep -qE "^\.(B|BI|BR) $c( |$)" ||
			{ echo "command $c is not in the man page"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 8 ]
}

@test "every long option of every command is in the man page" {
	local missing=
	for c in $(commands); do
		for o in $(long_options "$c"); do
			man_text | grep -qE -- "${o}([^a-z-]|$)" || missing="$missing $c:$o"
		done
	done
	[ -z "$missing" ] || { echo "not documented:$missing"; false; }
}

@test "every environment variable the sources read is in ENVIRONMENT" {
	local v
	for v in $(grep -ho 'getenv("[A-Z_]*")' "$REPO"/src/*.c | sed 's/getenv("\(.*\)")/\1/' | sort -u); do
		man_text | sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' | grep -qx "\.B $v" ||
			{ echo "$v is not in ENVIRONMENT"; false; }
	done
}

# complete WORDS...: COMPREPLY for the last word, one per line, sorted
complete_words() {
	# shellcheck source=/dev/null
	source "$REPO/src/vcpuctl.bash"
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_vcpuctl
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

@test "bash completion: commands" {
	run complete_words "$VCPUCTL" s
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'set\nshow')" ]
	run complete_words "$VCPUCTL" ""
	[ "$(sort <<<"$output")" = "$(commands | sort)" ]
}

@test "bash completion: options of a command" {
	run complete_words "$VCPUCTL" set --c
	[ "$status" -eq 0 ]
	[[ "$output" == *"--count"* ]]
	for o in $output; do [[ "$o" == --c* ]]; done
	run complete_words "$VCPUCTL" set --count 2 --no-
	[[ "$output" == *"--no-wait"* ]]
	run complete_words "$VCPUCTL" events --
	[ "$output" = "$(long_options events)" ]
}

@test "bash completion: the values of --spread and --granularity" {
	run complete_words "$VCPUCTL" set --count 4 --spread ""
	[ "$output" = nodes ]
	run complete_words "$VCPUCTL" plan --count 4 --granularity c
	[ "$output" = "$(printf 'cluster\ncore')" ]
	run complete_words "$VCPUCTL" set --count 4 --node-
	[ "$output" = "$(printf -- '--node-affinity')" ]
}

@test "bash completion: the socket option completes file names" {
	touch "$BATS_TEST_TMPDIR/qmp.sock"
	run complete_words "$VCPUCTL" show --socket "$BATS_TEST_TMPDIR/qm"
	[ "$output" = "$BATS_TEST_TMPDIR/qmp.sock" ]
}

@test "make install puts the binary, the man page and the completion in place" {
	local d=$BATS_TEST_TMPDIR/root
	# -o: install the binary under test as it is, never rebuild it
	run make -C "$REPO" -o "$VCPUCTL" install DESTDIR="$d" PREFIX=/usr PROG="$VCPUCTL"
	[ "$status" -eq 0 ]
	[ -x "$d/usr/bin/vcpuctl" ]
	cmp "$MAN" "$d/usr/share/man/man1/vcpuctl.1"
	cmp "$REPO/src/vcpuctl.bash" "$d/usr/share/bash-completion/completions/vcpuctl"
	[ -x "$d/usr/share/vcpuctl/examples/autoscale.sh" ]
	[ -f "$d/usr/share/vcpuctl/examples/systemd/vcpuctl-autoscale@.timer" ]
	run make -C "$REPO" uninstall DESTDIR="$d" PREFIX=/usr
	[ "$status" -eq 0 ]
	[ ! -e "$d/usr/bin/vcpuctl" ]
	[ ! -e "$d/usr/share/bash-completion/completions/vcpuctl" ]
	[ ! -e "$d/usr/share/vcpuctl/examples" ]
}
