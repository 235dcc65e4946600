#!/usr/bin/env bash
# tests/deps.sh - install the Debian packages needed to build and test vcpuctl.
#
# Idempotent: asks dpkg what is missing and touches apt only when something
# is. QEMU must be >= 10: 7.2 (Debian 12's own) crashes or soft-locks on
# CPU re-plug under TCG (see LAB.md), so on bookworm it comes from
# bookworm-backports; newer Debian releases ship it in the main suite.
set -euo pipefail

PKGS=(build-essential pkg-config libjansson-dev libcgroup-dev libcmocka-dev libaudit-dev
      bats parallel python3 jq busybox-static cpio gzip xz-utils mandoc groff man-db
      valgrind clang qemu-guest-agent procps util-linux ansible-core systemd)
QEMU_PKG=qemu-system-x86
# loongarch64 (tests/e2e/machines.bats) and pseries (tests/e2e/pseries.bats),
# from the same suite as QEMU_PKG
QEMU_MORE=(qemu-system-misc qemu-system-ppc)
# The pseries guest's kernel and busybox are ppc64el packages that
# tests/guest/build.sh fetches with apt-get download: apt must know the
# architecture, and its package lists must hold it.
FOREIGN_ARCH=ppc64el
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
for p in "${QEMU_MORE[@]}"; do
	v=$(installed "$p")
	if [ -z "$v" ] || ! dpkg --compare-versions "$v" ge "$QEMU_MIN"; then
		need_qemu=1
	fi
done

need_arch=
dpkg --print-foreign-architectures | grep -qx "$FOREIGN_ARCH" || need_arch=1

if [ ${#missing[@]} -eq 0 ] && [ -z "$need_qemu" ] && [ -z "$need_arch" ]; then
	echo "deps: all present (QEMU $qemu_ver)"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing, run 'make deps' as root to install:" >&2
	[ ${#missing[@]} -eq 0 ] || echo "  ${missing[*]}" >&2
	[ -z "$need_qemu" ] || echo "  $QEMU_PKG ${QEMU_MORE[*]} >= 10 (installed: ${qemu_ver:-none})" >&2
	[ -z "$need_arch" ] || echo "  dpkg architecture $FOREIGN_ARCH (for the pseries guest's packages)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# apt_run WHAT ARGS...: apt-get ARGS, its output shown and kept; on failure
# say what failed with apt's own error lines, and stop.
apt_run()
{
	local what=$1
	shift
	if ! "${APT[@]}" "$@" 2>&1 | tee "$log"; then
		echo "deps: FAILED: $what" >&2
		grep -E '^(E|W): ' "$log" | sed 's/^/deps:   apt: /' >&2 || true
		exit 1
	fi
}

# no_candidate PKG...: those apt has no installable version of
no_candidate()
{
	local p
	for p in "$@"; do
		apt-cache policy "$p" 2>/dev/null | grep 'Candidate: [^(]' >/dev/null || echo "$p"
	done
}

qemu_target=()
if [ -n "$need_qemu" ] && [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ]; then
	# Before the one apt-get update, so that its index is fetched too.
	[ -e "$BACKPORTS_LIST" ] ||
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			> "$BACKPORTS_LIST"
	qemu_target=(-t bookworm-backports)
fi

if [ -n "$need_arch" ]; then
	# Before the one apt-get update, so that its lists are fetched too.
	echo "deps: adding dpkg architecture $FOREIGN_ARCH"
	dpkg --add-architecture "$FOREIGN_ARCH"
fi

echo "deps: to install: ${missing[*]:-}${need_qemu:+ $QEMU_PKG (>= 10${qemu_target[*]:+, from bookworm-backports})}"
apt_run "apt-get update (the package lists)" update
if [ ${#missing[@]} -gt 0 ]; then
	bad=$(no_candidate "${missing[@]}")
	[ -z "$bad" ] || {
		echo "deps: FAILED: apt knows no installable version of: $bad" >&2
		echo "deps:   (check /etc/apt/sources.list*; Debian 12 'main' has them all)" >&2
		exit 1
	}
	echo "deps: installing ${missing[*]}"
	# Two installs: -t would pull the other packages from backports too.
	apt_run "apt-get install ${missing[*]}" install -y "${missing[@]}"
fi
if [ -n "$need_qemu" ]; then
	echo "deps: installing $QEMU_PKG ${QEMU_MORE[*]} ${qemu_target[*]:-}"
	apt_run "apt-get install $QEMU_PKG ${QEMU_MORE[*]} ${qemu_target[*]:-}" \
		install -y --no-install-recommends "${qemu_target[@]}" "$QEMU_PKG" "${QEMU_MORE[@]}"
	qemu_ver=$(installed "$QEMU_PKG")
	if ! dpkg --compare-versions "${qemu_ver:-0}" ge "$QEMU_MIN"; then
		echo "deps: FAILED: $QEMU_PKG ${qemu_ver:-none} installed, but >= 10 is needed" >&2
		exit 1
	fi
fi
# Everything asked for must now be there, whatever apt's exit status said.
still=()
for p in "${missing[@]}"; do
	[ -n "$(installed "$p")" ] || still+=("$p")
done
if [ ${#still[@]} -gt 0 ]; then
	echo "deps: FAILED: still not installed after apt-get: ${still[*]}" >&2
	exit 1
fi

echo "deps: installed ${missing[*]:-}${need_qemu:+ $QEMU_PKG ${QEMU_MORE[*]}}${need_arch:+ (dpkg architecture $FOREIGN_ARCH)} (QEMU $qemu_ver)"
