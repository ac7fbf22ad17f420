#ifndef WSSD_NOTIFY_H
#define WSSD_NOTIFY_H

/*
 * systemd's readiness protocol without libsystemd: one datagram with
 * "READY=1", "STOPPING=1", ... to the socket named by $NOTIFY_SOCKET (a path,
 * or "@name" in the abstract namespace). Does nothing when it is unset.
 * Returns 0 or -errno.
 */
int notify_systemd(const char *state);

#endif
