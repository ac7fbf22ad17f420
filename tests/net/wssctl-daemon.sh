#!/bin/sh
# wssctl-daemon (root, network namespaces, wireguard-go): the commands that
# ask the running daemon on its control socket (installed, evict, sessions,
# stats) and wssctl peer new, against a real wssd, wireguard-go on both
# ends and real traffic.
#
#   client ns: wireguard-go <-> wssc  --wss://198.18.0.1:8443/-->  gateway ns: wssd,
#   wireguard-go whose device starts with one peer configured by hand
#
# A client made by `wssctl peer new` (its printed config, stripped by
# wg-quick, is the client device's) pings through wssd; each command's table
# and JSON are read back against the device, the store and the metrics.
# Then the socket's bounds: a line over 1 KiB, a client that never sends,
# clients that go before their answer; and jit.enabled = off.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests wireguard-go wg wg-quick ping curl python3 sqlite3
[ -x "$WSSD" ] || skip "wssd is not built"

GW="wcgw$TEST_ID"
CL="wccl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
ADMIN=http://127.0.0.1:9180/metrics
CONF="$TEST_TMP/wssd.conf"
SOCK="$TEST_TMP/run/ctl.sock"
DB="$TEST_TMP/state/wssd.db"
WSSC_PORT=51900

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
GW_PUB=$(cat "$TEST_TMP/gw.pub")
wg_keypair hand
HAND_PUB=$(cat "$TEST_TMP/hand.pub")
ns_run "$GW" wg set "$WG_GW" peer "$HAND_PUB" allowed-ips 198.19.0.99/32 || fail "hand peer"

ctl() { "$WSSCTL" -c "$CONF" "$@"; }

# expect STATUS WORDS CMD...: CMD exits STATUS with WORDS on stderr, in one line
# unless it is a usage error (2).
expect() {
	want="$1" words="$2"
	shift 2
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	got=$?
	[ "$got" = "$want" ] || { cat "$TEST_TMP/err"; fail "$* exited $got, not $want"; }
	grep -qF -- "$words" "$TEST_TMP/err" || { cat "$TEST_TMP/err"; fail "$*: no \"$words\""; }
	[ "$want" = 2 ] || [ "$(wc -l <"$TEST_TMP/err")" = 1 ] ||
		{ cat "$TEST_TMP/err"; fail "$*: not one line"; }
	pass "$* → $want: $(head -n 1 "$TEST_TMP/err")"
}

# json FILE PYTHON: runs PYTHON with j = the JSON in FILE; fails when it raises.
json() {
	python3 -c "import json, sys; j = json.load(open(sys.argv[1])); $2" "$1" ||
		fail "json check on $(cat "$1")"
}

start_wssd() {
	wssd_conf "$CONF" gateway.interface="$WG_GW" gateway.backend=uapi \
		websocket.listen=198.18.0.1:8443 gateway.address=198.19.0.1/24 \
		admin.socket="$SOCK" "$@"
	ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$CONF"
	WSSD_PID=$SPAWN_PID
	at_exit "kill $WSSD_PID"
	wait_for 20 test -S "$SOCK" || fail "wssd did not create $SOCK"
	wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not start"
}

# stop_wssd: SIGTERM, and wssd exits 0 (a sanitizer's report would not).
stop_wssd() {
	kill "$WSSD_PID"
	wait "$WSSD_PID" || fail "wssd exited $?"
}

# ---- the daemon down
wssd_conf "$CONF" gateway.interface="$WG_GW" admin.socket="$SOCK"
for c in installed sessions stats "evict $HAND_PUB"; do
	expect 1 "cannot reach wssd at $SOCK: No such file or directory (is wssd running?)" ctl $c
