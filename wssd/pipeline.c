/* The JIT pipeline in the daemon: set-up, and its side on each event loop. */
#include "wssd/pipeline.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/bucket.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/text.h"
#include "jit/control.h"
#include "jit/noise.h"
#include "jit/store.h"
#include "jit/wgdev.h"
#include "wssd/direct.h"

#define PROVISION_QUEUE 1024
#define PRUNE_INTERVAL 60
#define KEEP_STALE 86400	/* expired configs serve stale-if-error this long */

/* The loop's side: one per transport. */
struct pipeline_loop {
	struct pipeline *pl;
	struct transport *t;
	struct jit_port *port;
	struct noise_mac1 *mac1;
	void (*command_done)(void *ctx, const struct jit_answer *a);
	void *command_ctx;
	struct pipeline_loop *next;
};

struct pipeline {
	const struct wssd_config *cfg;
	struct store *store;
	struct control *control;
	struct wgdev *dev_jobs, *dev_engine;
	struct jit_engine *engine;
	uint8_t public_key[WG_KEY_LEN];
	struct pipeline_loop *loops;
	struct direct *direct;		/* capture.enabled: served by the first loop attached */
	bool direct_attached;
	struct path_metrics m;
	struct metric *refused_closes;
	/* Per initiation, on every loop; a reload sets them (pipeline_set_limits). */
	_Atomic unsigned initiations_per_second;
	_Atomic unsigned refused_close_after;
};

/* Each session's: in the transport's hook data. */
struct session_jit {
	uint8_t key[WG_KEY_LEN];	/* the key its initiations were let through for */
	struct bucket initiations;	/* websocket.initiations_per_second */
	int64_t refused_since;		/* its first refused initiation, 0: none */
	uint8_t has_key;
	uint8_t accepted;		/* one initiation was let through */
};
_Static_assert(sizeof(struct session_jit) <= TRANSPORT_HOOK_DATA, "hook data too small");

static char *read_token(const char *path, char *err, size_t errlen)
{
	char buf[4096], *token;
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "jit.token_file: %s: %s", path, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	token = strdup(text_trim(buf));
	sodium_memzero(buf, sizeof(buf));
	if (!token)
		snprintf(err, errlen, "no memory");
	return token;
}

static int open_control(struct pipeline *pl, char *err, size_t errlen)
{
	const struct wssd_config *cfg = pl->cfg;
	struct control_options o = {
		.source = cfg->control_plane,
		.timeout_ms = cfg->jit_timeout * 1000,
		.store = pl->store,
	};
	char *token = NULL;
	int ret;

	if (cfg->token_file[0]) {
		token = read_token(cfg->token_file, err, errlen);
		if (!token)
			return -EINVAL;
	}
	o.token = token;
	ret = control_open(&pl->control, &o);
	if (token) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	if (ret < 0)
		snprintf(err, errlen, "jit.control_plane: %s: %s", cfg->control_plane,
			 ret == -EINVAL ? "not usable (or the token has control characters)"
					: strerror(-ret));
	return ret;
}

int pipeline_reload_token(struct pipeline *pl, const char *token_file, char *err, size_t errlen)
{
	char *token = NULL;
	int ret;

	if (control_is_local(pl->control))
		return 0;
	if (token_file[0]) {
		token = read_token(token_file, err, errlen);
		if (!token)
			return -EINVAL;
	}
	ret = control_set_token(pl->control, token);
	if (token) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	if (ret < 0)
		snprintf(err, errlen, "jit.token_file: %s: %s", token_file,
			 ret == -EINVAL ? "the token has control characters" : strerror(-ret));
	return ret;
}

