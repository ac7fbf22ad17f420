#include "tests/tools/noise-initiator.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

static const uint8_t zero_nonce[12];

static void must(int ok)
{
	if (!ok)
		abort();
}

static void hash(uint8_t out[32], const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t buf[256];

	must(alen + blen <= sizeof(buf));
	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	must(EVP_Q_digest(NULL, "BLAKE2S-256", NULL, buf, alen + blen, out, NULL));
}

static void hmac(uint8_t out[32], const uint8_t key[32], const void *in, size_t inlen)
{
	size_t outlen = 0;

	must(EVP_Q_mac(NULL, "HMAC", NULL, "BLAKE2S-256", NULL, key, 32, in, inlen, out, 32,
		       &outlen) != NULL && outlen == 32);
}

static void kdf2(uint8_t t1[32], uint8_t t2[32], const uint8_t ck[32], const void *x, size_t xlen)
{
	uint8_t t0[32], in[33];

	hmac(t0, ck, x, xlen);
	in[0] = 1;
	hmac(in, t0, in, 1);
	if (t2) {
		in[32] = 2;
		hmac(t2, t0, in, 33);
	}
	memcpy(t1, in, 32);
}

void noise_initiator_mac1(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN])
{
	size_t size = 16, outlen = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_END,
	};
	uint8_t key[32];

	hash(key, "mac1----", 8, responder_pub, 32);
	must(EVP_Q_mac(NULL, "BLAKE2SMAC", NULL, NULL, params, key, 32, msg, 116, msg + 116, 16,
		       &outlen) != NULL && outlen == 16);
}

void noise_initiator_tai64n(uint8_t out[WG_TIMESTAMP_LEN], uint64_t secs, uint32_t nanos)
{
	uint64_t label = 0x400000000000000aULL + secs;

	for (int i = 7; i >= 0; i--, label >>= 8)
		out[i] = (uint8_t)label;
	for (int i = 11; i >= 8; i--, nanos >>= 8)
		out[i] = (uint8_t)nanos;
}

static int build(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN],
		 const uint8_t *initiator_priv, const uint8_t *static_pub,
		 const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
		 const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t ck[32], h[32], k[32], dh[32], ipub[32];

	memset(msg, 0, WG_INITIATION_LEN);
	msg[0] = 1;
	for (int i = 0; i < 4; i++)
		msg[4 + i] = (uint8_t)(sender >> (8 * i));
	hash(ck, construction, strlen(construction), NULL, 0);
	hash(h, ck, 32, identifier, strlen(identifier));
	hash(h, h, 32, responder_pub, 32);

	crypto_scalarmult_base(msg + 8, ephemeral_priv);
	hash(h, h, 32, msg + 8, 32);
	kdf2(ck, NULL, ck, msg + 8, 32);

	if (crypto_scalarmult(dh, ephemeral_priv, responder_pub) < 0)
		return -1;
	kdf2(ck, k, ck, dh, 32);
	if (initiator_priv)
		crypto_scalarmult_base(ipub, initiator_priv);
	else
		memcpy(ipub, static_pub, 32);
	crypto_aead_chacha20poly1305_ietf_encrypt(msg + 40, NULL, ipub, 32, h, 32, NULL, zero_nonce, k);
	hash(h, h, 32, msg + 40, 48);

	if (!initiator_priv)
		memset(dh, 0, sizeof(dh));
	else if (crypto_scalarmult(dh, initiator_priv, responder_pub) < 0)
		return -1;
	kdf2(ck, k, ck, dh, 32);
	crypto_aead_chacha20poly1305_ietf_encrypt(msg + 88, NULL, timestamp, 12, h, 32, NULL,
						  zero_nonce, k);
	noise_initiator_mac1(msg, responder_pub);
	return 0;
}

int noise_initiator_build(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN],
			  const uint8_t initiator_priv[WG_KEY_LEN],
			  const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
			  const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	return build(msg, responder_pub, initiator_priv, NULL, ephemeral_priv, sender, timestamp);
}

int noise_initiator_build_forged(uint8_t msg[WG_INITIATION_LEN],
				 const uint8_t responder_pub[WG_KEY_LEN],
				 const uint8_t static_pub[WG_KEY_LEN],
				 const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
				 const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	return build(msg, responder_pub, NULL, static_pub, ephemeral_priv, sender, timestamp);
}
