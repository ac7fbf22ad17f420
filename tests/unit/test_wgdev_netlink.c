#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "jit/wgdev-netlink.h"

#define FAMILY 0x1d
#define GENL_LEN MNL_ALIGN(sizeof(struct genlmsghdr))

static void fill_key(uint8_t key[WG_KEY_LEN], uint8_t tag)
{
	for (int i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(tag + i);
}

/* ---- set messages, read back ---- */

struct seen_ip {
	uint16_t family;
	uint8_t cidr;
	uint8_t addr[16];
};

/* Everything one message says about one peer fragment. */
struct seen_peer {
	uint8_t key[WG_KEY_LEN];
	bool has_flags, has_psk, has_endpoint, has_keepalive;
	uint32_t flags;
	uint16_t keepalive;
	struct sockaddr_storage endpoint;
	struct seen_ip ips[4096];
	size_t n_ips;
};

struct seen_msg {
	bool has_private_key, has_port, has_ifname;
	uint16_t port;
	char ifname[16];
	struct seen_peer *peers;
	size_t n_peers;
};

static struct seen_ip cur_ip;

static int read_ip_cb(const struct nlattr *attr, void *data)
{
	(void)data;
	switch (mnl_attr_get_type(attr)) {
	case WGALLOWEDIP_A_FAMILY:
		cur_ip.family = mnl_attr_get_u16(attr);
		break;
	case WGALLOWEDIP_A_IPADDR:
		memcpy(cur_ip.addr, mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr));
		break;
	case WGALLOWEDIP_A_CIDR_MASK:
		cur_ip.cidr = mnl_attr_get_u8(attr);
		break;
	default:
		fail_msg("unexpected allowed-IP attribute %u", mnl_attr_get_type(attr));
	}
	return MNL_CB_OK;
}

static int read_ips_cb(const struct nlattr *attr, void *data)
{
	struct seen_peer *p = data;

	memset(&cur_ip, 0, sizeof(cur_ip));
	assert_true(mnl_attr_parse_nested(attr, read_ip_cb, NULL) >= 0);
	assert_true(p->n_ips < 4096);
	p->ips[p->n_ips++] = cur_ip;
	return MNL_CB_OK;
}

static int read_peer_cb(const struct nlattr *attr, void *data)
{
	struct seen_peer *p = data;

	switch (mnl_attr_get_type(attr)) {
	case WGPEER_A_PUBLIC_KEY:
		assert_int_equal(mnl_attr_get_payload_len(attr), WG_KEY_LEN);
		memcpy(p->key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		break;
	case WGPEER_A_FLAGS:
		p->has_flags = true;
		p->flags = mnl_attr_get_u32(attr);
		break;
	case WGPEER_A_PRESHARED_KEY:
		p->has_psk = true;
		break;
	case WGPEER_A_ENDPOINT:
		p->has_endpoint = true;
		memcpy(&p->endpoint, mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr));
		break;
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		p->has_keepalive = true;
		p->keepalive = mnl_attr_get_u16(attr);
		break;
	case WGPEER_A_ALLOWEDIPS:
		assert_true(mnl_attr_parse_nested(attr, read_ips_cb, p) >= 0);
		break;
	default:
		fail_msg("unexpected peer attribute %u", mnl_attr_get_type(attr));
	}
	return MNL_CB_OK;
}

static int read_peers_cb(const struct nlattr *attr, void *data)
{
	struct seen_msg *m = data;
	struct seen_peer *p;

	m->peers = realloc(m->peers, (m->n_peers + 1) * sizeof(*m->peers));
	assert_non_null(m->peers);
	p = &m->peers[m->n_peers++];
	memset(p, 0, sizeof(*p));
	assert_true(mnl_attr_parse_nested(attr, read_peer_cb, p) >= 0);
	return MNL_CB_OK;
}

