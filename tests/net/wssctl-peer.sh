#!/bin/sh
# wssctl peer on a temporary database: no daemon, no root.
. "$top_srcdir/tests/lib/common.sh"

[ -x "$WSSCTL" ] || skip "wssctl is not built"
DB="$TEST_TMP/wssd.db"
K1=AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=
K2=AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=
K3=AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=
K4_HEX=0404040404040404040404040404040404040404040404040404040404040404
K4=BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=
PSK=d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3c=

peer() { "$WSSCTL" --db "$DB" peer "$@"; }

# expect STATUS WORDS CMD...: CMD exits STATUS and says WORDS on stderr. For
# bad input (1) the error is one line.
expect() {
	want="$1" words="$2"
	shift 2
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	got=$?
	if [ "$got" != "$want" ]; then
		cat "$TEST_TMP/err"
		fail "$* exited $got, not $want"
	fi
	grep -qF -- "$words" "$TEST_TMP/err" || { cat "$TEST_TMP/err"; fail "$*: no \"$words\""; }
	if [ "$want" = 1 ] && [ "$(wc -l <"$TEST_TMP/err")" != 1 ]; then
		cat "$TEST_TMP/err"
		fail "$*: the error is not one line"
	fi
	pass "$* → $want"
}

# row KEY: the list line of KEY.
row() { peer list | grep -F -- "$1"; }

# add, replace
check "add" peer add "$K1" 10.0.0.1/32
row "$K1" | grep -q ' 10\.0\.0\.1/32$' || fail "list does not show $K1 with 10.0.0.1/32"
check "add replaces" peer add "$K1" 10.0.0.2/32,fd00::2/128 10.1.0.0/16 --keepalive 25
row "$K1" | grep -q ' 10\.0\.0\.2/32,fd00::2/128,10\.1\.0\.0/16$' ||
	fail "replaced peer has the wrong allowed IPs: $(row "$K1")"
row "$K1" | awk '{ exit !($2 == 25 && $3 == "no") }' || fail "keepalive/psk columns: $(row "$K1")"
echo "$PSK" >"$TEST_TMP/psk"
check "add with --psk-file" peer add "$K2" 10.0.0.3/32 --psk-file "$TEST_TMP/psk"
many=$(i=0; while [ $i -lt 200 ]; do printf '10.50.%d.0/24,' $i; i=$((i + 1)); done)
check "add 200 allowed IPs in one argument" peer add "$K3" "$many"
[ "$(row "$K3" | awk '{ print $NF }' | tr , '\n' | wc -l)" = 200 ] || fail "not 200 allowed IPs"
check "rm" peer rm "$K3"
row "$K2" | awk '{ exit !($2 == "-" && $3 == "yes") }' || fail "psk column: $(row "$K2")"
check "add a hex key" peer add "$K4_HEX" 192.168.0.0/24
row "$K4" >/dev/null || fail "the hex key is not listed in base64"
[ "$(peer list | wc -l)" = 4 ] || fail "list: not a header and 3 rows"

# --json, either place
"$WSSCTL" --db "$DB" --json peer list >"$TEST_TMP/list.json" || fail "list --json"
peer list --json | cmp -s - "$TEST_TMP/list.json" || fail "peer list --json differs from --json peer list"
grep -q "\"public_key\": \"$K2\"" "$TEST_TMP/list.json" || fail "json lacks $K2"
grep -q '"has_preshared_key": true' "$TEST_TMP/list.json" || fail "json lacks the psk flag"
if command -v python3 >/dev/null 2>&1; then
	python3 - "$TEST_TMP/list.json" "$K1" <<'PY' || fail "json content"
import json, sys
peers = {p["public_key"]: p for p in json.load(open(sys.argv[1]))}
p = peers[sys.argv[2]]
assert p["allowed_ips"] == ["10.0.0.2/32", "fd00::2/128", "10.1.0.0/16"], p
assert p["persistent_keepalive"] == 25 and p["has_preshared_key"] is False, p
assert len(peers) == 3
PY
	pass "json content"
fi
grep -q "$PSK" "$TEST_TMP/list.json" && fail "the preshared key is printed"

# rm
check "rm" peer rm "$K4"
row "$K4" >/dev/null && fail "$K4 still listed after rm"
expect 1 "not in the registry" peer rm "$K4"

