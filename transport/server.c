/* The libwebsockets context, its vhosts and the WebSocket session callback. */
#include "transport/internal.h"
#include "wssd/log.h"
#include "wssd/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { PROTO_TEXT, PROTO_BINARY };

#define WS_RX_BUFFER 4096
#define FD_RESERVE 64

static int64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct transport *transport_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* The client's numeric address, IPv4 without its IPv6-mapped prefix. */
static void peer_addr(struct lws *wsi, char *out, size_t len)
{
	out[0] = '\0';
	lws_get_peer_simple(wsi, out, len);
	if (strchr(out, ' '))
		snprintf(out, len, "unknown");
	if (!strncmp(out, "::ffff:", 7) && strchr(out + 7, '.'))
		memmove(out, out + 7, strlen(out + 7) + 1);
}

static void loop_stop(struct transport *t)
{
	t->done = true;
	uv_stop(&t->loop);
}

static void session_close(struct session *s, uint16_t code, const char *reason)
{
	if (s->close_code)
		return;
	s->close_code = code;
	s->close_reason = reason;
	lws_callback_on_writable(s->wsi);
}

static void idle_check(lws_sorted_usec_list_t *sul)
{
	struct session *s = lws_container_of(sul, struct session, sul_idle);
	struct transport *t = s->t;
	int64_t left = s->last_record + (int64_t)t->p.idle_timeout * 1000000 - mono_usec();

	if (left > 0) {
		lws_sul_schedule(t->ctx, 0, &s->sul_idle, idle_check, left);
		return;
	}
	log_info("event=session_idle session=%llu remote=%s idle_timeout=%u",
		 (unsigned long long)s->id, s->remote, t->p.idle_timeout);
	metric_inc(t->m.idle_closes);
	session_close(s, LWS_CLOSE_STATUS_GOINGAWAY, "idle");
}

static void deliver(void *arg, const uint8_t *record, size_t len)
{
	struct session *s = arg;

	if (relay_forward(s, record, len) == 0) {
		s->records_in++;
		s->bytes_in += len;
		metric_inc(s->t->m.records_in);
		metric_add(s->t->m.bytes_in, len);
	}
}

static int on_record(void *ctx, const uint8_t *record, size_t len)
{
	struct session *s = ctx;
	struct transport *t = s->t;
	enum transport_verdict v = TRANSPORT_FORWARD;

	s->last_record = mono_usec();
	if (len == 0) {
		metric_inc(t->m.keepalives);
		return 0;
	}
	if (!gate_holding(&s->gate) && t->hook)
		v = t->hook(t->hook_arg, s->id, record, len);
	switch (gate_record(&s->gate, v, record, len)) {
	case GATE_FORWARD:
		deliver(s, record, len);
		break;
	case GATE_DROPPED:
		metric_inc(t->m.drop_hook);
		break;
	case GATE_HOLD_FULL:
		metric_inc(t->m.drop_hold_queue);
		break;
	case GATE_HELD:
		break;
	}
	return 0;
}

/*
 * Writes a close frame itself, unframed bytes through lws; the caller then
 * returns -1 and lws drops the connection. Not lws_close_reason(): on a
 * libuv loop, lws 4.1 built with _DEBUG (Debian's is) closes a second time
 * at once, and the close frame it would have sent later never goes out.
 */
static void send_close_frame(struct lws *wsi, uint16_t code, const char *reason)
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
	log_warnx("event=protocol_error session=%llu remote=%s reason=%s",
		  (unsigned long long)s->id, s->remote, reason);
	send_close_frame(s->wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, reason);
}

static int session_refuse(struct transport *t, struct lws *wsi)
{
	char remote[48];

	peer_addr(wsi, remote, sizeof(remote));
	if (t->stopping) {
		metric_inc(t->m.refused_shutdown);
		log_info("event=session_refused remote=%s reason=shutting_down", remote);
		return 1;
	}
	if (t->st.count >= t->p.max_sessions) {
		metric_inc(t->m.refused_max);
		log_warnx("event=session_refused remote=%s reason=max_sessions limit=%u", remote,
			  t->p.max_sessions);
		return 1;
	}
	if (t->st.count + t->relay_sockets >= t->fd_budget) {
		metric_inc(t->m.refused_fds);
		log_warnx("event=session_refused remote=%s reason=descriptors sessions=%u "
			  "relay_sockets=%u limit=%u", remote, t->st.count, t->relay_sockets,
			  t->fd_budget);
		return 1;
	}
	if (session_ip_count(&t->st, remote) >= t->p.max_sessions_per_ip) {
		metric_inc(t->m.refused_per_ip);
		log_warnx("event=session_refused remote=%s reason=max_sessions_per_ip limit=%u",
			  remote, t->p.max_sessions_per_ip);
		return 1;
	}
	return 0;
}

