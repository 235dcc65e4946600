#!/usr/bin/env bash
# tests/fresh/run.sh [STEP...] - "make check-fresh": README's two commands,
# as written, on a Debian 12 machine that has nothing but make and git.
#
# STEPs (default: demo check): "demo" runs `make demo`, "check" runs
# `make check`, "root" only makes sure the pristine root is cached.
#
# A pristine root (debootstrap --variant=minbase bookworm, plus make and
# git) is built once and cached as a tarball in $VCPUCTL_FRESH_CACHE
# (default /var/cache/vcpuctl), outside the tree.  The cache is only ever
# written straight from debootstrap: a root that has run `make deps` is
# thrown away, never cached.  Each run unpacks a new copy, bind-mounts
# /dev, /proc and /sys into it, clones the committed tree (HEAD; local
# changes are not part of it) and runs the commands there as root.
#
# Needs root.  Installs debootstrap on the host if it is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${VCPUCTL_FRESH_CACHE:-/var/cache/vcpuctl}
SUITE=bookworm
TARBALL=$CACHE/$SUITE-minbase-make-git.tar
MIRROR=${VCPUCTL_FRESH_MIRROR:-http://deb.debian.org/debian}
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(demo check)

die() { echo "check-fresh: $*" >&2; exit 1; }
phase_times=()
phase() { phase_times+=("$1: $2 s"); echo "check-fresh: $1: $2 s"; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"
for s in "${steps[@]}"; do
	case $s in root|demo|check) ;; *) die "unknown step '$s' (root, demo, check)";; esac
done

commit=$(git -C "$here" rev-parse HEAD) || die "$here is not a git checkout"
if [ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]; then
	echo "check-fresh: note: uncommitted changes are not tested; testing $commit"
fi

# --- the pristine root -------------------------------------------------
if [ ! -s "$TARBALL" ]; then
	if ! command -v debootstrap >/dev/null; then
		echo "check-fresh: installing debootstrap on this host"
		apt-get -o DPkg::Lock::Timeout=600 install -y -q debootstrap ||
			die "apt-get install debootstrap failed (see above)"
	fi
	mkdir -p "$CACHE"
	build=$(mktemp -d "$CACHE/build.XXXXXX")
	trap 'rm -rf --one-file-system "$build"' EXIT
	echo "check-fresh: debootstrap --variant=minbase --include=make,git $SUITE (once; cached in $TARBALL)"
	start=$SECONDS
	debootstrap --variant=minbase --include=make,git "$SUITE" "$build/root" "$MIRROR" \
		> "$build/debootstrap.log" 2>&1 ||
		{ tail -n 40 "$build/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
	tar -C "$build/root" -cf "$build/root.tar" . || die "cannot pack the root"
	mv "$build/root.tar" "$TARBALL"
	rm -rf --one-file-system "$build"
	trap - EXIT
	phase debootstrap $((SECONDS - start))
else
	echo "check-fresh: pristine root: $TARBALL (remove it to debootstrap again)"
	phase debootstrap "0 (cached)"
fi
[[ " ${steps[*]} " == *" demo "* || " ${steps[*]} " == *" check "* ]] || exit 0

# --- a fresh copy of it --------------------------------------------------
root=$(mktemp -d /var/tmp/vcpuctl-fresh.XXXXXX)
mounted=()
cleanup()
{
	local m i p
	# What runs in the root (a make, a QEMU) goes first: it holds the mounts.
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[i]}
		umount -R "$m" 2>/dev/null || umount -R -l "$m" ||
			echo "check-fresh: cannot unmount $m" >&2
	done
	# Never remove through a mount that is still there (it would be /dev).
	if findmnt -rn -o TARGET | grep -q "^$root/"; then
		echo "check-fresh: $root still has mounts; left in place" >&2
		return
	fi
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

start=$SECONDS
tar -C "$root" -xf "$TARBALL" || die "cannot unpack $TARBALL"
for d in dev sys; do
	mount --rbind "/$d" "$root/$d" && mounted+=("$root/$d") || die "cannot bind-mount /$d"
	mount --make-rslave "$root/$d"
done
mount -t proc proc "$root/proc" && mounted+=("$root/proc") || die "cannot mount /proc"
# Name resolution for apt, as on a machine set up by its installer.
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
git clone -q --no-checkout "$here" "$root/root/vcpuctl" || die "git clone failed"
git -C "$root/root/vcpuctl" -c advice.detachedHead=false checkout -q "$commit" ||
	die "cannot check out $commit"
phase unpack+clone $((SECONDS - start))

# in_root CMD: run CMD with bash -c in the tree inside the root, with a
# clean environment like a root login's.
in_root()
{
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /root/vcpuctl && $1"
}

# run_make TARGET: `make TARGET` in the root, its output here; the time of
# tests/deps.sh's closing line ("deps: installed ..." or "deps: all
# present") splits the time taken into deps and the rest.
run_make()
{
	local target=$1 start=$SECONDS rc stamp=$root/.deps-done
	rm -f "$stamp"
	echo "check-fresh: in the fresh root: make $target"
	set +e
	in_root "make $target" 2>&1 | while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"deps: installed "*|"deps: all present"*)
			[ -e "$stamp" ] || echo $SECONDS > "$stamp";;
		esac
	done
	rc=${PIPESTATUS[0]}
	set -e
	if [ -s "$stamp" ]; then
		phase "deps (in make $target)" $(($(cat "$stamp") - start))
		phase "make $target after deps" $((SECONDS - $(cat "$stamp")))
	fi
	phase "make $target" $((SECONDS - start))
	[ "$rc" -eq 0 ] || die "make $target failed in the fresh root (exit $rc)"
}

for s in "${steps[@]}"; do
	[ "$s" = root ] || run_make "$s"
done
echo "check-fresh: passed: ${steps[*]} on a fresh $SUITE root ($commit)"
printf 'check-fresh: timings: %s\n' "${phase_times[@]}"
