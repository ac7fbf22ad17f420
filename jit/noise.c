#include "jit/noise.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#define HASH_LEN 32
#define HASH_BLOCK 64
#define MAC1_LEN 16
#define AEAD_TAG 16
#define CACHE_WAYS 4

#define OFF_EPHEMERAL 8
#define OFF_STATIC 40
#define LEN_STATIC (WG_KEY_LEN + AEAD_TAG)
#define OFF_TIMESTAMP 88
#define LEN_TIMESTAMP (WG_TIMESTAMP_LEN + AEAD_TAG)
#define OFF_MAC1 116

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char label_mac1[] = "mac1----";
static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

struct cache_entry {
	uint8_t key[WG_KEY_LEN];
	uint8_t dh[WG_KEY_LEN];
	uint64_t used;		/* 0: empty; otherwise the tick of the last use */
};

/* BLAKE2SMAC keyed with HASH("mac1----" || S_pub): needs the public key only. */
struct noise_mac1 {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

/* What must not leak: one sodium_malloc block, locked and wiped on free. */
struct noise_secret {
	uint8_t private_key[WG_KEY_LEN];
};

struct noise_responder {
	struct noise_secret *secret;
	uint8_t public_key[WG_KEY_LEN];
	uint8_t ck0[HASH_LEN];	/* HASH(CONSTRUCTION) */
	uint8_t h0[HASH_LEN];	/* HASH(HASH(ck0 || IDENTIFIER) || S_pub) */
	EVP_MD *md;
	EVP_MD_CTX *md_ctx;
	struct noise_mac1 *mac1;
	struct cache_entry *cache;	/* sodium_malloc, nsets * CACHE_WAYS */
	size_t cache_sets;	/* a power of two, or 0 */
	uint64_t tick;
	uint8_t cache_hash_key[crypto_shorthash_KEYBYTES];
	struct noise_stats stats;
};

static int hash2(struct noise_responder *r, uint8_t out[HASH_LEN], const void *a, size_t alen,
		 const void *b, size_t blen)
{
	if (!EVP_DigestInit_ex2(r->md_ctx, r->md, NULL) ||
	    !EVP_DigestUpdate(r->md_ctx, a, alen) ||
	    (blen && !EVP_DigestUpdate(r->md_ctx, b, blen)) ||
	    !EVP_DigestFinal_ex(r->md_ctx, out, NULL))
		return -ENOMEM;
	return 0;
}

/*
 * RFC 2104 HMAC over OpenSSL's BLAKE2s-256; measured faster than EVP_MAC
 * "HMAC", which duplicates digest contexts on every init and final. Keys
 * here are always 32 bytes, shorter than the block, so they are only padded.
 */
static int hmac(struct noise_responder *r, uint8_t out[HASH_LEN], const uint8_t key[HASH_LEN],
		const uint8_t *in, size_t inlen)
{
	uint8_t buf[HASH_BLOCK + HASH_BLOCK];
	int ret = -ENOMEM;

	if (inlen > HASH_BLOCK)
		return -EINVAL;
	for (size_t i = 0; i < HASH_BLOCK; i++)
		buf[i] = (i < HASH_LEN ? key[i] : 0) ^ 0x36;
	memcpy(buf + HASH_BLOCK, in, inlen);
	if (hash2(r, buf + HASH_BLOCK, buf, HASH_BLOCK + inlen, NULL, 0) < 0)
		goto out;
	for (size_t i = 0; i < HASH_BLOCK; i++)
		buf[i] = (i < HASH_LEN ? key[i] : 0) ^ 0x5c;
	if (hash2(r, out, buf, HASH_BLOCK + HASH_LEN, NULL, 0) < 0)
		goto out;
	ret = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* KDF1 (t2 == NULL) or KDF2 of PROTOCOL.md section 2. t1 may alias ck. */
static int kdf(struct noise_responder *r, uint8_t t1[HASH_LEN], uint8_t t2[HASH_LEN],
	       const uint8_t ck[HASH_LEN], const uint8_t *x, size_t xlen)
{
	uint8_t t0[HASH_LEN], in[HASH_LEN + 1];
	int ret;

	ret = hmac(r, t0, ck, x, xlen);
	if (ret < 0)
		goto out;
	in[0] = 1;
	ret = hmac(r, in, t0, in, 1);
	if (ret < 0)
		goto out;
	if (t2) {
		in[HASH_LEN] = 2;
		ret = hmac(r, t2, t0, in, HASH_LEN + 1);
		if (ret < 0)
			goto out;
	}
	memcpy(t1, in, HASH_LEN);
out:
	sodium_memzero(t0, sizeof(t0));
	sodium_memzero(in, sizeof(in));
	return ret;
}

static struct cache_entry *cache_set(struct noise_responder *r, const uint8_t key[WG_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t index;

	crypto_shorthash(h, key, WG_KEY_LEN, r->cache_hash_key);
	memcpy(&index, h, sizeof(index));
	return &r->cache[(index & (r->cache_sets - 1)) * CACHE_WAYS];
}

static bool cache_get(struct noise_responder *r, const uint8_t key[WG_KEY_LEN],
		      uint8_t dh[WG_KEY_LEN])
{
	struct cache_entry *set;

	if (!r->cache_sets)
		return false;
	set = cache_set(r, key);
	for (int i = 0; i < CACHE_WAYS; i++) {
		if (set[i].used && !memcmp(set[i].key, key, WG_KEY_LEN)) {
			set[i].used = ++r->tick;
			memcpy(dh, set[i].dh, WG_KEY_LEN);
			r->stats.cache_hits++;
			return true;
		}
	}
	r->stats.cache_misses++;
	return false;
}

static void cache_put(struct noise_responder *r, const uint8_t key[WG_KEY_LEN],
		      const uint8_t dh[WG_KEY_LEN])
{
	struct cache_entry *set, *victim;

	if (!r->cache_sets)
		return;
	set = cache_set(r, key);
	victim = &set[0];
	for (int i = 0; i < CACHE_WAYS; i++) {
		if (set[i].used && !memcmp(set[i].key, key, WG_KEY_LEN)) {
			victim = &set[i];
			break;
		}
		if (set[i].used < victim->used)
			victim = &set[i];
	}
	if (victim->used && memcmp(victim->key, key, WG_KEY_LEN))
		r->stats.cache_evictions++;
	memcpy(victim->key, key, WG_KEY_LEN);
	memcpy(victim->dh, dh, WG_KEY_LEN);
	victim->used = ++r->tick;
}

int noise_mac1_new(struct noise_mac1 **out, const uint8_t public_key[WG_KEY_LEN])
{
	uint8_t key[HASH_LEN], input[sizeof(label_mac1) - 1 + WG_KEY_LEN];
	size_t mac1_len = MAC1_LEN;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &mac1_len),
		OSSL_PARAM_END,
	};
	struct noise_mac1 *m;
	EVP_MD *md;
	int ret = -ENOMEM;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	if (!m || !md)
		goto out;
	memcpy(input, label_mac1, sizeof(label_mac1) - 1);
	memcpy(input + sizeof(label_mac1) - 1, public_key, WG_KEY_LEN);
	m->mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	m->ctx = m->mac ? EVP_MAC_CTX_new(m->mac) : NULL;
	if (!m->ctx || !EVP_Digest(input, sizeof(input), key, NULL, md, NULL) ||
	    !EVP_MAC_init(m->ctx, key, sizeof(key), params))
		goto out;
	*out = m;
	m = NULL;
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	EVP_MD_free(md);
	noise_mac1_free(m);
	return ret;
}

void noise_mac1_free(struct noise_mac1 *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	free(m);
}

enum noise_result noise_mac1_check(struct noise_mac1 *m, const uint8_t *msg, size_t len)
{
	static const uint8_t type[4] = { 1, 0, 0, 0 };
	uint8_t mac[MAC1_LEN];
	size_t mac_len = 0;

