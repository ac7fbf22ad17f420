/*
 * wsload: load for the relay benchmarks (tests/bench/relay.sh).
 *
 *   wsload [--insecure] [--binary] --sessions N [--blast SECONDS] [--size BYTES] URL
 *     opens N WebSocket sessions (TLS handshake, upgrade, magic), prints
 *     ready=N, then either holds them idle until SIGTERM, or for SECONDS
 *     sends BYTES-long records on all of them round-robin as fast as the
 *     sockets take them, and prints sent=COUNT.
 *   wsload --udp HOST:PORT --blast SECONDS [--size BYTES]
 *     sends BYTES-long UDP datagrams to HOST:PORT for SECONDS (the direct
 *     baseline) and prints sent=COUNT.
 *   wsload ... --echo SECONDS [--window W] [--warmup S] URL | --udp HOST:PORT
 *     the closed-loop echo (wsload-echo.c): each session (or UDP socket)
 *     keeps W records in flight through an echo; prints one "echo" line
 *     with echoes/s and latency over SECONDS after S of warm-up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>

#include "tests/bench/wsload.h"
#include "transport/frame.h"

#define MAX_CONNECTING 256		/* handshakes in flight at once */
#define BLAST_QUEUE (64 * 1024)		/* bytes queued per session while blasting */

volatile sig_atomic_t wsload_stop;
#define stop wsload_stop

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ignore_data(void *ctx, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

static uint32_t to_epoll(short ev)
{
	return (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0);
}

void rearm(int ep, struct sess *s)
{
	uint32_t want = to_epoll(ws_conn_events(&s->ws));
	struct epoll_event e = { .events = want, .data.ptr = s };

	if (want != s->events) {
		epoll_ctl(ep, EPOLL_CTL_MOD, s->ws.fd, &e);
		s->events = want;
	}
}

static int udp_blast(const char *spec, double seconds, size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	struct mmsghdr msgs[64];
	struct iovec iov;
	char host[256], *port;
	uint8_t *buf = calloc(1, size);
	uint64_t sent = 0;
	double end;
	int fd, n;

	snprintf(host, sizeof(host), "%s", spec);
	port = strrchr(host, ':');
	if (!buf || !port) {
		fprintf(stderr, "wsload: --udp HOST:PORT\n");
		return 2;
	}
	*port++ = '\0';
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		fprintf(stderr, "wsload: cannot resolve %s\n", spec);
		return 1;
	}
	fd = socket(res->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		perror("wsload: udp");
		return 1;
	}
	freeaddrinfo(res);
	memset(buf, 0x5a, size);
	buf[0] = 4;	/* looks like WireGuard transport data */
	iov.iov_base = buf;
	iov.iov_len = size;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < 64; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	end = now_s() + seconds;
	while (!stop && now_s() < end) {
		n = sendmmsg(fd, msgs, 64, 0);
		if (n > 0)
			sent += (uint64_t)n;
		else if (errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR) {
			perror("wsload: sendmmsg");
			return 1;
		}
	}
	printf("sent=%llu\n", (unsigned long long)sent);
	close(fd);
	free(buf);
	return 0;
}

