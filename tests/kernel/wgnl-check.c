/*
 * Drives the netlink backend against the kernel's WireGuard, inside the test
 * VM (tests/kernel/guest/):
 *   wgnl-check IFACE install N        peers 0..N-1 installed in one set
 *   wgnl-check IFACE dump N           the dump holds exactly those, as set
 *   wgnl-check IFACE evict N          they are removed in one set
 *   wgnl-check IFACE allowedips N     one peer with N allowed IPs round-trips
 *                                     exactly, then N others replace them (the
 *                                     peer is left for wg to look at)
 *   wgnl-check IFACE refuse MISSING   sets the kernel refuses: the errno is
 *                                     the kernel's, the handle stays usable
 * Prints key=value lines; on a failed check "error: ..." and exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/wgdev-netlink.h"
#include "jit/wgdev.h"

#define KEEPALIVE 25

static const char *ifname;	/* the device's, for messages as wgdev builds them */

static int failed(const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The SET_DEVICE messages a set is split into, and the length of message k. */
static int count_messages(const struct wgdev_set *set, int k, int *len_k)
{
	static char buf[WGNL_MSG_MAX];
	struct wgnl_set_iter it;
	int n = 0, len;

	wgnl_set_iter_init(&it, set);
	while ((len = wgnl_set_next(&it, buf, sizeof(buf), 0x10, ifname, 1)) > 0)
		if (++n == k && len_k)
			*len_k = len;
	return len < 0 ? len : n;
}

/* ---- scale: peer i has key, endpoint and two allowed IPs made from i ---- */

static void scale_key(uint8_t key[WG_KEY_LEN], uint32_t i)
{
	key[0] = 0x5c;
	key[1] = (uint8_t)(i >> 16);
	key[2] = (uint8_t)(i >> 8);
	key[3] = (uint8_t)i;
	for (int j = 4; j < WG_KEY_LEN; j++)
		key[j] = (uint8_t)(i * 7 + (uint32_t)j);
}

static void scale_ips(struct wg_allowedip ips[2], uint32_t i)
{
	memset(ips, 0, 2 * sizeof(*ips));
	ips[0].family = AF_INET;
	ips[0].cidr = 32;
	ips[0].ip4.s_addr = htonl(0xc6120000U + i);	/* 198.18.0.0/15 */
	ips[1].family = AF_INET6;
	ips[1].cidr = 128;
	ips[1].ip6.s6_addr[0] = 0x20;			/* 2001:db8::/32 */
	ips[1].ip6.s6_addr[1] = 0x01;
	ips[1].ip6.s6_addr[2] = 0x0d;
	ips[1].ip6.s6_addr[3] = 0xb8;
	ips[1].ip6.s6_addr[13] = (uint8_t)(i >> 16);
	ips[1].ip6.s6_addr[14] = (uint8_t)(i >> 8);
	ips[1].ip6.s6_addr[15] = (uint8_t)i;
}

static uint16_t scale_port(uint32_t i)
{
	return (uint16_t)(1024 + i % 64000);
}

static bool same_ip(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	if (a->family != b->family || a->cidr != b->cidr)
		return false;
	return a->family == AF_INET ? a->ip4.s_addr == b->ip4.s_addr :
	       !memcmp(&a->ip6, &b->ip6, sizeof(a->ip6));
}

/* Every peer of 0..n-1 exactly once, with what it was given. */
static int check_scale_dump(const struct wgdev_peer_info *peers, size_t n_peers, uint32_t n,
			    size_t *n_ips)
{
	uint8_t key[WG_KEY_LEN], *seen;
	struct wg_allowedip want[2];
	int ret = 1;

	*n_ips = 0;
	if (n_peers != n)
		return failed("dump has %zu peers, %u were installed", n_peers, n);
	seen = calloc(n + 1, 1);
	if (!seen)
		return failed("out of memory");
	for (size_t k = 0; k < n_peers; k++) {
		const struct wgdev_peer_info *p = &peers[k];
		const struct sockaddr_in *ep = (const struct sockaddr_in *)&p->endpoint;
		uint32_t i = (uint32_t)p->public_key[1] << 16 | (uint32_t)p->public_key[2] << 8 |
			     p->public_key[3];

		*n_ips += p->n_allowedips;
		scale_key(key, i);
		if (i >= n || memcmp(key, p->public_key, WG_KEY_LEN)) {
			failed("dump peer %zu has a key that was not installed", k);
			goto out;
		}
		if (seen[i]++) {
			failed("peer %u is in the dump twice", i);
			goto out;
		}
		if (p->endpoint.ss_family != AF_INET || ep->sin_addr.s_addr != htonl(INADDR_LOOPBACK) ||
		    ntohs(ep->sin_port) != scale_port(i) || p->persistent_keepalive != KEEPALIVE) {
			failed("peer %u: endpoint or keepalive differ", i);
			goto out;
		}
		scale_ips(want, i);
		if (p->n_allowedips != 2 ||
		    !((same_ip(&p->allowedips[0], &want[0]) && same_ip(&p->allowedips[1], &want[1])) ||
		      (same_ip(&p->allowedips[0], &want[1]) && same_ip(&p->allowedips[1], &want[0])))) {
			failed("peer %u: %zu allowed IPs, not its two", i, p->n_allowedips);
			goto out;
		}
	}
	ret = 0;
out:
	free(seen);
	return ret;
}

/* The set that installs (or removes) peers 0..n-1; *ips holds their allowed IPs. */
static int scale_set(struct wgdev_set *set, struct wg_allowedip **ips, uint32_t n, bool remove)
{
	struct wgdev_set_peer *sp = calloc(n, sizeof(*sp));

	*ips = calloc((size_t)n * 2, sizeof(**ips));
	if (!sp || !*ips) {
		free(sp);
		free(*ips);
		return failed("out of memory");
	}
	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_in *ep = (struct sockaddr_in *)&sp[i].endpoint;

		scale_key(sp[i].public_key, i);
		if (remove) {
			sp[i].flags = WGDEV_PEER_REMOVE;
			continue;
		}
		sp[i].flags = WGDEV_PEER_REPLACE_ALLOWEDIPS | WGDEV_PEER_HAS_ENDPOINT |
			      WGDEV_PEER_HAS_KEEPALIVE;
		ep->sin_family = AF_INET;
		ep->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ep->sin_port = htons(scale_port(i));
		sp[i].persistent_keepalive = KEEPALIVE;
		scale_ips(&(*ips)[2 * (size_t)i], i);
		sp[i].allowedips = &(*ips)[2 * (size_t)i];
		sp[i].n_allowedips = 2;
	}
	*set = (struct wgdev_set){ .peers = sp, .n_peers = n };
	return 0;
}

