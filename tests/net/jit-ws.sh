#!/bin/sh
# jit-ws (root, network namespaces, wireguard-go): a client wssd has never
# seen connects over wss:// and its first handshake succeeds.
#
#   client ns: wireguard-go <-> wssc  --wss://198.18.0.1:8443/-->  gateway ns: wssd,
#   wireguard-go whose device starts with no peers
#
# Three clients, each a fresh key: one only in the local registry, one only
# on an HTTP control plane (tests/tools/cp-server.py), one installed by hand
# before it starts (the baseline). For each, the time from the client's
# first initiation (its first ping) to the first reply is printed, and wssd
# must have seen exactly one initiation: no 5-second retry connected it.
# Then an unknown key: its initiations are dropped, and the control plane
# sees one request however many retries come within jit.negative_ttl.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"

need_net_tests wireguard-go wg ping curl python3 sqlite3
[ -x "$WSSD" ] || skip "wssd is not built"

GW="jwgw$TEST_ID"
CL="jwcl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics
DB="$TEST_TMP/state/wssd.db"

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
GW_PUB=$(cat "$TEST_TMP/gw.pub")
m() { int "$(ns_metric "$GW" "$ADMIN" "$1")"; }

check "the gateway device starts with no peers" test -z "$(ns_run "$GW" wg show "$WG_GW" peers)"

# start_wssd [SECTION.KEY=VALUE ...]: wssd, and a wssc connected to it.
start_wssd() {
	jit_conf "$@"
	jit_wssd_start
	start_wssc
}

stop_wssd() {
	kill "$WSSD_PID"
	wait "$WSSD_PID"
}

WSSC_PORT=51900
WSSC_PID=

# start_wssc: a new wssc (the same UDP port), connected before it returns.
start_wssc() {
	[ -z "$WSSC_PID" ] || { kill "$WSSC_PID"; wait "$WSSC_PID"; }
	: >"$TEST_TMP/wssc.log"
	ns_spawn "$CL" "$TEST_TMP/wssc.out" "$TEST_TMP/wssc.log" "$WSSC" --insecure \
		--listen "127.0.0.1:$WSSC_PORT" wss://198.18.0.1:8443/
	WSSC_PID=$SPAWN_PID
	at_exit "kill $WSSC_PID"
	wait_for 10 grep -q 'event=connected' "$TEST_TMP/wssc.log" || fail "wssc did not connect"
}

# use_client NAME: the client device takes the key NAME (new keypair) and
# talks to the gateway through wssc from scratch.
use_client() {
	wg_keypair "$1"
	ns_run "$CL" wg set "$WG_CL" private-key "$TEST_TMP/$1.key" || fail "client key"
	ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" remove 2>/dev/null
	ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" allowed-ips 198.19.0.1/32 \
		endpoint "127.0.0.1:$WSSC_PORT" || fail "client peer"
}

# first_ping NAME: the first ping's round trip in ms (it carries the
# handshake), or fails; no retry is allowed (WireGuard retries after 5 s).
first_ping() {
	t0=$(date +%s%N)
	ns_run "$CL" ping -c 1 -W 4 198.19.0.1 >/dev/null || fail "$1: the first ping got no reply"
	t1=$(date +%s%N)
	FIRST_MS=$(( (t1 - t0) / 1000000 ))
}

# ---- 1. a key only in the local registry
use_client reg
mkdir -p "$TEST_TMP/state"
"$WSSCTL" --db "$DB" peer add "$(cat "$TEST_TMP/reg.pub")" 198.19.0.2/32 >/dev/null ||
	fail "wssctl peer add"
start_wssd
first_ping registry
reg_ms=$FIRST_MS
check "registry: one initiation seen" test "$(m 'wssd_initiations_total{path="ws"}')" = 1
check "registry: one peer installed" test "$(m wssd_installs_total)" = 1
check "registry: the device holds the peer" \
	sh -c "ip netns exec $GW wg show $WG_GW peers | grep -qx '$(cat "$TEST_TMP/reg.pub")'"
endpoint=$(ns_run "$GW" wg show "$WG_GW" endpoints | awk '{ print $2 }')
check "registry: its endpoint is the relay socket, from 127.18.0.2 ($endpoint)" \
	sh -c "echo '$endpoint' | grep -q '^127\.18\.0\.2:'"
via=$(sqlite3 "$DB" "SELECT via FROM installed")
check "registry: the store records it via ws ($via)" test "$via" = ws
check "registry: pings go on" ns_run "$CL" ping -q -c 3 -i 0.2 -W 2 198.19.0.1
stop_wssd

# ---- 2. a key only on the HTTP control plane
use_client http
HTTP_HEX=$(key_hex "$(cat "$TEST_TMP/http.pub")")
cat >"$TEST_TMP/cp.json" <<EOF
{"peers": {"$HTTP_HEX": {"behaviour": "ok", "reply": {"allowed_ips": ["198.19.0.2/32"]}}}}
EOF
cp_start "$GW" "$TEST_TMP/cp.json"
start_wssd jit.control_plane="$CP_URL"
first_ping http
http_ms=$FIRST_MS
check "http: one initiation seen" test "$(m 'wssd_initiations_total{path="ws"}')" = 1
check "http: one control-plane request" test "$(cp_count "$HTTP_HEX")" = 1
check "http: counted as a 200" test "$(m 'wssd_control_plane_requests_total{code="200"}')" = 1

# ---- 3. unknown key: dropped, and one request within the negative TTL
wg_keypair unknown
UNK_HEX=$(key_hex "$(cat "$TEST_TMP/unknown.pub")")
for i in 1 2 3; do
	out=$(ns_run "$CL" "$JITPROBE" --timeout 1 wss://198.18.0.1:8443/ "$GW_PUB" \
		send "$TEST_TMP/unknown.key") || fail "jitprobe send $i"
	echo "$out" | grep -q '^answered=0' || fail "unknown key $i was answered: $out"
done
check "unknown: three initiations, one control-plane request" test "$(cp_count "$UNK_HEX")" = 1
check "unknown: later ones answered by the negative cache" \
	test "$(m 'wssd_jit_lookups_total{source="cache",result="not_found"}')" -ge 2
check "unknown: nothing installed" test "$(m wssd_installs_total)" = 1
stop_wssd
cp_stop

# ---- 4. the baseline: a peer installed by hand before the client starts
use_client hand
ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/hand.pub")" allowed-ips 198.19.0.2/32 ||
	fail "hand peer"
# The earlier clients' peers route the same tunnel address.
for k in reg http; do ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/$k.pub")" remove; done
start_wssd
first_ping hand
hand_ms=$FIRST_MS
check "hand: forwarded without a look-up" test "$(m wssd_installs_total)" = 0
stop_wssd

echo "first initiation to first ping reply: registry ${reg_ms} ms, HTTP control plane ${http_ms} ms, installed by hand ${hand_ms} ms"
