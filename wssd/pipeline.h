#ifndef WSSD_PIPELINE_H
#define WSSD_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/engine.h"
#include "common/metrics.h"
#include "jit/key.h"
#include "transport/transport.h"
#include "wssd/config.h"

/*
 * The JIT pipeline in the daemon: the store, the control plane, the device
 * and the engine thread (jit/), tied to each event loop's WebSocket
 * sessions (transport/) and to the capture of direct-UDP initiations
 * (wssd/direct.c). On a loop, a record that is a handshake initiation has
 * its session's initiation rate limited and its mac1 checked; then it goes
 * to the engine and the session's records are held until the engine's
 * verdict comes back.
 */
struct pipeline;

/*
 * Sets everything up and reconciles the device; starts no thread. Opens the
 * capture of direct-UDP initiations when capture.enabled (CAP_NET_RAW).
 */
int pipeline_new(struct pipeline **out, const struct wssd_config *cfg, char *err, size_t errlen);
/*
 * Hooks the pipeline into a transport's sessions (before pipeline_start);
 * the first transport attached also serves the capture.
 */
int pipeline_attach(struct pipeline *pl, struct transport *t);
/* Starts the engine and its workers: after privileges are dropped. */
int pipeline_start(struct pipeline *pl);
void pipeline_free(struct pipeline *pl);

/*
 * What a reload may change of it: websocket.initiations_per_second and
 * .refused_close_after (every loop reads them), capture.initiations_per_second
 * (on the first loop's thread, which serves the capture: the caller's).
 */
int pipeline_set_limits(struct pipeline *pl, const struct wssd_config *cfg);
/*
 * Reads the HTTP control plane's bearer token again, from token_file ("":
 * none), for the look-ups that start from now on; 0 with a local control
 * plane, which takes none. -errno with err set: the running token stays.
 */
int pipeline_reload_token(struct pipeline *pl, const char *token_file, char *err, size_t errlen);

struct jit_engine *pipeline_engine(struct pipeline *pl);

/* What each path (ws, udp) counts of the initiations it looks at before the engine. */
struct path_metrics {
	struct metric *initiations, *limited, *mac1_failures, *busy;
};
void path_metrics_register(struct path_metrics *m, const char *path);
void pipeline_public_key(const struct pipeline *pl, uint8_t out[WG_KEY_LEN]);

/* The key a session's initiations were let through for; false: none (yet). */
bool pipeline_session_key(struct transport *t, uint64_t session_id, uint8_t key[WG_KEY_LEN]);

/*
 * Commands for the engine (wssctl's evict and installed) from the loop
 * that runs t: answers reach done on that loop, with the request's token.
 */
void pipeline_on_command(struct pipeline *pl, struct transport *t,
			 void (*done)(void *ctx, const struct jit_answer *a), void *ctx);
int pipeline_command(struct pipeline *pl, struct transport *t, const struct jit_request *r);

#endif
