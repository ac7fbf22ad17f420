/*
 * The engine's JIT work: unwrap, admission, the sessions that wait for a
 * key's job, and what the job's result means for them.
 */
#include "jit/engine-impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"

enum { SRC_MEMORY, SRC_CACHE, SRC_CONTROL, SRC_REGISTRY };
enum { RES_FOUND, RES_NOT_FOUND, RES_LIMITED, RES_UNAVAILABLE };

int engine_state_init(struct jit_engine *e)
{
	int ret = keymap_init(&e->pending, sizeof(struct pending));

	if (ret < 0)
		return ret;
	return keymap_init(&e->installed, sizeof(struct installed_peer));
}

static void free_waiters(void *ctx, const uint8_t key[WG_KEY_LEN], void *value)
{
	struct pending *p = value;

	(void)ctx;
	(void)key;
	while (p->waiters) {
		struct waiter *next = p->waiters->next;

		free(p->waiters);
		p->waiters = next;
	}
}

void engine_state_free(struct jit_engine *e)
{
	if (e->pending.slots)
		keymap_foreach(&e->pending, free_waiters, NULL);
	keymap_free(&e->pending);
	keymap_free(&e->installed);
	free(e->adopt);
	e->adopt = NULL;
}

void engine_metrics_register(struct jit_engine *e)
{
	static const char *const sources[] = { "memory", "cache", "control_plane", "registry" };
	static const char *const results[] = { "found", "not_found", "rate_limited", "unavailable" };
	static const char *const codes[] = { "200", "404", "429", "error" };
	static const double seconds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					  0.5, 1, 2.5, 5 };
	static const char lookups[] = "Peer look-ups, by where they were answered and how";
	struct engine_metrics *m = &e->m;
	char labels[96];

	for (int i = NOISE_ERR_LENGTH; i < NOISE_RESULT_COUNT; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", noise_result_name(i));
		m->unwrap_failures[i] = metric_counter("wssd_unwrap_failures_total", labels,
			"Initiations that did not unwrap, by reason");
	}
	m->mem_installed = metric_counter("wssd_jit_lookups_total",
					  "source=\"memory\",result=\"installed\"", lookups);
	m->mem_pending = metric_counter("wssd_jit_lookups_total",
					"source=\"memory\",result=\"pending\"", lookups);
	m->mem_replay = metric_counter("wssd_jit_lookups_total",
				       "source=\"memory\",result=\"replay\"", lookups);
	for (int s = SRC_CACHE; s <= SRC_REGISTRY; s++)
		for (int r = RES_FOUND; r <= RES_UNAVAILABLE; r++) {
			snprintf(labels, sizeof(labels), "source=\"%s\",result=\"%s\"", sources[s],
				 results[r]);
			m->lookups[s][r] = metric_counter("wssd_jit_lookups_total", labels, lookups);
		}
	for (int c = 0; c < 4; c++) {
		snprintf(labels, sizeof(labels), "code=\"%s\"", codes[c]);
		m->cp_requests[c] = metric_counter("wssd_control_plane_requests_total", labels,
			"Control-plane HTTP requests, by answer");
	}
	m->cp_seconds = metric_histogram("wssd_control_plane_seconds",
					 "Control-plane request duration", seconds, 12);
	m->provision_seconds = metric_histogram("wssd_provision_seconds",
		"From an initiation's job submitted to its peer installed", seconds, 12);
	m->refused_busy = metric_counter("wssd_jit_refused_total", "reason=\"job_queue_full\"",
					 "Initiations refused before a look-up, by reason");
	m->jobs_expired = metric_counter("wssd_jit_refused_total", "reason=\"job_timeout\"", NULL);
	m->installs = metric_counter("wssd_installs_total", NULL, "Peers installed by JIT");
	m->install_failures = metric_counter("wssd_install_failures_total", NULL,
					     "Peers the device refused");
	m->peers_installed = metric_gauge("wssd_peers_installed", NULL,
					  "Peers on the device that wssd installed");
	for (int r = 0; r < MOVE_RESULTS; r++) {
		static const char *const names[] = { "moved", "too_soon", "failed" };

		snprintf(labels, sizeof(labels), "result=\"%s\"", names[r]);
		m->moves[r] = metric_counter("wssd_peer_moves_total", labels,
			"Captured initiations from a new endpoint for an installed peer, by what "
			"came of them");
	}
}

