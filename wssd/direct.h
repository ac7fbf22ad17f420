#ifndef WSSD_DIRECT_H
#define WSSD_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "jit/engine.h"
#include "jit/key.h"
#include "transport/transport.h"
#include "wssd/config.h"

/*
 * Clients that reach the WireGuard port over UDP: the capture's copies of
 * their initiations (transport/capture.c), served on one event loop. Per
 * datagram, cheapest first: a token bucket per source address (an IPv6
 * address per /64) in a table of fixed size, then mac1, then the engine,
 * through a port of its own whose queue bounds the unwrap work a flood can
 * cause (what does not fit is dropped and counted). The engine installs
 * the peer with the datagram's source as endpoint (via UDP).
 */
struct direct;

/* Opens the capture, which needs CAP_NET_RAW: before privileges are dropped. */
int direct_open(struct direct **out, const struct wssd_config *cfg,
		const uint8_t public_key[WG_KEY_LEN], char *err, size_t errlen);
/* Serves it on t's loop. Before jit_engine_start (the port is made here). */
int direct_attach(struct direct *d, struct jit_engine *e, struct transport *t);
/* capture.initiations_per_second, on the thread of the loop that serves it. */
int direct_set_rate(struct direct *d, unsigned rate);
/* After the transport that served it and the engine are gone. */
void direct_free(struct direct *d);

#endif