static int read_device_cb(const struct nlattr *attr, void *data)
{
	struct seen_msg *m = data;

	switch (mnl_attr_get_type(attr)) {
	case WGDEVICE_A_IFNAME:
		m->has_ifname = true;
		strncpy(m->ifname, mnl_attr_get_str(attr), sizeof(m->ifname) - 1);
		break;
	case WGDEVICE_A_PRIVATE_KEY:
		m->has_private_key = true;
		break;
	case WGDEVICE_A_LISTEN_PORT:
		m->has_port = true;
		m->port = mnl_attr_get_u16(attr);
		break;
	case WGDEVICE_A_PEERS:
		assert_true(mnl_attr_parse_nested(attr, read_peers_cb, m) >= 0);
		break;
	default:
		fail_msg("unexpected device attribute %u", mnl_attr_get_type(attr));
	}
	return MNL_CB_OK;
}

static void read_set_msg(const void *buf, int len, uint32_t seq, struct seen_msg *m)
{
	const struct nlmsghdr *nlh = buf;
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	memset(m, 0, sizeof(*m));
	assert_true(mnl_nlmsg_ok(nlh, len));
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, FAMILY);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nlh->nlmsg_seq, seq);
	assert_int_equal(genl->cmd, WG_CMD_SET_DEVICE);
	assert_int_equal(genl->version, WG_GENL_VERSION);
	assert_true(mnl_attr_parse(nlh, GENL_LEN, read_device_cb, m) >= 0);
	assert_true(m->has_ifname);
	assert_string_equal(m->ifname, "wgtest0");
}

static void test_build_get(void **state)
{
	char buf[256];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct genlmsghdr *genl;
	int len;

	(void)state;
	len = wgnl_build_get(buf, sizeof(buf), FAMILY, "wgtest0", 42);
	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
	assert_int_equal(nlh->nlmsg_seq, 42);
	genl = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(genl->cmd, WG_CMD_GET_DEVICE);
	const struct nlattr *attr = mnl_nlmsg_get_payload_offset(nlh, GENL_LEN);

	assert_int_equal(mnl_attr_get_type(attr), WGDEVICE_A_IFNAME);
	assert_string_equal(mnl_attr_get_str(attr), "wgtest0");
	assert_int_equal(wgnl_build_get(buf, 8, FAMILY, "wgtest0", 1), -EMSGSIZE);
}

