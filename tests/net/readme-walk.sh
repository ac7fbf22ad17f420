#!/bin/sh
# readme-walk (root, network and mount namespaces, wireguard-go): the
# README's walk from a fresh machine to a pinging client, its commands as
# the README writes them (the build tree's wssd, wssctl and wssc for the
# installed ones; no -c anywhere: the embedded defaults).
#
#   client ns: wssc, wg-quick (wireguard-go)  --wss://198.18.0.1/-->  gateway ns: wssd,
#   which creates wg0 with wireguard-go
#
# Each host is a network namespace with a private mount namespace, held by
# one long-lived process (every `ip netns exec` makes a mount namespace of
# its own, so the mounts live in that holder and commands join it with
# nsenter). The defaults' paths are real there, but tmpfs: /etc/wssd,
# /var/lib/wssd, /run/wssd and /var/run/wireguard on the gateway,
# /var/run/wireguard on the client. Their mount points are created on the
# host when missing (empty directories, left in place: removing one could
# detach another run's mount). 10.77.0.0/24 exists only on the two wg
# interfaces, the underlay is 198.18.0.0/15.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"

need_net_tests wireguard-go wg wg-quick ping unshare nsenter bash
[ -x "$WSSD" ] || skip "wssd is not built"

GW="rwgw$TEST_ID"
CL="rwcl$TEST_ID"

# host_start NAME NS DIR...: a holder process in NS with tmpfs on each DIR;
# sets HOLDER_PID.
host_start() {
	_name=$1 _ns=$2
	shift 2
	mkdir -p "$@" "$TEST_TMP/$_name" || fail "mkdir $*"
	ip netns exec "$_ns" unshare -m --propagation private sh -c '
		ready=$1; shift
		for d; do mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 1; done
		: >"$ready"
		exec sleep 3600' sh "$TEST_TMP/$_name.ready" "$@" &
	HOLDER_PID=$!
	at_exit "kill $HOLDER_PID"
	wait_for 10 test -e "$TEST_TMP/$_name.ready" || fail "$_name: the mount namespace"
}

# gw CMD... / cl CMD...: CMD (a shell command line) on the gateway or the
# client: in its holder's namespaces, in its directory under $TEST_TMP, with
# the build tree's programs first on PATH.
gw() { _on "$GW_PID" gateway "$@"; }
cl() { _on "$CL_PID" client "$@"; }
_on() {
	_pid=$1 _dir=$2
	shift 2
	nsenter -t "$_pid" -m -n -- env PATH="$BIN:$PATH" sh -c "cd '$TEST_TMP/$_dir' && $*"
}

# The README's command names, from the build tree.
BIN="$TEST_TMP/bin"
mkdir -p "$BIN"
ln -s "$WSSD" "$BIN/wssd"
ln -s "$WSSCTL" "$BIN/wssctl"
ln -s "$WSSC" "$BIN/wssc"

ns_create "$GW"
ns_create "$CL"
ns_link "$GW" 198.18.0.1 "$CL" 198.18.0.2
host_start gateway "$GW" /etc/wssd /var/lib/wssd /run/wssd /var/run/wireguard
GW_PID=$HOLDER_PID
host_start client "$CL" /var/run/wireguard
CL_PID=$HOLDER_PID

check "the gateway starts without a configuration file" gw test ! -e /etc/wssd/wssd.conf
check "the gateway has no WireGuard interface" gw '! ip link show wg0 2>/dev/null'

# ---- 1. on the gateway: wssd, with its embedded defaults
nsenter -t "$GW_PID" -m -n -- "$BIN/wssd" 2>"$TEST_TMP/wssd.log" &
WSSD_PID=$!
at_exit "kill $WSSD_PID"
wait_for 30 grep -q 'event=gateway_ready' "$TEST_TMP/wssd.log" ||
	fail "wssd did not log event=gateway_ready"
