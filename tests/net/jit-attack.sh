#!/bin/sh
# jit-attack (root, network namespaces, wireguard-go): the loop under an
# initiation flood, and the control plane failing.
#
# 1. 64 sessions send valid-mac1 initiations from fresh keys as fast as they
#    can for 10 s while an established WireGuard session pings every 100 ms:
#    that session's max RTT is printed beside its max RTT with no attack; the
#    control-plane look-ups the flood causes stay within jit.lookups_per_second;
#    wssd keeps running.
# 2. The control plane stops answering (SIGSTOP) for 10 s while the session
#    pings and a second client, whose cached config has expired and whose
#    peer the device lost (across a restart of wssd), connects again: both
#    work (stale-if-error); a new unknown key fails within jit.timeout; the
#    pings never stall (max RTT printed).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"

need_net_tests wireguard-go wg ping curl python3
[ -x "$WSSD" ] || skip "wssd is not built"

GW="jagw$TEST_ID"
CL="jacl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics
URL=wss://198.18.0.1:8443/
LPS=20

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
GW_PUB=$(cat "$TEST_TMP/gw.pub")
m() { int "$(ns_metric "$GW" "$ADMIN" "$1")"; }

wg_keypair b
cat >"$TEST_TMP/cp.json" <<EOF
{"peers": {
 "$(key_hex "$(cat "$TEST_TMP/cl.pub")")": {"reply": {"allowed_ips": ["198.19.0.2/32"]}},
 "$(key_hex "$(cat "$TEST_TMP/b.pub")")": {"reply": {"allowed_ips": ["198.19.0.3/32"]}}}}
EOF
cp_start "$GW" "$TEST_TMP/cp.json"
jit_conf jit.control_plane="$CP_URL" jit.cache_ttl=1 \
	jit.lookups_per_second=$LPS websocket.max_sessions_per_ip=128 websocket.max_pending_per_ip=64
jit_wssd_start

# client DEVICE PORT: a wssc on PORT and DEVICE's gateway peer through it.
client() {
	ns_spawn "$CL" /dev/null "$TEST_TMP/wssc-$1.log" "$WSSC" --insecure \
		--listen "127.0.0.1:$2" "$URL"
	at_exit "kill $SPAWN_PID"
	wait_for 10 grep -q 'event=connected' "$TEST_TMP/wssc-$1.log" || fail "wssc $1"
	ns_run "$CL" wg set "$1" peer "$GW_PUB" allowed-ips 198.19.0.1/32 \
		endpoint "127.0.0.1:$2" || fail "peer on $1"
}
client "$WG_CL" 51900
wait_for 10 ns_run "$CL" ping -c 1 -W 1 198.19.0.1 || fail "the established session"

# max_rtt SECONDS: pings every 100 ms for SECONDS; prints the max RTT in ms
# and fails when one was lost.
max_rtt() {
	out=$(ns_run "$CL" ping -q -i 0.1 -w "$1" -W 1 198.19.0.1) || {
		echo "$out" >&2
		return 1
	}
	echo "$out" | sed -n 's|.* = [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p'
}

quiet=$(max_rtt 10) || fail "pings lost with no attack"
lookups0=$(cp_count)
ns_spawn "$CL" "$TEST_TMP/flood.out" "$TEST_TMP/flood.log" "$JITPROBE" --sessions 64 \
	"$URL" "$GW_PUB" flood 10
FLOOD_PID=$SPAWN_PID
wait_for 30 grep -q '^ready=64' "$TEST_TMP/flood.out" || fail "the flood did not start: $(cat "$TEST_TMP/flood.out")"
attacked=$(max_rtt 10) || fail "pings lost under the flood"
wait "$FLOOD_PID"
lookups=$(( $(cp_count) - lookups0 ))
sent=$(sed -n 's/^sent=//p' "$TEST_TMP/flood.out")
echo "flood: $sent initiations from 64 sessions in 10 s; max RTT ${attacked} ms under it, ${quiet} ms without"
echo "flood: limited per session $(m 'wssd_initiations_limited_total{path="ws"}'), refused busy $(m 'wssd_jit_refused_total{reason="busy"}'), control-plane look-ups $lookups"
check "flood: look-ups within jit.lookups_per_second ($lookups <= $LPS/s over ~11 s + burst)" \
	test "$lookups" -le $((LPS * 12 + LPS))
check "flood: wssd is still running" kill -0 "$WSSD_PID"

# ---- 2. the control plane down
out=$(ns_run "$CL" "$JITPROBE" "$URL" "$GW_PUB" send "$TEST_TMP/b.key") || fail "jitprobe b"
echo "$out" | grep -q '^answered=1' || fail "b was not let in: $out"
# wssd restarts; meanwhile the device loses b's peer (wssd forgets it at
# start), and b's cached config expires (jit.cache_ttl = 1 s).
kill "$WSSD_PID"
wait "$WSSD_PID"
ns_run "$GW" wg set "$WG_GW" peer "$(cat "$TEST_TMP/b.pub")" remove || fail "removing b"
jit_wssd_start
wait_for 20 ns_run "$CL" ping -c 1 -W 1 198.19.0.1 || fail "the session did not come back"
kill -STOP "$CP_PID" || fail "stopping the control plane"
at_exit "kill -CONT $CP_PID"
( max_rtt 10 >"$TEST_TMP/rtt.out" ) &
RTT_PID=$!
sleep 1
out=$(ns_run "$CL" "$JITPROBE" --timeout 6 "$URL" "$GW_PUB" send "$TEST_TMP/b.key") ||
	fail "jitprobe b again"
echo "$out" | grep -q '^answered=1' || fail "b was not let back in with the control plane down: $out"
wg_keypair stranger
out=$(ns_run "$CL" "$JITPROBE" --timeout 6 "$URL" "$GW_PUB" send "$TEST_TMP/stranger.key") ||
	fail "jitprobe stranger"
echo "$out" | grep -q '^answered=0' || fail "an unknown key was let in: $out"
wait_for 10 grep -q 'event=peer_refused.*outcome=unavailable' "$TEST_TMP/wssd.log" ||
	fail "the unknown key's look-up did not fail"
latency=$(sed -n 's/.*event=peer_refused.*outcome=unavailable.*latency_ms=\([0-9]*\).*/\1/p' \
	"$TEST_TMP/wssd.log" | tail -n 1)
wait "$RTT_PID" || fail "pings lost while the control plane was down"
down=$(cat "$TEST_TMP/rtt.out")
kill -CONT "$CP_PID"
check "control plane down: b came back on its expired config (stale-if-error)" \
	grep -q 'event=peer_installed.*source=stale' "$TEST_TMP/wssd.log"
echo "control plane down: max RTT ${down} ms; a new key's look-up failed after ${latency} ms (jit.timeout 2 s)"
check "control plane down: the new key's look-up ended within jit.timeout" \
	test "${latency:-99999}" -le 2500
