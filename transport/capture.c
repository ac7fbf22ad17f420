/*
 * The AF_PACKET socket of the capture path: opened without a protocol (so
 * it receives nothing), given its filter, locked, then bound to ETH_P_ALL,
 * so no frame is queued that the filter has not seen.
 */
#define _GNU_SOURCE
#include "transport/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/text.h"

struct capture {
	int fd;
	struct capture_rule rule;
	struct capture_stats stats;
	struct metric *m_packets, *m_drops_kernel, *m_drops_malformed;
	struct mmsghdr msgs[CAPTURE_BATCH];
	struct iovec iov[CAPTURE_BATCH];
	struct sockaddr_ll from[CAPTURE_BATCH];
	uint8_t buf[CAPTURE_BATCH][CAPTURE_SNAPLEN];
};

/* "any" or a comma-separated list of names, each to its index. */
static int resolve_interfaces(struct capture_rule *r, const char *list, char *err, size_t errlen)
{
	char *copy, *save = NULL, *tok;
	int ret = 0;

	r->n_ifindexes = 0;
	if (!list || !list[0] || !strcasecmp(list, "any"))
		return 0;
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *name = text_trim(tok);
		unsigned idx;
		size_t i;

		if (!name[0])
			continue;
		idx = if_nametoindex(name);
		if (!idx) {
			snprintf(err, errlen, "capture.interfaces: no interface %s", name);
			ret = -ENODEV;
			goto out;
		}
		if ((int)idx == r->lo_ifindex) {
			snprintf(err, errlen, "capture.interfaces: %s is loopback, which is never "
				 "captured (wssd's own relay traffic crosses it)", name);
			ret = -EINVAL;
			goto out;
		}
		for (i = 0; i < r->n_ifindexes && r->ifindexes[i] != (int)idx; i++)
			;
		if (i < r->n_ifindexes)
			continue;
		if (r->n_ifindexes == CAPTURE_MAX_INTERFACES) {
			snprintf(err, errlen, "capture.interfaces: more than %d interfaces",
				 CAPTURE_MAX_INTERFACES);
			ret = -E2BIG;
			goto out;
		}
		r->ifindexes[r->n_ifindexes++] = (int)idx;
	}
	if (!r->n_ifindexes) {
		snprintf(err, errlen, "capture.interfaces: no interface named in \"%s\"", list);
		ret = -EINVAL;
	}
out:
	free(copy);
	return ret;
}

static int set_rcvbuf(int fd, unsigned bytes, unsigned *granted)
{
	int v = bytes > (unsigned)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)bytes;
	socklen_t len = sizeof(v);

	/* FORCE goes past net.core.rmem_max, with CAP_NET_ADMIN */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0)
		return -errno;
	*granted = (unsigned)v;
	return 0;
}

static void register_metrics(struct capture *c)
{
	static const char drops[] = "Captured initiations dropped, by reason (kernel: the "
				    "receive buffer was full; malformed: refused after the filter)";

	c->m_packets = metric_counter("wssd_capture_packets_total", NULL,
				      "Datagrams the capture filter passed (kernel drops included)");
	c->m_drops_kernel = metric_counter("wssd_capture_drops_total", "reason=\"kernel\"", drops);
	c->m_drops_malformed = metric_counter("wssd_capture_drops_total", "reason=\"malformed\"",
					      drops);
}

static int fail(char *err, size_t errlen, const char *what)
{
	int ret = -errno;

	snprintf(err, errlen, "capture: %s: %s%s", what, strerror(errno),
		 errno == EPERM ? " (needs CAP_NET_RAW)" : "");
	return ret;
}

