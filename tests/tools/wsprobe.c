/*
 * A test client for wssd with hand-made WebSocket framing, so it can send
 * anything: bytes before the magic, bad lengths, records cut across
 * messages, garbage instead of a TLS handshake. Also a UDP echo server that
 * stands in for the WireGuard port.
 *
 *   wsprobe udp-echo HOST PORT
 *   wsprobe [--tls] [--subproto NAME] [--deflate] [--path P] [--bind ADDR]
 *           [--rcvbuf BYTES] [--save-cert FILE]
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
 * (echo until FILE exists), ready (print "ready"), wait-file FILE, sleep MS.
 * Instead of steps: garbage (not TLS: send junk, wait for the close) or
 * expect-refused (the upgrade must not be answered with 101).
 *
 * --deflate offers permessage-deflate, as some flyctl versions do, and fails
 * unless the server declines it (the probe's frames are never compressed).
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "transport/client.h"

#define MAGIC "\x2f\xac\xed\x77"

static int fd = -1;
static SSL *ssl;
static bool binary;
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

/* Reads one whole message; returns its opcode. Answers pings. */
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
		if (op == 9) {
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

/* Returns the HTTP status of the upgrade answer (0 when the server closed). */
static int upgrade(const char *host, const char *path, const char *subproto, bool deflate)
{
	char req[1024], resp[4096];
	size_t have = 0;
	int status = 0;

	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		 "%s%s%s%sOrigin: https://%s/\r\n\r\n",
		 path, host, subproto ? "Sec-WebSocket-Protocol: " : "", subproto ? subproto : "",
		 subproto ? "\r\n" : "",
		 deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "",
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
	sscanf(resp, "HTTP/1.1 %d", &status);
	if (deflate && strcasestr(resp, "\nSec-WebSocket-Extensions:"))
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

int main(int argc, char **argv)
{
	const char *subproto = NULL, *path = "/", *save_cert = NULL, *bind_addr = NULL;
	bool tls = false, deflate = false;
	int i = 1, status;
	static uint8_t buf[70000];

	if (argc >= 4 && !strcmp(argv[1], "udp-echo"))
		return udp_echo(argv[2], argv[3]);
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--tls"))
			tls = true;
		else if (!strcmp(argv[i], "--subproto") && i + 1 < argc)
			subproto = argv[++i];
		else if (!strcmp(argv[i], "--deflate"))
			deflate = true;
		else if (!strcmp(argv[i], "--path") && i + 1 < argc)
			path = argv[++i];
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
	binary = subproto && !strcmp(subproto, "wswg-binary");
	rng ^= (uint32_t)getpid();
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
	step = "upgrade";
	status = upgrade(argv[i], path, subproto, deflate);
	if (!strcmp(argv[i + 2], "expect-refused")) {
		if (status == 101)
			die("upgrade accepted, expected a refusal");
		return 0;
	}
	if (status != 101)
		die("upgrade answered %d", status);
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
