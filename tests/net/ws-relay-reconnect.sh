#!/bin/sh
# ws-relay-reconnect (root, network namespaces, wireguard-go): wssc keeps its
# UDP socket when the gateway goes away, reconnects with backoff when wssd is
# back, and the WireGuard session continues over the new WebSocket without
# touching either WireGuard device.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests wireguard-go wg ping curl
[ -x "$WSSD" ] || skip "wssd is not built"

GW="wrgw$TEST_ID"
CL="wrcl$TEST_ID"
WG_GW="wr${TEST_ID}g"
WG_CL="wr${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics

wg_gateway_pair "$GW" "$CL" "$WG_GW" "$WG_CL"

wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$WG_GW" gateway.backend=uapi \
	websocket.listen=198.18.0.1:8443

WSSD_PID=
start_wssd() {
	ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
	WSSD_PID=$SPAWN_PID
	wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not start"
}

reconnected() {
	[ "$(grep -c 'event=connected' "$TEST_TMP/wssc.log")" -ge 2 ]
}

start_wssd
ns_spawn "$CL" "$TEST_TMP/wssc.out" "$TEST_TMP/wssc.log" "$WSSC" --insecure wss://198.18.0.1:8443/
at_exit "kill $SPAWN_PID"
wait_for 10 grep -q '^listening=' "$TEST_TMP/wssc.out" || fail "wssc did not start"
port=$(sed -n 's/^listening=127\.0\.0\.1://p' "$TEST_TMP/wssc.out")
ns_run "$CL" wg set "$WG_CL" peer "$(cat "$TEST_TMP/gw.pub")" allowed-ips 198.19.0.1/32 \
	endpoint "127.0.0.1:$port" || fail "client peer"
wait_for 30 ns_run "$CL" ping -c 1 -W 1 198.19.0.1 || fail "no ping through the tunnel"
pass "ping through the first connection"
hs1=$(ns_run "$CL" wg show "$WG_CL" latest-handshakes | awk '{ print $2 }')

# The gateway goes away: wssc notices and keeps retrying.
kill "$WSSD_PID"
wait "$WSSD_PID"
status=$?
check "wssd exited 0 on SIGTERM (status $status)" test "$status" = 0
wait_for 10 grep -q 'event=disconnected.*was_open=yes' "$TEST_TMP/wssc.log" ||
	fail "wssc did not notice the disconnect"
pass "wssc saw the disconnect"
wait_for 10 grep -q 'event=disconnected.*was_open=no' "$TEST_TMP/wssc.log" ||
	fail "wssc did not retry"
pass "wssc retries while the gateway is down"

start_wssd
wait_for 30 reconnected || fail "wssc did not reconnect"
pass "wssc reconnected"
check "same local UDP port" grep -q "^listening=127.0.0.1:$port\$" "$TEST_TMP/wssc.out"
wait_for 30 ns_run "$CL" ping -c 1 -W 1 198.19.0.1 || fail "no ping after the reconnect"
pass "ping after the reconnect"
# Same WireGuard session: no new handshake was needed (WireGuard roams).
hs2=$(ns_run "$CL" wg show "$WG_CL" latest-handshakes | awk '{ print $2 }')
check "same WireGuard session (no new handshake)" test "$hs1" = "$hs2"
records=$(ns_metric "$GW" "$ADMIN" 'wssd_records_total{dir="in"}')
check "the new wssd relayed records" test "${records%.*}" -gt 0

# The tunnel is idle now (no persistent keepalive): wssc's own zero-length
# keepalive records, one per second of silence, keep arriving.
keepalives_at_least() {
	k=$(ns_metric "$GW" "$ADMIN" wssd_keepalives_total)
	[ "${k%.*}" -ge "$1" ]
}
wait_for 15 keepalives_at_least 3 || fail "no keepalives from wssc"
pass "wssc sends keepalives while idle"
