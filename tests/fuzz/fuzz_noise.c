#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jit/noise.h"
#include "tests/tools/noise-initiator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The gateway key of the seeds (tests/fuzz/seeds/fuzz_noise, from wireguard-go). */
static const char gw_private[] = "+AE9qlrZtj8mX9f7Ws82XuIG6hYCqchSre6li7fHvls=";

static struct noise_responder *cached, *uncached;
static uint8_t gw_pub[WG_KEY_LEN];

static void setup(void)
{
	uint8_t key[WG_KEY_LEN];

	if (key_from_base64(key, gw_private) < 0 ||
	    noise_responder_new_cache(&cached, key, 16) < 0 ||
	    noise_responder_new_cache(&uncached, key, 0) < 0)
		__builtin_trap();
	noise_responder_public_key(cached, gw_pub);
}

/* Both responders must agree, and success implies a valid mac1. */
static void unwrap(const uint8_t *msg, size_t len)
{
	uint8_t k1[WG_KEY_LEN], k2[WG_KEY_LEN], t1[WG_TIMESTAMP_LEN], t2[WG_TIMESTAMP_LEN];
	enum noise_result a, b;

	a = noise_unwrap(cached, msg, len, k1, t1);
	b = noise_unwrap(uncached, msg, len, k2, t2);
	if (a != b || a >= NOISE_RESULT_COUNT)
		__builtin_trap();
	if (a == NOISE_OK &&
	    (memcmp(k1, k2, sizeof(k1)) || memcmp(t1, t2, sizeof(t1)) ||
	     noise_check_mac1(cached, msg, len) != NOISE_OK))
		__builtin_trap();
}

/*
 * The input as it is, then, at the initiation's length, with mac1 made
 * valid so that mutations reach the DH and AEAD steps.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t msg[WG_INITIATION_LEN];

	if (!cached)
		setup();
	unwrap(data, size);
	if (size == WG_INITIATION_LEN) {
		memcpy(msg, data, size);
		noise_initiator_mac1(msg, gw_pub);
		unwrap(msg, size);
	}
	return 0;
}
