#!/bin/sh
# Netlink at scale, on the kernel's WireGuard: 2,000 then 20,000 peers (each
# with an endpoint, a keepalive and two allowed IPs) installed in one set
# split across messages, dumped back (a dump of many messages, merged) with
# every peer and allowed IP checked, counted again by wg, evicted in one set.
# Prints the times and their ratios: the cost should grow linearly.
. "$top_srcdir/tests/lib/common.sh"
need_root
CHECK="$top_builddir/tests/kernel/wgnl-check"
ifc="wgscale$TEST_ID"

ip link add "$ifc" type wireguard || fail "ip link add $ifc type wireguard"
at_exit "ip link del $ifc"
# A gateway has a private key: each new peer then costs the kernel an X25519.
(umask 077 && wg genkey >"$TEST_TMP/key") && wg set "$ifc" private-key "$TEST_TMP/key" || fail "wg set private-key"

# field NAME TEXT: the value of NAME=... in TEXT.
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

for n in ${SCALE_SIZES:-2000 20000}; do
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
	check "no peer left after evicting $n" [ -z "$(wg show "$ifc" peers)" ]
	echo "# netlink $n peers: install ${install}s dump ${dump}s evict ${evict}s"
	eval "install_$n=$install dump_$n=$dump evict_$n=$evict"
done

# The ratios, when both sizes ran: linear cost gives about 10, quadratic 100.
# Install and evict (seconds even under TCG) must stay under 40; the dump,
# tens of milliseconds at 2,000 peers, is printed only.
if [ -n "${install_2000:-}" ] && [ -n "${install_20000:-}" ]; then
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b / (a > 0.001 ? a : 0.001) }'; }
	ri=$(ratio "$install_2000" "$install_20000")
	rd=$(ratio "$dump_2000" "$dump_20000")
	re=$(ratio "$evict_2000" "$evict_20000")
	echo "# netlink 20000/2000 peers: install ${ri}x dump ${rd}x evict ${re}x"
	check "installing 10x the peers costs under 40x" awk -v r="$ri" 'BEGIN { exit !(r < 40) }'
	check "evicting 10x the peers costs under 40x" awk -v r="$re" 'BEGIN { exit !(r < 40) }'
fi
