#!/bin/sh
# ws-badinput (root, network namespaces): each kind of bad input gets a close
# or a refusal, a log line and a counter, while a session alongside keeps
# relaying records through wssd to a UDP echo server.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ws_conf
wssd_start -s websocket.max_sessions=4 -s websocket.max_sessions_per_ip=2
alongside_start

# bad_close NAME REASON STEPS...: a session whose input ends in close 1002.
bad_close() {
	name=$1 reason=$2
	shift 2
	before=$(m "wssd_protocol_errors_total{reason=\"$reason\"}")
	lines=$(log_count "event=protocol_error .*reason=$reason")
	check "$name: closed with 1002" probe --tls 198.18.0.1 8443 "$@" expect-close 1002
	check "$name: logged" wait_for 10 log_count_above "event=protocol_error .*reason=$reason" "$lines"
	check "$name: counted" wait_for 10 metric_at_least \
		"wssd_protocol_errors_total{reason=\"$reason\"}" $((before + 1))
}

bad_close "bytes before the magic" bad_magic text 01 magic
bad_close "wrong magic" bad_magic text 2facedff
bad_close "wrong magic, binary message" bad_magic bin 00000000
bad_close "length 0xFFFFFFFF" record_too_long magic text ffffffff
bad_close "length 65536" record_too_long magic text 00010000

# A TLS handshake of garbage: the server closes the connection.
check "TLS garbage: connection closed" probe 198.18.0.1 8443 garbage
check "TLS garbage: logged" wait_for 10 logged "event=tls_error .*reason=handshake_failed"
check "TLS garbage: counted" wait_for 10 metric_at_least \
	'wssd_protocol_errors_total{reason="tls_handshake"}' 1

# A client that vanishes with half a record sent.
check "vanishing client: sent half a record" probe --tls 198.18.0.1 8443 magic half 1000
check "vanishing client: logged" wait_for 10 logged "event=protocol_error .*reason=eof_mid_record"
check "vanishing client: counted" wait_for 10 metric_at_least \
	'wssd_protocol_errors_total{reason="eof_mid_record"}' 1

# Per-IP limit: the alongside session is 198.18.0.2's first; a second one
# fits, a third is refused at the upgrade with 429 and Retry-After.
rm -f "$TEST_TMP/hold"
probe --tls 198.18.0.1 8443 magic ready wait-file "$TEST_TMP/hold" >"$TEST_TMP/h1.out" 2>&1 &
at_exit "kill $!"
check "per-IP: second session open" wait_for 10 grep -q ready "$TEST_TMP/h1.out"
check "per-IP: third session refused with 429" \
	probe --tls 198.18.0.1 8443 expect-status 429 Retry-After
check "per-IP: logged" logged "event=session_refused .*reason=max_sessions_per_ip"
check "per-IP: counted" metric_at_least 'wssd_sessions_refused_total{reason="max_sessions_per_ip"}' 1

# Global limit (4): two more from 198.18.0.3 fill it; 198.18.0.4 is refused
# with 503 and Retry-After.
for i in 2 3; do
	ns_run "$CL" "$PROBE" --bind 198.18.0.3 --tls 198.18.0.1 8443 magic ready \
		wait-file "$TEST_TMP/hold" >"$TEST_TMP/h$i.out" 2>&1 &
	at_exit "kill $!"
	check "max_sessions: session $i open" wait_for 10 grep -q ready "$TEST_TMP/h$i.out"
done
check "max_sessions: fifth session refused with 503" \
	ns_run "$CL" "$PROBE" --bind 198.18.0.4 --tls 198.18.0.1 8443 expect-status 503 Retry-After
check "max_sessions: logged" logged "event=session_refused .*reason=max_sessions "
check "max_sessions: counted" metric_at_least 'wssd_sessions_refused_total{reason="max_sessions"}' 1
touch "$TEST_TMP/hold"
check "held sessions end" wait_for 20 metric_is wssd_sessions 1

alongside_stop