	if (len != WG_INITIATION_LEN)
		return NOISE_ERR_LENGTH;
	if (memcmp(msg, type, sizeof(type)))
		return NOISE_ERR_TYPE;
	/* Init without a key restarts from the key set at creation. */
	if (!EVP_MAC_init(m->ctx, NULL, 0, NULL) || !EVP_MAC_update(m->ctx, msg, OFF_MAC1) ||
	    !EVP_MAC_final(m->ctx, mac, &mac_len, sizeof(mac)) || mac_len != MAC1_LEN)
		return NOISE_ERR_NOMEM;
	if (CRYPTO_memcmp(mac, msg + OFF_MAC1, MAC1_LEN))
		return NOISE_ERR_MAC1;
	return NOISE_OK;
}

static int precompute(struct noise_responder *r)
{
	int ret;

	ret = hash2(r, r->ck0, construction, strlen(construction), NULL, 0);
	if (ret < 0)
		return ret;
	ret = hash2(r, r->h0, r->ck0, HASH_LEN, identifier, strlen(identifier));
	if (ret < 0)
		return ret;
	ret = hash2(r, r->h0, r->h0, HASH_LEN, r->public_key, WG_KEY_LEN);
	if (ret < 0)
		return ret;
	return noise_mac1_new(&r->mac1, r->public_key);
}

int noise_responder_new_cache(struct noise_responder **out, const uint8_t private_key[WG_KEY_LEN],
			      unsigned int cache_entries)
{
	struct noise_responder *r;
	size_t sets = 0;
	int ret = -ENOMEM;

	*out = NULL;
	if (sodium_init() < 0)
		return -ENOMEM;
	if (sodium_is_zero(private_key, WG_KEY_LEN))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->secret = sodium_malloc(sizeof(*r->secret));
	if (!r->secret)
		goto err;
	memcpy(r->secret->private_key, private_key, WG_KEY_LEN);
	crypto_scalarmult_base(r->public_key, r->secret->private_key);

	if (cache_entries) {
		sets = 1;
		while (sets * CACHE_WAYS < cache_entries)
			sets <<= 1;
		r->cache = sodium_allocarray(sets * CACHE_WAYS, sizeof(*r->cache));
		if (!r->cache)
			goto err;
		memset(r->cache, 0, sets * CACHE_WAYS * sizeof(*r->cache));
		r->cache_sets = sets;
		randombytes_buf(r->cache_hash_key, sizeof(r->cache_hash_key));
	}

	r->md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	r->md_ctx = EVP_MD_CTX_new();
	if (!r->md || !r->md_ctx)
		goto err;
	ret = precompute(r);
	if (ret < 0)
		goto err;
	*out = r;
	return 0;
err:
	noise_responder_free(r);
	return ret;
}

int noise_responder_new(struct noise_responder **out, const uint8_t private_key[WG_KEY_LEN])
{
	return noise_responder_new_cache(out, private_key, NOISE_CACHE_DEFAULT);
}

void noise_responder_free(struct noise_responder *r)
{
	if (!r)
		return;
	sodium_free(r->secret);	/* sodium_free wipes */
	sodium_free(r->cache);
	noise_mac1_free(r->mac1);
	EVP_MD_CTX_free(r->md_ctx);
	EVP_MD_free(r->md);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

void noise_responder_public_key(const struct noise_responder *r, uint8_t out[WG_KEY_LEN])
{
	memcpy(out, r->public_key, WG_KEY_LEN);
}

void noise_responder_stats(const struct noise_responder *r, struct noise_stats *out)
{
	*out = r->stats;
}

enum noise_result noise_check_mac1(const struct noise_responder *r, const uint8_t *msg, size_t len)
{
	return noise_mac1_check(r->mac1, msg, len);
}

enum noise_result noise_unwrap(struct noise_responder *r, const uint8_t *msg, size_t len,
			       uint8_t initiator_static[WG_KEY_LEN],
			       uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	const uint8_t *ephemeral = msg + OFF_EPHEMERAL;
	uint8_t h[HASH_LEN], ck[HASH_LEN], k[HASH_LEN], dh[WG_KEY_LEN];
	uint8_t spub[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	enum noise_result res;
	bool cached;

	res = noise_check_mac1(r, msg, len);
	if (res != NOISE_OK)
		return res;

	res = NOISE_ERR_NOMEM;
	if (hash2(r, h, r->h0, HASH_LEN, ephemeral, WG_KEY_LEN) < 0 ||
	    kdf(r, ck, NULL, r->ck0, ephemeral, WG_KEY_LEN) < 0)
		goto out;
	/* libsodium fails on an all-zero result, i.e. a low-order point. */
	if (crypto_scalarmult(dh, r->secret->private_key, ephemeral) < 0) {
		res = NOISE_ERR_EPHEMERAL;
		goto out;
	}
	if (kdf(r, ck, k, ck, dh, WG_KEY_LEN) < 0)
		goto out;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(spub, NULL, NULL, msg + OFF_STATIC, LEN_STATIC,
						      h, HASH_LEN, zero_nonce, k) < 0) {
		res = NOISE_ERR_STATIC;
		goto out;
	}
	if (hash2(r, h, h, HASH_LEN, msg + OFF_STATIC, LEN_STATIC) < 0)
		goto out;

	cached = cache_get(r, spub, dh);
	if (!cached && crypto_scalarmult(dh, r->secret->private_key, spub) < 0) {
		res = NOISE_ERR_STATIC_KEY;
		goto out;
	}
	if (kdf(r, ck, k, ck, dh, WG_KEY_LEN) < 0)
		goto out;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(ts, NULL, NULL, msg + OFF_TIMESTAMP,
						      LEN_TIMESTAMP, h, HASH_LEN, zero_nonce, k) < 0) {
		res = NOISE_ERR_TIMESTAMP;
		goto out;
	}
	if (!cached)
		cache_put(r, spub, dh);
	memcpy(initiator_static, spub, WG_KEY_LEN);
	memcpy(timestamp, ts, WG_TIMESTAMP_LEN);
	res = NOISE_OK;
out:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(dh, sizeof(dh));
	return res;
}

const char *noise_result_name(enum noise_result result)
{
	static const char *const names[NOISE_RESULT_COUNT] = {
		[NOISE_OK] = "ok",
		[NOISE_ERR_LENGTH] = "length",
		[NOISE_ERR_TYPE] = "type",
		[NOISE_ERR_MAC1] = "mac1",
		[NOISE_ERR_EPHEMERAL] = "ephemeral",
		[NOISE_ERR_STATIC] = "static",
		[NOISE_ERR_STATIC_KEY] = "static_key",
		[NOISE_ERR_TIMESTAMP] = "timestamp",
		[NOISE_ERR_NOMEM] = "nomem",
	};

	if ((unsigned int)result >= NOISE_RESULT_COUNT)
		return "unknown";
	return names[result];
}

int noise_timestamp_iso(char out[NOISE_TIMESTAMP_ISO_LEN], const uint8_t timestamp[WG_TIMESTAMP_LEN])
{
	const uint64_t base = 0x400000000000000aULL;
	uint64_t label = 0;
	uint32_t nanos = 0;
	struct tm tm;
	time_t secs;
	char date[20];

	for (int i = 0; i < 8; i++)
		label = label << 8 | timestamp[i];
	for (int i = 8; i < WG_TIMESTAMP_LEN; i++)
		nanos = nanos << 8 | timestamp[i];
	/* Before 1970 or past year 9999: not something a peer's clock says. */
	if (label < base || label - base > 253402300799ULL || nanos > 999999999)
		return -EINVAL;
	secs = (time_t)(label - base);
	if (!gmtime_r(&secs, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm))
		return -EINVAL;
	snprintf(out, NOISE_TIMESTAMP_ISO_LEN, "%s.%09uZ", date, (unsigned int)nanos);
	return 0;
}
