#ifndef WSSD_PRIVS_H
#define WSSD_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * After setup the daemon runs as admin.user. What it still writes or
 * connects to is made the user's first (privs_give); then privs_drop
 * switches uid and gid (and the user's groups), keeps only CAP_NET_ADMIN
 * (the device over netlink) in the permitted and effective sets, drops
 * every other capability from the bounding set and sets no_new_privs. The
 * capture's socket is open by then: CAP_NET_RAW is not kept. Capabilities are per thread: privs_drop refuses (-EBUSY)
 * once a second thread exists. Both return 0 or -errno with err set.
 */

/* Gives path to user: its owner becomes the user, and with contents the
 * regular files directly in it too (symbolic links are left alone). */
int privs_give(const char *user, const char *path, bool contents, char *err, size_t errlen);

int privs_drop(const char *user, char *err, size_t errlen);

/*
 * A userspace WireGuard's UAPI socket is root's and 0700, and wireguard-go
 * shuts down when that socket's owner or mode changes (it watches them),
 * so it cannot be given to the user. privs_uapi_helper, before the drop,
 * forks a helper that stays uid 0 with no capability at all and, for each
 * request, connects to that one path and passes the socket back
 * (SCM_RIGHTS); privs_uapi_connect, for wgdev_set_uapi_connector, asks it
 * (from any thread).
 */
int privs_uapi_helper(const char *path, char *err, size_t errlen);
int privs_uapi_connect(const char *path, void *arg);

#endif
