/*
 * wssc: carries a local WireGuard device's UDP datagrams to a wssd (or any
 * flyctl-compatible) gateway over a WebSocket, as flyctl does.
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "transport/frame.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"
#include "transport/client.h"

#define BATCH 32
#define DGRAM_MAX 65536
#define PAUSE_UDP (256 * 1024)		/* stop reading UDP above this much queued */
#define SEND_LIMIT (2 * 1024 * 1024)
#define KEEPALIVE_MS 1000
#define CONNECT_TIMEOUT_MS 10000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 10000			/* open this long resets the backoff */
#define RANDOM_CUT_MAX 3000

enum cut { CUT_RECORD, CUT_SPLIT, CUT_RANDOM };

struct wssc {
	struct ws_url url;
	SSL_CTX *ssl_ctx;
	bool binary;
	enum cut cut;
	int udp;
	struct sockaddr_storage peer;
	socklen_t peer_len;

	struct ws_conn ws;
	bool active;		/* ws holds a connection */
	bool magic_sent;
	struct frame_decoder dec;
	unsigned attempt;
	uint64_t started_ms, opened_ms, last_send_ms, next_connect_ms;
	unsigned backoff_ms;

	uint8_t *scratch;	/* one record, header included */
	uint8_t *stream;	/* --cut random: records of this batch */
	size_t stream_len, stream_cap;

	uint64_t dropped_udp, dropped_ws;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wssc [--listen ADDR:PORT] [--insecure | --ca FILE] [--binary]\n"
		"            [--cut record|split|random] wss://HOST[:PORT]/PATH\n"
		"\n"
		"Binds a UDP socket for a WireGuard device (default 127.0.0.1:0), prints\n"
		"listening=ADDR:PORT, and carries its datagrams over the WebSocket.\n"
		"\n"
		"  --listen ADDR:PORT  local UDP address ([V6]:PORT for IPv6)\n"
		"  --insecure          do not verify the server's certificate (as flyctl)\n"
		"  --ca FILE           verify the server against the CA certificates in FILE\n"
		"  --binary            send binary messages and offer subprotocol wswg-binary\n"
		"  --cut MODE          test only: how records are cut into messages:\n"
		"                      record (one message each, default), split (length and\n"
		"                      payload apart), random (concatenated, cut at random)\n"
		"  --verbose           log every connection step\n"
		"  --version           print the version and exit\n");
}

static int msg_op(const struct wssc *w)
{
	return w->binary ? WS_OP_BINARY : WS_OP_TEXT;
}

/* Queues one message; send_record has made sure it fits. */
static int send_msg(struct wssc *w, const uint8_t *data, size_t len)
{
	return ws_conn_send(&w->ws, msg_op(w), data, len, SIZE_MAX);
}

/* Cuts the batch's concatenated records at random points, one message a piece. */
static int flush_random(struct wssc *w)
{
	size_t off = 0;
	int ret;

	while (off < w->stream_len) {
		size_t left = w->stream_len - off, n;

		/* Mostly small pieces (splitting headers), sometimes large ones. */
		switch (random() % 3) {
		case 0:
			n = 1 + (size_t)random() % 6;
			break;
		case 1:
			n = 1 + (size_t)random() % 200;
			break;
		default:
			n = 1 + (size_t)random() % RANDOM_CUT_MAX;
			break;
		}
		if (n > left)
			n = left;
		ret = send_msg(w, w->stream + off, n);
		if (ret)
			return ret;
		off += n;
	}
	w->stream_len = 0;
	return 0;
}

/* Queues one record (len 0 = keepalive) cut as --cut says. */
static int send_record(struct wssc *w, const uint8_t *data, size_t len)
{
	uint8_t *s;
	int ret;

	/* Whole records only: a record dropped halfway would corrupt the stream. */
	if (ws_conn_pending(&w->ws) + w->stream_len + len + 64 > SEND_LIMIT) {
		w->dropped_ws++;
		return 0;
	}
	w->last_send_ms = (uint64_t)clock_msec();
	switch (w->cut) {
	case CUT_SPLIT:
		frame_put_header(w->scratch, (uint32_t)len);
		ret = send_msg(w, w->scratch, FRAME_HEADER_LEN);
		return ret || !len ? ret : send_msg(w, data, len);
	case CUT_RANDOM:
		if (w->stream_len + FRAME_HEADER_LEN + len > w->stream_cap) {
			size_t cap = (w->stream_len + FRAME_HEADER_LEN + len) * 2;

			s = realloc(w->stream, cap);
			if (!s)
				return -ENOMEM;
			w->stream = s;
			w->stream_cap = cap;
		}
		frame_put_header(w->stream + w->stream_len, (uint32_t)len);
		if (len)
			memcpy(w->stream + w->stream_len + FRAME_HEADER_LEN, data, len);
		w->stream_len += FRAME_HEADER_LEN + len;
		return 0;
	case CUT_RECORD:
	default:
		frame_put_header(w->scratch, (uint32_t)len);
		if (len)
			memcpy(w->scratch + FRAME_HEADER_LEN, data, len);
		return send_msg(w, w->scratch, FRAME_HEADER_LEN + len);
	}
}

