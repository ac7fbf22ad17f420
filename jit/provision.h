#ifndef JIT_PROVISION_H
#define JIT_PROVISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "jit/key.h"
#include "jit/lookup.h"
#include "jit/store.h"

struct wgdev;

/*
 * Provisioning jobs, off the event loop: look a key up (cache, control
 * plane) and install its peer in the device. One job per key at a time:
 * a request for a key whose job is running joins it. Submit and drain are
 * for the loop thread; results are announced on an eventfd.
 */
enum provision_outcome {
	PROVISION_INSTALLED,
	PROVISION_NOT_FOUND,	/* unknown key: refused, negatively cached */
	PROVISION_RATE_LIMITED,
	PROVISION_UNAVAILABLE,	/* control plane down and nothing cached */
	PROVISION_FAILED,	/* the device refused the peer, or no memory */
	PROVISION_OUTCOME_COUNT
};

struct provision_options {
	unsigned workers;
	unsigned queue_max;	/* jobs waiting for a worker */
	/*
	 * Peers installed via UDP are to get their own config's keepalive,
	 * else this one, which makes the device initiate to them (role
	 * inversion); role_inversion false: only a keepalive of their own. The
	 * peer is installed without it, the result says it, and the caller
	 * sets it (see install()).
	 */
	uint16_t keepalive;
	bool role_inversion;
	struct lookup_options lookup;	/* lookup.store also keeps installs and events */
	struct wgdev *dev;
};

struct provision_result {
	uint8_t key[WG_KEY_LEN];
	enum provision_outcome outcome;
	enum store_via via;
	struct sockaddr_storage endpoint;	/* installed with (family 0: none) */
	uint16_t keepalive;			/* the caller sets it (installed with none) */
	unsigned joined;	/* further requests that shared this job */
	enum lookup_source source;
	bool control_called;	/* for the control-plane metrics */
	enum control_status control_status;
	double control_seconds;
	uint64_t latency_us;	/* submit to finish */
	char detail[192];
};

struct provision;

int provision_new(struct provision **out, const struct provision_options *opts);
/* Waits for running jobs to finish; queued jobs are dropped. */
void provision_free(struct provision *p);
int provision_eventfd(const struct provision *p);

/*
 * endpoint NULL leaves the device to learn it from the handshake (the
 * WebSocket path). Returns 0 when a job was queued, 1 when the request
 * joined a running one, -EBUSY when the queue is full.
 */
int provision_submit(struct provision *p, const uint8_t key[WG_KEY_LEN],
		     const struct sockaddr *endpoint, enum store_via via);

/* Hands each finished result to fn; returns how many. */
size_t provision_drain(struct provision *p,
		       void (*fn)(void *ctx, const struct provision_result *result), void *ctx);

const char *provision_outcome_name(enum provision_outcome outcome);

/*
 * Runs fn while no install is under way and none starts: for whoever reads
 * or changes the device and the installed-peers table together.
 */
void provision_exclusive(struct provision *p, void (*fn)(void *ctx), void *ctx);

#endif
