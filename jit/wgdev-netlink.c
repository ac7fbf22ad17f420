/*
 * The kernel's generic netlink family "wireguard" (PROTOCOL.md §3), with
 * libmnl. Message building and dump parsing are separate from the socket so
 * that tests can drive them with buffers.
 */
#include "jit/wgdev-netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WGNL_DUMP_RETRIES 8

static struct nlmsghdr *put_genl_header(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
					uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

int wgnl_build_get(void *buf, size_t size, uint16_t family, const char *ifname, uint32_t seq)
{
	struct nlmsghdr *nlh;

	if (size < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)))
		return -EMSGSIZE;
	nlh = put_genl_header(buf, family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq,
			      WG_CMD_GET_DEVICE, WG_GENL_VERSION);
	if (!mnl_attr_put_strz_check(nlh, size, WGDEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

void wgnl_set_iter_init(struct wgnl_set_iter *it, const struct wgdev_set *set)
{
	memset(it, 0, sizeof(*it));
	it->set = set;
	it->first = true;
}

static bool put_peer_options(struct nlmsghdr *nlh, size_t max, const struct wgdev_set_peer *p)
{
	uint32_t flags = 0;

	if (p->flags & WGDEV_PEER_REMOVE)
		flags |= WGPEER_F_REMOVE_ME;
	if (p->flags & WGDEV_PEER_REPLACE_ALLOWEDIPS)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (p->flags & WGDEV_PEER_UPDATE_ONLY)
		flags |= WGPEER_F_UPDATE_ONLY;
	if (flags && !mnl_attr_put_u32_check(nlh, max, WGPEER_A_FLAGS, flags))
		return false;
	if (p->flags & WGDEV_PEER_REMOVE)
		return true;
	if ((p->flags & WGDEV_PEER_HAS_PSK) &&
	    !mnl_attr_put_check(nlh, max, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, p->preshared_key))
		return false;
	if (p->flags & WGDEV_PEER_HAS_ENDPOINT) {
		size_t len = p->endpoint.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			     sizeof(struct sockaddr_in6);

		if (!mnl_attr_put_check(nlh, max, WGPEER_A_ENDPOINT, len, &p->endpoint))
			return false;
	}
	if ((p->flags & WGDEV_PEER_HAS_KEEPALIVE) &&
	    !mnl_attr_put_u16_check(nlh, max, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
				    p->persistent_keepalive))
		return false;
	return true;
}

static bool put_allowedip(struct nlmsghdr *nlh, size_t max, const struct wg_allowedip *ip)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, max, 0);

	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(nlh, max, WGALLOWEDIP_A_FAMILY, ip->family) ||
	    !mnl_attr_put_check(nlh, max, WGALLOWEDIP_A_IPADDR,
				ip->family == AF_INET ? sizeof(ip->ip4) : sizeof(ip->ip6),
				ip->family == AF_INET ? (const void *)&ip->ip4 : (const void *)&ip->ip6) ||
	    !mnl_attr_put_u8_check(nlh, max, WGALLOWEDIP_A_CIDR_MASK, ip->cidr)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/*
 * Writes what fits of the iterator's current peer. Returns 1 when the peer
 * is complete, 0 when the message is full (*wrote says whether any of the
 * peer went in).
 */
static int put_peer(struct wgnl_set_iter *it, struct nlmsghdr *nlh, size_t max, bool *wrote)
{
	const struct wgdev_set_peer *p = &it->set->peers[it->peer];
	size_t n_ips = (p->flags & WGDEV_PEER_REMOVE) ? 0 : p->n_allowedips;
	struct nlattr *peer_nest, *ips_nest;
	bool options_now = false;
	size_t start;

	*wrote = false;
	peer_nest = mnl_attr_nest_start_check(nlh, max, 0);
	if (!peer_nest)
		return 0;
	if (!mnl_attr_put_check(nlh, max, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key))
		goto cancel;
	if (!it->peer_started) {
		if (!put_peer_options(nlh, max, p))
			goto cancel;
		options_now = true;
	}
	start = it->ip;
	if (it->ip < n_ips) {
		ips_nest = mnl_attr_nest_start_check(nlh, max, WGPEER_A_ALLOWEDIPS);
		if (ips_nest) {
			while (it->ip < n_ips && put_allowedip(nlh, max, &p->allowedips[it->ip]))
				it->ip++;
			if (it->ip == start)
				mnl_attr_nest_cancel(nlh, ips_nest);
			else
				mnl_attr_nest_end(nlh, ips_nest);
		}
	}
	if (it->ip == start && !options_now)
		goto cancel;	/* nothing new of this peer fits */
	mnl_attr_nest_end(nlh, peer_nest);
	*wrote = true;
	it->peer_started = true;
	if (it->ip < n_ips)
		return 0;
	it->peer++;
	it->ip = 0;
	it->peer_started = false;
	return 1;
cancel:
	mnl_attr_nest_cancel(nlh, peer_nest);
	return 0;
}

int wgnl_set_next(struct wgnl_set_iter *it, void *buf, size_t size, uint16_t family,
		  const char *ifname, uint32_t seq)
{
	const struct wgdev_set *set = it->set;
	size_t max = size < WGNL_MSG_MAX ? size : WGNL_MSG_MAX;
	struct nlattr *peers_nest;
	struct nlmsghdr *nlh;
	bool progress, wrote, any_peer = false;

	if (it->done)
		return 0;
	if (max < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)))
		return -EMSGSIZE;
	/* at the first message only: at every one, a large set would cost peers^2 */
	for (size_t i = 0; it->first && i < set->n_peers; i++) {
		const struct wgdev_set_peer *p = &set->peers[i];

		if ((p->flags & WGDEV_PEER_HAS_ENDPOINT) && !(p->flags & WGDEV_PEER_REMOVE) &&
		    p->endpoint.ss_family != AF_INET && p->endpoint.ss_family != AF_INET6)
			return -EAFNOSUPPORT;
	}
	nlh = put_genl_header(buf, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE,
			      WG_GENL_VERSION);
	if (!mnl_attr_put_strz_check(nlh, max, WGDEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	/* a first message that says nothing is only worth sending if nothing else will */
	progress = it->first && ((set->flags & (WGDEV_SET_PRIVATE_KEY | WGDEV_SET_LISTEN_PORT)) ||
				 !set->n_peers);
	if (it->first) {
		if ((set->flags & WGDEV_SET_PRIVATE_KEY) &&
		    !mnl_attr_put_check(nlh, max, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, set->private_key))
			return -EMSGSIZE;
		if ((set->flags & WGDEV_SET_LISTEN_PORT) &&
		    !mnl_attr_put_u16_check(nlh, max, WGDEVICE_A_LISTEN_PORT, set->listen_port))
			return -EMSGSIZE;
		it->first = false;
	}
	if (it->peer < set->n_peers) {
		peers_nest = mnl_attr_nest_start_check(nlh, max, WGDEVICE_A_PEERS);
		if (peers_nest) {
			while (it->peer < set->n_peers) {
				int done = put_peer(it, nlh, max, &wrote);

				any_peer |= wrote;
				if (!done)
					break;
			}
			if (any_peer)
				mnl_attr_nest_end(nlh, peers_nest);
			else
				mnl_attr_nest_cancel(nlh, peers_nest);
		}
	}
	if (!progress && !any_peer)
		return -EMSGSIZE;
	if (it->peer == set->n_peers)
		it->done = true;
	return (int)nlh->nlmsg_len;
}

void wgnl_dump_init(struct wgnl_dump *d)
{
	memset(d, 0, sizeof(*d));
}

void wgnl_dump_free(struct wgnl_dump *d)
{
	wgdev_state_free(&d->st);
	memset(d, 0, sizeof(*d));
}

struct parse_ctx {
	struct wgnl_dump *d;
	struct wgdev_peer_info *peer;
	struct wg_allowedip ip;
	size_t addr_len;
	bool has_family, has_cidr;
	int err;
};

static bool payload_len_is(const struct nlattr *attr, size_t len)
{
	return mnl_attr_get_payload_len(attr) == len;
}

static int allowedip_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *c = data;

	switch (mnl_attr_get_type(attr)) {
	case WGALLOWEDIP_A_FAMILY:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			break;
		c->ip.family = mnl_attr_get_u16(attr);
		c->has_family = true;
		return MNL_CB_OK;
	case WGALLOWEDIP_A_IPADDR:
		c->addr_len = mnl_attr_get_payload_len(attr);
		if (c->addr_len != sizeof(c->ip.ip4) && c->addr_len != sizeof(c->ip.ip6))
			break;
		memcpy(&c->ip.ip6, mnl_attr_get_payload(attr), c->addr_len);
		return MNL_CB_OK;
	case WGALLOWEDIP_A_CIDR_MASK:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
			break;
		c->ip.cidr = mnl_attr_get_u8(attr);
		c->has_cidr = true;
		return MNL_CB_OK;
	default:
		return MNL_CB_OK;
	}
	c->err = -EBADMSG;
	return MNL_CB_ERROR;
}

