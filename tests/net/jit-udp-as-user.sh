#!/bin/sh
# jit-udp-as-user: jit-udp with admin.user = nobody: the capture's socket, opened
# before the drop, keeps copying initiations with CAP_NET_RAW gone
# (tests/lib/common.sh, wssd_conf).
WSSD_TEST_USER=nobody
export WSSD_TEST_USER
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/net/jit-udp.sh"
