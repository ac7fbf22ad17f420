#!/bin/sh
# ws-config: wssd --version and --check-config on good and bad files; errors
# name the file, the line and the key. No root needed.
. "$top_srcdir/tests/lib/common.sh"
[ -x "$WSSD" ] || skip "wssd is not built"

out="$TEST_TMP/out"

check "--version prints the version" sh -c "'$WSSD' --version | grep -Eq '^wssd [0-9]+\.[0-9]+'"

mkdir -p "$TEST_TMP/state"
cat >"$TEST_TMP/good.conf" <<CONF
[gateway]
state_dir = $TEST_TMP/state
wg_port = 51999

[websocket]
listen = 127.0.0.1:8443, [::1]:8443
plain_listen = 127.0.0.1:8080
max_sessions = 100
max_sessions_per_ip = 10
idle_timeout = 30
send_queue = 64

[admin]
listen = 127.0.0.1:9180
CONF
check "good file passes" "$WSSD" --check-config -c "$TEST_TMP/good.conf"
check "check-config generates nothing" test ! -e "$TEST_TMP/state/tls-cert.pem"

# bad_file NAME LINE KEY: writes good.conf with one line replaced and expects
# an error naming bad.conf:LINE and KEY.
bad_file() {
	name=$1 lineno=$2 key=$3 text=$4
	awk -v n="$lineno" -v t="$text" 'NR == n { print t; next } { print }' \
		"$TEST_TMP/good.conf" >"$TEST_TMP/bad.conf"
	if "$WSSD" --check-config -c "$TEST_TMP/bad.conf" >"$out" 2>&1; then
		fail "$name: accepted"
	fi
	grep -q "bad.conf:$lineno" "$out" || { cat "$out"; fail "$name: no file:line in the error"; }
	grep -q "$key" "$out" || { cat "$out"; fail "$name: key not named"; }
	pass "$name: rejected, naming bad.conf:$lineno and $key"
}

bad_file "unknown key" 7 "websocket.listn" "listn = 127.0.0.1:1"
bad_file "bad address" 7 "websocket.listen" "listen = localhost:443"
bad_file "number out of range" 11 "websocket.idle_timeout" "idle_timeout = 0"
bad_file "not a number" 9 "websocket.max_sessions" "max_sessions = many"
bad_file "bad port" 3 "gateway.wg_port" "wg_port = 70000"

check "a missing file given with -c is an error" sh -c "! '$WSSD' --check-config -c '$TEST_TMP/none.conf' 2>'$out'"
check "  and names it" grep -q "none.conf" "$out"

# Certificates: a key that does not match its certificate names the file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=a \
	-keyout "$TEST_TMP/a.key" -out "$TEST_TMP/a.pem" 2>/dev/null || fail "openssl req"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=b \
	-keyout "$TEST_TMP/b.key" -out "$TEST_TMP/b.pem" 2>/dev/null || fail "openssl req"
check "matching cert and key pass" "$WSSD" --check-config -c "$TEST_TMP/good.conf" \
	-s websocket.cert="$TEST_TMP/a.pem" -s websocket.key="$TEST_TMP/a.key"
check "mismatched key fails" sh -c "! '$WSSD' --check-config -c '$TEST_TMP/good.conf' \
	-s websocket.cert='$TEST_TMP/a.pem' -s websocket.key='$TEST_TMP/b.key' 2>'$out'"
check "  naming the key file" grep -q "b.key" "$out"
check "unreadable cert fails" sh -c "! '$WSSD' --check-config -c '$TEST_TMP/good.conf' \
	-s websocket.cert='$TEST_TMP/none.pem' -s websocket.key='$TEST_TMP/a.key' 2>'$out'"
check "  naming the file" grep -q "none.pem" "$out"
check "-s with a bad value fails naming the key" sh -c "! '$WSSD' --check-config \
	-c '$TEST_TMP/good.conf' -s websocket.max_sessions=-1 2>'$out' && grep -q websocket.max_sessions '$out'"
check "-s without '=' fails" sh -c "! '$WSSD' --check-config -c '$TEST_TMP/good.conf' -s websocket.max_sessions 2>/dev/null"
check "unknown option fails" sh -c "! '$WSSD' --bogus 2>/dev/null"

# Listeners that would take one address and port are an error naming both
# keys, from --check-config and at start (before: one listener silently
# shadowed, and an abort in lws at exit).
collides() {
	name=$1 want=$2
	shift 2
	if "$WSSD" --check-config -c "$TEST_TMP/good.conf" "$@" >"$out" 2>&1; then
		fail "$name: accepted"
	fi
	grep -qF -- "$want" "$out" || { cat "$out"; fail "$name: the error does not say \"$want\""; }
	pass "$name: refused, naming both keys"
}
collides "websocket.listen = admin.listen" \
	"admin.listen: 127.0.0.1:9180 takes the address and port of websocket.listen 127.0.0.1:9180" \
	-s websocket.listen=127.0.0.1:9180
collides "websocket.plain_listen = websocket.listen" \
	"websocket.plain_listen: 127.0.0.1:8443 takes the address and port of websocket.listen 127.0.0.1:8443" \
	-s websocket.plain_listen=127.0.0.1:8443
collides "the same address twice" \
	"websocket.listen: 127.0.0.1:8443 takes the address and port of websocket.listen 127.0.0.1:8443" \
	-s "websocket.listen=127.0.0.1:8443, 127.0.0.1:8443"
collides "[::] and 0.0.0.0" \
	"websocket.plain_listen: 0.0.0.0:8443 takes the address and port of websocket.listen [::]:8443" \
	-s "websocket.listen=[::]:8443" -s websocket.plain_listen=0.0.0.0:8443
collides "0.0.0.0 and one IPv4 address" \
	"admin.listen: 127.0.0.1:9180 takes the address and port of websocket.plain_listen 0.0.0.0:9180" \
	-s websocket.plain_listen=0.0.0.0:9180
collides "[::] and one IPv6 address" \
	"websocket.listen: [::1]:8443 takes the address and port of websocket.listen [::]:8443" \
	-s "websocket.listen=[::]:8443, [::1]:8443"
collides "the admin port on another address" \
	"admin.listen: 127.0.0.1:9180 has the port of websocket.listen 127.0.0.2:9180" \
	-s websocket.listen=127.0.0.2:9180
check "listeners apart pass" "$WSSD" --check-config -c "$TEST_TMP/good.conf" \
	-s "websocket.listen=0.0.0.0:8443, [::1]:8443" -s websocket.plain_listen=127.0.0.1:8080
check "a collision stops the start too (exit 1)" sh -c "timeout 10 '$WSSD' -c '$TEST_TMP/good.conf' \
	-s websocket.listen=127.0.0.1:9180 >'$out' 2>&1; [ \$? = 1 ]"
check "  with the error naming both keys" grep -q "admin.listen: .*websocket.listen" "$out"
check "  before anything listens" sh -c "! grep -q 'event=listening' '$out'"

# admin.user must name a user, and not root.
check "admin.user naming no user fails" sh -c "! '$WSSD' --check-config -c '$TEST_TMP/good.conf' \
	-s admin.user=wssd-no-such-user 2>'$out' && grep -q 'admin.user: no such user' '$out'"
check "admin.user = root fails" sh -c "! '$WSSD' --check-config -c '$TEST_TMP/good.conf' \
	-s admin.user=root 2>'$out' && grep -q 'admin.user: \"root\" is root' '$out'"
check "admin.user = nobody passes" "$WSSD" --check-config -c "$TEST_TMP/good.conf" \
	-s admin.user=nobody
