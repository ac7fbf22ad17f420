#!/bin/sh
# ws-edge (root, network namespaces): what a client can do before it is a
# session is bounded. Internal protocols cannot be asked for; idle TCP
# connections from one address cannot lock others out (per address, an IPv6
# /64, and in all, the oldest making room); every connection has the
# handshake deadline, and each refusal and timeout is logged (rate-limited)
# and counted.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ws_conf
wssd_start -s websocket.max_sessions=50 -s websocket.max_sessions_per_ip=5 \
	-s websocket.handshake_timeout=2

# The raw descriptors' protocols are on a vhost that listens nowhere.
for proto in wssd-udp wssd-fd wssd-udp,wssd-fd; do
	for i in 1 2 3 4 5 6 7 8 9 10; do
		probe --tls --subproto "$proto" 198.18.0.1 8443 expect-status 400 ||
			fail "subprotocol $proto: attempt $i was not answered 400"
	done
	pass "subprotocol $proto: 10 of 10 answered 400"
done
check "subprotocols: no session opened" metric_is wssd_sessions_total 0
check "subprotocols: counted" metric_is 'wssd_bad_upgrades_total{reason="subprotocol"}' 30
check "a subprotocol of ours still upgrades" \
	probe --tls --subproto "wssd-udp, wswg-binary" 198.18.0.1 8443 magic echo 10 1

# The handshake deadline (2 s), at each stage, logged and counted.
check "stage tls: a TCP connection that sends nothing is closed" \
	probe 198.18.0.1 8443 wait-close
check "stage http: a TLS connection that sends no request is closed" \
	probe --tls 198.18.0.1 8443 wait-close
check "stage http, plain listener" probe 198.18.0.1 8080 wait-close
check "stage magic: an upgraded session that sends no magic is closed with 1008" \
	probe --tls 198.18.0.1 8443 expect-close 1008
for stage in tls http magic; do
	check "stage $stage: logged" logged "event=handshake_timeout remote=198.18.0.2 stage=$stage "
done
check "stage tls: counted" metric_is 'wssd_handshake_timeouts_total{stage="tls"}' 1
check "stage http: counted" metric_is 'wssd_handshake_timeouts_total{stage="http"}' 2
check "stage magic: counted" metric_is 'wssd_handshake_timeouts_total{stage="magic"}' 1
check "stage magic: the session's close says so" \
	logged "event=session_close .*reason=handshake_timeout code=1008"

# The lock-out: 600 idle TCP connections from 198.18.0.3, renewed as the
# server closes them; an upgrade from 198.18.0.2 must still go through.
rm -f "$TEST_TMP/stop"
flood0=$(date +%s)
ns_run "$CL" "$PROBE" --bind 198.18.0.3 198.18.0.1 8443 hold-tcp 600 "$TEST_TMP/stop" \
	>"$TEST_TMP/hold.out" 2>&1 &
HOLD=$!
at_exit "kill $HOLD"
check "lock-out: the attacker's connections are refused past 16" \
	wait_for 20 metric_at_least 'wssd_sessions_refused_total{reason="max_pending_per_ip"}' 584
t0=$(date +%s%N)
check "lock-out: an upgrade from another address completes" \
	probe --tls 198.18.0.1 8443 magic echo 10 1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "lock-out: in under 2 s ($ms ms)" test "$ms" -lt 2000
check "lock-out: refusals logged, naming the limit" \
	logged "event=session_refused remote=198.18.0.3 client=198.18.0.3 reason=max_pending_per_ip limit=16"
touch "$TEST_TMP/stop"
wait "$HOLD"
refused=$(m 'wssd_sessions_refused_total{reason="max_pending_per_ip"}')
lines=$(log_count "reason=max_pending_per_ip")
windows=$(( ($(date +%s) - flood0) / 5 + 1 ))
check "lock-out: $refused refusals in $lines lines (at most 10 each 5 s)" \
	test "$lines" -le $((10 * windows))
sleep 5	# the next line starts a window of its own
rm -f "$TEST_TMP/stop"
ns_run "$CL" "$PROBE" --bind 198.18.0.3 198.18.0.1 8443 hold-tcp 17 "$TEST_TMP/stop" \
	>/dev/null 2>&1 &
HOLD=$!
check "lock-out: the next refusal says how many lines were left out" \
	wait_for 10 logged "reason=max_pending_per_ip limit=16 suppressed=[0-9]+"
touch "$TEST_TMP/stop"
wait "$HOLD"

# IPv6 clients count by /64: ::2 and ::3 share one budget, another /64 has
# its own.
kill "$WSSD_PID"
wait "$WSSD_PID"
ip -n "$GW" addr add fd00:5353:0:1::1/64 dev "$NS_LINK_A" nodad
ip -n "$CL" addr add fd00:5353::3/64 dev "$NS_LINK_B" nodad
ip -n "$CL" addr add fd00:5353:0:1::2/64 dev "$NS_LINK_B" nodad
wssd_start -s "websocket.plain_listen=198.18.0.1:8080, [fd00:5353::1]:8080" \
	-s websocket.max_pending_per_ip=2 -s websocket.handshake_timeout=30
rm -f "$TEST_TMP/stop"
ns_run "$CL" "$PROBE" --bind fd00:5353::2 fd00:5353::1 8080 hold-tcp 2 "$TEST_TMP/stop" \
	>/dev/null 2>&1 &
HOLD=$!
at_exit "kill $HOLD"
check "IPv6: two pending from fd00:5353::2" wait_for 10 metric_is wssd_pending_connections 2
check "IPv6: fd00:5353::3, same /64, is refused" \
	probe --bind fd00:5353::3 fd00:5353::1 8080 expect-refused
check "IPv6: logged with its /64" \
	logged "event=session_refused remote=fd00:5353::3 client=fd00:5353::/64 reason=max_pending_per_ip"
check "IPv6: fd00:5353:0:1::2, another /64, upgrades" \
	probe --bind fd00:5353:0:1::2 fd00:5353::1 8080 magic echo 10 1
touch "$TEST_TMP/stop"
wait "$HOLD"

# In all at most websocket.max_pending: past it the oldest is closed to let
# the new one in, which under a slowloris is the attacker's.
kill "$WSSD_PID"
wait "$WSSD_PID"
wssd_start -s websocket.max_pending=4 -s websocket.max_pending_per_ip=2 \
	-s websocket.handshake_timeout=30
rm -f "$TEST_TMP/stop"
for a in 198.18.0.3 198.18.0.4; do
	ns_run "$CL" "$PROBE" --bind "$a" 198.18.0.1 8443 hold-tcp 2 "$TEST_TMP/stop" >/dev/null 2>&1 &
	at_exit "kill $!"
done
check "max_pending: four idle connections fill it" wait_for 10 metric_is wssd_pending_connections 4
check "max_pending: another client still upgrades" probe --tls 198.18.0.1 8443 magic echo 10 1
check "max_pending: by closing one of the attackers', counted" metric_at_least wssd_pending_evicted_total 1
check "max_pending: logged" logged "event=connection_evicted remote=198.18.0.[34] stage=tls "
touch "$TEST_TMP/stop"
