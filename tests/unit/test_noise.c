#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "jit/noise.h"
#include "tests/unit/noise_vectors.h"
#include "tests/tools/noise-initiator.h"


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
	for (size_t i = 0; i < N_NOISE_VECTORS; i++) {
		struct noise_responder *r;
		struct noise_mac1 *m;
		uint8_t pub[WG_KEY_LEN];

		noise_vector_load(&noise_vectors[i], gw, client, ts, msg);
		r = responder(gw, NOISE_CACHE_DEFAULT);
		assert_int_equal(noise_check_mac1(r, msg, sizeof(msg)), NOISE_OK);
		/* From the public key alone, as the event loops check it. */
		noise_responder_public_key(r, pub);
		assert_int_equal(noise_mac1_new(&m, pub), 0);
		assert_int_equal(noise_mac1_check(m, msg, sizeof(msg)), NOISE_OK);
		msg[120] ^= 1;
		assert_int_equal(noise_mac1_check(m, msg, sizeof(msg)), NOISE_ERR_MAC1);
		msg[120] ^= 1;
		noise_mac1_free(m);
		expect_ok(r, msg, sizeof(msg), client, ts);
		assert_int_equal(noise_timestamp_iso(iso, ts), 0);
		assert_string_equal(iso, noise_vectors[i].iso);
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
	assert_int_equal(key_from_base64(gw, noise_vectors[0].gw_private), 0);
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
	noise_vector_load(&noise_vectors[0], gw, client, ts, msg);
	noise_vector_load(&noise_vectors[1], gw, client, ts2, msg2);
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
	noise_vector_load(&noise_vectors[2], gw, client, ts, msg);
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
	noise_vector_load(&noise_vectors[0], gw, client, ts, msg);
	assert_int_equal(key_from_base64(other, noise_vectors[2].gw_private), 0);
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
	noise_vector_load(&noise_vectors[0], gw, client, ts, msg);
	r = responder(gw, NOISE_CACHE_DEFAULT);
	noise_responder_public_key(r, gw_pub);
	for (size_t i = 0; i < N_LOW_ORDER; i++) {
		noise_vector_hex(point, sizeof(point), low_order[i]);
		/* As the ephemeral, with a valid mac1: the DH check rejects it. */
		noise_vector_load(&noise_vectors[0], gw, client, ts, msg);
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
	noise_vector_load(&noise_vectors[0], gw, client, ts, msg);
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
		noise_vector_load(&noise_vectors[0], gw, client, ts, msg);
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
