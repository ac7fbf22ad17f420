/*
 * A test client for wssd with hand-made WebSocket framing, so it can send
 * anything: bytes before the magic, bad lengths, records cut across
 * messages, garbage instead of a TLS handshake. Also a UDP echo server that
 * stands in for the WireGuard port.
 *
 *   wsprobe udp-echo HOST PORT
 *   wsprobe [--bind ADDR] HOST PORT hold-tcp N FILE
 *   wsprobe [--tls] [--subproto NAME] [--deflate] [--path P] [--bind ADDR]
 *           [--rcvbuf BYTES] [--save-cert FILE] [--method M] [--http V]
 *           [--ws-version V] [--key K] [--no-pong]
 *           HOST PORT STEP...
 *
 * Steps: magic, text HEX, bin HEX, keepalive, echo LEN COUNT, echo-split LEN
 * COUNT (length and payload as two messages), echo-cut LEN COUNT (cut inside
 * the length), echo-multi LEN COUNT (all records in one message), burst
 * LENS COUNT (COUNT numbered records, lengths cycling through the
 * comma-separated LENS, each its own message and TLS record, all sent in
 * one corked write, then every reply checked in order),
 * flood COUNT LEN (send without reading), drain (read replies until a second
 * of silence, print how many), expect-close CODE, half LEN (half a record, then exit), loop-echo FILE
 * (echo until FILE exists), ready (print "ready"), wait-file FILE, sleep MS,
 * close HEX (a close frame with that payload), raw HEX (bytes as they are,
 * outside any frame), keepalives SECONDS (one a second, failing on a ping
 * or a close from the server).
 * Instead of steps: garbage (not TLS: send junk, wait for the close),
 * expect-refused (the upgrade must not be answered with 101), expect-status
 * CODE [HEADER...] (answered CODE, with these headers), or wait-close
 * (connect, and TLS with --tls, then send nothing until the server closes;
 * prints how long that took). hold-tcp keeps N TCP connections open,
 * opening a new one for each the server closes, until FILE exists; it
 * prints the connections it opened.
 *
 * --deflate offers permessage-deflate, as some flyctl versions do, and fails
 * unless the server declines it (the probe's frames are never compressed).
 * --method, --http (the version in the request line), --ws-version and
 * --key change the upgrade request ("none" leaves the header out); with
 * --no-pong pings go unanswered.
 *
 * Exits 0 when every step did what it expects, 1 otherwise, with a line
 * on stderr saying which step failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "transport/client.h"

#define MAGIC "\x2f\xac\xed\x77"

static int fd = -1;
static SSL *ssl;
static bool binary, no_pong;
static char resp[4096];		/* the upgrade's answer */
static uint32_t rng = 12345;
static const char *step = "connect";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "wsprobe: step %s: ", step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint8_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return (uint8_t)(rng >> 16);
}

static void put_raw(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = ssl ? SSL_write(ssl, p, (int)len) : write(fd, p, len);

		if (n <= 0)
			die("write failed");
		p += n;
		len -= (size_t)n;
	}
}

/* 0 on EOF. */
static size_t get_some(void *buf, size_t len)
{
	ssize_t n = ssl ? SSL_read(ssl, buf, (int)len) : read(fd, buf, len);

	return n > 0 ? (size_t)n : 0;
}

static void get_exact(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		size_t n = get_some(p, len);

		if (!n)
			die("connection closed or timed out while reading");
		p += n;
		len -= n;
	}
}

static void send_frame(int opcode, const uint8_t *data, size_t len)
{
	uint8_t hdr[WS_FRAME_HEADER_MAX], mask[4];
	uint8_t *buf = malloc(len + 1);
	size_t h;

	if (!buf)
		die("out of memory");
	for (int i = 0; i < 4; i++)
		mask[i] = rnd();
	h = ws_frame_header(hdr, opcode, len, mask);
	for (size_t i = 0; i < len; i++)
		buf[i] = data[i] ^ mask[i & 3];
	put_raw(hdr, h);
	put_raw(buf, len);
	free(buf);
}

static void send_msg(const uint8_t *data, size_t len)
{
	send_frame(binary ? 2 : 1, data, len);
}