static int start_one(struct sess *s, int ep, const struct ws_url *u, const struct addrinfo *ai,
		     SSL_CTX *ctx)
{
	struct epoll_event e;
	int ret = ws_conn_start(&s->ws, u, ai, ctx, NULL);

	if (ret)
		return ret;
	s->events = to_epoll(ws_conn_events(&s->ws));
	e.events = s->events;
	e.data.ptr = s;
	return epoll_ctl(ep, EPOLL_CTL_ADD, s->ws.fd, &e) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "blast", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "udp", required_argument, NULL, 'u' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "binary", no_argument, NULL, 'b' },
		{ "echo", required_argument, NULL, 'e' },
		{ "window", required_argument, NULL, 'w' },
		{ "warmup", required_argument, NULL, 'W' },
		{ 0 }
	};
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	struct epoll_event evs[256];
	struct rlimit rl;
	struct ws_url url;
	SSL_CTX *ctx = NULL;
	struct sess *ss;
	const char *udp = NULL;
	unsigned n = 1, started = 0, open = 0, dead = 0, next = 0;
	double blast = 0, end = 0;
	struct echo_opts eo = { .window = 16, .warmup = 1 };
	size_t size = 1400;
	bool insecure = false, binary = false, busy;
	uint8_t *rec, magic[4];
	uint64_t sent = 0;
	double started_at = now_s();
	char err[512];
	int opt, ep, status = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			n = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			blast = strtod(optarg, NULL);
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		case 'u':
			udp = optarg;
			break;
		case 'k':
			insecure = true;
			break;
		case 'b':
			binary = true;
			break;
		case 'e':
			eo.seconds = strtod(optarg, NULL);
			break;
		case 'w':
			eo.window = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'W':
			eo.warmup = strtod(optarg, NULL);
			break;
		default:
			return 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (size == 0 || size > FRAME_MAX_RECORD || n == 0) {
		fprintf(stderr, "wsload: bad --size or --sessions\n");
		return 2;
	}
	eo.size = size;
	eo.binary = binary;
	if (udp && eo.seconds > 0)
		return echo_udp(udp, n, &eo);
	if (udp)
		return udp_blast(udp, blast, size);
	if (optind != argc - 1 || ws_url_parse(argv[optind], &url, err, sizeof(err)) < 0) {
		fprintf(stderr, "wsload: one ws:// or wss:// URL expected\n");
		return 2;
	}
	rl.rlim_cur = rl.rlim_max = n + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < n + 64) {
		fprintf(stderr, "wsload: RLIMIT_NOFILE %llu is too low for %u sessions\n",
			(unsigned long long)rl.rlim_cur, n);
		return 1;
	}
	if (url.tls && !(ctx = ws_ssl_ctx(insecure, NULL, err, sizeof(err)))) {
		fprintf(stderr, "wsload: %s\n", err);
		return 1;
	}
	if (getaddrinfo(url.host, url.port, &hints, &res) != 0) {
		fprintf(stderr, "wsload: cannot resolve %s\n", url.host);
		return 1;
	}
	ss = calloc(n, sizeof(*ss));
	rec = malloc(FRAME_HEADER_LEN + size);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!ss || !rec || ep < 0) {
		perror("wsload");
		return 1;
	}
	frame_put_header(rec, (uint32_t)size);
	memset(rec + FRAME_HEADER_LEN, 0x5a, size);
	rec[FRAME_HEADER_LEN] = 4;
	frame_put_header(magic, FRAME_MAGIC);

	while (!stop) {
		int k, ret;

		/* Keep MAX_CONNECTING handshakes going until all are started. */
		while (started < n && started - open - dead < MAX_CONNECTING) {
			ret = start_one(&ss[started], ep, &url, res, ctx);
			if (ret) {
				fprintf(stderr, "wsload: session %u: %s\n", started, strerror(-ret));
				return 1;
			}
			started++;
		}
		if (open + dead == n && !end) {
			printf("ready=%u failed=%u\n", open, dead);
			fflush(stdout);
			if (eo.seconds > 0) {
				status = echo_ws(ss, n, ep, &eo);
				break;
			}
			if (blast <= 0 && open == 0)
				break;
			end = blast > 0 ? now_s() + blast : 0;
			if (!end)
				end = -1;
		}
		/* Blasting: top up every open session's queue, round-robin. */
		busy = false;
		if (end > 0) {
			if (now_s() >= end)
				break;
			for (unsigned i = 0; i < n; i++) {
				struct sess *s = &ss[(next + i) % n];

				if (!s->open || s->dead)
					continue;
				while (ws_conn_send(&s->ws, binary ? WS_OP_BINARY : WS_OP_TEXT, rec,
						    FRAME_HEADER_LEN + size, BLAST_QUEUE) == 0)
					sent++;
				if (ws_conn_flush(&s->ws) < 0) {
					s->dead = true;
					dead++;
					ws_conn_close(&s->ws);
					continue;
				}
				rearm(ep, s);
				/* The socket took everything: top up again without waiting. */
				busy |= ws_conn_pending(&s->ws) == 0;
			}
			next++;
		}
		k = epoll_wait(ep, evs, 256, busy ? 0 : end > 0 ? 1 : 200);
		if (k < 0 && errno != EINTR) {
			perror("wsload: epoll_wait");
			return 1;
		}
		for (int i = 0; i < k; i++) {
			struct sess *s = evs[i].data.ptr;
			short rev = (evs[i].events & EPOLLIN ? POLLIN : 0) |
				    (evs[i].events & EPOLLOUT ? POLLOUT : 0) |
				    (evs[i].events & (EPOLLERR | EPOLLHUP) ? POLLERR : 0);

			if (s->dead)
				continue;
			ret = ws_conn_io(&s->ws, rev, ignore_data, NULL);
			if (!ret && !s->open && s->ws.state == WS_OPEN) {
				s->open = true;
				open++;
				ret = ws_conn_send(&s->ws, binary ? WS_OP_BINARY : WS_OP_TEXT, magic,
						   sizeof(magic), SIZE_MAX);
				if (!ret)
					ret = ws_conn_flush(&s->ws);
			}
			if (ret) {
				if (end && !blast)
					fprintf(stderr, "wsload: a session closed: %s\n", strerror(-ret));
				if (s->open)
					open--;
				s->dead = true;
				dead++;
				ws_conn_close(&s->ws);
				continue;
			}
			rearm(ep, s);
		}
	}
	if (blast > 0) {
		struct rusage ru;
		double cpu = 0;

		if (getrusage(RUSAGE_SELF, &ru) == 0)
			cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		printf("sent=%llu\ncpu_percent=%.0f\n", (unsigned long long)sent,
		       100 * cpu / (now_s() - started_at));
		fflush(stdout);
	}
	for (unsigned i = 0; i < started; i++)
		if (!ss[i].dead)
			ws_conn_close(&ss[i].ws);
	free(ss);
	free(rec);
	freeaddrinfo(res);
	SSL_CTX_free(ctx);
	close(ep);
	return status;
}
