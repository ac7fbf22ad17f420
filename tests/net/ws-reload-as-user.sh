#!/bin/sh
# ws-reload-as-user: ws-reload with admin.user = nobody, so the file, the
# certificate and the new limits are all taken after dropping to that user.
WSSD_TEST_USER=nobody
export WSSD_TEST_USER
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/net/ws-reload.sh"
