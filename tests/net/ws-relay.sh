#!/bin/sh
# ws-relay (root, network namespaces, wireguard-go): WireGuard traffic through
# wssc -> TLS WebSocket -> wssd -> the gateway's WireGuard port.
#
#   client ns: wireguard-go (peer endpoint = wssc's UDP port) <-> wssc
#        |  veth 198.18.0.2 -> 198.18.0.1, wss://198.18.0.1:8443/
#   gateway ns: wssd -> 127.0.0.1:51820 wireguard-go (client's peer set by hand)
#
# Tunnel 198.19.0.2 -> 198.19.0.1: ping, then a 5-second iperf3 TCP run, once
# per client setting. The four settings cover every cut mode and both message
# types: record+text, split+text, random+binary, record+binary. The client
# switches to a new wssc (new port, new session) each time while WireGuard's
# session continues, as after a flyctl reconnect.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests wireguard-go wg iperf3 ping curl
[ -x "$WSSD" ] || skip "wssd is not built"

GW="wsgw$TEST_ID"
CL="wscl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics

wg_gateway_pair "$GW" "$CL" "$WG_GW" "$WG_CL"

wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$WG_GW" gateway.backend=uapi \
	websocket.listen=198.18.0.1:8443

ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
WSSD_PID=$SPAWN_PID
at_exit "kill $WSSD_PID"
wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not serve /metrics"
check "self-signed certificate generated" test -s "$TEST_TMP/state/tls-cert.pem"

ns_spawn "$GW" "$TEST_TMP/iperf3-server.txt" "$TEST_TMP/iperf3-server.txt" iperf3 -s -B 198.19.0.1
at_exit "kill $SPAWN_PID"

records_in_before=$(ns_metric "$GW" "$ADMIN" 'wssd_records_total{dir="in"}')
records_out_before=$(ns_metric "$GW" "$ADMIN" 'wssd_records_total{dir="out"}')

# iperf_field NAME FILE: a field of the receiver's summary in iperf3's JSON.
iperf_field() {
	awk -F'[:,]' -v want="\"$1\"" '/"sum_received"/ { r = 1 }
		r && $1 ~ want { gsub(/[ \t]/, "", $2); print int($2); exit }' "$2"
}
tcp_bytes=0

# run_client NAME WSSC-OPTIONS...: one wssc, ping and iperf3 through it.
run_client() {
	name=$1
	shift
	out="$TEST_TMP/wssc-$name.out"
	ns_spawn "$CL" "$out" "$TEST_TMP/wssc-$name.log" "$WSSC" --insecure "$@" wss://198.18.0.1:8443/
	pid=$SPAWN_PID
	wait_for 10 grep -q '^listening=' "$out" || fail "$name: wssc did not start"
	port=$(sed -n 's/^listening=127\.0\.0\.1://p' "$out")
	ns_run "$CL" wg set "$WG_CL" peer "$(cat "$TEST_TMP/gw.pub")" allowed-ips 198.19.0.1/32 \
		endpoint "127.0.0.1:$port" || fail "$name: client peer"
	# WireGuard retries its handshake every 5 s; give it a few tries.
	wait_for 30 ns_run "$CL" ping -c 1 -W 1 198.19.0.1 || fail "$name: no ping through the tunnel"
	check "$name: ping" ns_run "$CL" ping -q -c 5 -i 0.2 -W 2 198.19.0.1
	ns_run "$CL" iperf3 -c 198.19.0.1 -t 5 -J >"$TEST_TMP/iperf3-$name.json" ||
		fail "$name: iperf3"
	bps=$(iperf_field bits_per_second "$TEST_TMP/iperf3-$name.json")
	bytes=$(iperf_field bytes "$TEST_TMP/iperf3-$name.json")
	[ "${bps:-0}" -gt 0 ] && [ "${bytes:-0}" -gt 0 ] || fail "$name: iperf3 moved nothing"
	tcp_bytes=$((tcp_bytes + bytes))
	pass "$name: iperf3 TCP 5 s, $((bps / 1000000)) Mbit/s received"
	grep -q 'event=connected' "$TEST_TMP/wssc-$name.log" || fail "$name: wssc never connected"
	kill "$pid"
	wait "$pid"
	status=$?
	[ "$status" = 0 ] || fail "$name: wssc exited $status on SIGTERM"
}

run_client record-text --cut record
run_client split-text --cut split
run_client random-binary --cut random --binary
run_client record-binary --cut record --binary

grep -q 'subprotocol=wswg-binary' "$TEST_TMP/wssc-random-binary.log" ||
	fail "wswg-binary was not negotiated"
pass "wswg-binary negotiated"

records_in=$(ns_metric "$GW" "$ADMIN" 'wssd_records_total{dir="in"}')
records_out=$(ns_metric "$GW" "$ADMIN" 'wssd_records_total{dir="out"}')
bytes_in=$(ns_metric "$GW" "$ADMIN" 'wssd_bytes_total{dir="in"}')
bytes_out=$(ns_metric "$GW" "$ADMIN" 'wssd_bytes_total{dir="out"}')
sessions=$(ns_metric "$GW" "$ADMIN" wssd_sessions_total)
errors=$(ns_run "$GW" curl -fsS "$ADMIN" | awk '/^wssd_protocol_errors_total/ { s += $2 } END { print s + 0 }')
echo "records in=$records_in out=$records_out bytes in=$bytes_in out=$bytes_out sessions=$sessions"
# Every TCP byte iperf3 moved crossed wssd inside a record (with WireGuard's
# overhead on top); the ACKs came back as records of at least 32 bytes.
check "records in counted" test "${records_in%.*}" -gt "$((${records_in_before%.*} + 1000))"
check "records out counted" test "${records_out%.*}" -gt "$((${records_out_before%.*} + 1000))"
check "bytes in >= TCP bytes moved ($tcp_bytes)" test "${bytes_in%.*}" -ge "$tcp_bytes"
check "bytes out >= 32 per record out" test "${bytes_out%.*}" -ge "$((32 * ${records_out%.*}))"
check "four sessions counted" test "${sessions%.*}" -ge 4
check "no protocol errors" test "$errors" = 0
