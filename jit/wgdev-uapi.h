#ifndef JIT_WGDEV_UAPI_H
#define JIT_WGDEV_UAPI_H

#include "jit/wgdev-impl.h"

int uapi_get(struct wgdev *dev, struct wgdev_state *out);
int uapi_set(struct wgdev *dev, const struct wgdev_set *set);

/*
 * Parses the answer to "get=1" (up to and including "errno=N" and the blank
 * line). Returns 0, the daemon's error as -errno (wireguard-go writes it
 * negative, boringtun positive), or -EPROTO for anything malformed. now_sec
 * turns boringtun's "seconds since" handshake times into absolute ones; the
 * flavour found is stored in *flavor when not NULL. out is freed on error.
 */
int uapi_parse_get(const char *buf, size_t len, int64_t now_sec, struct wgdev_state *out,
		   enum uapi_flavor *flavor);

/* Parses an answer to "set=1": "errno=N\n\n". */
int uapi_parse_errno(const char *buf, size_t len);

/* Writes the "set=1" request for set into a malloc'ed buffer. */
int uapi_format_set(const struct wgdev_set *set, char **out, size_t *len);

#endif
