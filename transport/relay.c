/*
 * Each session's connected UDP socket to the WireGuard port, opened when the
 * session first has a datagram to relay: an idle session holds only its TCP
 * connection.
 */
#define _GNU_SOURCE
#include "transport/internal.h"
#include "common/log.h"
#include "common/metrics.h"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Behind one loopback address every client would look like one source to
 * WireGuard (its handshake rate limit and cookies are per source), so
 * each client's relay sockets get a loopback source of their own: IPv4
 * a.b.c.d becomes 127.b.c.d, anything else 127 and 24 bits of a hash.
 */
static void loopback_source(const char *remote, struct sockaddr_in *out)
{
	struct in_addr a;
	uint32_t h = 2166136261u;

	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	if (inet_pton(AF_INET, remote, &a) == 1) {
		h = ntohl(a.s_addr);
	} else {
		for (const char *p = remote; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
	}
	out->sin_addr.s_addr = htonl(0x7f000000u | (h & 0xffffffu));
}

/* Its own libuv poll, not an lws raw file: libuv stops a poll on POLLERR and lws would close it. */
struct relay_sock {
	uv_poll_t poll;
	struct session *s;	/* NULL once the session has gone */
};

static void relay_read(struct session *s);
static void on_poll(uv_poll_t *h, int status, int events);

static void free_sock(uv_handle_t *h)
{
	free(h->data);
}

/*
 * An ICMP error (WireGuard's port unreachable while it restarts) is
 * pending on the socket: libuv has stopped the poll. The error is read,
 * counted, and the same socket (the same source port, which WireGuard
 * knows as the peer's endpoint) is watched again.
 */
static void relay_error(struct session *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	relay_read(s);
	if (!s->relay)
		return;
	if (getsockopt(s->udp_fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		metric_inc(s->t->m.relay_icmp);
	if (uv_poll_start(&s->relay->poll, UV_READABLE, on_poll) < 0)
		log_warnx("event=relay_poll_failed session=%llu remote=%s",
			  (unsigned long long)s->id, s->remote);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct relay_sock *rs = h->data;

	(void)events;
	if (!rs->s)
		return;
	if (status < 0)
		relay_error(rs->s);
	else
		relay_read(rs->s);
}

static int watch(struct session *s, int sock)
{
	struct relay_sock *rs = calloc(1, sizeof(*rs));
	int ret;

	if (!rs)
		return -ENOMEM;
	ret = uv_poll_init(&s->t->loop, &rs->poll, sock);
	if (ret < 0) {
		free(rs);
		return ret;
	}
	rs->poll.data = rs;
	rs->s = s;
	ret = uv_poll_start(&rs->poll, UV_READABLE, on_poll);
	if (ret < 0) {
		uv_close((uv_handle_t *)&rs->poll, free_sock);
		return ret;
	}
	s->relay = rs;
	return 0;
}

int relay_open(struct session *s)
{
	struct transport *t = s->t;
	socklen_t len = sizeof(s->relay_local);
	int sock, ret;

	/* Sessions and relay sockets share the descriptors left for them. */
	if (transport_fds_full(t))
		return -EMFILE;
	sock = socket(t->wg_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (t->wg_loopback4) {
		struct sockaddr_in src;

		loopback_source(s->remote, &src);
		if (bind(sock, (struct sockaddr *)&src, sizeof(src)) < 0)
			goto fail;
	}
	if (connect(sock, (struct sockaddr *)&t->wg_addr, t->wg_addrlen) < 0 ||
	    getsockname(sock, (struct sockaddr *)&s->relay_local, &len) < 0)
		goto fail;
	ret = watch(s, sock);
	if (ret < 0) {
		close(sock);
		return ret;
	}
	s->udp_fd = sock;
	atomic_fetch_add(&t->sh->relay_sockets, 1);
	return 0;
fail:
	ret = -errno;
	close(sock);
	return ret;
}

/* The record is dropped; the next one tries again. */
static void relay_open_failed(struct session *s, int err)
{
	metric_inc(s->t->m.drop_relay_socket);
	if (s->relay_warned)
		return;
	s->relay_warned = true;
	errno = -err;
	log_warn("event=relay_open_failed session=%llu remote=%s relay_sockets=%u sessions=%u",
		 (unsigned long long)s->id, s->remote, atomic_load(&s->t->sh->relay_sockets),
		 atomic_load(&s->t->sh->sessions));
}

static void count_send_error(struct transport *t, int err)
{
	if (err == ECONNREFUSED)
		metric_inc(t->m.drop_wg_unreachable);
	else
		metric_inc(t->m.drop_udp_send);
}

/*
 * Records bound for WireGuard are gathered while lws parses what the loop
 * read and go out with one sendmmsg() per session: when another session's
 * record comes, when the batch is full, and at the end of the loop's turn
 * (turn.c). Records of one length in a row (a full-sized WireGuard burst)
 * go as one UDP GSO message: the kernel cuts it into the same datagrams
 * after one pass through the IP stack instead of one each.
 */
#define BATCH_MAX 32
#define BATCH_SLOT 2048
#define GSO_MAX_BYTES 65000

/* Datagrams read with one recvmmsg(); reads per wake-up are bounded too. */
#define RX_BATCH 16
#define RX_ROUNDS 4

/* The loop's: one batch being gathered, one set of receive buffers. */
struct relay_loop {
	struct session *s;	/* whose records the batch holds */
	unsigned n;
	/* Relayed since the last flush: the metrics are shared by the loops' threads. */
	uint64_t records, bytes;
	struct mmsghdr msgs[BATCH_MAX];	/* one per record */
	struct iovec iov[BATCH_MAX];
	uint8_t buf[BATCH_MAX][BATCH_SLOT];
	struct mmsghdr runs[BATCH_MAX];	/* one per run of records of one length */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[BATCH_MAX];
	bool no_gso;		/* the kernel or the route refused it once */

	struct mmsghdr rx_msgs[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	struct iovec rx_got[RX_BATCH];
	uint8_t rx_buf[RX_BATCH][FRAME_MAX_RECORD + 1];
};

int relay_loop_new(struct transport *t)
{
	struct relay_loop *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	for (int i = 0; i < RX_BATCH; i++) {
		r->rx_iov[i].iov_base = r->rx_buf[i];
		r->rx_iov[i].iov_len = sizeof(r->rx_buf[i]);
	}
	t->relay = r;
	return 0;
}

void relay_loop_free(struct transport *t)
{
	free(t->relay);
	t->relay = NULL;
}

/* Groups the batch into messages: a run of records of one length, the last maybe shorter. */
static unsigned batch_runs(struct relay_loop *r)
{
	unsigned k = 0;

	for (unsigned i = 0; i < r->n; k++) {
		size_t len = r->iov[i].iov_len, total = len;
		struct msghdr *h = &r->runs[k].msg_hdr;
		unsigned j = i + 1;
		struct cmsghdr *c;

		while (!r->no_gso && j < r->n && r->iov[j].iov_len <= len &&
		       total + r->iov[j].iov_len <= GSO_MAX_BYTES) {
			total += r->iov[j++].iov_len;
			if (r->iov[j - 1].iov_len < len)
				break;
		}
		*h = (struct msghdr){ .msg_iov = &r->iov[i], .msg_iovlen = j - i };
		if (j - i > 1) {
			h->msg_control = r->ctl[k].buf;
			h->msg_controllen = sizeof(r->ctl[k].buf);
			c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			*(uint16_t *)(void *)CMSG_DATA(c) = (uint16_t)len;
		}
		i = j;
	}
	return k;
}

/* One message per record, from record i on. */
static void send_each(struct transport *t, int fd, unsigned i)
{
	struct relay_loop *r = t->relay;

	while (i < r->n) {
		int n = sendmmsg(fd, r->msgs + i, r->n - i, MSG_DONTWAIT);

		if (n < 0) {
			count_send_error(t, errno);
			i++;	/* that one is lost; try the rest */
			continue;
		}
		i += (unsigned)n;
	}
}

void relay_flush(struct transport *t)
{
	struct relay_loop *r = t->relay;
	struct session *s = r->s;
	unsigned done = 0, k;

	r->s = NULL;
	if (r->records) {
		metric_add(t->m.records_in, r->records);
		metric_add(t->m.bytes_in, r->bytes);
		r->records = r->bytes = 0;
	}
	if (!s || !r->n)
		goto out;
	k = batch_runs(r);
	while (done < k) {
		int n = sendmmsg(s->udp_fd, r->runs + done, k - done, MSG_DONTWAIT);
		struct msghdr *h = &r->runs[done].msg_hdr;

		if (n >= 0) {
			done += (unsigned)n;
			continue;
		}
		if (h->msg_control && (errno == EMSGSIZE || errno == EINVAL || errno == EIO ||
				       errno == ENOPROTOOPT)) {
			/* No GSO here (an old kernel, a path MTU under the length). */
			r->no_gso = true;
			send_each(t, s->udp_fd, (unsigned)(h->msg_iov - r->iov));
			goto out;
		}
		count_send_error(t, errno);
		done++;	/* that run is lost; try the rest */
	}
out:
	r->n = 0;
}

/* The session has gone: its batch is dropped and its relay socket closed. */
void relay_discard(struct session *s)
{
	struct transport *t = s->t;
	struct relay_loop *r = t->relay;

	if (r->s == s) {
		r->s = NULL;
		r->n = 0;
	}
	if (!s->relay)
		return;
	s->relay->s = NULL;
	uv_close((uv_handle_t *)&s->relay->poll, free_sock);
	close(s->udp_fd);	/* libuv has stopped watching it */
	s->relay = NULL;
	s->udp_fd = -1;
	atomic_fetch_sub(&t->sh->relay_sockets, 1);
}

int relay_forward(struct session *s, const uint8_t *record, size_t len)
{
	struct relay_loop *r = s->t->relay;
	struct iovec *iov;
	int ret;

	if (s->udp_fd < 0) {
		ret = relay_open(s);
		if (ret < 0) {
			relay_open_failed(s, ret);
			return ret;
		}
	}
	turn_busy(s);
	if (r->s != s || r->n == BATCH_MAX || len > BATCH_SLOT)
		relay_flush(s->t);
	if (len > BATCH_SLOT) {
		/* After the batch just flushed: the session's order holds. */
		if (send(s->udp_fd, record, len, MSG_DONTWAIT) < 0) {
			count_send_error(s->t, errno);
			return -errno;
		}
		r->records++;
		r->bytes += len;
		return 0;
	}
	r->s = s;
	iov = &r->iov[r->n];
	memcpy(r->buf[r->n], record, len);
	iov->iov_base = r->buf[r->n];
	iov->iov_len = len;
	r->msgs[r->n].msg_hdr = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 1 };
	r->n++;
	r->records++;
	r->bytes += len;
	return 0;
}

/* What WireGuard sent back goes to the client, one read's datagrams together. */
static void relay_read(struct session *s)
{
	struct transport *t = s->t;
	struct relay_loop *r = t->relay;

	for (int round = 0; round < RX_ROUNDS && s->relay; round++) {
		unsigned got = 0;
		int n;

		for (int i = 0; i < RX_BATCH; i++)
			r->rx_msgs[i].msg_hdr =
				(struct msghdr){ .msg_iov = &r->rx_iov[i], .msg_iovlen = 1 };
		n = recvmmsg(s->udp_fd, r->rx_msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* An ICMP error: reading it cleared it. */
			metric_inc(t->m.relay_icmp);
			continue;
		}
		for (int i = 0; i < n; i++) {
			size_t len = r->rx_msgs[i].msg_len;

			if ((r->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    len > FRAME_MAX_RECORD) {
				metric_inc(t->m.drop_udp_send);
				continue;
			}
			r->rx_got[got].iov_base = r->rx_buf[i];
			r->rx_got[got++].iov_len = len;
		}
		if (got)
			session_send(s, r->rx_got, got);
		if (n < RX_BATCH)
			break;
	}
}
