#!/bin/sh
# ws-signals (root, network namespaces): SIGHUP loads a new certificate
# while a live session keeps relaying, a bad one is refused and the old one
# kept; SIGTERM closes sessions with 1001 and wssd exits 0; systemd hears
# READY=1, RELOADING=1 and STOPPING=1 on $NOTIFY_SOCKET.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl openssl python3
. "$top_srcdir/tests/net/ws-server-lib.sh"

mkcert old 2
mkcert new 30
mkcert other 30
cp "$TEST_TMP/old.pem" "$TEST_TMP/cert.pem"
cp "$TEST_TMP/old.key" "$TEST_TMP/key.pem"
# As admin.user wssd must read the key it reloads (a cp onto it keeps the owner).
give_test_user "$TEST_TMP/key.pem"

# Stands in for systemd's notify socket: one line per datagram.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
while True:
    with open(sys.argv[2], "a") as f:
        f.write(s.recv(4096).decode() + "\n")
' "$TEST_TMP/notify.sock" "$TEST_TMP/notify.out" &
at_exit "kill $!"
wait_for 10 test -S "$TEST_TMP/notify.sock" || fail "notify listener did not start"
# systemd's is anyone's to write to; as admin.user wssd notifies after dropping to it
[ -z "${WSSD_TEST_USER:-}" ] || chmod 666 "$TEST_TMP/notify.sock"
export NOTIFY_SOCKET="$TEST_TMP/notify.sock"

ws_net
ws_conf
wssd_start -s websocket.cert="$TEST_TMP/cert.pem" -s websocket.key="$TEST_TMP/key.pem"
check "READY=1 sent to systemd" wait_for 10 grep -qx READY=1 "$TEST_TMP/notify.out"
check "old certificate served" served old
check "expiry metric is the old one's (under 2 days)" \
	sh -c "[ \$(ip netns exec $GW curl -fsS $ADMIN | awk '\$1 == \"wssd_tls_cert_expiry_seconds\" { print \$2 }') -le 172800 ]"

rm -f "$TEST_TMP/go"
probe --tls 198.18.0.1 8443 magic echo 100 3 ready wait-file "$TEST_TMP/go" echo 1400 5 \
	echo-split 500 3 ready expect-close 1001 >"$TEST_TMP/live.out" 2>&1 &
LIVE=$!
check "live session open" wait_for 10 grep -q ready "$TEST_TMP/live.out"

cp "$TEST_TMP/new.pem" "$TEST_TMP/cert.pem"
cp "$TEST_TMP/new.key" "$TEST_TMP/key.pem"
kill -HUP "$WSSD_PID"
check "reload logged" wait_for 10 logged "event=cert_reloaded"
check "RELOADING=1 sent to systemd" grep -qx RELOADING=1 "$TEST_TMP/notify.out"
check "new connections get the new certificate" served new
check "expiry metric follows (over 2 days)" metric_at_least wssd_tls_cert_expiry_seconds 172801
check "reload counted" metric_is wssd_tls_cert_reloads_total 1

# A key that does not match: refused, the new certificate stays.
cp "$TEST_TMP/other.key" "$TEST_TMP/key.pem"
kill -HUP "$WSSD_PID"
check "bad reload logged" wait_for 10 logged "event=cert_reload_failed"
check "the last good certificate is still served" served new
check "bad reload not counted" metric_is wssd_tls_cert_reloads_total 1

touch "$TEST_TMP/go"
check "live session relays after the reloads" wait_for 20 sh -c "[ \$(grep -c ready '$TEST_TMP/live.out') = 2 ]"
check "it is the same session" metric_is wssd_sessions 1

kill -TERM "$WSSD_PID"
wait "$WSSD_PID"
rc=$?
check "wssd exits 0 on SIGTERM" [ "$rc" = 0 ]
wait "$LIVE"
rc=$?
[ "$rc" = 0 ] || cat "$TEST_TMP/live.out"
check "the live session got close 1001" [ "$rc" = 0 ]
check "shutdown logged" logged "event=shutdown sessions=1"
check "STOPPING=1 sent to systemd" grep -qx STOPPING=1 "$TEST_TMP/notify.out"
check "stop logged" logged "event=stopped"
