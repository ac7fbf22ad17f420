#ifndef JIT_ENGINE_H
#define JIT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "jit/key.h"
#include "jit/noise.h"
#include "jit/provision.h"
#include "jit/store.h"

/*
 * The JIT pipeline's own thread. Producers (each event loop: its WebSocket
 * sessions, the capture path) hand it handshake initiations through a
 * port; it unwraps them (the X25519 work never runs on an event loop),
 * applies admission (the replay rule, single flight), starts provisioning
 * jobs, and answers each request on the port it came from, announced on
 * the port's eventfd. It also reconciles the device with the store at
 * start, and on timers prunes the store, runs the reaper (which resyncs
 * with the device) and gives up on jobs that never report back. A captured
 * initiation (via UDP) that is newer than the last one accepted and comes
 * from another endpoint points its installed peer there.
 *
 * A port takes at most queue requests that have not been answered and
 * drained yet: that bounds the memory a flood can use, and the unwrap work
 * waiting for the engine.
 */
struct jit_engine;
struct jit_port;

struct jit_engine_options {
	const uint8_t *private_key;	/* the interface's; copied into locked memory */
	struct store *store;
	struct wgdev *dev;		/* the engine thread's handle (reconcile, sync, evict) */
	struct provision_options provision;	/* its own device handle in .dev */
	unsigned port_queue;		/* per port; 0: a default */
	size_t max_remembered;		/* admit_new's bound; 0: its default */
	/*
	 * A reaper pass every interval seconds (reaper_pass's idle_after and
	 * grace); its dump also resyncs the peers configured by hand.
	 */
	struct {
		unsigned interval;
		int64_t idle_after, grace;
	} reaper;
	unsigned prune_interval;	/* seconds between store_prune runs */
	unsigned keep_stale;		/* store_prune's stale-if-error window */
	unsigned pending_timeout;	/* seconds a job may take before its key is freed */
};

/* Reconciles the device with the store (no thread runs yet). err says why. */
int jit_engine_new(struct jit_engine **out, const struct jit_engine_options *o, char *err,
		   size_t errlen);
/* Starts the provisioning workers and the engine thread; ports exist by then. */
int jit_engine_start(struct jit_engine *e);
/* Stops the threads and frees everything; ports first unused by their producers. */
void jit_engine_free(struct jit_engine *e);
void jit_engine_public_key(const struct jit_engine *e, uint8_t out[WG_KEY_LEN]);

enum jit_request_kind {
	JIT_INITIATION,		/* msg: a 148-byte type-1 message (mac1 checked or not) */
	JIT_EVICT,		/* key: remove the peer wssd installed */
	JIT_INSTALLED,		/* a text table (json: JSON) of the installed peers */
};

struct jit_request {
	enum jit_request_kind kind;
	uint64_t token;		/* the producer's, returned in the answer */
	uint32_t hold;		/* likewise */
	enum store_via via;
	bool json;
	struct sockaddr_storage endpoint;	/* the peer's, to install (family 0: none) */
	uint8_t key[WG_KEY_LEN];
	uint8_t msg[WG_INITIATION_LEN];
};

struct jit_answer {
	enum jit_request_kind kind;
	uint64_t token;
	uint32_t hold;
	bool forward;		/* JIT_INITIATION: relay it (its peer is installed) */
	bool has_key;		/* key holds the initiator's authenticated key */
	uint8_t key[WG_KEY_LEN];
	int status;		/* commands: 0 or -errno */
	const char *reason;	/* why, a static string ("installed", "not_found", "replay", ...) */
	char *text;		/* JIT_INSTALLED; jit_port_drain frees it once fn returns */
};

/* Before jit_engine_start. queue: requests outstanding at most; 0: the engine's port_queue. */
int jit_port_new(struct jit_engine *e, unsigned queue, struct jit_port **out);
int jit_port_eventfd(const struct jit_port *p);

/* Producer side, from its one thread. -EBUSY when the port is full. */
int jit_port_submit(struct jit_port *p, const struct jit_request *r);
/* Hands each ready answer to fn; returns how many. */
size_t jit_port_drain(struct jit_port *p, void (*fn)(void *ctx, const struct jit_answer *a),
		      void *ctx);

/*
 * An open WebSocket session carries this key (its initiation was let
 * through): such peers are never evicted while the count is above zero.
 * Any thread.
 */
void jit_engine_carry(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], bool carried);
bool jit_engine_carried(struct jit_engine *e, const uint8_t key[WG_KEY_LEN]);

#endif