done
expect 1 "start wssd once" ctl peer new 198.19.0.2/32
printf '\n[jit]\ncontrol_plane = http://127.0.0.1:1\n' >>"$CONF"
expect 1 "jit.control_plane is http://127.0.0.1:1: wssd asks it" ctl peer new 198.19.0.2/32
expect 2 "needs at least one allowed IP" ctl peer new
expect 1 'bad allowed IP "10.0.0.1/33"' ctl peer new 10.0.0.1/33
expect 1 'bad --url "https://x/"' ctl peer new 10.0.0.1/32 --url https://x/

# ---- up: a client made by peer new connects
start_wssd
check "the socket is the owner's only ($(stat -c %a "$SOCK"))" \
	test "$(stat -c %a "$SOCK")" = 600
check "its directory is made 0755" test "$(stat -c %a "$TEST_TMP/run")" = 755
ctl peer new 198.19.0.2/32 --url wss://198.18.0.1:8443/ --listen "127.0.0.1:$WSSC_PORT" \
	>"$TEST_TMP/client.conf" 2>"$TEST_TMP/new.err" || { cat "$TEST_TMP/new.err"; fail "peer new"; }
check "peer new says nothing on stderr" test ! -s "$TEST_TMP/new.err"
CL_PUB=$(awk '$1 == "PrivateKey" { print $3 }' "$TEST_TMP/client.conf" | wg pubkey)
grep -qx "PublicKey = $GW_PUB" "$TEST_TMP/client.conf" ||
	fail "the config's PublicKey is not the gateway's (the daemon's pubkey): $(cat "$TEST_TMP/client.conf")"
grep -qx "AllowedIPs = 198.19.0.0/24" "$TEST_TMP/client.conf" || fail "AllowedIPs: gateway.address's network"
grep -qx "Address = 198.19.0.2/32" "$TEST_TMP/client.conf" || fail "Address"
grep -qx "Endpoint = 127.0.0.1:$WSSC_PORT" "$TEST_TMP/client.conf" || fail "Endpoint"
grep -qx "PersistentKeepalive = 25" "$TEST_TMP/client.conf" || fail "PersistentKeepalive"
WSSC_LINE=$(sed -n 's/^#   \(wssc .*\) &$/\1/p' "$TEST_TMP/client.conf")
check "the wssc line ($WSSC_LINE)" \
	test "$WSSC_LINE" = "wssc --insecure --listen 127.0.0.1:$WSSC_PORT wss://198.18.0.1:8443/"
check "the registry holds the client's public key with its address" \
	test "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM registry')" = 1
"$WSSCTL" -c "$CONF" peer list | grep -q "^$CL_PUB .* 198\.19\.0\.2/32$" || fail "peer list: $CL_PUB"
url=$(sed -n 's/.*event=gateway_ready .* url=\([^ ]*\) .*/\1/p' "$TEST_TMP/wssd.log")
ctl peer new 198.19.0.9/32 >"$TEST_TMP/default.conf" || fail "peer new without --url"
check "without --url the wssc line dials the url wssd logged ($url)" \
	grep -q "^#   wssc --insecure --listen 127.0.0.1:51821 $url &\$" "$TEST_TMP/default.conf"
key9=$(awk '$1 == "PrivateKey" { print $3 }' "$TEST_TMP/default.conf" | wg pubkey)
ctl peer rm "$key9" || fail "peer rm"
expect 1 "198.19.0.0/30 overlaps 198.19.0.2/32 of $CL_PUB in the registry" \
	ctl peer new 198.19.0.0/30 --url wss://198.18.0.1:8443/

# The client device takes the printed config (wg-quick strip drops Address).
cp "$TEST_TMP/client.conf" "$TEST_TMP/$WG_CL.conf"
wg-quick strip "$TEST_TMP/$WG_CL.conf" >"$TEST_TMP/client.wg" || fail "wg-quick strip"
ns_run "$CL" wg setconf "$WG_CL" "$TEST_TMP/client.wg" || fail "wg setconf"
ns_spawn "$CL" "$TEST_TMP/wssc.out" "$TEST_TMP/wssc.log" \
	"$WSSC" --insecure --listen "127.0.0.1:$WSSC_PORT" wss://198.18.0.1:8443/
