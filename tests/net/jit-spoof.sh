#!/bin/sh
# jit-spoof (root, network namespaces, wireguard-go): initiations that are
# not what they claim reach neither the control plane, nor the store, nor
# the device. Each case counts control-plane requests (an HTTP control plane
# that would answer any key), store writes (a dump of the database) and
# installs, and expects none:
#   1. 10,000 random 148-byte type-1 records (refused by mac1);
#   2. valid mac1, a static key that does not decrypt;
#   3. a real static key, a timestamp that does not decrypt (the key is
#      known then, but not authenticated);
#   4. a replay, from another session, of an initiation that was accepted
#      (its peer installed) and of one that was refused (unknown key).
# Last, a session that sends nothing but refused initiations is closed after
# websocket.refused_close_after.
# Per-session initiation limits are raised here so that every initiation the
# loop looks at reaches the unwrap, whose failure counters must match (the
# records a session sends while its last initiation waits for its verdict
# are held behind it, and dropped with it).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"

need_net_tests wireguard-go wg curl python3 sqlite3
[ -x "$WSSD" ] || skip "wssd is not built"

GW="jsgw$TEST_ID"
CL="jscl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics
DB="$TEST_TMP/state/wssd.db"
URL=wss://198.18.0.1:8443/

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
GW_PUB=$(cat "$TEST_TMP/gw.pub")
m() { int "$(ns_metric "$GW" "$ADMIN" "$1")"; }
probe() { ns_run "$CL" "$JITPROBE" "$@"; }

wg_keypair known
wg_keypair unknown
cat >"$TEST_TMP/cp.json" <<EOF
{"default": {"behaviour": "ok", "reply": {"allowed_ips": ["198.19.0.9/32"]}},
 "peers": {"$(key_hex "$(cat "$TEST_TMP/unknown.pub")")": {"behaviour": "404"}}}
EOF
cp_start "$GW" "$TEST_TMP/cp.json"
jit_conf jit.control_plane="$CP_URL" \
	websocket.initiations_per_second=1000 websocket.refused_close_after=3
jit_wssd_start

# snapshot: what the store, the control plane and the device hold now.
snapshot() {
	echo "cp=$(cp_count) installs=$(m wssd_installs_total)" \
		"peers=$(ns_run "$GW" wg show "$WG_GW" peers | wc -l)" \
		"store=$(sqlite3 "$DB" .dump | grep -v '^INSERT INTO ratelimit' | md5sum | cut -c1-12)"
}

# untouched NAME: nothing changed since the last snapshot.
untouched() {
	now=$(snapshot)
	[ "$now" = "$before" ] || fail "$1 changed something: before $before, after $now"
	pass "$1: no control-plane request, store write or install ($now)"
}

before=$(snapshot)
out=$(probe --sessions 10 "$URL" "$GW_PUB" random 1000) || fail "jitprobe random"
wait_for 10 test "$(m 'wssd_unwrap_failures_total{reason="mac1"}')" -ge 10000 ||
	fail "random: mac1 refused $(m 'wssd_unwrap_failures_total{reason="mac1"}') of 10000"
check "random: each refused by mac1 on the loop" \
	test "$(m 'wssd_unwrap_failures_total{reason="mac1"}')" = 10000
untouched "10,000 random type-1 records"

# dropped: records refused outright or held and then dropped, for any reason
# (a session's hold queue fills while its initiation waits under load).
dropped() {
	echo $(( $(m 'wssd_drops_total{reason="refused"}') +
		$(m 'wssd_held_records_dropped_total{reason="refused"}') +
		$(m 'wssd_held_records_dropped_total{reason="hold_queue_full"}') +
		$(m 'wssd_held_records_dropped_total{reason="timeout"}') ))
}

# refused_by_unwrap NAME REASON COUNT: the last COUNT records were all dropped,
# and each one the loop looked at failed the unwrap for REASON.
refused_by_unwrap() {
	want=$((dropped0 + $3))
	wait_for 20 test "$(dropped)" -ge "$want" ||
		fail "$1: $(( $(dropped) - dropped0 )) of $3 dropped"
	seen=$(( $(m 'wssd_initiations_total{path="ws"}') - seen0 ))
	failed=$(( $(m "wssd_unwrap_failures_total{reason=\"$2\"}") - failed0 ))
	check "$1: all $3 dropped; the $seen looked at failed the unwrap ($2)" \
		test "$seen" -ge 1 -a "$failed" = "$seen"
}

counters() {
	dropped0=$(dropped)
	seen0=$(m 'wssd_initiations_total{path="ws"}')
	failed0=$(m "wssd_unwrap_failures_total{reason=\"$1\"}")
}

counters static
out=$(probe --sessions 4 "$URL" "$GW_PUB" garbage-static 50) || fail "jitprobe garbage-static"
refused_by_unwrap "garbage static key" static 200
untouched "valid mac1, garbage static key"

counters timestamp
out=$(probe --sessions 4 "$URL" "$GW_PUB" bad-timestamp "$TEST_TMP/known.key" 50) ||
	fail "jitprobe bad-timestamp"
refused_by_unwrap "bad timestamp" timestamp 200
untouched "valid static key, bad timestamp"

# An accepted initiation (its peer is installed: the gateway answers it) ...
out=$(probe "$URL" "$GW_PUB" send "$TEST_TMP/known.key" "$TEST_TMP/accepted.bin") ||
	fail "jitprobe send"
echo "$out" | grep -q '^answered=1' || fail "the known key was not answered: $out"
check "accepted: one install" test "$(m wssd_installs_total)" = 1
# ... and a refused one (the control plane does not know the key).
out=$(probe --timeout 2 "$URL" "$GW_PUB" send "$TEST_TMP/unknown.key" "$TEST_TMP/refused.bin") ||
	fail "jitprobe send unknown"
echo "$out" | grep -q '^answered=0' || fail "the unknown key was answered: $out"
wait_for 5 test "$(m 'wssd_jit_lookups_total{source="control_plane",result="not_found"}')" = 1 ||
	fail "the unknown key was not looked up"

before=$(snapshot)
out=$(probe --timeout 2 "$URL" "$GW_PUB" replay "$TEST_TMP/accepted.bin") || fail "replay accepted"
out=$(probe --timeout 2 "$URL" "$GW_PUB" replay "$TEST_TMP/refused.bin") || fail "replay refused"
echo "$out" | grep -q '^answered=0' || fail "the refused initiation's replay was answered: $out"
check "replay of the refused one: dropped as a replay" \
	test "$(m 'wssd_jit_lookups_total{source="memory",result="replay"}')" -ge 1
untouched "replays from other sessions"
# One garbage initiation every half second: closed after 3 s of them.
out=$(probe --every 0.5 "$URL" "$GW_PUB" garbage-static 12) || fail "jitprobe --every"
check "refused for websocket.refused_close_after: the session was closed ($(echo "$out" | tail -n 1))" \
	sh -c "echo '$out' | grep -qx closed=1"
check "refused for websocket.refused_close_after: counted" \
	test "$(m wssd_refused_closes_total)" = 1
check "refused for websocket.refused_close_after: logged" \
	grep -q 'event=session_closing.*code=1008' "$TEST_TMP/wssd.log"
check "wssd is still running" kill -0 "$WSSD_PID"
