#ifndef TESTS_TOOLS_NOISE_INITIATOR_H
#define TESTS_TOOLS_NOISE_INITIATOR_H

#include <stdint.h>

#include "jit/noise.h"

/*
 * Test-only initiator side of WireGuard's first message, written from the
 * protocol with OpenSSL's one-shot calls (independent of jit/noise.c's code
 * paths). Returns 0, or -1 when a DH result is all zero.
 */
int noise_initiator_build(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN],
			  const uint8_t initiator_priv[WG_KEY_LEN],
			  const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
			  const uint8_t timestamp[WG_TIMESTAMP_LEN]);

/*
 * Claims static_pub (e.g. a low-order point) as the initiator's key without
 * its private key: the static-static DH is taken as all zero.
 */
int noise_initiator_build_forged(uint8_t msg[WG_INITIATION_LEN],
				 const uint8_t responder_pub[WG_KEY_LEN],
				 const uint8_t static_pub[WG_KEY_LEN],
				 const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
				 const uint8_t timestamp[WG_TIMESTAMP_LEN]);

/* Recomputes mac1 over msg[0:116] for responder_pub. */
void noise_initiator_mac1(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN]);

/* TAI64N label for Unix time secs.nanos, as wireguard-go writes it. */
void noise_initiator_tai64n(uint8_t out[WG_TIMESTAMP_LEN], uint64_t secs, uint32_t nanos);

#endif
