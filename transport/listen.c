/*
 * The vhosts: one per listener (on loop 0 listening, on the other loops
 * serving what loop 0 hands them), the admin and control ones (loop 0),
 * the internal one that listens nowhere, and the descriptor budget they
 * share.
 */
#include "transport/internal.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define FD_RESERVE 64

/*
 * lws pings a WebSocket after 300 s without a pong and hangs up 10 s later
 * with no close frame; websocket.idle_timeout (keepalive records count) is
 * the liveness check here, so its pings are off on every vhost.
 */
static const lws_retry_bo_t no_pings = { .secs_since_valid_ping = 0,
					  .secs_since_valid_hangup = 0 };

/*
 * Raises the soft limit on descriptors towards what max_sessions relaying
 * sessions and max_pending connections not yet upgraded need, and divides
 * it: a session holds one descriptor while idle and a second (its relay
 * socket) from its first datagram on; the reserve is for everything else.
 * Connections before their upgrade get at most a quarter of the rest, so
 * they never take what established sessions need; sessions plus relay
 * sockets fit in what is left, max_sessions lowered when even idle ones
 * would not. Returns the limit for lws.
 */
unsigned transport_fd_budget(struct transport *t)
{
	rlim_t want = (rlim_t)t->p.max_sessions * 2 + t->p.max_pending + FD_RESERVE;
	struct transport_shared *sh = t->sh;
	unsigned limit, budget, room;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
		want = rl.rlim_cur;
	limit = (unsigned)want;
	budget = limit > FD_RESERVE + 8 ? limit - FD_RESERVE : 8;
	sh->pending_cap = t->p.max_pending < budget / 4 ? t->p.max_pending : budget / 4;
	if (sh->pending_cap < t->p.max_pending)
		log_warnx("event=max_pending_lowered max_pending=%u nofile=%u effective=%u",
			  t->p.max_pending, limit, sh->pending_cap);
	room = budget - sh->pending_cap;
	if (room / 2 < t->p.max_sessions) {
		unsigned cap = room < t->p.max_sessions ? room : t->p.max_sessions;

		log_warnx("event=%s max_sessions=%u nofile=%u effective=%u all_relaying_up_to=%u "
			  "limit=\"sessions + relaying sessions <= %u\"",
			  cap < t->p.max_sessions ? "max_sessions_lowered" : "relay_sockets_limited",
			  t->p.max_sessions, limit, cap, room / 2, room);
		t->p.max_sessions = cap;
	}
	t->p.max_pending_per_ip = pending_per_ip_limit(sh, t->p.max_pending_per_ip);
	sh->fd_budget = budget;
	sh->fd_limit = limit;
	return limit;
}

unsigned pending_per_ip_limit(const struct transport_shared *sh, unsigned want)
{
	if (want <= sh->pending_cap)
		return want;
	log_warnx("event=max_pending_per_ip_lowered max_pending_per_ip=%u effective=%u", want,
		  sh->pending_cap);
	return sh->pending_cap;
}

/* Over every loop (the descriptors are the process's): none left for one more of any kind. */
bool transport_fds_full(const struct transport *t)
{
	return atomic_load(&t->sh->sessions) + atomic_load(&t->sh->relay_sockets) +
	       atomic_load(&t->sh->pending) >= t->sh->fd_budget;
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
	/* Only loop 0 listens; the others serve what it hands them (loops.c). */
	info.port = t->index ? CONTEXT_PORT_NO_LISTEN_SERVER : l->port;
	info.protocols = transport_protocols;
	info.alpn = "http/1.1";
	info.retry_and_idle_policy = &no_pings;
	info.keepalive_timeout = (int)t->p.handshake_timeout + 5;
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
		info.ssl_info_event_mask = SSL_CB_EXIT | SSL_CB_HANDSHAKE_DONE;
		info.provided_client_ssl_ctx = t->sh->unused_client_ctx;
	}
	if (!lws_create_vhost(t->ctx, &info)) {
		log_warnx("event=listen_failed address=%s port=%u tls=%d", l->host, l->port, l->tls);
		return -EADDRNOTAVAIL;
	}
	if (!t->index)
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
	info.retry_and_idle_policy = &no_pings;
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

struct lws_vhost *transport_internal_vhost(struct transport *t,
					   const struct lws_protocols *protocols)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.vhost_name = "internal";
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.retry_and_idle_policy = &no_pings;
	return lws_create_vhost(t->ctx, &info);
}

/* Local only: whoever can open the socket file is the operator. */
static int create_ctl_vhost(struct transport *t)
{
	struct lws_context_creation_info info;
	mode_t old;
	bool ok;

	memset(&info, 0, sizeof(info));
	info.vhost_name = "ctl";
	info.iface = t->p.ctl_path;
	info.protocols = t->p.ctl_protocols;
	info.user = t->p.ctl_user;
	info.options = LWS_SERVER_OPTION_UNIX_SOCK | LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG |
		       LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	info.listen_accept_role = "raw-skt";
	info.listen_accept_protocol = t->p.ctl_protocols[0].name;
	unlink(t->p.ctl_path);	/* a socket left by a daemon that died */
	/* No moment when others could connect: created 0700, then 0600. */
	old = umask(077);
	ok = lws_create_vhost(t->ctx, &info) != NULL;
	umask(old);
	if (ok && chmod(t->p.ctl_path, 0600) < 0)
		ok = false;
	if (!ok) {
		log_warnx("event=listen_failed socket=%s", t->p.ctl_path);
		return -EADDRNOTAVAIL;
	}
	log_info("event=listening socket=%s", t->p.ctl_path);
	return 0;
}

int transport_listen(struct transport *t)
{
	int ret;

	for (unsigned i = 0; i < t->p.n_listeners; i++) {
		ret = create_vhost(t, &t->p.listeners[i], i);
		if (ret < 0)
			return ret;
	}
	if (t->p.admin_protocols && (ret = create_admin_vhost(t)) < 0)
		return ret;
	return t->p.ctl_protocols ? create_ctl_vhost(t) : 0;
}
