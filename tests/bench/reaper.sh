#!/bin/sh
# An eviction pass over $PEERS installed peers (uapi backend, wireguard-go),
# as root, beside one plain dump of the same device measured in the same
# run: a pass finding nothing due, and one evicting every peer; first the
# library's reaper_pass alone, then wssd's own passes (on its engine thread,
# inside provision_exclusive, with the engine's callbacks and the resync of
# hand-made peers on the same dump), read from its log.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
[ "$(id -u)" = 0 ] || fail "reaper.sh: needs root"
PEERS=${PEERS:-10000}
NS="rpb$TEST_ID"
IFACE="wsr$TEST_ID"

ns_create "$NS"
wg_go_start "$NS" "$IFACE"
# the eviction log lines go to a file, as they would to the journal
ns_run "$NS" "$top_builddir/tests/bench/reaper" "$PEERS" "$IFACE" "$TEST_TMP/db" \
	>"$TEST_TMP/out" 2>"$TEST_TMP/evictions" || fail "bench: $(tail -n 3 "$TEST_TMP/evictions")"
[ "$(grep -c 'event=peer_evicted' "$TEST_TMP/evictions")" = "$PEERS" ] || fail "not every eviction logged"
awk '
/^peers=/ { split($1, a, "="); n = a[2]; split($2, b, "="); dump = b[2] }
/^pass=none_due/ { split($2, a, "="); none = a[2] }
/^pass=all_due/ {
	split($2, a, "="); all = a[2]; split($3, d, "="); alldump = d[2]
	split($4, r, "="); rm = r[2]; split($5, q, "="); req = q[2]
}
END {
	printf "reaper pass over %d installed peers (wireguard-go, uapi)\n", n
	printf "  one plain dump (baseline):  %8.1f ms\n", dump / 1000
	printf "  pass, none due:             %8.1f ms  (%.2fx the dump)\n", none / 1000, none / dump
	printf "  pass, all %d evicted:    %8.1f ms  (%.2fx the dump)\n", n, all / 1000, all / dump
	printf "    of which: dump %.1f ms, %d removal requests %.1f ms, store and log %.1f ms\n", alldump / 1000, req, rm / 1000, (all - alldump - rm) / 1000
}' "$TEST_TMP/out"

# daemon AGE NAME: PEERS peers installed AGE seconds ago, then wssd until
# its first pass; that pass's log line and the start-up reconcile's land in
# $TEST_TMP/NAME.
daemon() {
	rm -f "$TEST_TMP/state/wssd.db"*
	mkdir -p "$TEST_TMP/state"
	printf '[Interface]\n' >"$TEST_TMP/empty.conf"
	ns_run "$NS" wg syncconf "$IFACE" "$TEST_TMP/empty.conf" || fail "emptying the device"
	ns_run "$NS" "$top_builddir/tests/bench/reaper" "$PEERS" "$IFACE" "$TEST_TMP/state/wssd.db" \
		install "$1" >"$TEST_TMP/$2.dump" 2>"$TEST_TMP/$2.err" || fail "install: $(tail -n 3 "$TEST_TMP/$2.err")"
	wssd_conf "$TEST_TMP/wssd.conf" gateway.interface="$IFACE" gateway.backend=uapi \
		websocket.listen=127.0.0.1:8443 reaper.interval=1 log.level=debug
	: >"$TEST_TMP/wssd.log"
	ns_spawn "$NS" /dev/null "$TEST_TMP/wssd.log" "$WSSD" -c "$TEST_TMP/wssd.conf"
	pid=$SPAWN_PID
	wait_for 60 grep -q 'event=reaper_pass ' "$TEST_TMP/wssd.log" || fail "wssd: no pass"
	kill "$pid"
	wait "$pid"
	grep -E 'event=(reconciled|reaper_pass) ' "$TEST_TMP/wssd.log" >"$TEST_TMP/$2"
	cat "$TEST_TMP/$2.dump" >>"$TEST_TMP/$2"
}
daemon 0 none
daemon 1000 all
[ "$(grep -c 'event=peer_evicted' "$TEST_TMP/wssd.log")" = "$PEERS" ] || fail "wssd: not every eviction logged"
awk '
function field(name,   i, kv) {
	for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
	return ""
}
{ run = FILENAME ~ /none$/ ? "none" : "all" }
/event=reconciled/ { start[run] = field("ms") }
/event=reaper_pass/ { pass[run] = field("ms"); evicted[run] = field("never_handshook") }
/^peers=/ { base[run] = field("dump_usec") / 1000 }
END {
	printf "through wssd (its engine thread: the engine'"'"'s callbacks, the hand-made resync on the same dump)\n"
	printf "  one plain dump (baseline):  %8.1f ms\n", base["none"]
	printf "  start-up reconcile:         %8.1f ms  (%.2fx the dump; judges nothing)\n", start["none"], start["none"] / base["none"]
	printf "  pass, none due:             %8.1f ms  (%.2fx the dump)\n", pass["none"], pass["none"] / base["none"]
	printf "  pass, all %d evicted:    %8.1f ms  (%.2fx the dump of its run, %.1f ms)\n", evicted["all"], pass["all"], pass["all"] / base["all"], base["all"]
}' "$TEST_TMP/none" "$TEST_TMP/all"
