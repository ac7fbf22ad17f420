#!/bin/sh
# jit-udp (root, network namespaces, wireguard-go): clients that reach the
# gateway's WireGuard port directly over UDP, seen by wssd's capture.
#
#   client ns: wireguard-go (and udpprobe) --UDP 198.18.0.1:51820 or
#   [fd00:5353::1]:51820-->  gateway ns: wireguard-go, no peers at first,
#   and wssd capturing that port
#
# 1. IPv4: a client whose key is only in the registry pings the gateway's
#    tunnel address. The time from its first initiation (the first ping) to
#    the reply is printed and must be under a second, with one initiation
#    captured: the gateway initiated back (role inversion), the client's
#    5-second retry did not connect it. The peer is installed with the
#    client's address and port as endpoint and jit.keepalive.
# 2. Moving: the client changes its port and starts a new handshake; its
#    peer follows (event=peer_moved), pings go on. A replay of an earlier
#    initiation from another port moves nothing; a new one does.
# 3. IPv6: the first case again over fd00:5353::.
# 4. A WebSocket client meanwhile: its relay socket sends to the port over
#    lo, which the capture ignores: the udp path sees nothing, the ws path
#    one initiation.
# 5. capture.enabled = off: a client whose key is in the registry gets no
#    answer through its first retry; a peer added by hand connects it.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"

need_net_tests wireguard-go wg ping curl sqlite3
[ -x "$WSSD" ] || skip "wssd is not built"

GW="jugw$TEST_ID"
CL="jucl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics
DB="$TEST_TMP/state/wssd.db"

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
ns_addr "$GW" "$NS_LINK_A" fd00:5353::1
ns_addr "$CL" "$NS_LINK_B" fd00:5353::2
GW_PUB=$(cat "$TEST_TMP/gw.pub")
m() { int "$(ns_metric "$GW" "$ADMIN" "$1")"; }

check "the gateway device starts with no peers" test -z "$(ns_run "$GW" wg show "$WG_GW" peers)"

# start_wssd [SECTION.KEY=VALUE ...]
start_wssd() {
	jit_conf "$@"
	: >"$TEST_TMP/wssd.log"
	jit_wssd_start
}

stop_wssd() {
	kill "$WSSD_PID"
	wait "$WSSD_PID"
}

# registered NAME: a new key pair NAME, in the local registry only.
registered() {
	wg_keypair "$1"
	"$WSSCTL" --db "$DB" peer add "$(cat "$TEST_TMP/$1.pub")" 198.19.0.2/32 >/dev/null ||
		fail "wssctl peer add $1"
}

# use_client NAME ENDPOINT: the client device takes NAME's key and talks to
# the gateway at ENDPOINT from scratch.
use_client() {
	ns_run "$CL" wg set "$WG_CL" private-key "$TEST_TMP/$1.key" || fail "client key"
	ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" remove 2>/dev/null
	ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" allowed-ips 198.19.0.1/32 endpoint "$2" ||
		fail "client peer"
}

# first_ping NAME: the first ping's round trip in ms (it carries the
# handshake); it must come back without a retry of the handshake.
first_ping() {
	t0=$(date +%s%N)
	ns_run "$CL" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "$1: the first ping got no reply"
	t1=$(date +%s%N)
	FIRST_MS=$(( (t1 - t0) / 1000000 ))
}

# gw_field WHAT NAME: NAME's peer's column of `wg show WG_GW WHAT`.
gw_field() {
	ns_run "$GW" wg show "$WG_GW" "$1" | awk -v k="$(cat "$TEST_TMP/$2.pub")" '$1 == k { print $2 }'
}

mkdir -p "$TEST_TMP/state"
registered v4
registered v6
registered probe
start_wssd capture.enabled=on
grep -q 'event=capture_opened port=51820 interfaces=any' "$TEST_TMP/wssd.log" ||
	fail "the capture did not open"

# ---- 1. IPv4
use_client v4 198.18.0.1:51820
first_ping v4
v4_ms=$FIRST_MS
echo "IPv4: first initiation to first reply ${v4_ms} ms"
check "IPv4: connected within a second of its first initiation (${v4_ms} ms)" test "$v4_ms" -lt 1000
check "IPv4: one initiation captured, none retried" \
	test "$(m 'wssd_initiations_total{path="udp"}')" = 1
check "IPv4: nothing on the WebSocket path" test "$(m 'wssd_initiations_total{path="ws"}')" = 0
check "IPv4: one peer installed" test "$(m wssd_installs_total)" = 1
check "IPv4: its endpoint is the client's address and port" \
	test "$(gw_field endpoints v4)" = 198.18.0.2:51821
check "IPv4: with jit.keepalive" test "$(gw_field persistent-keepalive v4)" = 25
check "IPv4: the store records it via udp" \
	test "$(sqlite3 "$DB" "SELECT via || ' ' || endpoint FROM installed")" = "udp 198.18.0.2:51821"
check "IPv4: pings go on" ns_run "$CL" ping -q -c 3 -i 0.2 -W 2 198.19.0.1

# ---- 2. moving (a peer moves at most once per 5 s: the first is past that)
sleep 5
ns_run "$CL" wg set "$WG_CL" listen-port 51831 || fail "client port"
use_client v4 198.18.0.1:51820
first_ping moved
moved_ms=$FIRST_MS
check "moved: the peer follows the client's new port" \
	test "$(gw_field endpoints v4)" = 198.18.0.2:51831
check "moved: wssd moved it (event=peer_moved)" \
	grep -q "event=peer_moved key=$(cat "$TEST_TMP/v4.pub") from=198.18.0.2:51821 to=198.18.0.2:51831 keepalive=25" \
	"$TEST_TMP/wssd.log"
