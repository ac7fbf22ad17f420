#!/bin/sh
# jit-reaper (root, network namespaces, wireguard-go): the reaper in the
# daemon, with the shortest thresholds wssd accepts (reaper.idle_after 180,
# WireGuard's REJECT_AFTER_TIME; reaper.grace 10; a pass every second), so
# this test takes a little over three minutes.
#
#   direct ns: wireguard-go --UDP--> gateway ns: wireguard-go + wssd
#   ws ns: wireguard-go <-> wssc --wss://-->
#
# On one device, at once: a direct client that connected through JIT and
# then stopped answering (idle) is evicted once its last handshake is
# idle_after old; a WebSocket client that connected and then sent nothing
# for as long, its session open, is left alone; a peer configured by hand is
# left alone; a direct client that knocked and vanished (never completed a
# handshake) is evicted after the grace. The evicted client's next ping
# brings it back through JIT. Before that, the passes' dump adopts and
# forgets a peer added and removed by hand (the resync).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"

need_net_tests wireguard-go wg ping curl
[ -x "$WSSD" ] || skip "wssd is not built"

GW="jrgw$TEST_ID"
CL="jrcl$TEST_ID"
WS="jrws$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
WG_WS="wg${TEST_ID}w"
ADMIN=http://127.0.0.1:9180/metrics
DB="$TEST_TMP/state/wssd.db"
IDLE_AFTER=180
GRACE=10

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
wg_client_host "$GW" "$WS" "$WG_WS" ws 1
GW_PUB=$(cat "$TEST_TMP/gw.pub")
m() { int "$(ns_metric "$GW" "$ADMIN" "$1")"; }
on_device() { ns_run "$GW" wg show "$WG_GW" peers | grep -qx "$(cat "$TEST_TMP/$1.pub")"; }
handshake_age() {
	hs=$(ns_run "$GW" wg show "$WG_GW" latest-handshakes |
		awk -v k="$(cat "$TEST_TMP/$1.pub")" '$1 == k { print $2 }')
	echo $(( $(date +%s) - ${hs:-0} ))
}

mkdir -p "$TEST_TMP/state"
wg_keypair knock
wg_keypair hand
for k in cl:198.19.0.2 ws:198.19.0.3 knock:198.19.0.4; do
	"$WSSCTL" --db "$DB" peer add "$(cat "$TEST_TMP/${k%%:*}.pub")" "${k#*:}/32" >/dev/null ||
		fail "wssctl peer add ${k%%:*}"
done
jit_conf websocket.listen=198.18.1.1:8443 capture.enabled=on reaper.interval=1 \
	reaper.idle_after=$IDLE_AFTER reaper.grace=$GRACE
jit_wssd_start

# ---- the resync: a peer added by hand is adopted by the next pass, then forgotten
ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/hand.pub")" allowed-ips 198.19.0.50/32 ||
	fail "hand peer"
wait_for 5 grep -q 'event=device_resynced.*added_by_hand=1' "$TEST_TMP/wssd.log" ||
	fail "the hand-made peer was not adopted"
