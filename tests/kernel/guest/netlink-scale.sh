#!/bin/sh
# Netlink at scale, on the kernel's WireGuard: 2,000 then 20,000 peers (each
# with an endpoint, a keepalive and two allowed IPs) installed in one set
# split across messages, dumped back (a dump of many messages, merged) with
# every peer and allowed IP checked, counted again by wg, evicted in one set.
# Prints the times and their ratios: the cost should grow linearly. Each
# size runs twice, interleaved, and the faster time counts: the first run
# warms the guest up, and the host's load comes and goes.
. "$top_srcdir/tests/lib/common.sh"
need_root
CHECK="$top_builddir/tests/kernel/wgnl-check"
ifc="wgscale$TEST_ID"
sizes=${SCALE_SIZES:-2000 20000 2000 20000}
largest=$(echo "$sizes" | tr ' ' '\n' | sort -n | tail -n 1)

ip link add "$ifc" type wireguard || fail "ip link add $ifc type wireguard"
at_exit "ip link del $ifc"
# Deleting a link costs the kernel an RCU grace period per peer (24 s for
# 2,000 under TCG); evicting them first, 0.05 s.
at_exit "$CHECK $ifc evict $largest"
# A gateway has a private key: each new peer then costs the kernel an X25519.
(umask 077 && wg genkey >"$TEST_TMP/key") && wg set "$ifc" private-key "$TEST_TMP/key" || fail "wg set private-key"

# field NAME TEXT: the value of NAME=... in TEXT.
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

for n in $sizes; do
	out=$("$CHECK" "$ifc" install "$n") || fail "install $n peers"
	install=$(field seconds "$out")
	pass "$n peers installed in $(field messages "$out") messages"
	check "wg counts $n peers" [ "$(wg show "$ifc" peers | wc -l)" = "$n" ]
	check "wg counts $((2 * n)) allowed IPs" \
		[ "$(wg show "$ifc" allowed-ips | awk '{ n += NF - 1 } END { print n + 0 }')" = $((2 * n)) ]
	out=$("$CHECK" "$ifc" dump "$n") || fail "dump of $n peers"
	dump=$(field seconds "$out")
	pass "dump of $n peers: every peer and allowed IP, once, as set"
	out=$("$CHECK" "$ifc" evict "$n") || fail "evict $n peers"
	evict=$(field seconds "$out")
	check "no peer left after evicting $n (in $(field messages "$out") messages)" \
		[ -z "$(wg show "$ifc" peers)" ]
	echo "# netlink $n peers: install ${install}s dump ${dump}s evict ${evict}s"
	echo "$n $install $dump $evict" >>"$TEST_TMP/times"
done

# The ratios, when both sizes ran: linear cost gives about 10, quadratic 100.
# Install and evict must stay under 40 (the dump, tens of milliseconds at
# 2,000 peers under TCG, is too short a time to judge by).
ratios=$(awk '{
	for (i = 2; i <= 4; i++) if (!seen[$1] || $i < t[$1, i]) t[$1, i] = $i
	seen[$1] = 1
} END {
	if (!seen[2000] || !seen[20000]) exit
	for (i = 2; i <= 4; i++) r[i] = t[20000, i] / (t[2000, i] > 0.001 ? t[2000, i] : 0.001)
	printf "install %.1f dump %.1f evict %.1f\n", r[2], r[3], r[4]
}' "$TEST_TMP/times")
if [ -n "$ratios" ]; then
	set -- $ratios
	echo "# netlink 20000/2000 peers: install ${2}x dump ${4}x evict ${6}x"
	check "installing 10x the peers costs under 40x" awk -v r="$2" 'BEGIN { exit !(r < 40) }'
	check "evicting 10x the peers costs under 40x" awk -v r="$6" 'BEGIN { exit !(r < 40) }'
fi
