# Sourced by the guest scripts of tests/kernel after netns.sh: kernel
# WireGuard interfaces in namespaces, wssd's metrics read with busybox.

# busybox's sh runs its own applets first, and its ip has no netns.
ip() { /usr/sbin/ip "$@"; }

# kwg NS IFACE KEYNAME PORT ADDR/PREFIX: a kernel WireGuard interface in NS.
kwg() {
	ip -n "$1" link add "$2" type wireguard || fail "kernel WireGuard $2"
	wg_keypair "$3"
	wg_setup "$1" "$2" "$TEST_TMP/$3.key" "$4" "$5"
}

# kpair: namespaces $GW and $CL on a veth (198.18.0.1, .2), each with a
# kernel WireGuard interface: $WG_GW (key gw, port 51820, 198.19.0.1/24)
# and $WG_CL (key cl, port 51821, 198.19.0.2/24).
kpair() {
	ns_create "$GW"
	ns_create "$CL"
	ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2
	kwg "$GW" "$WG_GW" gw 51820 198.19.0.1/24
	kwg "$CL" "$WG_CL" cl 51821 198.19.0.2/24
}

# kregister KEYNAME ADDR: that key in the registry of the wssd under
# $TEST_TMP/state, with ADDR/32.
kregister() {
	mkdir -p "$TEST_TMP/state"
	"$WSSCTL" --db "$TEST_TMP/state/wssd.db" peer add "$(cat "$TEST_TMP/$1.pub")" "$2/32" \
		>/dev/null || fail "wssctl peer add $1"
}

# m NAME{labels}: that metric of the wssd in $GW (at $ADMIN), as an integer.
m() {
	ip netns exec "$GW" wget -q -O - "$ADMIN" |
		awk -v want="$1" '$1 == want { print int($2); found = 1 } END { if (!found) print 0 }'
}