/* install N / evict N: peers 0..n-1 in one set, split across messages. */
static int cmd_scale_set(struct wgdev *dev, uint32_t n, bool remove)
{
	struct wgdev_set set;
	struct wg_allowedip *ips;
	double t0, dt;
	int msgs, ret;

	if (scale_set(&set, &ips, n, remove))
		return 1;
	msgs = count_messages(&set, 0, NULL);
	t0 = now();
	ret = wgdev_apply(dev, &set);
	dt = now() - t0;
	if (ret)
		failed("%s %u peers: %s", remove ? "evicting" : "installing", n, strerror(-ret));
	else
		printf("%s=%u messages=%d seconds=%.3f\n", remove ? "evicted" : "installed", n, msgs,
		       dt);
	free((void *)set.peers);
	free(ips);
	return ret ? 1 : 0;
}

/* dump N: the device holds exactly peers 0..n-1, as installed. */
static int cmd_scale_dump(struct wgdev *dev, uint32_t n)
{
	struct wgdev_peer_info *peers;
	size_t n_peers, n_ips;
	double t0, dt;
	int ret;

	t0 = now();
	ret = wgdev_list_peers(dev, &peers, &n_peers);
	dt = now() - t0;
	if (ret)
		return failed("dump: %s", strerror(-ret));
	ret = check_scale_dump(peers, n_peers, n, &n_ips);
	if (!ret)
		printf("dumped=%zu allowedips=%zu seconds=%.3f\n", n_peers, n_ips, dt);
	wgdev_peers_free(peers, n_peers);
	return ret;
}

/* ---- allowedips: one peer, many allowed IPs ---- */

/* Allowed IP i of generation g: a v4 /30 (even i) or a v6 /48 (odd i). */
static void many_ip(struct wg_allowedip *ip, uint32_t i, unsigned g)
{
	memset(ip, 0, sizeof(*ip));
	if (i % 2 == 0) {
		ip->family = AF_INET;
		ip->cidr = 30;
		ip->ip4.s_addr = htonl(0xc6120000U + (g << 16) + 4 * i);
	} else {
		ip->family = AF_INET6;
		ip->cidr = 48;
		ip->ip6.s6_addr[0] = 0x20;
		ip->ip6.s6_addr[1] = 0x01;
		ip->ip6.s6_addr[2] = 0x0d;
		ip->ip6.s6_addr[3] = 0xb8;
		ip->ip6.s6_addr[4] = (uint8_t)(g << 7 | i >> 8);
		ip->ip6.s6_addr[5] = (uint8_t)i;
	}
}

