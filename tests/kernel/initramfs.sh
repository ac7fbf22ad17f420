#!/bin/sh
# initramfs.sh OUT KDIR KVER MODULES PROGRAMS: writes OUT, a gzipped cpio
# (newc) with busybox, the kernel modules MODULES (names; each with what it
# depends on, from KDIR/lib/modules/KVER, which fetch.sh made), ip and wg,
# and each of PROGRAMS (build-tree paths, "SRC=DEST" to place one elsewhere)
# with the shared libraries it needs, the dynamic loader and the
# libwebsockets event-library plugin (loaded with dlopen, so ldd does not
# name it). Files the caller adds to $ROOT before calling (the init, the
# tests) are kept: ROOT must be set.
set -eu
. "$(dirname "$0")/modules.sh"
out=$1 kdir=$2 kver=$3 modules=$4 programs=$5
: "${ROOT:?}"
mkdir -p "$ROOT"
cd "$ROOT"

# Debian's merged /usr, so paths from ldd and dpkg land where they are looked for.
mkdir -p usr/bin usr/sbin usr/lib usr/lib64 proc sys dev run tmp etc root var
for d in bin sbin lib lib64; do
	[ -e "$d" ] || ln -s "usr/$d" "$d"
done
[ -e var/run ] || ln -s ../run var/run

# put SRC DEST: copies a file (following links) into the image.
put() {
	mkdir -p "$ROOT/$(dirname "$2")"
	cp -L "$1" "$ROOT/$2"
}

# put_libs FILE: the libraries FILE needs, each at the path ldd gives.
put_libs() {
	ldd "$1" >"$ROOT/.ldd" 2>&1 || { grep -q 'not a dynamic' "$ROOT/.ldd" && return 0; cat "$ROOT/.ldd" >&2; return 1; }
	if grep -q 'not found' "$ROOT/.ldd"; then
		echo "initramfs: $1: $(grep 'not found' "$ROOT/.ldd")" >&2
		return 1
	fi
	for lib in $(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' "$ROOT/.ldd"); do
		[ -e "$ROOT/$lib" ] || put "$lib" "$lib"
	done
	rm -f "$ROOT/.ldd"
}

# put_prog SRC DEST
put_prog() {
	[ -x "$1" ] || { echo "initramfs: $1 is not built" >&2; return 1; }
	put "$1" "$2"
	put_libs "$1"
}

put /bin/busybox /usr/bin/busybox
for tool in ip wg; do
	path=$(command -v "$tool") || { echo "initramfs: $tool is not installed" >&2; exit 1; }
	put_prog "$path" "$path"
done
for p in $programs; do
	case "$p" in
	*=*) put_prog "${p%%=*}" "${p#*=}" ;;
	*) put_prog "$p" "/wssd/$p" ;;
	esac
done
plugin=$(dpkg -L libwebsockets-evlib-uv 2>/dev/null | grep '/libwebsockets-evlib_uv\.so$' | head -n 1)
[ -n "$plugin" ] || { echo "initramfs: libwebsockets-evlib-uv is not installed" >&2; exit 1; }
put "$plugin" "$plugin"
put_libs "$plugin"
# busybox provides every other command
for applet in $(busybox --list); do
	[ -e "usr/bin/$applet" ] || [ -e "usr/sbin/$applet" ] || ln -s busybox "usr/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >etc/passwd
echo 'root:x:0:' >etc/group

# The modules, decompressed, with a modules.dep of their own for modprobe.
src="$kdir/lib/modules/$kver"
dst="lib/modules/$kver"
mkdir -p "$dst"
cp "$src/modules.builtin" "$src/modules.order" "$dst/"
files=$(mod_closure "$src" $modules)
for f in $files; do
	mkdir -p "$dst/$(dirname "$f")"
	case "$f" in
	*.ko.xz) busybox xzcat "$src/$f" >"$dst/${f%.xz}" ;;
	*.ko.gz) busybox zcat "$src/$f" >"$dst/${f%.gz}" ;;
	*.ko.zst) zstd -dcq "$src/$f" >"$dst/${f%.zst}" ;;
	*) cp "$src/$f" "$dst/$f" ;;
	esac
done
busybox depmod -b "$ROOT" "$kver"

find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1 >"$out"