at_exit "kill $SPAWN_PID"
check "the client pings the gateway" ns_run "$CL" ping -c 3 -i 0.3 -W 6 198.19.0.1

# ---- installed
ctl installed >"$TEST_TMP/installed" || fail "installed"
cat "$TEST_TMP/installed"
head -n 1 "$TEST_TMP/installed" | grep -q '^PUBLIC KEY  *ENDPOINT  *VIA  *AGE  *HANDSHAKE' ||
	fail "installed: no header"
row=$(grep "^$CL_PUB " "$TEST_TMP/installed") || fail "installed: no row for $CL_PUB"
echo "$row" | awk '{ exit !($2 ~ /^127\.18\.0\.2:[0-9]+$/ && $3 == "ws" && $0 ~ /s ago/) }' ||
	fail "installed row: endpoint, via, handshake: $row"
grep -q "$HAND_PUB" "$TEST_TMP/installed" && fail "installed lists the peer configured by hand"
ctl installed --json >"$TEST_TMP/installed.json" || fail "installed --json"
json "$TEST_TMP/installed.json" "
p = [x for x in j if x['public_key'] == '$CL_PUB']
assert len(j) == 1 and len(p) == 1, j
p = p[0]
assert p['via'] == 'ws' and p['endpoint'].startswith('127.18.0.2:'), p
assert p['last_handshake'] > 0 and p['age'] >= 0 and p['carried'] is True, p"
pass "installed --json: endpoint, via, age, last handshake"
dev_ep=$(ns_run "$GW" wg show "$WG_GW" endpoints | awk -v k="$CL_PUB" '$1 == k { print $2 }')
grep -q "\"endpoint\": \"$dev_ep\"" "$TEST_TMP/installed.json" ||
	fail "installed's endpoint is not the device's ($dev_ep)"

# ---- sessions
ctl sessions >"$TEST_TMP/sessions" || fail "sessions"
cat "$TEST_TMP/sessions"
[ "$(wc -l <"$TEST_TMP/sessions")" = 2 ] || fail "sessions: not a header and one row"
tail -n 1 "$TEST_TMP/sessions" | awk -v k="$CL_PUB" '{ exit !($2 == "198.18.0.2" && $3 == k && $4 == "text") }' ||
	fail "sessions row: remote, key, mode"
"$WSSCTL" -c "$CONF" --json sessions >"$TEST_TMP/sessions.json" || fail "--json sessions"
json "$TEST_TMP/sessions.json" "
assert len(j) == 1, j
s = j[0]
assert s['remote'] == '198.18.0.2' and s['public_key'] == '$CL_PUB' and s['mode'] == 'text', s
assert s['records_in'] >= 3 and s['records_out'] >= 3 and s['bytes_in'] > 0, s"
pass "sessions --json: remote, key, counters"

# ---- stats: the registry's figures, as /metrics has them
ctl stats >"$TEST_TMP/stats" || fail "stats"
cat "$TEST_TMP/stats"
grep -q '^peers installed now  *1$' "$TEST_TMP/stats" || fail "stats: peers installed now"
grep -q '^sessions open  *1$' "$TEST_TMP/stats" || fail "stats: sessions open"
ctl stats --json >"$TEST_TMP/stats.json" || fail "stats --json"
records_in=$(ns_metric "$GW" "$ADMIN" 'wssd_records_total{dir="in"}')
initiations=$(ns_metric "$GW" "$ADMIN" 'wssd_initiations_total{path="ws"}')
json "$TEST_TMP/stats.json" "
assert j['installs'] == 1 and j['peers_installed'] == 1 and j['sessions'] == 1, j
assert j['initiations'] == $initiations and j['initiations'] >= 1, j
assert $records_in - 10 <= j['records_in'] <= $records_in, j
assert j['uptime'] >= 0 and j['version'], j"
pass "stats --json agrees with /metrics"

