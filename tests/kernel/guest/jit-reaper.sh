#!/bin/sh
# The reaper on the kernel's WireGuard, through the netlink backend, with
# the shortest thresholds wssd accepts (reaper.idle_after 180 s, WireGuard's
# REJECT_AFTER_TIME; grace 10 s; a pass every second), so it takes a little
# over three minutes. On one interface: a direct client that connected
# through JIT and then went quiet is evicted once its last handshake is
# idle_after old; a peer configured by hand stays; a client that knocked once
# and never completed a handshake is evicted after the grace; the evicted
# client's next ping brings it back through JIT.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/kernel-guest.sh"
need_root

GW="krgw$TEST_ID"
CL="krcl$TEST_ID"
WG_GW="kwg${TEST_ID}g"
WG_CL="kwg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics
UDPPROBE="$top_builddir/tests/tools/udpprobe"
IDLE_AFTER=180
GRACE=10

on_device() { ns_run "$GW" wg show "$WG_GW" peers | grep -qx "$(cat "$TEST_TMP/$1.pub")"; }
gone() { ! on_device "$1"; }

kpair
wg_keypair knock
wg_keypair hand
GW_PUB=$(cat "$TEST_TMP/gw.pub")

kregister cl 198.19.0.2
kregister knock 198.19.0.4
ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/hand.pub")" allowed-ips 198.19.0.50/32 ||
	fail "hand peer"
wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$WG_GW" gateway.backend=netlink \
	websocket.listen=198.18.0.1:8443 capture.enabled=on reaper.interval=1 \
	reaper.idle_after=$IDLE_AFTER reaper.grace=$GRACE
ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
at_exit "kill $SPAWN_PID"
wait_for 30 ip netns exec "$GW" wget -q -O /dev/null "$ADMIN" || fail "wssd did not start"

# The direct client connects, then goes quiet (its peer of the gateway removed).
ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820 ||
	fail "client peer"
ns_run "$CL" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "the direct client did not connect"
ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" remove || fail "client goes quiet"
installs=$(m wssd_installs_total)
check "the direct client came in through JIT" test "$installs" = 1

# A client that knocks once and is gone: it never completes a handshake.
ns_run "$CL" "$UDPPROBE" --timeout 0 198.18.0.1:51820 "$GW_PUB" send "$TEST_TMP/knock.key" \
	>/dev/null || fail "udpprobe knock"
wait_for 10 on_device knock || fail "the knocking client's peer was not installed"
wait_for $((GRACE + 15)) gone knock || fail "the never-handshook peer was not evicted after the grace"
check "never handshook: evicted and counted" \
	test "$(m 'wssd_evictions_total{reason="never_handshook"}')" = 1

wait_for $((IDLE_AFTER + 30)) gone cl || fail "the idle direct client's peer was not evicted"
check "idle: evicted and counted" test "$(m 'wssd_evictions_total{reason="idle"}')" = 1
check "hand: the peer configured by hand stays" on_device hand

ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820 ||
	fail "client back"
check "back: the evicted client's next ping brings it back" ns_run "$CL" ping -c 1 -W 4 198.19.0.1
check "back: through JIT" test "$(m wssd_installs_total)" = $((installs + 2))
