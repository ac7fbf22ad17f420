# Sourced after common.sh. Test hosts are network namespaces named after
# the test's PID; addresses come from 198.18.0.0/15 (RFC 2544, test use)
# and fd00:5353::/32 and never leave the namespaces.

# ns_create NAME: a namespace with loopback up, removed at exit together
# with whatever still runs in it.
ns_create() {
	ip netns add "$1" || fail "ip netns add $1"
	at_exit "ip netns del $1"
	at_exit "_ns_kill_all $1"
	ip -n "$1" link set lo up
}

_ns_kill_all() {
	pids=$(ip netns pids "$1" 2>/dev/null)
	[ -n "$pids" ] || return 0
	kill $pids 2>/dev/null
	i=0
	while [ "$i" -lt 30 ] && [ -n "$(ip netns pids "$1" 2>/dev/null)" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pids=$(ip netns pids "$1" 2>/dev/null)
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null
	return 0
}

# ns_link NS_A ADDR_A NS_B ADDR_B: a veth pair between two namespaces,
# each end with a /24 (IPv4) or /64 (IPv6) address. More addresses can be
# added to an end afterwards with ns_addr.
ns_link() {
	_ns_seq_n=$((_ns_seq_n + 1))
	a="v${TEST_ID}a${_ns_seq_n}"
	b="v${TEST_ID}b${_ns_seq_n}"
	ip link add "$a" netns "$1" type veth peer name "$b" netns "$3" || fail "veth $a/$b"
	_ns_addr "$1" "$a" "$2"
	_ns_addr "$3" "$b" "$4"
	ip -n "$1" link set "$a" up || fail "link up $a"
	ip -n "$3" link set "$b" up || fail "link up $b"
	NS_LINK_A=$a
	NS_LINK_B=$b
}

_ns_seq_n=0

_ns_addr() {
	case "$3" in
	*:*) ip -n "$1" addr add "$3/64" dev "$2" nodad || fail "addr $3 on $2" ;;
	*) ip -n "$1" addr add "$3/24" dev "$2" || fail "addr $3 on $2" ;;
	esac
}

# ns_addr NS DEV ADDR: one more address on a link end.
ns_addr() {
	_ns_addr "$@"
}

# wg_go_start NS IFACE: starts wireguard-go for IFACE inside NS (stopped at
# exit) and waits for its UAPI socket. Interface names include the test's
# PID because /var/run/wireguard is shared by every namespace.
wg_go_start() {
	[ "${#2}" -le 15 ] || fail "interface name $2 is longer than 15"
	mkdir -p /var/run/wireguard
	ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error \
		wireguard-go "$2" >"$TEST_TMP/wg-$2.log" 2>&1 &
	at_exit "kill $! ; rm -f /var/run/wireguard/$2.sock"
	wait_for 10 test -S "/var/run/wireguard/$2.sock" || fail "wireguard-go $2 did not start"
	wait_for 10 ip -n "$1" link show "$2" || fail "wireguard-go $2 has no interface"
}

# wg_setup NS IFACE PRIVKEY_FILE PORT TUNNEL_ADDR/PREFIX: keys, port, address, up.
wg_setup() {
	ip netns exec "$1" wg set "$2" private-key "$3" listen-port "$4" || fail "wg set $2"
	ip -n "$1" addr add "$5" dev "$2" || fail "addr $5 on $2"
	ip -n "$1" link set "$2" up || fail "link up $2"
}

# wg_keypair NAME: writes $TEST_TMP/NAME.key and $TEST_TMP/NAME.pub.
wg_keypair() {
	(umask 077 && wg genkey >"$TEST_TMP/$1.key") || fail "wg genkey"
	wg pubkey <"$TEST_TMP/$1.key" >"$TEST_TMP/$1.pub" || fail "wg pubkey"
}

# ns_run NS CMD...: runs CMD in NS.
ns_run() {
	ns="$1"
	shift
	ip netns exec "$ns" "$@"
}

# ns_metric NS URL NAME{labels}: metric, read from inside NS.
ns_metric() {
	ip netns exec "$1" curl -fsS "$2" |
		awk -v want="$3" '$1 == want { print $2; found = 1 } END { if (!found) print 0 }'
}

# ns_spawn NS OUT ERR CMD...: starts CMD in NS in the background with stdout
# to OUT and stderr to ERR (append), and sets SPAWN_PID to CMD's own pid
# (`ns_run ... &` would give the pid of a subshell instead).
ns_spawn() {
	_ns=$1 _out=$2 _err=$3
	shift 3
	ip netns exec "$_ns" "$@" >"$_out" 2>>"$_err" &
	SPAWN_PID=$!
}

# wg_hosts GW CL WG_GW WG_CL: namespaces GW and CL joined by a veth
# (198.18.0.1 and 198.18.0.2), a wireguard-go device in each (keys in
# $TEST_TMP/gw.* and cl.*, ports 51820 and 51821, tunnel 198.19.0.1 and
# 198.19.0.2), and no peers.
wg_hosts() {
	ns_create "$1"
	ns_create "$2"
	ns_link "$1" 198.18.0.1 "$2" 198.18.0.2
	wg_keypair gw
	wg_keypair cl
	wg_go_start "$1" "$3"
	wg_go_start "$2" "$4"
	wg_setup "$1" "$3" "$TEST_TMP/gw.key" 51820 198.19.0.1/24
	wg_setup "$2" "$4" "$TEST_TMP/cl.key" 51821 198.19.0.2/24
}

# wg_gateway_pair GW CL WG_GW WG_CL: wg_hosts, and the client configured by
# hand as a peer of the gateway.
wg_gateway_pair() {
	wg_hosts "$@"
	ns_run "$1" wg set "$3" peer "$(cat "$TEST_TMP/cl.pub")" allowed-ips 198.19.0.2/32 ||
		fail "gateway peer"
}

# wg_client_host GW NS IFACE NAME N: one more client namespace NS, joined to
# GW by a veth (198.18.N.1 on GW's side, 198.18.N.2 on NS's), with a
# wireguard-go device IFACE keyed $TEST_TMP/NAME.* on port 51821, tunnel
# address 198.19.0.(N+2)/24, and no peers.
wg_client_host() {
	ns_create "$2"
	ns_link "$1" "198.18.$5.1" "$2" "198.18.$5.2"
	wg_keypair "$4"
	wg_go_start "$2" "$3"
	wg_setup "$2" "$3" "$TEST_TMP/$4.key" 51821 "198.19.0.$(($5 + 2))/24"
}
