#!/bin/sh
# ws-relay-cli: wssc's command line. Bad arguments and URLs are refused with
# a message naming the problem (exit 2); a good one binds the UDP socket,
# prints listening=ADDR:PORT, and keeps retrying while nothing listens.
# Needs no root: everything stays on loopback.
. "$top_srcdir/tests/lib/common.sh"

[ -x "$WSSC" ] || skip "wssc is not built"

# refused EXIT PATTERN ARGS...: wssc ARGS exits EXIT and says PATTERN on stderr.
refused() {
	want=$1 pattern=$2
	shift 2
	"$WSSC" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
	status=$?
	[ "$status" = "$want" ] || fail "wssc $*: exit $status, want $want"
	grep -q -- "$pattern" "$TEST_TMP/err" || fail "wssc $*: no '$pattern' in: $(cat "$TEST_TMP/err")"
	[ ! -s "$TEST_TMP/out" ] || fail "wssc $*: printed on stdout"
	pass "wssc $* -> $status, '$pattern'"
}

refused 2 "missing the wss:// URL"
refused 2 "exactly one URL" wss://a/ wss://b/
refused 2 "must start with wss:// or ws://" http://gw.example/
refused 2 "not a valid" wss://
refused 2 "not a valid" 'wss://[::1/'
refused 2 "not a valid" wss://gw:0/
refused 2 "not a valid" wss://gw:65536/
refused 2 "not a valid" wss://user@gw/
refused 2 "want record, split or random" --cut sideways wss://gw/
refused 2 "exclude each other" --insecure --ca /etc/ssl/certs/ca-certificates.crt wss://gw/
refused 2 "need a wss:// URL" --insecure ws://gw/
refused 2 "want a numeric ADDR:PORT" --listen localhost:1 wss://gw/
refused 2 "want a numeric ADDR:PORT" --listen 127.0.0.1 wss://gw/
refused 1 "cannot load CA certificates" --ca "$TEST_TMP/missing.pem" wss://gw/
refused 2 "usage:" --no-such-option wss://gw/

# A port nothing listens on: wssc starts, says where it listens, retries.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null) ||
	port=9
"$WSSC" --listen '[::1]:0' "ws://127.0.0.1:$port/" >"$TEST_TMP/out" 2>"$TEST_TMP/wssc.log" &
pid=$!
at_exit "kill $pid"
wait_for 10 grep -q '^listening=\[::1\]:[0-9][0-9]*$' "$TEST_TMP/out" || fail "no listening= line"
pass "$(cat "$TEST_TMP/out")"
retried() {
	[ "$(grep -c 'event=disconnected.*Connection refused' "$TEST_TMP/wssc.log")" -ge 2 ]
}
wait_for 10 retried || fail "wssc did not retry: $(cat "$TEST_TMP/wssc.log")"
pass "wssc retries a refused connection"
kill "$pid"
wait "$pid"
check "exit 0 on SIGTERM" test $? = 0
