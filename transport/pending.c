/*
 * Connections before their upgrade: per-address and total bounds over every
 * loop, the handshake deadline, and a log line and a counter for every one
 * that ends before it is a session.
 */
#include "transport/internal.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct log_limit lim_refused, lim_evicted, lim_timeout, lim_closed;

const char *pending_stage_name(enum pending_stage stage)
{
	static const char *const names[] = { "tls", "http", "magic" };

	return names[stage];
}

void pending_metrics_register(struct pending_table *pt)
{
	static const char timeouts[] =
		"Connections closed at websocket.handshake_timeout, by what they had not finished";

	pt->gauge = metric_gauge("wssd_pending_connections", NULL,
				 "Connections accepted and not yet upgraded");
	pt->evicted = metric_counter("wssd_pending_evicted_total", NULL,
				     "Pending connections closed to admit one from an address "
				     "with none (websocket.max_pending reached)");
	pt->closed = metric_counter("wssd_pending_closed_total", NULL,
				    "Connections that ended before their upgrade on their own "
				    "(client gone, TLS or HTTP error)");
	pt->refused_per_addr = metric_counter("wssd_sessions_refused_total",
					      "reason=\"max_pending_per_ip\"", NULL);
	pt->refused_full = metric_counter("wssd_sessions_refused_total", "reason=\"max_pending\"",
					  NULL);
	pt->timeouts[PENDING_TLS] = metric_counter("wssd_handshake_timeouts_total",
						   "stage=\"tls\"", timeouts);
	pt->timeouts[PENDING_HTTP] = metric_counter("wssd_handshake_timeouts_total",
						    "stage=\"http\"", NULL);
	pt->timeouts[PENDING_MAGIC] = metric_counter("wssd_handshake_timeouts_total",
						     "stage=\"magic\"", NULL);
}

/* Takes p out of the counts; it stays allocated until lws destroys its wsi. */
static void unlist(struct pending *p)
{
	struct transport *t = p->t;
	struct pending_table *pt = &t->pending;

	if (!p->listed)
		return;
	p->listed = false;
	if (p->older)
		p->older->newer = p->newer;
	else
		pt->oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else
		pt->newest = p->older;
	p->older = p->newer = NULL;
	ip_table_del(&t->sh->pending_ipt, p->client);
	metric_set(pt->gauge, atomic_fetch_sub(&t->sh->pending, 1) - 1);
	trim_shrank(t);
}

