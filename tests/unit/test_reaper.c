/*
 * The reaper against a real wireguard-go device (the gateway, in this
 * process's own network namespace) and a real SQLite file. Two more
 * wireguard-go devices in a second namespace, joined by a veth, complete
 * real handshakes with two of the gateway's peers; passes then run with
 * short thresholds and `now` given, so nothing waits for minutes. Needs
 * root (skips otherwise).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/metrics.h"
#include "jit/reaper.h"
#include "jit/store.h"
#include "jit/wgdev.h"
#include "tests/unit/test_sys.h"

#define IDLE_AFTER 10
#define GRACE 30

static char peer_ns[32], dir[64], gw_if[16], cl_if[2][16];
static pid_t wg_pid[3];
static struct wgdev *dev;
static struct store *store;
static uint8_t gw_pub[WG_KEY_LEN];
static unsigned next_ip = 10;

static void new_key(uint8_t priv[WG_KEY_LEN], uint8_t pub[WG_KEY_LEN])
{
	randombytes_buf(priv, WG_KEY_LEN);
	crypto_scalarmult_base(pub, priv);
}

/* A peer on the gateway device; endpoint NULL: none, no keepalive. */
static void device_add(const uint8_t key[WG_KEY_LEN], const char *endpoint)
{
	struct jit_peer peer = { 0 };
	struct wg_allowedip ip;
	struct sockaddr_storage ss;
	char cidr[32];

	memcpy(peer.public_key, key, WG_KEY_LEN);
	snprintf(cidr, sizeof(cidr), "198.19.%u.%u/32", next_ip / 250, next_ip % 250 + 1);
	next_ip++;
	assert_int_equal(allowedip_parse(cidr, &ip), 0);
	assert_int_equal(jit_peer_add_allowedip(&peer, &ip), 0);
	if (endpoint)
		assert_int_equal(addr_parse(endpoint, &ss, NULL), 0);
	assert_int_equal(wgdev_set_peer(dev, &peer, endpoint ? (struct sockaddr *)&ss : NULL,
					endpoint ? 25 : -1), 0);
	jit_peer_clear(&peer);
}

static void row_add(const uint8_t key[WG_KEY_LEN], int64_t installed_at)
{
	struct store_installed row = { .via = STORE_VIA_UDP, .installed_at = installed_at,
				       .last_seen = installed_at };

	memcpy(row.public_key, key, WG_KEY_LEN);
	assert_int_equal(store_installed_put(store, &row), 0);
}