check "moved: counted" test "$(m 'wssd_peer_moves_total{result="moved"}')" = 1
check "moved: the store has the new endpoint" \
	test "$(sqlite3 "$DB" "SELECT endpoint FROM installed")" = 198.18.0.2:51831
ns_run "$CL" wg set "$WG_CL" listen-port 51821 || fail "client port back"

# Replays from another port move nothing. udpprobe connects through role
# inversion (its first initiation is never consumed by the device), then
# from a second port with a new initiation (the device answers it and wssd
# moves the peer); both initiations are then replayed from a third port.

# probe PORT ARGS...: udpprobe from the client's address and PORT.
probe() {
	_port=$1
	shift
	ns_run "$CL" "$UDPPROBE" --bind "198.18.0.2:$_port" "$@"
}
# The v4 client, back on 51821, may be moved back at its next handshake at
# any time from here on: the probe's moves are told apart by its key.
probe_moved_once() {
	test "$(grep -c "event=peer_moved key=$(cat "$TEST_TMP/probe.pub") " "$TEST_TMP/wssd.log")" = 1
}
replays() { m 'wssd_jit_lookups_total{source="memory",result="replay"}'; }
out=$(probe 51841 198.18.0.1:51820 "$GW_PUB" send \
	"$TEST_TMP/probe.key" "$TEST_TMP/first.init") || fail "udpprobe send"
echo "$out" | grep -q 'connected=1 via_initiation=1' || fail "udpprobe did not connect: $out"
sleep 5
out=$(probe 51842 198.18.0.1:51820 "$GW_PUB" send \
	"$TEST_TMP/probe.key" "$TEST_TMP/second.init") || fail "udpprobe send again"
echo "$out" | grep -q 'connected=1' || fail "udpprobe did not connect from its new port: $out"
check "a new initiation from a new port moves the peer" wait_for 2 probe_moved_once
check "to that port" test "$(gw_field endpoints probe)" = 198.18.0.2:51842
sleep 5	# past the 5 s between moves: a replay taken as new would move the peer
replays0=$(replays)
out=$(probe 51843 --timeout 1 198.18.0.1:51820 "$GW_PUB" \
	replay "$TEST_TMP/second.init") || fail "udpprobe replay"
check "replay: the device does not answer it ($out)" test "$out" = answers=0
check "replay: wssd sees a replay" test "$(replays)" = $((replays0 + 1))
check "replay: the peer stays where it was" test "$(gw_field endpoints probe)" = 198.18.0.2:51842
out=$(probe 51843 --timeout 1 198.18.0.1:51820 "$GW_PUB" \
	replay "$TEST_TMP/first.init") || fail "udpprobe replay of the first"
check "replay of the first initiation: wssd sees a replay" test "$(replays)" = $((replays0 + 2))
check "replays: wssd moved nothing" probe_moved_once
check "replays: no move logged to the replaying port" \
	sh -c "! grep -q 'event=peer_moved.*to=198.18.0.2:51843' '$TEST_TMP/wssd.log'"
check "replays: the peer stays where it was" test "$(gw_field endpoints probe)" = 198.18.0.2:51842

# ---- 3. IPv6
udp0=$(m 'wssd_initiations_total{path="udp"}')
use_client v6 "[fd00:5353::1]:51820"
first_ping v6
v6_ms=$FIRST_MS
echo "IPv6: first initiation to first reply ${v6_ms} ms"
check "IPv6: connected within a second of its first initiation (${v6_ms} ms)" test "$v6_ms" -lt 1000
check "IPv6: one initiation captured" test "$(m 'wssd_initiations_total{path="udp"}')" = $((udp0 + 1))
check "IPv6: its endpoint is the client's address and port" \
	test "$(gw_field endpoints v6)" = "[fd00:5353::2]:51821"
check "IPv6: with jit.keepalive" test "$(gw_field persistent-keepalive v6)" = 25

# ---- 4. a WebSocket client: its relay traffic crosses lo and is not captured
registered ws
udp0=$(m 'wssd_initiations_total{path="udp"}')
packets0=$(m wssd_capture_packets_total)
out=$(ns_run "$CL" "$JITPROBE" wss://198.18.0.1:8443/ "$GW_PUB" send "$TEST_TMP/ws.key") ||
	fail "jitprobe send"
echo "$out" | grep -q '^answered=1' || fail "the WebSocket client was not answered: $out"
check "ws: one initiation on the ws path" test "$(m 'wssd_initiations_total{path="ws"}')" = 1
check "ws: none on the udp path" test "$(m 'wssd_initiations_total{path="udp"}')" = "$udp0"
check "ws: the capture saw nothing" test "$(m wssd_capture_packets_total)" = "$packets0"
check "ws: installed via ws, without a keepalive" test "$(gw_field persistent-keepalive ws)" = off
stop_wssd

# ---- 5. capture.enabled = off: only a peer added by hand connects the client
registered off
start_wssd
use_client off 198.18.0.1:51820
if ns_run "$CL" ping -c 1 -W 7 198.19.0.1 >/dev/null; then
	fail "off: the client connected without the capture"
fi
check "off: nothing installed" test "$(m wssd_installs_total)" = 0
check "off: no capture" test "$(m 'wssd_initiations_total{path="udp"}')" = 0
ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/off.pub")" allowed-ips 198.19.0.2/32 ||
	fail "hand peer"
t0=$(date +%s%N)
wait_for 15 ns_run "$CL" ping -c 1 -W 1 198.19.0.1 || fail "off: the peer added by hand did not connect it"
hand_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
stop_wssd

echo "first initiation to first reply over direct UDP: IPv4 ${v4_ms} ms, IPv6 ${v6_ms} ms, after a move ${moved_ms} ms; capture off, peer added by hand: connected ${hand_ms} ms after it was added (the client's next retry)"
