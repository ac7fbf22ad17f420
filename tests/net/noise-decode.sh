#!/bin/sh
# wssctl decode-initiation on a captured wireguard-go initiation (the first
# vector of tests/unit/test_noise.c): input forms, output forms, and the
# errors an operator gets. Needs no root.
. "$top_srcdir/tests/lib/common.sh"

[ -x "$WSSCTL" ] || fail "$WSSCTL is not built"
command -v xxd >/dev/null 2>&1 || skip "xxd is not installed"

gw_key=+AE9qlrZtj8mX9f7Ws82XuIG6hYCqchSre6li7fHvls=
client=ZTqBG8+byoDi8FNCSBpR9F/an75U6MjEeAXy/Z53+So=
hex="01000000d4a9331e09990ddbda762bc1eb9da3589a5c4dfe2f7a78439dbca2ed7699d39e8f
39756263ad43664c122b738af4c6ed117daf4eb3df9d437a8a776d48373642f1db500c99d7
4f1859abedb51791d73f1bdfa6e3948be1fce3d4a0094bf383e48182570d1f7db9f1ceb1e5
1c2af54221a3bfab53f2b56ae2f766a7df989edb9e00000000000000000000000000000000"

cd "$TEST_TMP" || fail "cd"
umask 077
echo "$gw_key" >gw.key
echo "$hex" >init.hex
echo "$hex" | tr -d '\n' | xxd -r -p >init.bin
check "the raw capture is 148 bytes" test "$(wc -c <init.bin)" = 148

decode() {
	"$WSSCTL" "$@" >out 2>err
	echo $? >status
}

want_ok() {
	desc="$1"
	shift
	decode "$@"
	check "$desc: exit 0" test "$(cat status)" = 0
	check "$desc: initiator" grep -qx "initiator=$client" out
	check "$desc: timestamp" grep -qx "timestamp=2026-11-25T00:33:16.285212672Z" out
	check "$desc: tai64n" grep -qx "tai64n=400000006b062cd611000000" out
}

want_err() {
	desc="$1" code="$2" pattern="$3"
	shift 3
	decode "$@"
	check "$desc: exit $code" test "$(cat status)" = "$code"
	check "$desc: one line" test "$(wc -l <err)" = 1
	check "$desc: says \"$pattern\"" grep -q -- "$pattern" err
	check "$desc: nothing on stdout" test ! -s out
}

want_ok "raw file" decode-initiation --private-key gw.key init.bin
want_ok "hex file" decode-initiation --private-key gw.key init.hex
want_ok "raw on stdin" decode-initiation --private-key gw.key <init.bin
want_ok "hex on stdin, spaces" decode-initiation --private-key gw.key - <<EOT
$(echo "$hex" | tr -d '\n' | sed 's/../& /g')
EOT

decode --json decode-initiation --private-key gw.key init.bin
check "--json: exit 0" test "$(cat status)" = 0
check "--json: one object" grep -qx \
	"{\"initiator\":\"$client\",\"sender_index\":506702292,\"timestamp\":\"2026-11-25T00:33:16.285212672Z\",\"tai64n\":\"400000006b062cd611000000\"}" out

head -c 147 init.bin >short.bin
want_err "147 bytes" 1 "rejected (length): 147 bytes" decode-initiation --private-key gw.key short.bin
{ cat init.bin; printf x; } >long.bin
want_err "149 bytes" 1 "rejected (length): 149 bytes" decode-initiation --private-key gw.key long.bin
echo "$hex" | sed 's/^01/02/' >type2.hex
want_err "type 2" 1 "rejected (type)" decode-initiation --private-key gw.key type2.hex
echo "$hex" | sed 's/^01000000d4/01000000d5/' >flip.hex
want_err "flipped bit" 1 "rejected (mac1)" decode-initiation --private-key gw.key flip.hex
echo "${hex}0" >odd.hex
want_err "odd hex" 1 "not hex" decode-initiation --private-key gw.key odd.hex
echo "hello, world" >text
want_err "text" 1 "not hex" decode-initiation --private-key gw.key text
echo "not a key" >bad.key
want_err "bad key file" 1 "bad.key: not a base64 WireGuard private key" \
	decode-initiation --private-key bad.key init.bin
want_err "missing key file" 1 "nokey: No such file" decode-initiation --private-key nokey init.bin
want_err "missing capture" 1 "nofile: No such file" decode-initiation --private-key gw.key nofile
want_err "no --private-key" 2 "usage" decode-initiation init.bin
want_err "two inputs" 2 "usage" decode-initiation --private-key gw.key init.bin init.hex
want_err "unknown option" 2 "usage" decode-initiation --private-key gw.key --bogus init.bin
exit 0
