#!/usr/bin/env bash
# tests/hostvm/build.sh OUTDIR - build the cgroup v2 host VM: OUTDIR/vmlinux
# and OUTDIR/initrd.gz (run it with tests/hostvm/run.sh).
#
# The kernel is the Debian package tests/guest/build.sh uses (its cached
# .deb is taken when present, else downloaded). QEMU boots the
# uncompressed ELF vmlinux directly (PVH entry): under TCG that skips the
# kernel's own xz decompression, about 3.5 s. The initramfs holds only
# busybox, the modules a virtio-9p root needs, and init. Nothing is rebuilt
# while the stamp of the inputs is unchanged.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
cache=$out/cache

die() { echo "hostvm: $*" >&2; exit 1; }

# The 9p root's modules, each after those its .modinfo "depends=" names.
MODULES=(virtio_pci 9pnet_virtio 9p)

read -r kpkg kver < <(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
	sed -n 's/^Depends:.*\(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -n1) || true
[ -n "${kpkg:-}" ] && [ -n "${kver:-}" ] ||
	die "apt-cache show linux-image-amd64 names no pinned kernel package (apt-get update?)"
busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/busybox$') ||
	die "busybox-static is not installed (run make deps)"

stamp=$( {
	echo "kernel $kpkg $kver"
	sha256sum "$busybox" "$here/init" "$here/build.sh" | cut -d' ' -f1
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/vmlinux" ] && [ -f "$out/initrd.gz" ] &&
   [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "hostvm: $out up to date ($kpkg $kver)"
	exit 0
fi

mkdir -p "$cache"
deb=$cache/${kpkg}_${kver}_amd64.deb
if [ ! -f "$deb" ]; then
	guest_deb=$out/../guest/cache/${kpkg}_${kver}_amd64.deb
	rm -f "$cache"/linux-image-*.deb
	if [ -f "$guest_deb" ]; then
		ln "$guest_deb" "$deb" 2>/dev/null || cp "$guest_deb" "$deb"
	else
		(cd "$cache" && apt-get download -q "$kpkg=$kver") 2>&1 |
			{ grep -v 'unsandboxed' || true; }
	fi
	[ -f "$deb" ] || die "no $deb (apt-get download $kpkg=$kver)"
fi

work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
kroot=$work/kernel
root=$work/root
dpkg-deb -x "$deb" "$kroot"
vmlinuz=$(find "$kroot/boot" -name 'vmlinuz-*' | head -n1)
[ -n "$vmlinuz" ] || die "$kpkg holds no boot/vmlinuz-*"
release=${vmlinuz##*/vmlinuz-}
moddir=$kroot/lib/modules/$release
[ -d "$moddir" ] || die "$kpkg holds no lib/modules/$release"

# The bzImage carries the ELF kernel as one xz stream after its setup code;
# the first xz magic is its start (what the kernel's extract-vmlinux does).
offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1)
[ -n "$offset" ] || die "$vmlinuz: no xz stream (not an xz-compressed bzImage?)"
# xz stops at the stream's end, with trailing data unread: its status and
# tail's SIGPIPE say nothing; the ELF magic below does.
tail -c +$((offset + 1)) "$vmlinuz" 2>/dev/null | xz -dc 2>/dev/null > "$work/vmlinux" || true
[ "$(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
	die "$vmlinuz: the xz stream is not an ELF kernel"

mkdir -p "$root"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$busybox" "$root/bin/busybox"
declare -A modpath=() added=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	modpath[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz')
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
	*.ko.xz) xz -dc "$f" > "$root/lib/modules/$name.ko" ;;
	*) cp "$f" "$root/lib/modules/$name.ko" ;;
	esac
	deps=$(tr '\0' '\n' < "$root/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -n1)
	for d in ${deps//,/ }; do
		add_module "$d"
	done
	echo "$name.ko" >> "$root/lib/modules/load-order"
}
: > "$root/lib/modules/load-order"
for m in "${MODULES[@]}"; do
	add_module "$m"
done
install -m 0755 "$here/init" "$root/init"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$work/initrd.gz"
mv "$work/vmlinux" "$out/vmlinux"
mv "$work/initrd.gz" "$out/initrd.gz"
echo "$stamp" > "$out/stamp"
echo "hostvm: built $out ($kpkg $kver, modules: $(paste -sd' ' "$root/lib/modules/load-order"))"
