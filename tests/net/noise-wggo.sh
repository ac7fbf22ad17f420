#!/bin/sh
# Real wireguard-go initiations: a client in one namespace hands its
# initiations to a UDP listener (tests/tools/noise-capture) that stands in
# for the gateway; wssctl decode-initiation must recover the client's public
# key and plausible, increasing timestamps. KEEP_CAPTURE=DIR keeps the keys
# and captures (how the unit test's vectors were made).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests ip wg wireguard-go xxd

CAPTURE="$top_builddir/tests/tools/noise-capture"
[ -x "$CAPTURE" ] || fail "$CAPTURE is not built"
[ -x "$WSSCTL" ] || fail "$WSSCTL is not built"

client="nc$TEST_ID"
gw="ng$TEST_ID"
wgif="wn$TEST_ID"
ns_create "$client"
ns_create "$gw"
ns_link "$client" 198.18.0.1 "$gw" 198.18.0.2

umask 077
wg genkey >"$TEST_TMP/gw.key"
wg pubkey <"$TEST_TMP/gw.key" >"$TEST_TMP/gw.pub"
wg genkey >"$TEST_TMP/client.key"
wg pubkey <"$TEST_TMP/client.key" >"$TEST_TMP/client.pub"

mkdir "$TEST_TMP/cap"
ns_spawn "$gw" "$TEST_TMP/capture.log" "$TEST_TMP/capture.log" \
	"$CAPTURE" 198.18.0.2 51820 "$TEST_TMP/cap" 2
at_exit "kill $SPAWN_PID"
wait_for 10 test -e "$TEST_TMP/cap/ready" || fail "noise-capture did not start"

wg_go_start "$client" "$wgif"
wg_setup "$client" "$wgif" "$TEST_TMP/client.key" 51821 198.19.0.1/24
ns_run "$client" wg set "$wgif" peer "$(cat "$TEST_TMP/gw.pub")" \
	endpoint 198.18.0.2:51820 allowed-ips 198.19.0.2/32 || fail "wg set peer"

# One packet into the tunnel: wireguard-go initiates, then retries every
# 5 seconds (plus jitter) because nothing answers.
ns_run "$client" ping -c 1 -W 1 198.19.0.2 >/dev/null 2>&1
wait_for 60 test -e "$TEST_TMP/cap/init-2.bin" || fail "fewer than 2 initiations captured"
pass "captured 2 initiations from wireguard-go"

for n in 1 2; do
	f="$TEST_TMP/cap/init-$n.bin"
	check "initiation $n is 148 bytes" test "$(wc -c <"$f")" = 148
	"$WSSCTL" decode-initiation --private-key "$TEST_TMP/gw.key" "$f" >"$TEST_TMP/out-$n" ||
		fail "decode-initiation $n: $(cat "$TEST_TMP/out-$n")"
	cat "$TEST_TMP/out-$n"
	check "initiation $n: initiator is the client's key" \
		grep -qx "initiator=$(cat "$TEST_TMP/client.pub")" "$TEST_TMP/out-$n"
	iso=$(sed -n 's/^timestamp=//p' "$TEST_TMP/out-$n")
	stamp=$(date -u -d "$(echo "$iso" | sed 's/T/ /; s/Z$//')" +%s) || fail "timestamp $iso"
	now=$(date -u +%s)
	check "initiation $n: timestamp $iso is within a minute of now" \
		test "$stamp" -le "$((now + 60))" -a "$stamp" -ge "$((now - 60))"
done

t1=$(sed -n 's/^tai64n=//p' "$TEST_TMP/out-1")
t2=$(sed -n 's/^tai64n=//p' "$TEST_TMP/out-2")
# Equal-length lower-case hex of big-endian labels: string order is time order.
check "second timestamp ($t2) is newer than the first ($t1)" \
	test "$(printf '%s\n%s\n' "$t1" "$t2" | sort | tail -n 1)" = "$t2" -a "$t1" != "$t2"

# The same capture as hex on stdin, as JSON.
xxd -p "$TEST_TMP/cap/init-1.bin" |
	"$WSSCTL" --json decode-initiation --private-key "$TEST_TMP/gw.key" >"$TEST_TMP/json" ||
	fail "hex on stdin: $(cat "$TEST_TMP/json")"
check "hex on stdin, --json" \
	grep -q "\"initiator\":\"$(cat "$TEST_TMP/client.pub")\"" "$TEST_TMP/json"

# The client's own key is not the gateway's: mac1 rejects it by name.
if "$WSSCTL" decode-initiation --private-key "$TEST_TMP/client.key" \
	"$TEST_TMP/cap/init-1.bin" >/dev/null 2>"$TEST_TMP/err"; then
	fail "decoded with the wrong key"
fi
check "wrong key is rejected by mac1" grep -q "rejected (mac1)" "$TEST_TMP/err"

if [ -n "${KEEP_CAPTURE:-}" ]; then
	mkdir -p "$KEEP_CAPTURE"
	cp "$TEST_TMP"/gw.key "$TEST_TMP"/client.pub "$TEST_TMP"/cap/init-*.bin "$TEST_TMP"/out-* \
		"$KEEP_CAPTURE"/
fi
exit 0
