#!/usr/bin/env bash
# tests/guest/build.sh [--arch ARCH] OUTDIR - build the throwaway test guest
# from Debian packages.
#
#   amd64 (default)  OUTDIR/vmlinuz and OUTDIR/initrd.gz, for q35
#   ppc64el          OUTDIR/vmlinux and OUTDIR/initrd.gz, for pseries
#
# The kernel is Debian's (the package linux-image-amd64 or, for ppc64el,
# linux-image-powerpc64le points at), fetched with apt-get download and
# unpacked with dpkg-deb: installing it would run the slow initramfs hooks
# for nothing. The initramfs holds busybox and our init (tests/guest/init,
# the same for both); the amd64 one also the virtio modules the guest
# agent's port needs, and qemu-ga with its libraries. The ppc64el packages
# (kernel and busybox-static) are not installed either: both are fetched
# into OUTDIR/cache (make deps adds the dpkg architecture). pseries boots
# the kernel's ELF vmlinux as it is and needs no modules: CPU hotplug and
# the hvc console are built in. Nothing is rebuilt while the stamp of the
# inputs is unchanged.
set -euo pipefail

arch=amd64
if [ "${1:-}" = --arch ] && [ $# -ge 2 ]; then
	arch=$2
	shift 2
fi
[ $# -eq 1 ] || { echo "usage: $0 [--arch amd64|ppc64el] OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
cache=$out/cache

die() { echo "guest: $*" >&2; exit 1; }

# shellcheck source=tests/guest/lib.sh
. "$here/lib.sh"

case $arch in
amd64)
	kinfo=$(kernel_package linux-image-amd64)
	read -r kpkg kver <<<"$kinfo"
	busybox_ver=$(pkg_version busybox-static)
	qga_ver=$(pkg_version qemu-guest-agent)
	[ -n "$busybox_ver" ] || die "busybox-static is not installed (run make deps)"
	[ -n "$qga_ver" ] || die "qemu-guest-agent is not installed (run make deps)"
	kernel_file=vmlinuz
	;;
ppc64el)
	dpkg --print-foreign-architectures | grep -qx ppc64el ||
		die "dpkg does not know the architecture ppc64el (run make deps)"
	kinfo=$(kernel_package linux-image-powerpc64le:ppc64el)
	read -r kpkg kver <<<"$kinfo"
	busybox_ver=$(candidate_version busybox-static:ppc64el)
	qga_ver=none
	kernel_file=vmlinux
	;;
*)
	die "unknown --arch $arch (amd64 or ppc64el)"
	;;
esac

stamp=$( {
	echo "arch $arch"
	echo "kernel $kpkg $kver"
	echo "busybox $busybox_ver"
	echo "qemu-ga $qga_ver"
	sha256sum "$here/init" "$here/build.sh" "$here/lib.sh" | cut -d' ' -f1
} | sha256sum | cut -d' ' -f1)

if [ -f "$out/$kernel_file" ] && [ -f "$out/initrd.gz" ] &&
   [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "guest: $out up to date ($arch, $kpkg $kver)"
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
# under cache/, one folder per kernel version; a new kernel package drops
# the old ones' .debs and folders.
kdir=$cache/$kpkg-$kver
if [ ! -f "$kdir/done" ]; then
	deb=$(fetch_deb "$cache" "$kpkg" "$kver" "$arch" 'linux-image-*')
	kroot=$(mktemp -d "$cache/unpack.XXXXXX")
	trap 'rm -rf "$kroot"' EXIT
	rm -rf "$kdir"
	mkdir -p "$kdir/modules"
	if [ "$arch" = ppc64el ]; then
		# Only boot/: the modules are not needed.
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kroot" ./boot
		vmlinux=$(find "$kroot/boot" -name 'vmlinux-*' | head -n1)
		[ -n "$vmlinux" ] || die "$kpkg holds no boot/vmlinux-*"
		cp "$vmlinux" "$kdir/vmlinux"
		: > "$kdir/modules/load-order"
	else
		dpkg-deb -x "$deb" "$kroot"
		unpack_kernel "$kroot" "$kdir"
	fi
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
if [ "$arch" = ppc64el ]; then
	deb=$(fetch_deb "$cache" busybox-static "$busybox_ver" "$arch")
	bbroot=$work/busybox
	mkdir -p "$bbroot"
	dpkg-deb -x "$deb" "$bbroot"
	[ -f "$bbroot/bin/busybox" ] || die "busybox-static:$arch holds no bin/busybox"
	cp "$bbroot/bin/busybox" "$root/bin/busybox"
else
	cp "$(pkg_file busybox-static busybox)" "$root/bin/busybox"
	qga=$(pkg_file qemu-guest-agent qemu-ga)
	cp "$qga" "$root/bin/qemu-ga"
	# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for
	# the loader; the vdso has neither. Keep each at the path ldd names,
	# which is where the loader looks too.
	ldd "$qga" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while IFS= read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
fi
install -m 0755 "$here/init" "$root/init"

# --- pack ----------------------------------------------------------------
pack_initrd "$root" "$work/initrd.gz"
cp "$kdir/$kernel_file" "$work/$kernel_file"
mv "$work/$kernel_file" "$out/$kernel_file"
mv "$work/initrd.gz" "$out/initrd.gz"
echo "$stamp" > "$out/stamp"
mods=$(paste -sd' ' "$kdir/modules/load-order")
echo "guest: built $out ($arch, $kpkg $kver${mods:+, modules: $mods})"
