/*
 * The wswg protocols: one callback for the WebSocket sessions (pss = struct
 * session, vhd = struct ws_vhd), switching on the reason as the
 * libwebsockets minimal examples do. As the public vhosts' first protocol
 * it also sees each connection from its accept (pending.c) and its HTTP
 * request (upgrade.c).
 */
#include "transport/internal.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { PROTO_TEXT, PROTO_BINARY };

/*
 * lws keeps this much per session for a message's payload (and reads at
 * most this much per SSL_read): one client datagram (at most about 2000
 * bytes) with its length fits; longer messages come in parts.
 */
#define WS_RX_BUFFER 2048

/* Per vhost: the transport it belongs to and the listener's name. */
struct ws_vhd {
	struct transport *t;
	const char *name;
};

struct transport *transport_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* The client's numeric address, IPv4 without its IPv6-mapped prefix. */
void session_peer_addr(struct lws *wsi, char *out, size_t len)
{
	session_peer(wsi, out, len, NULL, 0);
}

void session_peer(struct lws *wsi, char *remote, size_t rlen, char *client, size_t clen)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	uint8_t key[ADDR_KEY_LEN];

	getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &len);
	addr_host_text((struct sockaddr *)&ss, remote, rlen);
	if (client && addr_client_key((struct sockaddr *)&ss, key, client, clen) < 0)
		snprintf(client, clen, "unknown");
}

static struct log_limit lim_handshake, lim_protocol;

/* The idle timeout, and until the magic has come the handshake deadline. */
static void idle_check(lws_sorted_usec_list_t *sul)
{
	struct session *s = lws_container_of(sul, struct session, sul_idle);
	struct transport *t = s->t;
	int64_t now = clock_usec();
	int64_t left = s->last_record + (int64_t)t->p.idle_timeout * 1000000 - now;

	if (!s->dec.magic_seen && now >= s->handshake_deadline) {
		metric_inc(t->pending.timeouts[PENDING_MAGIC]);
		log_limited(&lim_handshake, LOG_LEVEL_INFO,
			    "event=handshake_timeout remote=%s stage=magic session=%llu "
			    "handshake_timeout=%u", s->remote, (unsigned long long)s->id,
			    t->p.handshake_timeout);
		session_end(s, SESSION_END_HANDSHAKE_TIMEOUT, LWS_CLOSE_STATUS_POLICY_VIOLATION,
			    "handshake_timeout");
		return;
	}
	if (left > 0) {
		if (!s->dec.magic_seen && s->handshake_deadline - now < left)
			left = s->handshake_deadline - now;
		lws_sul_schedule(t->ctx, 0, &s->sul_idle, idle_check, left);
		return;
	}
	log_info("event=session_idle session=%llu remote=%s idle_timeout=%u",
		 (unsigned long long)s->id, s->remote, t->p.idle_timeout);
	metric_inc(t->m.idle_closes);
	session_end(s, SESSION_END_IDLE, LWS_CLOSE_STATUS_GOINGAWAY, "idle");
}

static void deliver(void *arg, const uint8_t *record, size_t len)
{
	struct session *s = arg;

	/* The shared series are counted by the batch (relay.c). */
	if (relay_forward(s, record, len) == 0) {
		s->records_in++;
		s->bytes_in += len;
	}
}

static unsigned hold_timeout(const struct transport *t)
{
	return t->p.hold_timeout ? t->p.hold_timeout : TRANSPORT_HOLD_TIMEOUT_DEFAULT;
}

/* A hold nobody released: its records go, and a late release finds it over. */
static void hold_expired(lws_sorted_usec_list_t *sul)
{
	struct session *s = lws_container_of(sul, struct session, sul_hold);
	unsigned n = gate_release(&s->gate, false, NULL, NULL);

	metric_add(s->t->m.held_timeout, n);
	log_warnx("event=hold_timeout session=%llu remote=%s records=%u hold_timeout=%u",
		  (unsigned long long)s->id, s->remote, n, hold_timeout(s->t));
}

static int on_record(void *ctx, const uint8_t *record, size_t len)
{
	struct session *s = ctx;
	struct transport *t = s->t;
	enum transport_verdict v = TRANSPORT_FORWARD;
	bool was_holding = gate_holding(&s->gate);

	s->last_record = clock_usec();
	if (len == 0) {
		metric_inc(t->m.keepalives);
		return 0;
	}
	if (!was_holding && t->hooks.record) {
		struct transport_record r = {
			.session_id = s->id,
			.hold = gate_next_hold(&s->gate),
			.remote = s->remote,
			.data = s->hook_data,
		};

		v = t->hooks.record(t->hooks.arg, &r, record, len);
	}
	switch (gate_record(&s->gate, v, record, len)) {
	case GATE_FORWARD:
		deliver(s, record, len);
		break;
	case GATE_DROPPED:
		metric_inc(t->m.drop_hook);
		break;
	case GATE_HOLD_FULL:
		metric_inc(t->m.held_full);
		break;
	case GATE_HELD:
		break;
	}
	if (!was_holding && gate_holding(&s->gate))
		lws_sul_schedule(t->ctx, 0, &s->sul_hold, hold_expired,
				 (lws_usec_t)hold_timeout(t) * LWS_US_PER_SEC);
	return 0;
}