static int open_device(struct pipeline *pl, char *err, size_t errlen)
{
	const struct wssd_config *cfg = pl->cfg;
	static const enum wgdev_backend backends[] = {
		[BACKEND_AUTO] = WGDEV_AUTO,
		[BACKEND_NETLINK] = WGDEV_NETLINK,
		[BACKEND_UAPI] = WGDEV_UAPI,
	};
	struct wgdev_setup setup = {
		.ifname = cfg->interface,
		.backend = backends[cfg->backend],
		.uapi_socket = cfg->uapi_socket,
		.create = cfg->create != TRISTATE_NO,
		.listen_port = cfg->wg_port,
		.state_dir = cfg->state_dir,
		.addresses = cfg->addresses,
		.n_addresses = cfg->n_addresses,
	};
	int ret;

	ret = wgdev_ensure(&pl->dev_jobs, &setup, err, errlen);
	if (ret < 0)
		return ret;
	/* One handle per thread: the workers share the first, the engine has its own. */
	ret = wgdev_open(&pl->dev_engine, wgdev_backend(pl->dev_jobs), cfg->interface,
			 cfg->uapi_socket);
	if (ret < 0)
		snprintf(err, errlen, "opening %s a second time: %s", cfg->interface,
			 strerror(-ret));
	return ret;
}

static int new_engine(struct pipeline *pl, char *err, size_t errlen)
{
	const struct wssd_config *cfg = pl->cfg;
	struct wgdev_device info;
	struct jit_engine_options o = {
		.store = pl->store,
		.dev = pl->dev_engine,
		.provision = {
			.workers = cfg->workers,
			.queue_max = PROVISION_QUEUE,
			.keepalive = (uint16_t)cfg->keepalive,
			.role_inversion = cfg->role_inversion,
			.lookup = {
				.store = pl->store,
				.control = pl->control,
				.cache_ttl = cfg->cache_ttl,
				.negative_ttl = cfg->negative_ttl,
				.key_lookups_per_minute = cfg->lookups_per_key_per_minute,
				.lookups_per_second = cfg->lookups_per_second,
			},
			.dev = pl->dev_jobs,
		},
		.reaper = {
			.interval = cfg->reaper_interval,
			.idle_after = cfg->reaper_idle_after,
			.grace = cfg->reaper_grace,
		},
		.prune_interval = PRUNE_INTERVAL,
		.keep_stale = KEEP_STALE,
		/* a job's look-up is bounded by jit.timeout, its device call by 5 s */
		.pending_timeout = cfg->jit_timeout * 2 + 10,
	};
	int ret;

	ret = wgdev_get_device(pl->dev_engine, &info);
	if (ret < 0) {
		snprintf(err, errlen, "reading %s: %s", cfg->interface, strerror(-ret));
		return ret;
	}
	if (!info.has_private_key || sodium_is_zero(info.private_key, WG_KEY_LEN)) {
		snprintf(err, errlen, "%s does not reveal its private key (boringtun does not): JIT "
			 "needs it to read initiations; use the kernel or wireguard-go, or "
			 "jit.enabled = off", cfg->interface);
		sodium_memzero(&info, sizeof(info));
		return -EPERM;
	}
	o.private_key = info.private_key;
	ret = jit_engine_new(&pl->engine, &o, err, errlen);
	sodium_memzero(&info, sizeof(info));
	if (ret == 0)
		jit_engine_public_key(pl->engine, pl->public_key);
	return ret;
}

int pipeline_new(struct pipeline **out, const struct wssd_config *cfg, char *err, size_t errlen)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));
	char b64[WG_KEY_B64_LEN];
	int ret;

	*out = NULL;
	if (!pl)
		return -ENOMEM;
	pl->cfg = cfg;
	pl->initiations_per_second = cfg->initiations_per_second;
	pl->refused_close_after = cfg->refused_close_after;
	ret = store_open(&pl->store, cfg->store_path, err, errlen);
	if (ret == 0)
		ret = open_control(pl, err, errlen);
	if (ret == 0)
		ret = open_device(pl, err, errlen);
	if (ret == 0)
		ret = new_engine(pl, err, errlen);
	if (ret == 0 && cfg->capture_enabled)
		ret = direct_open(&pl->direct, cfg, pl->public_key, err, errlen);
	if (ret < 0) {
		pipeline_free(pl);
		return ret;
	}
	path_metrics_register(&pl->m, "ws");
	pl->refused_closes = metric_counter("wssd_refused_closes_total", NULL,
		"Sessions closed after websocket.refused_close_after of refused initiations");
	key_to_base64(b64, pl->public_key);
	log_info("event=jit_ready interface=%s backend=%s public_key=%s control_plane=%s",
		 cfg->interface, wgdev_backend_name(wgdev_backend(pl->dev_jobs)), b64,
		 cfg->control_plane);
	*out = pl;
	return 0;
}

