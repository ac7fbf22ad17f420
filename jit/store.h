#ifndef JIT_STORE_H
#define JIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/peer.h"

/*
 * The SQLite database (WAL): local registry, control-plane cache, rate
 * limits, installed peers, event log. Safe to call from several threads.
 * Functions return 0 or -errno (-ENOENT: no such row; -EIO: SQLite error,
 * logged).
 */
struct store;

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

/* Opens or creates the file and migrates it; on error err says why. */
int store_open(struct store **out, const char *path, char *err, size_t errlen);
void store_close(struct store *s);

int store_registry_put(struct store *s, const struct jit_peer *peer);
int store_registry_remove(struct store *s, const uint8_t key[WG_KEY_LEN]);
int store_registry_get(struct store *s, const uint8_t key[WG_KEY_LEN], struct jit_peer *out);
int store_registry_foreach(struct store *s, int (*fn)(void *ctx, const struct jit_peer *peer),
			   void *ctx);

/* peer NULL stores a negative entry. */
int store_cache_put(struct store *s, const uint8_t key[WG_KEY_LEN], const struct jit_peer *peer,
		    int64_t now, int64_t expires_at);
int store_cache_get(struct store *s, const uint8_t key[WG_KEY_LEN], struct store_cache_entry *out);

/*
 * Token bucket named by bucket ("global", or a key): refills at rate per
 * second up to burst. Returns 1 and takes a token, or 0 when empty.
 */
int store_ratelimit_take(struct store *s, const char *bucket, double rate, double burst,
			 double now);

int store_installed_put(struct store *s, const struct store_installed *row);
int store_installed_remove(struct store *s, const uint8_t key[WG_KEY_LEN]);
int store_installed_foreach(struct store *s,
			    int (*fn)(void *ctx, const struct store_installed *row), void *ctx);

/* The log keeps the newest STORE_EVENTS_MAX rows. */
#define STORE_EVENTS_MAX 10000
int store_event_add(struct store *s, const uint8_t key[WG_KEY_LEN], const char *event,
		    const char *detail);
int store_event_foreach(struct store *s, const uint8_t key[WG_KEY_LEN], unsigned limit,
			int (*fn)(void *ctx, const struct store_event *ev), void *ctx);

#endif
