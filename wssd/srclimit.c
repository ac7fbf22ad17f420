#include "wssd/srclimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bucket.h"

#define WAYS 4

struct entry {
	uint8_t key[SRCLIMIT_KEY_LEN];
	struct bucket b;	/* b.at 0: unused */
};

struct srclimit {
	struct entry *e;
	size_t sets_mask;
	unsigned rate, burst;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

int srclimit_new(struct srclimit **out, size_t entries, unsigned rate, unsigned burst)
{
	struct srclimit *s;
	size_t n = WAYS;

	if (!rate || !burst || rate > BUCKET_MAX || burst > BUCKET_MAX || entries > (SIZE_MAX >> 2))
		return -EINVAL;
	while (n < entries)
		n <<= 1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->e = calloc(n, sizeof(*s->e));
	if (!s->e) {
		free(s);
		return -ENOMEM;
	}
	s->sets_mask = n / WAYS - 1;
	s->rate = rate;
	s->burst = burst;
	randombytes_buf(s->hash_key, sizeof(s->hash_key));
	*out = s;
	return 0;
}

int srclimit_set_rate(struct srclimit *s, unsigned rate, unsigned burst)
{
	if (!rate || !burst || rate > BUCKET_MAX || burst > BUCKET_MAX)
		return -EINVAL;
	s->rate = rate;
	s->burst = burst;
	return 0;
}

void srclimit_free(struct srclimit *s)
{
	if (!s)
		return;
	free(s->e);
	free(s);
}

bool srclimit_take(struct srclimit *s, const uint8_t key[SRCLIMIT_KEY_LEN], int64_t now)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;
	struct entry *set, *victim;

	crypto_shorthash(h, key, SRCLIMIT_KEY_LEN, s->hash_key);
	memcpy(&v, h, sizeof(v));
	set = &s->e[(v & s->sets_mask) * WAYS];
	victim = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (set[i].b.at && !memcmp(set[i].key, key, SRCLIMIT_KEY_LEN))
			return bucket_take(&set[i].b, s->rate, s->burst, now);
		if (set[i].b.at < victim->b.at)
			victim = &set[i];
	}
	memcpy(victim->key, key, SRCLIMIT_KEY_LEN);
	memset(&victim->b, 0, sizeof(victim->b));
	return bucket_take(&victim->b, s->rate, s->burst, now);
}
