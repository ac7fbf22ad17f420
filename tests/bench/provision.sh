#!/bin/sh
# Provisioning throughput, as root: peers installed per second into a
# wireguard-go device, from the local registry and from an HTTP control
# plane that answers after $DELAY seconds, with 1 and with $WORKERS worker
# threads. Ratios are against one worker in the same run and, for the HTTP
# case, against the bound the latency sets (workers / delay).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
KEYS=${KEYS:-400}
WORKERS=${WORKERS:-8}
DELAY=${DELAY:-0.02}
bench="$top_builddir/tests/bench/provision"

if [ "${1:-}" != --inside ]; then
	[ "$(id -u)" = 0 ] || { echo "provision.sh: needs root"; exit 1; }
	exec unshare -n sh "$0" --inside
fi

ip link set lo up
tmp=$(mktemp -d)
iface="wsb$$"
trap 'kill $wg $cp 2>/dev/null; rm -rf "$tmp" "/var/run/wireguard/$iface.sock"' EXIT
WG_PROCESS_FOREGROUND=1 LOG_LEVEL=silent wireguard-go "$iface" &
wg=$!
printf '{"default": {"behaviour": "ok", "delay": %s}}\n' "$DELAY" >"$tmp/fixture.json"
# The server exits when its stdin closes, which fd 3 holds until we exit.
mkfifo "$tmp/in" "$tmp/port"
python3 "$top_srcdir/tests/tools/cp-server.py" "$tmp/fixture.json" <"$tmp/in" >"$tmp/port" &
cp=$!
exec 3>"$tmp/in"
port=$(head -n 1 "$tmp/port")
while [ ! -S "/var/run/wireguard/$iface.sock" ]; do sleep 0.1; done

run() { # WORKERS SOURCE
	rm -f "$tmp/db"*
	"$bench" "$KEYS" "$1" "$2" "$iface" "$tmp/db" | sed -n 's/^installs_per_s=\([0-9.]*\).*/\1/p'
}
local1=$(run 1 local)
localn=$(run "$WORKERS" local)
http1=$(run 1 "http://127.0.0.1:$port")
httpn=$(run "$WORKERS" "http://127.0.0.1:$port")
awk -v k="$KEYS" -v w="$WORKERS" -v d="$DELAY" -v l1="$local1" -v ln="$localn" \
	-v h1="$http1" -v hn="$httpn" 'BEGIN {
	printf "provisioning %d keys into wireguard-go\n", k
	printf "  local registry, 1 worker:   %8.1f installs/s\n", l1
	printf "  local registry, %d workers: %8.1f installs/s  (%.2fx one worker)\n", w, ln, ln / l1
	printf "  HTTP (%.0f ms), 1 worker:     %8.1f installs/s  (%.2f of the 1/latency bound)\n", d * 1000, h1, h1 * d
	printf "  HTTP (%.0f ms), %d workers:   %8.1f installs/s  (%.2fx one worker, %.2f of the %d/latency bound)\n", d * 1000, w, hn, hn / h1, hn * d / w, w
}'
