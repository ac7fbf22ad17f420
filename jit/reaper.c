#include "jit/reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "jit/keymap.h"
#include "jit/store.h"
#include "jit/wgdev.h"

static const char *const reason_names[REAPER_REASON_COUNT] = {
	[REAPER_IDLE] = "idle",
	[REAPER_NEVER_HANDSHOOK] = "never_handshook",
	[REAPER_OPERATOR] = "operator",
	[REAPER_GONE] = "gone",
};

const char *reaper_reason_name(enum reaper_reason reason)
{
	return reason < REAPER_REASON_COUNT ? reason_names[reason] : "unknown";
}

static struct metric *m_evictions[REAPER_REASON_COUNT];
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void register_once(void)
{
	static const char help[] = "Peers removed, by reason";

	for (int r = 0; r < REAPER_REASON_COUNT; r++) {
		char labels[64];

		snprintf(labels, sizeof(labels), "reason=\"%s\"", reason_names[r]);
		m_evictions[r] = metric_counter("wssd_evictions_total", labels, help);
	}
}

void reaper_metrics_register(void)
{
	pthread_once(&metrics_once, register_once);
}

/* An installed row as the pass needs it. */
struct row {
	uint8_t key[WG_KEY_LEN];
	int64_t installed_at;
	int64_t last_handshake;		/* from the dump; 0: never */
	enum reaper_reason reason;
	bool on_device;
};

struct pass {
	struct row *rows;
	size_t n, cap;
	struct keymap index;		/* key -> size_t into rows */
};

static int add_row(void *ctx, const struct store_installed *inst)
{
	struct pass *ps = ctx;
	size_t *slot;
	int created;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 256;
		struct row *rows = realloc(ps->rows, cap * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		ps->rows = rows;
		ps->cap = cap;
	}
	slot = keymap_upsert(&ps->index, inst->public_key, &created);
	if (!slot)
		return -ENOMEM;
	*slot = ps->n;
	memset(&ps->rows[ps->n], 0, sizeof(ps->rows[ps->n]));
	memcpy(ps->rows[ps->n].key, inst->public_key, WG_KEY_LEN);
	ps->rows[ps->n].installed_at = inst->installed_at;
	ps->n++;
	return 0;
}

#define RECORD_CHUNK 64	/* rows per store transaction */

/*
 * The peers of rows[idx[0..n)] are gone from the device: their rows and
 * events, a transaction per RECORD_CHUNK, then a log line, a count and the
 * caller's callback each. A store error keeps those rows (the next pass
 * finds them gone and tries again) and is returned.
 */
static int record(struct store *store, const struct row *rows, const size_t *idx, size_t n,
		  const struct reaper_params *p)
{
	uint8_t keys[RECORD_CHUNK][WG_KEY_LEN];
	char detail[RECORD_CHUNK][128];
	const char *events[RECORD_CHUNK], *details[RECORD_CHUNK];
	int ret = 0;

	for (size_t at = 0; at < n; at += RECORD_CHUNK) {
		size_t k = n - at < RECORD_CHUNK ? n - at : RECORD_CHUNK;
		int r;

		for (size_t i = 0; i < k; i++) {
			const struct row *row = &rows[idx[at + i]];
			const char *name = reason_names[row->reason];

			memcpy(keys[i], row->key, WG_KEY_LEN);
			if (row->reason == REAPER_GONE)
				snprintf(detail[i], sizeof(detail[i]), "no longer on the device");
			else if (row->reason == REAPER_OPERATOR)
				snprintf(detail[i], sizeof(detail[i]), "reason=%s installed_at=%lld",
					 name, (long long)row->installed_at);
			else
				snprintf(detail[i], sizeof(detail[i]),
					 "reason=%s installed_at=%lld last_handshake=%lld", name,
					 (long long)row->installed_at, (long long)row->last_handshake);
			events[i] = row->reason == REAPER_GONE ? "gone" : "evicted";
			details[i] = detail[i];
		}
		r = store_installed_remove_many(store, (const uint8_t (*)[WG_KEY_LEN])keys, events,
						details, k);
		if (r < 0) {
			log_warnx("event=installed_rows_kept peers=%zu err=\"%s\"", k, strerror(-r));
			if (!ret)
				ret = r;
		}
		for (size_t i = 0; i < k; i++) {
			const struct row *row = &rows[idx[at + i]];
			char b64[WG_KEY_B64_LEN];

			key_to_base64(b64, row->key);
			if (row->reason == REAPER_GONE)
				log_info("event=peer_gone key=%s reason=not_on_device installed_at=%lld",
					 b64, (long long)row->installed_at);
			else
				log_info("event=peer_evicted key=%s %s", b64, detail[i]);
			metric_inc(m_evictions[row->reason]);
			if (p && p->removed)
				p->removed(p->ctx, row->key, row->reason);
		}
	}
	return ret;
}

