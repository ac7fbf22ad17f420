#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "jit/noise.h"
#include "tests/tools/noise-initiator.h"

/*
 * Initiations captured from wireguard-go 0.0.20220316 by
 * tests/net/noise-wggo.sh (KEEP_CAPTURE=DIR), two per client. The gateway
 * private keys are test-only.
 */
static const struct vector {
	const char *gw_private;
	const char *client_public;
	const char *tai64n;
	const char *iso;
	const char *msg;
} vectors[] = {
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
#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* Curve25519 points of small order (u-coordinates, some non-canonical). */
static const char *const low_order[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};
#define N_LOW_ORDER (sizeof(low_order) / sizeof(low_order[0]))

static void hex(uint8_t *out, size_t len, const char *in)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, len, in, strlen(in), NULL, &got, NULL), 0);
	assert_int_equal(got, len);
}

static void load(const struct vector *v, uint8_t gw[WG_KEY_LEN], uint8_t client[WG_KEY_LEN],
		 uint8_t ts[WG_TIMESTAMP_LEN], uint8_t msg[WG_INITIATION_LEN])
{
	assert_int_equal(key_from_base64(gw, v->gw_private), 0);
	assert_int_equal(key_from_base64(client, v->client_public), 0);
	hex(ts, WG_TIMESTAMP_LEN, v->tai64n);
	hex(msg, WG_INITIATION_LEN, v->msg);
}

static struct noise_responder *responder(const uint8_t key[WG_KEY_LEN], unsigned int cache)
{
	struct noise_responder *r = NULL;

	assert_int_equal(noise_responder_new_cache(&r, key, cache), 0);
	assert_non_null(r);
	return r;
}

static void expect_ok(struct noise_responder *r, const uint8_t *msg, size_t len,
		      const uint8_t client[WG_KEY_LEN], const uint8_t ts[WG_TIMESTAMP_LEN])
{
	uint8_t got_key[WG_KEY_LEN], got_ts[WG_TIMESTAMP_LEN];

	assert_string_equal(noise_result_name(noise_unwrap(r, msg, len, got_key, got_ts)), "ok");
	assert_memory_equal(got_key, client, WG_KEY_LEN);
	assert_memory_equal(got_ts, ts, WG_TIMESTAMP_LEN);
}

static void expect(struct noise_responder *r, const uint8_t *msg, size_t len,
		   enum noise_result want)
{
	uint8_t key[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];

	/* Names, not numbers, so a failure says which reason came instead. */
	assert_string_equal(noise_result_name(noise_unwrap(r, msg, len, key, ts)),
			    noise_result_name(want));
}

static void test_wireguard_go_vectors(void **state)
{
	uint8_t gw[WG_KEY_LEN], client[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN], msg[WG_INITIATION_LEN];
	uint8_t prev_ts[WG_TIMESTAMP_LEN] = { 0 };
	char iso[NOISE_TIMESTAMP_ISO_LEN];

	(void)state;
	for (size_t i = 0; i < N_VECTORS; i++) {
		struct noise_responder *r;

		load(&vectors[i], gw, client, ts, msg);
		r = responder(gw, NOISE_CACHE_DEFAULT);
		assert_int_equal(noise_check_mac1(r, msg, sizeof(msg)), NOISE_OK);
		expect_ok(r, msg, sizeof(msg), client, ts);
		assert_int_equal(noise_timestamp_iso(iso, ts), 0);
		assert_string_equal(iso, vectors[i].iso);
		if (i % 2)
			assert_true(noise_timestamp_cmp(ts, prev_ts) > 0);
		memcpy(prev_ts, ts, sizeof(ts));
		noise_responder_free(r);
	}
}

static void test_public_key(void **state)
{
	static const uint8_t zero[WG_KEY_LEN];
	uint8_t gw[WG_KEY_LEN], pub[WG_KEY_LEN], want[WG_KEY_LEN];
	struct noise_responder *r = NULL;

	(void)state;
	assert_int_equal(key_from_base64(gw, vectors[0].gw_private), 0);
	crypto_scalarmult_base(want, gw);
	r = responder(gw, 0);
	noise_responder_public_key(r, pub);
	assert_memory_equal(pub, want, WG_KEY_LEN);
	noise_responder_free(r);
	r = NULL;
	assert_int_equal(noise_responder_new(&r, zero), -EINVAL);
	assert_null(r);
	noise_responder_free(NULL);
}

