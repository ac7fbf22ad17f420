/*
 * Each session's connected UDP socket to the WireGuard port, opened when the
 * session first has a datagram to relay: an idle session holds only its TCP
 * connection.
 */
#define _GNU_SOURCE
#include "transport/internal.h"
#include "wssd/log.h"
#include "wssd/metrics.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int relay_open(struct session *s)
{
	struct transport *t = s->t;
	lws_sock_file_fd_type fd;
	int sock, ret;

	/* Sessions and relay sockets share the descriptors left for them. */
	if (t->st.count + t->relay_sockets >= t->fd_budget)
		return -EMFILE;
	sock = socket(t->wg_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&t->wg_addr, t->wg_addrlen) < 0) {
		ret = -errno;
		close(sock);
		return ret;
	}
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

static struct {
	struct session *s;
	unsigned n;
	bool scheduled;
	lws_sorted_usec_list_t sul;
	struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	uint8_t buf[BATCH_MAX][BATCH_SLOT];
} batch;

void relay_flush(void)
{
	struct session *s = batch.s;
	unsigned done = 0;

	batch.s = NULL;
	if (!s || !batch.n)
		goto out;
	while (done < batch.n) {
		int n = sendmmsg(s->udp_fd, batch.msgs + done, batch.n - done, MSG_DONTWAIT);

		if (n < 0) {
			count_send_error(s->t, errno);
			done++;	/* that one is lost; try the rest */
			continue;
		}
		done += (unsigned)n;
	}
out:
	batch.n = 0;
}

void relay_discard(struct session *s)
{
	if (batch.s == s) {
		batch.s = NULL;
		batch.n = 0;
	}
}

static void batch_due(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	batch.scheduled = false;
	relay_flush();
}

int relay_forward(struct session *s, const uint8_t *record, size_t len)
{
	struct iovec *iov;
	int ret;

	if (s->udp_fd < 0) {
		ret = relay_open(s);
		if (ret < 0) {
			relay_open_failed(s, ret);
			return ret;
		}
	}
	if (batch.s != s || batch.n == BATCH_MAX)
		relay_flush();
	if (len > BATCH_SLOT) {
		if (send(s->udp_fd, record, len, MSG_DONTWAIT) < 0) {
			count_send_error(s->t, errno);
			return -errno;
		}
		return 0;
	}
	batch.s = s;
	iov = &batch.iov[batch.n];
	memcpy(batch.buf[batch.n], record, len);
	iov->iov_base = batch.buf[batch.n];
	iov->iov_len = len;
	batch.msgs[batch.n].msg_hdr = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 1 };
	batch.n++;
	if (!batch.scheduled) {
		batch.scheduled = true;
		lws_sul_schedule(s->t->ctx, 0, &batch.sul, batch_due, 1);
	}
	return 0;
}

/* Datagrams read with one recvmmsg(); reads per wake-up are bounded too. */
#define RX_BATCH 16
#define RX_ROUNDS 4

static struct {
	bool ready;
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	uint8_t buf[RX_BATCH][FRAME_MAX_RECORD + 1];
} rx;

static void relay_read(struct session *s)
{
	struct transport *t = s->t;
	bool queued = false;

	if (!rx.ready) {
		for (int i = 0; i < RX_BATCH; i++) {
			rx.iov[i].iov_base = rx.buf[i];
			rx.iov[i].iov_len = sizeof(rx.buf[i]);
		}
		rx.ready = true;
	}
	for (int round = 0; round < RX_ROUNDS; round++) {
		int n;

		for (int i = 0; i < RX_BATCH; i++)
			rx.msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &rx.iov[i], .msg_iovlen = 1 };
		n = recvmmsg(s->udp_fd, rx.msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == ECONNREFUSED) {
				metric_inc(t->m.drop_wg_unreachable);
				continue;
			}
			break;
		}
		for (int i = 0; i < n; i++) {
			size_t len = rx.msgs[i].msg_len;

			if ((rx.msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len > FRAME_MAX_RECORD ||
			    s->close_code) {
				metric_inc(t->m.drop_udp_send);
				continue;
			}
			if (recq_push(&s->sendq, rx.buf[i], len) < 0) {
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
		if (s && batch.s == s)
			relay_flush();
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
