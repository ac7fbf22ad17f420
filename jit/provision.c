#include "jit/provision.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "jit/keymap.h"
#include "jit/wgdev.h"
#include "common/clock.h"
#include "common/log.h"

/*
 * A job carries its own result, so finishing it allocates nothing and no
 * result is ever lost (a key left pending would hold its sessions).
 */
struct job {
	uint8_t key[WG_KEY_LEN];
	struct sockaddr_storage endpoint;	/* ss_family 0: none */
	enum store_via via;
	unsigned joined;
	uint64_t submitted_us;
	struct provision_result result;
	struct job *next;
};

/*
 * A peer waiting for the device. The device takes one request at a time,
 * and a request can carry many peers: workers queue their peers, and
 * whichever finds nobody writing takes the whole queue to the device in
 * one request (as a database groups commits). The store's rows go first, in
 * one transaction: a crash between the two leaves rows the device lacks,
 * which the next start forgets, never a peer of wssd's without its row.
 * provision_exclusive() keeps readers of both (resync, reaper, evictions)
 * from seeing a batch half done.
 */
struct device_write {
	struct wgdev_set_peer change;
	struct store_installed row;	/* written before the device is */
	const char *detail;		/* for the event log */
	int result;
	bool done;
	struct device_write *next;
};

#define WRITE_BATCH 256

struct provision {
	struct provision_options o;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_mutex_t dev_lock;	/* the write queue below */
	pthread_cond_t dev_wake;
	struct device_write *writes, **writes_tail;
	bool writing;			/* a worker is writing a batch */
	pthread_t *threads;
	unsigned n_threads;
	struct job *queue_head, *queue_tail;
	unsigned queued;
	struct keymap inflight;		/* key -> struct job *, queued or running */
	struct job *done_head, *done_tail;
	int efd;
	bool stopping;
};

static const char *const outcome_names[PROVISION_OUTCOME_COUNT] = {
	[PROVISION_INSTALLED] = "installed",
	[PROVISION_NOT_FOUND] = "not_found",
	[PROVISION_RATE_LIMITED] = "rate_limited",
	[PROVISION_UNAVAILABLE] = "unavailable",
	[PROVISION_FAILED] = "failed",
};

const char *provision_outcome_name(enum provision_outcome outcome)
{
	return outcome < PROVISION_OUTCOME_COUNT ? outcome_names[outcome] : "unknown";
}

/* A request that fails is retried peer by peer, so each learns its own errno. */
static void write_chunk(struct provision *p, struct device_write *first, struct device_write *end)
{
	struct wgdev_set_peer changes[WRITE_BATCH];
	struct store_installed rows[WRITE_BATCH] = { 0 };
	const char *details[WRITE_BATCH] = { 0 };
	struct wgdev_set set = { .peers = changes };
	struct store *store = p->o.lookup.store;
	int ret;

	for (struct device_write *w = first; w != end; w = w->next) {
		rows[set.n_peers] = w->row;
		details[set.n_peers] = w->detail;
		changes[set.n_peers++] = w->change;
	}
	/* Without its rows the batch does not go to the device at all. */
	ret = store_installed_put_many(store, rows, details, set.n_peers);
	if (ret < 0) {
		for (struct device_write *v = first; v != end; v = v->next)
			v->result = ret;
		goto out;
	}
	ret = wgdev_apply(p->o.dev, &set);
	for (struct device_write *v = first; v != end; v = v->next) {
		char why[96];

		v->result = ret;
		if (ret < 0 && set.n_peers > 1) {
			struct wgdev_set one = { .peers = &v->change, .n_peers = 1 };

			v->result = wgdev_apply(p->o.dev, &one);
		}
		if (v->result == 0)
			continue;
		store_installed_remove(store, v->row.public_key);
		snprintf(why, sizeof(why), "device refused the peer: %s", strerror(-v->result));
		store_event_add(store, v->row.public_key, "install_failed", why);
	}
out:
	sodium_memzero(changes, sizeof(changes));
}

static void write_batch(struct provision *p, struct device_write *batch)
{
	while (batch) {
		struct device_write *end = batch;

		for (unsigned n = 0; end && n < WRITE_BATCH; n++)
			end = end->next;
		write_chunk(p, batch, end);
		batch = end;
	}
}

