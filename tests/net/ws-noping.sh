#!/bin/sh
# ws-noping (root, network namespaces; 5 min 20 s): a session that relays
# and sends its keepalives is never pinged or hung up for a missing pong.
# libwebsockets' default pinged every session at 300 s and hung up at 310 s
# without a close frame; websocket.idle_timeout is the liveness check.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ws_conf
wssd_start
check "320 s of keepalives and records, no pong ever sent: no ping, no close" \
	probe --tls --no-pong 198.18.0.1 8443 magic echo 100 1 keepalives 320 echo 100 1
check "one session throughout, relaying before and after" \
	wait_for 10 logged "event=session_close .*records_in=2 records_out=2 "
check "  and no other" test "$(log_count event=session_close)" = 1
