/*
 * Provisioning jobs and admission against real parts: a wireguard-go device
 * in a network namespace of the test's own, a real SQLite file, the local
 * registry and the HTTP control-plane test server. Needs root (skips
 * otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "jit/control.h"
#include "jit/admit.h"
#include "jit/lookup.h"
#include "jit/noise.h"
#include "jit/provision.h"
#include "jit/store.h"
#include "jit/wgdev.h"
#include "tests/unit/noise_vectors.h"
#include "tests/unit/test_control_server.h"
#include "tests/tools/noise-initiator.h"

static char ifname[16];
static pid_t wg_pid;
static struct wgdev *dev;
static struct store *store;
static char dir[64];

struct collected {
	size_t n;
	struct provision_result r[8];
};

static void collect(void *ctx, const struct provision_result *r)
{
	struct collected *c = ctx;

	assert_true(c->n < 8);
	c->r[c->n++] = *r;
}

/* Waits for the eventfd, then drains until want results came. */
static void wait_results(struct provision *p, struct collected *c, size_t want)
{
	for (int i = 0; c->n < want && i < 300; i++) {
		struct pollfd pfd = { .fd = provision_eventfd(p), .events = POLLIN };

		poll(&pfd, 1, 100);
		provision_drain(p, collect, c);
	}
	assert_int_equal(c->n, want);
}

static bool role_inversion = true;

static struct provision *new_provision(struct control *control, unsigned workers,
				       unsigned queue_max)
{
	struct provision_options o = {
		.workers = workers,
		.queue_max = queue_max,
		.keepalive = 25,
		.role_inversion = role_inversion,
		.lookup = { .store = store, .control = control, .cache_ttl = 300,
			    .negative_ttl = 60, .key_lookups_per_minute = 1000,
			    .lookups_per_second = 1000 },
		.dev = dev,
	};
	struct provision *p = NULL;

	assert_int_equal(provision_new(&p, &o), 0);
	return p;
}

static struct control *local_control(void)
{
	struct control_options o = { .source = "local", .timeout_ms = 2000, .store = store };
	struct control *c = NULL;

	assert_int_equal(control_open(&c, &o), 0);
	return c;
}

/* keepalive < 0: the peer has none of its own. */
static void registry_add_keepalive(const uint8_t key[WG_KEY_LEN], const char *cidr,
				   int keepalive)
{
	struct jit_peer peer = { 0 };
	struct wg_allowedip ip;

	memcpy(peer.public_key, key, WG_KEY_LEN);
	assert_int_equal(allowedip_parse(cidr, &ip), 0);
	assert_int_equal(jit_peer_add_allowedip(&peer, &ip), 0);
	if (keepalive >= 0) {
		peer.has_keepalive = true;
		peer.persistent_keepalive = (uint16_t)keepalive;
	}
	assert_int_equal(store_registry_put(store, &peer), 0);
	jit_peer_clear(&peer);
}

static void registry_add(const uint8_t key[WG_KEY_LEN], const char *cidr)
{
	registry_add_keepalive(key, cidr, -1);
}

static const struct wgdev_peer_info *find_peer(struct wgdev_peer_info *peers, size_t n,
					       const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(peers[i].public_key, key, WG_KEY_LEN))
			return &peers[i];
	}
	return NULL;
}

static int count_installed(void *ctx, const struct store_installed *row)
{
	(void)row;
	(*(int *)ctx)++;
	return 0;
}