/* The gateway's view of one peer: -1 absent, else its last handshake (0: never). */
static int64_t device_handshake(const uint8_t key[WG_KEY_LEN])
{
	struct wgdev_peer_info *peers = NULL;
	size_t n = 0;
	int64_t hs = -1;

	assert_int_equal(wgdev_list_peers(dev, &peers, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (!memcmp(peers[i].public_key, key, WG_KEY_LEN))
			hs = peers[i].last_handshake_sec;
	wgdev_peers_free(peers, n);
	return hs;
}

static int has_row(void *ctx, const struct store_installed *row)
{
	return !memcmp(row->public_key, ctx, WG_KEY_LEN);
}

static bool in_store(const uint8_t key[WG_KEY_LEN])
{
	return store_installed_foreach(store, has_row, (void *)key) == 1;
}

struct rows {
	size_t n;
	uint8_t keys[64][WG_KEY_LEN];
};

static int collect_row(void *ctx, const struct store_installed *row)
{
	struct rows *r = ctx;

	assert_true(r->n < 64);
	memcpy(r->keys[r->n++], row->public_key, WG_KEY_LEN);
	return 0;
}

/* Every row's peer is on the device, and every device peer but those hand-made has a row. */
static void assert_store_matches_device(const uint8_t (*hand)[WG_KEY_LEN], size_t n_hand)
{
	struct wgdev_peer_info *peers = NULL;
	struct rows rows = { 0 };
	size_t n = 0, matched = 0;

	assert_int_equal(store_installed_foreach(store, collect_row, &rows), 0);
	assert_int_equal(wgdev_list_peers(dev, &peers, &n), 0);
	for (size_t i = 0; i < n; i++) {
		bool is_hand = false, is_row = false;

		for (size_t h = 0; h < n_hand; h++)
			is_hand |= !memcmp(peers[i].public_key, hand[h], WG_KEY_LEN);
		for (size_t r = 0; r < rows.n; r++)
			is_row |= !memcmp(peers[i].public_key, rows.keys[r], WG_KEY_LEN);
		assert_true(is_hand != is_row);
		matched += is_row;
	}
	assert_int_equal(matched, rows.n);
	wgdev_peers_free(peers, n);
}

struct removals {
	size_t n;
	uint8_t keys[64][WG_KEY_LEN];
	enum reaper_reason reasons[64];
	size_t dumps, dumped;	/* dumped calls, peers in the last one */
	size_t removed_at_dump;	/* removals told before the last dump */
};

static void on_dumped(void *ctx, const struct wgdev_peer_info *peers, size_t n)
{
	struct removals *r = ctx;

	(void)peers;
	r->dumps++;
	r->dumped = n;
	r->removed_at_dump = r->n;
}

static void on_removed(void *ctx, const uint8_t key[WG_KEY_LEN], enum reaper_reason reason)
{
	struct removals *r = ctx;

	assert_true(r->n < 64);
	memcpy(r->keys[r->n], key, WG_KEY_LEN);
	r->reasons[r->n++] = reason;
}

static int removal_of(const struct removals *r, const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < r->n; i++)
		if (!memcmp(r->keys[i], key, WG_KEY_LEN))
			return (int)r->reasons[i];
	return -1;
}

static const uint8_t *carried_key;

static bool is_carried(void *ctx, const uint8_t key[WG_KEY_LEN])
{
	(void)ctx;
	return carried_key && !memcmp(key, carried_key, WG_KEY_LEN);
}

struct last_event {
	char event[32], detail[160];
};

static int first_event(void *ctx, const struct store_event *ev)
{
	struct last_event *e = ctx;

	snprintf(e->event, sizeof(e->event), "%s", ev->event);
	snprintf(e->detail, sizeof(e->detail), "%s", ev->detail);
	return 1;
}

static void assert_event(const uint8_t key[WG_KEY_LEN], const char *event, const char *reason)
{
	struct last_event e = { "", "" };
	char want[48];

	assert_int_equal(store_event_foreach(store, key, 1, first_event, &e), 1);
	assert_string_equal(e.event, event);
	snprintf(want, sizeof(want), "reason=%s ", reason);
	assert_non_null(strstr(e.detail, want));
}

/* Client device k (in the second namespace) with key priv, knowing the gateway. */
static void client_setup(int k, const uint8_t priv[WG_KEY_LEN])
{
	struct wgdev *c = NULL;
	struct jit_peer gw = { 0 };

	assert_int_equal(wgdev_open(&c, WGDEV_UAPI, cl_if[k], NULL), 0);
	assert_int_equal(wgdev_set_private_key(c, priv), 0);
	assert_int_equal(wgdev_set_listen_port(c, (uint16_t)(51821 + k)), 0);
	memcpy(gw.public_key, gw_pub, WG_KEY_LEN);
	assert_int_equal(wgdev_set_peer(c, &gw, NULL, -1), 0);
	wgdev_close(c);
	assert_int_equal(test_sh("ip -n %s link set %s up", peer_ns, cl_if[k]), 0);
}

/* Installs key with an endpoint and keepalive (the gateway initiates) and waits for the handshake. */
static int64_t handshake(const uint8_t key[WG_KEY_LEN], const char *endpoint)
{
	int64_t hs = 0;

	device_add(key, endpoint);
	for (int i = 0; i < 100 && hs <= 0; i++) {
		usleep(100000);
		hs = device_handshake(key);
	}
	if (hs <= 0)
		fail_msg("no handshake with %s", endpoint);
	return hs;
}

static void test_passes(void **state)
{
	uint8_t priv_a[WG_KEY_LEN], priv_d[WG_KEY_LEN], priv[WG_KEY_LEN];
	uint8_t a[WG_KEY_LEN], d[WG_KEY_LEN], n1[WG_KEY_LEN], n2[WG_KEY_LEN];
	uint8_t hand[1][WG_KEY_LEN], k[WG_KEY_LEN], gone[WG_KEY_LEN];
	struct removals rm = { 0 };
	struct reaper_params p = { .idle_after = IDLE_AFTER, .grace = GRACE, .carried = is_carried,
				   .removed = on_removed, .dumped = on_dumped, .ctx = &rm };
	struct reaper_result res;
	uint64_t idle0 = test_metric("wssd_evictions_total{reason=\"idle\"}");
	uint64_t never0 = test_metric("wssd_evictions_total{reason=\"never_handshook\"}");
	uint64_t gone0 = test_metric("wssd_evictions_total{reason=\"gone\"}");
	int64_t t0 = time(NULL), hs_a, hs_d, now;

	(void)state;
	new_key(priv_a, a);
	new_key(priv_d, d);
	new_key(priv, n1);
	new_key(priv, n2);
	new_key(priv, hand[0]);
	new_key(priv, k);
	new_key(priv, gone);
	client_setup(0, priv_a);
	client_setup(1, priv_d);

	/* a and d handshake for real, d at least a second after a */
	row_add(a, t0 - 1000);
	hs_a = handshake(a, "198.18.0.2:51821");
	while (time(NULL) <= hs_a + 1)
		usleep(100000);
	row_add(d, t0 - 1000);
	hs_d = handshake(d, "198.18.0.2:51822");
	assert_true(hs_d > hs_a);
	/* never handshaking: n1 past its grace, n2 within it; k carried; hand configured by hand */
	device_add(n1, NULL);
	row_add(n1, t0 - GRACE - 10);
	device_add(n2, NULL);
	row_add(n2, t0);
	device_add(k, NULL);
	row_add(k, t0 - 1000);
	device_add(hand[0], NULL);
	row_add(gone, t0 - 1000);	/* a row whose peer the device does not have */
	carried_key = k;

	/* now: only n1 is due; the gone peer's row is dropped */
	now = time(NULL);
	assert_true(now - hs_d < IDLE_AFTER && now - t0 < GRACE);
	assert_int_equal(reaper_pass(dev, store, &p, now, &res), 0);
	assert_int_equal(res.installed, 6);
	assert_int_equal(res.device_peers, 6);
	assert_int_equal(res.removed[REAPER_NEVER_HANDSHOOK], 1);
	assert_int_equal(res.removed[REAPER_IDLE], 0);
	assert_int_equal(res.removed[REAPER_GONE], 1);
	assert_int_equal(res.carried, 1);
	assert_int_equal(res.requests, 1);
	/* the caller saw the one dump, with every peer, before any removal */
	assert_int_equal(rm.dumps, 1);
	assert_int_equal(rm.dumped, 6);
	assert_int_equal(rm.removed_at_dump, 0);
	assert_int_equal(rm.n, 2);
	assert_int_equal(removal_of(&rm, n1), REAPER_NEVER_HANDSHOOK);
	assert_int_equal(removal_of(&rm, gone), REAPER_GONE);
	assert_int_equal(device_handshake(n1), -1);
	assert_false(in_store(n1));
	assert_false(in_store(gone));
	assert_event(n1, "evicted", "never_handshook");
	assert_store_matches_device(hand, 1);

	/* idle_after past a's handshake, not d's: a goes */
	rm.n = 0;
	now = hs_a + IDLE_AFTER;
	assert_int_equal(reaper_pass(dev, store, &p, now, &res), 0);
	assert_int_equal(rm.n, 1);
	assert_int_equal(removal_of(&rm, a), REAPER_IDLE);
	assert_int_equal(device_handshake(a), -1);
	assert_true(device_handshake(d) > 0);
	assert_true(device_handshake(n2) == 0 && in_store(n2));
	assert_event(a, "evicted", "idle");
	assert_store_matches_device(hand, 1);

	/* much later, one peer a request: d idle, n2 past its grace; k still carried */
	rm.n = 0;
	p.batch = 1;
	now = t0 + 1000;
	assert_int_equal(reaper_pass(dev, store, &p, now, &res), 0);
	assert_int_equal(rm.n, 2);
	assert_int_equal(res.requests, 2);
	assert_int_equal(removal_of(&rm, d), REAPER_IDLE);
	assert_int_equal(removal_of(&rm, n2), REAPER_NEVER_HANDSHOOK);
	assert_int_equal(res.carried, 1);
	assert_int_equal(device_handshake(k), 0);
	assert_true(in_store(k));
	assert_int_equal(device_handshake(hand[0]), 0);
	assert_store_matches_device(hand, 1);

	/* its session closed, k goes too; the hand-made peer never */
	rm.n = 0;
	carried_key = NULL;
	assert_int_equal(reaper_pass(dev, store, &p, now, &res), 0);
	assert_int_equal(rm.n, 1);
	assert_int_equal(removal_of(&rm, k), REAPER_NEVER_HANDSHOOK);
	assert_int_equal(reaper_pass(dev, store, &p, now + 100000, &res), 0);
	assert_int_equal(res.device_peers, 1);
	assert_int_equal(res.installed, 0);
	assert_int_equal(device_handshake(hand[0]), 0);
	assert_store_matches_device(hand, 1);

	assert_int_equal(test_metric("wssd_evictions_total{reason=\"idle\"}") - idle0, 2);
	assert_int_equal(test_metric("wssd_evictions_total{reason=\"never_handshook\"}") - never0, 3);
	assert_int_equal(test_metric("wssd_evictions_total{reason=\"gone\"}") - gone0, 1);
	assert_int_equal(wgdev_remove_peer(dev, hand[0]), 0);
}

static void test_evict(void **state)
{
	uint8_t priv[WG_KEY_LEN], e[WG_KEY_LEN], hand[WG_KEY_LEN], unknown[WG_KEY_LEN];
	uint64_t op0 = test_metric("wssd_evictions_total{reason=\"operator\"}");
	struct removals rm = { 0 };
	struct reaper_params p = { .removed = on_removed, .ctx = &rm };

	(void)state;
	new_key(priv, e);
	new_key(priv, hand);
	new_key(priv, unknown);
	device_add(e, NULL);
	row_add(e, time(NULL));
	device_add(hand, NULL);

	assert_int_equal(reaper_evict(dev, store, hand, REAPER_OPERATOR, &p), -EPERM);
	assert_int_equal(device_handshake(hand), 0);
	assert_int_equal(reaper_evict(dev, store, unknown, REAPER_OPERATOR, &p), -EPERM);
	assert_int_equal(rm.n, 0);
	/* just installed, never mind: the operator asked */
	assert_int_equal(reaper_evict(dev, store, e, REAPER_OPERATOR, &p), 0);
	assert_int_equal(rm.n, 1);
	assert_int_equal(removal_of(&rm, e), REAPER_OPERATOR);
	assert_int_equal(device_handshake(e), -1);
	assert_false(in_store(e));
	assert_event(e, "evicted", "operator");
	assert_int_equal(test_metric("wssd_evictions_total{reason=\"operator\"}") - op0, 1);
	assert_int_equal(wgdev_remove_peer(dev, hand), 0);
}

/*
 * A UAPI proxy in front of the gateway's socket, to make the device fail
 * on cue: pass requests through, apply only the first `cut` peers of a set
 * and answer an error, or hang (forward nothing, answer nothing).
 */
enum proxy_mode { PROXY_PASS, PROXY_CUT, PROXY_HANG };
static _Atomic int proxy_mode;
static int proxy_cut;
static _Atomic int proxy_stop;
static char proxy_path[sizeof(((struct sockaddr_un *)0)->sun_path)], gw_sock[sizeof(proxy_path)];
static struct wgdev *proxied;

static ssize_t read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (len >= 2 && !strcmp(buf + len - 2, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void forward(int client, const char *req, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static char answer[1 << 20];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", gw_sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, req, len) != (ssize_t)len)
		goto out;
	n = read_request(fd, answer, sizeof(answer));
	if (n > 0 && client >= 0 && write(client, answer, (size_t)n) != n)
		goto out;
out:
	if (fd >= 0)
		close(fd);
}

static void serve(int client)
{
	static char req[1 << 20];
	ssize_t len = read_request(client, req, sizeof(req));
	char *cut;
	int peers = 0;

	if (len < 0)
		return;
	switch (proxy_mode) {
	case PROXY_PASS:
		forward(client, req, (size_t)len);
		break;
	case PROXY_CUT:
		if (strncmp(req, "set=1\n", 6)) {
			forward(client, req, (size_t)len);
			break;
		}
		for (cut = req; (cut = strstr(cut + 1, "\npublic_key=")) && ++peers <= proxy_cut;)
			;
		if (cut) {
			strcpy(cut + 1, "\n");
			len = cut + 2 - req;
		}
		forward(-1, req, (size_t)len);
		if (write(client, "errno=5\n\n", 9) != 9)
			return;
		break;
	case PROXY_HANG:
		while (!proxy_stop && read(client, req, sizeof(req)) > 0)
			;
		break;
	}
}

static void *proxy_main(void *arg)
{
	int lfd = *(int *)arg;

	while (!proxy_stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		int c;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
	return NULL;
}

static void due_peers(uint8_t (*keys)[WG_KEY_LEN], size_t n, int64_t now)
{
	uint8_t priv[WG_KEY_LEN];

	for (size_t i = 0; i < n; i++) {
		new_key(priv, keys[i]);
		device_add(keys[i], NULL);
		row_add(keys[i], now - GRACE - 1);
	}
}

/*
 * A request that fails half-way (the device applied the first two of its
 * four removals): the two really gone are recorded as evicted, the other
 * two keep their rows.
 */
static void test_request_fails_halfway(void **state)
{
	struct wgdev *pdev = proxied;
	uint8_t f[4][WG_KEY_LEN];
	struct removals rm = { 0 };
	struct reaper_params p = { .idle_after = IDLE_AFTER, .grace = GRACE,
				   .removed = on_removed, .ctx = &rm };
	struct reaper_result res;
	int64_t now = time(NULL);
	size_t gone = 0;

	(void)state;
	due_peers(f, 4, now);
	proxy_cut = 2;
	proxy_mode = PROXY_CUT;
	assert_int_equal(reaper_pass(pdev, store, &p, now, &res), -EIO);
	proxy_mode = PROXY_PASS;
	assert_int_equal(res.requests, 1);
	assert_int_equal(res.removed[REAPER_NEVER_HANDSHOOK], 2);
	assert_int_equal(rm.n, 2);
	for (int i = 0; i < 4; i++) {
		bool removed = removal_of(&rm, f[i]) == REAPER_NEVER_HANDSHOOK;

		assert_int_equal(device_handshake(f[i]) == -1, removed);
		assert_int_equal(in_store(f[i]), !removed);
		gone += removed;
	}
	assert_int_equal(gone, 2);
	assert_store_matches_device(NULL, 0);

	assert_int_equal(reaper_pass(pdev, store, &p, now, &res), 0);
	assert_int_equal(res.removed[REAPER_NEVER_HANDSHOOK], 2);
	assert_int_equal(res.removed[REAPER_GONE], 0);
	assert_store_matches_device(NULL, 0);
}

static void hang_after_first(void *ctx, const uint8_t key[WG_KEY_LEN], enum reaper_reason reason)
{
	on_removed(ctx, key, reason);
	proxy_mode = PROXY_HANG;
}

/*
 * The device stops answering after the first of three one-peer requests,
 * and cannot be read again either: the pass fails, the first removal is
 * recorded, the other two peers keep their rows (and are still there).
 * Once it answers again, the next pass finishes the job.
 */
static void test_device_stops_answering(void **state)
{
	struct wgdev *pdev = proxied;
	uint8_t f[3][WG_KEY_LEN];
	struct removals rm = { 0 };
	struct reaper_params p = { .idle_after = IDLE_AFTER, .grace = GRACE, .batch = 1,
				   .removed = hang_after_first, .ctx = &rm };
	struct reaper_result res;
	int64_t now = time(NULL);

	(void)state;
	due_peers(f, 3, now);
	wgdev_set_timeout(pdev, 300);
	assert_int_equal(reaper_pass(pdev, store, &p, now, &res), -ETIMEDOUT);
	proxy_mode = PROXY_PASS;
	assert_int_equal(res.requests, 2);
	assert_int_equal(rm.n, 1);
	for (int i = 0; i < 3; i++) {
		bool removed = removal_of(&rm, f[i]) >= 0;

		assert_int_equal(device_handshake(f[i]) == -1, removed);
		assert_int_equal(in_store(f[i]), !removed);
	}
	assert_store_matches_device(NULL, 0);

	p.removed = on_removed;
	wgdev_set_timeout(pdev, 5000);
	assert_int_equal(reaper_pass(pdev, store, &p, now, &res), 0);
	assert_int_equal(rm.n, 3);
	assert_int_equal(res.removed[REAPER_NEVER_HANDSHOOK], 2);
	assert_store_matches_device(NULL, 0);
}

static int proxy_lfd = -1;
static pthread_t proxy_thread;

static int proxy_start(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(proxy_path, sizeof(proxy_path), "%s/proxy.sock", dir);
	snprintf(gw_sock, sizeof(gw_sock), "/var/run/wireguard/%s.sock", gw_if);
	memcpy(sun.sun_path, proxy_path, sizeof(proxy_path));
	proxy_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (proxy_lfd < 0 || bind(proxy_lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(proxy_lfd, 8) < 0 || pthread_create(&proxy_thread, NULL, proxy_main, &proxy_lfd))
		return -1;
	return wgdev_open(&proxied, WGDEV_UAPI, gw_if, proxy_path);
}

static void proxy_stop_all(void)
{
	wgdev_close(proxied);
	if (proxy_lfd < 0)
		return;
	proxy_stop = 1;
	pthread_join(proxy_thread, NULL);
	close(proxy_lfd);
}

static pid_t start_wg(const char *ifname, int ns_fd)
{
	char sock[128];
	pid_t pid = fork();

	if (pid == 0) {
		if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0)
			_exit(126);
		setenv("WG_PROCESS_FOREGROUND", "1", 1);
		setenv("LOG_LEVEL", "silent", 1);
		execlp("wireguard-go", "wireguard-go", ifname, (char *)NULL);
		_exit(127);
	}
	snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", ifname);
	for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(100000);
	return access(sock, F_OK) == 0 ? pid : -1;
}

static int setup(void)
{
	int pid = (int)getpid() % 1000000, ns_fd;
	uint8_t priv[WG_KEY_LEN];
	char path[128], err[256];

	snprintf(peer_ns, sizeof(peer_ns), "rpcl%d", pid);
	snprintf(gw_if, sizeof(gw_if), "wrg%d", pid);
	for (int k = 0; k < 2; k++)
		snprintf(cl_if[k], sizeof(cl_if[k]), "wrc%d%d", k, pid);
	if (test_sh("ip link set lo up") || test_sh("ip netns add %s", peer_ns) ||
	    test_sh("ip link add rg%d type veth peer name rc%d netns %s", pid, pid, peer_ns) ||
	    test_sh("ip addr add 198.18.0.1/24 dev rg%d && ip link set rg%d up", pid, pid) ||
	    test_sh("ip -n %s addr add 198.18.0.2/24 dev rc%d && ip -n %s link set rc%d up", peer_ns,
	       pid, peer_ns, pid))
		return -1;
	snprintf(path, sizeof(path), "/run/netns/%s", peer_ns);
	ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return -1;
	wg_pid[0] = start_wg(gw_if, -1);
	wg_pid[1] = start_wg(cl_if[0], ns_fd);
	wg_pid[2] = start_wg(cl_if[1], ns_fd);
	close(ns_fd);
	if (wg_pid[0] < 0 || wg_pid[1] < 0 || wg_pid[2] < 0)
		return -1;
	if (wgdev_open(&dev, WGDEV_UAPI, gw_if, NULL) < 0)
		return -1;
	new_key(priv, gw_pub);
	if (wgdev_set_private_key(dev, priv) < 0 || wgdev_set_listen_port(dev, 51820) < 0 ||
	    test_sh("ip link set %s up", gw_if))
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test-reaper.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/wssd.db", dir);
	if (store_open(&store, path, err, sizeof(err)) < 0)
		return -1;
	return proxy_start();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passes),
		cmocka_unit_test(test_evict),
		cmocka_unit_test(test_request_fails_halfway),
		cmocka_unit_test(test_device_stops_answering),
	};
	int ret = 1;

	if (geteuid() != 0 || (getenv("NET_TESTS") && !strcmp(getenv("NET_TESTS"), "no"))) {
		printf("SKIP: needs root and net tests (wireguard-go devices in namespaces)\n");
		return 77;
	}
	if (system("command -v wireguard-go >/dev/null") != 0) {
		printf("SKIP: wireguard-go is not installed\n");
		return 77;
	}
	if (sodium_init() < 0 || unshare(CLONE_NEWNET) < 0) {
		perror("namespace");
		return 1;
	}
	reaper_metrics_register();
	if (setup() < 0)
		fprintf(stderr, "could not set up the devices, namespaces and store\n");
	else
		ret = cmocka_run_group_tests(tests, NULL, NULL);
	proxy_stop_all();
	wgdev_close(dev);
	store_close(store);
	for (int i = 0; i < 3; i++) {
		if (wg_pid[i] > 0) {
			kill(wg_pid[i], SIGTERM);
			waitpid(wg_pid[i], NULL, 0);
		}
	}
	if (peer_ns[0])
		test_sh("ip netns del %s", peer_ns);
	if (dir[0])
		test_sh("rm -rf %s", dir);
	test_sh("rm -f /var/run/wireguard/%s.sock /var/run/wireguard/%s.sock /var/run/wireguard/%s.sock",
	   gw_if, cl_if[0], cl_if[1]);
	metrics_free();
	return ret;
}
