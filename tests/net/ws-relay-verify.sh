#!/bin/sh
# ws-relay-verify (root, network namespaces): wssc --ca verifies the gateway.
# wssd serves a configured certificate for IP 198.18.0.1; wssc connects with
# that certificate as its CA, and refuses (and says why) a gateway whose
# certificate it cannot verify: another CA, the system store, a name that
# does not match.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests openssl curl
[ -x "$WSSD" ] || skip "wssd is not built"

GW="wvgw$TEST_ID"
CL="wvcl$TEST_ID"
ADMIN=http://127.0.0.1:9180/metrics
ns_create "$GW"
ns_create "$CL"
ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2

# make_cert NAME SAN: a self-signed P-256 certificate.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -addext "subjectAltName=$2" \
		-keyout "$TEST_TMP/$1.key" -out "$TEST_TMP/$1.pem" 2>/dev/null || fail "openssl req $1"
	give_test_user "$TEST_TMP/$1.key"
}
make_cert gw IP:198.18.0.1
make_cert other IP:198.18.0.1
# A second address of the gateway's that its certificate does not name.
ns_addr "$GW" "$NS_LINK_A" 198.18.0.9

wssd_conf "$TEST_TMP/wssd.conf" "websocket.listen=198.18.0.1:8443, 198.18.0.9:8443" \
	websocket.cert="$TEST_TMP/gw.pem" websocket.key="$TEST_TMP/gw.key" jit.enabled=off
ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
at_exit "kill $SPAWN_PID"
wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not start"

# client NAME WSSC-OPTIONS...: one wssc, its pid in CLIENT_PID.
client() {
	name=$1
	shift
	ns_spawn "$CL" "$TEST_TMP/$name.out" "$TEST_TMP/$name.log" "$WSSC" "$@"
	CLIENT_PID=$SPAWN_PID
	at_exit "kill $CLIENT_PID"
}

client good --ca "$TEST_TMP/gw.pem" wss://198.18.0.1:8443/
client other --ca "$TEST_TMP/other.pem" wss://198.18.0.1:8443/
client system wss://198.18.0.1:8443/
client name --ca "$TEST_TMP/gw.pem" wss://198.18.0.9:8443/

wait_for 10 grep -q 'event=connected' "$TEST_TMP/good.log" || fail "wssc --ca did not connect"
pass "wssc --ca with the gateway's certificate connects"
for name in other system name; do
	wait_for 10 grep -q 'event=disconnected.*tls="certificate' "$TEST_TMP/$name.log" ||
		fail "$name: no certificate error: $(cat "$TEST_TMP/$name.log")"
	grep -q 'event=connected' "$TEST_TMP/$name.log" && fail "$name: connected anyway"
	pass "$name: refused, $(sed -n 's/.*\(tls="[^"]*"\).*/\1/p' "$TEST_TMP/$name.log" | head -1)"
done
check "one session on the gateway" test "$(ns_metric "$GW" "$ADMIN" wssd_sessions)" = 1