static void test_local_install(void **state)
{
	struct control *c = local_control();
	struct provision *p = new_provision(c, 2, 16);
	struct collected got = { 0 };
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40001) };
	struct wgdev_peer_info *peers = NULL;
	const struct wgdev_peer_info *info;
	uint8_t known[WG_KEY_LEN], unknown[WG_KEY_LEN];
	size_t n = 0;
	int rows = 0;

	(void)state;
	test_key(known, 0x41);
	test_key(unknown, 0x42);
	registry_add(known, "198.18.77.1/32");
	inet_pton(AF_INET, "198.18.0.9", &from.sin_addr);

	assert_int_equal(provision_submit(p, known, (struct sockaddr *)&from, STORE_VIA_UDP), 0);
	assert_int_equal(provision_submit(p, unknown, NULL, STORE_VIA_WS), 0);
	wait_results(p, &got, 2);
	for (size_t i = 0; i < 2; i++) {
		if (!memcmp(got.r[i].key, known, WG_KEY_LEN)) {
			assert_string_equal(provision_outcome_name(got.r[i].outcome), "installed");
			assert_int_equal(got.r[i].via, STORE_VIA_UDP);
		} else {
			assert_string_equal(provision_outcome_name(got.r[i].outcome), "not_found");
		}
		assert_int_equal(got.r[i].joined, 0);
	}

	assert_int_equal(wgdev_list_peers(dev, &peers, &n), 0);
	info = find_peer(peers, n, known);
	assert_non_null(info);
	assert_null(find_peer(peers, n, unknown));
	assert_int_equal(info->persistent_keepalive, 0);	/* the engine's to set */
	assert_int_equal(info->n_allowedips, 1);
	assert_int_equal(info->allowedips[0].cidr, 32);
	assert_int_equal(info->endpoint.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&info->endpoint)->sin_port), 40001);
	wgdev_peers_free(peers, n);

	assert_int_equal(store_installed_foreach(store, count_installed, &rows), 0);
	assert_int_equal(rows, 1);
	provision_free(p);
	control_close(c);
}

/* The keepalive a peer is to get, as its result says (it goes in without one). */
static int installed_keepalive(bool inversion, enum store_via via, uint8_t seed, int own)
{
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40002) };
	struct control *c = local_control();
	struct provision *p;
	struct collected got = { 0 };
	struct wgdev_peer_info *peers = NULL;
	const struct wgdev_peer_info *info;
	uint8_t key[WG_KEY_LEN];
	char cidr[32];
	size_t n = 0;
	int keepalive;

	role_inversion = inversion;
	p = new_provision(c, 1, 4);
	role_inversion = true;
	test_key(key, seed);
	snprintf(cidr, sizeof(cidr), "198.18.76.%u/32", seed);
	registry_add_keepalive(key, cidr, own);
	inet_pton(AF_INET, "198.18.0.9", &from.sin_addr);
	assert_int_equal(provision_submit(p, key, (struct sockaddr *)&from, via), 0);
	wait_results(p, &got, 1);
	assert_string_equal(provision_outcome_name(got.r[0].outcome), "installed");
	assert_int_equal(got.r[0].endpoint.ss_family, AF_INET);
	assert_int_equal(wgdev_list_peers(dev, &peers, &n), 0);
	info = find_peer(peers, n, key);
	assert_non_null(info);
	/* installed without: the engine sets it a moment later */
	assert_int_equal(info->persistent_keepalive, 0);
	keepalive = got.r[0].keepalive;
	wgdev_peers_free(peers, n);
	assert_int_equal(wgdev_remove_peer(dev, key), 0);
	assert_int_equal(store_installed_remove(store, key), 0);
	provision_free(p);
	control_close(c);
	return keepalive;
}

/*
 * Via UDP the device must initiate (role inversion): the peer's own
 * keepalive, else jit.keepalive; off, only its own. Via a WebSocket none.
 */
static void test_role_inversion_keepalive(void **state)
{
	(void)state;
	assert_int_equal(installed_keepalive(true, STORE_VIA_UDP, 0x61, -1), 25);
	assert_int_equal(installed_keepalive(true, STORE_VIA_UDP, 0x62, 15), 15);
	assert_int_equal(installed_keepalive(true, STORE_VIA_UDP, 0x63, 0), 25);
	assert_int_equal(installed_keepalive(false, STORE_VIA_UDP, 0x64, -1), 0);
	assert_int_equal(installed_keepalive(false, STORE_VIA_UDP, 0x65, 15), 15);
	assert_int_equal(installed_keepalive(true, STORE_VIA_WS, 0x66, 15), 0);
}