static int allowedips_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *c = data;
	int ret;

	memset(&c->ip, 0, sizeof(c->ip));
	c->addr_len = 0;
	c->has_family = c->has_cidr = false;
	if (mnl_attr_parse_nested(attr, allowedip_cb, c) < 0)
		return MNL_CB_ERROR;
	/* the address length must match the family, the mask the address */
	if (!c->has_family || !c->has_cidr ||
	    !((c->ip.family == AF_INET && c->addr_len == 4 && c->ip.cidr <= 32) ||
	      (c->ip.family == AF_INET6 && c->addr_len == 16 && c->ip.cidr <= 128)))
		goto bad;
	ret = wgdev_peer_add_allowedip(c->peer, &c->ip);
	if (ret) {
		c->err = ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
bad:
	c->err = -EBADMSG;
	return MNL_CB_ERROR;
}

static int peer_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *c = data;
	struct wgdev_peer_info *p = c->peer;

	switch (mnl_attr_get_type(attr)) {
	case WGPEER_A_PUBLIC_KEY:
		if (!payload_len_is(attr, WG_KEY_LEN))
			break;
		memcpy(p->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		return MNL_CB_OK;
	case WGPEER_A_PRESHARED_KEY:
		if (!payload_len_is(attr, WG_KEY_LEN))
			break;
		memcpy(p->preshared_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		p->has_preshared_key = !key_is_zero(p->preshared_key);
		return MNL_CB_OK;
	case WGPEER_A_ENDPOINT: {
		const struct sockaddr *sa = mnl_attr_get_payload(attr);
		size_t len = mnl_attr_get_payload_len(attr);

		if (len == sizeof(struct sockaddr_in) && sa->sa_family == AF_INET)
			memcpy(&p->endpoint, sa, sizeof(struct sockaddr_in));
		else if (len == sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6)
			memcpy(&p->endpoint, sa, sizeof(struct sockaddr_in6));
		else
			break;
		return MNL_CB_OK;
	}
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			break;
		p->persistent_keepalive = mnl_attr_get_u16(attr);
		return MNL_CB_OK;
	case WGPEER_A_LAST_HANDSHAKE_TIME: {
		int64_t t[2];

		if (!payload_len_is(attr, sizeof(t)))
			break;
		memcpy(t, mnl_attr_get_payload(attr), sizeof(t));
		p->last_handshake_sec = t[0];
		p->last_handshake_nsec = t[1];
		return MNL_CB_OK;
	}
	case WGPEER_A_RX_BYTES:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			break;
		p->rx_bytes = mnl_attr_get_u64(attr);
		return MNL_CB_OK;
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			break;
		p->tx_bytes = mnl_attr_get_u64(attr);
		return MNL_CB_OK;
	case WGPEER_A_ALLOWEDIPS:
		if (mnl_attr_parse_nested(attr, allowedips_cb, c) < 0)
			return MNL_CB_ERROR;
		return MNL_CB_OK;
	default:
		/* padding (type 0), protocol version, newer attributes */
		return MNL_CB_OK;
	}
	c->err = -EBADMSG;
	return MNL_CB_ERROR;
}

/* Folds b, the continuation of a, into a. */
static int merge_peer(struct wgdev_peer_info *a, struct wgdev_peer_info *b)
{
	int ret = 0;

	for (size_t i = 0; i < b->n_allowedips && !ret; i++)
		ret = wgdev_peer_add_allowedip(a, &b->allowedips[i]);
	if (b->endpoint.ss_family)
		a->endpoint = b->endpoint;
	if (b->last_handshake_sec || b->last_handshake_nsec) {
		a->last_handshake_sec = b->last_handshake_sec;
		a->last_handshake_nsec = b->last_handshake_nsec;
	}
	if (b->rx_bytes || b->tx_bytes) {
		a->rx_bytes = b->rx_bytes;
		a->tx_bytes = b->tx_bytes;
	}
	return ret;
}

static int peers_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *c = data;
	struct wgdev_state *st = &c->d->st;
	struct wgdev_peer_info *p, *prev;
	int ret;

	p = wgdev_state_add_peer(st);
	if (!p) {
		c->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	c->peer = p;
	if (mnl_attr_parse_nested(attr, peer_cb, c) < 0)
		return MNL_CB_ERROR;
	if (key_is_zero(p->public_key)) {
		c->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	prev = st->n_peers > 1 ? &st->peers[st->n_peers - 2] : NULL;
	if (prev && !memcmp(prev->public_key, p->public_key, WG_KEY_LEN)) {
		ret = merge_peer(prev, p);
		free(p->allowedips);
		sodium_memzero(p, sizeof(*p));
		st->n_peers--;
		if (ret) {
			c->err = ret;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_OK;
}

static int device_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *c = data;
	struct wgdev_device *dev = &c->d->st.dev;

	switch (mnl_attr_get_type(attr)) {
	case WGDEVICE_A_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 ||
		    mnl_attr_get_payload_len(attr) > sizeof(dev->ifname))
			break;
		memcpy(dev->ifname, mnl_attr_get_str(attr), mnl_attr_get_payload_len(attr));
		return MNL_CB_OK;
	case WGDEVICE_A_PRIVATE_KEY:
		if (!payload_len_is(attr, WG_KEY_LEN))
			break;
		memcpy(dev->private_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		dev->has_private_key = !key_is_zero(dev->private_key);
		return MNL_CB_OK;
	case WGDEVICE_A_PUBLIC_KEY:
		if (!payload_len_is(attr, WG_KEY_LEN))
			break;
		memcpy(dev->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		return MNL_CB_OK;
	case WGDEVICE_A_LISTEN_PORT:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			break;
		dev->listen_port = mnl_attr_get_u16(attr);
		return MNL_CB_OK;
	case WGDEVICE_A_PEERS:
		if (mnl_attr_parse_nested(attr, peers_cb, c) < 0)
			return MNL_CB_ERROR;
		return MNL_CB_OK;
	default:
		return MNL_CB_OK;
	}
	c->err = -EBADMSG;
	return MNL_CB_ERROR;
}

/* The kernel's answer in an NLMSG_ERROR: 0 or -errno; -EBADMSG if malformed. */
static int nlmsg_error(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) || e->error > 0 || e->error < -4095)
		return -EBADMSG;
	return e->error;
}

/*
 * The next whole message of a receive, or NULL: at its end (*left is 0) or
 * at a message cut short. mnl_nlmsg_ok takes a length of 2 GiB or more for
 * a negative one, and libmnl walks attributes up to the aligned end of a
 * message, so an unaligned last message must not end the receive.
 */
static const struct nlmsghdr *next_msg(const char **at, size_t *left)
{
	const struct nlmsghdr *nlh = (const void *)*at;
	size_t len;

	if (*left < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > *left)
		return NULL;
	len = MNL_ALIGN(nlh->nlmsg_len);
	if (len > *left)
		return NULL;
	*at += len;
	*left -= len;
	return nlh;
}

int wgnl_dump_feed(struct wgnl_dump *d, const void *buf, size_t len, uint32_t seq,
		   uint32_t portid)
{
	const struct nlmsghdr *nlh;
	const char *at = buf;
	size_t left = len;

	if (len < sizeof(*nlh))
		return -EBADMSG;
	while ((nlh = next_msg(&at, &left))) {
		struct parse_ctx c = { .d = d };

		if (!mnl_nlmsg_portid_ok(nlh, portid) || !mnl_nlmsg_seq_ok(nlh, seq))
			return -EBADMSG;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			d->interrupted = true;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			break;
		case NLMSG_DONE:
			return 0;
		case NLMSG_ERROR: {
			int ret = nlmsg_error(nlh);

			/* a dump ends with NLMSG_DONE: an acknowledgement here is no answer */
			return ret ? ret : -EBADMSG;
		}
		case NLMSG_OVERRUN:
			return -ENOBUFS;
		default:
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				break;
			if (mnl_nlmsg_get_payload_len(nlh) < MNL_ALIGN(sizeof(struct genlmsghdr)))
				return -EBADMSG;
			if (mnl_attr_parse(nlh, MNL_ALIGN(sizeof(struct genlmsghdr)), device_cb, &c) < 0)
				return c.err ? c.err : -EBADMSG;
		}
	}
	return left == 0 ? 1 : -EBADMSG;
}

int wgnl_ack_feed(const void *buf, size_t len, uint32_t seq, uint32_t portid)
{
	const struct nlmsghdr *nlh;
	const char *at = buf;
	size_t left = len;

	while ((nlh = next_msg(&at, &left))) {
		/* the answer to an earlier request that was cut short */
		if (!mnl_nlmsg_portid_ok(nlh, portid) || !mnl_nlmsg_seq_ok(nlh, seq))
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR)
			return nlmsg_error(nlh);
		if (nlh->nlmsg_type == NLMSG_OVERRUN)
			return -ENOBUFS;
	}
	return left == 0 ? 1 : -EBADMSG;
}

