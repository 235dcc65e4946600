#!/usr/bin/env bash
# tests/guest/build.sh OUTDIR - build the throwaway test guest from Debian
# packages: OUTDIR/vmlinuz and OUTDIR/initrd.gz.
#
# The kernel is Debian's (the package linux-image-amd64 points at), fetched
# with apt-get download and unpacked with dpkg-deb: installing it would run
# the slow initramfs hooks for nothing. The initramfs holds busybox, our init,
# the virtio modules the guest agent's port needs, and qemu-ga with its
# libraries. Nothing is rebuilt while the stamp of the inputs is unchanged.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
cache=$out/cache

die() { echo "guest: $*" >&2; exit 1; }

# pkg_version PKG -> installed version, empty if not installed
pkg_version()
{
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "ii" { print $2 }'
}

# pkg_file PKG NAME -> the file of installed PKG whose path ends in /NAME
pkg_file()
{
	dpkg -L "$1" | grep -m1 "/$2\$" || die "$1 has no $2 (is it installed? run make deps)"
}

# One apt-cache call (each costs about a second without a saved package
# cache): the metapackage's Depends names the kernel package and, pinned
# with "=", its version.
read -r kpkg kver < <(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
	sed -n 's/^Depends:.*\(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -n1) || true
[ -n "${kpkg:-}" ] && [ -n "${kver:-}" ] ||
	die "apt-cache show linux-image-amd64 names no pinned kernel package (apt-get update?)"
busybox_ver=$(pkg_version busybox-static)
qga_ver=$(pkg_version qemu-guest-agent)
[ -n "$busybox_ver" ] || die "busybox-static is not installed (run make deps)"
[ -n "$qga_ver" ] || die "qemu-guest-agent is not installed (run make deps)"

stamp=$( {
	echo "kernel $kpkg $kver"
	echo "busybox $busybox_ver"
	echo "qemu-ga $qga_ver"
	sha256sum "$here/init" "$here/build.sh" | cut -d' ' -f1
} | sha256sum | cut -d' ' -f1)

if [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.gz" ] &&
   [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "guest: $out up to date ($kpkg $kver)"
	exit 0
fi

# unpack_kernel KROOT KDIR: from the unpacked kernel package KROOT, put
# into KDIR the vmlinuz and modules/ with the modules the guest needs and
# their load order. virtio_console is the agent's port; virtio_pci is the
# transport the virtio-serial device sits on. Either may be built in;
# otherwise it comes with the modules its .modinfo "depends=" names,
# loaded first.
unpack_kernel()
{
	local kroot=$1 kdir=$2 vmlinuz release moddir f n
	vmlinuz=$(find "$kroot/boot" -name 'vmlinuz-*' | head -n1)
	[ -n "$vmlinuz" ] || die "$kpkg holds no boot/vmlinuz-*"
	release=${vmlinuz##*/vmlinuz-}
	moddir=$(find "$kroot" -maxdepth 4 -type d -path "*/lib/modules/$release" | head -n1)
	[ -n "$moddir" ] || die "$kpkg holds no lib/modules/$release"
	cp "$vmlinuz" "$kdir/vmlinuz"

	declare -A modpath=() added=()
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%%.ko*}
		modpath[${n//-/_}]=$f
	done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz')

	# add_module NAME: copy NAME, after its dependencies, unless built in
	add_module()
	{
		local name=${1//-/_} f deps d
		[ -z "${added[$name]:-}" ] || return 0
		added[$name]=1
		f=${modpath[$name]:-}
		if [ -z "$f" ]; then
			grep -Eq "/(${name}|${name//_/-})\.ko" "$moddir/modules.builtin" ||
				die "module $name is neither in $kpkg nor built in"
			return 0
		fi
		case $f in
		*.ko.xz) xz -dc "$f" > "$kdir/modules/$name.ko" ;;
		*) cp "$f" "$kdir/modules/$name.ko" ;;
		esac
		deps=$(tr '\0' '\n' < "$kdir/modules/$name.ko" | sed -n 's/^depends=//p' | head -n1)
		for d in ${deps//,/ }; do
			add_module "$d"
		done
		echo "$name.ko" >> "$kdir/modules/load-order"
	}
	: > "$kdir/modules/load-order"
	add_module virtio_pci
	add_module virtio_console
}

# --- kernel and modules ---------------------------------------------------
# Unpacking the kernel takes seconds, so what the guest needs of it is kept
# under cache/, one folder per kernel version.
kdir=$cache/$kpkg-$kver
if [ ! -f "$kdir/done" ]; then
	mkdir -p "$cache"
	deb=$cache/${kpkg}_${kver}_amd64.deb
	if [ ! -f "$deb" ]; then
		rm -rf "$cache"/linux-image-*
		# apt-get download writes into the working directory.
		(cd "$cache" && apt-get download -q "$kpkg=$kver") 2>&1 |
			{ grep -v 'unsandboxed' || true; }
		[ -f "$deb" ] || die "apt-get download $kpkg=$kver did not produce $deb"
	fi
	kroot=$(mktemp -d "$cache/unpack.XXXXXX")
	trap 'rm -rf "$kroot"' EXIT
	dpkg-deb -x "$deb" "$kroot"
	rm -rf "$kdir"
	mkdir -p "$kdir/modules"
	unpack_kernel "$kroot" "$kdir"
	rm -rf "$kroot"
	touch "$kdir/done"
fi

work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/lib"
cp -r "$kdir/modules" "$root/lib/modules"

# --- busybox, qemu-ga and its libraries -----------------------------------
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,etc}
cp "$(pkg_file busybox-static busybox)" "$root/bin/busybox"
qga=$(pkg_file qemu-guest-agent qemu-ga)
cp "$qga" "$root/bin/qemu-ga"
# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the
# loader; the vdso has neither. Keep each at the path ldd names, which is
# where the loader looks too.
ldd "$qga" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
while IFS= read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
install -m 0755 "$here/init" "$root/init"

# --- pack ----------------------------------------------------------------
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$work/initrd.gz"
cp "$kdir/vmlinuz" "$work/vmlinuz"
mv "$work/vmlinuz" "$out/vmlinuz"
mv "$work/initrd.gz" "$out/initrd.gz"
echo "$stamp" > "$out/stamp"
echo "guest: built $out ($kpkg $kver, modules: $(paste -sd' ' "$kdir/modules/load-order"))"
