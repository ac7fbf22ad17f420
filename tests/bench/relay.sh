#!/bin/sh
# Relay benchmarks (root, network namespaces). Run with `make bench`, or
#   top_srcdir=. top_builddir=build tests/bench/relay.sh
# from a built tree. BENCH_SECONDS (5) sets each throughput run's length;
# BENCH_PARTS ("throughput memory") chooses the parts.
#
# Two namespaces joined by a veth (client 198.18.0.2, gateway 198.18.0.1).
# In the gateway, udpsink stands where WireGuard would listen (port 51820)
# and counts what arrives; wssd (TLS on) relays to 127.0.0.1:51820.
#
# (a) Throughput of 1400-byte datagrams, client -> gateway:
#     direct  wsload --udp blasts UDP straight at the sink over the veth;
#     relay   wsload opens 1 or 64 TLS WebSocket sessions to wssd and sends
#             one record per message on all of them as fast as TCP takes
#             them; wssd decodes and sends each record to the sink.
#     The sink's rate (first to last datagram) is the figure; the relay's is
#     printed as a ratio of the direct rate measured in the same run.
# (b) Memory: wssd's resident set (VmRSS) with no session, then with 1,000
#     and with 10,000 idle TLS sessions (handshake, upgrade, magic, nothing
#     more; wssd restarted between the two), printed per session, with the
#     descriptors wssd holds (one per idle session); with the 10,000 still
#     open, one more session relays as in (a), as a ratio of (a)'s 1 session.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests curl
[ -x "$WSSD" ] || skip "wssd is not built"
LOAD="$top_builddir/tests/bench/wsload"
SINK="$top_builddir/tests/bench/udpsink"
[ -x "$LOAD" ] && [ -x "$SINK" ] || skip "run make bench (builds wsload and udpsink)"
SECS=${BENCH_SECONDS:-5}
PARTS=${BENCH_PARTS:-throughput memory}
# Without CAP_SYS_RESOURCE the hard limit on descriptors caps the sessions
# one wssd (one descriptor per idle session) and one wsload (one per
# session) can hold; the memory run then measures as many as fit.
FD_LIMIT=$(ulimit -Hn)
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576
[ "$FD_LIMIT" -gt 1048576 ] && FD_LIMIT=1048576

GW="bngw$TEST_ID"
CL="bncl$TEST_ID"
ADMIN=http://127.0.0.1:9180/metrics
ns_create "$GW"
ns_create "$CL"
ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2

wssd_conf "$TEST_TMP/wssd.conf" websocket.listen=198.18.0.1:8443 jit.enabled=off \
	websocket.max_sessions=20000 websocket.max_sessions_per_ip=20000 \
	websocket.max_pending_per_ip=1024 \
	websocket.idle_timeout=3600

WSSD_PID=
start_wssd() {
	# wssd holds one descriptor per idle session (TCP; the relay UDP socket
	# comes with the first datagram) and raises its own soft limit as far
	# as the hard one.
	ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
	WSSD_PID=$SPAWN_PID
	wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" || fail "wssd did not start"
}

stop_wssd() {
	kill "$WSSD_PID"
	wait "$WSSD_PID" 2>/dev/null
}

cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$WSSD_PID/stat"
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$WSSD_PID/status"
}

# sink_run NAME CMD...: starts the sink, runs CMD in the client namespace,
# prints the sink's dps and gbps and the share of what CMD sent that never
# arrived (%).
sink_run() {
	name=$1
	shift
	ns_spawn "$GW" "$TEST_TMP/sink-$name.txt" "$TEST_TMP/sink.log" "$SINK" 0.0.0.0 51820 1
	sink=$SPAWN_PID
	wait_for 10 grep -q ready "$TEST_TMP/sink-$name.txt" || fail "udpsink did not start"
	ns_run "$CL" "$@" >"$TEST_TMP/load-$name.txt" || fail "$name: load failed"
	wait "$sink"
	got=$(sed -n 's/^datagrams=\([0-9]*\) .*/\1/p' "$TEST_TMP/sink-$name.txt")
	sent=$(sed -n 's/^sent=//p' "$TEST_TMP/load-$name.txt")
	sed -n 's/.*dps=\([0-9]*\) gbps=\([0-9.]*\).*/\1 \2/p' "$TEST_TMP/sink-$name.txt" | tr '\n' ' '
	awk -v g="$got" -v s="$sent" 'BEGIN { printf "%.1f\n", (s > 0 ? 100 * (s - g) / s : 0) }'
}