static void kill_now(lws_sorted_usec_list_t *sul)
{
	struct pending *p = lws_container_of(sul, struct pending, sul);

	lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

static void deadline_passed(lws_sorted_usec_list_t *sul)
{
	struct pending *p = lws_container_of(sul, struct pending, sul);
	struct transport *t = p->t;

	unlist(p);
	metric_inc(t->pending.timeouts[p->stage]);
	log_limited(&lim_timeout, LOG_LEVEL_INFO,
		    "event=handshake_timeout remote=%s stage=%s handshake_timeout=%u", p->remote,
		    pending_stage_name(p->stage), t->p.handshake_timeout);
	kill_now(sul);
}

/* How far from the oldest an address with several pending is looked for. */
#define EVICT_SCAN 64

static void evict_one(struct transport *t)
{
	struct pending *p = t->pending.oldest;

	for (unsigned n = 0; p && n < EVICT_SCAN; p = p->newer, n++)
		if (ip_table_count(&t->sh->pending_ipt, p->client) > 1)
			break;
	if (!p)
		p = t->pending.oldest;
	if (!p)
		return;		/* this loop has none: the others' stay, one over */
	unlist(p);
	metric_inc(t->pending.evicted);
	log_limited(&lim_evicted, LOG_LEVEL_WARN,
		    "event=connection_evicted remote=%s stage=%s age_ms=%lld max_pending=%u",
		    p->remote, pending_stage_name(p->stage),
		    (long long)(clock_usec() - p->accepted) / 1000, t->sh->pending_cap);
	/* not from inside lws's handling of another connection: next turn of the loop */
	lws_sul_schedule(t->ctx, 0, &p->sul, kill_now, 1);
}

/* 0, or why a connection from client (with n pending there) may not be pending too. */
static int bounds(struct transport *t, const char *remote, const char *client, unsigned n)
{
	struct pending_table *pt = &t->pending;

	if (n >= t->p.max_pending_per_ip) {
		metric_inc(pt->refused_per_addr);
		log_limited(&lim_refused, LOG_LEVEL_WARN,
			    "event=session_refused remote=%s client=%s reason=max_pending_per_ip "
			    "limit=%u", remote, client, t->p.max_pending_per_ip);
		return -EDQUOT;
	}
	if (n && atomic_load(&t->sh->pending) >= t->sh->pending_cap) {
		metric_inc(pt->refused_full);
		log_limited(&lim_refused, LOG_LEVEL_WARN,
			    "event=session_refused remote=%s client=%s reason=max_pending pending=%u "
			    "limit=%u", remote, client, n, t->sh->pending_cap);
		return -EDQUOT;
	}
	return 0;
}

/*
 * A connection admitted that lws closed before it had a wsi to start (a
 * TLS set-up that failed at once on bytes already there): on loop 0 the
 * one admitted last, seen at the next accept or when its wsi goes.
 */
static void report_unstarted(struct pending_table *pt)
{
	if (!pt->admitted)
		return;
	pt->admitted = false;
	metric_inc(pt->closed);
	log_limited(&lim_closed, LOG_LEVEL_INFO,
		    "event=connection_closed remote=%s stage=accept reason=before_upgrade age_ms=0",
		    pt->admitted_remote);
}

int pending_admit(struct transport *t, const struct sockaddr *peer)
{
	struct pending_table *pt = &t->pending;
	uint8_t key[ADDR_KEY_LEN];
	char remote[48], client[ADDR_KEY_TEXT];

	report_unstarted(pt);
	if (addr_client_key(peer, key, client, sizeof(client)) < 0)
		return 1;
	addr_host_text(peer, remote, sizeof(remote));
	if (t->stopping) {
		metric_inc(t->m.refused_shutdown);
		log_limited(&lim_refused, LOG_LEVEL_INFO,
			    "event=session_refused remote=%s reason=shutting_down", remote);
		return 1;
	}
	if (bounds(t, remote, client, ip_table_count(&t->sh->pending_ipt, client)) < 0)
		return 1;
	if (transport_fds_full(t)) {
		metric_inc(t->m.refused_fds);
		log_limited(&lim_refused, LOG_LEVEL_WARN,
			    "event=session_refused remote=%s reason=descriptors sessions=%u "
			    "relay_sockets=%u pending=%u limit=%u", remote,
			    atomic_load(&t->sh->sessions), atomic_load(&t->sh->relay_sockets),
			    atomic_load(&t->sh->pending), t->sh->fd_budget);
		return 1;
	}
	pt->admitted = true;
	snprintf(pt->admitted_remote, sizeof(pt->admitted_remote), "%s", remote);
	return 0;
}

void pending_handed_over(struct transport *t)
{
	t->pending.admitted = false;
}

/* What pending_start had: lws closes the connection, and its wsi's end is no news. */
static int not_started(struct pending_table *pt, struct pending *p, int ret)
{
	if (ret != -EDQUOT) {
		metric_inc(pt->closed);
		log_limited(&lim_closed, LOG_LEVEL_INFO,
			    "event=connection_closed remote=%s stage=accept reason=before_upgrade "
			    "age_ms=0", p && p->remote[0] ? p->remote : "unknown");
	}
	free(p);
	pt->refused_at_start++;
	return ret;
}

int pending_start(struct transport *t, struct lws *wsi, bool tls)
{
	struct pending_table *pt = &t->pending;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint8_t key[ADDR_KEY_LEN];
	struct pending *p;
	bool full;
	int ret;

	pt->admitted = false;
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &len) < 0)
		return not_started(pt, NULL, -errno);
	p = calloc(1, sizeof(*p));
	if (!p)
		return not_started(pt, NULL, -ENOMEM);
	addr_host_text((struct sockaddr *)&ss, p->remote, sizeof(p->remote));
	if (addr_client_key((struct sockaddr *)&ss, key, p->client, sizeof(p->client)) < 0)
		return not_started(pt, p, -EAFNOSUPPORT);
	/* What loop 0 saw may have changed: handed-over connections are counted here. */
	full = atomic_load(&t->sh->pending) >= t->sh->pending_cap;
	ret = bounds(t, p->remote, p->client, ip_table_count(&t->sh->pending_ipt, p->client));
	/* another loop's may have come between: the add is what holds the bound */
	if (ret == 0 && ip_table_add(&t->sh->pending_ipt, p->client, t->p.max_pending_per_ip) < 0)
		ret = bounds(t, p->remote, p->client, t->p.max_pending_per_ip);
	if (ret < 0)
		return not_started(pt, p, ret);
	p->t = t;
	p->wsi = wsi;
	p->stage = tls ? PENDING_TLS : PENDING_HTTP;
	p->accepted = clock_usec();
	p->deadline = p->accepted + (int64_t)t->p.handshake_timeout * 1000000;
	p->listed = true;
	if (full)
		evict_one(t);
	p->older = pt->newest;
	if (pt->newest)
		pt->newest->newer = p;
	else
		pt->oldest = p;
	pt->newest = p;
	metric_set(pt->gauge, atomic_fetch_add(&t->sh->pending, 1) + 1);
	trim_grew(t);
	lws_set_opaque_user_data(wsi, p);
	lws_sul_schedule(t->ctx, 0, &p->sul, deadline_passed,
			 (lws_usec_t)t->p.handshake_timeout * LWS_US_PER_SEC);
	return 0;
}

