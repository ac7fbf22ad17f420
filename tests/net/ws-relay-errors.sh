#!/bin/sh
# ws-relay-errors (root, network namespaces): what comes back from the
# WireGuard side that is not an answer, and clients that do not read.
#  - ICMP port unreachable (WireGuard restarting): the error is read and
#    counted, and the session keeps its relay socket, so WireGuard sees the
#    same source port once it is back.
#  - 10 sessions that never read, answered with 60,000-byte datagrams: the
#    send queue is bounded by bytes too (websocket.send_queue x 2 KiB), so
#    wssd's memory stays near where it was; the excess is dropped and
#    counted, and the memory goes back when the sessions close.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ECHO_PID=$SPAWN_PID
ws_conf
wssd_start ${WSSD_TEST_ARGS:-}

# The inodes of wssd's UDP sockets, one per line.
udp_inodes() {
	ls -l "/proc/$WSSD_PID/fd" | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | sort >"$TEST_TMP/fd.inodes"
	awk 'NR > 1 { print $10 }' "/proc/$WSSD_PID/net/udp" | sort >"$TEST_TMP/udp.inodes"
	comm -12 "$TEST_TMP/fd.inodes" "$TEST_TMP/udp.inodes"
}

kill "$ECHO_PID"
wait "$ECHO_PID" 2>/dev/null
rm -f "$TEST_TMP/back" "$TEST_TMP/end"
probe --tls 198.18.0.1 8443 magic flood 3 100 ready wait-file "$TEST_TMP/back" \
	echo 100 3 burst 1400 10 ready wait-file "$TEST_TMP/end" >"$TEST_TMP/icmp.out" 2>&1 &
PROBE_PID=$!
at_exit "kill $PROBE_PID"
check "records sent while WireGuard is away" wait_for 10 grep -q ready "$TEST_TMP/icmp.out"
check "the ICMP errors are read and counted" wait_for 10 metric_at_least wssd_relay_icmp_errors_total 1
before=$(udp_inodes)
check "the session keeps one relay socket" test "$(echo "$before" | wc -l)" = 1
ns_spawn "$GW" "$TEST_TMP/echo2.out" "$TEST_TMP/echo2.out" "$PROBE" udp-echo 127.0.0.1 51820
at_exit "kill $SPAWN_PID"
wait_for 10 grep -q ready "$TEST_TMP/echo2.out" || fail "UDP echo did not start again"
touch "$TEST_TMP/back"
twice_ready() {
	[ "$(grep -c ready "$TEST_TMP/icmp.out")" = 2 ]
}
check "records relayed once WireGuard is back" wait_for 20 twice_ready
check "through the same relay socket" test "$(udp_inodes)" = "$before"
touch "$TEST_TMP/end"
check "that session ends well" wait "$PROBE_PID"

base=$(mem VmRSS)
rm -f "$TEST_TMP/done"
pids=
for k in 0 1 2 3 4 5 6 7 8 9; do
	probe --tls --rcvbuf 4096 198.18.0.1 8443 magic flood 40 60000 ready \
		wait-file "$TEST_TMP/done" >"$TEST_TMP/slow$k.out" 2>&1 &
	pids="$pids $!"
done
at_exit "kill $pids"
all_ready() {
	[ "$(cat "$TEST_TMP"/slow*.out | grep -c ready)" = 10 ]
}
check "10 slow sessions sent their datagrams" wait_for 30 all_ready
check "what they cannot take is dropped and counted" \
	wait_for 10 metric_at_least 'wssd_drops_total{reason="send_queue_full"}' 1
relayed() {
	[ "$(m 'wssd_records_total{dir="in"}')" -ge $((10 * 40 + 16)) ]
}
check "every datagram was relayed towards WireGuard" wait_for 30 relayed
sleep 1	# the answers reach the queues
busy=$(mem VmRSS)
touch "$TEST_TMP/done"
for p in $pids; do
	wait "$p"
done
check "sessions closed" wait_for 10 metric_is wssd_sessions 0
after=$(mem VmRSS)
if built_with_asan; then
	# ASan keeps freed memory in quarantine: resident sizes say nothing here.
	pass "RSS not compared under ASan ($base -> $busy -> $after KiB)"
else
	# Bounded by count only, the queues took 64 MB here (128 x 60,000
	# bytes each); bounded by bytes, 10 x 256 KiB plus what lws holds of
	# a frame.
	check "slow sessions' queues stay small (RSS $base -> $busy KiB)" \
		test $((busy - base)) -lt 16384
	check "memory given back after close (RSS $busy -> $after KiB, was $base)" \
		test $((after - base)) -lt 4096
fi
