#ifndef JIT_NOISE_H
#define JIT_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "jit/key.h"

/* Responder side of WireGuard's first handshake message (PROTOCOL.md section 2). */
#define WG_INITIATION_LEN 148
#define WG_TIMESTAMP_LEN 12

enum noise_result {
	NOISE_OK = 0,
	NOISE_ERR_LENGTH,	/* not exactly 148 bytes */
	NOISE_ERR_TYPE,		/* first four bytes are not 1, 0, 0, 0 */
	NOISE_ERR_MAC1,
	NOISE_ERR_EPHEMERAL,	/* DH with the ephemeral is all zero: low-order point */
	NOISE_ERR_STATIC,	/* the initiator's static key does not decrypt */
	NOISE_ERR_STATIC_KEY,	/* DH with the initiator's static key is all zero */
	NOISE_ERR_TIMESTAMP,	/* the timestamp does not decrypt */
	NOISE_ERR_NOMEM,	/* allocation (or another library) failure */
	NOISE_RESULT_COUNT
};

/* Static-static DH results kept per initiator key (LRU within 4-way sets). */
#define NOISE_CACHE_DEFAULT 4096

struct noise_responder;

struct noise_stats {
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t cache_evictions;
};

/*
 * The private key is copied into libsodium secure memory (locked, guarded)
 * and wiped on free, as are the cached DH results. X25519 is libsodium's
 * (faster here than OpenSSL's, see tests/bench/unwrap.c). Not thread-safe:
 * one responder per thread. Returns 0, -EINVAL (zero key) or -ENOMEM.
 */
int noise_responder_new(struct noise_responder **out, const uint8_t private_key[WG_KEY_LEN]);
/* cache_entries = 0 disables the cache; others round up to a power of two >= 4. */
int noise_responder_new_cache(struct noise_responder **out, const uint8_t private_key[WG_KEY_LEN],
			      unsigned int cache_entries);
void noise_responder_free(struct noise_responder *r);
void noise_responder_public_key(const struct noise_responder *r, uint8_t out[WG_KEY_LEN]);

/*
 * The cheap mac1 check alone, for a thread that only tells garbage from
 * initiations: it needs the interface's public key, not the private one.
 * One per thread. NOISE_OK, NOISE_ERR_LENGTH, _TYPE, _MAC1 (or _NOMEM).
 */
struct noise_mac1;
int noise_mac1_new(struct noise_mac1 **out, const uint8_t public_key[WG_KEY_LEN]);
void noise_mac1_free(struct noise_mac1 *m);
enum noise_result noise_mac1_check(struct noise_mac1 *m, const uint8_t *msg, size_t len);

/* The responder's own mac1 check (as noise_mac1_check). */
enum noise_result noise_check_mac1(const struct noise_responder *r, const uint8_t *msg, size_t len);

/*
 * Full unwrap: on NOISE_OK the initiator's key is authenticated. The outputs
 * are written only on NOISE_OK. Only authenticated keys enter the DH cache.
 */
enum noise_result noise_unwrap(struct noise_responder *r, const uint8_t *msg, size_t len,
			       uint8_t initiator_static[WG_KEY_LEN],
			       uint8_t timestamp[WG_TIMESTAMP_LEN]);

void noise_responder_stats(const struct noise_responder *r, struct noise_stats *out);

/* Stable names for metrics and logs: "ok", "length", "type", "mac1", ... */
const char *noise_result_name(enum noise_result result);

/*
 * TAI64N (as WireGuard writes it: 2^62 + 10 + Unix seconds, then nanoseconds)
 * to UTC ISO-8601 with nanoseconds, "2026-11-25T00:40:00.123456789Z".
 * Returns 0, or -EINVAL for a value that is not a valid TAI64N label.
 */
#define NOISE_TIMESTAMP_ISO_LEN 32
int noise_timestamp_iso(char out[NOISE_TIMESTAMP_ISO_LEN], const uint8_t timestamp[WG_TIMESTAMP_LEN]);

/* TAI64N is big-endian, so newer timestamps compare greater with memcmp. */
static inline int noise_timestamp_cmp(const uint8_t a[WG_TIMESTAMP_LEN],
				      const uint8_t b[WG_TIMESTAMP_LEN])
{
	for (int i = 0; i < WG_TIMESTAMP_LEN; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}

#endif
