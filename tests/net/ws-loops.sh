#!/bin/sh
# ws-loops (root, network namespaces): wssd with two event loops. Loop 0
# listens and hands connections to the loops in turn; a session's id names
# its loop in its low 4 bits. The limits, the admin endpoint and the signals
# cover both loops: the per-address limit counts the sessions of both,
# /status lists them all, SIGHUP gives both loops the new certificate, and
# SIGTERM closes every session of both with 1001. Then what a loop costs
# before any session: with 8 loops against 1, each loop past the first may
# add at most 800 KiB of resident memory. lws used to build each loop a TLS
# client context wssd never uses and load the system's CA store into it:
# about 1,300 KiB a loop here, and 160 ms of start with 8 loops (about
# 450 KiB and 25 ms without).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl openssl
. "$top_srcdir/tests/net/ws-server-lib.sh"

mkcert old 30
mkcert new 30
cp "$TEST_TMP/old.pem" "$TEST_TMP/cert.pem"
cp "$TEST_TMP/old.key" "$TEST_TMP/key.pem"
give_test_user "$TEST_TMP/key.pem"

ws_net
ws_conf
wssd_start -s websocket.threads=2 -s websocket.max_sessions_per_ip=4 \
	-s websocket.cert="$TEST_TMP/cert.pem" -s websocket.key="$TEST_TMP/key.pem"
check "two loops started" logged "event=loops threads=2"

pids=
for k in 1 2 3 4; do
	probe --tls 198.18.0.1 8443 magic echo 100 2 ready expect-close 1001 \
		>"$TEST_TMP/s$k.out" 2>&1 &
	pids="$pids $!"
done
at_exit "kill $pids"
all_ready() {
	[ "$(cat "$TEST_TMP"/s*.out | grep -c ready)" = 4 ]
}
check "4 sessions relaying" wait_for 20 all_ready
check "counted over both loops" metric_is wssd_sessions 4
loops_used() {
	sed -n 's/.*event=session_open session=\([0-9]*\) .*/\1/p' "$TEST_TMP/wssd.log" |
		awk '{ seen[$1 % 16] = 1 } END { print (0 in seen) + (1 in seen) }'
}
check "sessions on both loops" test "$(loops_used)" = 2
ns_run "$GW" curl -fsS http://127.0.0.1:9180/status >"$TEST_TMP/status.json"
check "/status lists the sessions of both loops" \
	test "$(grep -o '"remote": "198.18.0.2"' "$TEST_TMP/status.json" | wc -l)" = 4
# Whichever loop it lands on, a fifth from the same address is over the limit.
check "the per-address limit spans the loops" probe --tls 198.18.0.1 8443 expect-refused
check "...and so does the next one" probe --tls 198.18.0.1 8443 expect-refused
check "another address is let in" \
	ns_run "$CL" "$PROBE" --bind 198.18.0.3 --tls 198.18.0.1 8443 magic echo 100 1

cp "$TEST_TMP/new.pem" "$TEST_TMP/cert.pem"
cp "$TEST_TMP/new.key" "$TEST_TMP/key.pem"
kill -HUP "$WSSD_PID"
check "reload logged" wait_for 10 logged "event=cert_reloaded"
# Connections go to the loops in turn: four in a row reach both.
for k in 1 2 3 4; do
	check "new connection $k gets the new certificate" served new 198.18.0.4
done

kill -TERM "$WSSD_PID"
k=0
for p in $pids; do
	k=$((k + 1))
	wait "$p" || fail "session $k: $(cat "$TEST_TMP/s$k.out")"
done
pass "SIGTERM closed the sessions of both loops with 1001"
check "wssd exited 0" wait "$WSSD_PID"

# rss_with LOOPS: wssd's resident memory, in KiB, a second after it is up.
rss_with() {
	wssd_start -s websocket.threads="$1"
	sleep 1
	mem VmRSS
	kill "$WSSD_PID"
	wait "$WSSD_PID" 2>/dev/null
}
one=$(rss_with 1)
eight=$(rss_with 8)
per=$(( (eight - one) / 7 ))
echo "wssd RSS: $one KiB with 1 loop, $eight KiB with 8: $per KiB a loop"
if built_with_asan; then
	# ASan's shadow memory and quarantine: resident sizes say nothing here.
	pass "RSS not compared under ASan"
else
	check "a loop costs at most 800 KiB resident ($per)" test "$per" -le 800
fi
