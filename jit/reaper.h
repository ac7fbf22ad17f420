#ifndef JIT_REAPER_H
#define JIT_REAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/key.h"

struct store;
struct wgdev;
struct wgdev_peer_info;

/*
 * Removing the peers wssd installed once their clients are gone, so the
 * device holds only peers in use. Only peers in the store's installed
 * table are ever removed; a peer configured by hand is not in it. No
 * event loop here: the caller runs a pass on a timer, from a thread whose
 * device handle it may use. Functions return 0 or -errno.
 */
enum reaper_reason {
	REAPER_IDLE,			/* last handshake older than idle_after */
	REAPER_NEVER_HANDSHOOK,		/* no handshake within grace of being installed */
	REAPER_OPERATOR,		/* wssctl evict */
	REAPER_GONE,			/* not removed: already gone from the device (reboot, wg set remove) */
	REAPER_REASON_COUNT
};

const char *reaper_reason_name(enum reaper_reason reason);

#define REAPER_BATCH_DEFAULT 256

struct reaper_params {
	int64_t idle_after;	/* seconds */
	/*
	 * Seconds after installed_at in which a peer is not judged at all,
	 * then evicted if it never completed a handshake. A peer re-installed
	 * (its endpoint moved) keeps the handshake time of before, so it too
	 * gets these seconds.
	 */
	int64_t grace;
	size_t batch;		/* peers removed per device request; 0: REAPER_BATCH_DEFAULT */
	/*
	 * true: an open WebSocket session carries this peer, which stays.
	 * Asked only about peers that would otherwise go. NULL: none is.
	 */
	bool (*carried)(void *ctx, const uint8_t key[WG_KEY_LEN]);
	/*
	 * Each peer no longer installed (evicted, or REAPER_GONE), once it is
	 * gone from the device: the caller tells admission
	 * (admit_set_installed(a, key, false)). May be NULL.
	 */
	void (*removed)(void *ctx, const uint8_t key[WG_KEY_LEN], enum reaper_reason reason);
	/*
	 * The pass's one dump, before anything is removed, for a caller that
	 * keeps its own view of the device (peers configured by hand come and
	 * go). May be NULL.
	 */
	void (*dumped)(void *ctx, const struct wgdev_peer_info *peers, size_t n);
	void *ctx;
};

struct reaper_result {
	size_t device_peers;			/* in the dump */
	size_t installed;			/* rows in the installed table */
	size_t removed[REAPER_REASON_COUNT];	/* by reason (REAPER_GONE: rows dropped) */
	size_t carried;				/* due, kept for an open session */
	size_t requests;			/* device requests that removed peers */
	int64_t dump_usec;			/* the one dump */
	int64_t remove_usec;			/* the removal requests */
	int64_t total_usec;
};

/*
 * One pass at now (unix seconds): the installed table, then one dump of
 * the device, then the removals in batches. Every removal is logged
 * (event=peer_evicted), counted (wssd_evictions_total{reason}), written to
 * the store's event log and its row deleted; rows whose peer is not on the
 * device are deleted too (event=peer_gone, reason "gone"). When a device
 * request fails, the device is read again and only the peers really gone
 * are recorded as removed; later batches are left for the next pass. out
 * may be NULL.
 */
int reaper_pass(struct wgdev *dev, struct store *store, const struct reaper_params *p,
		int64_t now, struct reaper_result *out);

/*
 * Removes one installed peer now, whatever its activity (a session that
 * carries it will bring it back through JIT), recorded as a pass records
 * its evictions (p->removed is told; p may be NULL). -EPERM for a key that
 * is not in the installed table: wssd did not install it (configured by
 * hand, or unknown) and never removes it.
 */
int reaper_evict(struct wgdev *dev, struct store *store, const uint8_t key[WG_KEY_LEN],
		 enum reaper_reason reason, const struct reaper_params *p);

/* Registers the series at start-up, so they read 0 before the first pass. */
void reaper_metrics_register(void);

#endif
