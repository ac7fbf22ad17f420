#!/bin/sh
# ws-protocol (root, network namespaces): RFC 6455 where it protects the
# server. An upgrade request no WebSocket client sends is answered 400 or
# 426 (never 101), a close code a peer may not send is answered with 1002,
# not echoed; the admin endpoint serves GET and HEAD of its two paths and
# never upgrades. flyctl's requests (text, binary, permessage-deflate
# offered) keep working.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

ws_net
ws_conf
wssd_start

# bad_upgrade NAME STATUS REASON PROBE-OPTIONS...
bad_upgrade() {
	name=$1 status=$2 reason=$3
	shift 3
	before=$(m "wssd_bad_upgrades_total{reason=\"$reason\"}")
	check "$name: answered $status" probe --tls "$@" 198.18.0.1 8443 expect-status "$status"
	check "$name: counted" metric_is "wssd_bad_upgrades_total{reason=\"$reason\"}" $((before + 1))
	check "$name: logged" logged "event=bad_upgrade remote=198.18.0.2 reason=$reason status=$status"
}
bad_upgrade "Sec-WebSocket-Version: 8" 426 version --ws-version 8
check "  426 names the version served" \
	probe --tls --ws-version 8 198.18.0.1 8443 expect-status 426 Sec-WebSocket-Version
bad_upgrade "no Sec-WebSocket-Version" 426 version --ws-version none
bad_upgrade "POST" 400 method --method POST
bad_upgrade "HTTP/1.0" 400 http_version --http 1.0
bad_upgrade "no Sec-WebSocket-Key" 400 key --key none
bad_upgrade "a key that is not 16 bytes" 400 key --key c2hvcnQ=
bad_upgrade "a subprotocol we do not speak" 400 subprotocol --subproto chat
check "plain HTTP: 426 with Upgrade: websocket" \
	sh -c "ip netns exec $CL curl -sk -D - -o /dev/null https://198.18.0.1:8443/ | \
	grep -q '^HTTP/1.1 426' && ip netns exec $CL curl -s -D - -o /dev/null \
	http://198.18.0.1:8080/ | grep -qi '^Upgrade: websocket'"
check "plain HTTP: counted" metric_is 'wssd_bad_upgrades_total{reason="not_upgrade"}' 2
check "none of them became a session" metric_is wssd_sessions_total 0

# flyctl, every generation: text, wswg-binary, permessage-deflate offered.
check "flyctl: text" probe --tls 198.18.0.1 8443 magic echo 148 2 echo-split 1400 2
check "flyctl: wswg-binary" probe --tls --subproto wswg-binary 198.18.0.1 8443 magic echo 148 2
check "flyctl: permessage-deflate offered" probe --tls --deflate 198.18.0.1 8443 magic echo 92 2
check "flyctl: plain ws://" probe 198.18.0.1 8080 magic echo-cut 1000 2

# Close codes: valid ones are echoed, the others answered with 1002.
check "close 1000: echoed" probe --tls 198.18.0.1 8443 magic close 03e8 expect-close 1000
check "close 4000: echoed" probe --tls 198.18.0.1 8443 magic close 0fa0 expect-close 4000
check "close 5000: 1002, not echoed" probe --tls 198.18.0.1 8443 magic close 1388 expect-close 1002
check "close 65535: 1002, not echoed" probe --tls 198.18.0.1 8443 magic close ffff expect-close 1002
check "close with one byte: 1002" probe --tls 198.18.0.1 8443 magic close 03 expect-close 1002
check "bad close codes: counted" metric_is 'wssd_protocol_errors_total{reason="bad_close_code"}' 3
check "bad close codes: logged" logged "event=protocol_error .*reason=bad_close_code code=5000"
check "valid close codes: the session's close says the client's" \
	logged "event=session_close .*reason=client_close code=4000"

# The admin endpoint.
admin_status() {
	ns_run "$GW" curl -s -o /dev/null -w '%{http_code}' "$@"
}
check "admin: GET /metrics is 200" test "$(admin_status http://127.0.0.1:9180/metrics)" = 200
check "admin: GET /status is 200" test "$(admin_status http://127.0.0.1:9180/status)" = 200
check "admin: HEAD /metrics is 200" test "$(admin_status -I http://127.0.0.1:9180/metrics)" = 200
for method in POST DELETE PUT PATCH OPTIONS; do
	check "admin: $method is 405" test "$(admin_status -X "$method" http://127.0.0.1:9180/metrics)" = 405
done
check "admin: 405 says what is allowed" sh -c "ip netns exec $GW curl -s -D - -o /dev/null \
	-X POST http://127.0.0.1:9180/status | grep -qi '^Allow: GET, HEAD'"
check "admin: another path is 404" test "$(admin_status http://127.0.0.1:9180/nope)" = 404
check "admin: a WebSocket upgrade is refused" \
	ns_run "$GW" "$PROBE" 127.0.0.1 9180 expect-status 400
check "admin: at /metrics too" ns_run "$GW" "$PROBE" --path /metrics 127.0.0.1 9180 expect-status 400
check "admin: still serving" test "$(admin_status http://127.0.0.1:9180/metrics)" = 200
