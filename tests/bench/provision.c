/*
 * provision KEYS WORKERS SOURCE IFACE DB: installs KEYS peers through the
 * provisioning jobs into the wireguard-go device IFACE, looking them up in
 * SOURCE ("local": the registry, filled first; or a control-plane URL), and
 * prints "installs_per_s=N". Run by tests/bench/provision.sh.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "jit/control.h"
#include "jit/provision.h"
#include "jit/store.h"
#include "jit/wgdev.h"
#include "common/log.h"

struct tally {
	unsigned done, installed;
};

static void count(void *ctx, const struct provision_result *r)
{
	struct tally *t = ctx;

	t->done++;
	t->installed += r->outcome == PROVISION_INSTALLED;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench_key(uint8_t key[WG_KEY_LEN], unsigned i)
{
	memset(key, 0x5a, WG_KEY_LEN);
	memcpy(key, &i, sizeof(i));
}

int main(int argc, char **argv)
{
	struct control_options copts = { .timeout_ms = 10000 };
	struct provision_options popts = { .queue_max = 1u << 20, .keepalive = 0 };
	struct tally tally = { 0 };
	struct control *control = NULL;
	struct provision *prov = NULL;
	struct wgdev *dev = NULL;
	struct store *store = NULL;
	uint8_t key[WG_KEY_LEN], priv[WG_KEY_LEN];
	unsigned keys, submitted = 0;
	char err[256];
	double start;
	int ret = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: provision KEYS WORKERS SOURCE IFACE DB\n");
		return 2;
	}
	keys = (unsigned)atoi(argv[1]);
	popts.workers = (unsigned)atoi(argv[2]);
	log_init(LOG_LEVEL_WARN, false);
	if (sodium_init() < 0 || store_open(&store, argv[5], err, sizeof(err)) < 0 ||
	    wgdev_open(&dev, WGDEV_UAPI, argv[4], NULL) < 0) {
		fprintf(stderr, "setup failed: %s\n", err);
		goto out;
	}
	randombytes_buf(priv, sizeof(priv));
	wgdev_set_private_key(dev, priv);
	copts.source = argv[3];
	copts.store = store;
	if (control_open(&control, &copts) < 0)
		goto out;
	if (!strcmp(argv[3], "local")) {
		struct wg_allowedip ip;

		allowedip_parse("198.18.0.0/32", &ip);
		for (unsigned i = 0; i < keys; i++) {
			struct jit_peer peer = { 0 };

			bench_key(peer.public_key, i);
			ip.ip4.s_addr = htonl(0xc6120000u + 256 + i);
			jit_peer_add_allowedip(&peer, &ip);
			store_registry_put(store, &peer);
			jit_peer_clear(&peer);
		}
	}
	popts.lookup = (struct lookup_options){ .store = store, .control = control,
						.cache_ttl = 300, .negative_ttl = 60,
						.key_lookups_per_minute = 1000000,
						.lookups_per_second = 1000000 };
	popts.dev = dev;
	if (provision_new(&prov, &popts) < 0)
		goto out;

	start = now_s();
	while (tally.done < keys) {
		struct pollfd pfd = { .fd = provision_eventfd(prov), .events = POLLIN };

		while (submitted < keys && submitted - tally.done < 4 * popts.workers) {
			bench_key(key, submitted++);
			provision_submit(prov, key, NULL, STORE_VIA_WS);
		}
		poll(&pfd, 1, 1000);
		provision_drain(prov, count, &tally);
	}
	printf("installs_per_s=%.1f installed=%u of=%u\n", keys / (now_s() - start),
	       tally.installed, keys);
	ret = tally.installed == keys ? 0 : 1;
out:
	provision_free(prov);
	control_close(control);
	wgdev_close(dev);
	store_close(store);
	return ret;
}
