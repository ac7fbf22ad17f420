#!/bin/sh
# Direct-UDP clients on the kernel's WireGuard, through the netlink backend:
# as tests/net/jit-udp.sh, with kernel interfaces instead of wireguard-go. A
# client whose key is only in the local registry pings the gateway over UDP;
# the gateway interface starts with no peers; wssd's capture sees the
# client's initiation, installs its peer with the client's address as
# endpoint and jit.keepalive, and the kernel initiates back at once (role
# inversion), so the first ping succeeds without the client's 5-s retry.
# Then the client moves to another port with a new handshake and the peer
# follows (update_only: the endpoint with keepalive 0, then the keepalive).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/kernel-guest.sh"
need_root

GW="kugw$TEST_ID"
CL="kucl$TEST_ID"
WG_GW="kwg${TEST_ID}g"
WG_CL="kwg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics

gw_field() {
	ns_run "$GW" wg show "$WG_GW" "$1" | awk -v k="$(cat "$TEST_TMP/cl.pub")" '$1 == k { print $2 }'
}
# first_ping: the first ping's round trip in ms, from /proc/uptime (busybox's date has no %N).
first_ping() {
	t0=$(cut -d' ' -f1 /proc/uptime)
	ns_run "$CL" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "$1: the first ping got no reply"
	t1=$(cut -d' ' -f1 /proc/uptime)
	FIRST_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
}

kpair
check "the gateway interface starts with no peers" test -z "$(ns_run "$GW" wg show "$WG_GW" peers)"

kregister cl 198.19.0.2
wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$WG_GW" gateway.backend=netlink \
	websocket.listen=198.18.0.1:8443 capture.enabled=on
ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
at_exit "kill $SPAWN_PID"
wait_for 30 ip netns exec "$GW" wget -q -O /dev/null "$ADMIN" || fail "wssd did not start"
check "the capture is open" grep -q "event=capture_opened port=51820" "$TEST_TMP/wssd.log"

ns_run "$CL" wg set "$WG_CL" peer "$(cat "$TEST_TMP/gw.pub")" allowed-ips 198.19.0.1/32 \
	endpoint 198.18.0.1:51820 || fail "client peer"
first_ping direct
echo "# direct UDP: first initiation to first ping reply: $FIRST_MS ms (kernel WireGuard, netlink, TCG)"
check "connected within a second ($FIRST_MS ms)" test "$FIRST_MS" -lt 1000
check "one initiation captured" test "$(m 'wssd_initiations_total{path="udp"}')" = 1
check "one peer installed" test "$(m wssd_installs_total)" = 1
check "its endpoint is the client's" test "$(gw_field endpoints)" = 198.18.0.2:51821
check "with jit.keepalive" test "$(gw_field persistent-keepalive)" = 25

# a peer moves at most once per 5 s
sleep 5
ns_run "$CL" wg set "$WG_CL" listen-port 51831 || fail "client port"
ns_run "$CL" wg set "$WG_CL" peer "$(cat "$TEST_TMP/gw.pub")" remove || fail "client peer remove"
ns_run "$CL" wg set "$WG_CL" peer "$(cat "$TEST_TMP/gw.pub")" allowed-ips 198.19.0.1/32 \
	endpoint 198.18.0.1:51820 || fail "client peer again"
first_ping moved
echo "# after a move: first initiation to first ping reply: $FIRST_MS ms"
check "moved: wssd moved the peer" \
	grep -q "event=peer_moved key=$(cat "$TEST_TMP/cl.pub") from=198.18.0.2:51821 to=198.18.0.2:51831" \
	"$TEST_TMP/wssd.log"
check "moved: the kernel has the new endpoint" test "$(gw_field endpoints)" = 198.18.0.2:51831
check "moved: and the keepalive" test "$(gw_field persistent-keepalive)" = 25
check "moved: its allowed IPs kept" \
	test "$(ns_run "$GW" wg show "$WG_GW" allowed-ips | awk '{ print $2 }')" = 198.19.0.2/32
check "pings go on" ns_run "$CL" ping -q -c 3 -i 0.2 -W 2 198.19.0.1
