#!/bin/sh
# Slowloris benchmark (root, a network namespace). Run with
# `make bench-slowloris`, or from a built tree
#   top_srcdir=. top_builddir=build tests/bench/slowloris.sh
# BENCH_SECONDS (10) sets how long each attack lasts.
#
# wssd (TLS, default limits) listens on 127.0.0.1:8443 in a namespace of its
# own. An attacker keeps 2,000 connections open that have sent the first
# bytes of a TLS ClientHello and nothing more, reopening each one wssd
# closes at once: first all from one address (127.1.0.1), then from 200
# (127.2.0.1 up, 10 each). Before, during (3 s in, and at the end, past
# two handshake timeouts that closed the pending ones together) and after
# each attack: wssd's
# resident memory and descriptors, its pending connections, and the time a
# legitimate client (127.0.0.1) takes from connect to the 101 of its
# upgrade (20 in a row), beside the same figures with no attack in the same
# run.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests curl
[ -x "$WSSD" ] || skip "wssd is not built"
LORIS="$top_builddir/tests/bench/slowloris"
[ -x "$LORIS" ] || skip "run make bench-slowloris (builds tests/bench/slowloris)"
SECS=${BENCH_SECONDS:-10}
NS="slgw$TEST_ID"
ADMIN=http://127.0.0.1:9180/metrics
URL=wss://127.0.0.1:8443/

ns_create "$NS"
wssd_conf "$TEST_TMP/wssd.conf" websocket.listen=127.0.0.1:8443 jit.enabled=off
ns_spawn "$NS" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
WSSD_PID=$SPAWN_PID
at_exit "kill $WSSD_PID"
wait_for 20 ns_run "$NS" curl -fsS "$ADMIN" || fail "wssd did not start"

rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$WSSD_PID/status"
}
fds() {
	ls "/proc/$WSSD_PID/fd" | wc -l
}
m() {
	ns_metric "$NS" "$ADMIN" "$1" | sed 's/\..*//'
}
# row LABEL: one line of figures, now.
row() {
	lat=$(ns_run "$NS" "$LORIS" --latency 20 --insecure "$URL")
	printf '%-28s %8s KiB %6s fds %5s pending  upgrade %s\n' "$1" "$(rss)" "$(fds)" \
		"$(m wssd_pending_connections)" "$lat"
	p50=$(echo "$lat" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p')
}
# attack LABEL FROM ADDRS: 2,000 half-open connections for SECS seconds.
attack() {
	ns_spawn "$NS" "$TEST_TMP/loris.out" "$TEST_TMP/loris.out" "$LORIS" --attack 127.0.0.1:8443 \
		--conns 2000 --from "$2" --addrs "$3"
	loris=$SPAWN_PID
	sleep 3
	per_ip0=$(m 'wssd_sessions_refused_total{reason="max_pending_per_ip"}')
	full0=$(m 'wssd_sessions_refused_total{reason="max_pending"}')
	evicted0=$(m wssd_pending_evicted_total)
	row "$1, at 3 s"
	during=$p50
	sleep "$SECS"
	row "$1, at $((SECS + 3)) s"
	kill -USR1 "$loris"
	sleep 0.5
	per_ip=$(( $(m 'wssd_sessions_refused_total{reason="max_pending_per_ip"}') - per_ip0 ))
	full=$(( $(m 'wssd_sessions_refused_total{reason="max_pending"}') - full0 ))
	evicted=$(( $(m wssd_pending_evicted_total) - evicted0 ))
	kill "$loris"
	wait "$loris"
	printf '%-28s attacker: %s\n' "" "$(tail -n 1 "$TEST_TMP/loris.out")"
	printf '%-28s in %s s wssd refused at accept %s (per address) + %s (max_pending), evicted %s\n' \
		"" "$SECS" "$per_ip" "$full" "$evicted"
	sleep 6	# past websocket.handshake_timeout
	row "$1, after"
	printf '%-28s upgrade p50 during the attack: %s of no attack\n' "" \
		"$(awk -v a="$during" -v b="$base" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }')"
	# malloc_trim once pending connections fell (transport/trim.c)
	grep -o 'event=memory_trimmed.*' "$TEST_TMP/wssd.log" | sed -n "$((trims + 1)),\$p" |
		sed 's/^/                             /'
	trims=$(grep -c 'event=memory_trimmed' "$TEST_TMP/wssd.log" || true)
}

echo "== slowloris: 2,000 half-open TLS connections, ${SECS} s each; wssd with default limits"
echo "   (max_pending 1024, max_pending_per_ip 16, handshake_timeout 5)"
row "no attack"
base=$p50
trims=0
attack "from 1 address" 127.1.0.1 1
attack "from 200 addresses" 127.2.0.1 200
