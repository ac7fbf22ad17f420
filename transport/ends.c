/*
 * How sessions end: every close has a reason, a log line that names it and
 * a counter, whoever started it. The client's close frame is echoed when
 * its code is one a peer may send and answered with 1002 otherwise.
 */
#include "transport/internal.h"
#include "common/log.h"
#include "common/metrics.h"

#include <string.h>

static const char *const end_names[SESSION_END_N] = {
	[SESSION_END_CONNECTION_LOST] = "connection_lost",
	[SESSION_END_CLIENT_CLOSE] = "client_close",
	[SESSION_END_IDLE] = "idle",
	[SESSION_END_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	[SESSION_END_PROTOCOL_ERROR] = "protocol_error",
	[SESSION_END_SHUTDOWN] = "shutdown",
	[SESSION_END_SERVER] = "closed_by_server",
	[SESSION_END_WRITE_FAILED] = "write_failed",
	[SESSION_END_NO_MEMORY] = "no_memory",
};

static struct log_limit lim_close_code;

const char *session_end_name(enum session_end why)
{
	return end_names[why];
}

void session_end(struct session *s, enum session_end why, uint16_t code, const char *reason)
{
	if (s->close_code)
		return;		/* closing already: the first reason stands */
	s->end = why;
	session_close(s, code, reason);
}

/* RFC 6455 section 7.4: the codes an endpoint may put in a close frame. */
static bool close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

/*
 * lws has replaced the reserved codes below 3000 with 1002 already, and
 * echoes what this leaves; codes from 5000 up, and a one-byte payload,
 * it would echo as they came.
 */
int session_peer_close(struct session *s, const uint8_t *payload, size_t len)
{
	unsigned code = len >= 2 ? (unsigned)payload[0] << 8 | payload[1] : 0;

	if (!s->t)
		return 0;
	if (len == 1 || (len >= 2 && !close_code_valid(code))) {
		metric_inc(s->t->m.perr_close_code);
		log_limited(&lim_close_code, LOG_LEVEL_WARN,
			    "event=protocol_error session=%llu remote=%s reason=bad_close_code "
			    "code=%u length=%zu", (unsigned long long)s->id, s->remote, code, len);
		s->end = SESSION_END_PROTOCOL_ERROR;
		s->close_code = LWS_CLOSE_STATUS_PROTOCOL_ERR;
		s->close_reason = "bad_close_code";
		send_close_frame(s->wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, s->close_reason);
		return -1;
	}
	s->end = SESSION_END_CLIENT_CLOSE;
	s->peer_close_code = (uint16_t)code;
	return 0;
}

void session_log_end(struct session *s)
{
	struct transport *t = s->t;
	enum session_end why = s->end;

	/* a close this side started without session_end() */
	if (why == SESSION_END_CONNECTION_LOST && s->close_code)
		why = SESSION_END_SERVER;
	metric_inc(t->m.closes[why]);
	log_info("event=session_close session=%llu remote=%s reason=%s code=%u records_in=%llu "
		 "records_out=%llu bytes_in=%llu bytes_out=%llu",
		 (unsigned long long)s->id, s->remote, end_names[why],
		 why == SESSION_END_CLIENT_CLOSE ? s->peer_close_code : s->close_code,
		 (unsigned long long)s->records_in, (unsigned long long)s->records_out,
		 (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
}