/* None (REAPER_REASON_COUNT), or why the peer goes. */
static enum reaper_reason judge(const struct row *row, const struct reaper_params *p, int64_t now)
{
	if (now - row->installed_at < p->grace)
		return REAPER_REASON_COUNT;
	if (!row->last_handshake)
		return REAPER_NEVER_HANDSHOOK;
	if (now - row->last_handshake >= p->idle_after)
		return REAPER_IDLE;
	return REAPER_REASON_COUNT;
}

static bool on_device(const struct wgdev_peer_info *peers, size_t n, const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(peers[i].public_key, key, WG_KEY_LEN))
			return true;
	return false;
}

/*
 * Removes rows[victims[0..n)] in one request and returns its error. When
 * it fails, the device is read again: those really gone are recorded, the
 * others keep their rows. done has room for n indexes. A store error goes
 * to *store_err.
 */
static int remove_batch(struct wgdev *dev, struct store *store, const struct reaper_params *p,
			const struct pass *ps, const size_t *victims, size_t n,
			struct wgdev_set_peer *set, size_t *done, struct reaper_result *res,
			int *store_err)
{
	struct wgdev_set req = { .peers = set, .n_peers = n };
	struct wgdev_peer_info *peers = NULL;
	size_t n_peers = 0, n_done = 0;
	int64_t t;
	int ret, r;

	for (size_t i = 0; i < n; i++) {
		memset(&set[i], 0, sizeof(set[i]));
		memcpy(set[i].public_key, ps->rows[victims[i]].key, WG_KEY_LEN);
		set[i].flags = WGDEV_PEER_REMOVE;
	}
	res->requests++;
	t = clock_usec();
	ret = wgdev_apply(dev, &req);
	res->remove_usec += clock_usec() - t;
	if (ret < 0) {
		log_warnx("event=evict_failed peers=%zu err=%s", n, strerror(-ret));
		if (wgdev_list_peers(dev, &peers, &n_peers) < 0)
			return ret;	/* nothing known to be gone: the rows stay */
	}
	for (size_t i = 0; i < n; i++) {
		const struct row *row = &ps->rows[victims[i]];

		if (ret < 0 && on_device(peers, n_peers, row->key))
			continue;
		done[n_done++] = victims[i];
		res->removed[row->reason]++;
	}
	wgdev_peers_free(peers, n_peers);
	r = record(store, ps->rows, done, n_done, p);
	if (r < 0 && !*store_err)
		*store_err = r;
	return ret;
}

