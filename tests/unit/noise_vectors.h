#ifndef TESTS_UNIT_NOISE_VECTORS_H
#define TESTS_UNIT_NOISE_VECTORS_H

#include <string.h>

#include <sodium.h>

#include "jit/key.h"
#include "jit/noise.h"

/*
 * Initiations captured from wireguard-go 0.0.20220316 by
 * tests/net/noise-wggo.sh (KEEP_CAPTURE=DIR), two per client. The gateway
 * private keys are test-only.
 */
static const struct noise_vector {
	const char *gw_private;
	const char *client_public;
	const char *tai64n;
	const char *iso;
	const char *msg;
} noise_vectors[] = {
	{ "+AE9qlrZtj8mX9f7Ws82XuIG6hYCqchSre6li7fHvls=", "ZTqBG8+byoDi8FNCSBpR9F/an75U6MjEeAXy/Z53+So=",
	  "400000006b062cd611000000", "2026-11-25T00:33:16.285212672Z",
	  "01000000d4a9331e09990ddbda762bc1eb9da3589a5c4dfe2f7a78439dbca2ed7699d39e8f"
	  "39756263ad43664c122b738af4c6ed117daf4eb3df9d437a8a776d48373642f1db500c99d7"
	  "4f1859abedb51791d73f1bdfa6e3948be1fce3d4a0094bf383e48182570d1f7db9f1ceb1e5"
	  "1c2af54221a3bfab53f2b56ae2f766a7df989edb9e00000000000000000000000000000000" },
	{ "+AE9qlrZtj8mX9f7Ws82XuIG6hYCqchSre6li7fHvls=", "ZTqBG8+byoDi8FNCSBpR9F/an75U6MjEeAXy/Z53+So=",
	  "400000006b062cdb24000000", "2026-11-25T00:33:21.603979776Z",
	  "010000005743f3e9edc196db0d52a856e813c4118a570e243bf79db85832fbd4fa76809ba1"
	  "80957e852a9eed9d4c5ec125aa1cead3d48bfabf150d3f3f1e733ca73133709dd81e27e785"
	  "f7a02f45484ff292d17e784df758a1f6cebb3b5974ae66dd21130d1769917547cd56e079ad"
	  "42c1a58eab797971cdf5a8f9ef144eeb582051d7f000000000000000000000000000000000" },
	{ "gFdwE9pw1D/3Z+mIggVsRRyH71V+a9QdhbQpTi/4/EA=", "T3PZePynL+8yT764alPnWs0U/9n+Xe7RbSUZ2BuKZUQ=",
	  "400000006b062ce02d000000", "2026-11-25T00:33:26.754974720Z",
	  "01000000811f21f20bd728515c7f72c64a518fbba9f99124930d35f0be0777eddf1bc9f881"
	  "9b3276dfd84df5d73a2933cbbf77463a72f394faca380210daf67d0bf70780814b3e3f805f"
	  "45cc822da1c7a6e9e2731535683b642c0baa2fcec68ae7f364e67a23d8fc1d94dca0905e8b"
	  "c5ea5e23f4b658c1e15f63cce0f42f7cd070e8238700000000000000000000000000000000" },
	{ "gFdwE9pw1D/3Z+mIggVsRRyH71V+a9QdhbQpTi/4/EA=", "T3PZePynL+8yT764alPnWs0U/9n+Xe7RbSUZ2BuKZUQ=",
	  "400000006b062ce535000000", "2026-11-25T00:33:31.889192448Z",
	  "01000000f2645256595c8bf6479e182dca98e777605422d071e9438bc4ffaf7dcd2b54cc97"
	  "eefc0bf1d7a1132c35aeb6fdb8618abc99e59157e3d887629d7d0ee6a3bd14481f2d561c3c"
	  "7d67a889e4f1558391276eddd7d3dbb9df87ab3c2cff39f424ca109759919709469bad5591"
	  "120de426c26662c079fc369b60c3861b1131ca19fa00000000000000000000000000000000" },
};
#define N_NOISE_VECTORS (sizeof(noise_vectors) / sizeof(noise_vectors[0]))

static inline void noise_vector_hex(uint8_t *out, size_t len, const char *in)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, len, in, strlen(in), NULL, &got, NULL), 0);
	assert_int_equal(got, len);
}

/* For cmocka tests: decodes one vector, failing the test on a typo. */
static inline void noise_vector_load(const struct noise_vector *v, uint8_t gw[WG_KEY_LEN],
				     uint8_t client[WG_KEY_LEN], uint8_t ts[WG_TIMESTAMP_LEN],
				     uint8_t msg[WG_INITIATION_LEN])
{
	assert_int_equal(key_from_base64(gw, v->gw_private), 0);
	assert_int_equal(key_from_base64(client, v->client_public), 0);
	noise_vector_hex(ts, WG_TIMESTAMP_LEN, v->tai64n);
	noise_vector_hex(msg, WG_INITIATION_LEN, v->msg);
}

#endif