sessions_are() {
	[ "$(ns_metric "$GW" "$ADMIN" wssd_sessions)" = "$1" ]
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
}

case "$PARTS" in *throughput*)
echo "== relay throughput, 1400-byte datagrams, ${SECS} s each (TLS on)"
set -- $(sink_run direct "$LOAD" --udp 198.18.0.1:51820 --blast "$SECS" --size 1400)
direct_dps=$1 direct_gbps=$2
printf '%-22s %10s dgrams/s %7s Gbit/s  (sent but lost %s%%)\n' "direct UDP" "$1" "$2" "$3"

start_wssd
HZ=$(getconf CLK_TCK)
for n in 1 64; do
	c0=$(cpu_ticks)
	t0=$(date +%s.%N)
	set -- $(sink_run "relay$n" "$LOAD" --insecure --sessions "$n" --blast "$SECS" --size 1400 \
		wss://198.18.0.1:8443/)
	grep -q "^ready=$n failed=0" "$TEST_TMP/load-relay$n.txt" || fail "relay $n: sessions failed"
	# wssd's CPU over the whole run (session set-up and the sink's idle second included).
	cpu=$(awk -v c="$(($(cpu_ticks) - c0))" -v hz="$HZ" -v t0="$t0" -v t1="$(date +%s.%N)" \
		'BEGIN { printf "%.0f", 100 * c / hz / (t1 - t0) }')
	lcpu=$(sed -n 's/^cpu_percent=//p' "$TEST_TMP/load-relay$n.txt")
	printf '%-22s %10s dgrams/s %7s Gbit/s  ratio to direct %s  (lost %s%%; CPU of a core: wssd %s%%, wsload %s%%)\n' \
		"wssd, $n session(s)" "$1" "$2" "$(ratio "$1" "$direct_dps")" "$3" "$cpu" "$lcpu"
	[ "$n" = 1 ] && alone_dps=$1
done
stop_wssd
;; esac

case "$PARTS" in *memory*)
echo "== wssd resident memory with idle TLS sessions"
for want in 1000 10000; do
	n=$want
	if [ $((n + 64)) -gt "$FD_LIMIT" ]; then
		n=$((FD_LIMIT - 64))
		echo "(descriptor hard limit $FD_LIMIT: $want sessions need $((want + 64)); measuring $n)"
	fi
	start_wssd
	base=$(rss_kib)
	ns_spawn "$CL" "$TEST_TMP/idle-$n.txt" "$TEST_TMP/idle-$n.txt" \
		"$LOAD" --insecure --sessions "$n" wss://198.18.0.1:8443/
	load=$SPAWN_PID
	t0=$(date +%s.%N)
	wait_for 600 grep -q '^ready=' "$TEST_TMP/idle-$n.txt" || fail "idle $n: sessions not ready"
	t1=$(date +%s.%N)
	grep -q "^ready=$n failed=0" "$TEST_TMP/idle-$n.txt" ||
		fail "idle $n: $(cat "$TEST_TMP/idle-$n.txt")"
	wait_for 30 sessions_are "$n"
	sessions=$(ns_metric "$GW" "$ADMIN" wssd_sessions)
	[ "${sessions%.*}" = "$n" ] || fail "idle $n: wssd_sessions is $sessions"
	sleep 1	# let the last handshakes' buffers be released
	rss=$(rss_kib)
	fds=$(ls "/proc/$WSSD_PID/fd" | wc -l)
	printf '%6d idle sessions: wssd RSS %d KiB (empty %d KiB), %s KiB per session; %d descriptors; opened in %s s\n' \
		"$n" "$rss" "$base" "$(awk -v r="$rss" -v b="$base" -v n="$n" 'BEGIN { printf "%.1f", (r - b) / n }')" \
		"$fds" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	if [ "$want" = 10000 ]; then
		# lws 4.1's default loop is poll(): every wake-up costs O(sessions).
		set -- $(sink_run "busy$n" "$LOAD" --insecure --sessions 1 --blast "$SECS" --size 1400 \
			wss://198.18.0.1:8443/)
		printf '%6d idle sessions: 1 more relaying %s dgrams/s %s Gbit/s, %s of 1 session alone%s\n' \
			"$n" "$1" "$2" "$(ratio "$1" "${alone_dps:-0}")" \
			"$( [ -n "$alone_dps" ] || echo ' (throughput part not run)')"
	fi
	kill "$load"
	wait "$load" 2>/dev/null
	stop_wssd
done
;; esac