void provision_exclusive(struct provision *p, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&p->dev_lock);
	while (p->writing)
		pthread_cond_wait(&p->dev_wake, &p->dev_lock);
	p->writing = true;
	pthread_mutex_unlock(&p->dev_lock);
	fn(ctx);
	pthread_mutex_lock(&p->dev_lock);
	p->writing = false;
	pthread_cond_broadcast(&p->dev_wake);
	pthread_mutex_unlock(&p->dev_lock);
}

static int device_write(struct provision *p, struct device_write *w)
{
	pthread_mutex_lock(&p->dev_lock);
	w->done = false;
	w->next = NULL;
	*p->writes_tail = w;
	p->writes_tail = &w->next;
	while (!w->done) {
		struct device_write *batch;

		if (p->writing) {
			pthread_cond_wait(&p->dev_wake, &p->dev_lock);
			continue;
		}
		batch = p->writes;
		p->writes = NULL;
		p->writes_tail = &p->writes;
		p->writing = true;
		pthread_mutex_unlock(&p->dev_lock);
		write_batch(p, batch);
		pthread_mutex_lock(&p->dev_lock);
		for (; batch; batch = batch->next)
			batch->done = true;
		p->writing = false;
		pthread_cond_broadcast(&p->dev_wake);
	}
	pthread_mutex_unlock(&p->dev_lock);
	return w->result;
}

static void install(struct provision *p, const struct job *job, const struct jit_peer *peer,
		    struct provision_result *r)
{
	/*
	 * A keepalive set on a new peer with an endpoint makes the device
	 * initiate at once. Over UDP that is the point (role inversion), but
	 * the client's own initiation may still reach the device after this
	 * install, and two crossing handshakes cost the client its 5-second
	 * retry: the peer goes in without one, and the engine sets it a moment
	 * later (engine-trigger.c), the result saying which. A WebSocket
	 * client's initiation is forwarded once its peer is in, and the
	 * WebSocket keeps that path open: none at all.
	 */
	int keepalive = job->via == STORE_VIA_WS ? 0 :
			peer->has_keepalive && peer->persistent_keepalive ? peer->persistent_keepalive :
			p->o.role_inversion ? p->o.keepalive : 0;
	const struct sockaddr *endpoint =
		job->endpoint.ss_family ? (const struct sockaddr *)&job->endpoint : NULL;
	struct device_write w = { 0 };
	int ret;

	snprintf(r->detail, sizeof(r->detail), "via=%s source=%s allowed_ips=%zu",
		 job->via == STORE_VIA_UDP ? "udp" : "ws", lookup_source_name(r->source),
		 peer->n_allowedips);
	memcpy(w.row.public_key, job->key, WG_KEY_LEN);
	endpoint_format(&job->endpoint, w.row.endpoint, sizeof(w.row.endpoint));
	w.row.via = job->via;
	w.row.installed_at = w.row.last_seen = (int64_t)time(NULL);
	w.detail = r->detail;
	ret = wgdev_peer_change(&w.change, peer, endpoint, 0);
	if (ret == 0)
		ret = device_write(p, &w);
	sodium_memzero(&w.change, sizeof(w.change));
	if (ret < 0) {
		r->outcome = PROVISION_FAILED;
		snprintf(r->detail, sizeof(r->detail), "not installed: %s", strerror(-ret));
		return;
	}
	r->outcome = PROVISION_INSTALLED;
	r->endpoint = job->endpoint;
	r->keepalive = (uint16_t)keepalive;
}

static void run_job(struct provision *p, const struct job *job, struct provision_result *r)
{
	struct lookup_result answer = { 0 };
	struct timespec now;

	memcpy(r->key, job->key, WG_KEY_LEN);
	r->via = job->via;
	clock_gettime(CLOCK_REALTIME, &now);
	if (lookup_peer(&p->o.lookup, job->key, (double)now.tv_sec + now.tv_nsec / 1e9, &answer) < 0) {
		r->outcome = PROVISION_FAILED;
		snprintf(r->detail, sizeof(r->detail), "look-up failed: out of memory");
		return;
	}
	r->source = answer.source;
	r->control_called = answer.control_called;
	r->control_status = answer.control_status;
	r->control_seconds = answer.control_seconds;
	snprintf(r->detail, sizeof(r->detail), "%s", answer.detail);
	switch (answer.status) {
	case LOOKUP_FOUND:
		install(p, job, &answer.peer, r);
		break;
	case LOOKUP_NOT_FOUND:
		r->outcome = PROVISION_NOT_FOUND;
		break;
	case LOOKUP_RATE_LIMITED:
		r->outcome = PROVISION_RATE_LIMITED;
		break;
	case LOOKUP_UNAVAILABLE:
		r->outcome = PROVISION_UNAVAILABLE;
		break;
	}
	jit_peer_clear(&answer.peer);
}

