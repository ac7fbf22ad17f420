#ifndef JIT_GATE_H
#define JIT_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "jit/key.h"
#include "jit/provision.h"
#include "jit/store.h"

struct noise_responder;

/*
 * The loop's side of JIT: decides, for each handshake initiation, whether
 * it may go on to the device now (FORWARD), must wait for its peer to be
 * provisioned (HOLD: a result for its key follows), or is refused (DROP).
 * Only authenticated initiations reach the provisioning jobs, and per key
 * only those newer than the newest accepted one (the replay rule).
 * Loop thread only.
 */
enum gate_verdict { GATE_FORWARD, GATE_HOLD, GATE_DROP };

struct gate;

int gate_new(struct gate **out, struct noise_responder *noise, struct provision *prov);
void gate_free(struct gate *g);

/*
 * On FORWARD and HOLD, and on DROP after a successful unwrap, key holds
 * the initiator's public key; on DROP, reason names why ("mac1",
 * "replay", "busy", ...).
 */
enum gate_verdict gate_initiation(struct gate *g, const uint8_t *msg, size_t len,
				  const struct sockaddr *from, enum store_via via,
				  uint8_t key[WG_KEY_LEN], const char **reason);

/* Records a finished job (from provision_drain's callback). */
void gate_job_done(struct gate *g, const struct provision_result *result);

/* Marks a peer as installed (found on the device at start) or not (evicted). */
int gate_set_installed(struct gate *g, const uint8_t key[WG_KEY_LEN], bool installed);
bool gate_is_installed(const struct gate *g, const uint8_t key[WG_KEY_LEN]);

struct gate_stats {
	uint64_t forwarded, held, replays, busy, jobs;
	uint64_t unwrap_failures;
};
void gate_stats(const struct gate *g, struct gate_stats *out);

#endif
