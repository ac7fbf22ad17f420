/*
 * The capture socket in the kernel. This process runs in a network
 * namespace of its own (the gateway), joined by two veth pairs to a second
 * one (the clients). Crafted Ethernet frames written on the clients' ends
 * with an AF_PACKET SOCK_RAW socket must come out of capture_read exactly
 * when they are initiations to the WireGuard port on a listened interface;
 * ordinary UDP sockets check loopback and outgoing traffic, and a flood
 * into a tiny receive buffer the kernel's drop count. Needs root (skips
 * otherwise).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/metrics.h"
#include "transport/capture.h"
#include "tests/unit/capture_frames.h"
#include "tests/unit/test_sys.h"

#define KERNEL_DROPS "wssd_capture_drops_total{reason=\"kernel\"}"

static char peer_ns[32], gw_if[2][16], cl_if[2][16], dummy_if[16];
static int own_ns = -1, peer_ns_fd = -1;
static int gw_index[2], cl_index[2];
static uint8_t gw_mac[2][ETH_ALEN];
static int raw_fd = -1;		/* in the clients' namespace */

/* A socket of the clients' namespace. */
static int peer_socket(int domain, int type, int protocol)
{
	int fd;

	assert_int_equal(setns(peer_ns_fd, CLONE_NEWNET), 0);
	fd = socket(domain, type, protocol);
	assert_int_equal(setns(own_ns, CLONE_NEWNET), 0);
	assert_true(fd >= 0);
	return fd;
}

struct got {
	size_t n;
	struct capture_packet pkt[64];
	uint8_t payload[64][CAPTURE_PAYLOAD_LEN];
};

static void collect(void *ctx, const struct capture_packet *pkt)
{
	struct got *g = ctx;

	assert_int_equal(pkt->len, CAPTURE_PAYLOAD_LEN);
	if (g->n < 64) {
		g->pkt[g->n] = *pkt;
		memcpy(g->payload[g->n], pkt->payload, pkt->len);
		g->pkt[g->n].payload = g->payload[g->n];
	}
	g->n++;
}

/* Reads until nothing came for 300 ms. */
static void drain(struct capture *c, struct got *g)
{
	struct pollfd pfd = { .fd = capture_fd(c), .events = POLLIN };

	while (poll(&pfd, 1, 300) > 0)
		assert_true(capture_read(c, collect, g) >= 0);
}

static struct capture *open_capture(const char *interfaces, unsigned rcvbuf)
{
	struct capture_params p = { .port = CASE_PORT, .interfaces = interfaces, .rcvbuf = rcvbuf };
	struct capture *c = NULL;
	char err[256];

	if (capture_open(&c, &p, err, sizeof(err)) < 0)
		fail_msg("capture_open(%s): %s", interfaces, err);
	return c;
}

static void send_case(size_t i)
{
	const struct frame_case *fc = &frame_cases[i];
	uint8_t frame[ETH_HLEN + CASE_FRAME_MAX];
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = cl_index[fc->link],
				  .sll_halen = ETH_ALEN };
	size_t len = frame_build(i, frame + ETH_HLEN, CASE_FRAME_MAX);

	switch (fc->mac) {
	case MAC_GATEWAY:
		memcpy(frame, gw_mac[fc->link], ETH_ALEN);
		break;
	case MAC_BROADCAST:
		memset(frame, 0xff, ETH_ALEN);
		break;
	case MAC_OTHER_HOST:
		memcpy(frame, "\x02\x00\x5e\x10\x00\x99", ETH_ALEN);
		break;
	}
	memcpy(frame + ETH_ALEN, "\x02\x00\x5e\x10\x00\x02", ETH_ALEN);
	frame[12] = (uint8_t)(frame_ethertype(i) >> 8);
	frame[13] = (uint8_t)frame_ethertype(i);
	memcpy(to.sll_addr, frame, ETH_ALEN);
	assert_int_equal(sendto(raw_fd, frame, ETH_HLEN + len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)(ETH_HLEN + len));
}

static const struct capture_packet *find(const struct got *g, const struct sockaddr_storage *src)
{
	for (size_t k = 0; k < g->n && k < 64; k++) {
		const struct capture_packet *p = &g->pkt[k];

		if (p->src.ss_family != src->ss_family)
			continue;
		if (src->ss_family == AF_INET ?
		    !memcmp(p->src.__ss_padding, src->__ss_padding, sizeof(struct sockaddr_in) - 2) :
		    !memcmp(&((struct sockaddr_in6 *)&p->src)->sin6_port,
			    &((struct sockaddr_in6 *)src)->sin6_port, 2) &&
		    !memcmp(&((struct sockaddr_in6 *)&p->src)->sin6_addr,
			    &((struct sockaddr_in6 *)src)->sin6_addr, 16))
			return p;
	}
	return NULL;
}

