#ifndef JIT_CONTROL_H
#define JIT_CONTROL_H

#include <stddef.h>

#include "jit/peer.h"
#include "jit/store.h"

/* Where peer configs come from: the local registry or the HTTP API (DESIGN.md). */
enum control_status {
	CONTROL_FOUND,
	CONTROL_NOT_FOUND,	/* 404 / not in the registry: cache negatively */
	CONTROL_RETRY_LATER,	/* 429: retry_after seconds */
	CONTROL_UNAVAILABLE,	/* 5xx, timeout, network, bad JSON: transient */
};

struct control_options {
	const char *source;	/* "local" or an http(s):// base URL */
	const char *token;	/* bearer token, or NULL */
	unsigned timeout_ms;	/* deadline of one call */
	struct store *store;	/* the registry, for "local" */
};

struct control_reply {
	enum control_status status;
	struct jit_peer peer;	/* CONTROL_FOUND; jit_peer_clear() it */
	unsigned ttl;		/* seconds the answer may be cached, 0 = default */
	unsigned retry_after;	/* CONTROL_RETRY_LATER */
	char detail[160];	/* why, for logs and the event log */
};

struct control;

int control_open(struct control **out, const struct control_options *opts);
void control_close(struct control *c);

/* Blocking, never longer than the deadline; safe from several threads at once. */
int control_fetch(struct control *c, const uint8_t key[WG_KEY_LEN], struct control_reply *out);

/* The 200 body of the HTTP contract; the key in it must be the one asked for. */
int control_parse_peer(const char *json, size_t len, const uint8_t key[WG_KEY_LEN],
		       struct jit_peer *out, unsigned *ttl, char *err, size_t errlen);

#endif