# Descriptors (RLIMIT_NOFILE 72, 64 kept back): 8 for sessions (one each
# while idle), their relay sockets (one more each once they relay) and the
# connections not yet upgraded, which may take a quarter (2) and no more.
kill "$WSSD_PID"
wait "$WSSD_PID"
ip netns exec "$GW" sh -c 'ulimit -n 72 && exec "$@"' sh "$WSSD" -c "$TEST_TMP/wssd.conf" \
	-s websocket.max_sessions_per_ip=20 2>>"$TEST_TMP/wssd.log" &
WSSD_PID=$!
at_exit "kill $WSSD_PID"
wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not start"
check "fds: a quarter for connections not yet upgraded" \
	logged "event=max_pending_lowered max_pending=1024 nofile=72 effective=2"
check "fds: max_sessions lowered to one descriptor a session in the rest" \
	logged "event=max_sessions_lowered max_sessions=20000 nofile=72 effective=6 all_relaying_up_to=3"
rm -f "$TEST_TMP"/fd-*
# One at a time: two connections at once is all one address may have pending.
n=0
for i in 1 2 3; do
	probe 198.18.0.1 8080 magic ready wait-file "$TEST_TMP/fd-$i" >"$TEST_TMP/fd-$i.out" 2>&1 &
	at_exit "kill $!"
	n=$((n + 1))
	wait_for 10 metric_is wssd_sessions $n || fail "fds: session $n did not open"
done
# Three that relay one record each when told to.
for i in x y z; do
	probe 198.18.0.1 8080 magic ready wait-file "$TEST_TMP/fd-$i" text 0000000401020304 \
		keepalive ready wait-file "$TEST_TMP/fd-$i-end" >"$TEST_TMP/fd-$i.out" 2>&1 &
	at_exit "kill $!"
	eval "FD_$i=\$!"
	n=$((n + 1))
	wait_for 10 metric_is wssd_sessions $n || fail "fds: session $n did not open"
done
check "fds: six idle sessions" metric_is wssd_sessions 6
check "fds: a seventh is refused at the upgrade, with 503" \
	probe 198.18.0.1 8080 expect-status 503 Retry-After
check "fds: refused for max_sessions" metric_is 'wssd_sessions_refused_total{reason="max_sessions"}' 1
touch "$TEST_TMP/fd-x" "$TEST_TMP/fd-y"
check "fds: two sessions relay" wait_for 10 metric_is 'wssd_records_total{dir="in"}' 2
check "fds: sessions and relay sockets take them all: refused at accept" \
	probe 198.18.0.1 8080 expect-refused
check "fds: refused for descriptors" metric_is 'wssd_sessions_refused_total{reason="descriptors"}' 1
check "fds: logged the refusal" \
	logged "event=session_refused .*reason=descriptors sessions=6 relay_sockets=2 pending=0 limit=8"
touch "$TEST_TMP/fd-z"
check "fds: a third's record and keepalive arrived" wait_for 10 metric_is wssd_keepalives_total 3
check "fds: no descriptor left for its relay socket: dropped, counted" \
	metric_is 'wssd_drops_total{reason="relay_socket"}' 1
check "fds: logged" logged "event=relay_open_failed .*relay_sockets=2 sessions=6 err=\"Too many open files\""
check "fds: that session stays" metric_is wssd_sessions 6
touch "$TEST_TMP/fd-1" "$TEST_TMP/fd-2"
check "fds: two idle sessions leave" wait_for 10 metric_is wssd_sessions 4
probe 198.18.0.1 8080 magic echo 10 1 ready wait-file "$TEST_TMP/fd-w" >"$TEST_TMP/fd-w.out" 2>&1 &
at_exit "kill $!"
check "fds: a new session relays" wait_for 10 grep -q ready "$TEST_TMP/fd-w.out"
check "fds: full again: the next is refused" probe 198.18.0.1 8080 expect-refused
check "fds: refused for descriptors" metric_is 'wssd_sessions_refused_total{reason="descriptors"}' 2
touch "$TEST_TMP/fd-3" "$TEST_TMP/fd-x-end" "$TEST_TMP/fd-y-end" "$TEST_TMP/fd-z-end" \
	"$TEST_TMP/fd-w"
check "fds: the session that could not relay ended cleanly" wait "$FD_z"
check "fds: every session closes" wait_for 10 metric_is wssd_sessions 0
