#!/bin/sh
# jit-reload (root, network namespaces, wireguard-go): a reload (SIGHUP,
# wssctl reload) reads an HTTP control plane's bearer token again. The
# control plane starts asking for a new token: look-ups with the old one
# are refused (401) until the reload, and carry the new one after it; a
# token file that cannot be read leaves the running token; a JIT key that
# cannot change live (jit.cache_ttl) is named and keeps its value.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
. "$top_srcdir/tests/lib/jit.sh"

need_net_tests wireguard-go wg curl python3
[ -x "$WSSD" ] || skip "wssd is not built"
WSSCTL="$top_builddir/wssd/wssctl"
[ -x "$JITPROBE" ] && [ -x "$WSSCTL" ] || skip "tests/tools/jitprobe or wssctl is not built"

GW="jhgw$TEST_ID"
CL="jhcl$TEST_ID"
WG_GW="wg${TEST_ID}g"
WG_CL="wg${TEST_ID}c"
URL=wss://198.18.0.1:8443/

wg_hosts "$GW" "$CL" "$WG_GW" "$WG_CL"
GW_PUB=$(cat "$TEST_TMP/gw.pub")
wg_keypair a
wg_keypair b
wg_keypair c
cat >"$TEST_TMP/cp.json" <<EOF
{"token": "first-token", "peers": {
 "$(key_hex "$(cat "$TEST_TMP/a.pub")")": {"reply": {"allowed_ips": ["198.19.0.3/32"]}},
 "$(key_hex "$(cat "$TEST_TMP/b.pub")")": {"reply": {"allowed_ips": ["198.19.0.4/32"]}},
 "$(key_hex "$(cat "$TEST_TMP/c.pub")")": {"reply": {"allowed_ips": ["198.19.0.5/32"]}}}}
EOF
printf 'first-token\n' >"$TEST_TMP/token"
give_test_user "$TEST_TMP/token"
cp_start "$GW" "$TEST_TMP/cp.json"
conf() {
	jit_conf jit.control_plane="$CP_URL" jit.token_file="$TEST_TMP/token" "$@"
}
conf jit.cache_ttl=300
jit_wssd_start

# let_in NAME: one initiation from NAME's key through wssd; its answer (type 2) means installed.
let_in() {
	ns_run "$CL" "$JITPROBE" --timeout 4 "$URL" "$GW_PUB" send "$TEST_TMP/$1.key"
}
# auth_of NAME: the Authorization header of the control plane's last look-up of NAME.
auth_of() {
	ns_run "$GW" curl -fsS "$CP_URL/_stats/$(key_hex "$(cat "$TEST_TMP/$1.pub")")" |
		sed -n 's/.*"auth": *"\([^"]*\)".*/\1/p'
}

out=$(let_in a)
check "with the first token a key is let in" sh -c "echo '$out' | grep -q '^answered=1'"
check "its look-up carried the first token" [ "$(auth_of a)" = "Bearer first-token" ]

# The control plane rotates: only the second token is taken from now on.
ns_run "$GW" curl -fsS -d 'second-token' "$CP_URL/_token" >/dev/null || fail "rotating the token"
printf 'second-token\n' >"$TEST_TMP/token"
out=$(let_in b)
check "before the reload: b's look-up is refused (old token)" \
	sh -c "echo '$out' | grep -q '^answered=0'"
check "... with the first token" [ "$(auth_of b)" = "Bearer first-token" ]
check "... logged as the control plane failing" \
	wait_for 10 grep -q 'event=peer_refused.*outcome=unavailable' "$TEST_TMP/wssd.log"

conf jit.cache_ttl=30
kill -HUP "$WSSD_PID"
check "the reload is done" wait_for 10 grep -q 'event=config_reloaded' "$TEST_TMP/wssd.log"
check "it read the token again" \
	grep -q "event=token_reloaded file=$TEST_TMP/token" "$TEST_TMP/wssd.log"
check "jit.cache_ttl waits for a restart" \
	grep -q 'event=config_restart_needed key=jit.cache_ttl file=30 running=300' "$TEST_TMP/wssd.log"
out=$(let_in b)
check "after the reload b is let in" sh -c "echo '$out' | grep -q '^answered=1'"
check "... its look-up carried the second token" [ "$(auth_of b)" = "Bearer second-token" ]
check "the token is never logged" sh -c "! grep -q 'second-token' '$TEST_TMP/wssd.log'"

# A token file that is not there: the running token stays.
conf jit.cache_ttl=30 jit.token_file="$TEST_TMP/missing"
ns_run "$GW" "$WSSCTL" --socket "$TEST_TMP/ctl.sock" reload >"$TEST_TMP/reload.out" 2>&1
rc=$?
cat "$TEST_TMP/reload.out"
check "wssctl reload answers" [ "$rc" = 0 ]
check "it says the token was not reloaded" \
	grep -q "^token not reloaded, the running one stays: jit.token_file: $TEST_TMP/missing: " \
	"$TEST_TMP/reload.out"
check "... and that the key keeps its running value" \
	grep -qx "not applied jit.token_file = $TEST_TMP/missing (running $TEST_TMP/token): jit.token_file: $TEST_TMP/missing: No such file or directory" \
	"$TEST_TMP/reload.out"
check "logged" grep -q 'event=token_reload_failed' "$TEST_TMP/wssd.log"
check "the reload's summary says so" \
	grep -q 'event=config_reloaded applied=none restart_needed=jit.cache_ttl not_applied=jit.token_file' \
	"$TEST_TMP/wssd.log"
out=$(let_in c)
check "c is let in with the running (second) token" sh -c "echo '$out' | grep -q '^answered=1'"
check "... which its look-up carried" [ "$(auth_of c)" = "Bearer second-token" ]
check "wssd is still up" kill -0 "$WSSD_PID"
