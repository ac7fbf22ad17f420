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

int relay_open(struct session *s)
{
	struct transport *t = s->t;
	socklen_t len = sizeof(s->relay_local);
	lws_sock_file_fd_type fd;
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
	fd.filefd = sock;
	s->udp_wsi = lws_adopt_descriptor_vhost(lws_get_vhost(s->wsi), LWS_ADOPT_RAW_FILE_DESC,
						fd, "wssd-udp", s->wsi);
	if (!s->udp_wsi) {
		close(sock);
		return -ENOMEM;
	}
	lws_set_opaque_user_data(s->udp_wsi, s);
	s->udp_fd = sock;
	t->relay_sockets++;
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
		 (unsigned long long)s->id, s->remote, s->t->relay_sockets, s->t->st.count);
}

static void count_send_error(struct transport *t, int err)
{
	if (err == ECONNREFUSED)
		metric_inc(t->m.drop_wg_unreachable);
	else
		metric_inc(t->m.drop_udp_send);
}

/*
 * Records bound for WireGuard are gathered while lws parses what one read
 * brought and sent with one sendmmsg() per session at the next turn of the
 * loop (or when the batch fills, or another session's record comes).
 */
#define BATCH_MAX 32
#define BATCH_SLOT 2048

/* Datagrams read with one recvmmsg(); reads per wake-up are bounded too. */
#define RX_BATCH 16
#define RX_ROUNDS 4

/* The loop's: one batch being gathered, one set of receive buffers. */
struct relay_loop {
	struct session *s;	/* whose records the batch holds */
	unsigned n;
	bool scheduled;
	lws_sorted_usec_list_t sul;
	struct transport *t;
	struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	uint8_t buf[BATCH_MAX][BATCH_SLOT];

	struct mmsghdr rx_msgs[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	uint8_t rx_buf[RX_BATCH][FRAME_MAX_RECORD + 1];
};

int relay_loop_new(struct transport *t)
{
	struct relay_loop *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->t = t;
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

void relay_flush(struct transport *t)
{
	struct relay_loop *r = t->relay;
	struct session *s = r->s;
	unsigned done = 0;

	r->s = NULL;
	if (!s || !r->n)
		goto out;
	while (done < r->n) {
		int n = sendmmsg(s->udp_fd, r->msgs + done, r->n - done, MSG_DONTWAIT);

		if (n < 0) {
			count_send_error(t, errno);
			done++;	/* that one is lost; try the rest */
			continue;
		}
		done += (unsigned)n;
	}
out:
	r->n = 0;
}

void relay_discard(struct session *s)
{
	struct relay_loop *r = s->t->relay;

	if (r->s == s) {
		r->s = NULL;
		r->n = 0;
	}
}

static void batch_due(lws_sorted_usec_list_t *sul)
{
	struct relay_loop *r = lws_container_of(sul, struct relay_loop, sul);

	r->scheduled = false;
	relay_flush(r->t);
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
	if (r->s != s || r->n == BATCH_MAX)
		relay_flush(s->t);
	if (len > BATCH_SLOT) {
		if (send(s->udp_fd, record, len, MSG_DONTWAIT) < 0) {
			count_send_error(s->t, errno);
			return -errno;
		}
		return 0;
	}
	r->s = s;
	iov = &r->iov[r->n];
	memcpy(r->buf[r->n], record, len);
	iov->iov_base = r->buf[r->n];
	iov->iov_len = len;
	r->msgs[r->n].msg_hdr = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 1 };
	r->n++;
	if (!r->scheduled) {
		r->scheduled = true;
		lws_sul_schedule(s->t->ctx, 0, &r->sul, batch_due, 1);
	}
	return 0;
}

static void relay_read(struct session *s)
{
	struct transport *t = s->t;
	struct relay_loop *r = t->relay;
	bool queued = false;

	for (int round = 0; round < RX_ROUNDS; round++) {
		int n;

		for (int i = 0; i < RX_BATCH; i++)
			r->rx_msgs[i].msg_hdr =
				(struct msghdr){ .msg_iov = &r->rx_iov[i], .msg_iovlen = 1 };
		n = recvmmsg(s->udp_fd, r->rx_msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == ECONNREFUSED) {
				metric_inc(t->m.drop_wg_unreachable);
				continue;
			}
			break;
		}
		for (int i = 0; i < n; i++) {
			size_t len = r->rx_msgs[i].msg_len;

			if ((r->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    len > FRAME_MAX_RECORD || s->close_code) {
				metric_inc(t->m.drop_udp_send);
				continue;
			}
			if (recq_push(&s->sendq, r->rx_buf[i], len) < 0) {
				metric_inc(t->m.drop_send_queue);
				continue;
			}
			queued = true;
		}
		if (n < RX_BATCH)
			break;
	}
	if (queued)
		lws_callback_on_writable(s->wsi);
}

int relay_udp_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		       void *in, size_t len)
{
	struct session *s = lws_get_opaque_user_data(wsi);
	struct transport *t = lws_context_user(lws_get_context(wsi));

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (s)
			relay_read(s);
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (s && t->relay->s == s)
			relay_flush(t);
		if (s && s->udp_fd >= 0) {
			t->relay_sockets--;
			s->udp_wsi = NULL;
			s->udp_fd = -1;
		}
		break;
	default:
		break;
	}
	return 0;
}