/* 100 requests for one key while its look-up hangs: one control-plane call. */
static void test_single_flight(void **state)
{
	struct cp_server srv;
	struct cp_stats stats;
	struct control *c = NULL;
	struct provision *p;
	struct collected got = { 0 };
	uint8_t key[WG_KEY_LEN];
	char hexkey[WG_KEY_HEX_LEN], b64[WG_KEY_B64_LEN], fixture[512];

	(void)state;
	test_key(key, 0x51);
	key_to_hex(hexkey, key);
	key_to_base64(b64, key);
	snprintf(fixture, sizeof(fixture),
		 "{\"peers\": {\"%s\": {\"behaviour\": \"hang\", \"reply\": {\"public_key\": \"%s\", "
		 "\"allowed_ips\": [\"198.18.78.0/24\"]}}}}",
		 hexkey, b64);
	cp_server_start(&srv, fixture);
	assert_int_equal(control_open(&c, &(struct control_options){ .source = srv.base,
								      .timeout_ms = 20000 }),
			 0);
	p = new_provision(c, 4, 16);

	assert_int_equal(provision_submit(p, key, NULL, STORE_VIA_WS), 0);
	cp_server_wait_open(&srv, key, 1);
	for (int i = 0; i < 99; i++)
		assert_int_equal(provision_submit(p, key, NULL, STORE_VIA_WS), 1);
	cp_server_post(&srv, "release", key, "");
	wait_results(p, &got, 1);
	assert_string_equal(provision_outcome_name(got.r[0].outcome), "installed");
	assert_int_equal(got.r[0].joined, 99);
	assert_true(got.r[0].control_called);
	cp_server_stats(&srv, key, &stats);
	assert_int_equal(stats.count, 1);

	provision_free(p);
	control_close(c);
	cp_server_stop(&srv);
}

/* Jobs beyond the queue are refused at once, not piled up. */
static void test_queue_bound(void **state)
{
	struct cp_server srv;
	struct control *c = NULL;
	struct provision *p;
	struct collected got = { 0 };
	uint8_t keys[4][WG_KEY_LEN];
	char fixture[1024] = "{\"peers\": {", hexkey[WG_KEY_HEX_LEN];

	(void)state;
	for (int i = 0; i < 4; i++) {
		test_key(keys[i], (uint8_t)(0x61 + i));
		key_to_hex(hexkey, keys[i]);
		snprintf(fixture + strlen(fixture), sizeof(fixture) - strlen(fixture),
			 "%s\"%s\": {\"behaviour\": \"hang\"}", i ? ", " : "", hexkey);
	}
	strcat(fixture, "}}");
	cp_server_start(&srv, fixture);
	assert_int_equal(control_open(&c, &(struct control_options){ .source = srv.base,
								      .timeout_ms = 20000 }),
			 0);
	p = new_provision(c, 1, 2);
	assert_int_equal(provision_submit(p, keys[0], NULL, STORE_VIA_WS), 0);
	cp_server_wait_open(&srv, keys[0], 1);
	assert_int_equal(provision_submit(p, keys[1], NULL, STORE_VIA_WS), 0);
	assert_int_equal(provision_submit(p, keys[2], NULL, STORE_VIA_WS), 0);
	assert_int_equal(provision_submit(p, keys[3], NULL, STORE_VIA_WS), -EBUSY);
	for (int i = 0; i < 3; i++)
		cp_server_post(&srv, "release", keys[i], "");
	wait_results(p, &got, 3);
	provision_free(p);
	control_close(c);
	cp_server_stop(&srv);
}

