#!/bin/sh
# fetch.sh CACHE MODULE...: makes sure CACHE holds Debian's current
# linux-image-amd64 kernel with MODULE... and what they depend on, and
# prints "KVER DIR PACKAGE VERSION". DIR holds vmlinuz and lib/modules/KVER
# (modules.dep, the modules). The .deb is kept in CACHE, so a second run
# downloads nothing; with no package lists or no network, the newest kernel
# already in CACHE is used.
set -eu
cache=$1
shift
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9

log() { echo "fetch: $*" >&2; }
. "$(dirname "$0")/modules.sh"

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
ver=""
[ -n "$pkg" ] && ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
	awk '$1 == "Version:" { print $2; exit }')
deb=""
if [ -n "$ver" ]; then
	# apt-get download spells an epoch's colon %3a
	deb="$cache/${pkg}_$(echo "$ver" | sed 's/:/%3a/')_amd64.deb"
	if [ ! -s "$deb" ]; then
		log "downloading $pkg $ver"
		(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
			{ log "apt-get download $pkg failed"; rm -f "$deb"; deb=""; }
	fi
fi
if [ -z "$deb" ] || [ ! -s "$deb" ]; then
	deb=$(ls -t "$cache"/linux-image-*-amd64_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { log "no kernel package and none in $cache"; exit 1; }
	log "using the cached $(basename "$deb")"
	pkg=$(basename "$deb" | cut -d_ -f1)
	ver=$(basename "$deb" | cut -d_ -f2 | sed 's/%3a/:/')
fi
kver=${pkg#linux-image-}
dir="$cache/$kver-$(echo "$ver" | tr ':~' '__')"
mods="$dir/lib/modules/$kver"

missing() {
	[ -f "$dir/vmlinuz" ] && [ -f "$mods/modules.dep" ] || return 0
	files=$(mod_closure "$mods" "$@") || return 0
	for f in $files; do
		[ -f "$mods/$f" ] || return 0
	done
	return 1
}

if missing "$@"; then
	log "extracting $(basename "$deb")"
	tmp="$cache/extract.$$"
	rm -rf "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	dpkg-deb -x "$deb" "$tmp"
	# The package leaves modules.dep to its postinst.
	busybox depmod -b "$tmp" "$kver"
	mkdir -p "$mods"
	cp "$tmp/boot/vmlinuz-$kver" "$dir/vmlinuz"
	cp "$tmp/lib/modules/$kver"/modules.* "$mods/"
	for f in $(mod_closure "$tmp/lib/modules/$kver" "$@"); do
		mkdir -p "$mods/$(dirname "$f")"
		cp "$tmp/lib/modules/$kver/$f" "$mods/$f"
	done
	rm -rf "$tmp"
	missing "$@" && { log "modules still missing after extracting"; exit 1; }
fi
echo "$kver $dir $pkg $ver"
