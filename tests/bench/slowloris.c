/*
 * slowloris: the attacker and the legitimate client of the slowloris
 * benchmark (tests/bench/slowloris.sh).
 *
 *   slowloris --attack HOST:PORT --conns N --from A.B.C.D [--addrs K]
 *     keeps N TCP connections open to HOST:PORT, spread round-robin over K
 *     source addresses from A.B.C.D up (127.x.y.z are all loopback), each
 *     having sent the first bytes of a TLS ClientHello and nothing more;
 *     one the server closes is opened again at once. SIGUSR1 prints
 *     open=N opened=N closed=N; SIGTERM prints that and exits.
 *   slowloris --latency COUNT [--insecure] URL
 *     COUNT connections one after the other, each to the 101 answer of its
 *     upgrade (TCP, TLS, HTTP) with 5 s at most, and prints
 *     attempts= ok= p50_ms= p90_ms= max_ms=.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/client.h"

/* A TLS record header announcing a 512-byte handshake, and its first bytes. */
static const uint8_t hello_start[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc,
				       0x03, 0x03 };

static volatile sig_atomic_t stop, report;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int open_one(const struct sockaddr_in *to, struct in_addr from, int ep, unsigned slot)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = from };
	struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = slot };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 ||
	    write(fd, hello_start, sizeof(hello_start)) != (ssize_t)sizeof(hello_start) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int attack(const char *target, unsigned n, const char *from, unsigned addrs)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct rlimit rl = { n + 64, n + 64 };
	struct epoll_event evs[256];
	unsigned long opened = 0, closed = 0, open_now = 0;
	struct in_addr first;
	char host[64], *port;
	int *fds, ep;

	snprintf(host, sizeof(host), "%s", target);
	port = strrchr(host, ':');
	if (!port || inet_pton(AF_INET, from, &first) != 1 || !addrs || !n)
		return 2;
	*port++ = '\0';
	to.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, host, &to.sin_addr) != 1)
		return 2;
	setrlimit(RLIMIT_NOFILE, &rl);
	fds = calloc(n, sizeof(*fds));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!fds || ep < 0)
		return 1;
	for (unsigned i = 0; i < n; i++)
		fds[i] = -1;
	while (!stop) {
		int k;

		for (unsigned i = 0; i < n && !stop; i++) {
			struct in_addr a = { htonl(ntohl(first.s_addr) + i % addrs) };

			if (fds[i] >= 0)
				continue;
			fds[i] = open_one(&to, a, ep, i);
			if (fds[i] >= 0) {
				opened++;
				open_now++;
			}
		}
		if (report) {
			report = 0;
			printf("open=%lu opened=%lu closed=%lu\n", open_now, opened, closed);
			fflush(stdout);
		}
		k = epoll_wait(ep, evs, 256, 20);
		for (int j = 0; j < k; j++) {
			unsigned i = evs[j].data.u32;
			char b[64];

			if (fds[i] < 0 || read(fds[i], b, sizeof(b)) > 0)
				continue;
			close(fds[i]);
			fds[i] = -1;
			closed++;
			open_now--;
		}
	}
	printf("open=%lu opened=%lu closed=%lu\n", open_now, opened, closed);
	return 0;
}

static int ignore(void *ctx, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

/* Milliseconds to the 101, or -1. */
static double one_upgrade(const struct ws_url *u, const struct addrinfo *ai, SSL_CTX *ctx)
{
	double t0 = now_ms();
	struct ws_conn c;
	double ms = -1;

	if (ws_conn_start(&c, u, ai, ctx, NULL) < 0)
		return -1;
	while (now_ms() - t0 < 5000) {
		struct pollfd p = { .fd = c.fd, .events = ws_conn_events(&c) };

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		if (p.revents && ws_conn_io(&c, p.revents, ignore, NULL) < 0)
			break;
		if (c.state == WS_OPEN) {
			ms = now_ms() - t0;
			break;
		}
	}
	ws_conn_close(&c);
	return ms;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int latency(unsigned count, bool insecure, const char *url)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	double *ms = calloc(count, sizeof(*ms));
	unsigned ok = 0;
	SSL_CTX *ctx = NULL;
	struct ws_url u;
	char err[256];

	if (!ms || ws_url_parse(url, &u, err, sizeof(err)) < 0 ||
	    getaddrinfo(u.host, u.port, &hints, &ai) != 0)
		return 2;
	if (u.tls && !(ctx = ws_ssl_ctx(insecure, NULL, err, sizeof(err))))
		return 1;
	for (unsigned i = 0; i < count; i++) {
		double m = one_upgrade(&u, ai, ctx);

		if (m >= 0)
			ms[ok++] = m;
	}
	qsort(ms, ok, sizeof(*ms), cmp);
	printf("attempts=%u ok=%u p50_ms=%.1f p90_ms=%.1f max_ms=%.1f\n", count, ok,
	       ok ? ms[ok / 2] : -1, ok ? ms[ok * 9 / 10] : -1, ok ? ms[ok - 1] : -1);
	freeaddrinfo(ai);
	SSL_CTX_free(ctx);
	free(ms);
	return ok == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attack", required_argument, NULL, 'a' },
		{ "conns", required_argument, NULL, 'n' },
		{ "from", required_argument, NULL, 'f' },
		{ "addrs", required_argument, NULL, 'k' },
		{ "latency", required_argument, NULL, 'l' },
		{ "insecure", no_argument, NULL, 'i' },
		{ 0 }
	};
	struct sigaction sa = { .sa_handler = on_signal };
	const char *target = NULL, *from = "127.1.0.1";
	unsigned n = 0, addrs = 1, count = 0;
	bool insecure = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': target = optarg; break;
		case 'n': n = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': from = optarg; break;
		case 'k': addrs = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'i': insecure = true; break;
		default: return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (target)
		return attack(target, n, from, addrs);
	if (count && optind == argc - 1)
		return latency(count, insecure, argv[optind]);
	fprintf(stderr, "usage: slowloris --attack HOST:PORT --conns N --from ADDR [--addrs K]\n"
			"       slowloris --latency COUNT [--insecure] URL\n");
	return 2;
}
