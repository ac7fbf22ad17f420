#!/bin/sh
# ws-roundtrip (root, network namespaces): records through wssd to a UDP
# echo server and back, however the client cuts them into messages; replies
# are one record per message, text unless the client negotiated wswg-binary.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ws_conf
wssd_start

# Every echo step sends random records and fails unless each comes back as
# exactly one message of the expected type holding exactly that record.
STEPS="magic echo 148 3 echo-split 1400 4 echo-cut 1000 4 echo-multi 92 20 echo-multi 1400 8
	keepalive echo 1 1 echo 8000 2 keepalive keepalive echo 32 1"

check "plain ws://, text" probe 198.18.0.1 8080 $STEPS
check "wss:// IPv4, text" probe --tls 198.18.0.1 8443 $STEPS
check "wss:// IPv6, text" probe --tls fd00:5353::1 8443 $STEPS
check "wss://, wswg-binary" probe --tls --subproto wswg-binary 198.18.0.1 8443 $STEPS
check "plain ws://, wswg-binary" probe --subproto wswg-binary 198.18.0.1 8080 $STEPS
check "permessage-deflate offered, declined" probe --tls --deflate 198.18.0.1 8443 $STEPS
check "any request path" probe --tls --path '/some/path?x=1' 198.18.0.1 8443 magic echo 100 2

# 6 sessions of 3+4+4+20+8+1+2+1 records, one more of 2.
check "records counted in" metric_is 'wssd_records_total{dir="in"}' $((6 * 43 + 2))
check "records counted out" metric_is 'wssd_records_total{dir="out"}' $((6 * 43 + 2))
check "keepalives counted, not relayed" metric_is wssd_keepalives_total 18
bytes=$((148 * 3 + 1400 * 4 + 1000 * 4 + 92 * 20 + 1400 * 8 + 1 + 8000 * 2 + 32))
check "bytes counted" metric_is 'wssd_bytes_total{dir="out"}' $((6 * bytes + 200))
check "sessions counted" metric_is wssd_sessions_total 7
check "no protocol errors" metric_is 'wssd_protocol_errors_total{reason="bad_magic"}' 0
check "certificate expiry exported" metric_at_least wssd_tls_cert_expiry_seconds 86400

# /status lists a live session with its address.
rm -f "$TEST_TMP/hold"
probe --tls 198.18.0.1 8443 magic echo 10 1 ready wait-file "$TEST_TMP/hold" \
	>"$TEST_TMP/held.out" 2>&1 &
at_exit "kill $!"
check "held session open" wait_for 10 grep -q ready "$TEST_TMP/held.out"
ns_run "$GW" curl -fsS http://127.0.0.1:9180/status >"$TEST_TMP/status.json"
check "/status names the session's address" grep -q '"remote": "198.18.0.2"' "$TEST_TMP/status.json"
check "/status has the version" grep -q '"version": "' "$TEST_TMP/status.json"
check "/status counts its records" grep -q '"records_out": 1' "$TEST_TMP/status.json"
check "unknown admin path is 404" sh -c "! ip netns exec $GW curl -fsS http://127.0.0.1:9180/nope"
touch "$TEST_TMP/hold"

# A session opens its relay socket at its first datagram: magic and
# keepalives leave it with its TCP connection only (counted in wssd's
# /proc/PID/fd against the UDP sockets of its namespace).
udp_sockets() {
	ls -l "/proc/$WSSD_PID/fd" | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | sort >"$TEST_TMP/fd.inodes"
	cat "/proc/$WSSD_PID/net/udp" "/proc/$WSSD_PID/net/udp6" |
		awk 'NR > 1 && $10 ~ /^[0-9]+$/ { print $10 }' | sort >"$TEST_TMP/udp.inodes"
	comm -12 "$TEST_TMP/fd.inodes" "$TEST_TMP/udp.inodes" | wc -l
}
udp_sockets_are() {
	[ "$(udp_sockets)" -eq "$1" ]
}
check "sessions gone" wait_for 10 metric_is wssd_sessions 0
check "no relay socket without a session" wait_for 10 udp_sockets_are 0
keepalives=$(m wssd_keepalives_total)
rm -f "$TEST_TMP/lazy1" "$TEST_TMP/lazy2"
probe --tls 198.18.0.1 8443 magic keepalive keepalive ready wait-file "$TEST_TMP/lazy1" \
	echo 100 3 keepalive ready wait-file "$TEST_TMP/lazy2" echo-multi 1400 4 \
	>"$TEST_TMP/lazy.out" 2>&1 &
