# Sourced after common.sh. Test hosts are network namespaces named after
# the test's PID; addresses come from 198.18.0.0/15 (RFC 2544, test use)
# and fd00:5353::/32 and never leave the namespaces.

# ns_create NAME: a namespace with loopback up, removed at exit.
ns_create() {
	ip netns add "$1" || fail "ip netns add $1"
	at_exit "ip netns del $1"
	ip -n "$1" link set lo up
}

# ns_link NS_A ADDR_A NS_B ADDR_B: a veth pair between two namespaces,
# each end with a /24 (IPv4) or /64 (IPv6) address.
ns_link() {
	a="v${TEST_ID}a$(_ns_seq)"
	b="v${TEST_ID}b$(_ns_seq)"
	ip link add "$a" netns "$1" type veth peer name "$b" netns "$3" || fail "veth $a/$b"
	_ns_addr "$1" "$a" "$2"
	_ns_addr "$3" "$b" "$4"
	ip -n "$1" link set "$a" up
	ip -n "$3" link set "$b" up
}

_ns_seq_n=0
_ns_seq() { _ns_seq_n=$((_ns_seq_n + 1)); echo "$_ns_seq_n"; }

_ns_addr() {
	case "$3" in
	*:*) ip -n "$1" addr add "$3/64" dev "$2" nodad ;;
	*) ip -n "$1" addr add "$3/24" dev "$2" ;;
	esac
}

# wg_go_start NS IFACE: starts wireguard-go for IFACE inside NS (stopped at
# exit) and waits for its UAPI socket. Interface names include the test's
# PID because /var/run/wireguard is shared by every namespace.
wg_go_start() {
	ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error \
		wireguard-go "$2" >"$TEST_TMP/wg-$2.log" 2>&1 &
	at_exit "kill $! ; rm -f /var/run/wireguard/$2.sock"
	wait_for 10 test -S "/var/run/wireguard/$2.sock" || fail "wireguard-go $2 did not start"
}

# wg_setup NS IFACE PRIVKEY_FILE PORT TUNNEL_ADDR/PREFIX: keys, port, address, up.
wg_setup() {
	ip netns exec "$1" wg set "$2" private-key "$3" listen-port "$4" || fail "wg set $2"
	ip -n "$1" addr add "$5" dev "$2"
	ip -n "$1" link set "$2" up
}

# ns_run NS CMD...: runs CMD in NS.
ns_run() {
	ns="$1"
	shift
	ip netns exec "$ns" "$@"
}