/* Every crafted case through the kernel: captured exactly when expected, once. */
static void run_cases(const char *interfaces, int link0, int link1)
{
	struct capture *c = open_capture(interfaces, 0);
	struct capture_stats st;
	struct got g = { 0 };
	size_t want = 0;

	for (size_t i = 0; i < n_frame_cases; i++)
		send_case(i);
	drain(c, &g);
	for (size_t i = 0; i < n_frame_cases; i++) {
		const struct frame_case *fc = &frame_cases[i];
		int expect = fc->want && (fc->link ? link1 : link0);
		struct sockaddr_storage src;
		const struct capture_packet *p;

		frame_source(i, &src);
		p = find(&g, &src);
		if (!!p != expect)
			fail_msg("%s (interfaces %s): %s", fc->name, interfaces,
				 p ? "captured, expected refused" : "not captured");
		if (!p)
			continue;
		want++;
		assert_int_equal(p->ifindex, gw_index[fc->link]);
		if (fc->linklocal)
			assert_int_equal(((struct sockaddr_in6 *)&p->src)->sin6_scope_id,
					 gw_index[fc->link]);
		assert_int_equal(p->payload[0], 1);
		for (size_t k = 4; k < CAPTURE_PAYLOAD_LEN; k++)
			assert_int_equal(p->payload[k], (uint8_t)(0xa0 + i + k));
	}
	assert_int_equal(g.n, want);
	capture_stats(c, &st);
	assert_int_equal(st.delivered, want);
	assert_int_equal(st.packets, want);
	assert_int_equal(st.drops, 0);
	assert_int_equal(st.malformed, 0);
	capture_close(c);
}

static void test_cases_any(void **state)
{
	(void)state;
	run_cases("any", 1, 1);
}

static void test_cases_listed(void **state)
{
	char both[64];

	(void)state;
	run_cases(gw_if[0], 1, 0);
	run_cases(gw_if[1], 0, 1);
	snprintf(both, sizeof(both), "%s, %s", gw_if[1], gw_if[0]);
	run_cases(both, 1, 1);
	/* two interfaces, so the socket is not bound to one: the filter alone tells them apart */
	snprintf(both, sizeof(both), "%s,%s", dummy_if, gw_if[0]);
	run_cases(both, 1, 0);
}

static void test_unknown_interface(void **state)
{
	struct capture_params p = { .port = CASE_PORT, .interfaces = NULL };
	struct capture *c = NULL;
	char err[256], list[64];

	(void)state;
	snprintf(list, sizeof(list), "%s,nosuch%d", gw_if[0], (int)getpid() % 100000);
	p.interfaces = list;
	assert_int_equal(capture_open(&c, &p, err, sizeof(err)), -ENODEV);
	assert_null(c);
	assert_non_null(strstr(err, list + strlen(gw_if[0]) + 1));
	p.interfaces = "lo";
	assert_int_equal(capture_open(&c, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "loopback"));
}

static void initiation_like(uint8_t msg[CAPTURE_PAYLOAD_LEN])
{
	memset(msg, 0x33, CAPTURE_PAYLOAD_LEN);
	memcpy(msg, "\x01\x00\x00\x00", 4);
}

static void send_udp(int fd, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	uint8_t msg[CAPTURE_PAYLOAD_LEN];

	initiation_like(msg);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		len = sizeof(*sin);
	}
	assert_int_equal(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&ss, len),
			 (ssize_t)sizeof(msg));
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);	/* same offset in sockaddr_in6 */
}

/*
 * Real sockets: what this host sends to the port (over lo, as wssd's relay
 * sockets do, or out of a veth, as the device's role-inversion initiations
 * do) is never captured; what a client sends is, with its own port.
 */
static void test_loopback_and_outgoing(void **state)
{
	struct capture *c = open_capture("any", 0);
	int v4 = socket(AF_INET, SOCK_DGRAM, 0), v6 = socket(AF_INET6, SOCK_DGRAM, 0);
	int cl4 = peer_socket(AF_INET, SOCK_DGRAM, 0), cl6 = peer_socket(AF_INET6, SOCK_DGRAM, 0);
	struct capture_stats st;
	struct got g = { 0 };
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;

	(void)state;
	assert_true(v4 >= 0 && v6 >= 0);
	send_udp(v4, "127.0.0.1", CASE_PORT);
	send_udp(v6, "::1", CASE_PORT);
	send_udp(v4, "198.18.0.1", CASE_PORT);		/* our own address: over lo */
	send_udp(v6, "fd00:5353::1", CASE_PORT);
	send_udp(v4, "198.18.0.2", CASE_PORT);		/* outgoing on the veth */
	send_udp(v6, "fd00:5353::2", CASE_PORT);
	drain(c, &g);
	assert_int_equal(g.n, 0);

	send_udp(cl4, "198.18.0.1", CASE_PORT);
	send_udp(cl6, "fd00:5353::1", CASE_PORT);
	drain(c, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.pkt[0].src.ss_family + g.pkt[1].src.ss_family, AF_INET + AF_INET6);
	for (size_t k = 0; k < 2; k++) {
		char text[INET6_ADDRSTRLEN];

		assert_int_equal(g.pkt[k].ifindex, gw_index[0]);
		if (g.pkt[k].src.ss_family == AF_INET) {
			sin = (struct sockaddr_in *)&g.pkt[k].src;
			inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
			assert_string_equal(text, "198.18.0.2");
			assert_int_equal(ntohs(sin->sin_port), local_port(cl4));
		} else {
			sin6 = (struct sockaddr_in6 *)&g.pkt[k].src;
			inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
			assert_string_equal(text, "fd00:5353::2");
			assert_int_equal(ntohs(sin6->sin6_port), local_port(cl6));
			assert_int_equal(sin6->sin6_scope_id, 0);
		}
	}
	/* the filter itself passed only those two */
	capture_stats(c, &st);
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.malformed, 0);
	close(v4);
	close(v6);
	close(cl4);
	close(cl6);
	capture_close(c);
}

