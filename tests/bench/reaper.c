/*
 * reaper PEERS IFACE DB: installs PEERS peers into the wireguard-go device
 * IFACE with installed-table rows in DB, then times one plain dump of the
 * device (the baseline), a reaper pass that finds nothing due, and a pass
 * that evicts them all. Prints key=value lines. Run by tests/bench/reaper.sh.
 *
 * reaper PEERS IFACE DB install AGE: installs them as installed AGE seconds
 * ago, times the dump, and leaves them for wssd's own passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/log.h"
#include "jit/reaper.h"
#include "jit/store.h"
#include "jit/wgdev.h"

#define INSTALL_BATCH 1000
#define GRACE 120

static int install(struct wgdev *dev, struct store *store, unsigned n, int64_t at)
{
	static struct wgdev_set_peer peers[INSTALL_BATCH];
	static struct wg_allowedip ips[INSTALL_BATCH];
	struct wgdev_set set = { .peers = peers };
	struct store_installed row = { .via = STORE_VIA_UDP, .installed_at = at, .last_seen = at };
	int ret;

	for (unsigned i = 0; i < n; i += INSTALL_BATCH) {
		set.n_peers = n - i < INSTALL_BATCH ? n - i : INSTALL_BATCH;
		for (size_t k = 0; k < set.n_peers; k++) {
			uint32_t id = i + (uint32_t)k;

			memset(&peers[k], 0, sizeof(peers[k]));
			randombytes_buf(peers[k].public_key, WG_KEY_LEN);
			peers[k].flags = WGDEV_PEER_REPLACE_ALLOWEDIPS;
			ips[k] = (struct wg_allowedip){ .family = AF_INET, .cidr = 32 };
			ips[k].ip4.s_addr = htonl(0x0a000000u | (id + 1));
			peers[k].allowedips = &ips[k];
			peers[k].n_allowedips = 1;
			memcpy(row.public_key, peers[k].public_key, WG_KEY_LEN);
			ret = store_installed_put(store, &row);
			if (ret < 0)
				return ret;
		}
		ret = wgdev_apply(dev, &set);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct reaper_params p = { .idle_after = 600, .grace = GRACE };
	struct wgdev_peer_info *peers = NULL;
	struct reaper_result idle, evict;
	struct wgdev *dev = NULL;
	struct store *store = NULL;
	uint8_t priv[WG_KEY_LEN];
	int64_t t, dump_usec = INT64_MAX, now = time(NULL);
	size_t n = 0;
	unsigned count;
	char err[256];
	int ret;

	if (argc != 4 && (argc != 6 || strcmp(argv[4], "install"))) {
		fprintf(stderr, "usage: reaper PEERS IFACE DB [install AGE]\n");
		return 2;
	}
	count = (unsigned)atoi(argv[1]);
	log_init(LOG_LEVEL_INFO, false);
	if (sodium_init() < 0 || store_open(&store, argv[3], err, sizeof(err)) < 0 ||
	    wgdev_open(&dev, WGDEV_UAPI, argv[2], NULL) < 0) {
		fprintf(stderr, "setup failed: %s\n", err);
		return 1;
	}
	randombytes_buf(priv, sizeof(priv));
	ret = wgdev_set_private_key(dev, priv);
	if (ret == 0)
		ret = install(dev, store, count, argc == 6 ? now - atoi(argv[5]) : now);
	/* the baseline: the best of three plain dumps */
	for (int i = 0; i < 3 && ret == 0; i++) {
		t = clock_usec();
		ret = wgdev_list_peers(dev, &peers, &n);
		t = clock_usec() - t;
		wgdev_peers_free(peers, n);
		if (t < dump_usec)
			dump_usec = t;
		if (ret == 0 && n != count)
			ret = -1;
	}
	if (argc == 6 && ret == 0) {
		printf("peers=%u dump_usec=%lld\n", count, (long long)dump_usec);
		goto out;
	}
	/* within the grace: every peer read and judged, none due */
	if (ret == 0)
		ret = reaper_pass(dev, store, &p, now + 1, &idle);
	if (ret == 0 && idle.removed[REAPER_NEVER_HANDSHOOK])
		ret = -1;
	/* past it: every peer evicted */
	if (ret == 0)
		ret = reaper_pass(dev, store, &p, now + GRACE, &evict);
	if (ret == 0 && (evict.removed[REAPER_NEVER_HANDSHOOK] != count ||
			 wgdev_list_peers(dev, &peers, &n) < 0 || n != 0))
		ret = -1;
	if (ret < 0) {
		fprintf(stderr, "reaper bench failed: %d\n", ret);
		return 1;
	}
	printf("peers=%u dump_usec=%lld\n", count, (long long)dump_usec);
	printf("pass=none_due total_usec=%lld dump_usec=%lld\n", (long long)idle.total_usec,
	       (long long)idle.dump_usec);
	printf("pass=all_due total_usec=%lld dump_usec=%lld remove_usec=%lld requests=%zu "
	       "evicted=%zu\n", (long long)evict.total_usec, (long long)evict.dump_usec,
	       (long long)evict.remove_usec, evict.requests, evict.removed[REAPER_NEVER_HANDSHOOK]);
out:
	wgdev_close(dev);
	store_close(store);
	return 0;
}