static void test_set_one_message(void **state)
{
	struct wg_allowedip ips[2];
	struct wgdev_set_peer peer = { .flags = WGDEV_PEER_REPLACE_ALLOWEDIPS | WGDEV_PEER_HAS_PSK |
						WGDEV_PEER_HAS_ENDPOINT | WGDEV_PEER_HAS_KEEPALIVE,
				       .persistent_keepalive = 25, .allowedips = ips, .n_allowedips = 2 };
	struct wgdev_set set = { .flags = WGDEV_SET_PRIVATE_KEY | WGDEV_SET_LISTEN_PORT,
				 .listen_port = 51820, .peers = &peer, .n_peers = 1 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer.endpoint;
	struct wgnl_set_iter it;
	struct seen_msg m;
	char buf[WGNL_MSG_MAX];
	int len;

	(void)state;
	fill_key(set.private_key, 1);
	fill_key(peer.public_key, 2);
	fill_key(peer.preshared_key, 3);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(51821);
	sin->sin_addr.s_addr = htonl(0xc6120002);
	assert_int_equal(allowedip_parse("10.0.0.2/32", &ips[0]), 0);
	assert_int_equal(allowedip_parse("fd00:5353::/64", &ips[1]), 0);

	wgnl_set_iter_init(&it, &set);
	len = wgnl_set_next(&it, buf, sizeof(buf), FAMILY, "wgtest0", 7);
	assert_true(len > 0);
	read_set_msg(buf, len, 7, &m);
	assert_true(m.has_private_key);
	assert_true(m.has_port);
	assert_int_equal(m.port, 51820);
	assert_int_equal(m.n_peers, 1);
	assert_memory_equal(m.peers[0].key, peer.public_key, WG_KEY_LEN);
	assert_true(m.peers[0].has_flags);
	assert_int_equal(m.peers[0].flags, WGPEER_F_REPLACE_ALLOWEDIPS);
	assert_true(m.peers[0].has_psk);
	assert_true(m.peers[0].has_endpoint);
	assert_int_equal(m.peers[0].endpoint.ss_family, AF_INET);
	assert_int_equal(((struct sockaddr_in *)&m.peers[0].endpoint)->sin_port, htons(51821));
	assert_int_equal(m.peers[0].keepalive, 25);
	assert_int_equal(m.peers[0].n_ips, 2);
	assert_int_equal(m.peers[0].ips[0].family, AF_INET);
	assert_int_equal(m.peers[0].ips[0].cidr, 32);
	assert_memory_equal(m.peers[0].ips[0].addr, &ips[0].ip4, 4);
	assert_int_equal(m.peers[0].ips[1].family, AF_INET6);
	assert_int_equal(m.peers[0].ips[1].cidr, 64);
	assert_memory_equal(m.peers[0].ips[1].addr, &ips[1].ip6, 16);
	free(m.peers);
	assert_int_equal(wgnl_set_next(&it, buf, sizeof(buf), FAMILY, "wgtest0", 8), 0);

	/* removal: the flag alone, no allowed IPs even if given */
	peer.flags = WGDEV_PEER_REMOVE | WGDEV_PEER_HAS_ENDPOINT;
	set.flags = 0;
	wgnl_set_iter_init(&it, &set);
	len = wgnl_set_next(&it, buf, sizeof(buf), FAMILY, "wgtest0", 9);
	read_set_msg(buf, len, 9, &m);
	assert_false(m.has_private_key);
	assert_false(m.has_port);
	assert_int_equal(m.n_peers, 1);
	assert_int_equal(m.peers[0].flags, WGPEER_F_REMOVE_ME);
	assert_false(m.peers[0].has_endpoint);
	assert_int_equal(m.peers[0].n_ips, 0);
	free(m.peers);

	/* nothing to set: one message with the name only */
	set.n_peers = 0;
	wgnl_set_iter_init(&it, &set);
	len = wgnl_set_next(&it, buf, sizeof(buf), FAMILY, "wgtest0", 10);
	read_set_msg(buf, len, 10, &m);
	assert_int_equal(m.n_peers, 0);
	assert_int_equal(wgnl_set_next(&it, buf, sizeof(buf), FAMILY, "wgtest0", 11), 0);

	/* an endpoint of another family is refused */
	set.n_peers = 1;
	peer.flags = WGDEV_PEER_HAS_ENDPOINT;
	peer.endpoint.ss_family = AF_UNIX;
	wgnl_set_iter_init(&it, &set);
	assert_int_equal(wgnl_set_next(&it, buf, sizeof(buf), FAMILY, "wgtest0", 12), -EAFNOSUPPORT);
}

/*
 * Splits peers across messages of at most bufsize bytes and checks the
 * result says exactly what the set says. Returns the number of messages.
 */
static size_t check_split(const struct wgdev_set *set, size_t bufsize)
{
	struct wgnl_set_iter it;
	char *buf = malloc(bufsize);
	size_t peer = 0, ip = 0, n_msgs = 0;
	bool peer_open = false;
	int len;

	assert_non_null(buf);
	wgnl_set_iter_init(&it, set);
	while ((len = wgnl_set_next(&it, buf, bufsize, FAMILY, "wgtest0", (uint32_t)n_msgs + 1)) > 0) {
		struct seen_msg m;

		assert_true((size_t)len <= bufsize && len <= WGNL_MSG_MAX);
		read_set_msg(buf, len, (uint32_t)n_msgs + 1, &m);
		/* device attributes in the first message only */
		assert_int_equal(m.has_private_key, n_msgs == 0 && (set->flags & WGDEV_SET_PRIVATE_KEY));
		assert_int_equal(m.has_port, n_msgs == 0 && (set->flags & WGDEV_SET_LISTEN_PORT));
		for (size_t i = 0; i < m.n_peers; i++) {
			const struct seen_peer *sp = &m.peers[i];
			const struct wgdev_set_peer *p;
			bool first;

			if (peer_open && ip == set->peers[peer].n_allowedips) {
				peer++;
				ip = 0;
				peer_open = false;
			}
			assert_true(peer < set->n_peers);
			p = &set->peers[peer];
			assert_memory_equal(sp->key, p->public_key, WG_KEY_LEN);
			first = !peer_open;
			peer_open = true;
			/* options in the peer's first fragment only */
			assert_int_equal(sp->has_flags,
					 first && (p->flags & (WGDEV_PEER_REMOVE | WGDEV_PEER_REPLACE_ALLOWEDIPS)));
			assert_int_equal(sp->has_psk, first && (p->flags & WGDEV_PEER_HAS_PSK));
			assert_int_equal(sp->has_endpoint, first && (p->flags & WGDEV_PEER_HAS_ENDPOINT) &&
					 !(p->flags & WGDEV_PEER_REMOVE));
			assert_int_equal(sp->has_keepalive, first && (p->flags & WGDEV_PEER_HAS_KEEPALIVE));
			if (!first)
				assert_true(sp->n_ips > 0);
			for (size_t j = 0; j < sp->n_ips; j++, ip++) {
				const struct wg_allowedip *want = &p->allowedips[ip];

				assert_true(ip < p->n_allowedips);
				assert_int_equal(sp->ips[j].family, want->family);
				assert_int_equal(sp->ips[j].cidr, want->cidr);
				assert_memory_equal(sp->ips[j].addr, &want->ip6,
						    want->family == AF_INET ? 4 : 16);
			}
			if (p->flags & WGDEV_PEER_REMOVE)
				ip = p->n_allowedips;
		}
		free(m.peers);
		n_msgs++;
		assert_true(n_msgs < 100000);
	}
	assert_int_equal(len, 0);
	/* everything went out */
	assert_true(peer_open);
	assert_int_equal(peer, set->n_peers - 1);
	assert_int_equal(ip, set->peers[peer].n_allowedips);
	free(buf);
	return n_msgs;
}

static void test_set_split(void **state)
{
	enum { N_BIG = 1000, N_SMALL = 300 };
	struct wg_allowedip *big = calloc(N_BIG, sizeof(*big));
	struct wg_allowedip small[3];
	struct wgdev_set_peer peers[3 + N_SMALL] = { 0 };
	struct wgdev_set set = { .flags = WGDEV_SET_PRIVATE_KEY | WGDEV_SET_LISTEN_PORT,
				 .listen_port = 1, .peers = peers, .n_peers = 3 };
	size_t n;

	(void)state;
	assert_non_null(big);
	for (int i = 0; i < N_BIG; i++) {
		big[i].family = AF_INET6;
		big[i].cidr = 128;
		big[i].ip6.s6_addr[0] = 0xfd;
		big[i].ip6.s6_addr[14] = (uint8_t)(i >> 8);
		big[i].ip6.s6_addr[15] = (uint8_t)i;
	}
	for (int i = 0; i < 3; i++) {
		small[i].family = AF_INET;
		small[i].cidr = 32;
		small[i].ip4.s_addr = htonl(0x0a000001U + (uint32_t)i);
	}
	/* a peer whose allowed IPs fill several messages, a removal, a small one */
	fill_key(peers[0].public_key, 10);
	peers[0].flags = WGDEV_PEER_REPLACE_ALLOWEDIPS | WGDEV_PEER_HAS_PSK | WGDEV_PEER_HAS_KEEPALIVE |
			 WGDEV_PEER_HAS_ENDPOINT;
	peers[0].endpoint.ss_family = AF_INET6;
	peers[0].allowedips = big;
	peers[0].n_allowedips = N_BIG;
	fill_key(peers[1].public_key, 20);
	peers[1].flags = WGDEV_PEER_REMOVE;
	fill_key(peers[2].public_key, 30);
	peers[2].flags = WGDEV_PEER_REPLACE_ALLOWEDIPS | WGDEV_PEER_HAS_KEEPALIVE;
	peers[2].allowedips = small;
	peers[2].n_allowedips = 3;

	n = check_split(&set, WGNL_MSG_MAX);
	/* 1000 IPv6 allowed IPs at 40 bytes do not fit 8 KiB: 5 or more messages */
	assert_true(n >= 5);
	/* a larger buffer is not used beyond WGNL_MSG_MAX */
	assert_int_equal(check_split(&set, 4 * WGNL_MSG_MAX), n);
	/* the smallest workable buffer: one allowed IP per message at worst */
	assert_true(check_split(&set, 256) > N_BIG / 4);

	/* many small peers: several to a message, none lost at the boundaries */
	for (int i = 0; i < N_SMALL; i++) {
		struct wgdev_set_peer *p = &peers[3 + i];

		fill_key(p->public_key, (uint8_t)(40 + i));
		p->public_key[31] = (uint8_t)i;
		p->flags = WGDEV_PEER_REPLACE_ALLOWEDIPS | WGDEV_PEER_HAS_PSK | WGDEV_PEER_HAS_ENDPOINT |
			   WGDEV_PEER_HAS_KEEPALIVE;
		p->endpoint.ss_family = AF_INET;
		p->allowedips = small;
		p->n_allowedips = 1 + i % 3;
	}
	set.n_peers = 3 + N_SMALL;
	assert_true(check_split(&set, WGNL_MSG_MAX) > n);

	/* a buffer too small for any peer */
	struct wgnl_set_iter it;
	char buf[256];

	set.flags = 0;
	wgnl_set_iter_init(&it, &set);
	assert_int_equal(wgnl_set_next(&it, buf, 60, FAMILY, "wgtest0", 1), -EMSGSIZE);
	free(big);
}

/* ---- dumps, hand-built as the kernel sends them ---- */

static struct nlmsghdr *dump_msg(char *at, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	nlh->nlmsg_seq = 5;
	nlh->nlmsg_pid = 77;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = WG_CMD_GET_DEVICE;
	genl->version = WG_GENL_VERSION;
	return nlh;
}

/* As nla_put_u64_64bit: a padding attribute (type 0) aligns the value. */
static void put_u64_padded(struct nlmsghdr *nlh, uint16_t type, uint64_t v)
{
	if ((nlh->nlmsg_len + MNL_ATTR_HDRLEN) % 8)
		mnl_attr_put(nlh, WGPEER_A_UNSPEC, 0, NULL);
	mnl_attr_put_u64(nlh, type, v);
}

static void put_ip4(struct nlmsghdr *nlh, uint32_t addr, uint8_t cidr)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	uint32_t be = htonl(addr);

	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, &be);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, n);
}

