#include "jit/provision.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct provision {
	struct provision_options o;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_mutex_t dev_lock;	/* one device call at a time */
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

static void install(struct provision *p, const struct job *job, const struct jit_peer *peer,
		    struct provision_result *r)
{
	/*
	 * A keepalive set on a new peer with an endpoint makes the device
	 * initiate at once. Over UDP that is the point (role inversion); over
	 * a WebSocket the client's own initiation is on its way, and two
	 * crossing handshakes cost the client its 5-second retry. The
	 * WebSocket keeps that path open without one.
	 */
	int keepalive = job->via == STORE_VIA_WS ? 0 :
			peer->has_keepalive ? peer->persistent_keepalive : p->o.keepalive;
	const struct sockaddr *endpoint =
		job->endpoint.ss_family ? (const struct sockaddr *)&job->endpoint : NULL;
	struct store_installed row = { 0 };
	int ret;

	pthread_mutex_lock(&p->dev_lock);
	ret = wgdev_set_peer(p->o.dev, peer, endpoint, keepalive);
	pthread_mutex_unlock(&p->dev_lock);
	if (ret < 0) {
		r->outcome = PROVISION_FAILED;
		snprintf(r->detail, sizeof(r->detail), "device refused the peer: %s", strerror(-ret));
		store_event_add(p->o.lookup.store, job->key, "install_failed", r->detail);
		return;
	}
	r->outcome = PROVISION_INSTALLED;
	memcpy(row.public_key, job->key, WG_KEY_LEN);
	endpoint_format(&job->endpoint, row.endpoint, sizeof(row.endpoint));
	row.via = job->via;
	row.installed_at = row.last_seen = (int64_t)time(NULL);
	store_installed_put(p->o.lookup.store, &row);
	snprintf(r->detail, sizeof(r->detail), "via=%s source=%s allowed_ips=%zu",
		 job->via == STORE_VIA_UDP ? "udp" : "ws", lookup_source_name(r->source),
		 peer->n_allowedips);
	store_event_add(p->o.lookup.store, job->key, "installed", r->detail);
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
