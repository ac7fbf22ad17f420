#ifndef TRANSPORT_CLIENT_IMPL_H
#define TRANSPORT_CLIENT_IMPL_H

#include <sys/types.h>

#include "transport/client.h"

/* Shared by the connection (client.c) and its frames (client-frame.c). */
int ws_reserve(uint8_t **buf, size_t *cap, size_t need);
int ws_queue_bytes(struct ws_conn *c, const void *data, size_t len);

/* Parses whole frames in c->in; returns the bytes used, or -errno. */
ssize_t ws_parse_frames(struct ws_conn *c, ws_data_fn fn, void *ctx);

#endif
