/*
 * Unwrap throughput on one core (make bench-unwrap). X25519 is the physical
 * limit of this step, so both libraries' X25519 rates are measured in the
 * same run and each unwrap rate is printed as a fraction of what that limit
 * allows: first-seen keys need two X25519s per unwrap, keys whose static DH
 * is cached one. The machine may be shared, so rates are per second of
 * this thread's CPU time, and the measurements run interleaved in short
 * slices (BENCH_ROUNDS, default 20, of BENCH_SECONDS, default 0.1) with each
 * reporting its best slice: all see the same background.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "jit/noise.h"
#include "tests/tools/noise-initiator.h"

#define N_KEYS 2048
#define N_GARBAGE 1024

static double seconds = 0.1;
static int rounds = 20;
static volatile uint8_t sink;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "unwrap bench: %s failed\n", what);
	exit(1);
}

/* Runs fn(ctx, batch) for one slice; returns calls per second. */
static double rate(void (*fn)(void *ctx, size_t n), void *ctx, size_t batch)
{
	double start = now(), elapsed;
	size_t calls = 0;

	do {
		fn(ctx, batch);
		calls += batch;
		elapsed = now() - start;
	} while (elapsed < seconds);
	return (double)calls / elapsed;
}

struct x25519 {
	uint8_t priv[32], pub[32], out[32];
	EVP_PKEY_CTX *ctx;
};

static void x25519_sodium(void *p, size_t n)
{
	struct x25519 *x = p;

	for (size_t i = 0; i < n; i++) {
		if (crypto_scalarmult(x->out, x->priv, x->pub) < 0)
			die("crypto_scalarmult");
		x->pub[0] ^= x->out[0];	/* a new point every time */
	}
}

/* As an unwrap would use it: the peer key is new each time. */
static void x25519_openssl(void *p, size_t n)
{
	struct x25519 *x = p;

	for (size_t i = 0; i < n; i++) {
		EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, x->pub, 32);
		size_t len = sizeof(x->out);

		if (!peer || EVP_PKEY_derive_set_peer_ex(x->ctx, peer, 0) <= 0 ||
		    EVP_PKEY_derive(x->ctx, x->out, &len) <= 0)
			die("EVP_PKEY_derive");
		EVP_PKEY_free(peer);
		x->pub[0] ^= x->out[0];
	}
}

struct hmacs {
	EVP_MAC_CTX *mac;
	EVP_MD *md;
	EVP_MD_CTX *md_ctx;
	uint8_t key[32], msg[33];
};

static void hmac_evp_mac(void *p, size_t n)
{
	struct hmacs *h = p;
	size_t len;

	for (size_t i = 0; i < n; i++) {
		len = 0;
		if (!EVP_MAC_init(h->mac, h->key, 32, NULL) || !EVP_MAC_update(h->mac, h->msg, 33) ||
		    !EVP_MAC_final(h->mac, h->key, &len, 32))
			die("EVP_MAC HMAC");
	}
}

/* The construction jit/noise.c uses: RFC 2104 over EVP_MD BLAKE2S-256. */
static void hmac_from_hash(void *p, size_t n)
{
	struct hmacs *h = p;
	uint8_t buf[64 + 64];

	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < 64; j++)
			buf[j] = (j < 32 ? h->key[j] : 0) ^ 0x36;
		memcpy(buf + 64, h->msg, 33);
		if (!EVP_DigestInit_ex2(h->md_ctx, h->md, NULL) ||
		    !EVP_DigestUpdate(h->md_ctx, buf, 64 + 33) ||
		    !EVP_DigestFinal_ex(h->md_ctx, buf + 64, NULL))
			die("BLAKE2S-256");
		for (int j = 0; j < 64; j++)
			buf[j] = (j < 32 ? h->key[j] : 0) ^ 0x5c;
		if (!EVP_DigestInit_ex2(h->md_ctx, h->md, NULL) ||
		    !EVP_DigestUpdate(h->md_ctx, buf, 64 + 32) ||
		    !EVP_DigestFinal_ex(h->md_ctx, h->key, NULL))
			die("BLAKE2S-256");
	}
}

