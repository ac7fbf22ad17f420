#!/bin/sh
# The ack path: sets the kernel refuses, each in a full-size message (its
# uncapped acknowledgement would not fit the receive buffer), come back with
# the kernel's errno (EINVAL for a v4 mask of 33, ENODEV for a device that
# is not there, EOPNOTSUPP for one that is not WireGuard), and the next
# request on the same handle works.
. "$top_srcdir/tests/lib/common.sh"
need_root
CHECK="$top_builddir/tests/kernel/wgnl-check"
ifc="wgack$TEST_ID"
missing="wgmiss$TEST_ID"

ip link add "$ifc" type wireguard || fail "ip link add $ifc type wireguard"
at_exit "ip link del $ifc"
at_exit "ip link del $missing"
"$CHECK" "$ifc" refuse "$missing" >"$TEST_TMP/out" 2>&1
status=$?
sed 's/^/# /' "$TEST_TMP/out"
[ "$status" = 0 ] || fail "refusals (wgnl-check exit $status)"
check "a full-size refused set: EINVAL, the kernel's errno" grep -q '^refused=bad_cidr errno=22 ' "$TEST_TMP/out"
check "the next set on the same handle works" grep -q '^after_refusal=ok' "$TEST_TMP/out"
check "a set on a missing device: ENODEV" grep -q '^refused=no_device_set errno=19 ' "$TEST_TMP/out"
check "a dump of a missing device: ENODEV" grep -q '^refused=no_device_dump errno=19 ' "$TEST_TMP/out"
check "the same handle works once the device exists" grep -q '^after_no_device=ok' "$TEST_TMP/out"
check "a set on lo: EOPNOTSUPP" grep -q '^refused=not_wireguard errno=95 ' "$TEST_TMP/out"
