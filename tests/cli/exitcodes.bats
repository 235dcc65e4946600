#!/usr/bin/env bats
# One exit-code table: vc_exit_codes[] in err.c.  "vcpuctl --help" is made
# from it, and the man page's EXIT STATUS and the README (when it exists)
# must say the same, code by code and word by word.
load ../lib/vcpuctl

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# "CODE<TAB>meaning" lines from each source, sorted by code
from_help() {
	"$VCPUCTL" --help | sed -n '/^Exit status:/,/^$/p' |
		sed -n 's/^ *\([0-9][0-9]*\)  *\(.*[^ ]\) *$/\1\t\2/p' | sort -n
}

# .TP / .B CODE / text, between ".SH EXIT STATUS" and the next .SH
from_man() {
	awk '/^\.SH /{ on = ($0 ~ /^\.SH "?EXIT STATUS"?$/); next }
	     on && /^\.B [0-9]+$/ { code = $2; next }
	     on && code != "" && !/^\./ { print code "\t" $0; code = "" }' \
		"$REPO/man/vcpuctl.1" | sed 's/\\-/-/g; s/\\(aq/'"'"'/g' | sort -n
}

readme() {
	local f
	for f in "$REPO/README.md" "$REPO/README"; do
		[ -f "$f" ] && { echo "$f"; return; }
	done
}

# markdown rows "| CODE | ... | MEANING |": first cell and last cell
# Only the "Exit status" section: other tables (the bench's) have numbers too.
from_readme() {
	sed -n '/^Exit status$/,/^Repository layout$/p' "$(readme)" |
		sed -n 's/^| *\([0-9][0-9]*\) *|\(.*|\)\{0,1\} *\([^|]*[^| ]\) *| *$/\1\t\3/p' |
		sed 's/`//g' | sort -n
}

from_enum() {
	sed -n 's/^\tVC_EXIT_[A-Z_]* = \([0-9]*\),.*/\1/p' "$REPO/include/vcpuctl/err.h" | sort -n
}

# "CODE<TAB>meaning" from the array itself, codes from err.h's enum
from_array() {
	python3 - "$REPO/include/vcpuctl/err.h" "$REPO/src/err.c" <<'PY'
import re, sys
enum = dict(re.findall(r'\b(VC_EXIT_[A-Z_]+) = (\d+),', open(sys.argv[1]).read()))
src = open(sys.argv[2]).read()
body = src[src.index('vc_exit_codes[] = {'):]
body = body[:body.index('};')]
rows = re.findall(r'\{\s*(VC_EXIT_[A-Z_]+),\s*"[^"]*",\s*"([^"]*)"\s*\}', body)
for name, meaning in sorted(rows, key=lambda r: int(enum[r[0]])):
    print("%s\t%s" % (enum[name], meaning))
PY
}

@test "--help's table is err.c's array, and the array has every code" {
	[ "$(from_array | wc -l)" -ge 13 ]
	diff <(from_array) <(from_help)
	diff <(from_enum) <(from_array | cut -f1)
}

@test "--help lists every exit code of err.h" {
	diff <(from_enum) <(from_help | cut -f1)
}

@test "the man page's EXIT STATUS is the --help table" {
	[ "$(from_man | wc -l)" -ge 13 ]
	diff <(from_help) <(from_man)
}

@test "the README's exit-code table is the --help table" {
	[ "$(from_readme | wc -l)" -ge 13 ]
	diff <(from_help) <(from_readme)
}

@test "the extraction would notice a difference" {
	# a changed word in one copy must show up as a diff
	! diff <(from_help) <(from_man | sed 's/internal error/internal failure/') >/dev/null
}
