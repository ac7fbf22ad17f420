#ifndef JIT_LOOKUP_H
#define JIT_LOOKUP_H

#include <stdbool.h>

#include "jit/control.h"
#include "jit/peer.h"
#include "jit/store.h"

/*
 * The cache policy in front of the control plane. With an HTTP control
 * plane: fresh cache entry (positive or negative) → the key's back-off
 * (429 Retry-After) → rate limits (per key and global token buckets in the
 * store) → control plane; FOUND is cached for the reply's ttl (or
 * cache_ttl), NOT_FOUND for negative_ttl; when the control plane cannot be
 * asked or fails, an expired positive entry is served (stale-if-error).
 * With the local registry the registry is read directly: it lives in the
 * same database, so a cache would only delay `wssctl peer rm`.
 * Every outcome goes to the event log.
 */
struct lookup_options {
	struct store *store;
	struct control *control;
	unsigned cache_ttl;		/* jit.cache_ttl */
	unsigned negative_ttl;		/* jit.negative_ttl */
	unsigned key_lookups_per_minute;/* jit.key_lookups_per_minute */
	unsigned lookups_per_second;	/* jit.lookups_per_second */
};

enum lookup_status {
	LOOKUP_FOUND,
	LOOKUP_NOT_FOUND,
	LOOKUP_RATE_LIMITED,	/* our rate limits, or the control plane's Retry-After */
	LOOKUP_UNAVAILABLE,	/* control plane (or store) failing and nothing cached */
};

enum lookup_source {
	LOOKUP_SOURCE_NONE,
	LOOKUP_SOURCE_CACHE,	/* a fresh cache entry (FOUND or NOT_FOUND) */
	LOOKUP_SOURCE_CONTROL,	/* the control plane answered just now */
	LOOKUP_SOURCE_STALE,	/* an expired positive entry, served because we could not ask */
};

struct lookup_result {
	enum lookup_status status;
	enum lookup_source source;
	bool control_called;			/* for the control-plane call metrics */
	enum control_status control_status;	/* when control_called */
	double control_seconds;			/* how long the call took */
	struct jit_peer peer;			/* FOUND; jit_peer_clear() it */
	char detail[192];
};

/*
 * Blocking (at most one control-plane deadline) and thread-safe. now is
 * unix time in seconds. Returns 0 with out->status set, or -ENOMEM.
 */
int lookup_peer(const struct lookup_options *opts, const uint8_t key[WG_KEY_LEN], double now,
		struct lookup_result *out);

const char *lookup_status_name(enum lookup_status status);
const char *lookup_source_name(enum lookup_source source);

#endif
