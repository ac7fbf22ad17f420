/*
 * What each turn of the loop ends with, after libuv has run every ready
 * callback: records that read-ahead left in OpenSSL's buffer are served,
 * then the records gathered for WireGuard go out (relay_flush). And once a
 * second, sessions that stopped relaying give back their TLS buffers.
 */
#include "transport/internal.h"

/* Forced reads per turn; past it the next turn goes on without waiting. */
#define TURN_MAX_SERVICE 1024
#define TURN_SESSION_RECORDS 64
#define QUIET_AFTER_US (1 * LWS_US_PER_SEC)

void turn_tls_read(struct session *s)
{
	/* Not while it is being served: that goes on as long as it needs. */
	if (s && s->t && s != s->t->serving && lws_dll2_is_detached(&s->tls_pending))
		lws_dll2_add_tail(&s->tls_pending, &s->t->tls_pending);
}

/*
 * lws reads one record per POLLIN and looks for more only with
 * SSL_pending(), which does not count whole records still encrypted in
 * the read-ahead buffer: the socket may be empty while they wait. So each
 * session whose socket was read in this turn is served again, as if
 * POLLIN, while OpenSSL holds bytes and its last read did not need more
 * of them: one session's records in a row (one batch towards WireGuard).
 * Sessions read again meanwhile are listed for the next turn.
 */
static void serve_buffered(struct transport *t)
{
	struct lws_dll2_owner now = { 0 };
	unsigned n = 0;

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, t->tls_pending.head) {
		lws_dll2_remove(d);
		lws_dll2_add_tail(d, &now);
	} lws_end_foreach_dll_safe(d, d1);
	while (now.head) {
		struct session *s = lws_container_of(now.head, struct session, tls_pending);
		struct lws_pollfd pfd;
		bool gone = false;
		unsigned i;

		lws_dll2_remove(&s->tls_pending);
		if (n >= TURN_MAX_SERVICE) {
			turn_tls_read(s);
			continue;
		}
		t->serving = s;
		for (i = 0; i < TURN_SESSION_RECORDS; i++, n++) {
			if (!s->ssl || !SSL_has_pending(s->ssl) || SSL_want_read(s->ssl))
				break;
			pfd.fd = lws_get_socket_fd(s->wsi);
			pfd.events = pfd.revents = LWS_POLLIN;
			if (lws_service_fd(t->ctx, &pfd) != 0 || !s->t) {
				gone = true;	/* closed: not to be touched again */
				break;
			}
		}
		t->serving = NULL;
		if (!gone && i == TURN_SESSION_RECORDS)
			turn_tls_read(s);
	}
}

static void idle_once(uv_idle_t *h)
{
	uv_idle_stop(h);
}

static void on_check(uv_check_t *h)
{
	struct transport *t = h->data;

	serve_buffered(t);
	relay_flush(t);
	/* Left for the next turn: that turn must not sleep in epoll. */
	if (t->tls_pending.head)
		uv_idle_start(&t->turn_idle, idle_once);
}

static void sweep(lws_sorted_usec_list_t *sul)
{
	struct transport *t = lws_container_of(sul, struct transport, sul_sweep);

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, t->busy.head) {
		struct session *s = lws_container_of(d, struct session, busy_link);

		if (s->busy_seen) {
			s->busy_seen = false;
		} else {
			lws_dll2_remove(&s->busy_link);
			tls_quiet(s);
		}
	} lws_end_foreach_dll_safe(d, d1);
	if (t->busy.head)
		lws_sul_schedule(t->ctx, 0, &t->sul_sweep, sweep, QUIET_AFTER_US);
}

/* The session relays a record either way: its TLS buffers stay while it does. */
void turn_busy(struct session *s)
{
	struct transport *t = s->t;

	s->busy_seen = true;
	if (!lws_dll2_is_detached(&s->busy_link))
		return;
	tls_busy(s);
	if (!t->busy.head)
		lws_sul_schedule(t->ctx, 0, &t->sul_sweep, sweep, QUIET_AFTER_US);
	lws_dll2_add_tail(&s->busy_link, &t->busy);
}

void turn_session_gone(struct session *s)
{
	lws_dll2_remove(&s->tls_pending);
	lws_dll2_remove(&s->busy_link);
}

int turn_init(struct transport *t)
{
	int ret = uv_check_init(&t->loop, &t->turn_check);

	if (ret < 0)
		return ret;
	t->turn_check.data = t;
	ret = uv_idle_init(&t->loop, &t->turn_idle);
	if (ret < 0) {
		uv_close((uv_handle_t *)&t->turn_check, NULL);
		return ret;
	}
	t->turn_open = true;
	return uv_check_start(&t->turn_check, on_check);
}

void turn_close(struct transport *t)
{
	if (!t->turn_open)
		return;
	t->turn_open = false;
	lws_sul_cancel(&t->sul_sweep);
	uv_close((uv_handle_t *)&t->turn_check, NULL);
	uv_close((uv_handle_t *)&t->turn_idle, NULL);
}
