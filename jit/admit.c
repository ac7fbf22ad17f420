#include "jit/admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jit/keymap.h"
#include "jit/noise.h"

enum peer_state { PEER_UNKNOWN, PEER_PENDING, PEER_INSTALLED };

struct peer_entry {
	uint64_t last_active;	/* admit.clock at its newest initiation */
	uint8_t newest_timestamp[WG_TIMESTAMP_LEN];
	uint8_t has_timestamp;
	uint8_t state;		/* enum peer_state */
};

struct admit {
	struct noise_responder *noise;
	struct provision *prov;
	struct keymap peers;	/* authenticated keys only */
	uint64_t clock;		/* counts authenticated initiations */
	size_t max_remembered;
	struct admit_stats stats;
};

static bool idle_since(void *ctx, const uint8_t key[WG_KEY_LEN], void *value)
{
	const uint64_t *cutoff = ctx;
	const struct peer_entry *e = value;

	(void)key;
	return e->state == PEER_UNKNOWN && e->last_active < *cutoff;
}

/*
 * At most max/2 + 1 remembered keys were active in the last max/2 clock
 * ticks, so a sweep forgets at least half of them: its cost is spread over
 * the max/2 keys that must arrive before the next one.
 */
static void forget_idle(struct admit *a)
{
	uint64_t keep = a->max_remembered / 2, cutoff;
	size_t n;

	if (a->stats.remembered <= a->max_remembered)
		return;
	cutoff = a->clock > keep ? a->clock - keep : 0;
	n = keymap_remove_if(&a->peers, idle_since, &cutoff);
	a->stats.remembered -= n;
	a->stats.forgotten += n;
}

static void set_state(struct admit *a, struct peer_entry *e, enum peer_state state)
{
	if (e->state == PEER_UNKNOWN)
		a->stats.remembered--;
	e->state = state;
	if (state == PEER_UNKNOWN) {
		a->stats.remembered++;
		forget_idle(a);
	}
}

/* A new entry is remembered; the sweep never takes it (it is the newest). */
static struct peer_entry *upsert(struct admit *a, const uint8_t key[WG_KEY_LEN])
{
	struct peer_entry *e;
	int created;

	e = keymap_upsert(&a->peers, key, &created);
	if (e && created) {
		e->last_active = a->clock;
		a->stats.remembered++;
		forget_idle(a);
	}
	return e;
}

int admit_new(struct admit **out, struct noise_responder *noise, struct provision *prov,
	      size_t max_remembered)
{
	struct admit *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	ret = keymap_init(&a->peers, sizeof(struct peer_entry));
	if (ret < 0) {
		free(a);
		return ret;
	}
	a->noise = noise;
	a->prov = prov;
	a->max_remembered = max_remembered ? max_remembered : ADMIT_REMEMBERED_DEFAULT;
	*out = a;
	return 0;
}

void admit_free(struct admit *a)
{
	if (!a)
		return;
	keymap_free(&a->peers);
	free(a);
}

enum admit_verdict admit_initiation(struct admit *a, const uint8_t *msg, size_t len,
				  const struct sockaddr *from, enum store_via via,
				  uint8_t key[WG_KEY_LEN], const char **reason)
{
	uint8_t timestamp[WG_TIMESTAMP_LEN];
	enum noise_result nr;

	nr = noise_unwrap(a->noise, msg, len, key, timestamp);
	if (nr != NOISE_OK) {
		a->stats.unwrap_failures++;
		*reason = noise_result_name(nr);
		return ADMIT_DROP;
	}
	return admit_unwrapped(a, key, timestamp, from, via, reason);
}

enum admit_verdict admit_unwrapped(struct admit *a, const uint8_t key[WG_KEY_LEN],
				   const uint8_t timestamp[WG_TIMESTAMP_LEN],
				   const struct sockaddr *from, enum store_via via,
				   const char **reason)
{
	struct peer_entry *e;
	bool replay, known;
	int ret;

	a->clock++;
	e = upsert(a, key);
	if (!e) {
		*reason = "no_memory";
		return ADMIT_DROP;
	}
	e->last_active = a->clock;
	known = e->has_timestamp;
	replay = known && noise_timestamp_cmp(timestamp, e->newest_timestamp) <= 0;
	if (replay) {
		a->stats.replays++;
	} else {
		memcpy(e->newest_timestamp, timestamp, WG_TIMESTAMP_LEN);
		e->has_timestamp = 1;
	}
	switch (e->state) {
	case PEER_INSTALLED:
		/* The device judges replays of installed peers itself. */
		a->stats.forwarded++;
		*reason = replay ? "replay" : known ? "installed" : "first_seen";
		return ADMIT_FORWARD;
	case PEER_PENDING:
		a->stats.held++;
		*reason = "pending";
		return ADMIT_HOLD;
	default:
		break;
	}
	if (replay) {
		*reason = "replay";
		return ADMIT_DROP;
	}
	ret = provision_submit(a->prov, key, from, via);
	if (ret < 0) {
		a->stats.busy++;
		*reason = ret == -EBUSY ? "busy" : "no_memory";
		return ADMIT_DROP;
	}
	a->stats.jobs++;
	a->stats.held++;
	set_state(a, e, PEER_PENDING);
	*reason = "job";
	return ADMIT_HOLD;
}

void admit_job_done(struct admit *a, const struct provision_result *result)
{
	struct peer_entry *e = keymap_get(&a->peers, result->key);

	if (e)
		set_state(a, e, result->outcome == PROVISION_INSTALLED ? PEER_INSTALLED : PEER_UNKNOWN);
}

void admit_expire(struct admit *a, const uint8_t key[WG_KEY_LEN])
{
	struct peer_entry *e = keymap_get(&a->peers, key);

	if (e && e->state == PEER_PENDING)
		set_state(a, e, PEER_UNKNOWN);
}

int admit_set_installed(struct admit *a, const uint8_t key[WG_KEY_LEN], bool installed)
{
	struct peer_entry *e;

	if (!installed) {
		e = keymap_get(&a->peers, key);
		if (e)
			set_state(a, e, PEER_UNKNOWN);
		return 0;
	}
	e = upsert(a, key);
	if (!e)
		return -ENOMEM;
	set_state(a, e, PEER_INSTALLED);
	return 0;
}

struct installed_walk {
	void (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN]);
	void *ctx;
};

static void walk_installed(void *ctx, const uint8_t key[WG_KEY_LEN], void *value)
{
	const struct installed_walk *w = ctx;
	const struct peer_entry *e = value;

	if (e->state == PEER_INSTALLED)
		w->fn(w->ctx, key);
}

void admit_foreach_installed(const struct admit *a,
			     void (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN]), void *ctx)
{
	struct installed_walk w = { fn, ctx };

	keymap_foreach(&a->peers, walk_installed, &w);
}

bool admit_is_installed(const struct admit *a, const uint8_t key[WG_KEY_LEN])
{
	const struct peer_entry *e = keymap_get(&a->peers, key);

	return e && e->state == PEER_INSTALLED;
}

void admit_stats(const struct admit *a, struct admit_stats *out)
{
	*out = a->stats;
	out->keys = a->peers.count;
}