static void done_msg(char *at, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	int zero = 0;

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	nlh->nlmsg_seq = 5;
	nlh->nlmsg_pid = 77;
	mnl_nlmsg_put_extra_header(nlh, sizeof(zero));
}

/*
 * Two data messages: the device and peer A with two allowed IPs; then A
 * again (key repeated) with a third IP, then peer B. Returns the length.
 */
static size_t build_dump(char *buf, uint16_t second_flags)
{
	struct nlmsghdr *nlh;
	struct nlattr *peers, *peer, *ips;
	uint8_t key[WG_KEY_LEN];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(51821),
				   .sin_addr.s_addr = htonl(0xc6120002) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	int64_t hs[2] = { 1700000000, 5 };
	size_t len;

	nlh = dump_msg(buf, 0);
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 9);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	fill_key(key, 1);
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, key);
	fill_key(key, 2);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, key);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	mnl_attr_put_u32(nlh, 99, 0xdead);	/* unknown: skipped */
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	fill_key(key, 10);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	fill_key(key, 11);
	mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, key);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(hs), hs);
	put_u64_padded(nlh, WGPEER_A_RX_BYTES, 1000);
	put_u64_padded(nlh, WGPEER_A_TX_BYTES, 2000);
	mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	mnl_attr_put_u32(nlh, 77, 1);	/* unknown: skipped */
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	put_ip4(nlh, 0x0a000001, 32);
	put_ip4(nlh, 0x0a010000, 16);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	len = nlh->nlmsg_len;

	nlh = dump_msg(buf + len, second_flags);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	fill_key(key, 10);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	put_ip4(nlh, 0x0a020000, 24);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	peer = mnl_attr_nest_start(nlh, 0);
	fill_key(key, 20);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	inet_pton(AF_INET6, "fd00:5353::2", &sin6.sin6_addr);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
	put_u64_padded(nlh, WGPEER_A_RX_BYTES, 0);
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);

	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET6);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 16, &sin6.sin6_addr);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 128);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return len + nlh->nlmsg_len;
}

