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
	NOISE_ERR_NOMEM,
	NOISE_RESULT_COUNT
};

struct noise_responder;

/*
 * The private key is copied into libsodium secure memory (locked, guarded)
 * and wiped on free. Not thread-safe: one responder per thread.
 */
int noise_responder_new(struct noise_responder **out, const uint8_t private_key[WG_KEY_LEN]);
void noise_responder_free(struct noise_responder *r);
void noise_responder_public_key(const struct noise_responder *r, uint8_t out[WG_KEY_LEN]);

/* Only the cheap mac1 check: NOISE_OK, NOISE_ERR_LENGTH, _TYPE or _MAC1. */
enum noise_result noise_check_mac1(const struct noise_responder *r, const uint8_t *msg, size_t len);

/* Full unwrap: on NOISE_OK the initiator's key is authenticated. */
enum noise_result noise_unwrap(struct noise_responder *r, const uint8_t *msg, size_t len,
			       uint8_t initiator_static[WG_KEY_LEN],
			       uint8_t timestamp[WG_TIMESTAMP_LEN]);

/* Stable names for metrics and logs: "ok", "length", "type", "mac1", ... */
const char *noise_result_name(enum noise_result result);

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
