#!/bin/sh
# jit-restart (root, network namespaces, wireguard-go): wssd killed with
# SIGKILL in the middle of a storm of 200 new clients comes back with its
# store intact (PRAGMA integrity_check), the installed peers reconciled with
# the device (the device holds exactly the peers the store says wssd
# installed), and a client connected before the kill reconnects and pings
# without a new look-up.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"

need_net_tests wireguard-go wg ping curl python3 sqlite3
[ -x "$WSSD" ] || skip "wssd is not built"

GW="jrgw$TEST_ID"
CL="jrcl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics
DB="$TEST_TMP/state/wssd.db"
URL=wss://198.18.0.1:8443/
N=200

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
GW_PUB=$(cat "$TEST_TMP/gw.pub")
CL_HEX=$(key_hex "$(cat "$TEST_TMP/cl.pub")")

: >"$TEST_TMP/storm.keys"
i=0
while [ "$i" -lt "$N" ]; do
	wg genkey >>"$TEST_TMP/storm.keys"
	i=$((i + 1))
done
cat >"$TEST_TMP/cp.json" <<EOF
{"default": {"behaviour": "ok", "delay": 0.01},
 "peers": {"$CL_HEX": {"reply": {"allowed_ips": ["198.19.0.2/32"]}}}}
EOF
cp_start "$GW" "$TEST_TMP/cp.json"
jit_conf jit.control_plane="$CP_URL" \
	websocket.max_sessions_per_ip=1000

jit_wssd_start

ns_spawn "$CL" /dev/null "$TEST_TMP/wssc.log" "$WSSC" --insecure --listen 127.0.0.1:51900 "$URL"
at_exit "kill $SPAWN_PID"
wait_for 10 grep -q 'event=connected' "$TEST_TMP/wssc.log" || fail "wssc did not connect"
ns_run "$CL" wg set "$WG_CL" peer "$GW_PUB" allowed-ips 198.19.0.1/32 endpoint 127.0.0.1:51900 ||
	fail "client peer"
check "the client connects" ns_run "$CL" ping -c 1 -W 4 198.19.0.1
check "its key was looked up once" test "$(cp_count "$CL_HEX")" = 1

# The storm, and the kill while its jobs run (each look-up takes 10 ms).
ns_spawn "$CL" "$TEST_TMP/storm.out" "$TEST_TMP/storm.log" "$JITPROBE" --timeout 3 \
	"$URL" "$GW_PUB" storm "$TEST_TMP/storm.keys"
STORM_PID=$SPAWN_PID
wait_for 30 grep -q '^sent=' "$TEST_TMP/storm.out" || fail "the storm did not start"
wait_for 10 sh -c "[ \$(grep -c 'event=peer_installed' '$TEST_TMP/wssd.log') -gt 20 ]" ||
	fail "the storm installed nothing"
kill -KILL "$WSSD_PID"
wait "$WSSD_PID" 2>/dev/null
wait "$STORM_PID" 2>/dev/null
installed=$(grep -c 'event=peer_installed' "$TEST_TMP/wssd.log")
echo "killed with $installed of $N storm peers logged as installed"
check "the store is intact after SIGKILL" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok

jit_wssd_start
ns_run "$GW" wg show "$WG_GW" peers | sort >"$TEST_TMP/device"
sqlite3 "$DB" "SELECT lower(hex(public_key)) FROM installed" | sort >"$TEST_TMP/rows.hex"
while read -r pub; do key_hex "$pub"; echo; done <"$TEST_TMP/device" | sort >"$TEST_TMP/device.hex"
check "reconciled: the device holds exactly the peers the store says wssd installed ($(wc -l <"$TEST_TMP/device") peers)" \
	cmp -s "$TEST_TMP/device.hex" "$TEST_TMP/rows.hex"
check "reconciled: logged" grep -q 'event=reconciled' "$TEST_TMP/wssd.log"

wait_for 15 ns_run "$CL" ping -c 1 -W 1 198.19.0.1 || fail "the client did not come back"
check "the client pings through the new wssd" ns_run "$CL" ping -q -c 3 -i 0.2 -W 2 198.19.0.1
check "without a new look-up" test "$(cp_count "$CL_HEX")" = 1
