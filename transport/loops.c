/*
 * Every core: the loops of one transport, their threads, and what one
 * loop's thread asks of another's. Loop 0 owns the listeners (Debian's
 * lws 4.1, built for one service thread, sets SO_REUSEPORT only for a
 * context of several, so the loops cannot each listen on the port):
 * it accepts, and hands each new connection to the loops in turn, where
 * the TLS handshake and everything after it run. Calls between loops go
 * through a queue and a uv_async per loop.
 */
#define _GNU_SOURCE
#include "transport/internal.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct loop_call {
	struct loop_call *next;
	void (*fn)(struct transport *t, void *arg);
	void *arg;
	bool waited;		/* on the caller's stack; else allocated, freed when run */
	bool done;
};

static void run_calls(struct transport *t)
{
	struct loop_call *c, *next;

	pthread_mutex_lock(&t->call_lock);
	c = t->calls;
	t->calls = NULL;
	pthread_mutex_unlock(&t->call_lock);
	for (; c; c = next) {
		next = c->next;	/* a waited call is gone once done is seen */
		c->fn(t, c->arg);
		if (!c->waited) {
			free(c);
			continue;
		}
		pthread_mutex_lock(&t->call_lock);
		c->done = true;
		pthread_cond_broadcast(&t->call_done);
		pthread_mutex_unlock(&t->call_lock);
	}
}

static void on_wake(uv_async_t *a)
{
	run_calls(a->data);
}

int loop_calls_init(struct transport *t)
{
	int ret = uv_async_init(&t->loop, &t->wake, on_wake);

	if (ret < 0)
		return ret;
	t->wake.data = t;
	t->wake_open = true;
	return 0;
}

void loop_calls_close(struct transport *t)
{
	if (!t->wake_open)
		return;
	t->wake_open = false;
	uv_close((uv_handle_t *)&t->wake, NULL);
}

/* The loop's thread. */
void loop_run(struct transport *t)
{
	while (!t->done)
		uv_run(&t->loop, UV_RUN_ONCE);
	/* Calls that came as it stopped run here; later ones run on their callers' threads. */
	for (;;) {
		run_calls(t);
		pthread_mutex_lock(&t->call_lock);
		if (!t->calls) {
			t->running = false;
			pthread_mutex_unlock(&t->call_lock);
			return;
		}
		pthread_mutex_unlock(&t->call_lock);
	}
}

static void *loop_thread(void *arg)
{
	loop_run(arg);
	return NULL;
}

static void set_running(struct transport *t, pthread_t thread)
{
	pthread_mutex_lock(&t->call_lock);
	t->running = true;
	t->thread = thread;
	pthread_mutex_unlock(&t->call_lock);
}

void loops_start(struct transport_shared *sh)
{
	set_running(sh->loops[0], pthread_self());
	for (unsigned i = 1; i < sh->n_loops; i++) {
		struct transport *t = sh->loops[i];

		/* Marked running first, so that calls made before it starts wait for it. */
		set_running(t, 0);
		if (pthread_create(&sh->threads[i], NULL, loop_thread, t) != 0) {
			log_warnx("event=loop_thread_failed loop=%u", i);
			pthread_mutex_lock(&t->call_lock);
			t->running = false;
			pthread_mutex_unlock(&t->call_lock);
			continue;
		}
		pthread_mutex_lock(&t->call_lock);
		t->thread = sh->threads[i];
		pthread_mutex_unlock(&t->call_lock);
	}
}

void loops_join(struct transport_shared *sh)
{
	for (unsigned i = 1; i < sh->n_loops; i++)
		if (sh->threads[i]) {
			pthread_join(sh->threads[i], NULL);
			sh->threads[i] = 0;
		}
}

static void post(struct transport *t, struct loop_call *c)
{
	c->next = NULL;
	if (!t->calls) {
		t->calls = c;
	} else {
		struct loop_call *p = t->calls;

		while (p->next)
			p = p->next;
		p->next = c;
	}
	uv_async_send(&t->wake);
}

void loop_call(struct transport *t, void (*fn)(struct transport *t, void *arg), void *arg)
{
	struct loop_call c = { .fn = fn, .arg = arg, .waited = true };

	pthread_mutex_lock(&t->call_lock);
	if (!t->running || pthread_equal(t->thread, pthread_self())) {
		pthread_mutex_unlock(&t->call_lock);
		fn(t, arg);
		return;
	}
	post(t, &c);
	while (!c.done)
		pthread_cond_wait(&t->call_done, &t->call_lock);
	pthread_mutex_unlock(&t->call_lock);
}

/* A connection loop 0 accepted, to be served by another loop. */
struct hand_over {
	struct loop_call call;
	int fd;
	char vhost[24];
};

static void adopt(struct transport *t, void *arg)
{
	struct hand_over *h = arg;
	struct lws_vhost *vh = t->ctx ? lws_get_vhost_by_name(t->ctx, h->vhost) : NULL;

	/* lws closes the descriptor when adoption fails. */
	if (!vh || t->stopping || !lws_adopt_socket_vhost(vh, h->fd)) {
		if (!vh || t->stopping)
			close(h->fd);
		log_warnx("event=hand_over_failed loop=%u vhost=%s", t->index, h->vhost);
	}
}

bool loop_hand_over(struct transport *t, struct lws *wsi, int fd)
{
	struct transport_shared *sh = t->sh;
	struct transport *to;
	struct hand_over *h;

	if (t->index != 0 || sh->n_loops < 2)
		return false;
	to = sh->loops[sh->next_loop++ % sh->n_loops];
	if (to == t)
		return false;
	h = calloc(1, sizeof(*h));
	if (!h)
		return false;
	/* lws closes its descriptor once refused here; the copy lives on. */
	h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (h->fd < 0) {
		free(h);
		return false;
	}
	snprintf(h->vhost, sizeof(h->vhost), "%s", lws_get_vhost_name(lws_get_vhost(wsi)));
	h->call.fn = adopt;
	h->call.arg = h;
	pthread_mutex_lock(&to->call_lock);
	if (!to->running) {
		pthread_mutex_unlock(&to->call_lock);
		close(h->fd);
		free(h);
		return false;
	}
	post(to, &h->call);
	pthread_mutex_unlock(&to->call_lock);
	return true;
}

unsigned transport_loops(const struct transport *t)
{
	return t->sh->n_loops;
}

struct transport *transport_loop(struct transport *t, unsigned i)
{
	return i < t->sh->n_loops ? t->sh->loops[i] : NULL;
}
