#!/bin/sh
# ws-privs (root, network namespaces): with admin.user set, wssd runs as that
# user once set up, with CAP_NET_ADMIN alone in its permitted, effective and
# bounding sets, nothing inheritable or ambient, and no_new_privs; it still
# relays, reloads its certificate on SIGHUP and writes its state directory.
# A user that does not exist, or a key it could not read for a reload,
# stops the start.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl openssl
. "$top_srcdir/tests/net/ws-server-lib.sh"
getent passwd nobody >/dev/null || skip "no user nobody"
uid=$(id -u nobody)
chmod 711 "$TEST_TMP"	# nobody reaches what is under it by name only

ws_net
ws_conf
wssd_start -s admin.user=nobody

status() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$WSSD_PID/status"
}
check "runs as nobody" test "$(status Uid)" = "$uid"
check "  every uid" sh -c "grep -q '^Uid:	$uid	$uid	$uid	$uid$' /proc/$WSSD_PID/status"
check "  the user's gid" test "$(status Gid)" = "$(id -g nobody)"
for set in CapPrm CapEff CapBnd; do
	check "$set: CAP_NET_ADMIN only" test "$(status $set)" = 0000000000001000
done
for set in CapInh CapAmb; do
	check "$set: none" test "$(status $set)" = 0000000000000000
done
check "no_new_privs" test "$(status NoNewPrivs)" = 1
check "logged" logged "event=privileges_dropped user=nobody uid=$uid gid=$(id -g nobody) kept=cap_net_admin"
check "the state directory is nobody's" test "$(stat -c %u "$TEST_TMP/state")" = "$uid"
check "  its generated key too" test "$(stat -c %u "$TEST_TMP/state/tls-key.pem")" = "$uid"
check "relays as nobody" probe --tls 198.18.0.1 8443 magic echo 100 3 echo-split 1400 2
check "serves /metrics" metric_is wssd_sessions 0
rm "$TEST_TMP/state/tls-cert.pem" "$TEST_TMP/state/tls-key.pem"
kill -HUP "$WSSD_PID"
check "SIGHUP as nobody: a new self-signed pair written to the state directory" \
	wait_for 10 logged "event=cert_reloaded"
check "  owned by nobody" test "$(stat -c %u "$TEST_TMP/state/tls-key.pem")" = "$uid"
check "  and served" probe --tls 198.18.0.1 8443 magic echo 10 1
kill -TERM "$WSSD_PID"
wait "$WSSD_PID"
check "exits 0 as nobody" test $? = 0

# The unit's bounding set is enough for setup, over a state directory the
# last run gave to nobody (0700, its key 0600).
if command -v setpriv >/dev/null 2>&1; then
	chmod 700 "$TEST_TMP/state"
	set=$(sed -n 's/^CapabilityBoundingSet=//p' "$top_srcdir/wssd/wssd.service.in" |
		tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_\(.*\)/+\1/p' | paste -sd, -)
	ip netns exec "$GW" setpriv --bounding-set="-all,$set" -- "$WSSD" -c "$TEST_TMP/wssd.conf" \
		-s admin.user=nobody 2>>"$TEST_TMP/wssd.log" &
	WSSD_PID=$!
	at_exit "kill $WSSD_PID"
	check "the unit's bounding set ($set) starts it again" \
		wait_for 20 ns_run "$GW" curl -fsS "$ADMIN"
	check "  as nobody" test "$(status Uid)" = "$uid"
	check "  relaying" probe --tls 198.18.0.1 8443 magic echo 10 1
	kill -TERM "$WSSD_PID"
	wait "$WSSD_PID"
fi

# A key nobody cannot read would make the next reload fail: refused at start.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=p \
	-keyout "$TEST_TMP/p.key" -out "$TEST_TMP/p.pem" 2>/dev/null || fail "openssl req"
chmod 600 "$TEST_TMP/p.key"
ns_run "$GW" "$WSSD" -c "$TEST_TMP/wssd.conf" -s admin.user=nobody \
	-s websocket.cert="$TEST_TMP/p.pem" -s websocket.key="$TEST_TMP/p.key" \
	>"$TEST_TMP/out" 2>&1
check "an unreadable key: exit 1" test $? = 1
check "  naming the key and the user" grep -q "websocket.key: .*p.key is not readable by admin.user .*nobody" \
	"$TEST_TMP/out"
chmod 644 "$TEST_TMP/p.key"
wssd_start -s admin.user=nobody -s websocket.cert="$TEST_TMP/p.pem" -s websocket.key="$TEST_TMP/p.key"
check "a readable key: starts" probe --tls 198.18.0.1 8443 magic echo 10 1
kill -TERM "$WSSD_PID"
wait "$WSSD_PID"

ns_run "$GW" "$WSSD" -c "$TEST_TMP/wssd.conf" -s admin.user=wssd-no-such-user >"$TEST_TMP/out" 2>&1
check "a user that does not exist: exit 1" test $? = 1
check "  saying so" grep -q 'admin.user: no such user \\"wssd-no-such-user\\"' "$TEST_TMP/out"
check "  before anything listens" sh -c "! grep -q event=listening '$TEST_TMP/out'"
