#!/bin/sh
# ws-trim (root, network namespaces): memory goes back to the system once
# many connections have ended. 1,000 idle TLS sessions open, then all end
# together; wssd logs event=memory_trimmed, and its resident set comes back
# to within a quarter of what the sessions had added. Without the trim,
# glibc kept the freed heap: 15 MB before, 38 MB with the sessions and
# still 38 MB after they had ended; with it, 17 MB after.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"
N=1000

ws_net
ws_conf
wssd_start -s websocket.max_sessions_per_ip=2000 -s websocket.max_pending_per_ip=300 \
	-s websocket.idle_timeout=3600
trims_are() {
	[ "$(log_count 'event=memory_trimmed')" = "$1" ]
}
sleep 1
base=$(mem VmRSS)
idle_sessions idle "$N"
check "$N idle sessions" wait_for 30 sessions_are "$N"
check "no trim while they are open" trims_are 0
peak=$(mem VmRSS)
kill "$IDLE_PID"
check "the sessions end" wait_for 30 sessions_are 0
check "wssd trims its heap once they have" wait_for 10 logged 'event=memory_trimmed'
grep -o 'event=memory_trimmed.*' "$TEST_TMP/wssd.log"
after=$(mem VmRSS)
echo "wssd RSS: $base KiB before, $peak KiB with $N sessions, $after KiB after they ended"
if built_with_asan; then
	# ASan keeps freed memory in quarantine, out of glibc's reach.
	pass "RSS not compared under ASan"
else
	check "at least three quarters of what they added is given back" \
		awk -v b="$base" -v p="$peak" -v a="$after" 'BEGIN { exit !(a - b <= (p - b) / 4) }'
fi
check "one trim" trims_are 1