/* The replay rule, with initiations captured from wireguard-go. */
static void test_admit_replay(void **state)
{
	uint8_t gw[WG_KEY_LEN], client[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	uint8_t first[WG_INITIATION_LEN], second[WG_INITIATION_LEN], key[WG_KEY_LEN];
	struct noise_responder *noise = NULL;
	struct control *c = local_control();
	struct provision *p = new_provision(c, 2, 16);
	struct collected got = { 0 };
	struct admit_stats st;
	struct admit *g = NULL;
	const char *reason = NULL;

	(void)state;
	noise_vector_load(&noise_vectors[0], gw, client, ts, first);
	noise_vector_load(&noise_vectors[1], gw, client, ts, second);
	assert_int_equal(noise_responder_new(&noise, gw), 0);
	assert_int_equal(admit_new(&g, noise, p, 0), 0);

	/* Not in the registry: one job, refused; a replay of it starts none. */
	assert_int_equal(admit_initiation(g, first, sizeof(first), NULL, STORE_VIA_WS, key, &reason),
			 ADMIT_HOLD);
	assert_memory_equal(key, client, WG_KEY_LEN);
	wait_results(p, &got, 1);
	admit_job_done(g, &got.r[0]);
	assert_string_equal(provision_outcome_name(got.r[0].outcome), "not_found");
	assert_int_equal(admit_initiation(g, first, sizeof(first), NULL, STORE_VIA_WS, key, &reason),
			 ADMIT_DROP);
	assert_string_equal(reason, "replay");
	admit_stats(g, &st);
	assert_int_equal(st.jobs, 1);
	assert_int_equal(st.replays, 1);

	/* Now known; a newer initiation starts a job that installs it. */
	registry_add(client, "198.18.79.1/32");
	assert_int_equal(admit_initiation(g, second, sizeof(second), NULL, STORE_VIA_WS, key, &reason),
			 ADMIT_HOLD);
	/* The same initiation again while its job runs: held, no second job. */
	assert_int_equal(admit_initiation(g, second, sizeof(second), NULL, STORE_VIA_WS, key, &reason),
			 ADMIT_HOLD);
	got.n = 0;
	wait_results(p, &got, 1);
	assert_string_equal(provision_outcome_name(got.r[0].outcome), "installed");
	admit_job_done(g, &got.r[0]);
	assert_true(admit_is_installed(g, client));
	/* Installed: even a replay goes on to the device, which judges it itself. */
	assert_int_equal(admit_initiation(g, first, sizeof(first), NULL, STORE_VIA_WS, key, &reason),
			 ADMIT_FORWARD);
	assert_string_equal(reason, "replay");
	assert_int_equal(admit_initiation(g, second, sizeof(second), NULL, STORE_VIA_WS, key, &reason),
			 ADMIT_FORWARD);
	assert_string_equal(reason, "replay");
	admit_stats(g, &st);
	assert_int_equal(st.jobs, 2);

	/* Garbage never reaches a job. */
	first[120] ^= 1;
	assert_int_equal(admit_initiation(g, first, sizeof(first), NULL, STORE_VIA_WS, key, &reason),
			 ADMIT_DROP);
	assert_string_equal(reason, "mac1");
	admit_stats(g, &st);
	assert_int_equal(st.jobs, 2);

	admit_free(g);
	noise_responder_free(noise);
	provision_free(p);
	control_close(c);
}

/* Admission for a gateway of a random key, whose responder and public key come out. */
static struct admit *new_admit(struct provision *p, size_t max, struct noise_responder **noise,
			       uint8_t gw_pub[WG_KEY_LEN])
{
	uint8_t gw[WG_KEY_LEN];
	struct admit *g = NULL;

	randombytes_buf(gw, sizeof(gw));
	assert_int_equal(noise_responder_new(noise, gw), 0);
	noise_responder_public_key(*noise, gw_pub);
	assert_int_equal(admit_new(&g, *noise, p, max), 0);
	return g;
}

/*
 * An installed peer's initiations are forwarded; the reason says whether
 * each is newer than the last accepted, which alone may move its endpoint.
 */
static void test_admit_installed_reasons(void **state)
{
	uint8_t gw_pub[WG_KEY_LEN], priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	uint8_t e[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN], key[WG_KEY_LEN];
	uint8_t older[WG_INITIATION_LEN], newer[WG_INITIATION_LEN];
	struct noise_responder *noise = NULL;
	struct control *c = local_control();
	struct provision *p = new_provision(c, 1, 4);
	struct admit *g = NULL;
	const char *reason = NULL;

	(void)state;
	g = new_admit(p, 0, &noise, gw_pub);
	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(pub, priv);
	randombytes_buf(e, sizeof(e));
	noise_initiator_tai64n(ts, 1764000000, 0);
	assert_int_equal(noise_initiator_build(older, gw_pub, priv, e, 1, ts), 0);
	noise_initiator_tai64n(ts, 1764000000, 1);
	assert_int_equal(noise_initiator_build(newer, gw_pub, priv, e, 2, ts), 0);

	/* found on the device: nothing to compare the first one with */
	assert_int_equal(admit_set_installed(g, pub, true), 0);
	assert_int_equal(admit_initiation(g, older, sizeof(older), NULL, STORE_VIA_UDP, key,
					  &reason), ADMIT_FORWARD);
	assert_string_equal(reason, "first_seen");
	assert_int_equal(admit_initiation(g, older, sizeof(older), NULL, STORE_VIA_UDP, key,
					  &reason), ADMIT_FORWARD);
	assert_string_equal(reason, "replay");
	assert_int_equal(admit_initiation(g, newer, sizeof(newer), NULL, STORE_VIA_UDP, key,
					  &reason), ADMIT_FORWARD);
	assert_string_equal(reason, "installed");
	assert_int_equal(admit_initiation(g, older, sizeof(older), NULL, STORE_VIA_UDP, key,
					  &reason), ADMIT_FORWARD);
	assert_string_equal(reason, "replay");
	/* evicted: its replays start nothing, its history is kept */
	assert_int_equal(admit_set_installed(g, pub, false), 0);
	assert_int_equal(admit_initiation(g, newer, sizeof(newer), NULL, STORE_VIA_UDP, key,
					  &reason), ADMIT_DROP);
	assert_string_equal(reason, "replay");

	admit_free(g);
	noise_responder_free(noise);
	provision_free(p);
	control_close(c);
}

/* Admits a fresh initiation from priv and waits for its job, if one starts. */
static enum admit_verdict admit_fresh(struct admit *g, struct provision *p,
				      const uint8_t gw_pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
				      uint32_t n, uint8_t msg[WG_INITIATION_LEN])
{
	uint8_t e[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN], key[WG_KEY_LEN];
	struct collected got = { 0 };
	const char *reason = NULL;
	enum admit_verdict v;

	randombytes_buf(e, sizeof(e));
	noise_initiator_tai64n(ts, 1764000000 + n, 0);
	assert_int_equal(noise_initiator_build(msg, gw_pub, priv, e, n, ts), 0);
	v = admit_initiation(g, msg, WG_INITIATION_LEN, NULL, STORE_VIA_WS, key, &reason);
	if (v == ADMIT_HOLD) {
		wait_results(p, &got, 1);
		admit_job_done(g, &got.r[0]);
	}
	return v;
}

/*
 * Keys nobody knows are remembered for the replay rule up to a bound; the
 * longest idle are forgotten first, installed keys never.
 */
static void test_admit_forgets_idle_keys(void **state)
{
	enum { MAX = 8, FLOOD = 40 };
	uint8_t gw_pub[WG_KEY_LEN], installed_priv[WG_KEY_LEN];
	uint8_t installed_pub[WG_KEY_LEN], installed_msg[WG_INITIATION_LEN];
	uint8_t priv[FLOOD][WG_KEY_LEN], msg[FLOOD][WG_INITIATION_LEN], key[WG_KEY_LEN];
	struct noise_responder *noise = NULL;
	struct control *c = local_control();
	struct provision *p = new_provision(c, 2, 16);
	struct admit_stats st;
	struct admit *g = NULL;
	const char *reason = NULL;

	(void)state;
	g = new_admit(p, MAX, &noise, gw_pub);

	randombytes_buf(installed_priv, sizeof(installed_priv));
	crypto_scalarmult_base(installed_pub, installed_priv);
	registry_add(installed_pub, "198.18.79.2/32");
	assert_int_equal(admit_fresh(g, p, gw_pub, installed_priv, 0, installed_msg), ADMIT_HOLD);
	assert_true(admit_is_installed(g, installed_pub));

	for (uint32_t i = 0; i < FLOOD; i++) {
		randombytes_buf(priv[i], WG_KEY_LEN);
		assert_int_equal(admit_fresh(g, p, gw_pub, priv[i], i, msg[i]), ADMIT_HOLD);
		admit_stats(g, &st);
		assert_true(st.remembered <= MAX);
		assert_int_equal(st.keys, st.remembered + 1);
	}
	admit_stats(g, &st);
	assert_true(st.forgotten >= FLOOD - MAX);
	assert_int_equal(st.forgotten + st.remembered, FLOOD);

	/* the newest is remembered: its replay starts nothing */
	assert_int_equal(admit_initiation(g, msg[FLOOD - 1], WG_INITIATION_LEN, NULL, STORE_VIA_WS,
					  key, &reason), ADMIT_DROP);
	assert_string_equal(reason, "replay");
	/* the installed key outlived every sweep */
	assert_true(admit_is_installed(g, installed_pub));
	assert_int_equal(admit_initiation(g, installed_msg, WG_INITIATION_LEN, NULL, STORE_VIA_WS,
					  key, &reason), ADMIT_FORWARD);
	/* the oldest was forgotten: its replay is a first sight again */
	admit_stats(g, &st);
	uint64_t jobs = st.jobs;
	struct collected got = { 0 };

	assert_int_equal(admit_initiation(g, msg[0], WG_INITIATION_LEN, NULL, STORE_VIA_WS, key,
					  &reason), ADMIT_HOLD);
	wait_results(p, &got, 1);
	admit_job_done(g, &got.r[0]);
	admit_stats(g, &st);
	assert_int_equal(st.jobs, jobs + 1);

	admit_free(g);
	noise_responder_free(noise);
	provision_free(p);
	control_close(c);
}

static int start_device(void)
{
	char sock[128], err[256], path[128];
	uint8_t priv[WG_KEY_LEN];

	snprintf(ifname, sizeof(ifname), "wsp%d", (int)getpid() % 1000000);
	snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", ifname);
	wg_pid = fork();
	if (wg_pid == 0) {
		setenv("WG_PROCESS_FOREGROUND", "1", 1);
		setenv("LOG_LEVEL", "silent", 1);
		execlp("wireguard-go", "wireguard-go", ifname, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(100000);
	if (wgdev_open(&dev, WGDEV_UAPI, ifname, NULL) < 0)
		return -1;
	randombytes_buf(priv, sizeof(priv));
	if (wgdev_set_private_key(dev, priv) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test-provision.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/wssd.db", dir);
	return store_open(&store, path, err, sizeof(err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_install),
		cmocka_unit_test(test_role_inversion_keepalive),
		cmocka_unit_test(test_single_flight),
		cmocka_unit_test(test_queue_bound),
		cmocka_unit_test(test_admit_replay),
		cmocka_unit_test(test_admit_installed_reasons),
		cmocka_unit_test(test_admit_forgets_idle_keys),
	};
	char cmd[128];
	int ret;

	if (geteuid() != 0 || (getenv("NET_TESTS") && !strcmp(getenv("NET_TESTS"), "no"))) {
		printf("SKIP: needs root and net tests (a wireguard-go device in a namespace)\n");
		return 77;
	}
	if (system("command -v wireguard-go >/dev/null") != 0) {
		printf("SKIP: wireguard-go is not installed\n");
		return 77;
	}
	if (sodium_init() < 0 || unshare(CLONE_NEWNET) < 0 || system("ip link set lo up") != 0) {
		perror("namespace");
		return 1;
	}
	if (start_device() < 0) {
		fprintf(stderr, "could not start wireguard-go %s and the store\n", ifname);
		ret = 1;
		goto out;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
out:
	wgdev_close(dev);
	store_close(store);
	if (wg_pid > 0) {
		kill(wg_pid, SIGTERM);
		waitpid(wg_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s /var/run/wireguard/%s.sock", dir, ifname);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return ret;
}