int reaper_pass(struct wgdev *dev, struct store *store, const struct reaper_params *p,
		int64_t now, struct reaper_result *out)
{
	struct reaper_result res = { 0 };
	struct pass ps = { 0 };
	struct wgdev_peer_info *peers = NULL;
	struct wgdev_set_peer *set = NULL;
	size_t n_peers = 0, batch = p->batch ? p->batch : REAPER_BATCH_DEFAULT;
	size_t *victims = NULL, n_victims = 0, *gone = NULL, n_gone = 0;
	int64_t start = clock_usec(), t;
	int ret, err = 0;

	reaper_metrics_register();
	ret = keymap_init(&ps.index, sizeof(size_t));
	if (ret < 0)
		return ret;
	/* the table before the dump: a peer installed in between looks hand-made, never gone */
	ret = store_installed_foreach(store, add_row, &ps);
	if (ret < 0)
		goto out;
	res.installed = ps.n;
	t = clock_usec();
	ret = wgdev_list_peers(dev, &peers, &n_peers);
	res.dump_usec = clock_usec() - t;
	if (ret < 0)
		goto out;
	res.device_peers = n_peers;
	if (p->dumped)
		p->dumped(p->ctx, peers, n_peers);
	victims = malloc((ps.n ? ps.n : 1) * sizeof(*victims));
	gone = malloc((ps.n ? ps.n : 1) * sizeof(*gone));
	set = malloc((batch < ps.n ? batch : ps.n ? ps.n : 1) * sizeof(*set));
	if (!victims || !gone || !set) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_peers; i++) {
		size_t *slot = keymap_get(&ps.index, peers[i].public_key);
		struct row *row;

		if (!slot)
			continue;	/* not installed by wssd */
		row = &ps.rows[*slot];
		row->on_device = true;
		row->last_handshake = peers[i].last_handshake_sec;
		row->reason = judge(row, p, now);
		if (row->reason == REAPER_REASON_COUNT)
			continue;
		if (p->carried && p->carried(p->ctx, row->key)) {
			res.carried++;
			continue;
		}
		victims[n_victims++] = *slot;
	}
	for (size_t i = 0; i < ps.n; i++) {
		if (ps.rows[i].on_device)
			continue;
		ps.rows[i].reason = REAPER_GONE;
		gone[n_gone++] = i;
	}
	res.removed[REAPER_GONE] = n_gone;
	err = record(store, ps.rows, gone, n_gone, p);
	for (size_t at = 0; at < n_victims; at += batch) {
		size_t n = n_victims - at < batch ? n_victims - at : batch;

		/* a device error ends the pass: the rest waits for the next one */
		/* gone's rows are recorded by now: its room serves each batch */
		ret = remove_batch(dev, store, p, &ps, victims + at, n, set, gone, &res, &err);
		if (ret < 0)
			goto out;
	}
	ret = err;
out:
	res.total_usec = clock_usec() - start;
	if (out)
		*out = res;
	wgdev_peers_free(peers, n_peers);
	keymap_free(&ps.index);
	free(ps.rows);
	free(victims);
	free(gone);
	free(set);
	return ret;
}

struct find {
	const uint8_t *key;
	struct row row;
	bool found;
};

static int find_row(void *ctx, const struct store_installed *inst)
{
	struct find *f = ctx;
	int cmp = memcmp(inst->public_key, f->key, WG_KEY_LEN);

	if (cmp == 0) {
		memcpy(f->row.key, inst->public_key, WG_KEY_LEN);
		f->row.installed_at = inst->installed_at;
		f->found = true;
	}
	return cmp >= 0;	/* rows come in key order: stop at or past it */
}

int reaper_evict(struct wgdev *dev, struct store *store, const uint8_t key[WG_KEY_LEN],
		 enum reaper_reason reason, const struct reaper_params *p)
{
	struct find f = { .key = key };
	struct wgdev_set_peer peer = { .flags = WGDEV_PEER_REMOVE };
	struct wgdev_set req = { .peers = &peer, .n_peers = 1 };
	int ret;

	if (reason >= REAPER_GONE)
		return -EINVAL;
	reaper_metrics_register();
	ret = store_installed_foreach(store, find_row, &f);
	if (ret < 0)
		return ret;
	if (!f.found)
		return -EPERM;
	memcpy(peer.public_key, key, WG_KEY_LEN);
	ret = wgdev_apply(dev, &req);
	if (ret < 0)
		return ret;
	f.row.reason = reason;
	return record(store, &f.row, &(size_t){ 0 }, 1, p);
}