static void park(struct jit_engine *e, struct jit_port *port, const struct jit_request *r,
		 const uint8_t key[WG_KEY_LEN])
{
	struct waiter *w = malloc(sizeof(*w));
	struct pending *p;
	int created;

	p = keymap_upsert(&e->pending, key, &created);
	if (!w || !p) {
		free(w);
		answer_request(port, r, false, key, "no_memory");
		return;
	}
	if (created)
		p->since = clock_usec();
	w->port = port;
	w->req = *r;
	w->next = p->waiters;
	p->waiters = w;
}

/* Answers everyone waiting for key, and forgets that it was pending. */
static void release_waiters(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], bool forward,
			    const char *reason)
{
	struct pending *p = keymap_get(&e->pending, key);
	struct waiter *w;

	if (!p)
		return;
	w = p->waiters;
	keymap_remove(&e->pending, key);
	while (w) {
		struct waiter *next = w->next;

		answer_request(w->port, &w->req, forward, key, reason);
		free(w);
		w = next;
	}
}

/*
 * A captured initiation, newer than the last one accepted for its key (a
 * replay never moves a peer), for a peer wssd installed (one configured by
 * hand is not wssd's to change): from another endpoint, the client moved.
 * The device would initiate to the new one at most once per REKEY_TIMEOUT
 * anyway, so moves of one key are that far apart.
 */
#define MOVE_INTERVAL_US (5 * 1000000)

static void moved(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], const struct sockaddr *ep)
{
	struct installed_peer *ip = keymap_get(&e->installed, key);

	if (!ip || engine_endpoint_equal(&ip->endpoint, ep))
		return;
	if (ip->moved_at && clock_usec() - ip->moved_at < MOVE_INTERVAL_US) {
		metric_inc(e->m.moves[MOVE_TOO_SOON]);
		return;
	}
	engine_move(e, key, ip, ep);
}

