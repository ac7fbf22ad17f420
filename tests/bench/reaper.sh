#!/bin/sh
# An eviction pass over $PEERS installed peers (uapi backend, wireguard-go),
# as root, beside one plain dump of the same device measured in the same
# run: a pass finding nothing due, and one evicting every peer.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PEERS=${PEERS:-10000}
bench="$top_builddir/tests/bench/reaper"

if [ "${1:-}" != --inside ]; then
	[ "$(id -u)" = 0 ] || { echo "reaper.sh: needs root"; exit 1; }
	exec unshare -n sh "$0" --inside
fi

ip link set lo up
tmp=$(mktemp -d)
iface="wsr$$"
trap 'kill $wg 2>/dev/null; rm -rf "$tmp" "/var/run/wireguard/$iface.sock"' EXIT
WG_PROCESS_FOREGROUND=1 LOG_LEVEL=silent wireguard-go "$iface" &
wg=$!
while [ ! -S "/var/run/wireguard/$iface.sock" ]; do sleep 0.1; done

# the eviction log lines go to a file, as they would to the journal
"$bench" "$PEERS" "$iface" "$tmp/db" >"$tmp/out" 2>"$tmp/log"
[ "$(grep -c 'event=peer_evicted' "$tmp/log")" = "$PEERS" ] || { echo "not every eviction logged"; exit 1; }
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
}' "$tmp/out"