static void test_dump_merge(void **state)
{
	char buf[4096] __attribute__((aligned(8))), done[64] __attribute__((aligned(8)));
	struct wgnl_dump d;
	uint8_t key[WG_KEY_LEN];
	size_t len;

	(void)state;
	len = build_dump(buf, 0);
	done_msg(done, 0);
	wgnl_dump_init(&d);
	/* the data in one receive, the end in the next */
	assert_int_equal(wgnl_dump_feed(&d, buf, len, 5, 77), 1);
	assert_int_equal(wgnl_dump_feed(&d, done, ((struct nlmsghdr *)done)->nlmsg_len, 5, 77), 0);
	assert_false(d.interrupted);
	assert_string_equal(d.st.dev.ifname, "wgtest0");
	assert_true(d.st.dev.has_private_key);
	fill_key(key, 2);
	assert_memory_equal(d.st.dev.public_key, key, WG_KEY_LEN);
	assert_int_equal(d.st.dev.listen_port, 51820);
	assert_int_equal(d.st.n_peers, 2);

	const struct wgdev_peer_info *a = &d.st.peers[0], *b = &d.st.peers[1];

	fill_key(key, 10);
	assert_memory_equal(a->public_key, key, WG_KEY_LEN);
	assert_true(a->has_preshared_key);
	assert_int_equal(a->endpoint.ss_family, AF_INET);
	assert_int_equal(a->persistent_keepalive, 25);
	assert_int_equal(a->last_handshake_sec, 1700000000);
	assert_int_equal(a->last_handshake_nsec, 5);
	assert_int_equal(a->rx_bytes, 1000);
	assert_int_equal(a->tx_bytes, 2000);
	/* the continuation's allowed IP joined the first two */
	assert_int_equal(a->n_allowedips, 3);
	assert_int_equal(ntohl(a->allowedips[0].ip4.s_addr), 0x0a000001);
	assert_int_equal(a->allowedips[1].cidr, 16);
	assert_int_equal(ntohl(a->allowedips[2].ip4.s_addr), 0x0a020000);
	assert_int_equal(a->allowedips[2].cidr, 24);

	fill_key(key, 20);
	assert_memory_equal(b->public_key, key, WG_KEY_LEN);
	assert_int_equal(b->endpoint.ss_family, AF_INET6);
	assert_int_equal(b->n_allowedips, 1);
	assert_int_equal(b->allowedips[0].family, AF_INET6);
	assert_int_equal(b->allowedips[0].cidr, 128);
	wgnl_dump_free(&d);

	/* the same, each message in its own receive and DONE with the rest */
	size_t first = ((struct nlmsghdr *)buf)->nlmsg_len;
	char *second = malloc(len - first + 64);

	memcpy(second, buf + first, len - first);
	memcpy(second + len - first, done, ((struct nlmsghdr *)done)->nlmsg_len);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, first, 5, 77), 1);
	assert_int_equal(d.st.n_peers, 1);
	assert_int_equal(d.st.peers[0].n_allowedips, 2);
	assert_int_equal(wgnl_dump_feed(&d, second, len - first + ((struct nlmsghdr *)done)->nlmsg_len,
					5, 77), 0);
	assert_int_equal(d.st.n_peers, 2);
	assert_int_equal(d.st.peers[0].n_allowedips, 3);
	wgnl_dump_free(&d);
	free(second);

	/* another sequence number or port id is not ours */
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, len, 6, 77), -EBADMSG);
	wgnl_dump_free(&d);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, len, 5, 78), -EBADMSG);
	wgnl_dump_free(&d);
}