int pipeline_start(struct pipeline *pl)
{
	return jit_engine_start(pl->engine);
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	jit_engine_free(pl->engine);	/* joins its threads before the rest goes */
	direct_free(pl->direct);
	while (pl->loops) {
		struct pipeline_loop *next = pl->loops->next;

		noise_mac1_free(pl->loops->mac1);
		free(pl->loops);
		pl->loops = next;
	}
	wgdev_close(pl->dev_engine);
	wgdev_close(pl->dev_jobs);
	control_close(pl->control);
	store_close(pl->store);
	free(pl);
}

void path_metrics_register(struct path_metrics *m, const char *path)
{
	char label[32];

	snprintf(label, sizeof(label), "path=\"%s\"", path);
	m->initiations = metric_counter("wssd_initiations_total", label,
					"Handshake initiations seen, by path");
	m->limited = metric_counter("wssd_initiations_limited_total", label,
		"Initiations over their session's or source's rate, dropped, by path");
	m->mac1_failures = metric_counter("wssd_unwrap_failures_total", "reason=\"mac1\"",
					  "Initiations that did not unwrap, by reason");
	m->busy = metric_counter("wssd_jit_refused_total", "reason=\"busy\"",
				 "Initiations refused before a look-up, by reason");
}

int pipeline_set_limits(struct pipeline *pl, const struct wssd_config *cfg)
{
	atomic_store_explicit(&pl->initiations_per_second, cfg->initiations_per_second,
			      memory_order_relaxed);
	atomic_store_explicit(&pl->refused_close_after, cfg->refused_close_after,
			      memory_order_relaxed);
	return pl->direct ? direct_set_rate(pl->direct, cfg->capture_initiations_per_second) : 0;
}

struct jit_engine *pipeline_engine(struct pipeline *pl)
{
	return pl->engine;
}

void pipeline_public_key(const struct pipeline *pl, uint8_t out[WG_KEY_LEN])
{
	memcpy(out, pl->public_key, WG_KEY_LEN);
}

/* A session that sends nothing but refused initiations is let go. */
static void refused(struct pipeline_loop *l, uint64_t session, struct session_jit *sj)
{
	unsigned after = atomic_load_explicit(&l->pl->refused_close_after, memory_order_relaxed);
	int64_t now = clock_usec();

	if (sj->accepted)
		return;
	if (!sj->refused_since) {
		sj->refused_since = now;
		return;
	}
	if (now - sj->refused_since < (int64_t)after * 1000000)
		return;
	sj->refused_since = now;	/* once */
	metric_inc(l->pl->refused_closes);
	transport_session_close(l->t, session, 1008, "initiations refused");
}

static enum transport_verdict on_record(void *arg, const struct transport_record *r,
					const uint8_t *record, size_t len)
{
	struct pipeline_loop *l = arg;
	struct session_jit *sj = r->data;
	unsigned rate = atomic_load_explicit(&l->pl->initiations_per_second, memory_order_relaxed);
	struct jit_request req;
	int ret;

	/* Only type 1 at exactly 148 bytes is an initiation; WireGuard judges the rest. */
	if (len != WG_INITIATION_LEN || record[0] != 1 || record[1] || record[2] || record[3])
		return TRANSPORT_FORWARD;
	metric_inc(l->pl->m.initiations);
	/* The bucket first: what a flooding session sends past it costs no hash. */
	if (!bucket_take(&sj->initiations, rate, bucket_burst(rate), clock_usec())) {
		metric_inc(l->pl->m.limited);
		refused(l, r->session_id, sj);
		return TRANSPORT_DROP;
	}
	if (noise_mac1_check(l->mac1, record, len) != NOISE_OK) {
		metric_inc(l->pl->m.mac1_failures);
		refused(l, r->session_id, sj);
		return TRANSPORT_DROP;
	}
	memset(&req, 0, sizeof(req));
	req.kind = JIT_INITIATION;
	req.token = r->session_id;
	req.hold = r->hold;
	req.via = STORE_VIA_WS;
	/* The peer's endpoint is the relay socket its datagrams will come from. */
	if (transport_session_endpoint(l->t, r->session_id, &req.endpoint) < 0)
		req.endpoint.ss_family = 0;
	memcpy(req.msg, record, len);
	ret = jit_port_submit(l->port, &req);
	if (ret < 0) {
		metric_inc(l->pl->m.busy);
		return TRANSPORT_DROP;
	}
	return TRANSPORT_HOLD;
}

