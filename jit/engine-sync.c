/*
 * The device against what wssd remembers: reconcile at start, resync on a
 * timer (peers added or removed by hand meanwhile), operator evictions, the
 * installed-peers table for wssctl.
 */
#include "jit/engine-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "jit/wgdev.h"

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

static void forget_installed(struct jit_engine *e, const uint8_t key[WG_KEY_LEN])
{
	if (keymap_remove(&e->installed, key) == 0)
		metric_set(e->m.peers_installed, --e->installed_count);
}

/* The peers that wssd installed and the device no longer has are forgotten. */
static int sync_rows(struct jit_engine *e, const struct device_view *v, bool at_start,
		     unsigned *adopted, unsigned *gone)
{
	struct rows rows = { 0 };
	int ret;

	ret = store_installed_foreach(e->o.store, collect_row, &rows);
	for (size_t i = 0; ret == 0 && i < rows.n; i++) {
		const uint8_t *key = rows.row[i].public_key;
		char b64[WG_KEY_B64_LEN];

		if (device_peer(v, key)) {
			struct installed_peer *ip;
			int created;

			if (!at_start)
				continue;
			ip = keymap_upsert(&e->installed, key, &created);
			if (!ip) {
				ret = -ENOMEM;
				break;
			}
			ip->installed_at = rows.row[i].installed_at;
			ip->via = (uint8_t)rows.row[i].via;
			if (created)
				e->installed_count++;
			(*adopted)++;
			continue;
		}
		key_to_base64(b64, key);
		log_info("event=peer_gone key=%s reason=not_on_device", b64);
		store_installed_remove(e->o.store, key);
		store_event_add(e->o.store, key, "gone", "no longer on the device");
		metric_inc(e->m.forgotten);
		forget_installed(e, key);
		if (e->admit)
			admit_set_installed(e->admit, key, false);
		(*gone)++;
	}
	free(rows.row);
	metric_set(e->m.peers_installed, e->installed_count);
	return ret;
}

struct stale_walk {
	const struct device_view *v;
	uint8_t (*keys)[WG_KEY_LEN];
	size_t n, cap;
};

static void find_removed(void *ctx, const uint8_t key[WG_KEY_LEN])
{
	struct stale_walk *w = ctx;

	if (device_peer(w->v, key) || w->n == w->cap)
		return;
	memcpy(w->keys[w->n++], key, WG_KEY_LEN);
}

/*
 * Peers configured by hand are forwarded as installed: those added since
 * the last sync are adopted, those removed are forgotten (the next sync
 * catches what one pass leaves).
 */
static int sync_admit(struct jit_engine *e, const struct device_view *v, unsigned *hand)
{
	uint8_t keys[256][WG_KEY_LEN];
	struct stale_walk w = { v, keys, 0, 256 };
	int ret;

	for (size_t i = 0; i < v->n; i++) {
		if (admit_is_installed(e->admit, v->peers[i].public_key) ||
		    keymap_get(&e->pending, v->peers[i].public_key))
			continue;
		ret = admit_set_installed(e->admit, v->peers[i].public_key, true);
		if (ret < 0)
			return ret;
		(*hand)++;
	}
	admit_foreach_installed(e->admit, find_removed, &w);
	for (size_t i = 0; i < w.n; i++)
		admit_set_installed(e->admit, keys[i], false);
	*hand += (unsigned)w.n;
	return 0;
}

int engine_sync(struct jit_engine *e, bool at_start)
{
	struct device_view v;
	unsigned adopted = 0, gone = 0, hand = 0;
	int ret;

	ret = device_read(e, &v);
	if (ret == 0)
		ret = sync_rows(e, &v, at_start, &adopted, &gone);
	if (ret == 0 && at_start) {
		e->adopt = malloc(v.n ? v.n * WG_KEY_LEN : 1);
		if (!e->adopt)
			ret = -ENOMEM;
		for (size_t i = 0; ret == 0 && i < v.n; i++)
			memcpy(e->adopt + i * WG_KEY_LEN, v.peers[i].public_key, WG_KEY_LEN);
		e->n_adopt = v.n;
		log_info("event=reconciled device_peers=%zu installed_by_wssd=%u forgotten=%u "
			 "configured_by_hand=%zu", v.n, adopted, gone, v.n - adopted);
	} else if (ret == 0) {
		ret = sync_admit(e, &v, &hand);
		if (gone || hand)
			log_info("event=device_resynced device_peers=%zu forgotten=%u "
				 "changed_by_hand=%u", v.n, gone, hand);
	}
	if (ret < 0 && !at_start)
		log_warnx("event=device_resync_failed err=\"%s\"", strerror(-ret));
	device_free(&v);
	return ret;
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

static int evict(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], const char *reason)
{
	char b64[WG_KEY_B64_LEN];
	int ret;

	key_to_base64(b64, key);
	if (!keymap_get(&e->installed, key))
		return admit_is_installed(e->admit, key) ? -EPERM : -ENOENT;
	ret = wgdev_remove_peer(e->o.dev, key);
	if (ret < 0 && ret != -ENOENT) {
		log_warnx("event=evict_failed key=%s err=\"%s\"", b64, strerror(-ret));
		return ret;
	}
	store_installed_remove(e->o.store, key);
	store_event_add(e->o.store, key, "evicted", reason);
	forget_installed(e, key);
	admit_set_installed(e->admit, key, false);
	metric_inc(e->m.evictions_operator);
	log_info("event=peer_evicted key=%s reason=%s carried=%s", b64, reason,
		 jit_engine_carried(e, key) ? "yes" : "no");
	return 0;
}

struct evict_call {
	struct jit_engine *e;
	const uint8_t *key;
	const char *reason;
	int ret;
};

static void evict_exclusive(void *ctx)
{
	struct evict_call *c = ctx;

	c->ret = evict(c->e, c->key, c->reason);
}

int engine_evict(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], const char *reason)
{
	struct evict_call c = { e, key, reason, 0 };

	provision_exclusive(e->prov, evict_exclusive, &c);
	return c.ret;
}

static void sync_exclusive(void *ctx)
{
	engine_sync(ctx, false);
}

void engine_resync(struct jit_engine *e)
{
	provision_exclusive(e->prov, sync_exclusive, e);
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
