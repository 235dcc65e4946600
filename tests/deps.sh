#!/usr/bin/env bash
# tests/deps.sh - install the Debian packages needed to build and test vcpuctl.
#
# Idempotent: asks dpkg what is missing and touches apt only when something
# is. QEMU must be >= 10: 7.2 (Debian 12's own) crashes or soft-locks on
# CPU re-plug under TCG (see LAB.md), so on bookworm it comes from
# bookworm-backports; newer Debian releases ship it in the main suite.
set -euo pipefail

PKGS=(build-essential pkg-config libjansson-dev libcgroup-dev libcmocka-dev libaudit-dev
      bats python3 jq busybox-static cpio gzip mandoc valgrind clang
      qemu-guest-agent procps util-linux ansible-core)
QEMU_PKG=qemu-system-x86
QEMU_MIN=1:10~		# Debian's QEMU versions carry epoch 1
BACKPORTS_LIST=/etc/apt/sources.list.d/backports.sources

# installed PKG -> version of PKG if fully installed, else nothing
installed()
{
	{ dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null || true; } |
		awk '$1 == "ii" { print $2 }'
}

missing=()
for p in "${PKGS[@]}"; do
	[ -n "$(installed "$p")" ] || missing+=("$p")
done

qemu_ver=$(installed "$QEMU_PKG")
need_qemu=
if [ -z "$qemu_ver" ] || ! dpkg --compare-versions "$qemu_ver" ge "$QEMU_MIN"; then
	need_qemu=1
fi

if [ ${#missing[@]} -eq 0 ] && [ -z "$need_qemu" ]; then
	echo "deps: all present (QEMU $qemu_ver)"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing, run 'make deps' as root to install:" >&2
	[ ${#missing[@]} -eq 0 ] || echo "  ${missing[*]}" >&2
	[ -z "$need_qemu" ] || echo "  $QEMU_PKG >= 10 (installed: ${qemu_ver:-none})" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
qemu_target=()
if [ -n "$need_qemu" ] && [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ]; then
	# Before the one apt-get update, so that its index is fetched too.
	[ -e "$BACKPORTS_LIST" ] ||
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			> "$BACKPORTS_LIST"
	qemu_target=(-t bookworm-backports)
fi

apt-get update -q
# Two installs: -t would pull the other packages from backports too.
[ ${#missing[@]} -eq 0 ] || apt-get install -y -q "${missing[@]}"
if [ -n "$need_qemu" ]; then
	apt-get install -y -q --no-install-recommends "${qemu_target[@]}" "$QEMU_PKG"
	qemu_ver=$(installed "$QEMU_PKG")
	if ! dpkg --compare-versions "${qemu_ver:-0}" ge "$QEMU_MIN"; then
		echo "deps: $QEMU_PKG ${qemu_ver:-none} installed, but >= 10 is needed" >&2
		exit 1
	fi
fi

echo "deps: installed ${missing[*]:-}${need_qemu:+ $QEMU_PKG} (QEMU $qemu_ver)"
