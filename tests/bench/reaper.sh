#!/bin/sh
# An eviction pass over $PEERS installed peers (uapi backend, wireguard-go),
# as root, beside one plain dump of the same device measured in the same
# run: a pass finding nothing due, and one evicting every peer.
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