static int ip_cmp(const void *pa, const void *pb)
{
	const struct wg_allowedip *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->cidr != b->cidr)
		return a->cidr < b->cidr ? -1 : 1;
	return a->family == AF_INET ? memcmp(&a->ip4, &b->ip4, 4) : memcmp(&a->ip6, &b->ip6, 16);
}

/* The device holds one peer, key, with exactly the n allowed IPs of want. */
static int check_one_peer(struct wgdev *dev, const uint8_t key[WG_KEY_LEN],
			  struct wg_allowedip *want, size_t n)
{
	struct wgdev_peer_info *peers;
	size_t n_peers;
	int ret;

	if ((ret = wgdev_list_peers(dev, &peers, &n_peers)))
		return failed("dump: %s", strerror(-ret));
	ret = 1;
	if (n_peers != 1 || memcmp(peers[0].public_key, key, WG_KEY_LEN)) {
		failed("dump has %zu peers, not the one", n_peers);
	} else if (peers[0].n_allowedips != n) {
		failed("dump has %zu allowed IPs, %zu were set", peers[0].n_allowedips, n);
	} else {
		qsort(want, n, sizeof(*want), ip_cmp);
		qsort(peers[0].allowedips, n, sizeof(*want), ip_cmp);
		ret = 0;
		for (size_t i = 0; i < n && !ret; i++)
			if (!same_ip(&want[i], &peers[0].allowedips[i]))
				ret = failed("allowed IP %zu of the dump differs", i);
	}
	wgdev_peers_free(peers, n_peers);
	return ret;
}

static int cmd_allowedips(struct wgdev *dev, uint32_t n)
{
	struct wg_allowedip *ips = calloc(n, sizeof(*ips));
	struct jit_peer peer = { .allowedips = ips, .n_allowedips = n };
	struct wgdev_set_peer sp = { .flags = WGDEV_PEER_REPLACE_ALLOWEDIPS, .allowedips = ips,
				     .n_allowedips = n };
	struct wgdev_set set = { .peers = &sp, .n_peers = 1 };
	int msgs, ret = 1;

	if (!ips)
		return failed("out of memory");
	memset(peer.public_key, 0xa1, WG_KEY_LEN);
	for (unsigned g = 0; g < 2; g++) {
		for (uint32_t i = 0; i < n; i++)
			many_ip(&ips[i], i, g);
		msgs = count_messages(&set, 0, NULL);
		/* replacing: the second generation must leave none of the first */
		if ((ret = wgdev_set_peer(dev, &peer, NULL, -1))) {
			failed("setting %u allowed IPs: %s", n, strerror(-ret));
			goto out;
		}
		if ((ret = check_one_peer(dev, peer.public_key, ips, n)))
			goto out;
		printf("generation=%u allowedips=%u set_messages=%d round_trip=exact\n", g + 1, n,
		       msgs);
	}
out:
	free(ips);
	return ret ? 1 : 0;
}

/* ---- refuse: the kernel's errno, then the same handle again ---- */

static int expect_errno(const char *what, int got, int want)
{
	printf("refused=%s errno=%d (%s) expected=%d\n", what, -got, strerror(-got), want);
	if (got != -want)
		return failed("%s: got %s, the kernel says %s", what, strerror(-got),
			      strerror(want));
	return 0;
}