static int end_batch(struct wssc *w)
{
	int ret = w->cut == CUT_RANDOM ? flush_random(w) : 0;

	return ret ? ret : ws_conn_flush(&w->ws);
}

/* A record from the gateway: one datagram for the local WireGuard device. */
static int on_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct wssc *w = ctx;

	if (len == 0 || !w->peer_len)
		return 0;
	if (sendto(w->udp, rec, len, MSG_DONTWAIT, (struct sockaddr *)&w->peer, w->peer_len) < 0)
		w->dropped_udp++;
	return 0;
}

static int on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct wssc *w = ctx;
	int ret = frame_decode(&w->dec, data, len, on_record, w);

	if (ret) {
		log_warnx("event=protocol_error reason=%s", frame_error_reason(ret));
		return -EPROTO;
	}
	return 0;
}

static void disconnect(struct wssc *w, int err)
{
	uint64_t now = (uint64_t)clock_msec();
	unsigned delay;

	if (w->magic_sent && now - w->opened_ms >= STABLE_MS)
		w->backoff_ms = BACKOFF_MIN_MS;
	/* Between half and all of the current backoff. */
	delay = w->backoff_ms / 2 + (unsigned)random() % (w->backoff_ms / 2 + 1);
	if (w->ws.tls_error[0]) {
		char q[200];

		log_warnx("event=disconnected err=\"%s\" tls=%s was_open=no retry_ms=%u",
			  strerror(-err), log_quote(q, sizeof(q), w->ws.tls_error), delay);
	} else {
		log_warnx("event=disconnected err=\"%s\" was_open=%s retry_ms=%u", strerror(-err),
			  w->magic_sent ? "yes" : "no", delay);
	}
	ws_conn_close(&w->ws);
	frame_decoder_free(&w->dec);
	w->active = false;
	w->magic_sent = false;
	w->stream_len = 0;
	w->next_connect_ms = now + delay;
	w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
}

static void connect_ws(struct wssc *w)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	unsigned n = 0, pick;
	int ret;

	ret = getaddrinfo(w->url.host, w->url.port, &hints, &res);
	if (ret) {
		log_warnx("event=resolve_failed host=%s err=\"%s\"", w->url.host, gai_strerror(ret));
		disconnect(w, -EHOSTUNREACH);
		return;
	}
	for (ai = res; ai; ai = ai->ai_next)
		n++;
	/* Each attempt tries the next address. */
	pick = w->attempt++ % n;
	for (ai = res; pick--; ai = ai->ai_next)
		;
	ret = ws_conn_start(&w->ws, &w->url, ai, w->ssl_ctx, w->binary ? "wswg-binary" : NULL);
	freeaddrinfo(res);
	w->active = true;
	w->started_ms = (uint64_t)clock_msec();
	frame_decoder_init(&w->dec);
	w->dec.magic_seen = 1;	/* the gateway sends records only, no magic */
	if (ret) {
		disconnect(w, ret);
		return;
	}
	log_debug("event=connecting url=%s", w->url.origin);
}

static int on_open(struct wssc *w)
{
	uint8_t magic[4];
	int ret;

	frame_put_header(magic, FRAME_MAGIC);
	ret = ws_conn_send(&w->ws, msg_op(w), magic, sizeof(magic), SEND_LIMIT);
	if (ret)
		return ret;
	w->magic_sent = true;
	w->opened_ms = w->last_send_ms = (uint64_t)clock_msec();
	log_info("event=connected url=%s messages=%s subprotocol=%s", w->url.origin,
		 w->binary ? "binary" : "text", w->ws.protocol_accepted ? "wswg-binary" : "none");
	return ws_conn_flush(&w->ws);
}

