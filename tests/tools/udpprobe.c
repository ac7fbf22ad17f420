/*
 * udpprobe: direct-UDP WireGuard clients that speak just enough of the
 * protocol to connect to a gateway, without a WireGuard device each, for the
 * capture tests and the direct-UDP benchmark. Initiations are built with the
 * test initiator (tests/tools/noise-initiator.c).
 *
 *   udpprobe [--bind ADDR[:PORT]] [--sources FILE] [--rate N] [--timeout S]
 *            GATEWAY:PORT GATEWAY_PUB MODE ARGS
 *
 * Modes:
 *   connect KEYS     one client per private key in the file KEYS (one base64
 *                    key a line), each on a socket of its own bound to the
 *                    next address of --sources (a file of ADDR or ADDR:PORT
 *                    lines; round robin) or to --bind;
 *                    --rate N starts N clients a second (default: all at once)
 *   send KEY [SAVE]  one client, KEY a private key file; SAVE gets the 148
 *                    bytes of its first initiation (--timeout 0: it knocks
 *                    once and answers nothing)
 *   replay FILE      sends the 148 bytes in FILE; counts what comes back
 *   flood SECONDS    valid initiations from fresh keys (random keys, valid
 *                    mac1), as fast as one socket sends them
 *
 * A client sends an initiation, and again every 5 s (WireGuard's
 * REKEY_TIMEOUT) while it is not connected, until --timeout (default 10 s).
 * It is connected the first time it can know the handshake completed: when
 * it has consumed the gateway's response to one of its initiations
 * (via=response), or when it has answered the gateway's own initiation and
 * decrypted the gateway's first transport message, the keepalive that
 * confirms that session (via=initiation: role inversion). Times run from the
 * client's first initiation. Cookie replies (type 3) are counted, not used.
 *
 * Prints "clients=N connected=N via_initiation=N via_response=N cookies=N
 * p50_ms=X p99_ms=X max_ms=X answered=N answer_p50_ms=X ..." (answer: the
 * gateway's first datagram to the client, whatever it is: under role
 * inversion its initiation, which the device sends once wssd installed the
 * peer); replay prints "answers=N"; flood "sent=N".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <sodium.h>

#include "common/addr.h"
#include "jit/key.h"
#include "tests/tools/keylist.h"
#include "tests/tools/noise-initiator.h"

#define REKEY_TIMEOUT 5.0
#define FLOOD_POOL 512
#define FLOOD_BATCH 64

enum via { VIA_NONE, VIA_RESPONSE, VIA_INITIATION };

struct client {
	int fd;
	uint8_t priv[WG_KEY_LEN];
	struct noise_hs init;		/* our latest initiation */
	struct noise_hs resp;		/* our answer to the gateway's latest initiation */
	bool responded;
	double first_at, next_at, connected_at;
	double answered_at;		/* the gateway's first datagram, whatever it is */
	enum via via;
};

static uint8_t gw_pub[WG_KEY_LEN];
static struct sockaddr_storage gw;
static socklen_t gw_len;
static unsigned cookies;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tai64n_now(uint8_t ts[WG_TIMESTAMP_LEN])
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	noise_initiator_tai64n(ts, (uint64_t)t.tv_sec, (uint32_t)t.tv_nsec);
}

