#!/bin/sh
# Relay benchmarks (root, network namespaces). Run with `make bench`, or
#   top_srcdir=. top_builddir=build tests/bench/relay.sh
# from a built tree. BENCH_SECONDS (5) sets each throughput run's length;
# BENCH_PARTS ("throughput echo memory") chooses the parts.
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
# (b) Closed-loop echo, both directions: in the gateway, udpecho stands
#     where WireGuard would listen and sends every datagram back. wsload
#     keeps 16 records of 1400 bytes in flight per session (4 with 1,000
#     sessions) and sends another as each echo returns:
#     direct  64 UDP sockets straight to the echo over the veth;
#     relay   1, 64 and 1,000 TLS WebSocket sessions through wssd, with
#             websocket.threads 1 and 2.
#     Printed: echoes/s, p50/p99 latency, and wssd's CPU per echo (with
#     the part of it spent in the kernel, from /proc) and syscalls per echo
#     over the measured seconds (perf stat, else strace -c, whichever is
#     installed).
# (c) Memory: wssd's resident set (VmRSS) with no session, then with 1,000
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
ECHO="$top_builddir/tests/bench/udpecho"
[ -x "$LOAD" ] && [ -x "$SINK" ] && [ -x "$ECHO" ] ||
	skip "run make bench (builds wsload, udpsink and udpecho)"
SECS=${BENCH_SECONDS:-5}
PARTS=${BENCH_PARTS:-throughput echo memory}
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
	ns_spawn "$GW" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf" "$@"
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

kernel_ticks() {
	awk '{ print $15 }' "/proc/$WSSD_PID/stat"
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

# syscalls SECONDS: how many system calls wssd makes in the next SECONDS.
syscalls() {
	if command -v perf >/dev/null 2>&1; then
		perf stat -x, -e raw_syscalls:sys_enter -p "$WSSD_PID" -- sleep "$1" 2>&1 |
			awk -F, '/raw_syscalls/ { print $1 }'
	elif command -v strace >/dev/null 2>&1; then
		timeout "$1" strace -c -f -p "$WSSD_PID" 2>&1 | awk '$NF == "total" { print $(NF-2) }'
	else
		sleep "$1"
		echo n/a
	fi
}

# echo_run NAME SESSIONS WINDOW TARGET...: one closed-loop echo from the
# client namespace; prints its echo line and, for a relay, wssd's CPU
# microseconds and syscalls per echo over the measured seconds.
echo_run() {
	name=$1 n=$2 win=$3
	shift 3
	ns_spawn "$CL" "$TEST_TMP/echo-$name.txt" "$TEST_TMP/echo-$name.err" \
		"$LOAD" --insecure --sessions "$n" --window "$win" --size 1400 --warmup 1 \
		--echo "$SECS" "$@"
	lpid=$SPAWN_PID
	if [ -n "$WSSD_PID" ]; then
		wait_for 120 grep -q '^ready=' "$TEST_TMP/echo-$name.txt" ||
			fail "$name: sessions not ready"
		sleep 1.2	# wsload's warm-up, and a little
		c0=$(cpu_ticks) k0=$(kernel_ticks)
		sc=$(syscalls "$((SECS - 1))")
		c1=$(cpu_ticks) k1=$(kernel_ticks)
	fi
	wait "$lpid" || fail "$name: $(cat "$TEST_TMP/echo-$name.err")"
	line=$(grep '^echo ' "$TEST_TMP/echo-$name.txt") || fail "$name: no echo line"
	pps=$(echo "$line" | sed -n 's/.* pps=\([0-9]*\).*/\1/p')
	lat=$(echo "$line" | sed -n 's/.*p50_us=\([0-9]*\) p99_us=\([0-9]*\).*/\1 \2/p')
	bad=$(echo "$line" | sed -n 's/.*lost=\([0-9]*\) bad=\([0-9]*\).*/lost \1, bad \2/p')
	if [ -n "$WSSD_PID" ]; then
		per=$(awk -v c="$((c1 - c0))" -v k="$((k1 - k0))" -v hz="$HZ" -v s="$sc" -v p="$pps" \
			-v d="$((SECS - 1))" 'BEGIN { e = p * d
			if (e > 0) printf "%6.2f us CPU (%5.2f in the kernel) %5.2f syscalls",
				1e6 * c / hz / e, 1e6 * k / hz / e, (s == "n/a" ? 0 : s / e)
			else print "n/a" }')
	else
		per="(baseline)"
	fi
	set -- $lat
	printf '%-30s %9s echoes/s  p50 %7s us  p99 %7s us  per echo: %s  (%s)\n' \
		"$name" "$pps" "$1" "$2" "$per" "$bad"
}

case "$PARTS" in *echo*)
echo "== closed-loop echo, both directions, 1400-byte datagrams, window 16 (4 at 1,000 sessions), ${SECS} s each (TLS on)"
HZ=$(getconf CLK_TCK)
ns_spawn "$GW" "$TEST_TMP/udpecho.txt" "$TEST_TMP/udpecho.err" "$ECHO" 0.0.0.0 51820
echo_pid=$SPAWN_PID
wait_for 10 grep -q ready "$TEST_TMP/udpecho.txt" || fail "udpecho did not start"
WSSD_PID=
echo_run "direct UDP, 64 sockets" 64 16 --udp 198.18.0.1:51820
for threads in 1 2; do
	set -- -s websocket.threads=$threads
	if ! "$WSSD" --check-config -c "$TEST_TMP/wssd.conf" "$@" >/dev/null 2>&1; then
		# A wssd of one loop, before websocket.threads.
		[ "$threads" = 1 ] || continue
		set --
	fi
	start_wssd "$@"
	for n in 1 64 1000; do
		win=16
		[ "$n" = 1000 ] && win=4
		echo_run "wssd threads=$threads, $n session(s)" "$n" "$win" wss://198.18.0.1:8443/
	done
	stop_wssd
done
kill "$echo_pid"
wait "$echo_pid" 2>/dev/null
WSSD_PID=
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
	sleep 3	# sessions that read their magic are quiet for a sweep: their buffers go back
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
			"$( [ -n "${alone_dps:-}" ] || echo ' (throughput part not run)')"
	fi
	kill "$load"
	wait "$load" 2>/dev/null
	stop_wssd
done
;; esac