out=$(ns_run "$WS" "$JITPROBE" wss://198.18.1.1:8443/ "$GW_PUB" send "$TEST_TMP/hand.key") ||
	fail "jitprobe hand"
check "resync: a peer added by hand is forwarded as installed" \
	sh -c "echo '$out' | grep -q '^answered=1'"
check "resync: without a look-up" test "$(m wssd_installs_total)" = 0
ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/hand.pub")" remove || fail "hand remove"
wait_for 5 grep -q 'event=device_resynced.*removed_by_hand=1' "$TEST_TMP/wssd.log" ||
	fail "the removed hand-made peer was not forgotten"
out=$(ns_run "$WS" "$JITPROBE" --timeout 2 wss://198.18.1.1:8443/ "$GW_PUB" send \
	"$TEST_TMP/hand.key") || fail "jitprobe hand again"
check "resync: once removed it is looked up again (not in the registry: refused)" \
	sh -c "echo '$out' | grep -q '^answered=0'"
ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/hand.pub")" allowed-ips 198.19.0.50/32 ||
	fail "hand peer again"

# ---- the WebSocket client connects, then sends nothing; its session stays open
ns_spawn "$WS" /dev/null "$TEST_TMP/wssc.log" "$WSSC" --insecure --listen 127.0.0.1:51900 \
	wss://198.18.1.1:8443/
at_exit "kill $SPAWN_PID"
wait_for 10 grep -q 'event=connected' "$TEST_TMP/wssc.log" || fail "wssc did not connect"
ns_run "$WS" wg set "$WG_WS" peer "$GW_PUB" allowed-ips 198.19.0.1/32 endpoint 127.0.0.1:51900 ||
	fail "ws client peer"
ns_run "$WS" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "the WebSocket client did not connect"

# ---- the direct client connects, then stops answering
ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820 ||
	fail "direct client peer"
ns_run "$CL" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "the direct client did not connect"
ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" remove || fail "direct client stops"
installs=$(m wssd_installs_total)
check "two peers installed through JIT so far (the WebSocket and the direct client)" \
	test "$installs" = 2

# ---- a direct client that knocks once and is gone: never handshakes
ns_run "$CL" "$UDPPROBE" --timeout 0 198.18.0.1:51820 "$GW_PUB" send "$TEST_TMP/knock.key" \
	>/dev/null || fail "udpprobe knock"
wait_for 5 on_device knock || fail "the knocking client's peer was not installed"
t_knock=$(date +%s)
wait_for $((GRACE + 10)) sh -c "! ip netns exec $GW wg show $WG_GW peers | grep -qx '$(cat "$TEST_TMP/knock.pub")'" ||
	fail "the never-handshook peer was not evicted after the grace"
knock_s=$(( $(date +%s) - t_knock ))
check "never handshook: evicted after the grace (${knock_s} s, grace ${GRACE} s)" \
	test "$knock_s" -ge $((GRACE - 2))
check "never handshook: counted" test "$(m 'wssd_evictions_total{reason="never_handshook"}')" = 1
check "never handshook: logged" \
	grep -q "event=peer_evicted key=$(cat "$TEST_TMP/knock.pub") reason=never_handshook" \
	"$TEST_TMP/wssd.log"

# ---- idle_after later: the direct client goes, the others stay
wait_for $((IDLE_AFTER + 30)) sh -c "! ip netns exec $GW wg show $WG_GW peers | grep -qx '$(cat "$TEST_TMP/cl.pub")'" ||
	fail "the idle direct client's peer was not evicted"
check "idle: counted" test "$(m 'wssd_evictions_total{reason="idle"}')" = 1
check "idle: logged" grep -q "event=peer_evicted key=$(cat "$TEST_TMP/cl.pub") reason=idle" \
	"$TEST_TMP/wssd.log"
check "idle: the pass that evicted it kept the WebSocket client's peer, due too" \
	grep -q 'event=reaper_pass .*idle=1 .*carried=1' "$TEST_TMP/wssd.log"
sleep 2
ws_age=$(handshake_age ws)
check "ws: its session open, the idle WebSocket client's peer stays (handshake ${ws_age} s ago)" \
	on_device ws
check "ws: although it was due (${ws_age} s >= ${IDLE_AFTER} s)" test "$ws_age" -ge "$IDLE_AFTER"
check "hand: the peer configured by hand stays" on_device hand
check "ws: its session was open all along" test "$(m wssd_sessions)" -ge 1

# ---- the evicted client's next ping brings it back through JIT
ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820 ||
	fail "direct client back"
t0=$(date +%s%N)
ns_run "$CL" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "the evicted client did not come back"
back_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "back: through JIT again" test "$(m wssd_installs_total)" = $((installs + 2))
check "back: within a second (${back_ms} ms)" test "$back_ms" -lt 1000
echo "reaper: never-handshook peer evicted ${knock_s} s after install (grace ${GRACE} s); idle direct peer evicted, idle WebSocket peer kept with its last handshake ${ws_age} s old; the evicted client back in ${back_ms} ms"