int capture_open(struct capture **out, const struct capture_params *p, char *err, size_t errlen)
{
	struct sock_filter insns[CAPTURE_FILTER_MAX];
	struct sock_fprog prog = { .filter = insns };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct capture *c;
	int one = 1, n, ret;

	*out = NULL;
	err[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->rule.port = p->port;
	c->rule.lo_ifindex = (int)if_nametoindex("lo");
	if (!c->rule.lo_ifindex) {
		ret = fail(err, errlen, "no loopback interface");
		goto fail;
	}
	ret = resolve_interfaces(&c->rule, p->interfaces, err, errlen);
	if (ret < 0)
		goto fail;
	n = capture_filter(&c->rule, insns, CAPTURE_FILTER_MAX);
	if (n < 0) {
		ret = n;
		snprintf(err, errlen, "capture: filter: %s", strerror(-n));
		goto fail;
	}
	prog.len = (unsigned short)n;

	c->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ret = fail(err, errlen, "socket(AF_PACKET)");
		goto fail;
	}
	if (setsockopt(c->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
		ret = fail(err, errlen, "SO_ATTACH_FILTER");
		goto fail;
	}
	if (setsockopt(c->fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) < 0) {
		ret = fail(err, errlen, "SO_LOCK_FILTER");
		goto fail;
	}
	/*
	 * Spares the kernel a copy of every packet this host sends (the filter
	 * refuses them anyway); kernels before 4.20 lack it.
	 */
	if (setsockopt(c->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 &&
	    errno != ENOPROTOOPT) {
		ret = fail(err, errlen, "PACKET_IGNORE_OUTGOING");
		goto fail;
	}
	ret = set_rcvbuf(c->fd, p->rcvbuf ? p->rcvbuf : CAPTURE_RCVBUF_DEFAULT, &c->stats.rcvbuf);
	if (ret < 0) {
		errno = -ret;
		ret = fail(err, errlen, "SO_RCVBUF");
		goto fail;
	}
	/* one interface: bound to it, the others' frames do not even reach the filter */
	if (c->rule.n_ifindexes == 1)
		sll.sll_ifindex = c->rule.ifindexes[0];
	if (bind(c->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		ret = fail(err, errlen, "bind");
		goto fail;
	}
	for (size_t i = 0; i < CAPTURE_BATCH; i++) {
		c->iov[i] = (struct iovec){ .iov_base = c->buf[i], .iov_len = CAPTURE_SNAPLEN };
		c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
		c->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	register_metrics(c);
	*out = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return ret;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

int capture_fd(const struct capture *c)
{
	return c->fd;
}

const struct capture_rule *capture_rule(const struct capture *c)
{
	return &c->rule;
}

/* PACKET_STATISTICS counts since it was last read: added up here. */
static int poll_stats(struct capture *c)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(c->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return -errno;
	c->stats.packets += st.tp_packets;
	c->stats.drops += st.tp_drops;
	metric_add(c->m_packets, st.tp_packets);
	metric_add(c->m_drops_kernel, st.tp_drops);
	return 0;
}

int capture_read(struct capture *c, capture_fn fn, void *ctx)
{
	int got = 0, ret;

	for (int total = 0; total < CAPTURE_READ_MAX;) {
		int n;

		for (size_t i = 0; i < CAPTURE_BATCH; i++) {
			c->msgs[i].msg_hdr.msg_name = &c->from[i];
			c->msgs[i].msg_hdr.msg_namelen = sizeof(c->from[i]);
			c->msgs[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(c->fd, c->msgs, CAPTURE_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			ret = -errno;
			poll_stats(c);
			return ret;
		}
		for (int i = 0; i < n; i++) {
			const struct sockaddr_ll *sll = &c->from[i];
			struct capture_frame f = {
				.data = c->buf[i],
				.len = c->msgs[i].msg_len < CAPTURE_SNAPLEN ? c->msgs[i].msg_len :
									      CAPTURE_SNAPLEN,
				.protocol = ntohs(sll->sll_protocol),
				.pkttype = sll->sll_pkttype,
				.ifindex = sll->sll_ifindex,
			};
			struct capture_packet pkt;

			if (c->msgs[i].msg_hdr.msg_namelen < offsetof(struct sockaddr_ll, sll_addr) ||
			    capture_parse(&c->rule, &f, &pkt) < 0) {
				c->stats.malformed++;
				metric_inc(c->m_drops_malformed);
				continue;
			}
			c->stats.delivered++;
			got++;
			fn(ctx, &pkt);
		}
		total += n;
		if (n < CAPTURE_BATCH)
			break;
	}
	ret = poll_stats(c);
	return ret < 0 ? ret : got;
}

void capture_stats(struct capture *c, struct capture_stats *out)
{
	poll_stats(c);
	*out = c->stats;
}
