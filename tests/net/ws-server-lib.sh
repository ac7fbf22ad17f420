# Sourced by the ws-*.sh server tests after common.sh and netns.sh.
#
#   client ns $CL: 198.18.0.2 (+ .3, .4), fd00:5353::2
#        |  veth
#   gateway ns $GW: 198.18.0.1, fd00:5353::1: wssd
#        plain ws://198.18.0.1:8080, wss://198.18.0.1:8443, wss://[fd00:5353::1]:8443
#        -> UDP echo at 127.0.0.1:51820 standing in for WireGuard
#        admin http://127.0.0.1:9180 (read from inside $GW)

PROBE="$top_builddir/tests/tools/wsprobe"
[ -x "$WSSD" ] || skip "wssd is not built"
[ -x "$PROBE" ] || skip "tests/tools/wsprobe is not built"

GW="wsgw$TEST_ID"
CL="wscl$TEST_ID"
ADMIN=http://127.0.0.1:9180/metrics

# ws_net: the two namespaces, their link and the echo server.
ws_net() {
	ns_create "$GW"
	ns_create "$CL"
	ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2
	ip -n "$GW" addr add fd00:5353::1/64 dev "$NS_LINK_A" nodad
	ip -n "$CL" addr add fd00:5353::2/64 dev "$NS_LINK_B" nodad
	ip -n "$CL" addr add 198.18.0.3/24 dev "$NS_LINK_B"
	ip -n "$CL" addr add 198.18.0.4/24 dev "$NS_LINK_B"
	ns_spawn "$GW" "$TEST_TMP/echo.out" "$TEST_TMP/echo.out" \
		"$PROBE" udp-echo 127.0.0.1 51820
	at_exit "kill $SPAWN_PID"
	wait_for 10 grep -q ready "$TEST_TMP/echo.out" || fail "UDP echo did not start"
}

# ws_conf [LINES...]: a config with the listeners above, relaying only (the
# "WireGuard port" is an echo, there is no device for JIT); extra lines
# ("section.key = value") are appended as -s overrides by wssd_start.
ws_conf() {
	wssd_conf "$TEST_TMP/wssd.conf" \
		"websocket.listen=198.18.0.1:8443, [fd00:5353::1]:8443" \
		websocket.plain_listen=198.18.0.1:8080 jit.enabled=off
}

# wssd_start [-s key=value ...]: starts wssd in $GW; WSSD_PID is wssd's own
# PID (ip netns exec execs it).
wssd_start() {
	ip netns exec "$GW" "$WSSD" -c "$TEST_TMP/wssd.conf" "$@" 2>>"$TEST_TMP/wssd.log" &
	WSSD_PID=$!
	at_exit "kill $WSSD_PID"
	wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not start"
}

# idle_sessions NAME N [WSLOAD_ARGS...]: N more TLS sessions from $CL that
# send their magic and wait, held until the test ends; IDLE_PID is the
# client's.
idle_sessions() {
	load=$top_builddir/tests/bench/wsload
	[ -x "$load" ] || skip "tests/bench/wsload is not built"
	name=$1 n=$2
	shift 2
	ns_spawn "$CL" "$TEST_TMP/$name.out" "$TEST_TMP/$name.out" "$load" --insecure \
		--sessions "$n" "$@" wss://198.18.0.1:8443/
	IDLE_PID=$SPAWN_PID
	at_exit "kill $IDLE_PID"
	wait_for 60 grep -q '^ready=' "$TEST_TMP/$name.out" || fail "$name: sessions not ready"
	grep -q "^ready=$n failed=0" "$TEST_TMP/$name.out" || fail "$name: $(cat "$TEST_TMP/$name.out")"
}

# mem FIELD: a field of wssd's /proc status (VmRSS, VmData), in KiB.
mem() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$WSSD_PID/status"
}

# sessions_are N: wssd has N sessions open.
sessions_are() {
	metric_is wssd_sessions "$1"
}

# m NAME{labels}: one metric of the running wssd.
m() {
	ns_metric "$GW" "$ADMIN" "$1"
}

# metric_is NAME VALUE
metric_is() {
	[ "$(m "$1")" = "$2" ]
}

# metric_at_least NAME MIN
metric_at_least() {
	[ "$(m "$1")" -ge "$2" ]
}

# probe ARGS...: the probe client, run in $CL.
probe() {
	ns_run "$CL" "$PROBE" "$@"
}

# logged PATTERN: wssd has logged a line matching PATTERN (extended regexp).
logged() {
	grep -Eq "$1" "$TEST_TMP/wssd.log"
}

# log_count PATTERN: how many lines of the wssd log match.
log_count() {
	grep -Ec "$1" "$TEST_TMP/wssd.log"
}

# log_count_above PATTERN N
log_count_above() {
	[ "$(log_count "$1")" -gt "$2" ]
}

# alongside_start: a session that echoes records until alongside_stop.
alongside_start() {
	rm -f "$TEST_TMP/alongside.stop"
	probe --tls 198.18.0.1 8443 magic loop-echo "$TEST_TMP/alongside.stop" \
		>"$TEST_TMP/alongside.out" 2>&1 &
	ALONGSIDE_PID=$!
	at_exit "kill $ALONGSIDE_PID"
	wait_for 20 metric_at_least 'wssd_records_total{dir="out"}' 3 ||
		fail "the alongside session passes no traffic"
}

# alongside_stop: fails unless every record of the alongside session came back.
alongside_stop() {
	touch "$TEST_TMP/alongside.stop"
	wait "$ALONGSIDE_PID" || { cat "$TEST_TMP/alongside.out"; fail "alongside session failed"; }
	pass "alongside session kept echoing: $(cat "$TEST_TMP/alongside.out")"
}

# mkcert NAME DAYS: a self-signed EC certificate $TEST_TMP/NAME.pem and its key NAME.key.
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$2" \
		-subj "/CN=$1" -keyout "$TEST_TMP/$1.key" -out "$TEST_TMP/$1.pem" 2>/dev/null ||
		fail "openssl req $1"
	give_test_user "$TEST_TMP/$1.key"
}
fingerprint() {
	openssl x509 -noout -fingerprint -sha256 -in "$1"
}
# served NAME [FROM]: a new TLS connection (from client address FROM) is
# served NAME's certificate.
served() {
	probe ${2:+--bind $2} --tls --save-cert "$TEST_TMP/served.pem" 198.18.0.1 8443 \
		magic echo 10 1 &&
		[ "$(fingerprint "$TEST_TMP/served.pem")" = "$(fingerprint "$TEST_TMP/$1.pem")" ]
}