static int session_open(struct transport *t, struct lws *wsi, struct session *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->t = t;
	s->wsi = wsi;
	s->udp_fd = -1;
	s->binary = lws_get_protocol(wsi)->id == PROTO_BINARY;
	s->started = time(NULL);
	s->last_record = mono_usec();
	peer_addr(wsi, s->remote, sizeof(s->remote));
	frame_decoder_init(&s->dec);
	recq_init(&s->sendq, t->p.send_queue, LWS_PRE);
	gate_init(&s->gate, t->p.hold_queue ? t->p.hold_queue : TRANSPORT_HOLD_DEFAULT);
	ret = session_add(&t->st, s);
	if (ret < 0)
		return ret;
	lws_sul_schedule(t->ctx, 0, &s->sul_idle, idle_check,
			 (lws_usec_t)t->p.idle_timeout * LWS_US_PER_SEC);
	metric_set(t->m.sessions, t->st.count);
	metric_inc(t->m.sessions_total);
	log_info("event=session_open session=%llu remote=%s vhost=%s mode=%s",
		 (unsigned long long)s->id, s->remote, lws_get_vhost_name(lws_get_vhost(wsi)),
		 s->binary ? "binary" : "text");
	return 0;
}

static void session_closed(struct transport *t, struct session *s)
{
	if (!s->t)
		return;
	if (frame_decoder_mid_record(&s->dec) && !s->close_code) {
		metric_inc(t->m.perr_truncated);
		log_warnx("event=protocol_error session=%llu remote=%s reason=eof_mid_record",
			  (unsigned long long)s->id, s->remote);
	}
	lws_sul_cancel(&s->sul_idle);
	relay_discard(s);
	session_remove(&t->st, s);
	frame_decoder_free(&s->dec);
	recq_free(&s->sendq);
	gate_free(&s->gate);
	metric_set(t->m.sessions, t->st.count);
	log_info("event=session_close session=%llu remote=%s records_in=%llu records_out=%llu "
		 "bytes_in=%llu bytes_out=%llu",
		 (unsigned long long)s->id, s->remote, (unsigned long long)s->records_in,
		 (unsigned long long)s->records_out, (unsigned long long)s->bytes_in,
		 (unsigned long long)s->bytes_out);
	s->t = NULL;
	if (t->stopping && t->st.count == 0)
		loop_stop(t);
}

static int session_writable(struct session *s)
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

static void capture_ssl_ctx(struct transport *t, SSL_CTX *ssl_ctx)
{
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	for (unsigned i = 0; i < t->n_ssl_ctx; i++)
		if (t->ssl_ctx[i] == ssl_ctx)
			return;
	if (t->n_ssl_ctx < TRANSPORT_MAX_VHOSTS)
		t->ssl_ctx[t->n_ssl_ctx++] = ssl_ctx;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct transport *t = transport_of(wsi);
	struct session *s = user;
	int ret;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		capture_ssl_ctx(t, user);
		return 0;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		if (t->stopping) {
			metric_inc(t->m.refused_shutdown);
			return 1;
		}
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return session_refuse(t, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		ret = session_open(t, wsi, s);
		if (ret < 0) {
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
			s->close_code = LWS_CLOSE_STATUS_PROTOCOL_ERR;
			s->close_reason = frame_error_reason(ret);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!s->t)
			return 0;
		return session_writable(s);
	case LWS_CALLBACK_CLOSED:
		session_closed(t, s);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/*
 * A handshake that ends for good (not waiting for more bytes) without
 * completing: garbage instead of a ClientHello, no common cipher, ...
 */
static int tls_info_callback(struct transport *t, struct lws *wsi, const struct lws_ssl_info *si)
{
	SSL *ssl = lws_get_ssl(wsi);
	char remote[48];

	if (!(si->where & SSL_CB_EXIT) || si->ret > 0 || !ssl ||
	    SSL_get_error(ssl, si->ret) != SSL_ERROR_SSL)
		return 0;
	metric_inc(t->m.perr_tls);
	peer_addr(wsi, remote, sizeof(remote));
	log_warnx("event=tls_error remote=%s reason=handshake_failed", remote);
	return 0;
}

static int fd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct fd_watch *w = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_RAW_RX_FILE && w)
		w->fn(w->arg);
	else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE && w)
		w->wsi = NULL;
	return 0;
}