static int read_udp(struct wssc *w)
{
	static uint8_t bufs[BATCH][DGRAM_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	int n, ret = 0;

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = DGRAM_MAX;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	n = recvmmsg(w->udp, msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		size_t len = msgs[i].msg_len;

		w->peer = from[i];
		w->peer_len = msgs[i].msg_hdr.msg_namelen;
		if (len == 0 || len > FRAME_MAX_RECORD)
			continue;
		ret = send_record(w, bufs[i], len);
		if (ret)
			return ret;
	}
	return end_batch(w);
}

static int bind_udp(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, ret;

	if (addr_parse(spec, &ss, &len) < 0) {
		snprintf(err, errlen, "--listen %s: want a numeric ADDR:PORT or [V6]:PORT", spec);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
		ret = -errno;
		snprintf(err, errlen, "--listen %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

static int print_listening(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -EIO;
	if (ss.ss_family == AF_INET6)
		printf("listening=[%s]:%s\n", host, port);
	else
		printf("listening=%s:%s\n", host, port);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int run(struct wssc *w)
{
	while (!stop) {
		struct pollfd pfd[2];
		uint64_t now = (uint64_t)clock_msec(), wake;
		int nfds = 0, timeout, ret = 0;
		bool open;

		if (!w->active && now >= w->next_connect_ms) {
			connect_ws(w);
			now = (uint64_t)clock_msec();
		}
		open = w->active && w->magic_sent;
		if (open && now - w->last_send_ms >= KEEPALIVE_MS) {
			ret = send_record(w, NULL, 0);
			if (!ret)
				ret = end_batch(w);
			if (ret) {
				disconnect(w, ret);
				continue;
			}
		}
		if (w->active && !w->magic_sent && now - w->started_ms >= CONNECT_TIMEOUT_MS) {
			disconnect(w, -ETIMEDOUT);
			continue;
		}

		if (w->active) {
			pfd[nfds].fd = w->ws.fd;
			pfd[nfds++].events = ws_conn_events(&w->ws);
		}
		/* Datagrams wait in the socket until there is somewhere to send them. */
		if (open && ws_conn_pending(&w->ws) < PAUSE_UDP) {
			pfd[nfds].fd = w->udp;
			pfd[nfds++].events = POLLIN;
		}
		if (!w->active)
			wake = w->next_connect_ms;
		else if (!open)
			wake = w->started_ms + CONNECT_TIMEOUT_MS;
		else
			wake = w->last_send_ms + KEEPALIVE_MS;
		timeout = wake > now ? (int)(wake - now) : 0;

		if (poll(pfd, (nfds_t)nfds, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < nfds && w->active; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == w->udp) {
				ret = read_udp(w);
			} else {
				ret = ws_conn_io(&w->ws, pfd[i].revents, on_data, w);
				if (!ret && w->ws.state == WS_OPEN && !w->magic_sent)
					ret = on_open(w);
			}
			if (ret) {
				disconnect(w, ret);
				break;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'c' },
		{ "binary", no_argument, NULL, 'b' },
		{ "cut", required_argument, NULL, 'x' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct wssc w = { .udp = -1, .ws.fd = -1, .backoff_ms = BACKOFF_MIN_MS };
	const char *listen_spec = "127.0.0.1:0", *ca = NULL;
	bool insecure = false, verbose = false;
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int opt, ret, status;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'k':
			insecure = true;
			break;
		case 'c':
			ca = optarg;
			break;
		case 'b':
			w.binary = true;
			break;
		case 'x':
			if (!strcmp(optarg, "record"))
				w.cut = CUT_RECORD;
			else if (!strcmp(optarg, "split"))
				w.cut = CUT_SPLIT;
			else if (!strcmp(optarg, "random"))
				w.cut = CUT_RANDOM;
			else {
				fprintf(stderr, "wssc: --cut %s: want record, split or random\n", optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("wssc %s\n", WSSC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "wssc: %s\n", optind == argc ? "missing the wss:// URL" :
			"exactly one URL expected");
		usage(stderr);
		return 2;
	}
	if (insecure && ca) {
		fprintf(stderr, "wssc: --insecure and --ca exclude each other\n");
		return 2;
	}
	if (ws_url_parse(argv[optind], &w.url, err, sizeof(err)) < 0) {
		fprintf(stderr, "wssc: %s\n", err);
		return 2;
	}
	if (!w.url.tls && (insecure || ca)) {
		fprintf(stderr, "wssc: --insecure and --ca need a wss:// URL\n");
		return 2;
	}
	log_init(verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, false);

	/* The UDP socket first: a bad --listen is an argument error. */
	w.udp = bind_udp(listen_spec, err, sizeof(err));
	if (w.udp < 0) {
		fprintf(stderr, "wssc: %s\n", err);
		return w.udp == -EINVAL ? 2 : 1;
	}
	status = 1;
	if (w.url.tls) {
		w.ssl_ctx = ws_ssl_ctx(insecure, ca, err, sizeof(err));
		if (!w.ssl_ctx) {
			fprintf(stderr, "wssc: %s\n", err);
			goto out;
		}
	}
	w.scratch = malloc(FRAME_HEADER_LEN + FRAME_MAX_RECORD);
	if (!w.scratch) {
		fprintf(stderr, "wssc: out of memory\n");
		goto out;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (print_listening(w.udp) < 0) {
		fprintf(stderr, "wssc: cannot write to stdout\n");
		goto out;
	}

	ret = run(&w);
	log_info("event=stopped dropped_to_udp=%llu dropped_to_ws=%llu",
		 (unsigned long long)w.dropped_udp, (unsigned long long)w.dropped_ws);
	if (w.active) {
		ws_conn_shutdown(&w.ws);
		ws_conn_close(&w.ws);
	}
	status = ret ? 1 : 0;
out:
	frame_decoder_free(&w.dec);
	SSL_CTX_free(w.ssl_ctx);
	free(w.scratch);
	free(w.stream);
	close(w.udp);
	return status;
}
