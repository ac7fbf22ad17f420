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

# m NAME{labels}: that metric of the wssd in $GW (at $ADMIN), as an integer.
m() {
	ip netns exec "$GW" wget -q -O - "$ADMIN" |
		awk -v want="$1" '$1 == want { print int($2); found = 1 } END { if (!found) print 0 }'
}