static void *worker(void *arg)
{
	struct provision *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct job *job;
		uint64_t one = 1;

		while (!p->queue_head && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stopping)
			break;
		job = p->queue_head;
		p->queue_head = job->next;
		if (!p->queue_head)
			p->queue_tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);

		run_job(p, job, &job->result);

		pthread_mutex_lock(&p->lock);
		keymap_remove(&p->inflight, job->key);
		job->result.joined = job->joined;
		job->result.latency_us = (uint64_t)clock_usec() - job->submitted_us;
		job->next = NULL;
		if (p->done_tail)
			p->done_tail->next = job;
		else
			p->done_head = job;
		p->done_tail = job;
		if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("event=provision_notify_failed");
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int provision_new(struct provision **out, const struct provision_options *opts)
{
	struct provision *p;
	int ret;

	if (!opts->workers || !opts->lookup.store || !opts->lookup.control || !opts->dev)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->o = *opts;
	p->efd = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->dev_lock, NULL);
	pthread_cond_init(&p->dev_wake, NULL);
	p->writes_tail = &p->writes;
	pthread_cond_init(&p->wake, NULL);
	ret = keymap_init(&p->inflight, sizeof(struct job *));
	if (ret < 0)
		goto err;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		ret = -errno;
		goto err;
	}
	p->threads = calloc(opts->workers, sizeof(*p->threads));
	if (!p->threads) {
		ret = -ENOMEM;
		goto err;
	}
	for (; p->n_threads < opts->workers; p->n_threads++) {
		ret = -pthread_create(&p->threads[p->n_threads], NULL, worker, p);
		if (ret)
			goto err;
	}
	*out = p;
	return 0;
err:
	provision_free(p);
	return ret;
}

void provision_free(struct provision *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	while (p->queue_head) {
		struct job *next = p->queue_head->next;

		free(p->queue_head);
		p->queue_head = next;
	}
	while (p->done_head) {
		struct job *next = p->done_head->next;

		free(p->done_head);
		p->done_head = next;
	}
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->dev_wake);
	pthread_mutex_destroy(&p->dev_lock);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	keymap_free(&p->inflight);
	if (p->efd >= 0)
		close(p->efd);
	free(p);
}

int provision_eventfd(const struct provision *p)
{
	return p->efd;
}

int provision_submit(struct provision *p, const uint8_t key[WG_KEY_LEN],
		     const struct sockaddr *endpoint, enum store_via via)
{
	struct job **slot, *job;
	int created, ret = 0;

	pthread_mutex_lock(&p->lock);
	slot = keymap_get(&p->inflight, key);
	if (slot) {
		(*slot)->joined++;
		ret = 1;
		goto out;
	}
	if (p->queued >= p->o.queue_max) {
		ret = -EBUSY;
		goto out;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		ret = -ENOMEM;
		goto out;
	}
	slot = keymap_upsert(&p->inflight, key, &created);
	if (!slot) {
		free(job);
		ret = -ENOMEM;
		goto out;
	}
	*slot = job;
	memcpy(job->key, key, WG_KEY_LEN);
	if (endpoint && (endpoint->sa_family == AF_INET || endpoint->sa_family == AF_INET6))
		memcpy(&job->endpoint, endpoint,
		       endpoint->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						      : sizeof(struct sockaddr_in6));
	job->via = via;
	job->submitted_us = (uint64_t)clock_usec();
	if (p->queue_tail)
		p->queue_tail->next = job;
	else
		p->queue_head = job;
	p->queue_tail = job;
	p->queued++;
	pthread_cond_signal(&p->wake);
out:
	pthread_mutex_unlock(&p->lock);
	return ret;
}

size_t provision_drain(struct provision *p,
		       void (*fn)(void *ctx, const struct provision_result *result), void *ctx)
{
	struct job *list;
	uint64_t count;
	size_t n = 0;

	if (read(p->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("event=provision_drain_read_failed");
	pthread_mutex_lock(&p->lock);
	list = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (list) {
		struct job *next = list->next;

		fn(ctx, &list->result);
		free(list);
		list = next;
		n++;
	}
	return n;
}
