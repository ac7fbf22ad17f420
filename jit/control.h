#ifndef JIT_CONTROL_H
#define JIT_CONTROL_H

#include <stdbool.h>
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

/* A 200 body larger than this is refused (UNAVAILABLE). */
#define CONTROL_MAX_BODY 65536
/* 429 without a usable Retry-After; and the most a server may ask for. */
#define CONTROL_RETRY_AFTER_DEFAULT 30
#define CONTROL_RETRY_AFTER_MAX 3600
/* The largest "ttl" a reply may carry (the bound of jit.cache_ttl). */
#define CONTROL_TTL_MAX 31536000

struct control_options {
	const char *source;	/* "local" or an http(s):// base URL */
	const char *token;	/* bearer token, or NULL */
	unsigned timeout_ms;	/* deadline of one call (connect included) */
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

/*
 * -EINVAL for a source that is neither (or a URL over 900 bytes), a token
 * with control characters, or "local" without a store.
 */
int control_open(struct control **out, const struct control_options *opts);
void control_close(struct control *c);

/*
 * A new bearer token (NULL or "": none) for the calls that start from now
 * on; those under way finish with the old one. -EINVAL for a local control
 * or a token with control characters, -ENOMEM.
 */
int control_set_token(struct control *c, const char *token);
bool control_is_local(const struct control *c);

/*
 * Blocking, never longer than the deadline; safe from several threads at
 * once. Returns 0 with out->status set, or -ENOMEM.
 */
int control_fetch(struct control *c, const uint8_t key[WG_KEY_LEN], struct control_reply *out);

/*
 * The 200 body of the HTTP contract; the key in it must be the one asked
 * for. ttl gets the reply's "ttl" or 0. Returns 0, or -EINVAL with err set.
 */
int control_parse_peer(const char *json, size_t len, const uint8_t key[WG_KEY_LEN],
		       struct jit_peer *out, unsigned *ttl, char *err, size_t errlen);

#endif
