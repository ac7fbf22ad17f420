#!/bin/sh
# ws-closes (root, network namespaces): no silent close. Every way a
# session ends has a log line with reason= and a count in
# wssd_session_closes_total{reason}; connections that end before their
# upgrade are logged and counted too; libwebsockets' own lines come out in
# wssd's key=value format, its warnings rate-limited.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ws_conf
wssd_start -s websocket.idle_timeout=2 -s websocket.handshake_timeout=2

# closes REASON CODE STEPS...: one session ending so, logged and counted.
closes() {
	reason=$1 code=$2
	shift 2
	before=$(m "wssd_session_closes_total{reason=\"$reason\"}")
	lines=$(log_count "event=session_close .*reason=$reason code=$code ")
	probe --tls 198.18.0.1 8443 "$@" >/dev/null 2>&1
	check "$reason: logged" wait_for 10 log_count_above "event=session_close .*reason=$reason code=$code " "$lines"
	check "$reason: counted" wait_for 10 metric_is "wssd_session_closes_total{reason=\"$reason\"}" \
		$((before + 1))
}
closes client_close 1000 magic echo 10 1 close 03e8 expect-close 1000
closes connection_lost 0 magic echo 10 1
closes idle 1001 magic expect-close 1001
closes handshake_timeout 1008 expect-close 1008
closes protocol_error 1002 text 2facedff expect-close 1002
closes protocol_error 1002 magic close 1388 expect-close 1002

# libwebsockets refuses a frame (a length with its top bit set): its line
# is wssd's, and the session's end is counted.
before=$(m 'wssd_session_closes_total{reason="connection_lost"}')
probe --tls 198.18.0.1 8443 magic raw 81ff80000000000000000000 sleep 300 >/dev/null 2>&1
check "lws's warning in wssd's format" wait_for 10 \
	logged '^level=warn event=lws lws_level=warn message="b63 of length must be zero"$'
check "  its session's end counted" wait_for 10 metric_is \
	'wssd_session_closes_total{reason="connection_lost"}' $((before + 1))
for i in $(seq 1 24); do
	probe --tls 198.18.0.1 8443 magic raw 81ff80000000000000000000 sleep 100 >/dev/null 2>&1
done
lws=$(log_count "event=lws ")
check "lws's warnings rate-limited: $lws lines for 25" test "$lws" -le 20
sleep 5
probe --tls 198.18.0.1 8443 magic raw 81ff80000000000000000000 sleep 100 >/dev/null 2>&1
check "  the next one says how many were left out" \
	wait_for 10 logged 'event=lws lws_level=warn message="b63 of length must be zero" suppressed=[0-9]+'

# Before the upgrade: a client that goes during the TLS handshake.
before=$(m wssd_pending_closed_total)
check "TLS garbage: closed" probe 198.18.0.1 8443 garbage
check "before the upgrade: logged" wait_for 10 \
	logged "event=connection_closed remote=198.18.0.2 stage=(accept|tls) reason=before_upgrade"
check "before the upgrade: counted" metric_at_least wssd_pending_closed_total $((before + 1))

# Shutdown: the open session's end says so.
rm -f "$TEST_TMP/hold"
probe --tls 198.18.0.1 8443 magic ready keepalives 30 >"$TEST_TMP/live.out" 2>&1 &
LIVE=$!
check "a live session" wait_for 10 grep -q ready "$TEST_TMP/live.out"
kill -TERM "$WSSD_PID"
wait "$WSSD_PID"
wait "$LIVE"
check "shutdown: logged" logged "event=session_close .*reason=shutdown code=1001 "
check "every line is wssd's key=value format" sh -c "! grep -v '^level=' '$TEST_TMP/wssd.log'"
