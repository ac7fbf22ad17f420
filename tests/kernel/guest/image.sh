#!/bin/sh
# The VM's image is complete: the kernel has WireGuard, gateway.create makes
# a kernel link (not wireguard-go) with a kept key, wssd starts on its libuv
# loop (the libwebsockets plugin is in the image) and serves its metrics,
# wssctl edits a registry.
. "$top_srcdir/tests/lib/common.sh"
need_root
TOOL="$top_builddir/tests/tools/wgdev-tool"
ifc="wgimg$TEST_ID"

check "wireguard module loaded" grep -q '^wireguard ' /proc/modules
out=$("$TOOL" "$ifc" ensure "$TEST_TMP/state" 51820 2>"$TEST_TMP/ensure.log") ||
	fail "ensure: $(cat "$TEST_TMP/ensure.log")"
at_exit "ip link del $ifc"
echo "# $out"
check "gateway.create made a kernel link" grep -q "event=wgdev_created interface=$ifc by=kernel" \
	"$TEST_TMP/ensure.log"
check "reached over netlink, with the kept key and the port" test "$out" = \
	"backend=netlink has_private_key=1 public_key=$(wg pubkey <"$TEST_TMP/state/$ifc.key") listen_port=51820"
check "wg sees the same device" test "$(wg show "$ifc" listen-port)" = 51820

wssd_conf "$TEST_TMP/wssd.conf" websocket.listen=127.0.0.1:8443 gateway.interface="$ifc"
"$WSSD" -c "$TEST_TMP/wssd.conf" 2>"$TEST_TMP/wssd.log" &
pid=$!
at_exit "kill $pid"
check "wssd serves /metrics" wait_for 30 wget -q -O "$TEST_TMP/metrics" http://127.0.0.1:9180/metrics
check "wssd runs its sessions gauge" grep -q '^wssd_sessions' "$TEST_TMP/metrics"
kill -TERM "$pid"
wait "$pid"
check "wssd exits 0 on SIGTERM" test "$?" = 0

key=$(wg genkey | wg pubkey)
check "wssctl adds a registry peer" "$WSSCTL" --db "$TEST_TMP/reg.db" peer add "$key" 198.18.0.2/32
check "wssctl lists it" sh -c "'$WSSCTL' --db '$TEST_TMP/reg.db' peer list | grep -q '$key'"
