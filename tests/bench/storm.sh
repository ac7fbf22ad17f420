#!/bin/sh
# The connection storm, as root: $N distinct new clients connect to wssd
# within one second, each sending one handshake initiation over its own
# WebSocket session; the time from a client's initiation to the gateway
# WireGuard's answer (which needs the peer installed) is measured per
# client. Three runs in the same namespaces: keys only in the local
# registry, keys only on an HTTP control plane (which must see exactly $N
# requests), and the first run's keys again, now installed (the baseline:
# what relaying and WireGuard itself cost). wssd's own figure, the time a
# job takes from the unwrapped initiation to the installed peer, is printed
# beside each.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"
N=${N:-200}

need_root
GW="sbgw$TEST_ID"
CL="sbcl$TEST_ID"
WG_GW="wg${TEST_ID}g"
ADMIN=http://127.0.0.1:9180/metrics
URL=wss://198.18.0.1:8443/

ns_create "$GW"
ns_create "$CL"
ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2
wg_keypair gw
wg_go_start "$GW" "$WG_GW"
wg_setup "$GW" "$WG_GW" "$TEST_TMP/gw.key" 51820 198.19.0.1/24
GW_PUB=$(cat "$TEST_TMP/gw.pub")

# keys NAME: N private keys in NAME.keys, their public halves in NAME.pubs.
keys() {
	: >"$TEST_TMP/$1.keys"
	: >"$TEST_TMP/$1.pubs"
	i=0
	while [ "$i" -lt "$N" ]; do
		k=$(wg genkey)
		echo "$k" >>"$TEST_TMP/$1.keys"
		echo "$k" | wg pubkey >>"$TEST_TMP/$1.pubs"
		i=$((i + 1))
	done
}
keys reg
keys http
mkdir -p "$TEST_TMP/state"
i=0
while read -r pub; do
	i=$((i + 1))
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.%d.%d/32\n\n' "$pub" $((i / 250 + 1)) \
		$((i % 250 + 1))
done <"$TEST_TMP/reg.pubs" >"$TEST_TMP/reg.conf"
"$WSSCTL" --db "$TEST_TMP/state/wssd.db" peer import "$TEST_TMP/reg.conf" >/dev/null ||
	fail "wssctl peer import"
echo '{"default": {"behaviour": "ok"}}' >"$TEST_TMP/cp.json"
cp_start "$GW" "$TEST_TMP/cp.json"

# storm LABEL KEYS [SECTION.KEY=VALUE ...]: one wssd, one storm.
storm() {
	label=$1 keys=$2
	shift 2
	wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$WG_GW" gateway.backend=uapi \
		websocket.listen=198.18.0.1:8443 websocket.max_sessions_per_ip=100000 "$@"
	: >"$TEST_TMP/wssd.log"
	ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
	pid=$SPAWN_PID
	wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not start"
	out=$(ns_run "$CL" "$JITPROBE" --timeout 10 "$URL" "$GW_PUB" storm "$keys") ||
		fail "$label: jitprobe"
	installs=$(int "$(ns_metric "$GW" "$ADMIN" wssd_installs_total)")
	kill "$pid"
	wait "$pid"
	result=$(echo "$out" | grep '^answered=')
	# wssd's own figure: a job's time from its initiation's unwrap to the peer installed.
	jobs=$(sed -n 's/.*event=peer_installed.*latency_ms=\([0-9.]*\).*/\1/p' "$TEST_TMP/wssd.log" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "job_p50_ms=%s job_p99_ms=%s",
			v[int((NR + 1) / 2)], v[int((NR * 99 + 99) / 100)] }')
	printf '  %-30s %s installs=%s %s\n' "$label" "$result" "$installs" "$jobs"
}

echo "storm: $N new clients at once, initiation to the gateway's answer"
storm "local registry" "$TEST_TMP/reg.keys"
cp0=$(cp_count)
storm "HTTP control plane" "$TEST_TMP/http.keys" jit.control_plane="$CP_URL"
echo "  control-plane requests: $(( $(cp_count) - cp0 )) (want $N)"
storm "already installed (baseline)" "$TEST_TMP/reg.keys"
