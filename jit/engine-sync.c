/*
 * The device against what wssd remembers: reconcile at start, the reaper's
 * passes (whose one dump also resyncs the peers added or removed by hand),
 * operator evictions, endpoint moves, the installed-peers table for wssctl.
 */
#include "jit/engine-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "jit/reaper.h"
#include "jit/wgdev.h"

#define HAND_BATCH 256	/* hand-made peers forgotten per pass; the next takes the rest */

void engine_endpoint_set(union engine_endpoint *out, const struct sockaddr *sa)
{
	memset(out, 0, sizeof(*out));
	if (sa && sa->sa_family == AF_INET)
		out->in4 = *(const struct sockaddr_in *)sa;
	else if (sa && sa->sa_family == AF_INET6)
		out->in6 = *(const struct sockaddr_in6 *)sa;
}

bool engine_endpoint_equal(const union engine_endpoint *a, const struct sockaddr *b)
{
	if (a->sa.sa_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = &a->in4, *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = &a->in6, *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

static void forget_installed(struct jit_engine *e, const uint8_t key[WG_KEY_LEN])
{
	if (keymap_remove(&e->installed, key) == 0)
		metric_set(e->m.peers_installed, --e->installed_count);
}

/* The reaper's callbacks: what it removed comes back through JIT. */
static void removed(void *ctx, const uint8_t key[WG_KEY_LEN], enum reaper_reason reason)
{
	struct jit_engine *e = ctx;

	(void)reason;
	forget_installed(e, key);
	if (e->admit)
		admit_set_installed(e->admit, key, false);
}

static bool carried(void *ctx, const uint8_t key[WG_KEY_LEN])
{
	return jit_engine_carried(ctx, key);
}

static int load_row(void *ctx, const struct store_installed *row)
{
	struct jit_engine *e = ctx;
	struct sockaddr_storage ss;
	struct installed_peer *ip;
	int created;

	ip = keymap_upsert(&e->installed, row->public_key, &created);
	if (!ip)
		return -ENOMEM;
	memset(ip, 0, sizeof(*ip));
	ip->installed_at = row->installed_at;
	ip->via = (uint8_t)row->via;
	if (row->endpoint[0] && addr_parse(row->endpoint, &ss, NULL) == 0)
		engine_endpoint_set(&ip->endpoint, (struct sockaddr *)&ss);
	if (created)
		e->installed_count++;
	return 0;
}

/* At start: every key on the device, for admission once it exists. */
static void keep_adopt(void *ctx, const struct wgdev_peer_info *peers, size_t n)
{
	struct jit_engine *e = ctx;

	e->adopt = malloc(n ? n * WG_KEY_LEN : 1);
	if (!e->adopt)
		return;
	for (size_t i = 0; i < n; i++)
		memcpy(e->adopt + i * WG_KEY_LEN, peers[i].public_key, WG_KEY_LEN);
	e->n_adopt = n;
}

/*
 * Reconciles the device with the store: the rows are what wssd installed;
 * those whose peer the device lost (a reboot, `wg set remove`) are dropped
 * by a reaper pass that judges nothing; every peer on the device is
 * forwarded as installed once admission exists.
 */
int engine_reconcile(struct jit_engine *e)
{
	struct reaper_params p = { .grace = INT64_MAX, .removed = removed, .dumped = keep_adopt,
				   .ctx = e };
	struct reaper_result res;
	size_t kept;
	int ret;

	reaper_metrics_register();
	ret = store_installed_foreach(e->o.store, load_row, e);
	if (ret == 0)
		ret = reaper_pass(e->o.dev, e->o.store, &p, time(NULL), &res);
	if (ret == 0 && !e->adopt)
		ret = -ENOMEM;
	metric_set(e->m.peers_installed, e->installed_count);
	if (ret < 0)
		return ret;
	kept = res.installed - res.removed[REAPER_GONE];
	log_info("event=reconciled device_peers=%zu installed_by_wssd=%zu forgotten=%zu "
		 "configured_by_hand=%zu ms=%.1f", res.device_peers, kept, res.removed[REAPER_GONE],
		 res.device_peers - kept, (double)res.total_usec / 1000);
	return 0;
}

int engine_adopt(struct jit_engine *e)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < e->n_adopt; i++)
		ret = admit_set_installed(e->admit, e->adopt + i * WG_KEY_LEN, true);
	free(e->adopt);
	e->adopt = NULL;
	e->n_adopt = 0;
	return ret;
}