static void initiation(struct jit_engine *e, struct jit_port *port, const struct jit_request *r)
{
	uint8_t key[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	const struct sockaddr *ep = r->endpoint.ss_family ? (const struct sockaddr *)&r->endpoint
							  : NULL;
	const char *reason;
	enum noise_result nr;

	nr = noise_unwrap(e->noise, r->msg, sizeof(r->msg), key, ts);
	if (nr != NOISE_OK) {
		metric_inc(e->m.unwrap_failures[nr]);
		answer_request(port, r, false, NULL, noise_result_name(nr));
		return;
	}
	switch (admit_unwrapped(e->admit, key, ts, ep, r->via, &reason)) {
	case ADMIT_FORWARD:
		metric_inc(!strcmp(reason, "replay") ? e->m.mem_replay : e->m.mem_installed);
		if (r->via == STORE_VIA_UDP && ep && !strcmp(reason, "installed"))
			moved(e, key, ep);
		answer_request(port, r, true, key, reason);
		return;
	case ADMIT_HOLD:
		if (!strcmp(reason, "pending"))
			metric_inc(e->m.mem_pending);
		park(e, port, r, key);
		return;
	case ADMIT_DROP:
		if (!strcmp(reason, "replay"))
			metric_inc(e->m.mem_replay);
		else if (!strcmp(reason, "busy"))
			metric_inc(e->m.refused_busy);
		answer_request(port, r, false, key, reason);
		return;
	}
}

void engine_request(struct jit_engine *e, struct jit_port *p, const struct jit_request *r)
{
	struct jit_answer a = { .kind = r->kind, .token = r->token, .hold = r->hold };

	switch (r->kind) {
	case JIT_INITIATION:
		initiation(e, p, r);
		return;
	case JIT_EVICT:
		a.status = engine_evict(e, r->key);
		a.reason = a.status == 0 ? "evicted" : a.status == -EPERM ? "not_installed_by_wssd"
						     : "failed";
		break;
	case JIT_INSTALLED:
		a.text = engine_installed_text(e, r->json, &a.status);
		break;
	}
	port_answer(p, &a);
}

static void count_lookup(struct jit_engine *e, const struct provision_result *r)
{
	int src, res;

	if (r->source == LOOKUP_SOURCE_CACHE || r->source == LOOKUP_SOURCE_STALE)
		src = SRC_CACHE;
	else
		src = control_is_local(e->o.provision.lookup.control) ? SRC_REGISTRY : SRC_CONTROL;
	switch (r->outcome) {
	case PROVISION_INSTALLED:
	case PROVISION_FAILED:
		res = RES_FOUND;
		break;
	case PROVISION_NOT_FOUND:
		res = RES_NOT_FOUND;
		break;
	case PROVISION_RATE_LIMITED:
		res = RES_LIMITED;
		break;
	default:
		res = RES_UNAVAILABLE;
		break;
	}
	metric_inc(e->m.lookups[src][res]);
	if (r->control_called && !control_is_local(e->o.provision.lookup.control)) {
		metric_inc(e->m.cp_requests[r->control_status]);
		metric_observe(e->m.cp_seconds, r->control_seconds);
	}
}

/*
 * Anyone can make refused keys, up to jit.lookups_per_second of them: one
 * limit per outcome, so a flood of unknown keys does not hide a control
 * plane that is down.
 */
static struct log_limit lim_refused[PROVISION_OUTCOME_COUNT];

static void result(void *ctx, const struct provision_result *r)
{
	struct jit_engine *e = ctx;
	bool installed = r->outcome == PROVISION_INSTALLED;
	char b64[WG_KEY_B64_LEN];

	admit_job_done(e->admit, r);
	count_lookup(e, r);
	key_to_base64(b64, r->key);
	if (installed) {
		struct installed_peer *ip;
		int created;

		ip = keymap_upsert(&e->installed, r->key, &created);
		if (ip) {
			ip->installed_at = time(NULL);
			ip->moved_at = clock_usec();
			engine_endpoint_set(&ip->endpoint, (const struct sockaddr *)&r->endpoint);
			ip->keepalive = r->keepalive;
			ip->via = (uint8_t)r->via;
			if (created)
				metric_set(e->m.peers_installed, ++e->installed_count);
		}
		if (r->keepalive)
			engine_trigger(e, r->key, r->keepalive);
		metric_inc(e->m.installs);
		metric_observe(e->m.provision_seconds, (double)r->latency_us / 1e6);
		log_info("event=peer_installed key=%s latency_ms=%.1f joined=%u %s", b64,
			 (double)r->latency_us / 1000, r->joined, r->detail);
	} else {
		if (r->outcome == PROVISION_FAILED)
			metric_inc(e->m.install_failures);
		log_limited(&lim_refused[r->outcome], LOG_LEVEL_INFO,
			    "event=peer_refused key=%s outcome=%s latency_ms=%.1f detail=\"%s\"", b64,
			    provision_outcome_name(r->outcome), (double)r->latency_us / 1000,
			    r->detail);
	}
	release_waiters(e, r->key, installed, provision_outcome_name(r->outcome));
}

void engine_results(struct jit_engine *e)
{
	provision_drain(e->prov, result, e);
}

struct expiry {
	int64_t cutoff;
	uint8_t (*keys)[WG_KEY_LEN];
	size_t n, cap;
};

static void find_expired(void *ctx, const uint8_t key[WG_KEY_LEN], void *value)
{
	struct expiry *x = ctx;
	const struct pending *p = value;

	if (p->since > x->cutoff || x->n == x->cap)
		return;
	memcpy(x->keys[x->n++], key, WG_KEY_LEN);
}

/*
 * A job that has not reported back within pending_timeout (it waits on a
 * hung device or store) must not keep its key pending: its sessions are
 * answered and the next initiation starts over.
 */
void engine_expire_pending(struct jit_engine *e, int64_t now)
{
	uint8_t keys[64][WG_KEY_LEN];
	struct expiry x = { now - (int64_t)e->o.pending_timeout * 1000000, keys, 0, 64 };

	if (!e->pending.count)
		return;
	keymap_foreach(&e->pending, find_expired, &x);
	for (size_t i = 0; i < x.n; i++) {
		char b64[WG_KEY_B64_LEN];

		key_to_base64(b64, keys[i]);
		log_warnx("event=jit_job_timeout key=%s pending_timeout=%u", b64,
			  e->o.pending_timeout);
		metric_inc(e->m.jobs_expired);
		admit_expire(e->admit, keys[i]);
		release_waiters(e, keys[i], false, "job_timeout");
	}
}
