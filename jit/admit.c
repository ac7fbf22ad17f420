#include "jit/admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jit/keymap.h"
#include "jit/noise.h"

enum peer_state { PEER_UNKNOWN, PEER_PENDING, PEER_INSTALLED };

struct peer_entry {
	uint8_t newest_timestamp[WG_TIMESTAMP_LEN];
	uint8_t has_timestamp;
	uint8_t state;		/* enum peer_state */
};

struct admit {
	struct noise_responder *noise;
	struct provision *prov;
	struct keymap peers;	/* authenticated keys only */
	struct admit_stats stats;
};

int admit_new(struct admit **out, struct noise_responder *noise, struct provision *prov)
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
	struct peer_entry *e;
	bool replay;
	int created, ret;

	nr = noise_unwrap(a->noise, msg, len, key, timestamp);
	if (nr != NOISE_OK) {
		a->stats.unwrap_failures++;
		*reason = noise_result_name(nr);
		return ADMIT_DROP;
	}
	e = keymap_upsert(&a->peers, key, &created);
	if (!e) {
		*reason = "no_memory";
		return ADMIT_DROP;
	}
	replay = e->has_timestamp &&
		 noise_timestamp_cmp(timestamp, e->newest_timestamp) <= 0;
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
		return ADMIT_FORWARD;
	case PEER_PENDING:
		a->stats.held++;
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
	e->state = PEER_PENDING;
	return ADMIT_HOLD;
}

void admit_job_done(struct admit *a, const struct provision_result *result)
{
	struct peer_entry *e = keymap_get(&a->peers, result->key);

	if (e)
		e->state = result->outcome == PROVISION_INSTALLED ? PEER_INSTALLED : PEER_UNKNOWN;
}

int admit_set_installed(struct admit *a, const uint8_t key[WG_KEY_LEN], bool installed)
{
	struct peer_entry *e;
	int created;

	if (!installed) {
		e = keymap_get(&a->peers, key);
		if (e)
			e->state = PEER_UNKNOWN;
		return 0;
	}
	e = keymap_upsert(&a->peers, key, &created);
	if (!e)
		return -ENOMEM;
	e->state = PEER_INSTALLED;
	return 0;
}

bool admit_is_installed(const struct admit *a, const uint8_t key[WG_KEY_LEN])
{
	const struct peer_entry *e = keymap_get(&a->peers, key);

	return e && e->state == PEER_INSTALLED;
}

void admit_stats(const struct admit *a, struct admit_stats *out)
{
	*out = a->stats;
}
