#include "jit/gate.h"

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

struct gate {
	struct noise_responder *noise;
	struct provision *prov;
	struct keymap peers;	/* authenticated keys only */
	struct gate_stats stats;
};

int gate_new(struct gate **out, struct noise_responder *noise, struct provision *prov)
{
	struct gate *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return -ENOMEM;
	ret = keymap_init(&g->peers, sizeof(struct peer_entry));
	if (ret < 0) {
		free(g);
		return ret;
	}
	g->noise = noise;
	g->prov = prov;
	*out = g;
	return 0;
}

void gate_free(struct gate *g)
{
	if (!g)
		return;
	keymap_free(&g->peers);
	free(g);
}

enum gate_verdict gate_initiation(struct gate *g, const uint8_t *msg, size_t len,
				  const struct sockaddr *from, enum store_via via,
				  uint8_t key[WG_KEY_LEN], const char **reason)
{
	uint8_t timestamp[WG_TIMESTAMP_LEN];
	enum noise_result nr;
	struct peer_entry *e;
	bool replay;
	int created, ret;

	nr = noise_unwrap(g->noise, msg, len, key, timestamp);
	if (nr != NOISE_OK) {
		g->stats.unwrap_failures++;
		*reason = noise_result_name(nr);
		return GATE_DROP;
	}
	e = keymap_upsert(&g->peers, key, &created);
	if (!e) {
		*reason = "no_memory";
		return GATE_DROP;
	}
	replay = e->has_timestamp &&
		 noise_timestamp_cmp(timestamp, e->newest_timestamp) <= 0;
	if (replay) {
		g->stats.replays++;
	} else {
		memcpy(e->newest_timestamp, timestamp, WG_TIMESTAMP_LEN);
		e->has_timestamp = 1;
	}
	switch (e->state) {
	case PEER_INSTALLED:
		/* The device judges replays of installed peers itself. */
		g->stats.forwarded++;
		return GATE_FORWARD;
	case PEER_PENDING:
		g->stats.held++;
		return GATE_HOLD;
	default:
		break;
	}
	if (replay) {
		*reason = "replay";
		return GATE_DROP;
	}
	ret = provision_submit(g->prov, key, from, via);
	if (ret < 0) {
		g->stats.busy++;
		*reason = ret == -EBUSY ? "busy" : "no_memory";
		return GATE_DROP;
	}
	g->stats.jobs++;
	g->stats.held++;
	e->state = PEER_PENDING;
	return GATE_HOLD;
}

void gate_job_done(struct gate *g, const struct provision_result *result)
{
	struct peer_entry *e = keymap_get(&g->peers, result->key);

	if (e)
		e->state = result->outcome == PROVISION_INSTALLED ? PEER_INSTALLED : PEER_UNKNOWN;
}

int gate_set_installed(struct gate *g, const uint8_t key[WG_KEY_LEN], bool installed)
{
	struct peer_entry *e;
	int created;

	if (!installed) {
		e = keymap_get(&g->peers, key);
		if (e)
			e->state = PEER_UNKNOWN;
		return 0;
	}
	e = keymap_upsert(&g->peers, key, &created);
	if (!e)
		return -ENOMEM;
	e->state = PEER_INSTALLED;
	return 0;
}

bool gate_is_installed(const struct gate *g, const uint8_t key[WG_KEY_LEN])
{
	const struct peer_entry *e = keymap_get(&g->peers, key);

	return e && e->state == PEER_INSTALLED;
}

void gate_stats(const struct gate *g, struct gate_stats *out)
{
	*out = g->stats;
}