static void protocol_error(struct session *s, int err)
{
	struct transport *t = s->t;
	const char *reason = frame_error_reason(err);

	switch (err) {
	case FRAME_ERR_MAGIC:
		metric_inc(t->m.perr_magic);
		break;
	case FRAME_ERR_LENGTH:
		metric_inc(t->m.perr_length);
		break;
	default:
		metric_inc(t->m.perr_nomem);
		break;
	}
	log_limited(&lim_protocol, LOG_LEVEL_WARN,
		    "event=protocol_error session=%llu remote=%s reason=%s",
		    (unsigned long long)s->id, s->remote, reason);
	send_close_frame(s->wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, reason);
	s->end = SESSION_END_PROTOCOL_ERROR;
	s->close_code = LWS_CLOSE_STATUS_PROTOCOL_ERR;
	s->close_reason = reason;
}

static int session_open(struct ws_vhd *vhd, struct lws *wsi, struct session *s,
			int64_t handshake_deadline)
{
	struct transport *t = vhd->t;
	int ret;

	memset(s, 0, sizeof(*s));
	s->t = t;
	s->wsi = wsi;
	s->udp_fd = -1;
	s->listener = vhd->name;
	s->binary = lws_get_protocol(wsi)->id == PROTO_BINARY;
	s->started = time(NULL);
	s->last_record = clock_usec();
	s->handshake_deadline = handshake_deadline;
	session_peer(wsi, s->remote, sizeof(s->remote), s->client, sizeof(s->client));
	frame_decoder_init(&s->dec);
	recq_init(&s->sendq, t->p.send_queue, 0);
	recq_limit_bytes(&s->sendq, (size_t)t->p.send_queue * TRANSPORT_SENDQ_SLOT_BYTES);
	gate_init(&s->gate, t->p.hold_queue ? t->p.hold_queue : TRANSPORT_HOLD_DEFAULT);
	ret = session_add(&t->st, s);
	if (ret < 0)
		return ret;
	tls_session_open(s);
	idle_check(&s->sul_idle);
	metric_set(t->m.sessions, atomic_fetch_add(&t->sh->sessions, 1) + 1);
	trim_grew(t);
	metric_inc(t->m.sessions_total);
	log_info("event=session_open session=%llu remote=%s vhost=%s mode=%s",
		 (unsigned long long)s->id, s->remote, s->listener, s->binary ? "binary" : "text");
	return 0;
}