/* The static DH is cached per initiator, and only once authenticated. */
static void test_cache(void **state)
{
	uint8_t gw[WG_KEY_LEN], client[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN], msg[WG_INITIATION_LEN];
	uint8_t ts2[WG_TIMESTAMP_LEN], msg2[WG_INITIATION_LEN], bad[WG_INITIATION_LEN];
	uint8_t gw_pub[WG_KEY_LEN];
	struct noise_responder *r;
	struct noise_stats st;

	(void)state;
	load(&vectors[0], gw, client, ts, msg);
	load(&vectors[1], gw, client, ts2, msg2);
	r = responder(gw, NOISE_CACHE_DEFAULT);
	noise_responder_public_key(r, gw_pub);

	memcpy(bad, msg, sizeof(bad));
	bad[100] ^= 1;	/* in the encrypted timestamp */
	noise_initiator_mac1(bad, gw_pub);
	expect(r, bad, sizeof(bad), NOISE_ERR_TIMESTAMP);
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_misses, 1);
	assert_int_equal(st.cache_hits, 0);

	expect_ok(r, msg, sizeof(msg), client, ts);
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_misses, 2);	/* the failure above did not enter it */
	assert_int_equal(st.cache_hits, 0);

	expect_ok(r, msg2, sizeof(msg2), client, ts2);
	expect_ok(r, msg, sizeof(msg), client, ts);
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_misses, 2);
	assert_int_equal(st.cache_hits, 2);

	/* A cached DH still has to decrypt this message's timestamp. */
	expect(r, bad, sizeof(bad), NOISE_ERR_TIMESTAMP);
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_hits, 3);
	noise_responder_free(r);
}

/* One set of four: the fifth key evicts the least recently used. */
static void test_cache_eviction(void **state)
{
	uint8_t gw[WG_KEY_LEN], gw_pub[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	uint8_t priv[5][WG_KEY_LEN], pub[5][WG_KEY_LEN], msg[5][WG_INITIATION_LEN], e[WG_KEY_LEN];
	struct noise_responder *r;
	struct noise_stats st;

	(void)state;
	randombytes_buf(gw, sizeof(gw));
	r = responder(gw, 4);
	noise_responder_public_key(r, gw_pub);
	noise_initiator_tai64n(ts, 1700000000, 0);
	for (int i = 0; i < 5; i++) {
		randombytes_buf(priv[i], WG_KEY_LEN);
		randombytes_buf(e, sizeof(e));
		crypto_scalarmult_base(pub[i], priv[i]);
		assert_int_equal(noise_initiator_build(msg[i], gw_pub, priv[i], e, (uint32_t)i, ts), 0);
	}
	for (int i = 0; i < 4; i++)
		expect_ok(r, msg[i], WG_INITIATION_LEN, pub[i], ts);
	expect_ok(r, msg[0], WG_INITIATION_LEN, pub[0], ts);	/* 1 is now the oldest */
	expect_ok(r, msg[4], WG_INITIATION_LEN, pub[4], ts);
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_misses, 5);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cache_evictions, 1);
	expect_ok(r, msg[0], WG_INITIATION_LEN, pub[0], ts);
	expect_ok(r, msg[2], WG_INITIATION_LEN, pub[2], ts);
	expect_ok(r, msg[1], WG_INITIATION_LEN, pub[1], ts);
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_hits, 3);
	assert_int_equal(st.cache_misses, 6);
	noise_responder_free(r);

	/* Without a cache every unwrap does both DHs, with the same results. */
	r = responder(gw, 0);
	expect_ok(r, msg[3], WG_INITIATION_LEN, pub[3], ts);
	expect_ok(r, msg[3], WG_INITIATION_LEN, pub[3], ts);
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_hits + st.cache_misses, 0);
	noise_responder_free(r);
}

/*
 * Every bit of every field, as sent (mac1 catches all but mac2) and with mac1
 * recomputed for the gateway's key, so the step that covers the field is the
 * one that rejects it.
 */