struct hand_walk {
	struct jit_engine *e;
	const struct keymap *on_device;
	uint8_t (*keys)[WG_KEY_LEN];
	size_t n;
};

static void find_removed(void *ctx, const uint8_t key[WG_KEY_LEN])
{
	struct hand_walk *w = ctx;

	if (w->n == HAND_BATCH || keymap_get(w->on_device, key) || keymap_get(&w->e->installed, key))
		return;
	memcpy(w->keys[w->n++], key, WG_KEY_LEN);
}

/*
 * A pass's dump: peers configured by hand are forwarded as installed, those
 * added since the last pass adopted, those removed forgotten. wssd's own
 * peers are the reaper's (a row whose peer went is dropped as "gone").
 */
static void resync_by_hand(void *ctx, const struct wgdev_peer_info *peers, size_t n)
{
	struct jit_engine *e = ctx;
	uint8_t keys[HAND_BATCH][WG_KEY_LEN];
	struct keymap on_device;
	struct hand_walk w = { e, &on_device, keys, 0 };
	unsigned added = 0;

	if (keymap_init(&on_device, 0) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *key = peers[i].public_key;

		if (!keymap_upsert(&on_device, key, &(int){ 0 }))
			goto out;
		if (admit_is_installed(e->admit, key) || keymap_get(&e->pending, key))
			continue;
		if (admit_set_installed(e->admit, key, true) < 0)
			goto out;
		added++;
	}
	admit_foreach_installed(e->admit, find_removed, &w);
	for (size_t i = 0; i < w.n; i++)
		admit_set_installed(e->admit, keys[i], false);
	if (added || w.n)
		log_info("event=device_resynced device_peers=%zu added_by_hand=%u removed_by_hand=%zu",
			 n, added, w.n);
out:
	keymap_free(&on_device);
}

static void reap_exclusive(void *ctx)
{
	struct jit_engine *e = ctx;
	struct reaper_params p = {
		.idle_after = e->o.reaper.idle_after,
		.grace = e->o.reaper.grace,
		.carried = carried,
		.removed = removed,
		.dumped = resync_by_hand,
		.ctx = e,
	};
	struct reaper_result r;
	char line[256];
	int ret;

	ret = reaper_pass(e->o.dev, e->o.store, &p, time(NULL), &r);
	if (ret < 0)
		log_warnx("event=reaper_pass_failed err=\"%s\"", strerror(-ret));
	snprintf(line, sizeof(line), "event=reaper_pass device_peers=%zu installed=%zu idle=%zu "
		 "never_handshook=%zu gone=%zu carried=%zu requests=%zu dump_ms=%.1f ms=%.1f",
		 r.device_peers, r.installed, r.removed[REAPER_IDLE],
		 r.removed[REAPER_NEVER_HANDSHOOK], r.removed[REAPER_GONE], r.carried, r.requests,
		 (double)r.dump_usec / 1000, (double)r.total_usec / 1000);
	/* a pass that changed nothing is not news; its cost is worth a debug line */
	if (ret < 0 || r.removed[REAPER_IDLE] || r.removed[REAPER_NEVER_HANDSHOOK] ||
	    r.removed[REAPER_GONE])
		log_info("%s", line);
	else
		log_debug("%s", line);
}

void engine_reap(struct jit_engine *e)
{
	provision_exclusive(e->prov, reap_exclusive, e);
}

struct evict_call {
	struct jit_engine *e;
	const uint8_t *key;
	int ret;
};

