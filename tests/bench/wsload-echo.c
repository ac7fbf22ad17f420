/*
 * wsload's closed-loop echo: records carry a sequence number and their
 * send time; an echo must be the session's next record (an earlier one is
 * counted bad: reordered or duplicated; a later one counts the skipped
 * ones lost), and a session silent for a second with records in flight
 * counts them lost and starts its window again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/socket.h>

#include "tests/bench/wsload.h"
#include "transport/frame.h"

#define LAT_MAX (8u << 20)	/* latencies kept for the percentiles */
#define LOST_AFTER 1.0

struct echo_run {
	const struct echo_opts *o;
	double from, to;	/* the measured window */
	uint64_t echoes, lost, bad;
	uint32_t *lat;		/* microseconds */
	size_t n_lat;
	uint8_t *rec;		/* [length][seq][sent][filler] */
};

static void stamp(uint8_t *payload, uint64_t seq)
{
	double t = now_s();

	memcpy(payload, &seq, 8);
	memcpy(payload + 8, &t, 8);
}

/* One echo of session s, its payload p of len bytes. */
static void got(struct echo_run *r, struct sess *s, const uint8_t *p, size_t len)
{
	double t = now_s(), sent;
	uint64_t seq;

	if (len != r->o->size) {
		r->bad++;
		return;
	}
	memcpy(&seq, p, 8);
	memcpy(&sent, p + 8, 8);
	s->last_rx = t;
	if (seq < s->next_expect || seq >= s->next_send) {
		r->bad++;
		return;
	}
	r->lost += seq - s->next_expect;
	s->inflight -= (unsigned)(seq - s->next_expect + 1);
	s->next_expect = seq + 1;
	if (t < r->from || t >= r->to)
		return;
	r->echoes++;
	if (r->n_lat < LAT_MAX)
		r->lat[r->n_lat++] = (uint32_t)((t - sent) * 1e6);
}

