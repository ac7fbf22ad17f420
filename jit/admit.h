#ifndef JIT_ADMIT_H
#define JIT_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "jit/key.h"
#include "jit/noise.h"
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
enum admit_verdict { ADMIT_FORWARD, ADMIT_HOLD, ADMIT_DROP };

struct admit;

/*
 * Keys that are neither installed nor being provisioned are remembered
 * only for the replay rule. Anyone who knows the gateway's public key can
 * make initiations from any number of keys, so at most max_remembered of
 * them are kept: past that, those idle longest are forgotten (a replay of a
 * forgotten key's initiation starts a look-up again, which the cache and
 * the rate limits answer). Installed and pending keys are never forgotten.
 * max_remembered 0 means ADMIT_REMEMBERED_DEFAULT.
 */
#define ADMIT_REMEMBERED_DEFAULT 65536

int admit_new(struct admit **out, struct noise_responder *noise, struct provision *prov,
	      size_t max_remembered);
void admit_free(struct admit *a);

/*
 * On FORWARD and HOLD, and on DROP after a successful unwrap, key holds
 * the initiator's public key; reason names the verdict's cause. FORWARD
 * (installed): "installed" when the initiation is newer than one accepted
 * before, "replay" when it is not, "first_seen" when none was (a peer
 * found on the device); only the first may move the peer's endpoint. HOLD:
 * "job" (one started) or "pending" (one running). DROP: "mac1" (or another
 * noise_result_name), "replay", "busy", "no_memory".
 */
enum admit_verdict admit_initiation(struct admit *a, const uint8_t *msg, size_t len,
				  const struct sockaddr *from, enum store_via via,
				  uint8_t key[WG_KEY_LEN], const char **reason);

/* The same, for an initiation the caller has unwrapped itself. */
enum admit_verdict admit_unwrapped(struct admit *a, const uint8_t key[WG_KEY_LEN],
				   const uint8_t timestamp[WG_TIMESTAMP_LEN],
				   const struct sockaddr *from, enum store_via via,
				   const char **reason);

/* Records a finished job (from provision_drain's callback). */
void admit_job_done(struct admit *a, const struct provision_result *result);

/* A job that never reported back: its key is no longer pending. */
void admit_expire(struct admit *a, const uint8_t key[WG_KEY_LEN]);

/* Marks a peer as installed (found on the device at start) or not (evicted). */
int admit_set_installed(struct admit *a, const uint8_t key[WG_KEY_LEN], bool installed);
bool admit_is_installed(const struct admit *a, const uint8_t key[WG_KEY_LEN]);
/* Calls fn for each installed key; fn may not change admission. */
void admit_foreach_installed(const struct admit *a,
			     void (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN]), void *ctx);

struct admit_stats {
	uint64_t forwarded, held, replays, busy, jobs;
	uint64_t unwrap_failures;
	uint64_t forgotten;
	size_t keys, remembered;	/* now: all keys known, and those only remembered */
};
void admit_stats(const struct admit *a, struct admit_stats *out);

#endif
