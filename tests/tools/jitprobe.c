/*
 * jitprobe: WebSocket sessions that send handshake initiations to wssd, for
 * the JIT tests and the storm benchmark. Initiations are built with the
 * test initiator (tests/tools/noise-initiator.c) for the gateway's public
 * key; an answer is a record of type 2 (handshake response) or 3 (cookie
 * reply) that the gateway's WireGuard sends back once the peer exists.
 *
 *   jitprobe [--sessions N] [--timeout S] [--hold S] [--every S] URL GATEWAY_PUB MODE ARGS
 *
 * Modes (every session does the same unless said otherwise):
 *   random COUNT           COUNT records of type 1, 148 random bytes
 *   garbage-static COUNT   valid mac1, a static key that does not decrypt
 *   bad-timestamp KEY COUNT  KEY's real static key, a timestamp that does not
 *                          decrypt
 *   flood SECONDS          valid initiations from fresh keys, as fast as the
 *                          sessions take them
 *   send KEY [SAVE]        one valid initiation from KEY (a private key file),
 *                          saved to SAVE; waits for an answer
 *   replay FILE            sends the 148 bytes in FILE; waits for an answer
 *   storm KEYS             one session per private key in the file KEYS (one
 *                          base64 key a line), all opened first, then each
 *                          sends one initiation at once; waits for answers
 *
 * Prints "ready=N", then "sent=N", and for the modes that wait,
 * "answered=N type2=N type3=N p50_ms=X p99_ms=X max_ms=X" (time from a
 * session's initiation to its answer). --hold keeps the sessions open that
 * long afterwards; --every spaces the records of random, garbage-static and
 * bad-timestamp S seconds apart. Exit 0 unless a session failed to open;
 * at the end "closed=N" says how many sessions the gateway closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/resource.h>

#include <sodium.h>

#include "jit/key.h"
#include "tests/tools/keylist.h"
#include "tests/tools/noise-initiator.h"
#include "transport/client.h"
#include "transport/frame.h"

#define SEND_QUEUE (64 * 1024)
#define FLOOD_POOL 512

struct sess {
	struct ws_conn ws;
	struct frame_decoder dec;
	uint32_t events;
	bool open, dead;
	uint8_t key[WG_KEY_LEN];	/* storm: this session's private key */
	double sent_at, answered_at;
	int answer;
};

static uint8_t gw_pub[WG_KEY_LEN];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void build(uint8_t msg[WG_INITIATION_LEN], const uint8_t priv[WG_KEY_LEN])
{
	uint8_t eph[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	noise_initiator_tai64n(ts, (uint64_t)t.tv_sec, (uint32_t)t.tv_nsec);
	do {
		randombytes_buf(eph, sizeof(eph));
	} while (noise_initiator_build(msg, gw_pub, priv, eph, randombytes_random(), ts) < 0);
}

static void fresh(uint8_t msg[WG_INITIATION_LEN])
{
	uint8_t priv[WG_KEY_LEN];

	randombytes_buf(priv, sizeof(priv));
	build(msg, priv);
}

static int on_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct sess *s = ctx;

	if (len && (rec[0] == 2 || rec[0] == 3) && !s->answer) {
		s->answer = rec[0];
		s->answered_at = now_s();
	}
	return 0;
}

static int on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct sess *s = ctx;

	return frame_decode(&s->dec, data, len, on_record, s) < 0 ? -EPROTO : 0;
}

static int send_record(struct sess *s, const uint8_t *rec, size_t len)
{
	uint8_t buf[FRAME_HEADER_LEN + WG_INITIATION_LEN];

	frame_put_header(buf, (uint32_t)len);
	memcpy(buf + FRAME_HEADER_LEN, rec, len);
	return ws_conn_send(&s->ws, WS_OP_TEXT, buf, FRAME_HEADER_LEN + len, SEND_QUEUE);
}

static uint32_t to_epoll(short ev)
{
	return (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0);
}

