/* What goes towards the client: records, in order, and the close frame. */
#include "transport/internal.h"
#include "common/metrics.h"

#include <string.h>

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

int session_writable(struct session *s)
{
	struct transport *t = s->t;
	struct recq_slot *slot;

	if (s->close_code) {
		send_close_frame(s->wsi, s->close_code, s->close_reason);
		return -1;
	}
	while ((slot = recq_peek(&s->sendq))) {
		size_t n = 4 + slot->len;

		if (lws_write(s->wsi, recq_slot_header(&s->sendq, slot), n,
			      s->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)n)
			return -1;
		s->records_out++;
		s->bytes_out += slot->len;
		metric_inc(t->m.records_out);
		metric_add(t->m.bytes_out, slot->len);
		recq_pop(&s->sendq);
		if (recq_peek(&s->sendq) && lws_send_pipe_choked(s->wsi)) {
			lws_callback_on_writable(s->wsi);
			break;
		}
	}
	return 0;
}