static void test_dump_intr(void **state)
{
	char buf[4096] __attribute__((aligned(8))), done[64] __attribute__((aligned(8)));
	struct wgnl_dump d;
	size_t len;

	(void)state;
	len = build_dump(buf, NLM_F_DUMP_INTR);
	done_msg(done, 0);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, len, 5, 77), 1);
	assert_int_equal(wgnl_dump_feed(&d, done, ((struct nlmsghdr *)done)->nlmsg_len, 5, 77), 0);
	assert_true(d.interrupted);
	wgnl_dump_free(&d);

	/* the flag on DONE alone counts too */
	len = build_dump(buf, 0);
	done_msg(done, NLM_F_DUMP_INTR);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, len, 5, 77), 1);
	assert_int_equal(wgnl_dump_feed(&d, done, ((struct nlmsghdr *)done)->nlmsg_len, 5, 77), 0);
	assert_true(d.interrupted);
	wgnl_dump_free(&d);
}

static void test_dump_errors(void **state)
{
	char buf[4096] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	struct nlattr *peers, *peer, *ips;
	struct wgnl_dump d;
	uint8_t key[WG_KEY_LEN];
	size_t len;

	(void)state;
	/* the kernel's answer for an interface that is not there */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -ENODEV;
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, nlh->nlmsg_len, 0, 0), -ENODEV);
	wgnl_dump_free(&d);
	e->error = 12345;
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, nlh->nlmsg_len, 0, 0), -EBADMSG);
	wgnl_dump_free(&d);

	/* a key of the wrong length */
	nlh = dump_msg(buf, 0);
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 31, buf + 100);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, nlh->nlmsg_len, 0, 0), -EBADMSG);
	wgnl_dump_free(&d);

	/* a peer without a public key */
	nlh = dump_msg(buf, 0);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, nlh->nlmsg_len, 0, 0), -EBADMSG);
	wgnl_dump_free(&d);

	/* an IPv4 allowed IP with a 16-byte address, and one with /33 */
	for (int bad = 0; bad < 2; bad++) {
		nlh = dump_msg(buf, 0);
		peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		peer = mnl_attr_nest_start(nlh, 0);
		fill_key(key, 10);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
		ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		struct nlattr *n = mnl_attr_nest_start(nlh, 0);

		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, bad ? 4 : 16, key);
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, bad ? 33 : 32);
		mnl_attr_nest_end(nlh, n);
		mnl_attr_nest_end(nlh, ips);
		mnl_attr_nest_end(nlh, peer);
		mnl_attr_nest_end(nlh, peers);
		wgnl_dump_init(&d);
		assert_int_equal(wgnl_dump_feed(&d, buf, nlh->nlmsg_len, 0, 0), -EBADMSG);
		wgnl_dump_free(&d);
	}

	/* a message cut short, and bytes after the last whole message */
	len = build_dump(buf, 0);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, len - 8, 0, 0), -EBADMSG);
	wgnl_dump_free(&d);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, buf, 3, 0, 0), -EBADMSG);
	wgnl_dump_free(&d);

	/*
	 * A receive that ends 3 bytes into the padding of its last message,
	 * whose last attribute (a key) needs those bytes: libmnl walks to the
	 * aligned end, so the key must not be read at all. Found by
	 * fuzz_netlink as a heap overread; the exact-size copy lets ASan see it.
	 */
	nlh = dump_msg(buf, 0);
	fill_key(key, 3);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, key);
	len = nlh->nlmsg_len - 3;
	nlh->nlmsg_len = (uint32_t)len;
	char *exact = malloc(len);

	assert_non_null(exact);
	memcpy(exact, buf, len);
	wgnl_dump_init(&d);
	assert_int_equal(wgnl_dump_feed(&d, exact, len, 0, 0), -EBADMSG);
	memset(key, 0, sizeof(key));
	assert_memory_equal(d.st.dev.public_key, key, WG_KEY_LEN);
	wgnl_dump_free(&d);
	free(exact);
}