ready=$(grep 'event=gateway_ready' "$TEST_TMP/wssd.log")
echo "$ready"
check "wssd says what comes next" sh -c "echo '$ready' | grep -qF 'next=\"wssctl peer new 10.77.0.2/32\"'"
check "it created wg0 with wireguard-go" grep -q 'event=wgdev_created interface=wg0 by=wireguard-go' \
	"$TEST_TMP/wssd.log"
check "wg0 has gateway.address's default, 10.77.0.1/24" \
	gw "ip -4 addr show dev wg0 | grep -q 'inet 10.77.0.1/24'"
check "its key and certificate are in /var/lib/wssd" \
	gw test -s /var/lib/wssd/wg0.key -a -s /var/lib/wssd/tls-cert.pem
check "the control socket is /run/wssd/ctl.sock" gw test -S /run/wssd/ctl.sock
gw_pub=$(echo "$ready" | sed 's/.* public_key=\([^ ]*\) .*/\1/')

# ---- 2. on the gateway: a client
gw 'umask 077 && wssctl peer new 10.77.0.2/32 --url wss://198.18.0.1/ >wssd0.conf' ||
	fail "wssctl peer new"
cat "$TEST_TMP/gateway/wssd0.conf"
grep -qx "PublicKey = $gw_pub" "$TEST_TMP/gateway/wssd0.conf" ||
	fail "the config's PublicKey is not the one wssd logged"
check "the config is the owner's only" test "$(stat -c %a "$TEST_TMP/gateway/wssd0.conf")" = 600

# ---- 3. on the client: the config, the wssc line it names, then ping
cp -p "$TEST_TMP/gateway/wssd0.conf" "$TEST_TMP/client/wssd0.conf"
wssc_line=$(sed -n 's/^#   \(wssc .*&\)$/\1/p' "$TEST_TMP/client/wssd0.conf")
up_line=$(sed -n 's/^#   \(wg-quick up .*\)$/\1/p' "$TEST_TMP/client/wssd0.conf")
[ -n "$wssc_line" ] && [ -n "$up_line" ] || fail "the config names no wssc or wg-quick line"
echo "client: $wssc_line"
cl "exec >wssc.out 2>>'$TEST_TMP/wssc.log'; $wssc_line" || fail "$wssc_line"
wait_for 10 grep -q 'event=connected' "$TEST_TMP/wssc.log" || fail "wssc did not connect"
echo "client: WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go $up_line"
cl "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go $up_line" \
	>"$TEST_TMP/wg-quick.log" 2>&1 || { cat "$TEST_TMP/wg-quick.log"; fail "$up_line"; }
check "the client pings the gateway: ping -c 3 10.77.0.1" cl ping -c 3 -W 5 10.77.0.1

# ---- what the gateway says about it
gw wssctl installed >"$TEST_TMP/installed" || fail "wssctl installed"
cat "$TEST_TMP/installed"
cl_pub=$(awk '$1 == "PrivateKey" { print $3 }' "$TEST_TMP/client/wssd0.conf" | wg pubkey)
check "wssctl installed lists the client, via ws" \
	sh -c "grep -q '^$cl_pub .* ws ' '$TEST_TMP/installed'"
gw wssctl sessions >"$TEST_TMP/sessions" || fail "wssctl sessions"
check "wssctl sessions shows its session" \
	sh -c "grep -q ' 198\.18\.0\.2 .*$cl_pub ' '$TEST_TMP/sessions'"

# ---- wssctl reads the file wssd reads
gw "printf '[admin]\nsocket = /run/wssd/elsewhere.sock\n' >/etc/wssd/wssd.conf"
gw wssctl stats >/dev/null 2>"$TEST_TMP/err" && fail "wssctl ignored /etc/wssd/wssd.conf"
check "wssctl takes admin.socket from /etc/wssd/wssd.conf" \
	grep -qF 'cannot reach wssd at /run/wssd/elsewhere.sock' "$TEST_TMP/err"

kill "$WSSD_PID"
wait "$WSSD_PID" || fail "wssd exited $? on SIGTERM"
check "wssd stopped cleanly" grep -q 'event=stopped' "$TEST_TMP/wssd.log"
