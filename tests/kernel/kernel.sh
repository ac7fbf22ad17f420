#!/bin/sh
# kernel (root, qemu): the netlink backend against a real Linux kernel.
# Boots Debian's linux-image-amd64 under qemu with an initramfs of this
# build's programs, busybox, ip and wg, runs the scripts of
# tests/kernel/guest/ inside (their "ok"/"FAIL:" lines are printed here) and
# passes when all of them did. The kernel is cached in $WSSD_KERNEL_CACHE
# (/var/cache/wssd-kernel). KVM when it works, else TCG; a run longer than
# $KERNEL_TIMEOUT seconds (600) is a failure with the console printed; a
# guest script longer than $KERNEL_TEST_TIMEOUT (300: the reaper's waits three
# minutes) fails alone.
# KERNEL_TESTS: the guest scripts to run (default: all).
. "$top_srcdir/tests/lib/common.sh"
need_net_tests qemu-system-x86_64 busybox apt-get dpkg-deb flock gzip ldd

KSRC="$top_srcdir/tests/kernel"
cache=${WSSD_KERNEL_CACHE:-/var/cache/wssd-kernel}
modules="wireguard veth"
timeout=${KERNEL_TIMEOUT:-600}
tests=${KERNEL_TESTS:-$(cd "$KSRC/guest" && ls *.sh)}

set -- $(sh "$KSRC/fetch.sh" "$cache" $modules) && [ $# = 4 ] || fail "no kernel"
kver=$1 kdir=$2
echo "kernel: $kver ($3 $4)"

# qemu ROOT OUT ACCEL TIMEOUT: boots the image ROOT.cpio.gz, console in OUT.
qemu() {
	case $3 in
	kvm) cpu="-accel kvm -cpu host" ;;
	*) cpu="-accel tcg -cpu max" ;;
	esac
	timeout -k 5 "$4" qemu-system-x86_64 $cpu -m 1024 -smp 1 -nographic -nodefaults \
		-no-reboot -serial stdio -monitor none -kernel "$kdir/vmlinuz" -initrd "$1" \
		-append "console=ttyS0 panic=-1 oops=panic quiet" </dev/null >"$2" 2>&1
}

# KVM needs more than a /dev/kvm: where it cannot boot a guest (nested
# without support), it hangs. A tiny image tells, once per host kernel and
# qemu; the answer is kept in the cache.
pick_accel() {
	case ${WSSD_QEMU_ACCEL:-auto} in
	kvm | tcg) echo "$WSSD_QEMU_ACCEL"; return ;;
	esac
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo tcg; return; }
	stamp="$cache/kvm-$(uname -r)-$(qemu-system-x86_64 --version | awk '{ print $4; exit }')"
	if [ ! -f "$stamp" ]; then
		probe="$TEST_TMP/probe"
		mkdir -p "$probe/bin"
		cp /bin/busybox "$probe/bin/"
		printf '#!/bin/busybox sh\necho kvm-probe-ok\n/bin/busybox poweroff -f\n' >"$probe/init"
		chmod +x "$probe/init"
		(cd "$probe" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1 \
			>"$TEST_TMP/probe.cpio.gz")
		if qemu "$TEST_TMP/probe.cpio.gz" "$TEST_TMP/probe.console" kvm 20 &&
			grep -q kvm-probe-ok "$TEST_TMP/probe.console"; then
			echo kvm >"$stamp"
		else
			echo tcg >"$stamp"
		fi
	fi
	cat "$stamp"
}
accel=$(pick_accel)

# The image: the guest side of the tests, then what they run.
ROOT="$TEST_TMP/root"
mkdir -p "$ROOT/wssd/tests/kernel/guest" "$ROOT/wssd/tests/lib" "$ROOT/etc"
cp "$KSRC/init" "$ROOT/init"
cp "$top_srcdir"/tests/lib/*.sh "$ROOT/wssd/tests/lib/"
for t in $tests; do
	cp "$KSRC/guest/$t" "$ROOT/wssd/tests/kernel/guest/" || fail "no guest test $t"
done
cat >"$ROOT/etc/wssd-kernel.env" <<ENV
KERNEL_MODULES="$modules"
KERNEL_TESTS="$(echo $tests)"
KERNEL_TEST_TIMEOUT=${KERNEL_TEST_TIMEOUT:-300}
ENV
programs=""
for p in wssd/wssd wssd/wssc wssd/wssctl tests/tools/wgdev-tool tests/tools/udpprobe \
	tests/kernel/wgnl-check; do
	programs="$programs $top_builddir/$p=/wssd/$p"
done
t0=$(date +%s)
ROOT="$ROOT" sh "$KSRC/initramfs.sh" "$TEST_TMP/image.cpio.gz" "$kdir" "$kver" "$modules" \
	"$programs" || fail "building the initramfs"
t1=$(date +%s)
echo "initramfs: $(du -k "$TEST_TMP/image.cpio.gz" | cut -f1) KiB in $((t1 - t0)) s; qemu: $accel"

qemu "$TEST_TMP/image.cpio.gz" "$TEST_TMP/console.raw" "$accel" "$timeout"
status=$?
t2=$(date +%s)
# serial output: CRLF line ends and the firmware's escape sequences
tr -d '\r' <"$TEST_TMP/console.raw" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' >"$TEST_TMP/console"
console_all() {
	echo "--- console"
	cat "$TEST_TMP/console"
	echo "---"
}
[ "$status" = 124 ] || [ "$status" = 137 ] && { console_all; fail "no result within $timeout s (qemu, $accel)"; }
sed -n '/^wssd-kernel: /,$p' "$TEST_TMP/console" | grep -v '^\[ *[0-9.]*\] reboot: '
done_line=$(grep '^WSSD-KERNEL-DONE ' "$TEST_TMP/console")
[ -n "$done_line" ] || { console_all; fail "the guest did not finish (qemu exit $status)"; }
echo "run: $((t2 - t1)) s in qemu ($accel), kernel to init $(sed -n 's/^wssd-kernel: .*init_at=//p' \
	"$TEST_TMP/console")"
check "the guest ran $kver" grep -q "^wssd-kernel: uname=$kver " "$TEST_TMP/console"
case $done_line in
*" failed=0 "*) ;;
*) fail "guest tests failed: $done_line" ;;
esac
check "every guest test ran and passed" sh -c "echo '$done_line' | grep -q ' passed=$(echo $tests | wc -w) '"