struct unwraps {
	struct noise_responder *r;
	uint8_t gw[32];
	uint8_t (*msgs)[WG_INITIATION_LEN];
	size_t n_msgs, next;
	unsigned int cache;
	enum noise_result want;
	int fresh;	/* a new responder (empty cache) for every pass */
};

static void unwrap_pass(void *p, size_t n)
{
	struct unwraps *u = p;
	uint8_t key[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];

	for (size_t i = 0; i < n; i++) {
		if (noise_unwrap(u->r, u->msgs[u->next], WG_INITIATION_LEN, key, ts) != u->want)
			die("noise_unwrap (unexpected result)");
		sink ^= key[0];
		if (++u->next == u->n_msgs) {
			u->next = 0;
			if (u->fresh) {
				/* Not free: counted against the unwrap rate, which is fair. */
				noise_responder_free(u->r);
				if (noise_responder_new_cache(&u->r, u->gw, u->cache) < 0)
					die("noise_responder_new");
			}
		}
	}
}

static void pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("sched_setaffinity (unpinned)");
	else
		printf("pinned to cpu %d\n", cpu < 0 ? 0 : cpu);
}

struct measure {
	void (*fn)(void *ctx, size_t n);
	void *ctx;
	size_t batch;
	double best;
};

static void measure_all(struct measure *m, size_t n)
{
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++) {
			double v = rate(m[i].fn, m[i].ctx, m[i].batch);

			if (v > m[i].best)
				m[i].best = v;
		}
	}
}

static void unwraps_init(struct unwraps *u, const uint8_t gw[32], uint8_t (*msgs)[WG_INITIATION_LEN],
			 size_t n_msgs, unsigned int cache, enum noise_result want, int fresh)
{
	memcpy(u->gw, gw, 32);
	u->msgs = msgs;
	u->n_msgs = n_msgs;
	u->cache = cache;
	u->want = want;
	u->fresh = fresh;
	u->next = 0;
	if (noise_responder_new_cache(&u->r, gw, cache) < 0)
		die("noise_responder_new");
}