static void evict_exclusive(void *ctx)
{
	struct evict_call *c = ctx;
	struct reaper_params p = { .removed = removed, .ctx = c->e };

	c->ret = reaper_evict(c->e->o.dev, c->e->o.store, c->key, REAPER_OPERATOR, &p);
}

/* The reaper's removal, for one key: -EPERM configured by hand, -ENOENT unknown. */
int engine_evict(struct jit_engine *e, const uint8_t key[WG_KEY_LEN])
{
	struct evict_call c = { e, key, 0 };

	provision_exclusive(e->prov, evict_exclusive, &c);
	if (c.ret == -EPERM && !admit_is_installed(e->admit, key))
		return -ENOENT;
	return c.ret;
}

struct move_call {
	struct jit_engine *e;
	const uint8_t *key;
	const struct sockaddr *to;
	const char *to_text;
	uint16_t keepalive;
	int ret;
};

/*
 * The row first, as installs do; then the endpoint with keepalive 0, the
 * keepalive following as after an install (engine-trigger.c): its going
 * from 0 to N makes the device initiate to the new endpoint (PROTOCOL.md
 * §5). A peer the device no longer has is not created again (the next pass
 * drops its row).
 */
static void move_exclusive(void *ctx)
{
	struct move_call *c = ctx;
	struct wgdev_set_peer peer = {
		.flags = WGDEV_PEER_UPDATE_ONLY | WGDEV_PEER_HAS_ENDPOINT | WGDEV_PEER_HAS_KEEPALIVE,
	};
	struct wgdev_set set = { .peers = &peer, .n_peers = 1 };
	struct store_installed row = { .via = STORE_VIA_UDP };

	memcpy(row.public_key, c->key, WG_KEY_LEN);
	snprintf(row.endpoint, sizeof(row.endpoint), "%s", c->to_text);
	row.installed_at = row.last_seen = time(NULL);
	c->ret = store_installed_put(c->e->o.store, &row);
	if (c->ret < 0)
		return;
	memcpy(peer.public_key, c->key, WG_KEY_LEN);
	memcpy(&peer.endpoint, c->to, c->to->sa_family == AF_INET ?
	       sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	c->ret = wgdev_apply(c->e->o.dev, &set);
	if (c->ret == 0)
		store_event_add(c->e->o.store, c->key, "moved", row.endpoint);
}

int engine_move(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], struct installed_peer *ip,
		const struct sockaddr *to)
{
	uint16_t keepalive = ip->keepalive ? ip->keepalive :
			     e->o.provision.role_inversion ? e->o.provision.keepalive : 0;
	char b64[WG_KEY_B64_LEN], from[64], dest[64];
	struct move_call c = { e, key, to, dest, keepalive, 0 };
	struct sockaddr_storage ss = { 0 };

	key_to_base64(b64, key);
	memcpy(&ss, &ip->endpoint, sizeof(ip->endpoint));
	endpoint_format(&ss, from, sizeof(from));
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, to, to->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6));
	endpoint_format(&ss, dest, sizeof(dest));
	provision_exclusive(e->prov, move_exclusive, &c);
	if (c.ret < 0) {
		metric_inc(e->m.moves[MOVE_FAILED]);
		log_warnx("event=peer_move_failed key=%s to=%s err=\"%s\"", b64, dest,
			  strerror(-c.ret));
		return c.ret;
	}
	if (keepalive)
		engine_trigger(e, key, keepalive);
	engine_endpoint_set(&ip->endpoint, to);
	ip->keepalive = keepalive;
	ip->via = STORE_VIA_UDP;
	ip->installed_at = time(NULL);
	ip->moved_at = clock_usec();
	metric_inc(e->m.moves[MOVE_DONE]);
	log_info("event=peer_moved key=%s from=%s to=%s keepalive=%u", b64, from[0] ? from : "-",
		 dest, keepalive);
	return 0;
}

struct device_view {
	struct wgdev_peer_info *peers;
	size_t n;
	struct keymap index;	/* key -> size_t, into peers */
};