# bad input: exit 1, one line
expect 1 'bad key "nonsense"' peer add nonsense 10.0.0.1/32
expect 1 "bad key" peer rm AQEB
expect 1 "bad key" peer add AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 10.0.0.1/32
expect 1 'bad allowed IP "10.0.0.300/32"' peer add "$K3" 10.0.0.300/32
expect 1 'bad allowed IP "10.0.0.1/8"' peer add "$K3" 10.0.0.1/8
expect 1 "bad keepalive" peer add "$K3" 10.0.0.1/32 --keepalive 70000
expect 1 "$TEST_TMP/missing" peer add "$K3" 10.0.0.1/32 --psk-file "$TEST_TMP/missing"
row "$K3" >/dev/null && fail "a refused add wrote $K3"

# usage: exit 2
expect 2 "usage" peer
expect 2 'unknown subcommand "frob"' peer frob
expect 2 "at least one allowed IP" peer add "$K3"
expect 2 "unknown option --nope" peer add "$K3" 10.0.0.1/32 --nope
expect 2 "exactly one key" peer rm
expect 2 "usage" peer list extra

# import
cat >"$TEST_TMP/wg0.conf" <<CONF
[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.9.0.1/24
ListenPort = 51820

# laptop
[Peer]
PublicKey = $K3
AllowedIPs = 10.9.0.2/32, fd09::2/128  # two
AllowedIPs = 10.99.0.0/16
PresharedKey = $PSK
PersistentKeepalive = 21
Endpoint = 192.0.2.1:51820

[peer]
publickey = $K4
allowedips = 10.9.0.4/32
persistentkeepalive = off
CONF
peer import "$TEST_TMP/wg0.conf" >"$TEST_TMP/out" || fail "import"
grep -q "imported 2 peers" "$TEST_TMP/out" || fail "import summary: $(cat "$TEST_TMP/out")"
row "$K3" | grep -q ' 10\.9\.0\.2/32,fd09::2/128,10\.99\.0\.0/16$' || fail "imported IPs: $(row "$K3")"
row "$K3" | awk '{ exit !($2 == 21 && $3 == "yes") }' || fail "imported keepalive/psk: $(row "$K3")"
row "$K4" | awk '{ exit !($2 == 0 && $3 == "no") }' || fail "imported keepalive off: $(row "$K4")"
pass "import"

before=$(peer list | wc -l)
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.8.0.1/32\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.8.0.0/33\n' \
	"$K1" "$K2" >"$TEST_TMP/bad-cidr.conf"
expect 1 "bad-cidr.conf:7: bad AllowedIPs entry \"10.8.0.0/33\"" peer import "$TEST_TMP/bad-cidr.conf"
printf '[Interface]\nListenPort = 1\n\n[Peer]\nAllowedIPs = 10.8.0.1/32\n' >"$TEST_TMP/no-key.conf"
expect 1 "no-key.conf:4: [Peer] without a PublicKey" peer import "$TEST_TMP/no-key.conf"
printf '[Peer]\nPublicKey = not-a-key\n' >"$TEST_TMP/bad-key.conf"
expect 1 "bad-key.conf:2: bad PublicKey" peer import "$TEST_TMP/bad-key.conf"
printf '[Peer]\nPublicKey\n' >"$TEST_TMP/no-eq.conf"
expect 1 "no-eq.conf:2: expected" peer import "$TEST_TMP/no-eq.conf"
printf '[Bogus]\n' >"$TEST_TMP/section.conf"
expect 1 "section.conf:1: unknown section" peer import "$TEST_TMP/section.conf"
expect 1 "$TEST_TMP/nonexistent.conf" peer import "$TEST_TMP/nonexistent.conf"
[ "$(peer list | wc -l)" = "$before" ] || fail "a refused import changed the registry"
row "$K1" | grep -q ' 10\.0\.0\.2/32' || fail "a refused import replaced $K1"

# a file that is not a database: a clear error, not a crash
echo "not a database at all" >"$TEST_TMP/garbage.db"
expect 1 "not a database" "$WSSCTL" --db "$TEST_TMP/garbage.db" peer list
expect 1 "No such file or directory" "$WSSCTL" --db "$TEST_TMP/none/x.db" peer list

exit 0
