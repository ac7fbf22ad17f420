#ifndef JIT_STORE_H
#define JIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/peer.h"

/*
 * The SQLite database (WAL): local registry, control-plane cache, rate
 * limits, look-up back-offs, installed peers, event log. One connection
 * behind a mutex: safe to call from several threads. Functions return 0 or
 * -errno (-ENOENT: no such row; -EBUSY: another process held the lock past
 * the busy timeout; -EIO: SQLite error, logged). The foreach callbacks run
 * with the store locked: they must not call the store.
 */
struct store;

/* The schema this build writes; a newer database is refused. */
#define STORE_SCHEMA_VERSION 2

enum store_via { STORE_VIA_WS, STORE_VIA_UDP };

struct store_cache_entry {
	bool negative;
	int64_t fetched_at;	/* unix seconds */
	int64_t expires_at;
	struct jit_peer peer;	/* positive entries only; jit_peer_clear() it */
};

struct store_installed {
	uint8_t public_key[WG_KEY_LEN];
	char endpoint[64];	/* "ip:port", "[v6]:port" or "" */
	enum store_via via;
	int64_t installed_at;
	int64_t last_seen;
};

struct store_event {
	int64_t at;
	char public_key[WG_KEY_B64_LEN]; /* "" when the event has no key */
	const char *event;
	const char *detail;
};

/*
 * Opens or creates the file (mode 0600: it may hold preshared keys),
 * checks it and migrates it; on error err says why.
 */
int store_open(struct store **out, const char *path, char *err, size_t errlen);
void store_close(struct store *s);

/* added_at: unix seconds the row was written. */
int store_registry_put(struct store *s, const struct jit_peer *peer);
/* All or nothing. */
int store_registry_put_many(struct store *s, const struct jit_peer *peers, size_t n);
int store_registry_remove(struct store *s, const uint8_t key[WG_KEY_LEN]);
int store_registry_get(struct store *s, const uint8_t key[WG_KEY_LEN], struct jit_peer *out);
/* In key order; a non-zero return of fn stops the walk and is returned. */
int store_registry_foreach(struct store *s,
			   int (*fn)(void *ctx, const struct jit_peer *peer, int64_t added_at),
			   void *ctx);

/* peer NULL stores a negative entry. */
int store_cache_put(struct store *s, const uint8_t key[WG_KEY_LEN], const struct jit_peer *peer,
		    int64_t now, int64_t expires_at);
/* Returns the entry whether or not it has expired; the caller compares expires_at. */
int store_cache_get(struct store *s, const uint8_t key[WG_KEY_LEN], struct store_cache_entry *out);
/*
 * Housekeeping, for a timer: drops cache entries that expired more than
 * keep_stale seconds ago (until then they serve stale-if-error), back-offs
 * that have passed, and rate-limit buckets untouched for an hour (full
 * again for any limit of at least one look-up a minute, so the same as
 * absent).
 */
int store_prune(struct store *s, int64_t now, unsigned keep_stale);

/*
 * Token bucket named by bucket ("global", or a key): refills at rate per
 * second up to burst; a new bucket starts full. Returns 1 and takes a token,
 * or 0 when empty.
 */
int store_ratelimit_take(struct store *s, const char *bucket, double rate, double burst,
			 double now);

struct store_bucket {
	const char *name;
	double rate;	/* tokens per second */
	double burst;	/* at least 1 */
};

/*
 * All or nothing: takes a token from each of the n buckets (n at most
 * STORE_BUCKETS_MAX), or from none when one is empty; then *empty (if not
 * NULL) is the index of the first empty one. Returns 1, 0 or -errno.
 */
#define STORE_BUCKETS_MAX 4
int store_ratelimit_take_all(struct store *s, const struct store_bucket *buckets, size_t n,
			     double now, size_t *empty);

/* The control plane said "not before until" (429 Retry-After) for this key. */
int store_backoff_set(struct store *s, const uint8_t key[WG_KEY_LEN], int64_t until);
/* -ENOENT when there is none. */
int store_backoff_get(struct store *s, const uint8_t key[WG_KEY_LEN], int64_t *until);

int store_installed_put(struct store *s, const struct store_installed *row);
/* Rows with their "installed" events (details[i]), all or nothing. */
int store_installed_put_many(struct store *s, const struct store_installed *rows,
			     const char *const *details, size_t n);
int store_installed_touch(struct store *s, const uint8_t key[WG_KEY_LEN], int64_t last_seen);
int store_installed_remove(struct store *s, const uint8_t key[WG_KEY_LEN]);
/* Deletes n rows (absent ones too) with an event each, all or nothing. */
int store_installed_remove_many(struct store *s, const uint8_t (*keys)[WG_KEY_LEN],
				const char *const *events, const char *const *details, size_t n);
int store_installed_foreach(struct store *s,
			    int (*fn)(void *ctx, const struct store_installed *row), void *ctx);

/* The log keeps the newest STORE_EVENTS_MAX rows. */
#define STORE_EVENTS_MAX 10000
/* key may be NULL; detail may be NULL. */
int store_event_add(struct store *s, const uint8_t key[WG_KEY_LEN], const char *event,
		    const char *detail);
/* Newest first, at most limit (0 = all); key NULL = every key. */
int store_event_foreach(struct store *s, const uint8_t key[WG_KEY_LEN], unsigned limit,
			int (*fn)(void *ctx, const struct store_event *ev), void *ctx);

#endif
