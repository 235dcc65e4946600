# tests/guest/lib.sh - what the guest builders share: Debian packages
# found with apt-cache, fetched with apt-get download into a cache and
# unpacked with dpkg-deb (never installed), and the initramfs packing.
# Sourced by tests/guest/build.sh; the caller sets die().

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

# kernel_package META -> "PKG VERSION" of the kernel package the
# metapackage META (linux-image-amd64, linux-image-powerpc64le:ppc64el)
# depends on. One apt-cache call (each costs about a second without a
# saved package cache): the metapackage's Depends names the kernel package
# and, pinned with "=", its version.
kernel_package()
{
	local pkg ver
	read -r pkg ver < <(apt-cache show --no-all-versions "$1" 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -n1) || true
	[ -n "${pkg:-}" ] && [ -n "${ver:-}" ] ||
		die "apt-cache show $1 names no pinned kernel package (apt-get update? make deps?)"
	echo "$pkg $ver"
}

# candidate_version PKG -> the version apt would fetch of PKG (PKG:ARCH)
candidate_version()
{
	local v
	v=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	[ -n "$v" ] || die "apt-cache knows no $1 (apt-get update? make deps?)"
	echo "$v"
}

# fetch_deb CACHE PKG VERSION ARCH [OLD] -> path of PKG's .deb in CACHE,
# fetched with apt-get download unless already there. Before a download
# CACHE/OLD goes (a glob; default: the other .debs of PKG).
fetch_deb()
{
	local cache=$1 pkg=$2 ver=$3 arch=$4 old=${5:-${2}_*_$4.deb} deb
	# apt-get download names the file with the epoch's ':' as %3a.
	deb=$cache/${pkg}_${ver//:/%3a}_$arch.deb
	if [ ! -f "$deb" ]; then
		mkdir -p "$cache"
		# shellcheck disable=SC2086 # OLD is a glob
		(cd "$cache" && rm -rf $old)
		# apt-get download writes into the working directory.
		(cd "$cache" && apt-get download -q "$pkg:$arch=$ver") 2>&1 |
			{ grep -v 'unsandboxed' || true; } >&2
		[ -f "$deb" ] || die "apt-get download $pkg:$arch=$ver did not produce $deb"
	fi
	echo "$deb"
}

# pack_initrd ROOT OUT: ROOT's tree as a gzipped newc cpio, owned by root
pack_initrd()
{
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$2"
}