/* Reads one whole message; returns its opcode. Answers pings unless --no-pong. */
static int recv_msg(uint8_t **out, size_t *outlen)
{
	for (;;) {
		uint8_t h[2], ext[8];
		uint64_t len;
		uint8_t *buf;
		int op;

		get_exact(h, 2);
		op = h[0] & 0x0f;
		len = h[1] & 0x7f;
		if (len == 126) {
			get_exact(ext, 2);
			len = (uint64_t)ext[0] << 8 | ext[1];
		} else if (len == 127) {
			get_exact(ext, 8);
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | ext[i];
		}
		if (h[1] & 0x80)
			die("server frame is masked");
		if (!(h[0] & 0x80))
			die("fragmented server message (one record per message expected)");
		buf = malloc(len + 1);
		if (!buf)
			die("out of memory");
		get_exact(buf, len);
		if (op == 9 && !no_pong) {
			send_frame(10, buf, len);
			free(buf);
			continue;
		}
		*out = buf;
		*outlen = len;
		return op;
	}
}

static int rcvbuf;

static void tcp_connect(const char *host, const char *port, const char *bind_addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct timeval tv = { .tv_sec = 10 };
	int one = 1;

	if (getaddrinfo(host, port, &hints, &ai))
		die("cannot resolve %s", host);
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fd >= 0 && bind_addr) {
		struct addrinfo *b;

		if (getaddrinfo(bind_addr, NULL, &hints, &b) || bind(fd, b->ai_addr, b->ai_addrlen))
			die("cannot bind to %s", bind_addr);
		freeaddrinfo(b);
	}
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect %s port %s: %s", host, port, strerror(errno));
	freeaddrinfo(ai);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void tls_start(const char *host, const char *save_cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		die("SSL_CTX_new");
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	if (SSL_connect(ssl) != 1)
		die("TLS handshake failed");
	if (save_cert) {
		X509 *x = SSL_get1_peer_certificate(ssl);
		FILE *f = fopen(save_cert, "w");

		if (!x || !f)
			die("cannot save the peer certificate");
		PEM_write_X509(f, x);
		fclose(f);
		X509_free(x);
	}
}

struct request {
	const char *path, *subproto, *method, *http, *version, *key;
	bool deflate;
};

/* "Name: value\r\n", or nothing for "none". */
static const char *header(char *buf, size_t len, const char *name, const char *value)
{
	if (!value || !strcmp(value, "none"))
		return "";
	snprintf(buf, len, "%s: %s\r\n", name, value);
	return buf;
}

/* Returns the HTTP status of the upgrade answer (0 when the server closed). */
static int upgrade(const char *host, const struct request *r)
{
	char req[1024], key[128], ver[64], proto[256];
	size_t have = 0;
	int status = 0;

	snprintf(req, sizeof(req),
		 "%s %s HTTP/%s\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "%s%s%s%sOrigin: https://%s/\r\n\r\n",
		 r->method, r->path, r->http, host,
		 header(key, sizeof(key), "Sec-WebSocket-Key", r->key),
		 header(ver, sizeof(ver), "Sec-WebSocket-Version", r->version),
		 header(proto, sizeof(proto), "Sec-WebSocket-Protocol", r->subproto),
		 r->deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "",
		 host);
	put_raw(req, strlen(req));
	while (have < sizeof(resp) - 1) {
		size_t n = get_some(resp + have, 1);

		if (!n)
			return 0;
		have += n;
		resp[have] = '\0';
		if (have >= 4 && !memcmp(resp + have - 4, "\r\n\r\n", 4))
			break;
	}
	sscanf(resp, "HTTP/1.%*d %d", &status);
	if (r->deflate && strcasestr(resp, "\nSec-WebSocket-Extensions:"))
		die("the server accepted an extension");
	return status;
}

