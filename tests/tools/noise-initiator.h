#ifndef TESTS_TOOLS_NOISE_INITIATOR_H
#define TESTS_TOOLS_NOISE_INITIATOR_H

#include <stddef.h>
#include <stdint.h>

#include "jit/noise.h"

/*
 * Test-only sides of WireGuard's handshake, written from the protocol with
 * OpenSSL's one-shot calls and libsodium (independent of jit/noise.c's code
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

/*
 * A whole handshake, either side, for test clients that speak just enough
 * WireGuard to connect: message 2 (the response) and the first transport
 * message (the initiator's keepalive that confirms the session). No
 * preshared key, no cookies. Functions return 0, or -1 when a message does
 * not check out.
 */
#define WG_RESPONSE_LEN 92

struct noise_hs {
	uint8_t ck[32], h[32], e_priv[32];
	uint8_t remote_static[32];
	uint32_t index, remote_index;	/* ours (their receiver index), theirs */
	uint8_t send[32], recv[32];	/* transport keys, once complete */
};

/* As noise_initiator_build, keeping what the response needs. */
int noise_hs_initiate(struct noise_hs *hs, uint8_t msg[WG_INITIATION_LEN],
		      const uint8_t responder_pub[WG_KEY_LEN], const uint8_t initiator_priv[WG_KEY_LEN],
		      const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
		      const uint8_t timestamp[WG_TIMESTAMP_LEN]);
/* The initiator consumes the response to its initiation: the session is up. */
int noise_hs_finish(struct noise_hs *hs, const uint8_t msg[WG_RESPONSE_LEN],
		    const uint8_t initiator_priv[WG_KEY_LEN]);
/*
 * The responder consumes an initiation (mac1, static key, timestamp; the
 * initiator's key lands in hs->remote_static) and writes its response.
 */
int noise_hs_respond(struct noise_hs *hs, const uint8_t init[WG_INITIATION_LEN],
		     const uint8_t responder_priv[WG_KEY_LEN], uint8_t out[WG_RESPONSE_LEN],
		     const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender);
/* A transport message (type 4) for our index that decrypts with the session's key. */
int noise_hs_open(const struct noise_hs *hs, const uint8_t *msg, size_t len);

#endif
