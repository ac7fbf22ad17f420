# Sourced by shell tests. Exit 77 = skip, as automake counts it.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
WSSD="$top_builddir/wssd/wssd"
WSSC="$top_builddir/wssd/wssc"
WSSCTL="$top_builddir/wssd/wssctl"

TEST_ID=$$
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wssd-test.XXXXXX")
_cleanups=""

# at_exit CMD: runs CMD (a string) at exit, last added first.
at_exit() {
	_cleanups="$1
$_cleanups"
}

_run_cleanups() {
	status=$?
	trap - EXIT INT TERM
	printf '%s\n' "$_cleanups" | while IFS= read -r c; do
		[ -n "$c" ] && eval "$c" >/dev/null 2>&1
	done
	if [ "$status" != 0 ] && [ "$status" != 77 ] && [ -z "${KEEP_TMP:-}" ]; then
		# Show what the daemons said before the evidence goes.
		for f in "$TEST_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TEST_TMP"
	exit "$status"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok - $*"; }

# check DESCRIPTION CMD...: runs CMD, fails the test when it fails.
check() {
	desc="$1"
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	limit=$(( $1 * 10 ))
	shift
	i=0
	while [ "$i" -lt "$limit" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

need_net_tests() {
	[ "${NET_TESTS:-yes}" = no ] && skip "net tests disabled (--disable-net-tests)"
	need_root
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
	done
}

# metric URL NAME{labels}: prints the value of one Prometheus sample.
metric() {
	curl -fsS "$1" | awk -v want="$2" '$1 == want { print $2; found = 1 } END { if (!found) print 0 }'
}

# built_with_asan: wssd is an ASan build, whose shadow memory and
# quarantine keep resident sizes from saying anything.
built_with_asan() {
	ldd "$WSSD" | grep -q libasan
}

# give_test_user FILE...: with $WSSD_TEST_USER set, the files become that
# user's, for a wssd that reads them after dropping to admin.user.
give_test_user() {
	[ -z "${WSSD_TEST_USER:-}" ] || chown "$WSSD_TEST_USER" "$@"
}

# wssd_conf FILE [SECTION.KEY=VALUE ...]: a wssd configuration for a test:
# state, database and control socket under $TEST_TMP, no capture, admin on
# 127.0.0.1:9180 (of the namespace wssd runs in), then each key given.
# WSSD_THREADS=N in the environment sets websocket.threads (the suite runs
# with 1 and with 2 event loops). With $WSSD_TEST_USER set (the *-as-user
# tests), admin.user is that user, who may pass through $TEST_TMP.
wssd_conf() {
	_conf=$1
	shift
	[ -z "${WSSD_THREADS:-}" ] || set -- "websocket.threads=$WSSD_THREADS" "$@"
	mkdir -p "$TEST_TMP/state"
	if [ -n "${WSSD_TEST_USER:-}" ]; then
		getent passwd "$WSSD_TEST_USER" >/dev/null || skip "no user $WSSD_TEST_USER"
		chmod 711 "$TEST_TMP"
		set -- admin.user="$WSSD_TEST_USER" "$@"
	fi
	cat >"$_conf" <<CONF
[gateway]
create = no
state_dir = $TEST_TMP/state

[capture]
enabled = off

[store]
path = $TEST_TMP/state/wssd.db

[admin]
listen = 127.0.0.1:9180
socket = $TEST_TMP/ctl.sock
CONF
	for _kv in "$@"; do
		_key=${_kv%%=*}
		printf '\n[%s]\n%s = %s\n' "${_key%%.*}" "${_key#*.}" "${_kv#*=}" >>"$_conf"
	done
}
