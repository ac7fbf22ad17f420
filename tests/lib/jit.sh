# Sourced after netns.sh by the JIT tests: the control-plane test server,
# keys, and wssd's JIT metrics.
CP_SERVER="$top_srcdir/tests/tools/cp-server.py"
JITPROBE="$top_builddir/tests/tools/jitprobe"
UDPPROBE="$top_builddir/tests/tools/udpprobe"

# cp_start NS FIXTURE [PORT]: tests/tools/cp-server.py in NS; sets CP_PORT,
# CP_URL and CP_PID, the server's own (its stdin is a pipe from sleep, so it
# lives until killed; kill -STOP $CP_PID makes it stop answering).
cp_start() {
	_out="$TEST_TMP/cp-server.$$.out"
	: >"$_out"
	ns_spawn "$1" "$_out" "$TEST_TMP/cp-server.log" \
		sh -c 'sleep 3600 | exec python3 "$0" "$1" "$2"' "$CP_SERVER" "$2" "${3:-0}"
	_cp_sh=$SPAWN_PID
	wait_for 10 test -s "$_out" || fail "cp-server.py did not start"
	CP_PID=$(pgrep -P "$_cp_sh" -f cp-server.py)
	[ -n "$CP_PID" ] || fail "cp-server.py has no pid"
	CP_PORT=$(head -n 1 "$_out")
	CP_URL="http://127.0.0.1:$CP_PORT"
	CP_NS=$1
}

# cp_stop: stops the server cp_start started (and the sleep feeding it).
cp_stop() {
	pkill -P "$_cp_sh" 2>/dev/null
	wait "$_cp_sh" 2>/dev/null
	return 0
}

# cp_count [HEX]: look-ups the server has seen, for one key or in all.
cp_count() {
	ns_run "$CP_NS" curl -fsS "$CP_URL/_stats${1:+/$1}" | sed 's/.*"count": *\([0-9]*\).*/\1/'
}

# key_hex B64: a key as the control plane's URL spells it.
key_hex() {
	printf '%s' "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n'
}

# int VALUE: a metric's value without a fraction.
int() {
	echo "${1%.*}"
}

# jit_conf [SECTION.KEY=VALUE ...]: $TEST_TMP/wssd.conf for JIT on $WG_GW
# (wireguard-go, uapi) in $GW, listening on 198.18.0.1:8443.
jit_conf() {
	wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$WG_GW" gateway.backend=uapi \
		websocket.listen=198.18.0.1:8443 "$@"
}

# jit_wssd_start: wssd with that configuration in $GW, serving its metrics
# before it returns; sets WSSD_PID.
jit_wssd_start() {
	ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
	WSSD_PID=$SPAWN_PID
	at_exit "kill $WSSD_PID"
	wait_for 20 ns_run "$GW" curl -fsS http://127.0.0.1:9180/metrics >/dev/null ||
		fail "wssd did not start"
}