/* ---- acknowledgements ---- */

/*
 * An acknowledgement of request seq at `at`: the kernel's error, then the
 * request's header and echo_len bytes of its payload (none when capped).
 * Returns its length.
 */
static size_t ack_msg(char *at, uint32_t seq, int error, size_t echo_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = echo_len ? 0 : NLM_F_CAPPED;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 77;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e) + echo_len);
	e->error = error;
	e->msg.nlmsg_len = (uint32_t)(sizeof(e->msg) + echo_len);
	e->msg.nlmsg_type = FAMILY;
	e->msg.nlmsg_seq = seq;
	memset(e + 1, 0x5a, echo_len);
	return nlh->nlmsg_len;
}

static void test_ack_feed(void **state)
{
	static char buf[WGNL_ACK_BUF] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	size_t len;

	(void)state;
	len = ack_msg(buf, 5, 0, 0);
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), 0);

	/* capped, and with the whole 8 KiB request echoed: the kernel's errno both ways */
	len = ack_msg(buf, 5, -EINVAL, 0);
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), -EINVAL);
	len = ack_msg(buf, 5, -EINVAL, WGNL_MSG_MAX - sizeof(struct nlmsghdr));
	assert_true(len <= sizeof(buf));
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), -EINVAL);

	/* extended-ack attributes after a capped echo */
	len = ack_msg(buf, 5, -EINVAL, 0);
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Attribute failed policy validation");
	mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 40);
	assert_int_equal(wgnl_ack_feed(buf, nlh->nlmsg_len, 5, 77), -EINVAL);

	/* an earlier request's answer (cut short) is read past, in the same receive or alone */
	len = ack_msg(buf, 4, -ENOENT, 0);
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), 1);
	len += ack_msg(buf + len, 5, -EEXIST, 0);
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), -EEXIST);
	/* and so is another port's */
	len = ack_msg(buf, 5, -ENOENT, 0);
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 78), 1);

	/* a data answer before the acknowledgement */
	nlh = dump_msg(buf, 0);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	len = nlh->nlmsg_len;
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), 1);
	len += ack_msg(buf + len, 5, 0, 0);
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), 0);

	/* overrun; no room for the error; a positive error; cut short */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_OVERRUN;
	nlh->nlmsg_seq = 5;
	assert_int_equal(wgnl_ack_feed(buf, nlh->nlmsg_len, 5, 77), -ENOBUFS);
	len = ack_msg(buf, 5, -EINVAL, 0);
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len = sizeof(*nlh) + 2;
	assert_int_equal(wgnl_ack_feed(buf, MNL_ALIGN(nlh->nlmsg_len), 5, 77), -EBADMSG);
	len = ack_msg(buf, 5, 7, 0);
	assert_int_equal(wgnl_ack_feed(buf, len, 5, 77), -EBADMSG);
	len = ack_msg(buf, 5, -EINVAL, 0);
	assert_int_equal(wgnl_ack_feed(buf, len - 4, 5, 77), -EBADMSG);
	assert_int_equal(wgnl_ack_feed(buf, 3, 5, 77), -EBADMSG);
}

