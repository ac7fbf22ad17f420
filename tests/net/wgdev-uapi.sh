#!/bin/sh
# The uapi backend against real wireguard-go devices: read the device, install
# a peer (endpoint, keepalive, PSK, allowed IPs), see a real handshake and
# byte counters once a second wireguard-go in another namespace talks to it,
# update, remove; then 1,000 peers installed, listed and removed.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests ip wg wireguard-go ping
umask 077

TOOL="$top_builddir/tests/tools/wgdev-tool"
GW="wgdgw$TEST_ID"
CL="wgdcl$TEST_ID"
GWIF="wgg$TEST_ID"
CLIF="wgc$TEST_ID"
gw() { ns_run "$GW" "$TOOL" -b uapi "$GWIF" "$@"; }

ns_create "$GW"
ns_create "$CL"
ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2
wg_go_start "$GW" "$GWIF"
wg_go_start "$CL" "$CLIF"
wg genkey >"$TEST_TMP/gw.key"
wg genkey >"$TEST_TMP/cl.key"
wg genkey >"$TEST_TMP/psk"
GWPUB=$(wg pubkey <"$TEST_TMP/gw.key")
CLPUB=$(wg pubkey <"$TEST_TMP/cl.key")
wg_setup "$GW" "$GWIF" "$TEST_TMP/gw.key" 51820 198.19.77.1/24
wg_setup "$CL" "$CLIF" "$TEST_TMP/cl.key" 51821 198.19.77.2/24

out=$(gw get) || fail "get: $out"
echo "$out"
check "get: the public key derived from the device's private key" \
	test "$out" = "backend=uapi has_private_key=1 public_key=$GWPUB listen_port=51820"

gw set-peer "$CLPUB" endpoint=198.18.0.2:51821 keepalive=25 psk="$TEST_TMP/psk" \
	198.19.77.2/32 fd00:5353::2/128 || fail "set-peer"
out=$(gw list) || fail "list"
echo "$out"
# (the counters may move already: an endpoint with a keepalive makes
# wireguard-go send an initiation at once, PROTOCOL.md §5)
check "list: the installed peer with its endpoint, keepalive, PSK and allowed IPs" \
	sh -c 'echo "$1" | grep -qx "peer=$2 endpoint=198.18.0.2:51821 keepalive=25 psk=1 handshake=0 rx=[0-9]* tx=[0-9]* allowed=198.19.77.2/32,fd00:5353::2/128"' \
	_ "$out" "$CLPUB"
check "wg agrees on the PSK" test "$(ns_run "$GW" wg show "$GWIF" preshared-keys)" = \
	"$CLPUB	$(cat "$TEST_TMP/psk")"

# The client knows the gateway; traffic makes a handshake.
ns_run "$CL" wg set "$CLIF" peer "$GWPUB" preshared-key "$TEST_TMP/psk" \
	endpoint 198.18.0.1:51820 allowed-ips 198.19.77.1/32 || fail "client wg set"
wait_for 20 ns_run "$CL" ping -c 1 -W 1 198.19.77.1 || fail "no traffic through the tunnel"
out=$(gw list) || fail "list"
echo "$out"
hs=$(echo "$out" | sed -n 's/.* handshake=\([0-9]*\) .*/\1/p')
rx=$(echo "$out" | sed -n 's/.* rx=\([0-9]*\) .*/\1/p')
tx=$(echo "$out" | sed -n 's/.* tx=\([0-9]*\) .*/\1/p')
check "a real last handshake" test "$hs" -gt 0
check "rx and tx counted" test "$rx" -gt 0 -a "$tx" -gt 0
check "the handshake is wg's" test "$hs" = \
	"$(ns_run "$GW" wg show "$GWIF" latest-handshakes | cut -f2)"
check "handshake time is a recent time" test "$hs" -le "$(date +%s)" -a "$hs" -gt $(( $(date +%s) - 300 ))

# Update: new endpoint, keepalive off, allowed IPs replaced; the PSK stays.
gw set-peer "$CLPUB" endpoint=198.18.0.2:51822 keepalive=0 198.19.77.2/32 198.19.78.0/24 ||
	fail "update"
out=$(gw list)
echo "$out"
check "update: endpoint, keepalive, allowed IPs replaced, PSK kept" \
	sh -c 'echo "$1" | grep -q "^peer=$2 endpoint=198.18.0.2:51822 keepalive=0 psk=1 .* allowed=198.19.77.2/32,198.19.78.0/24$"' \
	_ "$out" "$CLPUB"
gw set-peer "$CLPUB" 198.19.77.2/32 || fail "update allowed IPs only"
check "update without endpoint or keepalive leaves them" \
	sh -c 'echo "$1" | grep -q "^peer=$2 endpoint=198.18.0.2:51822 keepalive=0 psk=1 .* allowed=198.19.77.2/32$"' \
	_ "$(gw list)" "$CLPUB"
check "wg agrees on the allowed IPs" test "$(ns_run "$GW" wg show "$GWIF" allowed-ips)" = \
	"$CLPUB	198.19.77.2/32"

# An IPv6 endpoint, as wireguard-go takes and gives it.
V6PUB=$(wg genkey | wg pubkey)
gw set-peer "$V6PUB" endpoint=[fd00:5353::9]:51829 keepalive=0 198.19.79.0/24 || fail "set v6 peer"
check "IPv6 endpoint listed" sh -c 'echo "$1" | grep -q "^peer=$2 endpoint=\[fd00:5353::9\]:51829 keepalive=0 psk=0 "' \
	_ "$(gw list)" "$V6PUB"
check "wg agrees on it" sh -c 'ip netns exec "$1" wg show "$2" endpoints | grep -qx "$3	\[fd00:5353::9\]:51829"' \
	_ "$GW" "$GWIF" "$V6PUB"
gw rm-peer "$V6PUB" || fail "rm v6 peer"

gw rm-peer "$CLPUB" || fail "rm-peer"
check "remove: no peers left" test -z "$(gw list)"
check "wg sees none" test -z "$(ns_run "$GW" wg show "$GWIF" peers)"
gw rm-peer "$CLPUB" || fail "removing an absent peer is not an error"

# 1,000 peers, one request each, listed in one get.
out=$(gw bulk-add 1000) || fail "bulk-add: $out"
echo "$out"
check "1000 peers listed" test "$(gw list | wc -l)" = 1000
check "wg counts 1000 peers" test "$(ns_run "$GW" wg show "$GWIF" peers | wc -l)" = 1000
check "each with its own allowed IP" test "$(gw list | sed 's/.* allowed=//' | sort -u | wc -l)" = 1000
check "the last one's allowed IP" sh -c 'echo "$1" | grep -q "keepalive=25 .* allowed=198.19.131.232/32$"' \
	_ "$(gw list)"
out=$(gw bulk-rm) || fail "bulk-rm: $out"
echo "$out"
check "1000 listed and removed" sh -c 'echo "$1" | grep -q "^listed=1000 .* removed=1000 "' _ "$out"
check "none left" test -z "$(gw list)"