/* A tiny receive buffer, a flood, nobody reading: the kernel's drops are counted. */
static void test_drops_counted(void **state)
{
	enum { FLOOD = 2000 };
	struct capture *c = open_capture("any", 1);
	uint64_t before = test_metric(KERNEL_DROPS);
	struct capture_stats st;
	struct got g = { 0 };

	(void)state;
	for (int i = 0; i < FLOOD; i++)
		send_case(0);
	usleep(300000);
	capture_stats(c, &st);
	printf("flood of %d into a %u-byte receive buffer: %llu passed the filter, %llu dropped\n",
	       FLOOD, st.rcvbuf, (unsigned long long)st.packets, (unsigned long long)st.drops);
	assert_true(st.packets > 0 && st.packets <= FLOOD);
	assert_true(st.drops > 0);
	assert_true(st.drops < st.packets);
	drain(c, &g);
	capture_stats(c, &st);
	assert_int_equal(g.n, st.packets - st.drops);
	assert_int_equal(st.delivered, g.n);
	assert_int_equal(test_metric(KERNEL_DROPS) - before, st.drops);
	capture_close(c);
}

static int setup_namespaces(void)
{
	int pid = (int)getpid() % 1000000;
	uint8_t *mac;
	struct ifreq ifr;
	char path[64];
	int fd;

	snprintf(peer_ns, sizeof(peer_ns), "capcl%d", pid);
	snprintf(dummy_if, sizeof(dummy_if), "cd%d", pid);
	if (test_sh("ip link set lo up") || test_sh("ip netns add %s", peer_ns) ||
	    test_sh("ip link add %s type veth peer name ce%d", dummy_if, pid))
		return -1;
	for (int k = 0; k < 2; k++) {
		snprintf(gw_if[k], sizeof(gw_if[k]), "cg%d%d", k, pid);
		snprintf(cl_if[k], sizeof(cl_if[k]), "cc%d%d", k, pid);
		if (test_sh("ip link add %s type veth peer name %s netns %s", gw_if[k], cl_if[k], peer_ns) ||
		    test_sh("ip addr add 198.18.%d.1/24 dev %s", k, gw_if[k]) ||
		    test_sh("ip addr add fd00:5353%s::1/64 dev %s nodad", k ? ":1" : "", gw_if[k]) ||
		    test_sh("ip link set %s up", gw_if[k]) ||
		    test_sh("ip -n %s addr add 198.18.%d.2/24 dev %s", peer_ns, k, cl_if[k]) ||
		    test_sh("ip -n %s addr add fd00:5353%s::2/64 dev %s nodad", peer_ns, k ? ":1" : "",
		       cl_if[k]) ||
		    test_sh("ip -n %s link set %s up", peer_ns, cl_if[k]))
			return -1;
		gw_index[k] = (int)if_nametoindex(gw_if[k]);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", gw_if[k]);
		if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
			return -1;
		close(fd);
		mac = (uint8_t *)ifr.ifr_hwaddr.sa_data;
		memcpy(gw_mac[k], mac, ETH_ALEN);
	}
	own_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", peer_ns);
	peer_ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (own_ns < 0 || peer_ns_fd < 0 || setns(peer_ns_fd, CLONE_NEWNET) < 0)
		return -1;
	for (int k = 0; k < 2; k++)
		cl_index[k] = (int)if_nametoindex(cl_if[k]);
	raw_fd = socket(AF_PACKET, SOCK_RAW, 0);	/* protocol 0: sends, receives nothing */
	if (setns(own_ns, CLONE_NEWNET) < 0 || raw_fd < 0 || !gw_index[0] || !cl_index[0])
		return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_any),
		cmocka_unit_test(test_cases_listed),
		cmocka_unit_test(test_unknown_interface),
		cmocka_unit_test(test_loopback_and_outgoing),
		cmocka_unit_test(test_drops_counted),
	};
	int ret = 1;

	if (geteuid() != 0 || (getenv("NET_TESTS") && !strcmp(getenv("NET_TESTS"), "no"))) {
		printf("SKIP: needs root and net tests (network namespaces, AF_PACKET)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare");
		return 1;
	}
	if (setup_namespaces() < 0)
		fprintf(stderr, "could not set up the namespaces\n");
	else
		ret = cmocka_run_group_tests(tests, NULL, NULL);
	if (peer_ns[0])
		test_sh("ip netns del %s", peer_ns);
	metrics_free();
	return ret;
}
