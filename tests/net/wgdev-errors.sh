#!/bin/sh
# What a caller sees when the device is not there or its daemon misbehaves:
# no socket, an unknown interface, a socket nobody answers on (a stale file),
# a daemon that hangs (stopped: the request times out) and then recovers.
# Garbage answers are covered by tests/unit/test_wgdev_uapi.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests ip wireguard-go

TOOL="$top_builddir/tests/tools/wgdev-tool"
NS="wgder$TEST_ID"
IF="wge$TEST_ID"

out=$("$TOOL" -b uapi "wgx$TEST_ID" get 2>&1) && fail "get without a socket worked"
echo "$out"
check "uapi without socket" test "$out" = "error: open: No such file or directory"

out=$("$TOOL" -s "$TEST_TMP/none.sock" -b uapi "wgx$TEST_ID" get 2>&1) && fail "get worked"
check "configured socket missing" test "$out" = "error: open: No such file or directory"

# auto without a socket means netlink; this kernel has no WireGuard family.
if [ ! -d /sys/module/wireguard ]; then
	out=$("$TOOL" "wgx$TEST_ID" get 2>&1) && fail "auto get of an unknown interface worked"
	echo "$out"
	check "unknown interface, no kernel WireGuard" \
		test "$out" = "error: open: Protocol not supported"
fi

ns_create "$NS"
wg_go_start "$NS" "$IF"
PID=$(ip netns pids "$NS")
check "a real device answers" "$TOOL" -b uapi "$IF" get

# Stopped: connect still succeeds (the listen backlog), the answer never comes.
kill -STOP $PID
at_exit "kill -CONT $PID"
out=$("$TOOL" -b uapi -t 500 "$IF" get 2>&1) && fail "a stopped daemon answered"
echo "$out"
check "hung daemon: timed out" test "$out" = "error: get: Connection timed out"
out=$("$TOOL" -b uapi -t 500 "$IF" rm-peer "$(wg genkey | wg pubkey)" 2>&1) && fail "set answered"
check "hung daemon: set timed out" test "$out" = "error: rm-peer: Connection timed out"
kill -CONT $PID
check "answers again once resumed" "$TOOL" -b uapi "$IF" get

# Killed hard: the socket file stays, nobody listens.
kill -KILL $PID
wait_for 10 sh -c "! kill -0 $PID" || fail "wireguard-go did not die"
check "stale socket file left" test -S "/var/run/wireguard/$IF.sock"
out=$("$TOOL" "$IF" get 2>&1) && fail "stale socket answered"
echo "$out"
check "stale socket: refused" test "$out" = "error: get: Connection refused"