# ---- evict
expect 1 "$HAND_PUB was not installed by wssd (configured by hand)" ctl evict "$HAND_PUB"
ns_run "$GW" wg show "$WG_GW" peers | grep -qx "$HAND_PUB" || fail "the hand peer went"
ctl evict "$CL_PUB" >"$TEST_TMP/evict" || fail "evict"
check "evict says so" test "$(cat "$TEST_TMP/evict")" = "evicted $CL_PUB"
ns_run "$GW" wg show "$WG_GW" peers | grep -qx "$CL_PUB" && fail "the device still holds $CL_PUB"
check "installed is empty" test "$(ctl installed --json)" = "[]"
check "counted as an operator eviction" \
	test "$(ns_metric "$GW" "$ADMIN" 'wssd_evictions_total{reason="operator"}')" = 1
expect 1 "$CL_PUB is not installed" ctl evict "$CL_PUB"
expect 1 'bad key "AAAA"' ctl evict AAAA

# ---- the socket's bounds
python3 - "$SOCK" <<'PY' || fail "socket bounds"
import socket, sys, time

def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(15)
    s.connect(sys.argv[1])
    return s

def read_all(s):
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            return out
        out += d

# a line over 1 KiB: closed, nothing answered
s = conn()
s.sendall(b"stats" + b" " * 1019 + b"\n")
assert read_all(s) == b"", "a 1025-byte line was answered"
# the longest line allowed is answered, and so is one sent a byte at a time
s = conn()
s.sendall(b"stats" + b" " * 1018 + b"\n")
assert read_all(s).startswith(b"ok\n"), "a 1024-byte line was not answered"
s = conn()
for b in b"stats json\n":
    s.sendall(bytes([b]))
    time.sleep(0.01)
assert read_all(s).startswith(b"ok\n{"), "a line in pieces was not answered"
# nothing sent: closed after a few seconds
s = conn()
t0 = time.monotonic()
assert read_all(s) == b""
waited = time.monotonic() - t0
assert 3 <= waited <= 10, waited
print("ok - a silent client is closed after %.1f s" % waited)
# clients that go before the engine answers
for i in range(50):
    s = conn()
    s.sendall(b"installed json\n")
    s.close()
s = conn()
s.sendall(b"bogus\n")
a = read_all(s)
assert a.startswith(b"error unknown command"), a
PY
pass "a line over 1 KiB closes; a silent client is closed; clients gone before their answer"
ctl stats >/dev/null || fail "wssd answers after all that"
stop_wssd
check "wssd exited cleanly" grep -q 'event=stopped' "$TEST_TMP/wssd.log"

# ---- jit.enabled = off
start_wssd jit.enabled=off
expect 1 "the JIT pipeline is off (jit.enabled = off)" ctl installed
expect 1 "the JIT pipeline is off (jit.enabled = off)" ctl evict "$CL_PUB"
expect 1 "jit.enabled is off" ctl peer new 198.19.0.3/32
check "sessions answers" ctl sessions
check "stats answers without the JIT's rows" sh -c "! \"$WSSCTL\" -c \"$CONF\" stats | grep -q installed"
stop_wssd

# ---- the daemon down again: peer new reads the key file wssd keeps
cp "$TEST_TMP/gw.key" "$TEST_TMP/state/$WG_GW.key"
wssd_conf "$CONF" gateway.interface="$WG_GW" admin.socket="$SOCK" gateway.address=198.19.0.1/24
ctl peer new 198.19.0.3/32 --url wss://gw.example/ >"$TEST_TMP/client2.conf" ||
	fail "peer new with the daemon down"
grep -qx "PublicKey = $GW_PUB" "$TEST_TMP/client2.conf" || fail "the key file's public key"
grep -q '^#   wssc --insecure --listen 127.0.0.1:51821 wss://gw.example/ &$' "$TEST_TMP/client2.conf" ||
	fail "default --listen: $(cat "$TEST_TMP/client2.conf")"
expect 0 "warning: 10.1.0.2/32 is outside gateway.address" ctl peer new 10.1.0.2/32