static void session_closed(struct session *s)
{
	struct transport *t = s->t;

	if (!t)
		return;
	if (frame_decoder_mid_record(&s->dec) && !s->close_code) {
		metric_inc(t->m.perr_truncated);
		log_limited(&lim_protocol, LOG_LEVEL_WARN,
			    "event=protocol_error session=%llu remote=%s reason=eof_mid_record",
			    (unsigned long long)s->id, s->remote);
	}
	lws_sul_cancel(&s->sul_idle);
	lws_sul_cancel(&s->sul_hold);
	relay_discard(s);
	turn_session_gone(s);
	tls_session_close(s);
	if (s->registered) {
		atomic_fetch_sub(&t->sh->sessions, 1);
		trim_shrank(t);
	}
	session_remove(&t->st, s);
	frame_decoder_free(&s->dec);
	recq_free(&s->sendq);
	gate_free(&s->gate);
	metric_set(t->m.sessions, atomic_load(&t->sh->sessions));
	session_log_end(s);
	s->t = NULL;
	if (t->hooks.closed)
		t->hooks.closed(t->hooks.arg, s->id, s->hook_data);
	if (t->stopping && t->st.count == 0)
		transport_loop_stop(t);
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct ws_vhd *vhd = lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	struct transport *t = transport_of(wsi);
	struct session *s = user;
	int64_t deadline;
	int ret;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi), lws_get_protocol(wsi),
						  sizeof(*vhd));
		if (!vhd)
			return -1;
		vhd->t = t;
		vhd->name = lws_get_vhost_name(lws_get_vhost(wsi));
		return 0;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		tls_capture_ctx(t, user);
		return 0;
	case LWS_CALLBACK_SSL_INFO:
		if (((const struct lws_ssl_info *)in)->where & SSL_CB_HANDSHAKE_DONE)
			pending_tls_done(wsi);
		return tls_info(t, wsi, in);
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		if (pending_admit(t, (struct sockaddr *)
				  &((struct lws_filter_network_conn_args *)user)->cli_addr))
			return 1;
		/* Another loop's now; lws closes its own descriptor of it. */
		if (!loop_hand_over(t, wsi, (int)(intptr_t)in))
			return 0;
		pending_handed_over(t);
		return 1;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		return pending_start(t, wsi, lws_is_ssl(wsi)) < 0 ? -1 : 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return upgrade_check(t, wsi, in);
	case LWS_CALLBACK_HTTP:
		return upgrade_not_websocket(t, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		if (pending_upgraded(wsi, &deadline) < 0)
			return -1;
		ret = session_open(vhd, wsi, s, deadline);
		if (ret < 0) {
			s->end = SESSION_END_NO_MEMORY;
			send_close_frame(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "no memory");
			return -1;
		}
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (!s->t || s->close_code)
			return 0;
		ret = frame_decode(&s->dec, in, len, on_record, s);
		if (ret < 0) {
			protocol_error(s, ret);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return session_peer_close(s, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!s->t)
			return 0;
		ret = session_writable(s);
		if (ret < 0 && !s->close_code)
			s->end = SESSION_END_WRITE_FAILED;
		return ret;
	case LWS_CALLBACK_CLOSED:
		session_closed(s);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		pending_destroyed(wsi, user != NULL);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols transport_protocols[] = {
	{ .name = "wswg", .callback = ws_callback,
	  .per_session_data_size = sizeof(struct session), .rx_buffer_size = WS_RX_BUFFER,
	  .id = PROTO_TEXT, .tx_packet_size = TRANSPORT_WRITE_MAX },
	{ .name = "wswg-binary", .callback = ws_callback,
	  .per_session_data_size = sizeof(struct session), .rx_buffer_size = WS_RX_BUFFER,
	  .id = PROTO_BINARY, .tx_packet_size = TRANSPORT_WRITE_MAX },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* The loop that serves the session (its id says which). */
static struct transport *owner(struct transport *t, uint64_t session_id)
{
	struct transport *o = transport_loop(t, transport_session_loop(session_id));

	return o ? o : t;
}

int transport_session_release(struct transport *t, uint64_t session_id, uint32_t hold,
			      bool forward)
{
	struct session *s = session_find(&owner(t, session_id)->st, session_id);
	unsigned n;

	if (!s)
		return -ENOENT;
	if (!gate_holding(&s->gate) || s->gate.hold != hold)
		return -ESTALE;
	lws_sul_cancel(&s->sul_hold);
	n = gate_release(&s->gate, forward, deliver, s);
	if (!forward)
		metric_add(t->m.held_refused, n);
	return 0;
}

void *transport_session_data(struct transport *t, uint64_t session_id)
{
	struct session *s = session_find(&owner(t, session_id)->st, session_id);

	return s ? s->hook_data : NULL;
}

int transport_session_endpoint(struct transport *t, uint64_t session_id,
			       struct sockaddr_storage *out)
{
	struct session *s = session_find(&owner(t, session_id)->st, session_id);
	int ret;

	if (!s)
		return -ENOENT;
	if (s->udp_fd < 0) {
		ret = relay_open(s);
		if (ret < 0)
			return ret;
	}
	*out = s->relay_local;
	return 0;
}

int transport_session_close(struct transport *t, uint64_t session_id, uint16_t code,
			    const char *reason)
{
	struct session *s = session_find(&owner(t, session_id)->st, session_id);

	if (!s)
		return -ENOENT;
	log_info("event=session_closing session=%llu remote=%s code=%u reason=%s",
		 (unsigned long long)s->id, s->remote, code, reason);
	session_end(s, SESSION_END_SERVER, code, reason);
	return 0;
}

struct foreach {
	void (*fn)(void *arg, const struct transport_session_info *);
	void *arg;
};

static void foreach_loop(struct transport *t, void *arg)
{
	struct foreach *f = arg;

	for (struct session *s = t->st.all; s; s = s->next) {
		struct transport_session_info info = {
			.id = s->id,
			.remote = s->remote,
			.vhost = s->listener,
			.binary = s->binary,
			.started = s->started,
			.records_in = s->records_in,
			.records_out = s->records_out,
			.bytes_in = s->bytes_in,
			.bytes_out = s->bytes_out,
			.held = s->gate.held.count,
		};

		f->fn(f->arg, &info);
	}
}

void transport_foreach_session(struct transport *t,
			       void (*fn)(void *arg, const struct transport_session_info *),
			       void *arg)
{
	struct foreach f = { fn, arg };

	for (unsigned i = 0; i < transport_loops(t); i++)
		loop_call(transport_loop(t, i), foreach_loop, &f);
}

static void set_limits(struct transport *t, void *arg)
{
	const struct transport_limits *l = arg;
	bool idle_changed = l->idle_timeout != t->p.idle_timeout;

	t->p.max_sessions_per_ip = l->max_sessions_per_ip;
	t->p.max_pending_per_ip = l->max_pending_per_ip;
	t->p.idle_timeout = l->idle_timeout;
	if (!idle_changed)
		return;
	/* Each check is due at the old timeout: checked again now, it takes the new one. */
	for (struct session *s = t->st.all; s; s = s->next)
		lws_sul_schedule(t->ctx, 0, &s->sul_idle, idle_check, 1);
}

void transport_set_limits(struct transport *t, struct transport_limits *l)
{
	l->max_pending_per_ip = pending_per_ip_limit(t->sh, l->max_pending_per_ip);
	for (unsigned i = 0; i < transport_loops(t); i++)
		loop_call(transport_loop(t, i), set_limits, l);
}

unsigned transport_session_count(const struct transport *t)
{
	return atomic_load(&t->sh->sessions);
}
