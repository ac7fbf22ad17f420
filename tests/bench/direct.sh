#!/bin/sh
# Direct-UDP clients, as root: $N clients whose keys are only in the local
# registry connect once each, over UDP from $N addresses of their own,
# $RATE a second (RATE=0: all at once); the time from a client's first initiation to connected is
# measured per client (tests/tools/udpprobe: connected = it answered the
# gateway's initiation and decrypted the keepalive that confirms the session,
# or it consumed the gateway's response to one of its initiations). Two runs
# in the same namespaces, each on an empty device: role inversion (the
# default), and jit.role_inversion = off, where the kernel-side WireGuard
# answers only the client's retry 5 s later. The ratio of the two is printed.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"
N=${N:-1000}
RATE=${RATE:-200}

need_root
GW="dbgw$TEST_ID"
CL="dbcl$TEST_ID"
WG_GW="wg${TEST_ID}g"
ADMIN=http://127.0.0.1:9180/metrics
DB="$TEST_TMP/state/wssd.db"

ns_create "$GW"
ns_create "$CL"
ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2
wg_keypair gw
wg_go_start "$GW" "$WG_GW"
wg_setup "$GW" "$WG_GW" "$TEST_TMP/gw.key" 51820 198.19.0.1/16
GW_PUB=$(cat "$TEST_TMP/gw.pub")

# Each client its own source address, 198.18.4.1 onwards (a /22 routed to
# the client namespace), so no two share a per-source bucket.
: >"$TEST_TMP/sources"
: >"$TEST_TMP/addrs"
i=0
while [ "$i" -lt "$N" ]; do
	a="198.18.$((4 + (i + 1) / 256)).$(((i + 1) % 256))"
	echo "$a" >>"$TEST_TMP/sources"
	echo "addr add $a/32 dev $NS_LINK_B" >>"$TEST_TMP/addrs"
	i=$((i + 1))
done
ip -n "$CL" -batch "$TEST_TMP/addrs" || fail "client addresses"
ip -n "$GW" route add 198.18.4.0/22 via 198.18.0.2 || fail "route to the clients"

# keys NAME: N private keys in NAME.keys, in the registry (each its tunnel address).
mkdir -p "$TEST_TMP/state"
keys() {
	: >"$TEST_TMP/$1.keys"
	: >"$TEST_TMP/$1.conf"
	i=0
	while [ "$i" -lt "$N" ]; do
		k=$(wg genkey)
		echo "$k" >>"$TEST_TMP/$1.keys"
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.%d.%d/32\n\n' \
			"$(echo "$k" | wg pubkey)" $(($2 + i / 250)) $((i % 250 + 2)) >>"$TEST_TMP/$1.conf"
		i=$((i + 1))
	done
	"$WSSCTL" --db "$DB" peer import "$TEST_TMP/$1.conf" >/dev/null || fail "wssctl peer import"
}
keys on 10
keys off 50

# run LABEL KEYS [SECTION.KEY=VALUE ...]: an empty device, one wssd, the clients.
run() {
	label=$1 keys=$2
	shift 2
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$(cat "$TEST_TMP/gw.key")" \
		>"$TEST_TMP/empty.conf"
	ns_run "$GW" wg syncconf "$WG_GW" "$TEST_TMP/empty.conf" || fail "emptying the device"
	jit_conf capture.enabled=on "$@"
	: >"$TEST_TMP/wssd.log"
	jit_wssd_start
	pid=$WSSD_PID
	out=$(ns_run "$CL" "$UDPPROBE" --sources "$TEST_TMP/sources" --rate "$RATE" --timeout 20 \
		198.18.0.1:51820 "$GW_PUB" connect "$keys") || fail "$label: udpprobe"
	installs=$(int "$(ns_metric "$GW" "$ADMIN" wssd_installs_total)")
	busy=$(int "$(ns_metric "$GW" "$ADMIN" 'wssd_jit_refused_total{reason="busy"}')")
	kill "$pid"
	wait "$pid"
	jobs=$(sed -n 's/.*event=peer_installed.*latency_ms=\([0-9.]*\).*/\1/p' "$TEST_TMP/wssd.log" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "job_p50_ms=%s job_p99_ms=%s",
			v[int((NR + 1) / 2)], v[int((NR * 99 + 99) / 100)] }')
	printf '  %-28s %s installs=%s busy=%s %s\n' "$label" "$out" "$installs" "$busy" "$jobs"
	echo "$out" >"$TEST_TMP/$label.out"
}

echo "direct UDP: $N new clients, $RATE a second, each from its own address: first initiation to connected"
run inversion "$TEST_TMP/on.keys"
run no_inversion "$TEST_TMP/off.keys" jit.role_inversion=off
awk '
function field(line, name,   i, n, kv) {
	n = split(line, f, " ")
	for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (kv[1] == name) return kv[2] }
	return ""
}
FNR == 1 && NR == 1 { on = $0 }
FNR == 1 && NR != 1 { off = $0 }
END {
	p50 = field(on, "p50_ms"); p99 = field(on, "p99_ms")
	q50 = field(off, "p50_ms"); q99 = field(off, "p99_ms")
	printf "  connected: %s of %s with role inversion, %s of %s without\n",
		field(on, "connected"), field(on, "clients"), field(off, "connected"), field(off, "clients")
	if (p50 > 0 && p99 > 0)
		printf "  ratio without/with role inversion: p50 %.0fx (%s ms / %s ms), p99 %.0fx (%s ms / %s ms)\n",
			q50 / p50, q50, p50, q99 / p99, q99, p99
}' "$TEST_TMP/inversion.out" "$TEST_TMP/no_inversion.out"