static int open_socket(const struct sockaddr_storage *bind_to, socklen_t len)
{
	int fd = socket(bind_to ? bind_to->ss_family : gw.ss_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind_to && bind(fd, (const struct sockaddr *)bind_to, len) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* A fresh initiation; a DH that comes out zero takes another ephemeral. */
static void initiate(struct client *c, uint8_t msg[WG_INITIATION_LEN])
{
	uint8_t eph[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];

	tai64n_now(ts);
	do {
		randombytes_buf(eph, sizeof(eph));
	} while (noise_hs_initiate(&c->init, msg, gw_pub, c->priv, eph, randombytes_random(),
				   ts) < 0);
}

static void send_initiation(struct client *c, double now, uint8_t *save)
{
	uint8_t msg[WG_INITIATION_LEN];

	initiate(c, msg);
	if (save)
		memcpy(save, msg, sizeof(msg));
	if (sendto(c->fd, msg, sizeof(msg), 0, (struct sockaddr *)&gw, gw_len) < 0)
		perror("udpprobe: sendto");
	if (!c->first_at)
		c->first_at = now;
	c->next_at = now + REKEY_TIMEOUT;
}

static void connected(struct client *c, enum via via, double now)
{
	c->via = via;
	c->connected_at = now;
}

static void on_datagram(struct client *c, const uint8_t *m, size_t len, double now)
{
	uint8_t out[WG_RESPONSE_LEN], eph[WG_KEY_LEN];

	if (c->via || len < 4)
		return;
	if (!c->answered_at)
		c->answered_at = now;
	switch (m[0]) {
	case 1:		/* the gateway initiates: role inversion */
		if (len != WG_INITIATION_LEN)
			return;
		randombytes_buf(eph, sizeof(eph));
		if (noise_hs_respond(&c->resp, m, c->priv, out, eph, randombytes_random()) < 0 ||
		    memcmp(c->resp.remote_static, gw_pub, WG_KEY_LEN))
			return;
		c->responded = true;
		if (sendto(c->fd, out, sizeof(out), 0, (struct sockaddr *)&gw, gw_len) < 0)
			perror("udpprobe: sendto");
		return;
	case 2:
		if (len == WG_RESPONSE_LEN && noise_hs_finish(&c->init, m, c->priv) == 0)
			connected(c, VIA_RESPONSE, now);
		return;
	case 3:
		cookies++;
		return;
	case 4:
		if (c->responded && noise_hs_open(&c->resp, m, len) == 0)
			connected(c, VIA_INITIATION, now);
		return;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* " NAME_p50_ms=X NAME_p99_ms=X NAME_max_ms=X" of n values, sorted here. */
static void put_quantiles(const char *name, double *ms, unsigned n)
{
	if (!n)
		return;
	qsort(ms, n, sizeof(*ms), cmp_double);
	printf(" %sp50_ms=%.2f %sp99_ms=%.2f %smax_ms=%.2f", name, ms[(n - 1) / 2], name,
	       ms[(n * 99 + 99) / 100 - 1], name, ms[n - 1]);
}

static void report(const struct client *cs, unsigned n)
{
	double *ms = calloc(n + 1, sizeof(*ms)), *first = calloc(n + 1, sizeof(*first));
	unsigned done = 0, answered = 0, vi = 0, vr = 0;

	for (unsigned i = 0; ms && first && i < n; i++) {
		if (cs[i].answered_at)
			first[answered++] = (cs[i].answered_at - cs[i].first_at) * 1000;
		if (!cs[i].via)
			continue;
		ms[done++] = (cs[i].connected_at - cs[i].first_at) * 1000;
		vi += cs[i].via == VIA_INITIATION;
		vr += cs[i].via == VIA_RESPONSE;
	}
	printf("clients=%u connected=%u via_initiation=%u via_response=%u cookies=%u", n, done, vi,
	       vr, cookies);
	put_quantiles("", ms, done);
	printf(" answered=%u", answered);
	put_quantiles("answer_", first, answered);
	printf("\n");
	free(ms);
	free(first);
}

/* Runs the clients until each is connected or timeout has passed since it started. */
static int run_clients(struct client *cs, unsigned n, const struct sockaddr_storage *sources,
		       const socklen_t *source_len, unsigned n_sources, double rate, double timeout,
		       uint8_t *save)
{
	struct epoll_event evs[256];
	unsigned started = 0, done = 0;
	double t0 = now_s();
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -errno;
	while (done < n) {
		double now = now_s(), wait = 0.05;
		int k;

		/* start those whose turn it is */
		while (started < n && (rate <= 0 || now >= t0 + started / rate)) {
			struct client *c = &cs[started];
			struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
			unsigned s = started % (n_sources ? n_sources : 1);

			c->fd = open_socket(n_sources ? &sources[s] : NULL,
					    n_sources ? source_len[s] : 0);
			if (c->fd < 0) {
				fprintf(stderr, "udpprobe: client %u: socket: %s\n", started,
					strerror(-c->fd));
				return c->fd;
			}
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
			send_initiation(c, now, started == 0 ? save : NULL);
			started++;
		}
		done = 0;
		for (unsigned i = 0; i < started; i++) {
			struct client *c = &cs[i];

			if (c->via || now - c->first_at >= timeout) {
				done++;
				continue;
			}
			if (now >= c->next_at)
				send_initiation(c, now, NULL);
			if (c->next_at - now < wait)
				wait = c->next_at - now;
		}
		if (done == n)
			break;
		if (started < n && rate > 0 && t0 + started / rate - now < wait)
			wait = t0 + started / rate - now;
		k = epoll_wait(ep, evs, 256, wait > 0 ? (int)(wait * 1000) + 1 : 0);
		now = now_s();
		for (int i = 0; i < k; i++) {
			struct client *c = evs[i].data.ptr;
			uint8_t buf[2048];
			ssize_t len;

			while ((len = recv(c->fd, buf, sizeof(buf), 0)) > 0)
				if (now - c->first_at < timeout)
					on_datagram(c, buf, (size_t)len, now);
		}
	}
	close(ep);
	return 0;
}

static int flood(double seconds)
{
	uint8_t (*pool)[WG_INITIATION_LEN] = malloc(FLOOD_POOL * sizeof(*pool));
	struct mmsghdr msgs[FLOOD_BATCH];
	struct iovec iov[FLOOD_BATCH];
	uint64_t sent = 0;
	unsigned next = 0;
	double end;
	int fd = open_socket(NULL, 0);

	if (!pool || fd < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < FLOOD_POOL; i++) {
		struct client c = { 0 };

		randombytes_buf(c.priv, sizeof(c.priv));
		initiate(&c, pool[i]);
	}
	memset(msgs, 0, sizeof(msgs));
	end = now_s() + seconds;
	while (now_s() < end) {
		int k;

		for (unsigned i = 0; i < FLOOD_BATCH; i++) {
			iov[i] = (struct iovec){ pool[(next + i) % FLOOD_POOL], WG_INITIATION_LEN };
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &gw;
			msgs[i].msg_hdr.msg_namelen = gw_len;
		}
		k = sendmmsg(fd, msgs, FLOOD_BATCH, 0);
		if (k > 0) {
			sent += (unsigned)k;
			next += (unsigned)k;
		} else if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
			perror("udpprobe: sendmmsg");
			break;
		}
	}
	printf("sent=%llu\n", (unsigned long long)sent);
	free(pool);
	close(fd);
	return 0;
}

/* ADDR (port 0), or ADDR:PORT / [V6]:PORT. */
static int parse_bind(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	if (addr_numeric(text, 0, ss, len) == 0)
		return 0;
	return addr_parse(text, ss, len);
}

struct sources {
	struct sockaddr_storage *ss;
	socklen_t *len;
	unsigned n, cap;
};

static int add_source(void *ctx, const char *line)
{
	struct sources *s = ctx;

	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 256;
		struct sockaddr_storage *ss = realloc(s->ss, cap * sizeof(*ss));
		socklen_t *len;

		if (!ss)
			return -ENOMEM;
		s->ss = ss;
		len = realloc(s->len, cap * sizeof(*len));
		if (!len)
			return -ENOMEM;
		s->len = len;
		s->cap = cap;
	}
	if (parse_bind(line, &s->ss[s->n], &s->len[s->n]) < 0)
		return -EINVAL;
	s->n++;
	return 0;
}

static int usage(void);

/* Sends the 148 bytes in path, counts what answers within timeout. */
static int replay(const char *path, const struct sockaddr_storage *bind_to, socklen_t len,
		  double timeout)
{
	uint8_t msg[WG_INITIATION_LEN], buf[2048];
	unsigned answers = 0;
	FILE *f = fopen(path, "re");
	int fd;

	if (!f || fread(msg, 1, sizeof(msg), f) != sizeof(msg)) {
		fprintf(stderr, "udpprobe: %s: not 148 bytes\n", path);
		if (f)
			fclose(f);
		return -EINVAL;
	}
	fclose(f);
	fd = open_socket(bind_to, len);
	if (fd < 0 || sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&gw, gw_len) < 0) {
		perror("udpprobe: replay");
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	for (double end = now_s() + timeout; now_s() < end; usleep(10000))
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			answers++;
	printf("answers=%u\n", answers);
	close(fd);
	return 0;
}

/* send KEY [SAVE] or connect KEYS: the clients, their report, the first initiation saved. */
static int connect_clients(const char *mode, char **args, int n_args,
			   const struct sockaddr_storage *sources, const socklen_t *source_len,
			   unsigned n_sources, double rate, double timeout)
{
	uint8_t first[WG_INITIATION_LEN], (*keys)[WG_KEY_LEN] = NULL;
	struct client *cs = NULL;
	struct rlimit rl;
	unsigned n = 0;
	int ret = -EINVAL;

	if (n_args < 1)
		return usage();
	if (!strcmp(mode, "send")) {
		keys = malloc(sizeof(*keys));
		n = 1;
		if (keys && key_read_file(keys[0], args[0]) < 0) {
			fprintf(stderr, "udpprobe: %s: not a key file\n", args[0]);
			goto out;
		}
	} else if (keylist_read(args[0], &keys, &n) < 0) {
		fprintf(stderr, "udpprobe: %s: no keys\n", args[0]);
		goto out;
	}
	cs = keys ? calloc(n, sizeof(*cs)) : NULL;
	if (!cs) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		cs[i].fd = -1;
		memcpy(cs[i].priv, keys[i], WG_KEY_LEN);
	}
	rl.rlim_cur = rl.rlim_max = n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	ret = run_clients(cs, n, sources, source_len, n_sources, rate, timeout, first);
	if (ret < 0)
		goto out;
	report(cs, n);
	if (!strcmp(mode, "send") && n_args > 1) {
		FILE *f = fopen(args[1], "we");

		if (!f || fwrite(first, 1, sizeof(first), f) != sizeof(first)) {
			fprintf(stderr, "udpprobe: cannot save %s\n", args[1]);
			ret = -EIO;
		}
		if (f && fclose(f) != 0)
			ret = -EIO;
	}
out:
	for (unsigned i = 0; cs && i < n; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	free(cs);
	free(keys);
	return ret;
}

static int usage(void)
{
	fprintf(stderr, "usage: udpprobe [--bind ADDR[:PORT]] [--sources FILE] [--rate N] "
			"[--timeout S] GATEWAY:PORT GATEWAY_PUB connect|send|replay|flood ARGS\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "sources", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 }
	};
	struct sockaddr_storage *sources = NULL;
	socklen_t *source_len = NULL;
	unsigned n_sources = 0;
	const char *bind_text = NULL, *sources_path = NULL, *mode;
	double rate = 0, timeout = 10;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			bind_text = optarg;
			break;
		case 's':
			sources_path = optarg;
			break;
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		case 't':
			timeout = strtod(optarg, NULL);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind < 4 || sodium_init() < 0 || addr_parse(argv[optind], &gw, &gw_len) < 0 ||
	    key_from_base64(gw_pub, argv[optind + 1]) < 0)
		return usage();
	mode = argv[optind + 2];
	if (sources_path) {
		struct sources list = { 0 };

		if (lines_foreach(sources_path, add_source, &list) < 0 || !list.n) {
			fprintf(stderr, "udpprobe: %s: not a list of addresses\n", sources_path);
			free(list.ss);
			free(list.len);
			return 1;
		}
		sources = list.ss;
		source_len = list.len;
		n_sources = list.n;
	}
	if (bind_text) {
		free(sources);
		free(source_len);
		sources = calloc(1, sizeof(*sources));
		source_len = calloc(1, sizeof(*source_len));
		if (!sources || !source_len || parse_bind(bind_text, sources, source_len) < 0) {
			free(sources);
			free(source_len);
			return usage();
		}
		n_sources = 1;
	}
	if (!strcmp(mode, "flood")) {
		status = flood(strtod(argv[optind + 3], NULL)) < 0;
	} else if (!strcmp(mode, "replay")) {
		status = replay(argv[optind + 3], n_sources ? sources : NULL,
				n_sources ? source_len[0] : 0, timeout) < 0;
	} else if (!strcmp(mode, "send") || !strcmp(mode, "connect")) {
		status = connect_clients(mode, argv + optind + 3, argc - optind - 3, sources,
					 source_len, n_sources, rate, timeout) < 0;
	} else {
		status = usage();
	}
	free(sources);
	free(source_len);
	return status;
}
