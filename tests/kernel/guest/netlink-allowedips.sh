#!/bin/sh
# A peer with more allowed IPs than one netlink message holds (2,000: v4 /30s
# and v6 /48s) round-trips exactly through a set split across messages and a
# dump that continues the peer across messages; 2,000 others then replace
# them (the replace flag goes in the first fragment only), and wg agrees.
. "$top_srcdir/tests/lib/common.sh"
need_root
CHECK="$top_builddir/tests/kernel/wgnl-check"
ifc="wgips$TEST_ID"

ip link add "$ifc" type wireguard || fail "ip link add $ifc type wireguard"
at_exit "ip link del $ifc"
out=$("$CHECK" "$ifc" allowedips 2000) || fail "2000 allowed IPs round trip"
echo "$out" | sed 's/^/# /'
check "set and dump of 2000 allowed IPs are exact" [ "$(echo "$out" | grep -c round_trip=exact)" = 2 ]
wg show "$ifc" allowed-ips | tr ' \t' '\n\n' | sed 1d >"$TEST_TMP/ips"
check "wg counts 2000 allowed IPs" [ "$(wc -l <"$TEST_TMP/ips")" = 2000 ]
# the second generation: 198.19.0.0 + 4i/30 and 2001:db8:80xx:.../48
check "wg shows the replacing ones" grep -qx 198.19.31.56/30 "$TEST_TMP/ips"
check "wg shows none of the replaced ones" sh -c "! grep -q '^198\.18\.' '$TEST_TMP/ips'"