static size_t parse_hex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (hex[0] && hex[1] && n < max) {
		unsigned v;

		if (sscanf(hex, "%2x", &v) != 1)
			die("bad hex");
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static void make_record(uint8_t *rec, size_t len)
{
	rec[0] = (uint8_t)(len >> 24);
	rec[1] = (uint8_t)(len >> 16);
	rec[2] = (uint8_t)(len >> 8);
	rec[3] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		rec[4 + i] = rnd();
}

static void expect_reply(const uint8_t *rec, size_t len)
{
	uint8_t *msg;
	size_t mlen;
	int op = recv_msg(&msg, &mlen);

	if (op == 8)
		die("got a close (code %d) instead of a reply", mlen >= 2 ? msg[0] << 8 | msg[1] : 0);
	if (op != (binary ? 2 : 1))
		die("reply opcode %d, expected %d", op, binary ? 2 : 1);
	if (mlen != len + 4 || memcmp(msg, rec, len + 4))
		die("reply is not the record sent (%zu bytes, expected %zu)", mlen, len + 4);
	free(msg);
}

/* Sends count records of len bytes; parts: 1 = record per message, 2 = header and payload
 * apart, 3 = cut through the header, 0 = all records in one message. */
static void echo(size_t len, unsigned count, int parts)
{
	uint8_t *all = malloc(count * (len + 4));

	if (!all)
		die("out of memory");
	for (unsigned i = 0; i < count; i++)
		make_record(all + i * (len + 4), len);
	if (parts == 0)
		send_msg(all, count * (len + 4));
	for (unsigned i = 0; parts && i < count; i++) {
		uint8_t *r = all + i * (len + 4);

		if (parts == 1) {
			send_msg(r, len + 4);
		} else if (parts == 2) {
			send_msg(r, 4);
			send_msg(r + 4, len);
		} else {
			send_msg(r, 2);
			send_msg(r + 2, 2 + len / 2);
			send_msg(r + 4 + len / 2, len - len / 2);
		}
	}
	for (unsigned i = 0; i < count; i++)
		expect_reply(all + i * (len + 4), len);
	free(all);
}

/*
 * Numbered records in one burst: the server reads several TLS records in
 * one read() (and may hold some in its TLS library's buffer while the
 * socket is empty), relays them in batches, and must answer each, in order.
 */
static void burst(const char *lens, unsigned count)
{
	size_t sizes[16], n = 0, total = 0, off = 0;
	const char *p = lens;
	uint8_t *all;
	int on = 1, off_ = 0;

	while (*p && n < 16) {
		sizes[n++] = strtoul(p, (char **)&p, 0);
		if (*p == ',')
			p++;
	}
	if (!n)
		die("no lengths");
	for (unsigned i = 0; i < count; i++)
		total += 4 + sizes[i % n];
	all = malloc(total);
	if (!all)
		die("out of memory");
	for (unsigned i = 0; i < count; i++) {
		size_t len = sizes[i % n];

		make_record(all + off, len);
		if (len >= 4)
			memcpy(all + off + 4, &i, 4);
		off += 4 + len;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	for (unsigned i = 0, o = 0; i < count; o += 4 + (unsigned)sizes[i % n], i++)
		send_msg(all + o, 4 + sizes[i % n]);
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off_, sizeof(off_));
	off = 0;
	for (unsigned i = 0; i < count; i++) {
		uint8_t *msg;
		size_t mlen, len = sizes[i % n];
		int op = recv_msg(&msg, &mlen);
		unsigned got = 0;

		if (op != (binary ? 2 : 1))
			die("reply %u: opcode %d", i, op);
		if (mlen >= 8)
			memcpy(&got, msg + 4, 4);
		if (mlen != len + 4 || memcmp(msg, all + off, len + 4))
			die("reply %u is not record %u (%zu bytes, record %u of %zu bytes?)", i, i,
			    mlen, got, len + 4);
		free(msg);
		off += 4 + len;
	}
	free(all);
}

static void expect_close(int code)
{
	for (;;) {
		uint8_t *msg;
		size_t mlen;
		int op = recv_msg(&msg, &mlen);
		int got;

		if (op != 8) {
			free(msg);
			continue;
		}
		got = mlen >= 2 ? msg[0] << 8 | msg[1] : 0;
		free(msg);
		if (got != code)
			die("close code %d, expected %d", got, code);
		return;
	}
}

static int udp_echo(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_PASSIVE }, *ai;
	static uint8_t buf[65536];
	int s;

	if (getaddrinfo(host, port, &hints, &ai))
		die("cannot resolve %s", host);
	s = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind %s port %s: %s", host, port, strerror(errno));
	freeaddrinfo(ai);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n >= 0)
			sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps n connections open (reopening what the server closes) until file exists. */
