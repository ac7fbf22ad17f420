#!/bin/sh
# ws-tls (root, network namespaces): the server's cipher order. With AES
# instructions (as this CPU reports them) AES-128-GCM comes first, in TLS 1.3
# and 1.2, whatever order the client offers; with them masked from OpenSSL
# (OPENSSL_ia32cap, which wssd reads as OpenSSL does) ChaCha20-Poly1305 does.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/netns.sh"
need_net_tests curl openssl
. "$top_srcdir/tests/net/ws-server-lib.sh"
grep -qw aes /proc/cpuinfo || skip "this CPU has no AES instructions"

ws_net
ws_conf

# cipher ARGS...: the cipher a client offering OpenSSL's defaults gets.
cipher() {
	echo Q | ns_run "$CL" openssl s_client -connect 198.18.0.1:8443 "$@" 2>/dev/null |
		sed -n 's/.*Cipher is \([A-Z0-9_-]*\).*/\1/p' | head -1
}
# OpenSSL's client offers AES-256-GCM first in TLS 1.3.
cipher_is() {
	want=$1
	shift
	got=$(cipher "$@")
	[ "$got" = "$want" ] || { echo "cipher $got, expected $want"; return 1; }
}

wssd_start ${WSSD_TEST_ARGS:-}
check "TLS 1.3 with AES instructions: AES-128-GCM" cipher_is TLS_AES_128_GCM_SHA256 -tls1_3
check "TLS 1.2 with AES instructions: AES-128-GCM" cipher_is ECDHE-ECDSA-AES128-GCM-SHA256 -tls1_2
kill "$WSSD_PID"
wait "$WSSD_PID" 2>/dev/null

# AES-NI is bit 57 of OpenSSL's capability vector.
export OPENSSL_ia32cap="~0x200000000000000"
wssd_start ${WSSD_TEST_ARGS:-}
unset OPENSSL_ia32cap
check "TLS 1.3 without: ChaCha20-Poly1305" cipher_is TLS_CHACHA20_POLY1305_SHA256 -tls1_3
check "TLS 1.2 without: ChaCha20-Poly1305" cipher_is ECDHE-ECDSA-CHACHA20-POLY1305 -tls1_2