/*
 * Through this machine's kernel, which needs no WireGuard: a refused 8 KiB
 * request (a generic netlink family that does not exist) answers ENOENT,
 * where an uncapped echo of it would not fit the old 8 KiB ack buffer
 * (ENOSPC), and the next request on the same socket is answered.
 */
static void test_kernel_ack(void **state)
{
	static char buf[WGNL_MSG_MAX] __attribute__((aligned(8)));
	static const char filler[64];
	struct wgdev dev = { 0 };
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;
	socklen_t optlen;
	uint32_t portid;
	int on = 0, ret;

	(void)state;
	ret = wgnl_socket_open(&dev);
	if (ret == -EPERM || ret == -EACCES || ret == -EAFNOSUPPORT || ret == -EPROTONOSUPPORT)
		skip();
	assert_int_equal(ret, 0);
	optlen = sizeof(on);
	assert_int_equal(getsockopt(mnl_socket_get_fd(dev.nl), SOL_NETLINK, NETLINK_CAP_ACK, &on,
				    &optlen), 0);
	assert_int_equal(on, 1);
	portid = dev.portid;

	for (int round = 0; round < 2; round++) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = GENL_ID_CTRL;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = ++dev.seq;
		genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
		genl->cmd = CTRL_CMD_GETFAMILY;
		genl->version = 1;
		mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, round ? "nlctrl" : "wssd-nosuch");
		/* the first is made a full message with attributes the kernel ignores */
		while (!round && nlh->nlmsg_len < WGNL_MSG_MAX) {
			size_t room = WGNL_MSG_MAX - nlh->nlmsg_len - MNL_ATTR_HDRLEN;

			mnl_attr_put(nlh, CTRL_ATTR_UNSPEC, room < sizeof(filler) ? room : sizeof(filler),
				     filler);
		}
		assert_true(round || nlh->nlmsg_len == WGNL_MSG_MAX);
		assert_int_equal(wgnl_request(&dev, nlh), round ? 0 : -ENOENT);
	}
	assert_int_equal(dev.portid, portid);
	wgnl_close(&dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_get),
		cmocka_unit_test(test_set_one_message),
		cmocka_unit_test(test_set_split),
		cmocka_unit_test(test_dump_merge),
		cmocka_unit_test(test_dump_intr),
		cmocka_unit_test(test_dump_errors),
		cmocka_unit_test(test_ack_feed),
		cmocka_unit_test(test_kernel_ack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