LAZY_PID=$!
at_exit "kill $LAZY_PID"
check "idle session's keepalives arrived" wait_for 10 metric_is wssd_keepalives_total $((keepalives + 2))
check "idle session open" metric_is wssd_sessions 1
check "an idle session holds no UDP socket" udp_sockets_are 0
touch "$TEST_TMP/lazy1"
check "records through the lazily opened socket" wait_for 10 sh -c \
	"[ \$(grep -c ready '$TEST_TMP/lazy.out') = 2 ]"
check "the session holds one UDP socket once records flow" udp_sockets_are 1
touch "$TEST_TMP/lazy2"
check "more records through the same socket" wait "$LAZY_PID"
check "its relay socket is closed with the session" wait_for 10 udp_sockets_are 0

# A session that sends nothing after the magic is closed (1001) after
# websocket.idle_timeout; keepalives keep one open.
kill "$WSSD_PID"
wait "$WSSD_PID"
wssd_start -s websocket.idle_timeout=2
check "idle session closed with 1001" probe 198.18.0.1 8080 magic expect-close 1001
check "idle close counted" metric_is wssd_idle_closes_total 1
check "keepalives keep a session open" probe 198.18.0.1 8080 magic sleep 500 keepalive \
	sleep 500 keepalive sleep 500 keepalive sleep 500 keepalive sleep 500 keepalive echo 10 1
check "idle closes unchanged" metric_is wssd_idle_closes_total 1

# A client that does not read: at most websocket.send_queue datagrams wait
# for it, the rest are dropped and counted, and the session still works.
kill "$WSSD_PID"
wait "$WSSD_PID"
wssd_start -s websocket.send_queue=4 -s gateway.state_dir="$TEST_TMP/new/state"
check "a missing state directory is created, 0700" \
	sh -c "[ \"\$(stat -c %a '$TEST_TMP/new/state')\" = 700 ] && [ -s '$TEST_TMP/new/state/tls-key.pem' ]"
check "a client that does not read, then does" probe --rcvbuf 4096 198.18.0.1 8080 magic \
	flood 20000 1400 drain echo 10 1
check "datagrams dropped for it are counted" \
	metric_at_least 'wssd_drops_total{reason="send_queue_full"}' 1

# A relay socket that cannot be opened (no route to gateway.wg_address, an
# address of the test range that no link of the namespace covers):
# the session's records are dropped and counted, it is logged once, and the
# session stays open.
kill "$WSSD_PID"
wait "$WSSD_PID"
wssd_start -s gateway.wg_address=198.19.255.1
rm -f "$TEST_TMP/noroute"
probe 198.18.0.1 8080 magic text 0000000401020304 text 00000003aabbcc keepalive ready \
	wait-file "$TEST_TMP/noroute" keepalive >"$TEST_TMP/noroute.out" 2>&1 &
NOROUTE_PID=$!
at_exit "kill $NOROUTE_PID"
check "records behind them arrived" wait_for 10 metric_is wssd_keepalives_total 1
check "records without a relay socket are dropped and counted" \
	metric_is 'wssd_drops_total{reason="relay_socket"}' 2
check "none counted as relayed" metric_is 'wssd_records_total{dir="in"}' 0
check "logged once for the session" sh -c "[ \$(grep -c 'event=relay_open_failed' '$TEST_TMP/wssd.log') = 1 ]"
check "the session stays open" metric_is wssd_sessions 1
touch "$TEST_TMP/noroute"
check "its client saw no close" wait "$NOROUTE_PID"