static int nl_send(struct wgdev *dev, const struct nlmsghdr *nlh)
{
	if (mnl_socket_sendto(dev->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

int wgnl_request(struct wgdev *dev, const struct nlmsghdr *nlh)
{
	char buf[WGNL_ACK_BUF];
	ssize_t n;
	int ret;

	if ((ret = nl_send(dev, nlh)))
		return ret;
	do {
		n = mnl_socket_recvfrom(dev->nl, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		/* ENOSPC: an answer larger than any acknowledgement */
		ret = n < 0 ? -errno : wgnl_ack_feed(buf, (size_t)n, nlh->nlmsg_seq, dev->portid);
	} while (ret == 1);
	return ret;
}

static int family_cb(const struct nlattr *attr, void *data)
{
	uint16_t *id = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		*id = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, MNL_ALIGN(sizeof(struct genlmsghdr)), family_cb, data);
}

int wgnl_socket_open(struct wgdev *dev)
{
	int one = 1, ret;

	dev->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!dev->nl)
		return -errno;
	if (mnl_socket_bind(dev->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(dev->nl);
		dev->nl = NULL;
		return ret;
	}
	/*
	 * An error's acknowledgement then echoes the request's header only, not
	 * the whole request (kernels before 4.3 refuse the option: the ack
	 * buffer holds a whole echo too).
	 */
	mnl_socket_setsockopt(dev->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	dev->portid = mnl_socket_get_portid(dev->nl);
	dev->seq = (uint32_t)time(NULL);
	return 0;
}

int wgnl_open(struct wgdev *dev)
{
	char buf[WGNL_MSG_MAX];
	struct nlmsghdr *nlh;
	uint16_t id = 0;
	ssize_t n;
	int ret;

	if ((ret = wgnl_socket_open(dev)))
		return ret;
	nlh = put_genl_header(buf, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, ++dev->seq,
			      CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	if ((ret = nl_send(dev, nlh)))
		goto fail;
	do {
		n = mnl_socket_recvfrom(dev->nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		ret = mnl_cb_run(buf, (size_t)n, dev->seq, dev->portid, family_msg_cb, &id);
	} while (ret > MNL_CB_STOP);
	if (ret < 0) {
		/* ENOENT: the kernel has no WireGuard */
		ret = errno == ENOENT ? -EPROTONOSUPPORT : -errno;
		goto fail;
	}
	if (!id) {
		ret = -EPROTONOSUPPORT;
		goto fail;
	}
	dev->family_id = id;
	return 0;
fail:
	mnl_socket_close(dev->nl);
	dev->nl = NULL;
	return ret;
}

void wgnl_close(struct wgdev *dev)
{
	if (dev->nl)
		mnl_socket_close(dev->nl);
	dev->nl = NULL;
}

int wgnl_get(struct wgdev *dev, struct wgdev_state *out)
{
	struct wgnl_dump d;
	char *buf;
	int ret = -EAGAIN;

	buf = malloc(WGNL_DUMP_BUF);
	if (!buf)
		return -ENOMEM;
	for (int attempt = 0; attempt < WGNL_DUMP_RETRIES; attempt++) {
		uint32_t seq = ++dev->seq;
		ssize_t n;

		wgnl_dump_init(&d);
		ret = wgnl_build_get(buf, WGNL_DUMP_BUF, dev->family_id, dev->ifname, seq);
		if (ret < 0)
			break;
		ret = nl_send(dev, (struct nlmsghdr *)buf);
		while (ret == 0) {
			n = mnl_socket_recvfrom(dev->nl, buf, WGNL_DUMP_BUF);
			if (n < 0) {
				ret = -errno;
				break;
			}
			ret = wgnl_dump_feed(&d, buf, (size_t)n, seq, dev->portid);
			if (ret == 1)
				ret = 0;
			else if (ret == 0)
				break;
		}
		if (ret == 0 && !d.interrupted) {
			*out = d.st;
			snprintf(out->dev.ifname, sizeof(out->dev.ifname), "%s", dev->ifname);
			goto done;
		}
		wgnl_dump_free(&d);
		if (ret < 0) {
			/* a dump cut short leaves the socket mid-dump: start afresh */
			wgnl_close(dev);
			if (wgnl_open(dev) < 0)
				dev->nl = NULL;
			break;
		}
		ret = -EAGAIN;
	}
done:
	sodium_memzero(buf, WGNL_DUMP_BUF);
	free(buf);
	return ret;
}

int wgnl_set(struct wgdev *dev, const struct wgdev_set *set)
{
	struct wgnl_set_iter it;
	char *buf;
	int len, ret = 0;

	buf = malloc(WGNL_MSG_MAX);
	if (!buf)
		return -ENOMEM;
	wgnl_set_iter_init(&it, set);
	for (;;) {
		uint32_t seq = ++dev->seq;

		len = wgnl_set_next(&it, buf, WGNL_MSG_MAX, dev->family_id, dev->ifname, seq);
		if (len <= 0) {
			ret = len;
			break;
		}
		/* the kernel applied the messages before a refused one */
		if ((ret = wgnl_request(dev, (struct nlmsghdr *)buf)))
			break;
	}
	sodium_memzero(buf, WGNL_MSG_MAX);
	free(buf);
	return ret;
}
