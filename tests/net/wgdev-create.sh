#!/bin/sh
# gateway.create = auto on a bare namespace: the interface is created (no
# kernel WireGuard here, so by starting wireguard-go), a key is generated and
# kept 0600 in the state directory, the port set, the link brought up; a
# second start reuses the key.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests ip wg wireguard-go

TOOL="$top_builddir/tests/tools/wgdev-tool"
NS="wgdcr$TEST_ID"
IF="wgn$TEST_ID"
STATE="$TEST_TMP/state"

ns_create "$NS"
# what wgdev_ensure starts runs inside the namespace: stop it with it
at_exit "for p in \$(ip netns pids $NS); do kill \$p; done; sleep 0.3; rm -f /var/run/wireguard/$IF.sock"

stop_daemon() {
	for p in $(ip netns pids "$NS"); do kill "$p"; done
	wait_for 10 sh -c "! ip -n $NS link show $IF" || fail "$IF did not go away"
	rm -f "/var/run/wireguard/$IF.sock"
}

ensure() { ns_run "$NS" "$TOOL" "$IF" ensure "$STATE" "$@" 2>"$TEST_TMP/ensure.log"; }

check "no interface to begin with" sh -c "! ip -n $NS link show $IF 2>/dev/null"
out=$(ensure 51830) || fail "ensure: $(cat "$TEST_TMP/ensure.log")"
echo "$out"
cat "$TEST_TMP/ensure.log"
check "created by wireguard-go" grep -q "event=wgdev_created interface=$IF by=wireguard-go" \
	"$TEST_TMP/ensure.log"
check "a key generated" grep -q "event=wgdev_key interface=$IF .*action=generated" "$TEST_TMP/ensure.log"
check "the key file is 0600" test "$(stat -c %a "$STATE/$IF.key")" = 600
PUB=$(wg pubkey <"$STATE/$IF.key")
check "the device has the stored key and the port" \
	test "$out" = "backend=uapi has_private_key=1 public_key=$PUB listen_port=51830"
check "the link is up" sh -c "ip -n $NS link show $IF | grep -q '<.*UP.*>'"

# Again while it runs: nothing to do.
out=$(ensure 51830) || fail "second ensure: $(cat "$TEST_TMP/ensure.log")"
check "running device left as it is" test "$out" = \
	"backend=uapi has_private_key=1 public_key=$PUB listen_port=51830"
check "no new interface, no new key" test ! -s "$TEST_TMP/ensure.log"

# A restart on a fresh device: the stored key comes back; a new port is set.
stop_daemon
out=$(ensure 51831) || fail "ensure after restart: $(cat "$TEST_TMP/ensure.log")"
echo "$out"
check "key reused" grep -q "event=wgdev_key interface=$IF .*action=loaded" "$TEST_TMP/ensure.log"
check "same public key, new port" test "$out" = \
	"backend=uapi has_private_key=1 public_key=$PUB listen_port=51831"

# gateway.create = no: a missing interface is an error that says so.
stop_daemon
if ensure 51830 nocreate; then fail "nocreate created"; fi
cat "$TEST_TMP/ensure.log"
check "nocreate: a clear error" grep -q "^error: interface $IF does not exist (gateway.create = no)" \
	"$TEST_TMP/ensure.log"

# A key file others can read is refused, not used.
chmod 644 "$STATE/$IF.key"
if ensure 51830; then fail "a world-readable key was used"; fi
cat "$TEST_TMP/ensure.log"
check "loose key file refused" grep -q "^error: $STATE/$IF.key: readable by others (mode 644)" \
	"$TEST_TMP/ensure.log"
check "the interface it had created is removed again" \
	grep -q "event=wgdev_removed interface=$IF reason=setup_failed" "$TEST_TMP/ensure.log"
wait_for 10 sh -c "! ip -n $NS link show $IF 2>/dev/null" || fail "$IF is still there"
rm -f "/var/run/wireguard/$IF.sock"
chmod 600 "$STATE/$IF.key"

# The kernel backend was asked for but this kernel has no WireGuard.
if [ ! -d /sys/module/wireguard ] && ! modprobe -n wireguard 2>/dev/null; then
	if ns_run "$NS" "$TOOL" -b netlink "$IF" ensure "$STATE" 51830 2>"$TEST_TMP/ensure.log"; then
		fail "netlink ensure without kernel support"
	fi
	cat "$TEST_TMP/ensure.log"
	check "netlink: kernel creation error" grep -q "^error: creating kernel WireGuard interface $IF: " \
		"$TEST_TMP/ensure.log"
fi
