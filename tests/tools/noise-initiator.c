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

/* KDF_n: t1, t2, t3 (t2 and t3 may be NULL). */
static void kdf(uint8_t t1[32], uint8_t t2[32], uint8_t t3[32], const uint8_t ck[32],
		const void *x, size_t xlen)
{
	uint8_t t0[32], in[33], out[32];

	hmac(t0, ck, x, xlen);
	in[0] = 1;
	hmac(out, t0, in, 1);
	memcpy(t1, out, 32);
	for (uint8_t i = 2; i <= 3 && (i == 2 ? t2 : t3); i++) {
		memcpy(in, out, 32);
		in[32] = i;
		hmac(out, t0, in, 33);
		memcpy(i == 2 ? t2 : t3, out, 32);
	}
}

static void kdf2(uint8_t t1[32], uint8_t t2[32], const uint8_t ck[32], const void *x, size_t xlen)
{
	kdf(t1, t2, NULL, ck, x, xlen);
}

/* mac1 over msg[0:len] for the receiver's public key, written at msg[len]. */
static void mac1(uint8_t *msg, size_t len, const uint8_t receiver_pub[WG_KEY_LEN])
{
	size_t size = 16, outlen = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_END,
	};
	uint8_t key[32];

	hash(key, "mac1----", 8, receiver_pub, 32);
	must(EVP_Q_mac(NULL, "BLAKE2SMAC", NULL, NULL, params, key, 32, msg, len, msg + len, 16,
		       &outlen) != NULL && outlen == 16);
}

void noise_initiator_mac1(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN])
{
	mac1(msg, 116, responder_pub);
}

void noise_initiator_tai64n(uint8_t out[WG_TIMESTAMP_LEN], uint64_t secs, uint32_t nanos)
{
	uint64_t label = 0x400000000000000aULL + secs;

	for (int i = 7; i >= 0; i--, label >>= 8)
		out[i] = (uint8_t)label;
	for (int i = 11; i >= 8; i--, nanos >>= 8)
		out[i] = (uint8_t)nanos;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ck and h before message 1, for the responder's public key. */
static void chain_start(uint8_t ck[32], uint8_t h[32], const uint8_t responder_pub[WG_KEY_LEN])
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

	hash(ck, construction, strlen(construction), NULL, 0);
	hash(h, ck, 32, identifier, strlen(identifier));
	hash(h, h, 32, responder_pub, 32);
}

static int build(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN],
		 const uint8_t *initiator_priv, const uint8_t *static_pub,
		 const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
		 const uint8_t timestamp[WG_TIMESTAMP_LEN], struct noise_hs *hs)
{
	uint8_t ck[32], h[32], k[32], dh[32], ipub[32];

	memset(msg, 0, WG_INITIATION_LEN);
	msg[0] = 1;
	put_le32(msg + 4, sender);
	chain_start(ck, h, responder_pub);

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
	if (hs) {
		hash(hs->h, h, 32, msg + 88, 28);
		memcpy(hs->ck, ck, 32);
		memcpy(hs->e_priv, ephemeral_priv, 32);
		memcpy(hs->remote_static, responder_pub, 32);
		hs->index = sender;
	}
	return 0;
}

int noise_initiator_build(uint8_t msg[WG_INITIATION_LEN], const uint8_t responder_pub[WG_KEY_LEN],
			  const uint8_t initiator_priv[WG_KEY_LEN],
			  const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
			  const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	return build(msg, responder_pub, initiator_priv, NULL, ephemeral_priv, sender, timestamp,
		     NULL);
}

int noise_initiator_build_forged(uint8_t msg[WG_INITIATION_LEN],
				 const uint8_t responder_pub[WG_KEY_LEN],
				 const uint8_t static_pub[WG_KEY_LEN],
				 const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
				 const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	return build(msg, responder_pub, NULL, static_pub, ephemeral_priv, sender, timestamp, NULL);
}

int noise_hs_initiate(struct noise_hs *hs, uint8_t msg[WG_INITIATION_LEN],
		      const uint8_t responder_pub[WG_KEY_LEN], const uint8_t initiator_priv[WG_KEY_LEN],
		      const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender,
		      const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	return build(msg, responder_pub, initiator_priv, NULL, ephemeral_priv, sender, timestamp, hs);
}

/*
 * Message 2's chain, the same on both sides: e_pub is the responder's
 * ephemeral, dh1 = DH(e_r, e_i), dh2 = DH(e_r, s_i); then the empty AEAD
 * under h, sealed (responder) or opened (initiator) at msg[44:60], and the
 * transport keys.
 */
