/*
 * Role inversion's trigger: the keepalive set on a direct client's peer a
 * moment after it was installed (or moved) without one. A keepalive that
 * goes from 0 to N makes the device initiate to the peer at once, unless it
 * sent a handshake message to it within REKEY_TIMEOUT: so if the device
 * took the client's own initiation after all (it reached the device after
 * the install) and answered it, the trigger does nothing, where an
 * initiation sent at the install would cross that answer. wireguard-go
 * keeps one handshake per peer: a client that gets the gateway's initiation
 * before the answer to its own drops that answer, the gateway drops the
 * client's, and the client waits for its 5-second retry.
 */
#include "jit/engine-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "jit/wgdev.h"

/*
 * Longer than the device takes to handle a datagram that reached it before
 * the install completed (tens of microseconds; milliseconds when loaded).
 */
#define TRIGGER_DELAY_US 20000
#define TRIGGER_BATCH 256	/* peers per device request */

void engine_trigger(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], uint16_t keepalive)
{
	struct trigger *t = malloc(sizeof(*t));

	if (!t) {
		log_warnx("event=role_inversion_failed reason=no_memory");
		return;
	}
	memcpy(t->key, key, WG_KEY_LEN);
	t->keepalive = keepalive;
	t->due = clock_usec() + TRIGGER_DELAY_US;
	t->next = NULL;
	*e->triggers_tail = t;
	e->triggers_tail = &t->next;
}

int engine_trigger_wait_ms(const struct jit_engine *e, int64_t now)
{
	if (!e->triggers)
		return -1;
	if (e->triggers->due <= now)
		return 0;
	return (int)((e->triggers->due - now + 999) / 1000);
}

struct trigger_call {
	struct jit_engine *e;
	struct wgdev_set_peer *peers;
	size_t n;
	int ret;
};

static void trigger_exclusive(void *ctx)
{
	struct trigger_call *c = ctx;
	struct wgdev_set set = { .peers = c->peers, .n_peers = c->n };

	c->ret = wgdev_apply(c->e->o.dev, &set);
}

/* All in the same delay: the queue is in due order. update_only: an evicted peer stays out. */
void engine_triggers_run(struct jit_engine *e, int64_t now)
{
	struct wgdev_set_peer peers[TRIGGER_BATCH];
	struct trigger_call c = { e, peers, 0, 0 };

	while (e->triggers && e->triggers->due <= now) {
		for (c.n = 0; e->triggers && e->triggers->due <= now && c.n < TRIGGER_BATCH; c.n++) {
			struct trigger *t = e->triggers;

			memset(&peers[c.n], 0, sizeof(peers[c.n]));
			memcpy(peers[c.n].public_key, t->key, WG_KEY_LEN);
			peers[c.n].flags = WGDEV_PEER_UPDATE_ONLY | WGDEV_PEER_HAS_KEEPALIVE;
			peers[c.n].persistent_keepalive = t->keepalive;
			e->triggers = t->next;
			free(t);
		}
		if (!e->triggers)
			e->triggers_tail = &e->triggers;
		provision_exclusive(e->prov, trigger_exclusive, &c);
		if (c.ret < 0)
			log_warnx("event=role_inversion_failed peers=%zu err=\"%s\"", c.n,
				  strerror(-c.ret));
	}
}

void engine_triggers_free(struct jit_engine *e)
{
	while (e->triggers) {
		struct trigger *next = e->triggers->next;

		free(e->triggers);
		e->triggers = next;
	}
	e->triggers_tail = &e->triggers;
}