static void rearm(int ep, struct sess *s)
{
	uint32_t want = to_epoll(ws_conn_events(&s->ws));
	struct epoll_event e = { .events = want, .data.ptr = s };

	if (want != s->events && !s->dead) {
		epoll_ctl(ep, EPOLL_CTL_MOD, s->ws.fd, &e);
		s->events = want;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct probe {
	struct sess *ss;
	unsigned n, open, dead;
	int ep;
};

enum until { FOR_TIME, UNTIL_OPEN, UNTIL_ANSWERED };

/* Runs the sessions for at most seconds, or until they are open or answered. */
static void pump(struct probe *p, double seconds, enum until until)
{
	double end = now_s() + seconds, left;
	struct epoll_event evs[256];

	while ((left = end - now_s()) > 0) {
		unsigned answered = 0;
		int k;

		for (unsigned i = 0; i < p->n; i++)
			answered += p->ss[i].answer != 0 || p->ss[i].dead;
		if ((until == UNTIL_ANSWERED && answered == p->n) ||
		    (until == UNTIL_OPEN && p->open + p->dead == p->n))
			return;
		k = epoll_wait(p->ep, evs, 256, left < 0.02 ? (int)(left * 1000) : 20);
		for (int i = 0; i < k; i++) {
			struct sess *s = evs[i].data.ptr;
			short rev = (evs[i].events & EPOLLIN ? POLLIN : 0) |
				    (evs[i].events & EPOLLOUT ? POLLOUT : 0) |
				    (evs[i].events & (EPOLLERR | EPOLLHUP) ? POLLERR : 0);
			int ret;

			if (s->dead)
				continue;
			ret = ws_conn_io(&s->ws, rev, on_data, s);
			if (!ret && !s->open && s->ws.state == WS_OPEN) {
				uint8_t magic[4];

				frame_put_header(magic, FRAME_MAGIC);
				s->open = true;
				p->open++;
				ret = ws_conn_send(&s->ws, WS_OP_TEXT, magic, 4, SIZE_MAX);
				if (!ret)
					ret = ws_conn_flush(&s->ws);
			}
			if (ret) {
				s->dead = true;
				p->dead++;
				ws_conn_close(&s->ws);
				continue;
			}
			rearm(p->ep, s);
		}
	}
}

static void flush_all(struct probe *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		struct sess *s = &p->ss[i];

		if (!s->open || s->dead)
			continue;
		if (ws_conn_flush(&s->ws) < 0) {
			s->dead = true;
			p->dead++;
			ws_conn_close(&s->ws);
			continue;
		}
		rearm(p->ep, s);
	}
}

static void report(const struct probe *p)
{
	double *ms = calloc(p->n + 1, sizeof(*ms));
	unsigned answered = 0, t2 = 0, t3 = 0;

	for (unsigned i = 0; ms && i < p->n; i++) {
		const struct sess *s = &p->ss[i];

		if (!s->answer)
			continue;
		ms[answered++] = (s->answered_at - s->sent_at) * 1000;
		t2 += s->answer == 2;
		t3 += s->answer == 3;
	}
	qsort(ms, answered, sizeof(*ms), cmp_double);
	printf("answered=%u type2=%u type3=%u", answered, t2, t3);
	if (answered)
		printf(" p50_ms=%.1f p99_ms=%.1f max_ms=%.1f", ms[(answered - 1) / 2],
		       ms[(answered * 99 + 99) / 100 - 1], ms[answered - 1]);
	printf("\n");
	free(ms);
}

static int usage(void)
{
	fprintf(stderr, "usage: jitprobe [--sessions N] [--timeout S] [--hold S] URL GATEWAY_PUB "
			"random|garbage-static|bad-timestamp|flood|send|replay|storm ARGS\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "hold", required_argument, NULL, 'h' },
		{ "every", required_argument, NULL, 'e' },
		{ 0 }
	};
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct probe p = { 0 };
	struct ws_url url;
	struct rlimit rl;
	SSL_CTX *ctx = NULL;
	double timeout = 5, hold = 0, every = 0;
	const char *mode;
	uint8_t msg[WG_INITIATION_LEN], priv[WG_KEY_LEN];
	uint64_t sent = 0;
	char err[256];
	int opt;

	p.n = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			p.n = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout = strtod(optarg, NULL);
			break;
		case 'h':
			hold = strtod(optarg, NULL);
			break;
		case 'e':
			every = strtod(optarg, NULL);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind < 4 || sodium_init() < 0 ||
	    ws_url_parse(argv[optind], &url, err, sizeof(err)) < 0 ||
	    key_from_base64(gw_pub, argv[optind + 1]) < 0)
		return usage();
	mode = argv[optind + 2];
	if (!strcmp(mode, "storm")) {
		uint8_t (*keys)[WG_KEY_LEN];

		if (keylist_read(argv[optind + 3], &keys, &p.n) < 0 ||
		    !(p.ss = calloc(p.n, sizeof(*p.ss)))) {
			fprintf(stderr, "jitprobe: %s: no keys\n", argv[optind + 3]);
			return 1;
		}
		for (unsigned i = 0; i < p.n; i++)
			memcpy(p.ss[i].key, keys[i], WG_KEY_LEN);
		free(keys);
	} else {
		p.ss = calloc(p.n ? p.n : 1, sizeof(*p.ss));
	}
	if ((!strcmp(mode, "send") || !strcmp(mode, "bad-timestamp")) &&
	    key_read_file(priv, argv[optind + 3]) < 0) {
		fprintf(stderr, "jitprobe: %s: not a key file\n", argv[optind + 3]);
		return 1;
	}
	rl.rlim_cur = rl.rlim_max = p.n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (url.tls && !(ctx = ws_ssl_ctx(true, NULL, err, sizeof(err)))) {
		fprintf(stderr, "jitprobe: %s\n", err);
		return 1;
	}
	if (getaddrinfo(url.host, url.port, &hints, &res) != 0 || !p.ss) {
		fprintf(stderr, "jitprobe: cannot resolve %s\n", url.host);
		return 1;
	}
	p.ep = epoll_create1(EPOLL_CLOEXEC);
	for (unsigned i = 0; i < p.n; i++) {
		struct sess *s = &p.ss[i];
		struct epoll_event e;

		frame_decoder_init(&s->dec);
		s->dec.magic_seen = 1;	/* the gateway sends records only */
		if (ws_conn_start(&s->ws, &url, res, ctx, NULL) < 0) {
			fprintf(stderr, "jitprobe: session %u: cannot connect\n", i);
			return 1;
		}
		s->events = to_epoll(ws_conn_events(&s->ws));
		e.events = s->events;
		e.data.ptr = s;
		epoll_ctl(p.ep, EPOLL_CTL_ADD, s->ws.fd, &e);
	}
	pump(&p, 30, UNTIL_OPEN);
	printf("ready=%u failed=%u\n", p.open, p.dead);
	fflush(stdout);
	if (p.dead)
		return 1;

	if (!strcmp(mode, "flood")) {
		uint8_t (*pool)[WG_INITIATION_LEN] = malloc(FLOOD_POOL * sizeof(*pool));
		double end = now_s() + strtod(argv[optind + 3], NULL);
		unsigned next = 0;

		for (unsigned i = 0; pool && i < FLOOD_POOL; i++)
			fresh(pool[i]);
		while (pool && now_s() < end && p.dead < p.n) {
			for (unsigned i = 0; i < p.n; i++) {
				struct sess *s = &p.ss[i];

				while (!s->dead && send_record(s, pool[next % FLOOD_POOL],
							       WG_INITIATION_LEN) == 0) {
					next++;
					sent++;
				}
			}
			flush_all(&p);
			pump(&p, 0.001, FOR_TIME);
		}
		free(pool);
	} else {
		unsigned count = 1;

		if (!strcmp(mode, "random") || !strcmp(mode, "garbage-static"))
			count = (unsigned)strtoul(argv[optind + 3], NULL, 10);
		else if (!strcmp(mode, "bad-timestamp"))
			count = argc - optind > 4 ? (unsigned)strtoul(argv[optind + 4], NULL, 10) : 1;
		for (unsigned c = 0; c < count; c++) {
			for (unsigned i = 0; i < p.n; i++) {
				struct sess *s = &p.ss[i];

				if (s->dead)	/* the gateway closed it */
					continue;
				if (!strcmp(mode, "random")) {
					randombytes_buf(msg, sizeof(msg));
					msg[0] = 1;
					msg[1] = msg[2] = msg[3] = 0;
				} else if (!strcmp(mode, "garbage-static")) {
					fresh(msg);
					randombytes_buf(msg + 40, 48);
					noise_initiator_mac1(msg, gw_pub);
				} else if (!strcmp(mode, "bad-timestamp")) {
					build(msg, priv);
					msg[90] ^= 0x40;
					noise_initiator_mac1(msg, gw_pub);
				} else if (!strcmp(mode, "send")) {
					build(msg, priv);
				} else if (!strcmp(mode, "replay")) {
					FILE *f = fopen(argv[optind + 3], "re");

					if (!f || fread(msg, 1, sizeof(msg), f) != sizeof(msg)) {
						fprintf(stderr, "jitprobe: %s: not 148 bytes\n",
							argv[optind + 3]);
						return 1;
					}
					fclose(f);
				} else if (!strcmp(mode, "storm")) {
					build(msg, s->key);
				} else {
					return usage();
				}
				/* A full queue is written out before the next record. */
				while (send_record(s, msg, sizeof(msg)) == -ENOBUFS && !s->dead) {
					flush_all(&p);
					pump(&p, 0.001, FOR_TIME);
				}
				s->sent_at = now_s();
				sent++;
			}
			flush_all(&p);
			if (every > 0)
				pump(&p, every, FOR_TIME);
		}
		if (!strcmp(mode, "send") && argc - optind > 4) {
			FILE *f = fopen(argv[optind + 4], "we");

			if (!f || fwrite(msg, 1, sizeof(msg), f) != sizeof(msg)) {
				fprintf(stderr, "jitprobe: cannot save %s\n", argv[optind + 4]);
				return 1;
			}
			fclose(f);
		}
	}
	printf("sent=%llu\n", (unsigned long long)sent);
	fflush(stdout);
	if (!strcmp(mode, "send") || !strcmp(mode, "replay") || !strcmp(mode, "storm")) {
		pump(&p, timeout, UNTIL_ANSWERED);
		report(&p);
	} else {
		pump(&p, 0.5, FOR_TIME);	/* let the last records go out */
	}
	fflush(stdout);
	if (hold > 0)
		pump(&p, hold, FOR_TIME);
	printf("closed=%u\n", p.dead);
	fflush(stdout);
	for (unsigned i = 0; i < p.n; i++) {
		if (!p.ss[i].dead)
			ws_conn_close(&p.ss[i].ws);
		frame_decoder_free(&p.ss[i].dec);
	}
	free(p.ss);
	freeaddrinfo(res);
	SSL_CTX_free(ctx);
	close(p.ep);
	return 0;
}