static void test_bit_flips(void **state)
{
	uint8_t gw[WG_KEY_LEN], gw_pub[WG_KEY_LEN], client[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	uint8_t msg[WG_INITIATION_LEN], m[WG_INITIATION_LEN];
	struct noise_responder *r;

	(void)state;
	load(&vectors[2], gw, client, ts, msg);
	r = responder(gw, NOISE_CACHE_DEFAULT);
	noise_responder_public_key(r, gw_pub);
	for (size_t off = 0; off < WG_INITIATION_LEN; off++) {
		for (int bit = 0; bit < 8; bit++) {
			enum noise_result raw, fixed;

			if (off < 4)
				raw = fixed = NOISE_ERR_TYPE;
			else if (off < 8)	/* sender index: not part of the handshake hash */
				raw = NOISE_ERR_MAC1, fixed = NOISE_OK;
			else if (off < 88)	/* ephemeral, encrypted static */
				raw = NOISE_ERR_MAC1, fixed = NOISE_ERR_STATIC;
			else if (off < 116)
				raw = NOISE_ERR_MAC1, fixed = NOISE_ERR_TIMESTAMP;
			else if (off < 132)
				raw = fixed = NOISE_ERR_MAC1;
			else	/* mac2 plays no part without a cookie */
				raw = fixed = NOISE_OK;

			memcpy(m, msg, sizeof(m));
			m[off] ^= (uint8_t)(1u << bit);
			if (raw == NOISE_OK)
				expect_ok(r, m, sizeof(m), client, ts);
			else
				expect(r, m, sizeof(m), raw);
			if (off >= 116)
				continue;
			noise_initiator_mac1(m, gw_pub);
			if (fixed == NOISE_OK)
				expect_ok(r, m, sizeof(m), client, ts);
			else
				expect(r, m, sizeof(m), fixed);
		}
	}
	noise_responder_free(r);
}

static void test_wrong_key(void **state)
{
	uint8_t gw[WG_KEY_LEN], other[WG_KEY_LEN], other_pub[WG_KEY_LEN], client[WG_KEY_LEN];
	uint8_t ts[WG_TIMESTAMP_LEN], msg[WG_INITIATION_LEN];
	struct noise_responder *r;

	(void)state;
	load(&vectors[0], gw, client, ts, msg);
	assert_int_equal(key_from_base64(other, vectors[2].gw_private), 0);
	r = responder(other, NOISE_CACHE_DEFAULT);
	assert_int_equal(noise_check_mac1(r, msg, sizeof(msg)), NOISE_ERR_MAC1);
	expect(r, msg, sizeof(msg), NOISE_ERR_MAC1);
	/* Even with a mac1 valid for this key, the static key does not decrypt. */
	noise_responder_public_key(r, other_pub);
	noise_initiator_mac1(msg, other_pub);
	assert_int_equal(noise_check_mac1(r, msg, sizeof(msg)), NOISE_OK);
	expect(r, msg, sizeof(msg), NOISE_ERR_STATIC);
	noise_responder_free(r);
}

static void test_low_order(void **state)
{
	uint8_t gw[WG_KEY_LEN], gw_pub[WG_KEY_LEN], client[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	uint8_t msg[WG_INITIATION_LEN], point[WG_KEY_LEN], e[WG_KEY_LEN];
	struct noise_responder *r;
	struct noise_stats st;

	(void)state;
	load(&vectors[0], gw, client, ts, msg);
	r = responder(gw, NOISE_CACHE_DEFAULT);
	noise_responder_public_key(r, gw_pub);
	for (size_t i = 0; i < N_LOW_ORDER; i++) {
		hex(point, sizeof(point), low_order[i]);
		/* As the ephemeral, with a valid mac1: the DH check rejects it. */
		load(&vectors[0], gw, client, ts, msg);
		memcpy(msg + 8, point, WG_KEY_LEN);
		noise_initiator_mac1(msg, gw_pub);
		assert_int_equal(noise_check_mac1(r, msg, sizeof(msg)), NOISE_OK);
		expect(r, msg, sizeof(msg), NOISE_ERR_EPHEMERAL);
		/* As the initiator's static key, correctly encrypted. */
		randombytes_buf(e, sizeof(e));
		assert_int_equal(noise_initiator_build_forged(msg, gw_pub, point, e, 7, ts), 0);
		expect(r, msg, sizeof(msg), NOISE_ERR_STATIC_KEY);
	}
	noise_responder_stats(r, &st);
	assert_int_equal(st.cache_hits, 0);
	noise_responder_free(r);
}

static void test_lengths_and_types(void **state)
{
	static const size_t lengths[] = { 0, 1, 4, 32, 116, 132, 147, 149, 150, 1500 };
	uint8_t gw[WG_KEY_LEN], gw_pub[WG_KEY_LEN], client[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	uint8_t msg[WG_INITIATION_LEN], big[1500];
	struct noise_responder *r;

	(void)state;
	load(&vectors[0], gw, client, ts, msg);
	r = responder(gw, NOISE_CACHE_DEFAULT);
	noise_responder_public_key(r, gw_pub);
	memset(big, 0, sizeof(big));
	memcpy(big, msg, sizeof(msg));
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		expect(r, big, lengths[i], NOISE_ERR_LENGTH);
		assert_int_equal(noise_check_mac1(r, big, lengths[i]), NOISE_ERR_LENGTH);
	}
	expect_ok(r, big, WG_INITIATION_LEN, client, ts);
	/* Types 2, 3, 4 and a type 1 with a non-zero reserved byte, mac1 valid. */
	for (int i = 0; i < 4; i++) {
		load(&vectors[0], gw, client, ts, msg);
		if (i < 3)
			msg[0] = (uint8_t)(2 + i);
		else
			msg[3] = 1;
		noise_initiator_mac1(msg, gw_pub);
		expect(r, msg, sizeof(msg), NOISE_ERR_TYPE);
	}
	/* Garbage of the right length and type stops at mac1. */
	randombytes_buf(msg, sizeof(msg));
	memcpy(msg, "\1\0\0\0", 4);
	assert_int_equal(noise_check_mac1(r, msg, sizeof(msg)), NOISE_ERR_MAC1);
	expect(r, msg, sizeof(msg), NOISE_ERR_MAC1);
	noise_responder_free(r);
}

/* Initiations built here with fresh keys agree with the responder. */
static void test_generated(void **state)
{
	uint8_t gw[WG_KEY_LEN], gw_pub[WG_KEY_LEN], priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	uint8_t e[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN], msg[WG_INITIATION_LEN];
	struct noise_responder *r;

	(void)state;
	randombytes_buf(gw, sizeof(gw));
	r = responder(gw, NOISE_CACHE_DEFAULT);
	noise_responder_public_key(r, gw_pub);
	for (uint32_t i = 0; i < 32; i++) {
		randombytes_buf(priv, sizeof(priv));
		randombytes_buf(e, sizeof(e));
		crypto_scalarmult_base(pub, priv);
		noise_initiator_tai64n(ts, 1764000000 + i, i * 1000);
		assert_int_equal(noise_initiator_build(msg, gw_pub, priv, e, i, ts), 0);
		expect_ok(r, msg, sizeof(msg), pub, ts);
	}
	noise_responder_free(r);
}

static void test_names_and_timestamps(void **state)
{
	char iso[NOISE_TIMESTAMP_ISO_LEN];
	uint8_t ts[WG_TIMESTAMP_LEN];

	(void)state;
	for (int i = 0; i < NOISE_RESULT_COUNT; i++) {
		assert_string_not_equal(noise_result_name(i), "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(noise_result_name(i), noise_result_name(j));
	}
	assert_string_equal(noise_result_name(NOISE_RESULT_COUNT), "unknown");

	noise_initiator_tai64n(ts, 0, 0);
	assert_int_equal(noise_timestamp_iso(iso, ts), 0);
	assert_string_equal(iso, "1970-01-01T00:00:00.000000000Z");
	noise_initiator_tai64n(ts, 253402300799ULL, 999999999);
	assert_int_equal(noise_timestamp_iso(iso, ts), 0);
	assert_string_equal(iso, "9999-12-31T23:59:59.999999999Z");
	noise_initiator_tai64n(ts, 253402300800ULL, 0);
	assert_int_equal(noise_timestamp_iso(iso, ts), -EINVAL);
	noise_initiator_tai64n(ts, 1, 1000000000);
	assert_int_equal(noise_timestamp_iso(iso, ts), -EINVAL);
	memset(ts, 0, sizeof(ts));
	assert_int_equal(noise_timestamp_iso(iso, ts), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wireguard_go_vectors),
		cmocka_unit_test(test_public_key),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_lengths_and_types),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_names_and_timestamps),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
