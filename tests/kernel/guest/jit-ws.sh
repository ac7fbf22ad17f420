#!/bin/sh
# The WebSocket JIT end to end on the kernel's WireGuard, through the
# netlink backend: as tests/net/jit-ws.sh, with kernel interfaces instead of
# wireguard-go. A client whose key is only in the local registry connects
# through wssc; the gateway interface starts with no peers; the first ping
# succeeds on the client's first initiation, and the peer is on the device.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/kernel-guest.sh"
need_root

GW="kjgw$TEST_ID"
CL="kjcl$TEST_ID"
WG_GW="kwg${TEST_ID}g"
WG_CL="kwg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics

kpair
check "the gateway interface starts with no peers" test -z "$(ns_run "$GW" wg show "$WG_GW" peers)"

kregister cl 198.19.0.2
wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$WG_GW" gateway.backend=netlink \
	websocket.listen=198.18.0.1:8443
ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
at_exit "kill $SPAWN_PID"
wait_for 30 ip netns exec "$GW" wget -q -O /dev/null "$ADMIN" || fail "wssd did not start"
check "wssd reads the interface over netlink" grep -q "event=jit_ready.*backend=netlink" \
	"$TEST_TMP/wssd.log"

ns_spawn "$CL" /dev/null "$TEST_TMP/wssc.log" "$WSSC" --insecure --listen 127.0.0.1:51900 \
	wss://198.18.0.1:8443/
at_exit "kill $SPAWN_PID"
wait_for 20 grep -q 'event=connected' "$TEST_TMP/wssc.log" || fail "wssc did not connect"
ns_run "$CL" wg set "$WG_CL" peer "$(cat "$TEST_TMP/gw.pub")" allowed-ips 198.19.0.1/32 \
	endpoint 127.0.0.1:51900 || fail "client peer"

# busybox's date has no %N: /proc/uptime has hundredths.
t0=$(cut -d' ' -f1 /proc/uptime)
ns_run "$CL" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "the first ping got no reply"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# first initiation to first ping reply: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms (kernel WireGuard, netlink, TCG)"
check "one initiation seen" test "$(m 'wssd_initiations_total{path="ws"}')" = 1
check "one peer installed" test "$(m wssd_installs_total)" = 1
has_peer() { ns_run "$GW" wg show "$WG_GW" peers | grep -qx "$1"; }
check "the kernel holds the peer" has_peer "$(cat "$TEST_TMP/cl.pub")"
check "pings go on" ns_run "$CL" ping -q -c 3 -i 0.2 -W 2 198.19.0.1
