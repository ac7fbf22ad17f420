/* The JIT pipeline's thread: ports in, verdicts out, provisioning results, timers. */
#include "jit/engine.h"
#include "jit/engine-impl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "jit/wgdev.h"

#define PORT_QUEUE_DEFAULT 256
#define BATCH 32		/* requests taken from one port before the next */
#define TICK_SEC 1

static void wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("event=jit_wake_failed");
}

static void drain_fd(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("event=jit_eventfd_read_failed");
}

int jit_port_new(struct jit_engine *e, unsigned queue, struct jit_port **out)
{
	struct jit_port *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->e = e;
	p->cap = queue ? queue : e->o.port_queue;
	p->req = calloc(p->cap, sizeof(*p->req));
	p->ans = calloc(p->cap, sizeof(*p->ans));
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!p->req || !p->ans || p->efd < 0) {
		int ret = p->efd < 0 ? -errno : -ENOMEM;

		port_free(p);
		return ret;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->lock_ready = true;
	p->next = e->ports;
	e->ports = p;
	*out = p;
	return 0;
}

void port_free(struct jit_port *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n_ans; i++)
		free(p->ans[(p->ans_head + i) % p->cap].text);
	if (p->lock_ready)
		pthread_mutex_destroy(&p->lock);
	if (p->efd >= 0)
		close(p->efd);
	free(p->req);
	free(p->ans);
	free(p);
}

int jit_port_eventfd(const struct jit_port *p)
{
	return p->efd;
}

int jit_port_submit(struct jit_port *p, const struct jit_request *r)
{
	bool was_empty;

	pthread_mutex_lock(&p->lock);
	if (p->outstanding >= p->cap) {
		pthread_mutex_unlock(&p->lock);
		return -EBUSY;
	}
	p->req[(p->req_head + p->n_req) % p->cap] = *r;
	was_empty = p->n_req++ == 0;
	p->outstanding++;
	pthread_mutex_unlock(&p->lock);
	if (was_empty)
		wake(p->e->wake_fd);
	return 0;
}

size_t jit_port_drain(struct jit_port *p, void (*fn)(void *ctx, const struct jit_answer *a),
		      void *ctx)
{
	struct jit_answer batch[BATCH];
	size_t total = 0;
	unsigned n;

	drain_fd(p->efd);
	do {
		pthread_mutex_lock(&p->lock);
		n = p->n_ans < BATCH ? p->n_ans : BATCH;
		for (unsigned i = 0; i < n; i++)
			batch[i] = p->ans[(p->ans_head + i) % p->cap];
		p->ans_head = (p->ans_head + n) % p->cap;
		p->n_ans -= n;
		p->outstanding -= n;
		pthread_mutex_unlock(&p->lock);
		for (unsigned i = 0; i < n; i++) {
			fn(ctx, &batch[i]);
			free(batch[i].text);
		}
		total += n;
	} while (n == BATCH);
	return total;
}

/* Engine thread: an answer always fits, since each request has one slot. */
void port_answer(struct jit_port *p, const struct jit_answer *a)
{
	bool was_empty;

	pthread_mutex_lock(&p->lock);
	p->ans[(p->ans_head + p->n_ans) % p->cap] = *a;
	was_empty = p->n_ans++ == 0;
	pthread_mutex_unlock(&p->lock);
	if (was_empty)
		wake(p->efd);
}

void answer_request(struct jit_port *p, const struct jit_request *r, bool forward,
		    const uint8_t *key, const char *reason)
{
	struct jit_answer a = {
		.kind = r->kind,
		.token = r->token,
		.hold = r->hold,
		.forward = forward,
		.has_key = key != NULL,
		.reason = reason,
	};

	if (key)
		memcpy(a.key, key, WG_KEY_LEN);
	port_answer(p, &a);
}

static unsigned take_requests(struct jit_port *p, struct jit_request *out, unsigned max)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->n_req < max ? p->n_req : max;
	for (unsigned i = 0; i < n; i++)
		out[i] = p->req[(p->req_head + i) % p->cap];
	p->req_head = (p->req_head + n) % p->cap;
	p->n_req -= n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* Round robin over the ports, BATCH requests at a time, so no producer starves the rest. */
static void serve_ports(struct jit_engine *e)
{
	struct jit_request batch[BATCH];
	bool more;

	do {
		more = false;
		for (struct jit_port *p = e->ports; p; p = p->next) {
			unsigned n = take_requests(p, batch, BATCH);

			for (unsigned i = 0; i < n; i++)
				engine_request(e, p, &batch[i]);
			more |= n == BATCH;
		}
		/* Results finished meanwhile release their sessions sooner. */
		engine_results(e);
	} while (more && !e->stopping);
}

static void tick(struct jit_engine *e)
{
	int64_t now = clock_usec();

	engine_expire_pending(e, now);
	if (now >= e->next_prune) {
		e->next_prune = now + (int64_t)e->o.prune_interval * 1000000;
		if (store_prune(e->o.store, time(NULL), e->o.keep_stale) < 0)
			log_warnx("event=store_prune_failed");
	}
	if (now >= e->next_reap) {
		engine_reap(e);
		/* from the pass's end: a long one does not make the next one due at once */
		e->next_reap = clock_usec() + (int64_t)e->o.reaper.interval * 1000000;
	}
}

