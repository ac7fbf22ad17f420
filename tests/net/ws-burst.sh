#!/bin/sh
# ws-burst (root, network namespaces): bursts of numbered records, each its
# own message and TLS record, sent in one corked write. wssd reads such a
# burst with few read()s (TLS read-ahead) and may find the socket empty
# while whole records wait in OpenSSL's buffer: every one must still come
# back (the probe gives up after 10 s of silence), each once and in order,
# small and large records mixed (a record over the relay's batch slot must
# not overtake the session's batched ones).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ws_conf
wssd_start ${WSSD_TEST_ARGS:-}

BURSTS="magic burst 1400 40 burst 100,3000,100,100,5000,60 48 burst 60 100 burst 1400 3
	echo 100 2 burst 8000,1400 12"
check "wss://, text" probe --tls 198.18.0.1 8443 $BURSTS
check "wss://, wswg-binary" probe --tls --subproto wswg-binary 198.18.0.1 8443 $BURSTS
check "plain ws://" probe 198.18.0.1 8080 $BURSTS
check "wss:// IPv6" probe --tls fd00:5353::1 8443 $BURSTS

# Four sessions at once, each bursting: records of one session never mix
# with another's. (Bursts are sized for the echo's socket buffer: UDP that
# overflows it is lost, which is not what this test looks at.)
pids=
for k in 1 2 3 4; do
	probe --tls 198.18.0.1 8443 magic burst 1400,200 24 burst 100,3000 12 \
		>"$TEST_TMP/par$k.out" 2>&1 &
	pids="$pids $!"
done
k=0
for p in $pids; do
	k=$((k + 1))
	wait "$p" || fail "parallel session $k: $(cat "$TEST_TMP/par$k.out")"
done
pass "4 sessions at once"
records=$(( 4 * (40 + 48 + 100 + 3 + 2 + 12) + 4 * (24 + 12) ))
check "every record relayed once each way" metric_is 'wssd_records_total{dir="out"}' "$records"
check "none dropped" metric_is 'wssd_drops_total{reason="send_queue_full"}' 0

# WireGuard across a link of MTU 1280: runs of 1400-byte records are too
# long for one UDP GSO message on that route, and go one by one instead
# (as IP fragments), every one of them, in order.
kill "$WSSD_PID"
wait "$WSSD_PID" 2>/dev/null
ip -n "$GW" link set dev "$NS_LINK_A" mtu 1280
ip -n "$CL" link set dev "$NS_LINK_B" mtu 1280
ns_spawn "$CL" "$TEST_TMP/echo-far.out" "$TEST_TMP/echo-far.out" "$PROBE" udp-echo 198.18.0.2 51821
at_exit "kill $SPAWN_PID"
wait_for 10 grep -q ready "$TEST_TMP/echo-far.out" || fail "far UDP echo did not start"
wssd_start ${WSSD_TEST_ARGS:-} -s gateway.wg_address=198.18.0.2 -s gateway.wg_port=51821
probe --tls 198.18.0.1 8443 magic burst 1400 24 burst 1400,1400,600 30 echo 100 2 ||
	{ ns_run "$GW" curl -s "$ADMIN" | grep -E "drops|records"; fail "over a small MTU"; }
