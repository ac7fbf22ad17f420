#ifndef TRANSPORT_PENDING_H
#define TRANSPORT_PENDING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "common/addr.h"

/*
 * Connections accepted and not yet upgraded: the TLS handshake, then the
 * HTTP upgrade request. Each must become a session before its handshake
 * deadline (what is left of it then covers the magic). Over every loop, at
 * most max_pending_per_ip come from one client address (an IPv6 /64) and
 * at most max_pending in all. Past that a newcomer from an address that
 * has some already is refused (reconnecting gains an attacker nothing);
 * one from an address that has none takes the place of a connection of an
 * address with several (else of the oldest) on the loop it is served on:
 * under a slowloris that is the attacker's, as a real client is done in a
 * round trip or two.
 *
 * Loop 0 accepts and checks at once, refusing before anything is spent on
 * the connection; the loop that serves it checks again when it starts it,
 * under the lock of the shared counts, for what was handed over meanwhile.
 * Each loop keeps its own connections in accept order.
 */
struct transport;
struct metric;

enum pending_stage { PENDING_TLS, PENDING_HTTP, PENDING_MAGIC };

struct pending {
	struct pending *older, *newer;
	struct transport *t;
	struct lws *wsi;
	lws_sorted_usec_list_t sul;	/* the deadline, or the kill of an evicted one */
	int64_t accepted, deadline;	/* monotonic microseconds */
	enum pending_stage stage;
	bool listed;			/* counted: not yet ended */
	bool upgrading;			/* its upgrade was allowed: the counts let it go */
	char remote[48];
	char client[ADDR_KEY_TEXT];	/* what the per-address bound counts */
};

/* One loop's. */
struct pending_table {
	struct pending *oldest, *newest;
	/* admitted by loop 0 and served there, not yet started: failed if it stays */
	bool admitted;
	char admitted_remote[48];
	unsigned refused_at_start;	/* closing already counted: no news when destroyed */
	struct metric *gauge, *evicted, *closed, *refused_per_addr, *refused_full;
	struct metric *timeouts[3];	/* by stage */
};

const char *pending_stage_name(enum pending_stage stage);

void pending_metrics_register(struct pending_table *pt);

/*
 * At accept (loop 0), before lws makes a wsi of the connection: 0 to take
 * it, or 1 to refuse it (logged and counted).
 */
int pending_admit(struct transport *t, const struct sockaddr *peer);

/* The connection went to another loop: loop 0 will not start it. */
void pending_handed_over(struct transport *t);

/*
 * The accepted connection's wsi, on the loop that serves it: counts it and
 * starts its deadline, or refuses it (-EDQUOT, logged and counted); -ENOMEM.
 */
int pending_start(struct transport *t, struct lws *wsi, bool tls);

void pending_tls_done(struct lws *wsi);

/* The upgrade was refused, answered and counted: its close is no news. */
void pending_refused(struct lws *wsi);

/*
 * The upgrade is allowed: the connection leaves the counts now, before
 * lws writes the 101 (the client may connect again the moment it reads
 * it), and keeps its deadline until it is a session.
 */
void pending_upgrading(struct lws *wsi);

/*
 * The upgrade is done: the connection leaves the table; *deadline is what
 * its magic has. -ETIMEDOUT when it was timed out or evicted meanwhile.
 */
int pending_upgraded(struct lws *wsi, int64_t *deadline);

/* lws destroys the wsi (LWS_CALLBACK_WSI_DESTROY); pss: it had per-session data. */
void pending_destroyed(struct lws *wsi, bool pss);

#endif
