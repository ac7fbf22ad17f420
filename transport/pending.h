#ifndef TRANSPORT_PENDING_H
#define TRANSPORT_PENDING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "common/addr.h"
#include "common/log.h"

/*
 * Connections accepted and not yet upgraded: the TLS handshake, then the
 * HTTP upgrade request. Each must become a session before its handshake
 * deadline (what is left of it then covers the magic). At most per_addr of
 * them come from one client address (an IPv6 /64), at most cap in all.
 * Past cap a newcomer from an address that has some already is refused
 * (reconnecting gains an attacker nothing), and one from an address that
 * has none takes the place of the oldest connection of an address with
 * several (else of the oldest): under a slowloris that is the attacker's,
 * as a real client is done in a round trip or two.
 */
struct transport;
struct metric;

enum pending_stage { PENDING_TLS, PENDING_HTTP, PENDING_MAGIC };

struct pending;

struct pending_addr {
	struct pending_addr *next;
	unsigned count;
	struct pending *oldest, *newest;	/* this address's, in accept order */
	uint8_t key[ADDR_KEY_LEN];
};

struct pending {
	struct pending *older, *newer;		/* every one, in accept order */
	struct pending *aolder, *anewer;	/* its address's */
	struct transport *t;
	struct lws *wsi;
	struct pending_addr *addr;
	lws_sorted_usec_list_t sul;	/* the deadline, or the kill of an evicted one */
	int64_t accepted, deadline;	/* monotonic microseconds */
	enum pending_stage stage;
	bool listed;			/* counted in the table: not yet ended */
	char remote[48];
};

#define PENDING_BUCKETS 1024

struct pending_table {
	struct pending *oldest, *newest;
	unsigned count;
	unsigned cap;			/* the descriptors' share for pending connections */
	struct pending_addr *addrs[PENDING_BUCKETS];
	/* admitted at accept, not yet started: a failed adoption if it stays */
	bool admitted;
	char admitted_remote[48];
	struct metric *gauge, *evicted, *closed, *refused_per_addr, *refused_full;
	struct metric *timeouts[3];	/* by stage */
};

const char *pending_stage_name(enum pending_stage stage);

void pending_metrics_register(struct pending_table *pt);

/*
 * At accept, before lws makes a wsi of the connection: 0 to take it, or 1
 * to refuse it (logged and counted), per address or for descriptors. May
 * close the oldest pending connection to make room.
 */
int pending_admit(struct transport *t, const struct sockaddr *peer);

/* The accepted connection's wsi: starts its deadline. -ENOMEM. */
int pending_start(struct transport *t, struct lws *wsi, bool tls);

void pending_tls_done(struct lws *wsi);

/* The upgrade was refused, answered and counted: its close is no news. */
void pending_refused(struct lws *wsi);

/*
 * The upgrade is done: the connection leaves the table; *deadline is what
 * its magic has. -ETIMEDOUT when it was timed out or evicted meanwhile.
 */
int pending_upgraded(struct lws *wsi, int64_t *deadline);

/* lws destroys the wsi (LWS_CALLBACK_WSI_DESTROY); pss: it had per-session data. */
void pending_destroyed(struct lws *wsi, bool pss);

#endif