static void expire(struct echo_run *r, struct sess *s, double t)
{
	if (s->inflight && t - s->last_rx > LOST_AFTER) {
		r->lost += s->inflight;
		s->inflight = 0;
		s->next_expect = s->next_send;
		s->last_rx = t;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void report(struct echo_run *r, unsigned sessions, unsigned dead)
{
	double secs = r->o->seconds;
	double p50 = 0, p99 = 0;

	if (r->n_lat) {
		qsort(r->lat, r->n_lat, sizeof(*r->lat), cmp_u32);
		p50 = r->lat[r->n_lat / 2];
		p99 = r->lat[(size_t)((double)r->n_lat * 0.99)];
	}
	printf("echo sessions=%u window=%u size=%zu echoes=%llu pps=%.0f p50_us=%.0f p99_us=%.0f "
	       "lost=%llu bad=%llu dead=%u\n", sessions, r->o->window, r->o->size,
	       (unsigned long long)r->echoes, (double)r->echoes / secs, p50, p99,
	       (unsigned long long)r->lost, (unsigned long long)r->bad, dead);
	fflush(stdout);
}

static int run_init(struct echo_run *r, const struct echo_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->from = now_s() + o->warmup;
	r->to = r->from + o->seconds;
	r->lat = malloc(LAT_MAX * sizeof(*r->lat));
	r->rec = calloc(1, FRAME_HEADER_LEN + o->size);
	if (!r->lat || !r->rec || o->size < 16 || !o->window)
		return -1;
	frame_put_header(r->rec, (uint32_t)o->size);
	memset(r->rec + FRAME_HEADER_LEN, 0x5a, o->size);
	return 0;
}

static void run_free(struct echo_run *r)
{
	free(r->lat);
	free(r->rec);
}

struct ws_ctx {
	struct echo_run *r;
	struct sess *s;
};

/* wssd sends one record per message: its length, then the payload. */
static int on_ws_data(void *ctx, const uint8_t *data, size_t len)
{
	struct ws_ctx *c = ctx;
	uint32_t n = len < FRAME_HEADER_LEN ? 0 :
		(uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];

	if (len < FRAME_HEADER_LEN || n != len - FRAME_HEADER_LEN) {
		c->r->bad++;
		return 0;
	}
	got(c->r, c->s, data + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN);
	return 0;
}

static int ws_fill(struct echo_run *r, struct sess *s)
{
	while (s->inflight < r->o->window) {
		stamp(r->rec + FRAME_HEADER_LEN, s->next_send);
		if (ws_conn_send(&s->ws, r->o->binary ? WS_OP_BINARY : WS_OP_TEXT, r->rec,
				 FRAME_HEADER_LEN + r->o->size, SIZE_MAX))
			return -1;
		s->next_send++;
		s->inflight++;
	}
	return ws_conn_flush(&s->ws);
}

int echo_ws(struct sess *ss, unsigned n, int ep, const struct echo_opts *o)
{
	struct epoll_event evs[256];
	struct echo_run r;
	unsigned dead = 0, live = 0;
	double t, last_expire = 0;

	if (run_init(&r, o) < 0) {
		fprintf(stderr, "wsload: bad --size (at least 16) or --window\n");
		run_free(&r);
		return 1;
	}
	for (unsigned i = 0; i < n; i++)
		if (ss[i].open && !ss[i].dead) {
			ss[i].last_rx = now_s();
			live++;
		}
	while (!wsload_stop && (t = now_s()) < r.to) {
		int k;

		for (unsigned i = 0; i < n; i++) {
			struct sess *s = &ss[i];

			if (!s->open || s->dead)
				continue;
			if (t - last_expire > 0.1)
				expire(&r, s, t);
			if (ws_fill(&r, s) < 0) {
				s->dead = true;
				dead++;
				continue;
			}
			rearm(ep, s);
		}
		if (t - last_expire > 0.1)
			last_expire = t;
		k = epoll_wait(ep, evs, 256, 10);
		for (int i = 0; i < k; i++) {
			struct sess *s = evs[i].data.ptr;
			struct ws_ctx c = { &r, s };
			short rev = (evs[i].events & EPOLLIN ? POLLIN : 0) |
				    (evs[i].events & EPOLLOUT ? POLLOUT : 0) |
				    (evs[i].events & (EPOLLERR | EPOLLHUP) ? POLLERR : 0);

			if (s->dead)
				continue;
			if (ws_conn_io(&s->ws, rev, on_ws_data, &c)) {
				s->dead = true;
				dead++;
				continue;
			}
			/* Refill at once: the window is what stays in flight. */
			if (ws_fill(&r, s) < 0) {
				s->dead = true;
				dead++;
				continue;
			}
			rearm(ep, s);
		}
	}
	report(&r, live, dead);
	run_free(&r);
	return live ? 0 : 1;
}

static int udp_socket(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	char host[256], *port;
	int fd;

	snprintf(host, sizeof(host), "%s", spec);
	port = strrchr(host, ':');
	if (!port)
		return -1;
	*port++ = '\0';
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int echo_udp(const char *spec, unsigned n, const struct echo_opts *o)
{
	struct epoll_event evs[256];
	struct sess *ss = calloc(n, sizeof(*ss));
	uint8_t *buf = malloc(65536);
	struct echo_run r;
	int ep = epoll_create1(0), ret = 1;
	double t, last_expire = 0;

	if (run_init(&r, o) < 0 || !ss || !buf || ep < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = &ss[i] };

		ss[i].ws.fd = udp_socket(spec);
		if (ss[i].ws.fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ss[i].ws.fd, &e) < 0) {
			fprintf(stderr, "wsload: udp %s: %s\n", spec, strerror(errno));
			goto out;
		}
		ss[i].last_rx = now_s();
	}
	while (!wsload_stop && (t = now_s()) < r.to) {
		int k;

		for (unsigned i = 0; i < n; i++) {
			struct sess *s = &ss[i];

			if (t - last_expire > 0.1)
				expire(&r, s, t);
			while (s->inflight < o->window) {
				stamp(r.rec + FRAME_HEADER_LEN, s->next_send);
				if (send(s->ws.fd, r.rec + FRAME_HEADER_LEN, o->size, 0) < 0)
					break;
				s->next_send++;
				s->inflight++;
			}
		}
		if (t - last_expire > 0.1)
			last_expire = t;
		k = epoll_wait(ep, evs, 256, 10);
		for (int i = 0; i < k; i++) {
			struct sess *s = evs[i].data.ptr;
			ssize_t len;

			while ((len = recv(s->ws.fd, buf, 65536, MSG_DONTWAIT)) >= 0)
				got(&r, s, buf, (size_t)len);
		}
	}
	report(&r, n, 0);
	ret = 0;
out:
	for (unsigned i = 0; ss && i < n; i++)
		if (ss[i].ws.fd > 0)
			close(ss[i].ws.fd);
	if (ep >= 0)
		close(ep);
	free(ss);
	free(buf);
	run_free(&r);
	return ret;
}