static int cmd_refuse(struct wgdev *dev, const char *missing)
{
	enum { N = 1000, BAD = 700 };
	struct wg_allowedip *ips = calloc(N, sizeof(*ips));
	struct jit_peer big = { .allowedips = ips, .n_allowedips = N };
	struct jit_peer small = { .allowedips = ips, .n_allowedips = 1 };
	struct wgdev_set_peer sp = { .flags = WGDEV_PEER_REPLACE_ALLOWEDIPS, .allowedips = ips,
				     .n_allowedips = N };
	struct wgdev_set set = { .peers = &sp, .n_peers = 1 };
	struct wgdev_set_peer head = sp;
	struct wgdev_set upto = { .peers = &head, .n_peers = 1 };
	struct wgdev_peer_info *peers;
	struct wgdev *other = NULL;
	size_t n_peers, kept = 0;
	char cmd[128];
	int ret = 1, msgs, bad_msg, bad_len = 0;

	if (!ips)
		return failed("out of memory");
	memset(big.public_key, 0xb2, WG_KEY_LEN);
	memset(small.public_key, 0xb3, WG_KEY_LEN);
	for (uint32_t i = 0; i < N; i++)
		many_ip(&ips[i], 2 * i, 0);

	/* the kernel refuses a v4 mask over 32 (netlink.c, set_allowedip) */
	ips[BAD].cidr = 33;
	head.n_allowedips = BAD + 1;
	bad_msg = count_messages(&upto, 0, NULL);
	msgs = count_messages(&set, bad_msg, &bad_len);
	printf("refused_message=%d of %d bytes=%d\n", bad_msg, msgs, bad_len);
	/* an uncapped acknowledgement echoes it whole: more than WGNL_MSG_MAX */
	if ((size_t)bad_len + NLMSG_HDRLEN + sizeof(struct nlmsgerr) <= WGNL_MSG_MAX) {
		failed("the refused message (%d bytes) is too short to test capped acks", bad_len);
		goto out;
	}
	if ((ret = expect_errno("bad_cidr", wgdev_set_peer(dev, &big, NULL, -1), EINVAL)))
		goto out;
	ips[BAD].cidr = 30;
	if ((ret = wgdev_set_peer(dev, &small, NULL, KEEPALIVE))) {
		failed("the next set on the same handle: %s", strerror(-ret));
		goto out;
	}
	/* what came before the refusal was applied */
	if ((ret = wgdev_list_peers(dev, &peers, &n_peers))) {
		failed("dump after the refusal: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < n_peers; i++)
		if (!memcmp(peers[i].public_key, big.public_key, WG_KEY_LEN))
			kept = peers[i].n_allowedips;
	wgdev_peers_free(peers, n_peers);
	if ((ret = wgdev_remove_peer(dev, big.public_key)) ||
	    (ret = check_one_peer(dev, small.public_key, ips, 1)))
		goto out;
	if ((ret = wgdev_remove_peer(dev, small.public_key)))
		goto out;
	printf("after_refusal=ok refused_peer_kept_allowedips=%zu\n", kept);

	/* a device that does not exist yet, on a handle of its own */
	if ((ret = wgdev_open(&other, WGDEV_NETLINK, missing, NULL))) {
		failed("open %s: %s", missing, strerror(-ret));
		goto out;
	}
	if ((ret = expect_errno("no_device_set", wgdev_set_peer(other, &big, NULL, -1), ENODEV)))
		goto out;
	if ((ret = expect_errno("no_device_dump", wgdev_list_peers(other, &peers, &n_peers),
				ENODEV)))
		goto out;
	snprintf(cmd, sizeof(cmd), "ip link add %s type wireguard", missing);
	if (system(cmd)) {
		ret = failed("%s failed", cmd);
		goto out;
	}
	if ((ret = wgdev_set_peer(other, &big, NULL, -1))) {
		failed("set after the device appeared: %s", strerror(-ret));
		goto out;
	}
	for (uint32_t i = 0; i < N; i++)
		many_ip(&ips[i], 2 * i, 0);
	if ((ret = check_one_peer(other, big.public_key, ips, N)))
		goto out;
	printf("after_no_device=ok\n");
	wgdev_close(other);

	/* an interface that is not WireGuard's */
	if ((ret = wgdev_open(&other, WGDEV_NETLINK, "lo", NULL))) {
		failed("open lo: %s", strerror(-ret));
		goto out;
	}
	ret = expect_errno("not_wireguard", wgdev_set_peer(other, &big, NULL, -1), EOPNOTSUPP);
out:
	wgdev_close(other);
	free(ips);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct wgdev *dev;
	long n = argc > 3 ? atol(argv[3]) : 0;
	int ret;

	if (argc < 3)
		goto usage;
	ifname = argv[1];
	if ((ret = wgdev_open(&dev, WGDEV_NETLINK, argv[1], NULL)))
		return failed("open %s: %s", argv[1], strerror(-ret));
	if (!strcmp(argv[2], "install") && n > 0 && n < (1L << 24))
		ret = cmd_scale_set(dev, (uint32_t)n, false);
	else if (!strcmp(argv[2], "dump") && n >= 0 && n < (1L << 24))
		ret = cmd_scale_dump(dev, (uint32_t)n);
	else if (!strcmp(argv[2], "evict") && n > 0 && n < (1L << 24))
		ret = cmd_scale_set(dev, (uint32_t)n, true);
	else if (!strcmp(argv[2], "allowedips") && n > 0 && n <= 16384)
		ret = cmd_allowedips(dev, (uint32_t)n);
	else if (!strcmp(argv[2], "refuse") && argc > 3)
		ret = cmd_refuse(dev, argv[3]);
	else
		ret = -1;
	wgdev_close(dev);
	if (ret >= 0)
		return ret;
usage:
	fprintf(stderr, "usage: wgnl-check IFACE install N | dump N | evict N | allowedips N | "
			"refuse MISSING_IFACE\n");
	return 2;
}