static void *engine_thread(void *arg)
{
	struct jit_engine *e = arg;
	struct pollfd pfd[3] = {
		{ .fd = e->wake_fd, .events = POLLIN },
		{ .fd = provision_eventfd(e->prov), .events = POLLIN },
		{ .fd = e->timer_fd, .events = POLLIN },
	};

	while (!e->stopping) {
		if (poll(pfd, 3, engine_trigger_wait_ms(e, clock_usec())) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("event=jit_poll_failed");
			break;
		}
		engine_triggers_run(e, clock_usec());
		if (pfd[0].revents & POLLIN) {
			drain_fd(e->wake_fd);
			if (e->stopping)
				break;
			serve_ports(e);
		}
		if (pfd[1].revents & POLLIN)
			engine_results(e);
		if (pfd[2].revents & POLLIN) {
			drain_fd(e->timer_fd);
			tick(e);
		}
	}
	return NULL;
}

int jit_engine_start(struct jit_engine *e)
{
	struct itimerspec its = { .it_interval = { TICK_SEC, 0 }, .it_value = { TICK_SEC, 0 } };
	int ret;

	ret = provision_new(&e->prov, &e->o.provision);
	if (ret < 0)
		return ret;
	e->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->timer_fd < 0 || timerfd_settime(e->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	ret = admit_new(&e->admit, e->noise, e->prov, e->o.max_remembered);
	if (ret < 0)
		return ret;
	ret = engine_adopt(e);
	if (ret < 0)
		return ret;
	e->next_prune = clock_usec() + (int64_t)e->o.prune_interval * 1000000;
	e->next_reap = clock_usec() + (int64_t)e->o.reaper.interval * 1000000;
	ret = -pthread_create(&e->thread, NULL, engine_thread, e);
	if (ret)
		return ret;
	e->running = true;
	return 0;
}

void jit_engine_free(struct jit_engine *e)
{
	if (!e)
		return;
	if (e->running) {
		e->stopping = true;
		wake(e->wake_fd);
		pthread_join(e->thread, NULL);
	}
	provision_free(e->prov);	/* joins the workers first */
	while (e->ports) {
		struct jit_port *next = e->ports->next;

		port_free(e->ports);
		e->ports = next;
	}
	engine_triggers_free(e);
	engine_state_free(e);
	admit_free(e->admit);
	noise_responder_free(e->noise);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	if (e->timer_fd >= 0)
		close(e->timer_fd);
	if (e->carriers_ready) {
		keymap_free(&e->carriers);
		pthread_mutex_destroy(&e->carriers_lock);
	}
	free(e);
}

int jit_engine_new(struct jit_engine **out, const struct jit_engine_options *o, char *err,
		   size_t errlen)
{
	struct jit_engine *e = calloc(1, sizeof(*e));
	int ret;

	*out = NULL;
	if (!e)
		return -ENOMEM;
	e->o = *o;
	e->o.private_key = NULL;
	e->triggers_tail = &e->triggers;
	if (!e->o.port_queue)
		e->o.port_queue = PORT_QUEUE_DEFAULT;
	e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->timer_fd = -1;
	if (e->wake_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-ret));
		goto fail;
	}
	ret = noise_responder_new(&e->noise, o->private_key);
	if (ret < 0) {
		snprintf(err, errlen, "the interface's private key: %s",
			 ret == -EINVAL ? "none set" : strerror(-ret));
		goto fail;
	}
	ret = keymap_init(&e->carriers, sizeof(unsigned));
	if (ret < 0)
		goto nomem;
	pthread_mutex_init(&e->carriers_lock, NULL);
	e->carriers_ready = true;
	ret = engine_state_init(e);
	if (ret < 0)
		goto nomem;
	engine_metrics_register(e);
	ret = engine_reconcile(e);
	if (ret < 0) {
		snprintf(err, errlen, "reading the device to reconcile it with the store: %s",
			 strerror(-ret));
		goto fail;
	}
	*out = e;
	return 0;
nomem:
	snprintf(err, errlen, "%s", strerror(-ret));
fail:
	jit_engine_free(e);
	return ret;
}

void jit_engine_public_key(const struct jit_engine *e, uint8_t out[WG_KEY_LEN])
{
	noise_responder_public_key(e->noise, out);
}

void jit_engine_carry(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], bool carried)
{
	unsigned *n;
	int created;

	pthread_mutex_lock(&e->carriers_lock);
	if (carried) {
		n = keymap_upsert(&e->carriers, key, &created);
		if (n)
			(*n)++;
		else
			log_warnx("event=jit_carry_failed reason=no_memory");
	} else {
		n = keymap_get(&e->carriers, key);
		if (n && --(*n) == 0)
			keymap_remove(&e->carriers, key);
	}
	pthread_mutex_unlock(&e->carriers_lock);
}

bool jit_engine_carried(struct jit_engine *e, const uint8_t key[WG_KEY_LEN])
{
	bool carried;

	pthread_mutex_lock(&e->carriers_lock);
	carried = keymap_get(&e->carriers, key) != NULL;
	pthread_mutex_unlock(&e->carriers_lock);
	return carried;
}