int main(void)
{
	static uint8_t msgs[N_KEYS][WG_INITIATION_LEN], garbage[N_GARBAGE][WG_INITIATION_LEN];
	enum { X_SODIUM, X_OPENSSL, HMAC_MAC, HMAC_BUILT, FIRST, CACHED, GARBAGE, N_MEASURES };
	struct measure m[N_MEASURES] = { 0 };
	struct unwraps first = { 0 }, cached = { 0 }, junk = { 0 };
	struct x25519 x = { 0 };
	struct hmacs h = { 0 };
	uint8_t gw[32], gw_pub[32], priv[32], e[32], ts[WG_TIMESTAMP_LEN];
	struct noise_stats before, after;
	double limit;
	EVP_PKEY *pkey;
	EVP_MAC *hmac;
	const char *env;

	env = getenv("BENCH_SECONDS");
	if (env && atof(env) > 0)
		seconds = atof(env);
	env = getenv("BENCH_ROUNDS");
	if (env && atoi(env) > 0)
		rounds = atoi(env);
	if (sodium_init() < 0)
		die("sodium_init");
	pin_cpu();

	randombytes_buf(x.priv, sizeof(x.priv));
	randombytes_buf(x.pub, sizeof(x.pub));
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, x.priv, 32);
	x.ctx = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
	if (!x.ctx || EVP_PKEY_derive_init(x.ctx) <= 0)
		die("EVP_PKEY_derive_init");

	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	h.mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	h.md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	h.md_ctx = EVP_MD_CTX_new();
	if (!h.mac || !h.md || !h.md_ctx ||
	    !EVP_MAC_CTX_set_params(h.mac, (OSSL_PARAM[]){
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "BLAKE2S-256", 0),
		OSSL_PARAM_END }))
		die("HMAC setup");

	/* N_KEYS initiators, each with its own static key. */
	randombytes_buf(gw, sizeof(gw));
	crypto_scalarmult_base(gw_pub, gw);
	noise_initiator_tai64n(ts, 1764000000, 0);
	for (size_t i = 0; i < N_KEYS; i++) {
		randombytes_buf(priv, sizeof(priv));
		randombytes_buf(e, sizeof(e));
		if (noise_initiator_build(msgs[i], gw_pub, priv, e, (uint32_t)i, ts) < 0)
			die("noise_initiator_build");
	}
	for (size_t i = 0; i < N_GARBAGE; i++) {
		randombytes_buf(garbage[i], WG_INITIATION_LEN);
		memcpy(garbage[i], "\1\0\0\0", 4);
	}
	/* First-seen: an empty cache for every pass over the keys. */
	unwraps_init(&first, gw, msgs, N_KEYS, NOISE_CACHE_DEFAULT, NOISE_OK, 1);
	/* Cached: eight times the key count (4-way sets), warmed: every key stays. */
	unwraps_init(&cached, gw, msgs, N_KEYS, 8 * N_KEYS, NOISE_OK, 0);
	unwrap_pass(&cached, N_KEYS);
	noise_responder_stats(cached.r, &before);
	unwraps_init(&junk, gw, garbage, N_GARBAGE, NOISE_CACHE_DEFAULT, NOISE_ERR_MAC1, 0);

	m[X_SODIUM] = (struct measure){ x25519_sodium, &x, 16, 0 };
	m[X_OPENSSL] = (struct measure){ x25519_openssl, &x, 16, 0 };
	m[HMAC_MAC] = (struct measure){ hmac_evp_mac, &h, 1024, 0 };
	m[HMAC_BUILT] = (struct measure){ hmac_from_hash, &h, 1024, 0 };
	m[FIRST] = (struct measure){ unwrap_pass, &first, 16, 0 };
	m[CACHED] = (struct measure){ unwrap_pass, &cached, 16, 0 };
	m[GARBAGE] = (struct measure){ unwrap_pass, &junk, 1024, 0 };
	measure_all(m, N_MEASURES);
	noise_responder_stats(cached.r, &after);

	limit = m[X_SODIUM].best > m[X_OPENSSL].best ? m[X_SODIUM].best : m[X_OPENSSL].best;
	printf("best of %d interleaved slices of %.2f s CPU time each:\n", rounds, seconds);
	printf("x25519 libsodium %-10s     %9.0f ops/s\n", sodium_version_string(), m[X_SODIUM].best);
	printf("x25519 OpenSSL %-10s       %9.0f ops/s (EVP_PKEY per peer key)\n",
	       OpenSSL_version(OPENSSL_VERSION_STRING), m[X_OPENSSL].best);
	printf("x25519 in jit/noise: libsodium = %.2fx OpenSSL\n", m[X_SODIUM].best / m[X_OPENSSL].best);
	printf("hmac-blake2s EVP_MAC \"HMAC\"     %9.0f ops/s\n", m[HMAC_MAC].best);
	printf("hmac-blake2s over EVP_MD        %9.0f ops/s (in jit/noise) = %.2fx EVP_MAC\n",
	       m[HMAC_BUILT].best, m[HMAC_BUILT].best / m[HMAC_MAC].best);
	printf("unwrap, first-seen keys         %9.0f /s = %5.1f%% of the X25519 bound %.0f/s (2 per unwrap)\n",
	       m[FIRST].best, 100 * m[FIRST].best / (limit / 2), limit / 2);
	printf("unwrap, cached keys             %9.0f /s = %5.1f%% of the X25519 bound %.0f/s (1 per unwrap; %llu misses)\n",
	       m[CACHED].best, 100 * m[CACHED].best / limit, limit,
	       (unsigned long long)(after.cache_misses - before.cache_misses));
	printf("garbage rejected by mac1        %9.0f /s\n", m[GARBAGE].best);

	noise_responder_free(first.r);
	noise_responder_free(cached.r);
	noise_responder_free(junk.r);
	EVP_MAC_CTX_free(h.mac);
	EVP_MAC_free(hmac);
	EVP_MD_CTX_free(h.md_ctx);
	EVP_MD_free(h.md);
	EVP_PKEY_CTX_free(x.ctx);
	EVP_PKEY_free(pkey);
	return 0;
}