void pending_tls_done(struct lws *wsi)
{
	struct pending *p = lws_get_opaque_user_data(wsi);

	if (p && p->stage == PENDING_TLS)
		p->stage = PENDING_HTTP;
}

void pending_refused(struct lws *wsi)
{
	struct pending *p = lws_get_opaque_user_data(wsi);

	if (p)
		unlist(p);
}

void pending_upgrading(struct lws *wsi)
{
	struct pending *p = lws_get_opaque_user_data(wsi);

	if (p && p->listed) {
		unlist(p);
		p->upgrading = true;
	}
}

static void forget(struct lws *wsi, struct pending *p)
{
	lws_sul_cancel(&p->sul);
	lws_set_opaque_user_data(wsi, NULL);
	free(p);
}

int pending_upgraded(struct lws *wsi, int64_t *deadline)
{
	struct pending *p = lws_get_opaque_user_data(wsi);
	bool ended;

	if (!p)
		return -ETIMEDOUT;
	ended = !p->listed && !p->upgrading;
	*deadline = p->deadline;
	unlist(p);
	forget(wsi, p);
	return ended ? -ETIMEDOUT : 0;
}

void pending_destroyed(struct lws *wsi, bool pss)
{
	struct pending *p = lws_get_opaque_user_data(wsi);

	if (!p && !pss) {
		struct transport *t = lws_context_user(lws_get_context(wsi));

		if (t->pending.refused_at_start) {
			t->pending.refused_at_start--;	/* counted as refused */
			return;
		}
		if (t->index) {
			/* another loop only serves what was handed over: one of those */
			snprintf(t->pending.admitted_remote, sizeof(t->pending.admitted_remote),
				 "unknown");
			t->pending.admitted = true;
		}
		report_unstarted(&t->pending);
	}
	if (!p)
		return;
	if (p->listed || p->upgrading) {
		unlist(p);
		metric_inc(p->t->pending.closed);
		log_limited(&lim_closed, LOG_LEVEL_INFO,
			    "event=connection_closed remote=%s stage=%s reason=%s age_ms=%lld",
			    p->remote, pending_stage_name(p->stage),
			    p->upgrading ? "upgrade_failed" : "before_upgrade",
			    (long long)(clock_usec() - p->accepted) / 1000);
	}
	forget(wsi, p);
}
