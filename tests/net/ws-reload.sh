#!/bin/sh
# ws-reload (root, network namespaces): SIGHUP and `wssctl reload` read the
# configuration again. The keys that can change live take their new values
# (sessions and pending connections per address, the idle timeout, the
# log level), a key that
# cannot (websocket.send_queue) is named and keeps its value, a file that
# does not load changes nothing, -s flags still win over the file, and a
# session open across the reloads keeps relaying.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"

WSSCTL="$top_builddir/wssd/wssctl"
[ -x "$WSSCTL" ] || skip "wssctl is not built"

# conf [KEY=VALUE...]: the test's configuration file, written anew.
conf() {
	wssd_conf "$TEST_TMP/wssd.conf" \
		"websocket.listen=198.18.0.1:8443, [fd00:5353::1]:8443" \
		websocket.plain_listen=198.18.0.1:8080 jit.enabled=off "$@"
}

ctl() {
	ns_run "$GW" "$WSSCTL" --socket "$TEST_TMP/ctl.sock" "$@"
}

# upgrade_from ADDR: a new session from ADDR upgrades and echoes.
upgrade_from() {
	probe --bind "$1" --tls 198.18.0.1 8443 magic echo 10 1
}

ws_net
conf websocket.max_sessions_per_ip=2 websocket.idle_timeout=600 websocket.send_queue=128
wssd_start -s websocket.refused_close_after=40

alongside_start
probe --tls 198.18.0.1 8443 magic ready wait-file "$TEST_TMP/idle.stop" >"$TEST_TMP/idle.out" 2>&1 &
at_exit "kill $!"
wait_for 10 grep -q ready "$TEST_TMP/idle.out" || fail "the idle session did not open"
check "at the limit: a third session from the address is refused" \
	probe --tls 198.18.0.1 8443 expect-refused
check "before the reload: no debug lines" sh -c "! grep -q 'level=debug' '$TEST_TMP/wssd.log'"

conf websocket.max_sessions_per_ip=3 websocket.idle_timeout=600 websocket.send_queue=64 \
	log.level=debug websocket.refused_close_after=90
kill -HUP "$WSSD_PID"
check "reload logged with what it applied" wait_for 10 \
	logged "event=config_reloaded applied=websocket.max_sessions_per_ip,log.level restart_needed=websocket.send_queue"
check "the key that needs a restart is named with both values" \
	logged 'event=config_restart_needed key=websocket.send_queue file=64 running=128'
check "-s still wins over the file (refused_close_after not changed)" \
	sh -c "! grep -q 'refused_close_after' '$TEST_TMP/wssd.log'"
check "a third session from the address now upgrades" upgrade_from 198.18.0.2
check "the certificate was loaded again" logged 'event=cert_reloaded'

# wssctl reload: the same, answered with what changed.
conf websocket.max_sessions_per_ip=3 websocket.idle_timeout=2 websocket.send_queue=64
ctl reload >"$TEST_TMP/reload.out" 2>&1
rc=$?
cat "$TEST_TMP/reload.out"
check "wssctl reload exits 0" [ "$rc" = 0 ]
check "log.level = debug had taken effect: the request was logged" \
	logged 'level=debug event=ctl_request command=reload'

check "it names the applied keys with their values" \
	grep -qx 'applied websocket.idle_timeout = 2 (was 600)' "$TEST_TMP/reload.out"
check "... and the level back to info" \
	grep -qx 'applied log.level = info (was debug)' "$TEST_TMP/reload.out"
check "... the key still waiting for a restart" \
	grep -qx 'restart needed websocket.send_queue = 64 (running 128)' "$TEST_TMP/reload.out"
check "... and the certificate" grep -q '^certificate .* valid until ' "$TEST_TMP/reload.out"
# The idle session's check was due 600 s after its start: it is checked again now.
check "a shorter idle_timeout closes an idle session at once" \
	wait_for 10 logged 'event=session_idle .*idle_timeout=2'

# A file that does not load: nothing changes, the certificate is still loaded.
printf '[websocket]\nmax_sessions_per_ip = many\n' >>"$TEST_TMP/wssd.conf"
n=$(log_count 'event=cert_reloaded')
ctl reload >"$TEST_TMP/bad.out" 2>&1
rc=$?
cat "$TEST_TMP/bad.out"
check "wssctl reload of a bad file fails" [ "$rc" != 0 ]
check "it says where" grep -q 'wssd.conf:[0-9]*: .*max_sessions_per_ip' "$TEST_TMP/bad.out"
check "the failure is logged" logged 'event=config_reload_failed error=.*max_sessions_per_ip'
check "the certificate was loaded again anyway" log_count_above 'event=cert_reloaded' "$n"
kill -HUP "$WSSD_PID"
check "SIGHUP with the bad file: logged too" wait_for 10 \
	sh -c "[ \$(grep -c 'event=config_reload_failed' '$TEST_TMP/wssd.log') = 2 ]"
# idle_timeout is still the 2 s of the last good file: a new idle session goes soon.
check "the running values stay: a new idle session is closed after 2 s" \
	probe --bind 198.18.0.4 --tls 198.18.0.1 8443 magic expect-close 1001

alongside_stop
check "wssd is still up" kill -0 "$WSSD_PID"

# Under a limit of 320 descriptors, connections not yet upgraded get a
# quarter of the budget (64): a per-address limit above it is capped, and
# the reload says so.
kill "$WSSD_PID"
wait "$WSSD_PID"
conf websocket.max_sessions=50
ip netns exec "$GW" sh -c 'ulimit -n 320 && exec "$0" -c "$1"' "$WSSD" "$TEST_TMP/wssd.conf" \
	2>>"$TEST_TMP/wssd.log" &
WSSD_PID=$!
at_exit "kill $WSSD_PID"
wait_for 20 ns_run "$GW" curl -fsS "$ADMIN" >/dev/null || fail "wssd did not start under 320 descriptors"
conf websocket.max_sessions=50 websocket.max_pending_per_ip=200
ctl reload >"$TEST_TMP/capped.out" 2>&1 || fail "reload: $(cat "$TEST_TMP/capped.out")"
cat "$TEST_TMP/capped.out"
check "a per-address pending limit over the budget's share is applied capped" \
	grep -qx 'websocket.max_pending_per_ip: 64 in effect, all the descriptor budget leaves connections not yet upgraded' \
	"$TEST_TMP/capped.out"
check "... and logged" logged 'event=max_pending_per_ip_lowered max_pending_per_ip=200 effective=64'