static int hold_tcp(const char *host, const char *port, const char *bind_addr, unsigned n,
		    const char *file)
{
	struct rlimit rl = { n + 64, n + 64 };
	struct pollfd *p = calloc(n, sizeof(*p));
	unsigned long opened = 0;

	if (!p)
		die("out of memory");
	setrlimit(RLIMIT_NOFILE, &rl);
	while (!exists(file)) {
		for (unsigned i = 0; i < n; i++) {
			char c;

			if (p[i].fd > 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    read(p[i].fd, &c, 1) > 0)
				continue;
			if (p[i].fd > 0 && !p[i].revents)
				continue;
			if (p[i].fd > 0)
				close(p[i].fd);
			tcp_connect(host, port, bind_addr);
			p[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
			opened++;
		}
		if (poll(p, n, 100) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
	}
	printf("opened=%lu\n", opened);
	return 0;
}

/* Sends nothing; the server must close within 30 s. */
static int wait_close(void)
{
	struct timeval tv = { .tv_sec = 30 };
	double t0 = now_s();
	uint8_t b[256];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (get_some(b, sizeof(b)))
		;
	if (now_s() - t0 >= 29)
		die("the server kept the connection for 30 s");
	printf("closed_after=%.1f\n", now_s() - t0);
	return 0;
}

/* One keepalive record a second for seconds; a ping or a close fails. */
static void keepalives(unsigned seconds)
{
	for (double end = now_s() + seconds; now_s() < end;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t *msg;
		size_t mlen;
		int op;

		send_msg((const uint8_t *)"\0\0\0\0", 4);
		if ((!ssl || !SSL_pending(ssl)) && poll(&p, 1, 1000) <= 0)
			continue;
		op = recv_msg(&msg, &mlen);
		free(msg);
		if (op == 9)
			die("the server sent a ping");
		if (op == 8)
			die("the server closed the session");
	}
}

int main(int argc, char **argv)
{
	struct request r = { .path = "/", .method = "GET", .http = "1.1", .version = "13",
			     .key = "dGhlIHNhbXBsZSBub25jZQ==" };
	const char *save_cert = NULL, *bind_addr = NULL;
	bool tls = false;
	int i = 1, status;
	static uint8_t buf[70000];

	if (argc >= 4 && !strcmp(argv[1], "udp-echo"))
		return udp_echo(argv[2], argv[3]);
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--tls"))
			tls = true;
		else if (!strcmp(argv[i], "--subproto") && i + 1 < argc)
			r.subproto = argv[++i];
		else if (!strcmp(argv[i], "--deflate"))
			r.deflate = true;
		else if (!strcmp(argv[i], "--path") && i + 1 < argc)
			r.path = argv[++i];
		else if (!strcmp(argv[i], "--method") && i + 1 < argc)
			r.method = argv[++i];
		else if (!strcmp(argv[i], "--http") && i + 1 < argc)
			r.http = argv[++i];
		else if (!strcmp(argv[i], "--ws-version") && i + 1 < argc)
			r.version = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc)
			r.key = argv[++i];
		else if (!strcmp(argv[i], "--no-pong"))
			no_pong = true;
		else if (!strcmp(argv[i], "--rcvbuf") && i + 1 < argc)
			rcvbuf = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			bind_addr = argv[++i];
		else if (!strcmp(argv[i], "--save-cert") && i + 1 < argc)
			save_cert = argv[++i];
		else
			die("unknown option %s", argv[i]);
	}
	if (argc - i < 3) {
		fprintf(stderr, "usage: wsprobe udp-echo HOST PORT\n"
				"       wsprobe [--tls] [--subproto P] [--deflate] [--path P] [--save-cert F] "
				"HOST PORT STEP...\n");
		return 2;
	}
	rng ^= (uint32_t)getpid();
	if (!strcmp(argv[i + 2], "hold-tcp") && argc - i >= 5)
		return hold_tcp(argv[i], argv[i + 1], bind_addr, (unsigned)atoi(argv[i + 3]),
				argv[i + 4]);
	tcp_connect(argv[i], argv[i + 1], bind_addr);
	if (!strcmp(argv[i + 2], "garbage")) {
		/* Not TLS at all: the server must close on us. */
		step = "garbage";
		for (size_t k = 0; k < 512; k++)
			buf[k] = (uint8_t)(0x41 + k % 26);
		put_raw(buf, 512);
		while (get_some(buf, sizeof(buf)))
			;
		return 0;
	}
	if (tls)
		tls_start(argv[i], save_cert);
	if (!strcmp(argv[i + 2], "wait-close")) {
		step = "wait-close";
		return wait_close();
	}
	step = "upgrade";
	status = upgrade(argv[i], &r);
	if (!strcmp(argv[i + 2], "expect-refused")) {
		if (status == 101)
			die("upgrade accepted, expected a refusal");
		return 0;
	}
	if (!strcmp(argv[i + 2], "expect-status") && argc - i >= 4) {
		step = "expect-status";
		if (status != atoi(argv[i + 3]))
			die("answered %d, expected %s", status, argv[i + 3]);
		for (int h = i + 4; h < argc; h++) {
			char want[128];

			snprintf(want, sizeof(want), "\n%s:", argv[h]);
			if (!strcasestr(resp, want))
				die("no %s header in the answer", argv[h]);
		}
		return 0;
	}
	if (status != 101)
		die("upgrade answered %d", status);
	/* the subprotocol the server chose says which messages to send */
	binary = strcasestr(resp, "\nSec-WebSocket-Protocol: wswg-binary\r") != NULL;
	for (i += 2; i < argc; i++) {
		const char *a = argv[i], *n1 = i + 1 < argc ? argv[i + 1] : "0",
			   *n2 = i + 2 < argc ? argv[i + 2] : "1";

		step = a;
		if (!strcmp(a, "magic")) {
			send_msg((const uint8_t *)MAGIC, 4);
		} else if (!strcmp(a, "text") || !strcmp(a, "bin")) {
			send_frame(a[0] == 't' ? 1 : 2, buf, parse_hex(n1, buf, sizeof(buf)));
			i++;
		} else if (!strcmp(a, "keepalive")) {
			send_msg((const uint8_t *)"\0\0\0\0", 4);
		} else if (!strcmp(a, "close")) {
			send_frame(8, buf, parse_hex(n1, buf, sizeof(buf)));
			i++;
		} else if (!strcmp(a, "raw")) {
			put_raw(buf, parse_hex(n1, buf, sizeof(buf)));
			i++;
		} else if (!strcmp(a, "keepalives")) {
			keepalives((unsigned)atoi(n1));
			i++;
		} else if (!strcmp(a, "echo") || !strcmp(a, "echo-split") || !strcmp(a, "echo-cut") ||
			   !strcmp(a, "echo-multi")) {
			int parts = a[4] == '\0' ? 1 : a[5] == 's' ? 2 : a[5] == 'c' ? 3 : 0;

			echo(strtoul(n1, NULL, 0), (unsigned)strtoul(n2, NULL, 0), parts);
			i += 2;
		} else if (!strcmp(a, "burst")) {
			burst(n1, (unsigned)strtoul(n2, NULL, 0));
			i += 2;
		} else if (!strcmp(a, "expect-close")) {
			expect_close(atoi(n1));
			i++;
		} else if (!strcmp(a, "half")) {
			size_t len = strtoul(n1, NULL, 0);

			make_record(buf, len);
			send_msg(buf, 4 + len / 2);
			i++;
		} else if (!strcmp(a, "loop-echo")) {
			unsigned rounds = 0;

			while (!exists(n1) || rounds == 0) {
				echo(100, 1, 1 + (int)(rounds % 3));
				rounds++;
			}
			printf("rounds=%u\n", rounds);
			i++;
		} else if (!strcmp(a, "flood")) {
			/* COUNT records of LEN, one message each, reading nothing. */
			size_t len = strtoul(n2, NULL, 0);

			for (unsigned long k = strtoul(n1, NULL, 0); k; k--) {
				make_record(buf, len);
				send_msg(buf, 4 + len);
			}
			i += 2;
		} else if (!strcmp(a, "drain")) {
			/* Reads replies until none came for a second; prints how many. */
			struct timeval tv = { .tv_sec = 1 }, tv10 = { .tv_sec = 10 };
			unsigned long got = 0;
			uint8_t h[2];

			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			for (;;) {
				size_t n = get_some(h, 1);

				if (!n)
					break;
				get_exact(h + 1, 1);
				if ((h[0] & 0x0f) == 8)
					die("closed while draining");
				{
					uint64_t l = h[1] & 0x7f;
					uint8_t ext[8];

					if (l == 126) {
						get_exact(ext, 2);
						l = (uint64_t)ext[0] << 8 | ext[1];
					}
					if (l > sizeof(buf))
						die("oversized reply while draining");
					get_exact(buf, l);
				}
				got++;
			}
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv10, sizeof(tv10));
			printf("drained=%lu\n", got);
		} else if (!strcmp(a, "ready")) {
			printf("ready\n");
			fflush(stdout);
		} else if (!strcmp(a, "wait-file")) {
			while (!exists(n1))
				usleep(20000);
			i++;
		} else if (!strcmp(a, "sleep")) {
			usleep((useconds_t)atoi(n1) * 1000);
			i++;
		} else {
			die("unknown step");
		}
	}
	return 0;
}