static int device_read(struct jit_engine *e, struct device_view *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	ret = wgdev_list_peers(e->o.dev, &v->peers, &v->n);
	if (ret < 0)
		return ret;
	ret = keymap_init(&v->index, sizeof(size_t));
	for (size_t i = 0; ret == 0 && i < v->n; i++) {
		size_t *slot = keymap_upsert(&v->index, v->peers[i].public_key, &(int){ 0 });

		if (!slot)
			ret = -ENOMEM;
		else
			*slot = i;
	}
	return ret;
}

static void device_free(struct device_view *v)
{
	wgdev_peers_free(v->peers, v->n);
	keymap_free(&v->index);
}

static const struct wgdev_peer_info *device_peer(const struct device_view *v,
						 const uint8_t key[WG_KEY_LEN])
{
	const size_t *i = keymap_get(&v->index, key);

	return i ? &v->peers[*i] : NULL;
}

struct rows {
	struct store_installed *row;
	size_t n, cap;
};

static int collect_row(void *ctx, const struct store_installed *row)
{
	struct rows *r = ctx;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct store_installed *grown = realloc(r->row, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		r->row = grown;
		r->cap = cap;
	}
	r->row[r->n++] = *row;
	return 0;
}

static void put_json_row(FILE *f, bool first, const char *b64, const struct store_installed *r,
			 const struct wgdev_peer_info *p, int64_t now, bool carried)
{
	fprintf(f, "%s\n  {\"public_key\": \"%s\", \"endpoint\": \"%s\", \"via\": \"%s\", "
		"\"installed_at\": %lld, \"age\": %lld, \"last_handshake\": %lld, "
		"\"carried\": %s}", first ? "" : ",", b64, r->endpoint,
		r->via == STORE_VIA_UDP ? "udp" : "ws", (long long)r->installed_at,
		(long long)(now - r->installed_at),
		(long long)(p ? p->last_handshake_sec : 0), carried ? "true" : "false");
}

static void put_text_row(FILE *f, const char *b64, const struct store_installed *r,
			 const struct wgdev_peer_info *p, int64_t now, bool carried)
{
	char hs[32] = "never";

	if (p && p->last_handshake_sec)
		snprintf(hs, sizeof(hs), "%llds ago", (long long)(now - p->last_handshake_sec));
	fprintf(f, "%-44s  %-47s %-3s  %7llds  %-12s %s\n", b64, r->endpoint[0] ? r->endpoint : "-",
		r->via == STORE_VIA_UDP ? "udp" : "ws", (long long)(now - r->installed_at), hs,
		carried ? "yes" : "no");
}

char *engine_installed_text(struct jit_engine *e, bool json, int *status)
{
	struct rows rows = { 0 };
	struct device_view v;
	int64_t now = time(NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	*status = device_read(e, &v);
	if (*status == 0)
		*status = store_installed_foreach(e->o.store, collect_row, &rows);
	f = *status == 0 ? open_memstream(&text, &len) : NULL;
	if (!f) {
		if (*status == 0)
			*status = -ENOMEM;
		goto out;
	}
	if (json)
		fputs("[", f);
	else
		fprintf(f, "%-44s  %-47s %-3s  %8s  %-12s %s\n", "PUBLIC KEY", "ENDPOINT", "VIA",
			"AGE", "HANDSHAKE", "SESSION");
	for (size_t i = 0; i < rows.n; i++) {
		const struct store_installed *r = &rows.row[i];
		char b64[WG_KEY_B64_LEN];
		bool carried = jit_engine_carried(e, r->public_key);

		key_to_base64(b64, r->public_key);
		if (json)
			put_json_row(f, i == 0, b64, r, device_peer(&v, r->public_key), now, carried);
		else
			put_text_row(f, b64, r, device_peer(&v, r->public_key), now, carried);
	}
	if (json)
		fputs(rows.n ? "\n]\n" : "]\n", f);
	fclose(f);
out:
	free(rows.row);
	device_free(&v);
	return text;
}
