/*
 * What goes towards the client: records, in order, and the close frame.
 * Datagrams are written as soon as they come while nothing waits before
 * them; the records of one read go out together, as ready-made frames
 * (one WebSocket message per record) in one SSL_write: one TLS record and
 * one write() for a burst. Only a client that does not keep up makes them
 * wait in the session's queue, and only then is a writable callback
 * asked for (by lws, which holds what the socket did not take).
 */
#include "transport/internal.h"
#include "common/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Frames written together: at most one TLS record's worth. */
#define WRITE_CHUNK 16384
/* A frame's header: 2 bytes, 4 from 126 bytes on, 10 from 64 KiB on. */
#define FRAME_HEAD_MAX 10
#define WBUF_SIZE (FRAME_HEAD_MAX + FRAME_HEADER_LEN + FRAME_MAX_RECORD)

int writer_init(struct transport *t)
{
	t->wbuf = malloc(LWS_PRE + WBUF_SIZE);
	return t->wbuf ? 0 : -ENOMEM;
}

void writer_free(struct transport *t)
{
	free(t->wbuf);
	t->wbuf = NULL;
}

static size_t frame_len(size_t len)
{
	size_t n = FRAME_HEADER_LEN + len;

	return n + (n < 126 ? 2 : n < 65536 ? 4 : 10);
}

/* A server's frame (unmasked, FIN) holding one record: its length, then its bytes. */
static size_t put_frame(uint8_t *p, bool binary, const uint8_t *record, size_t len)
{
	size_t n = FRAME_HEADER_LEN + len, h;

	p[0] = binary ? 0x82 : 0x81;
	if (n < 126) {
		p[1] = (uint8_t)n;
		h = 2;
	} else if (n < 65536) {
		p[1] = 126;
		p[2] = (uint8_t)(n >> 8);
		p[3] = (uint8_t)n;
		h = 4;
	} else {
		p[1] = 127;
		memset(p + 2, 0, 5);
		p[7] = (uint8_t)(n >> 16);
		p[8] = (uint8_t)(n >> 8);
		p[9] = (uint8_t)n;
		h = 10;
	}
	frame_put_header(p + h, (uint32_t)len);
	memcpy(p + h + FRAME_HEADER_LEN, record, len);
	return h + FRAME_HEADER_LEN + len;
}

static bool backed_up(struct session *s)
{
	return s->sendq.count || lws_partial_buffered(s->wsi);
}

/*
 * Hands the chunk to lws: it writes what the socket takes and keeps the
 * rest, asking for POLLOUT itself. False when the connection failed.
 */
static bool write_chunk(struct session *s, size_t used, unsigned records, size_t bytes)
{
	struct transport *t = s->t;

	if (lws_write(s->wsi, t->wbuf + LWS_PRE, used, LWS_WRITE_RAW) < (int)used) {
		s->write_failed = true;
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return false;
	}
	s->records_out += records;
	s->bytes_out += bytes;
	metric_add(t->m.records_out, records);
	metric_add(t->m.bytes_out, bytes);
	return true;
}

static void enqueue(struct session *s, const uint8_t *record, size_t len)
{
	if (recq_push(&s->sendq, record, len) < 0)
		metric_inc(s->t->m.drop_send_queue);
}

void session_send(struct session *s, const struct iovec *recs, unsigned n)
{
	uint8_t *out = s->t->wbuf + LWS_PRE;
	size_t used = 0, bytes = 0;
	unsigned records = 0, i = 0;

	if (s->close_code || s->write_failed)
		return;
	turn_busy(s);
	while (i < n && !backed_up(s)) {
		const uint8_t *rec = recs[i].iov_base;
		size_t len = recs[i].iov_len;

		if (used && used + frame_len(len) > WRITE_CHUNK) {
			if (!write_chunk(s, used, records, bytes))
				return;
			used = bytes = 0;
			records = 0;
			continue;
		}
		used += put_frame(out + used, s->binary, rec, len);
		bytes += len;
		records++;
		i++;
	}
	if (used && !write_chunk(s, used, records, bytes))
		return;
	for (; i < n; i++)
		enqueue(s, recs[i].iov_base, recs[i].iov_len);
}

void session_close(struct session *s, uint16_t code, const char *reason)
{
	if (s->close_code)
		return;
	s->close_code = code;
	s->close_reason = reason;
	lws_callback_on_writable(s->wsi);
}

/*
 * Writes a close frame itself, unframed bytes through lws; the caller then
 * returns -1 and lws drops the connection. Not lws_close_reason(): on a
 * libuv loop, lws 4.1 built with _DEBUG (Debian's is) closes a second time
 * at once, and the close frame it would have sent later never goes out.
 */
void send_close_frame(struct lws *wsi, uint16_t code, const char *reason)
{
	uint8_t buf[LWS_PRE + 4 + 123];
	uint8_t *f = buf + LWS_PRE;
	size_t n = strlen(reason);

	if (n > 123)
		n = 123;
	f[0] = 0x88;		/* FIN, close */
	f[1] = (uint8_t)(2 + n);	/* a server's frames are not masked */
	f[2] = (uint8_t)(code >> 8);
	f[3] = (uint8_t)code;
	memcpy(f + 4, reason, n);
	lws_write(wsi, f, 4 + n, LWS_WRITE_RAW);
}

/* lws has written all it held: the queue goes next, a chunk at a time. */
int session_writable(struct session *s)
{
	uint8_t *out = s->t->wbuf + LWS_PRE;
	struct recq_slot *slot;

	if (s->close_code) {
		send_close_frame(s->wsi, s->close_code, s->close_reason);
		return -1;
	}
	if (s->write_failed)
		return -1;
	while (s->sendq.count && !lws_partial_buffered(s->wsi)) {
		size_t used = 0, bytes = 0;
		unsigned records = 0;

		while ((slot = recq_peek(&s->sendq)) &&
		       (!used || used + frame_len(slot->len) <= WRITE_CHUNK)) {
			used += put_frame(out + used, s->binary, recq_slot_record(&s->sendq, slot),
					  slot->len);
			bytes += slot->len;
			records++;
			recq_pop(&s->sendq);
		}
		if (!write_chunk(s, used, records, bytes))
			return -1;
	}
	return 0;
}
