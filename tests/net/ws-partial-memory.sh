#!/bin/sh
# ws-partial-memory (root, network namespaces): a record's buffer grows with
# the bytes that arrive, never by the length a peer announces. In one wssd,
# after 400 idle TLS sessions that pay for what the first ones cost once,
# 400 more idle ones, then 400 that each announce a 65535-byte record and
# send 5 bytes of it: each of those may cost at most 8 KiB more than an
# idle one in the memory wssd holds, touched or not (VmData: heap and
# anonymous mappings). Reserving the announced length cost 64 KiB of it
# each, of which only a page or two became resident: the resident set
# (VmRSS, printed beside) hardly tells, and moves by a few KiB a session
# from run to run.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl
. "$top_srcdir/tests/net/ws-server-lib.sh"
N=400

ws_net
ws_conf
# One event loop: each loop's thread has a malloc arena of its own, and two
# arenas growing apart blur a difference of a few KiB a session.
wssd_start -s websocket.max_sessions_per_ip=2000 -s websocket.max_pending_per_ip=300 \
	-s websocket.idle_timeout=3600 -s websocket.threads=1

sample() {
	sleep 2	# the last handshakes' buffers released
	echo "$(mem VmRSS) $(mem VmData)"
}
# each FROM TO: KiB per session between two samples, per field.
each() {
	awk -v n="$N" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / n }'
}

idle_sessions warm "$N"
check "$N idle sessions to warm up" wait_for 30 sessions_are "$N"
set -- $(sample)
rss0=$1 data0=$2
idle_sessions idle "$N"
check "$N more idle sessions" wait_for 30 sessions_are $((2 * N))
set -- $(sample)
rss1=$1 data1=$2
idle_sessions partial "$N" --partial 5
check "$N more, each mid-record" wait_for 30 sessions_are $((3 * N))
set -- $(sample)
rss2=$1 data2=$2
for f in rss data; do
	eval "a=\$${f}0 b=\$${f}1 c=\$${f}2"
	idle_each=$(each "$a" "$b")
	partial_each=$(each "$b" "$c")
	over=$(awk -v p="$partial_each" -v i="$idle_each" 'BEGIN { printf "%.1f", p - i }')
	echo "wssd $f: $a KiB with $N sessions; +$N idle: $b KiB ($idle_each KiB each);" \
		"+$N mid-record: $c KiB ($partial_each KiB each)"
	[ "$f" = data ] || continue
	check "held memory: a session mid-record costs $over KiB over an idle one (at most 8)" \
		awk -v o="$over" 'BEGIN { exit !(o <= 8) }'
done
check "no protocol error: the records are only incomplete" \
	metric_is 'wssd_protocol_errors_total{reason="record_too_long"}' 0