static void on_closed(void *arg, uint64_t session_id, void *data)
{
	struct pipeline_loop *l = arg;
	struct session_jit *sj = data;

	(void)session_id;
	if (sj->has_key)
		jit_engine_carry(l->pl->engine, sj->key, false);
}

static void on_verdict(struct pipeline_loop *l, const struct jit_answer *a)
{
	struct session_jit *sj = transport_session_data(l->t, a->token);

	/* A hold that timed out meanwhile is over; the verdict still counts. */
	transport_session_release(l->t, a->token, a->hold, a->forward);
	if (!sj)
		return;
	if (!a->forward) {
		refused(l, a->token, sj);
		return;
	}
	sj->accepted = 1;
	if (!a->has_key || (sj->has_key && !memcmp(sj->key, a->key, WG_KEY_LEN)))
		return;
	if (sj->has_key)
		jit_engine_carry(l->pl->engine, sj->key, false);
	memcpy(sj->key, a->key, WG_KEY_LEN);
	sj->has_key = 1;
	jit_engine_carry(l->pl->engine, sj->key, true);
}

static void on_answer(void *ctx, const struct jit_answer *a)
{
	struct pipeline_loop *l = ctx;

	if (a->kind == JIT_INITIATION)
		on_verdict(l, a);
	else if (l->command_done)
		l->command_done(l->command_ctx, a);
}

static void on_port(void *arg)
{
	struct pipeline_loop *l = arg;

	jit_port_drain(l->port, on_answer, l);
}

int pipeline_attach(struct pipeline *pl, struct transport *t)
{
	struct pipeline_loop *l = calloc(1, sizeof(*l));
	struct transport_hooks hooks = { on_record, on_closed, l };
	int fd, ret;

	if (!l)
		return -ENOMEM;
	l->pl = pl;
	l->t = t;
	ret = noise_mac1_new(&l->mac1, pl->public_key);
	if (ret == 0)
		ret = jit_port_new(pl->engine, 0, &l->port);
	if (ret < 0) {
		noise_mac1_free(l->mac1);
		free(l);
		return ret;
	}
	l->next = pl->loops;
	pl->loops = l;
	/* The port's eventfd is the engine's; the transport watches (and closes) a copy. */
	fd = dup(jit_port_eventfd(l->port));
	if (fd < 0)
		return -errno;
	ret = transport_watch_fd(t, fd, on_port, l);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	transport_set_hooks(t, &hooks);
	if (pl->direct && !pl->direct_attached) {
		pl->direct_attached = true;
		return direct_attach(pl->direct, pl->engine, t);
	}
	return 0;
}

bool pipeline_session_key(struct transport *t, uint64_t session_id, uint8_t key[WG_KEY_LEN])
{
	const struct session_jit *sj = transport_session_data(t, session_id);

	if (!sj || !sj->has_key)
		return false;
	memcpy(key, sj->key, WG_KEY_LEN);
	return true;
}

static struct pipeline_loop *loop_of(struct pipeline *pl, struct transport *t)
{
	for (struct pipeline_loop *l = pl->loops; l; l = l->next)
		if (l->t == t)
			return l;
	return NULL;
}

void pipeline_on_command(struct pipeline *pl, struct transport *t,
			 void (*done)(void *ctx, const struct jit_answer *a), void *ctx)
{
	struct pipeline_loop *l = loop_of(pl, t);

	if (l) {
		l->command_done = done;
		l->command_ctx = ctx;
	}
}

int pipeline_command(struct pipeline *pl, struct transport *t, const struct jit_request *r)
{
	struct pipeline_loop *l = loop_of(pl, t);

	return l ? jit_port_submit(l->port, r) : -ENODEV;
}
