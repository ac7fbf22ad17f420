#!/bin/sh
# ws-relay-as-user: ws-relay with admin.user = nobody, so wssd does all of it after
# dropping to that user with CAP_NET_ADMIN alone (tests/lib/common.sh,
# wssd_conf).
WSSD_TEST_USER=nobody
export WSSD_TEST_USER
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/net/ws-relay.sh"