static int ws_or_info_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			       void *in, size_t len)
{
	if (reason == LWS_CALLBACK_SSL_INFO)
		return tls_info_callback(transport_of(wsi), wsi, in);
	return ws_callback(wsi, reason, user, in, len);
}

static const struct lws_protocols ws_protocols[] = {
	{ .name = "wswg", .callback = ws_or_info_callback,
	  .per_session_data_size = sizeof(struct session), .rx_buffer_size = WS_RX_BUFFER,
	  .id = PROTO_TEXT },
	{ .name = "wswg-binary", .callback = ws_or_info_callback,
	  .per_session_data_size = sizeof(struct session), .rx_buffer_size = WS_RX_BUFFER,
	  .id = PROTO_BINARY },
	{ .name = "wssd-udp", .callback = relay_udp_callback },
	{ .name = "wssd-fd", .callback = fd_callback },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void register_metrics(struct transport_metrics *m)
{
	static const char drops[] = "Records or datagrams dropped, by reason";
	static const char perr[] = "Sessions closed for a protocol error, by reason";
	static const char refused[] = "Connections refused at upgrade, by reason";

	m->sessions = metric_gauge("wssd_sessions", NULL, "WebSocket sessions open now");
	m->sessions_total = metric_counter("wssd_sessions_total", NULL,
					   "WebSocket sessions opened since start");
	m->records_in = metric_counter("wssd_records_total", "dir=\"in\"",
				       "Records relayed (in: client to WireGuard, out: back)");
	m->records_out = metric_counter("wssd_records_total", "dir=\"out\"", NULL);
	m->bytes_in = metric_counter("wssd_bytes_total", "dir=\"in\"",
				     "Record payload bytes relayed (in: client to WireGuard)");
	m->bytes_out = metric_counter("wssd_bytes_total", "dir=\"out\"", NULL);
	m->keepalives = metric_counter("wssd_keepalives_total", NULL,
				       "Zero-length records received");
	m->drop_send_queue = metric_counter("wssd_drops_total", "reason=\"send_queue_full\"", drops);
	m->drop_hold_queue = metric_counter("wssd_drops_total", "reason=\"hold_queue_full\"", drops);
	m->drop_hook = metric_counter("wssd_drops_total", "reason=\"refused\"", drops);
	m->drop_udp_send = metric_counter("wssd_drops_total", "reason=\"udp_error\"", drops);
	m->drop_wg_unreachable = metric_counter("wssd_drops_total", "reason=\"wg_unreachable\"",
						drops);
	m->drop_relay_socket = metric_counter("wssd_drops_total", "reason=\"relay_socket\"",
					      drops);
	m->refused_max = metric_counter("wssd_sessions_refused_total", "reason=\"max_sessions\"",
					refused);
	m->refused_per_ip = metric_counter("wssd_sessions_refused_total",
					   "reason=\"max_sessions_per_ip\"", refused);
	m->refused_shutdown = metric_counter("wssd_sessions_refused_total",
					     "reason=\"shutting_down\"", refused);
	m->refused_fds = metric_counter("wssd_sessions_refused_total", "reason=\"descriptors\"",
					refused);
	m->perr_magic = metric_counter("wssd_protocol_errors_total", "reason=\"bad_magic\"", perr);
	m->perr_length = metric_counter("wssd_protocol_errors_total",
					"reason=\"record_too_long\"", perr);
	m->perr_truncated = metric_counter("wssd_protocol_errors_total",
					   "reason=\"eof_mid_record\"", perr);
	m->perr_tls = metric_counter("wssd_protocol_errors_total", "reason=\"tls_handshake\"", perr);
	m->perr_nomem = metric_counter("wssd_protocol_errors_total", "reason=\"no_memory\"", perr);
	m->idle_closes = metric_counter("wssd_idle_closes_total", NULL,
					"Sessions closed after websocket.idle_timeout");
	m->cert_reloads = metric_counter("wssd_tls_cert_reloads_total", NULL,
					 "Certificate reloads applied (SIGHUP)");
}

static int parse_wg_addr(struct transport *t)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&t->wg_addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->wg_addr;

	memset(&t->wg_addr, 0, sizeof(t->wg_addr));
	if (inet_pton(AF_INET, t->p.wg_host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(t->p.wg_port);
		t->wg_addrlen = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, t->p.wg_host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(t->p.wg_port);
		t->wg_addrlen = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static const char *bind_iface(const char *host)
{
	return !strcmp(host, "::") || !strcmp(host, "0.0.0.0") || !host[0] ? NULL : host;
}

static int create_vhost(struct transport *t, const struct transport_listener *l, unsigned i)
{
	struct lws_context_creation_info info;
	char *name = t->vhost_names[i];

	memset(&info, 0, sizeof(info));
	snprintf(name, sizeof(t->vhost_names[i]), "%s-%u", l->tls ? "tls" : "plain", i);
	info.vhost_name = name;
	info.iface = bind_iface(l->host);
	info.port = l->port;
	info.protocols = ws_protocols;
	info.alpn = "http/1.1";
	info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	if (!strchr(l->host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (strchr(l->host, ':'))
		info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY |
				(strcmp(l->host, "::") ? LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE : 0);
	if (l->tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = t->p.cert;
		info.ssl_private_key_filepath = t->p.key;
		info.ssl_info_event_mask = SSL_CB_EXIT;
	}
	if (!lws_create_vhost(t->ctx, &info)) {
		log_warnx("event=listen_failed address=%s port=%u tls=%d", l->host, l->port, l->tls);
		return -EADDRNOTAVAIL;
	}
	log_info("event=listening address=%s port=%u tls=%d", l->host, l->port, l->tls);
	return 0;
}

static int create_admin_vhost(struct transport *t)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.vhost_name = "admin";
	info.iface = bind_iface(t->p.admin_host);
	info.port = t->p.admin_port;
	info.protocols = t->p.admin_protocols;
	info.user = t->p.admin_user;
	info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	if (!strchr(t->p.admin_host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (!lws_create_vhost(t->ctx, &info)) {
		log_warnx("event=listen_failed address=%s port=%u admin=1", t->p.admin_host,
			  t->p.admin_port);
		return -EADDRNOTAVAIL;
	}
	log_info("event=listening address=%s port=%u admin=1", t->p.admin_host, t->p.admin_port);
	return 0;
}

/*
 * Raises the soft limit on descriptors towards what max_sessions relaying
 * sessions need and returns the limit.
 */
static unsigned fd_limit(const struct transport_params *p)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)p->max_sessions * 2 + FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
		want = rl.rlim_cur;
	return (unsigned)want;
}

int transport_create(const struct transport_params *p, struct transport **out)
{
	struct lws_context_creation_info info;
	void *foreign_loops[1];
	struct transport *t;
	int ret;

	if (!p->n_listeners || p->n_listeners >= TRANSPORT_MAX_VHOSTS)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->p = *p;
	ret = parse_wg_addr(t);
	if (ret < 0)
		goto fail;
	register_metrics(&t->m);

	lws_set_log_level(getenv("WSSD_LWS_DEBUG") ? 0x1f : LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = t;
	info.fd_limit_per_thread = fd_limit(p);
	/*
	 * A session holds one descriptor while idle and a second (its relay
	 * socket) from its first datagram on; the reserve is for everything
	 * else. Sessions plus relay sockets must fit in the rest.
	 */
	t->fd_budget = info.fd_limit_per_thread > FD_RESERVE + 2 ?
		info.fd_limit_per_thread - FD_RESERVE : 2;
	if (t->fd_budget / 2 < t->p.max_sessions) {
		unsigned cap = t->fd_budget < t->p.max_sessions ? t->fd_budget : t->p.max_sessions;

		log_warnx("event=%s max_sessions=%u nofile=%u effective=%u all_relaying_up_to=%u "
			  "limit=\"sessions + relaying sessions <= %u\"",
			  cap < t->p.max_sessions ? "max_sessions_lowered" : "relay_sockets_limited",
			  t->p.max_sessions, info.fd_limit_per_thread, cap, t->fd_budget / 2,
			  t->fd_budget);
		t->p.max_sessions = cap;
	}
	info.pt_serv_buf_size = 32768;
	ret = uv_loop_init(&t->loop);
	if (ret < 0)
		goto fail;
	t->loop_open = true;
	info.options |= LWS_SERVER_OPTION_LIBUV;
	info.foreign_loops = foreign_loops;
	foreign_loops[0] = &t->loop;
	info.pcontext = &t->ctx;	/* lws clears it once the context is freed */
	t->ctx = lws_create_context(&info);
	if (!t->ctx) {
		log_warnx("event=lws_context_failed hint=\"its libuv plugin comes with Debian's "
			  "libwebsockets-evlib-uv\"");
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < p->n_listeners; i++) {
		ret = create_vhost(t, &p->listeners[i], i);
		if (ret < 0)
			goto fail;
	}
	if (p->admin_protocols) {
		ret = create_admin_vhost(t);
		if (ret < 0)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	transport_destroy(t);
	return ret;
}

void transport_destroy(struct transport *t)
{
	struct fd_watch *w, *next;

	if (!t)
		return;
	/*
	 * On a foreign loop lws destroys its context in steps: the first call
	 * closes its handles, whose close callbacks run on the loop; a call
	 * after that frees what is left.
	 */
	if (t->ctx)
		lws_context_destroy(t->ctx);
	if (t->loop_open) {
		uv_run(&t->loop, UV_RUN_DEFAULT);
		if (t->ctx)
			lws_context_destroy(t->ctx);
		if (uv_loop_close(&t->loop) < 0)
			log_warnx("event=loop_close_failed reason=handles_left");
	}
	for (w = t->watches; w; w = next) {
		next = w->next;
		free(w);
	}
	session_table_free(&t->st);
	free(t);
}

int transport_run(struct transport *t)
{
	while (!t->done)
		uv_run(&t->loop, UV_RUN_ONCE);
	return 0;
}

static void grace_over(lws_sorted_usec_list_t *sul)
{
	struct transport *t = lws_container_of(sul, struct transport, sul_grace);

	log_warnx("event=shutdown_grace_over sessions=%u", t->st.count);
	loop_stop(t);
}

void transport_shutdown(struct transport *t, unsigned grace_seconds)
{
	if (t->stopping)
		return;
	t->stopping = true;
	log_info("event=shutdown sessions=%u", t->st.count);
	for (struct session *s = t->st.all; s; s = s->next)
		session_close(s, LWS_CLOSE_STATUS_GOINGAWAY, "shutdown");
	if (t->st.count == 0) {
		loop_stop(t);
		return;
	}
	lws_sul_schedule(t->ctx, 0, &t->sul_grace, grace_over,
			 (lws_usec_t)grace_seconds * LWS_US_PER_SEC);
}

int transport_reload_cert(struct transport *t, const char *cert, const char *key, char *err,
			  size_t errlen)
{
	for (unsigned i = 0; i < t->n_ssl_ctx; i++) {
		SSL_CTX *c = t->ssl_ctx[i];

		if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
			snprintf(err, errlen, "%s: cannot load the certificate", cert);
			return -EINVAL;
		}
		if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c) != 1) {
			snprintf(err, errlen, "%s: cannot load the key or it does not match %s",
				 key, cert);
			return -EINVAL;
		}
	}
	metric_inc(t->m.cert_reloads);
	return 0;
}

void transport_set_record_hook(struct transport *t, transport_record_hook hook, void *arg)
{
	t->hook = hook;
	t->hook_arg = arg;
}

int transport_session_release(struct transport *t, uint64_t session_id, bool forward)
{
	struct session *s = session_find(&t->st, session_id);
	unsigned n;

	if (!s)
		return -ENOENT;
	n = gate_release(&s->gate, forward, deliver, s);
	if (!forward)
		metric_add(t->m.drop_hook, n);
	return 0;
}

void transport_foreach_session(struct transport *t,
			       void (*fn)(void *arg, const struct transport_session_info *),
			       void *arg)
{
	for (struct session *s = t->st.all; s; s = s->next) {
		struct transport_session_info info = {
			.id = s->id,
			.remote = s->remote,
			.vhost = lws_get_vhost_name(lws_get_vhost(s->wsi)),
			.binary = s->binary,
			.started = s->started,
			.records_in = s->records_in,
			.records_out = s->records_out,
			.bytes_in = s->bytes_in,
			.bytes_out = s->bytes_out,
			.held = s->gate.held.count,
		};

		fn(arg, &info);
	}
}

unsigned transport_session_count(const struct transport *t)
{
	return t->st.count;
}

int transport_watch_fd(struct transport *t, int fd, void (*fn)(void *arg), void *arg)
{
	struct lws_vhost *vh = lws_get_vhost_by_name(t->ctx, t->vhost_names[0]);
	lws_sock_file_fd_type desc;
	struct fd_watch *w;

	if (!vh)
		return -ENODEV;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	desc.filefd = fd;
	w->wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, desc, "wssd-fd", NULL);
	if (!w->wsi) {
		free(w);
		return -ENOMEM;
	}
	lws_set_opaque_user_data(w->wsi, w);
	w->next = t->watches;
	t->watches = w;
	return 0;
}