static int response_chain(struct noise_hs *hs, uint8_t msg[WG_RESPONSE_LEN],
			  const uint8_t dh1[32], const uint8_t dh2[32], bool seal)
{
	static const uint8_t psk[32];
	uint8_t t[32], k[32], first[32], second[32];

	hash(hs->h, hs->h, 32, msg + 12, 32);
	kdf(hs->ck, NULL, NULL, hs->ck, msg + 12, 32);
	kdf(hs->ck, NULL, NULL, hs->ck, dh1, 32);
	kdf(hs->ck, NULL, NULL, hs->ck, dh2, 32);
	kdf(hs->ck, t, k, hs->ck, psk, 32);
	hash(hs->h, hs->h, 32, t, 32);
	if (seal)
		crypto_aead_chacha20poly1305_ietf_encrypt(msg + 44, NULL, NULL, 0, hs->h, 32, NULL,
							  zero_nonce, k);
	else if (crypto_aead_chacha20poly1305_ietf_decrypt(NULL, NULL, NULL, msg + 44, 16, hs->h, 32,
							   zero_nonce, k) < 0)
		return -1;
	hash(hs->h, hs->h, 32, msg + 44, 16);
	kdf2(first, second, hs->ck, NULL, 0);
	/* the initiator sends with the first key */
	memcpy(seal ? hs->recv : hs->send, first, 32);
	memcpy(seal ? hs->send : hs->recv, second, 32);
	return 0;
}

int noise_hs_finish(struct noise_hs *hs, const uint8_t msg[WG_RESPONSE_LEN],
		    const uint8_t initiator_priv[WG_KEY_LEN])
{
	uint8_t copy[WG_RESPONSE_LEN], pub[32], check[WG_RESPONSE_LEN], dh1[32], dh2[32];

	memcpy(copy, msg, sizeof(copy));
	if (msg[0] != 2 || msg[1] || msg[2] || msg[3] ||
	    (uint32_t)(msg[8] | msg[9] << 8 | msg[10] << 16 | (uint32_t)msg[11] << 24) != hs->index)
		return -1;
	crypto_scalarmult_base(pub, initiator_priv);
	memcpy(check, msg, sizeof(check));
	mac1(check, 60, pub);
	if (sodium_memcmp(check + 60, msg + 60, 16) != 0)
		return -1;
	if (crypto_scalarmult(dh1, hs->e_priv, msg + 12) < 0 ||
	    crypto_scalarmult(dh2, initiator_priv, msg + 12) < 0)
		return -1;
	hs->remote_index = (uint32_t)(msg[4] | msg[5] << 8 | msg[6] << 16 | (uint32_t)msg[7] << 24);
	return response_chain(hs, copy, dh1, dh2, false);
}

int noise_hs_respond(struct noise_hs *hs, const uint8_t init[WG_INITIATION_LEN],
		     const uint8_t responder_priv[WG_KEY_LEN], uint8_t out[WG_RESPONSE_LEN],
		     const uint8_t ephemeral_priv[WG_KEY_LEN], uint32_t sender)
{
	uint8_t pub[32], k[32], dh[32], dh2[32], ts[WG_TIMESTAMP_LEN], check[WG_INITIATION_LEN];

	if (init[0] != 1 || init[1] || init[2] || init[3])
		return -1;
	crypto_scalarmult_base(pub, responder_priv);
	memcpy(check, init, sizeof(check));
	noise_initiator_mac1(check, pub);
	if (sodium_memcmp(check + 116, init + 116, 16) != 0)
		return -1;
	chain_start(hs->ck, hs->h, pub);
	hash(hs->h, hs->h, 32, init + 8, 32);
	kdf(hs->ck, NULL, NULL, hs->ck, init + 8, 32);
	if (crypto_scalarmult(dh, responder_priv, init + 8) < 0)
		return -1;
	kdf2(hs->ck, k, hs->ck, dh, 32);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(hs->remote_static, NULL, NULL, init + 40, 48,
						      hs->h, 32, zero_nonce, k) < 0)
		return -1;
	hash(hs->h, hs->h, 32, init + 40, 48);
	if (crypto_scalarmult(dh, responder_priv, hs->remote_static) < 0)
		return -1;
	kdf2(hs->ck, k, hs->ck, dh, 32);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(ts, NULL, NULL, init + 88, 28, hs->h, 32,
						      zero_nonce, k) < 0)
		return -1;
	hash(hs->h, hs->h, 32, init + 88, 28);

	memset(out, 0, WG_RESPONSE_LEN);
	out[0] = 2;
	put_le32(out + 4, sender);
	memcpy(out + 8, init + 4, 4);
	crypto_scalarmult_base(out + 12, ephemeral_priv);
	if (crypto_scalarmult(dh, ephemeral_priv, init + 8) < 0 ||
	    crypto_scalarmult(dh2, ephemeral_priv, hs->remote_static) < 0)
		return -1;
	response_chain(hs, out, dh, dh2, true);
	mac1(out, 60, hs->remote_static);
	hs->index = sender;
	hs->remote_index = (uint32_t)(init[4] | init[5] << 8 | init[6] << 16 |
				      (uint32_t)init[7] << 24);
	return 0;
}

int noise_hs_open(const struct noise_hs *hs, const uint8_t *msg, size_t len)
{
	uint8_t nonce[12] = { 0 };

	if (len < 32 || msg[0] != 4 || msg[1] || msg[2] || msg[3] ||
	    (uint32_t)(msg[4] | msg[5] << 8 | msg[6] << 16 | (uint32_t)msg[7] << 24) != hs->index)
		return -1;
	memcpy(nonce + 4, msg + 8, 8);
	return crypto_aead_chacha20poly1305_ietf_decrypt(NULL, NULL, NULL, msg + 16, len - 16, NULL,
							 0, nonce, hs->recv) < 0 ? -1 : 0;
}
