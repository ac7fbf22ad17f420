#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "transport/client.h"

static void test_url(void **state)
{
	struct ws_url u;
	char err[256];

	(void)state;
	assert_int_equal(ws_url_parse("wss://gw.example.net/", &u, err, sizeof(err)), 0);
	assert_true(u.tls);
	assert_string_equal(u.host, "gw.example.net");
	assert_string_equal(u.port, "443");
	assert_string_equal(u.path, "/");

	assert_int_equal(ws_url_parse("ws://10.0.0.1", &u, err, sizeof(err)), 0);
	assert_false(u.tls);
	assert_string_equal(u.port, "80");
	assert_string_equal(u.path, "/");

	assert_int_equal(ws_url_parse("WSS://[fd00:5353::1]:8443/a/b?c=d", &u, err, sizeof(err)), 0);
	assert_true(u.tls);
	assert_string_equal(u.host, "fd00:5353::1");
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.path, "/a/b?c=d");

	static const char *bad[] = {
		"http://h/", "wss://", "wss:///", "wss://h:0/", "wss://h:70000/", "wss://h:/",
		"wss://[::1/", "wss://h:12a/", "wss://user@h/", "wss://h/a b", "h:443",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (ws_url_parse(bad[i], &u, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(strstr(err, bad[i]));
	}
}

struct got {
	uint8_t data[1024];
	size_t len;
	int calls;
};

static int collect(void *ctx, const uint8_t *data, size_t len)
{
	struct got *g = ctx;

	assert_true(g->len + len <= sizeof(g->data));
	memcpy(g->data + g->len, data, len);
	g->len += len;
	g->calls++;
	return 0;
}

/* A client connected to a listener of ours; *srv is the accepted end. */
static void start(struct ws_conn *c, int *srv, const char *path, const char *proto)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	struct addrinfo ai = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct ws_url u;
	char url[128], err[128];
	int l = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u%s", ntohs(sin.sin_port), path);
	assert_int_equal(ws_url_parse(url, &u, err, sizeof(err)), 0);
	ai.ai_addr = (struct sockaddr *)&sin;
	ai.ai_addrlen = sizeof(sin);
	assert_int_equal(ws_conn_start(c, &u, &ai, NULL, proto), 0);
	*srv = accept(l, NULL, NULL);
	assert_true(*srv >= 0);
	close(l);
}

static int drive(struct ws_conn *c, struct got *g)
{
	struct pollfd p = { .fd = c->fd, .events = ws_conn_events(c) };

	if (poll(&p, 1, 1000) <= 0)
		return -ETIMEDOUT;
	return ws_conn_io(c, p.revents, collect, g);
}

/* Reads the request the client sent, up to the blank line. */
static void read_request(struct ws_conn *c, int srv, char *req, size_t size)
{
	struct got g = { 0 };
	size_t n = 0;

	while (!memmem(req, n, "\r\n\r\n", 4)) {
		ssize_t r;

		assert_int_equal(drive(c, &g), 0);
		r = recv(srv, req + n, size - 1 - n, MSG_DONTWAIT);
		if (r > 0)
			n += (size_t)r;
	}
	req[n] = '\0';
}

static void accept_for(const char *req, char out[64])
{
	unsigned char digest[SHA_DIGEST_LENGTH];
	char buf[128];
	const char *k = strstr(req, "Sec-WebSocket-Key: ");

	assert_non_null(k);
	k += strlen("Sec-WebSocket-Key: ");
	snprintf(buf, sizeof(buf), "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
		 (int)strcspn(k, "\r"), k);
	SHA1((unsigned char *)buf, strlen(buf), digest);
	EVP_EncodeBlock((unsigned char *)out, digest, sizeof(digest));
}

static void test_upgrade_and_frames(void **state)
{
	struct ws_conn c;
	struct got g = { 0 };
	char req[4096], acc[64], resp[512];
	uint8_t frames[600], in[64];
	size_t f = 0;
	int srv, n;

	(void)state;
	start(&c, &srv, "/tunnel", "wswg-binary");
	read_request(&c, srv, req, sizeof(req));
	assert_non_null(strstr(req, "GET /tunnel HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(req, "\r\nSec-WebSocket-Protocol: wswg-binary\r\n"));
	assert_non_null(strstr(req, "\r\nOrigin: ws://127.0.0.1:"));
	accept_for(req, acc);
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
		     "Connection: Upgrade\r\nsec-websocket-accept: %s\r\n"
		     "Sec-WebSocket-Protocol: wswg-binary\r\n\r\n", acc);

	/* A text frame, a 300-byte binary frame (16-bit length), a ping. */
	frames[f++] = 0x81;
	frames[f++] = 5;
	memcpy(frames + f, "hello", 5);
	f += 5;
	frames[f++] = 0x82;
	frames[f++] = 126;
	frames[f++] = 300 >> 8;
	frames[f++] = 300 & 0xff;
	for (int i = 0; i < 300; i++)
		frames[f++] = (uint8_t)i;
	frames[f++] = 0x89;
	frames[f++] = 2;
	frames[f++] = 'p';
	frames[f++] = 'q';
	/* The answer and the frames arrive cut in odd places. */
	assert_int_equal(send(srv, resp, (size_t)n - 3, 0), n - 3);
	assert_int_equal(drive(&c, &g), 0);
	assert_int_equal(c.state, WS_UPGRADE);
	assert_int_equal(send(srv, resp + n - 3, 3, 0), 3);
	assert_int_equal(send(srv, frames, 9, 0), 9);
	while (g.calls < 1)
		assert_int_equal(drive(&c, &g), 0);
	assert_int_equal(c.state, WS_OPEN);
	assert_true(c.protocol_accepted);
	assert_int_equal(send(srv, frames + 9, f - 9, 0), (ssize_t)(f - 9));
	while (g.calls < 2)
		assert_int_equal(drive(&c, &g), 0);
	assert_int_equal(g.len, 305);
	assert_memory_equal(g.data, "hello", 5);
	for (int i = 0; i < 300; i++)
		assert_int_equal(g.data[5 + i], (uint8_t)i);

	/* The pong comes back masked, then a message of ours. */
	assert_int_equal(ws_conn_send(&c, WS_OP_TEXT, (const uint8_t *)"\x2f\xac\xed\x77", 4, 1 << 20), 0);
	assert_int_equal(ws_conn_flush(&c), 0);
	n = 0;
	while (n < 8 + 10) {
		ssize_t r = recv(srv, in + n, sizeof(in) - (size_t)n, 0);

		assert_true(r > 0);
		n += (int)r;
	}
	assert_int_equal(in[0], 0x8a);
	assert_int_equal(in[1], 0x80 | 2);
	assert_int_equal(in[6] ^ in[2], 'p');
	assert_int_equal(in[7] ^ in[3], 'q');
	assert_int_equal(in[8], 0x81);
	assert_int_equal(in[9], 0x80 | 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(in[14 + i] ^ in[10 + i], "\x2f\xac\xed\x77"[i] & 0xff);

	/* A full queue refuses more. */
	assert_int_equal(ws_conn_send(&c, WS_OP_TEXT, frames, 100, 50), -ENOBUFS);

	/* The server's close ends the connection. */
	assert_int_equal(send(srv, "\x88\x02\x03\xe8", 4, 0), 4);
	for (;;) {
		int ret = drive(&c, &g);

		if (ret) {
			assert_int_equal(ret, -ECONNRESET);
			break;
		}
	}
	ws_conn_close(&c);
	close(srv);
}

/*
 * The server answers head, then (unless bad_accept is NULL) an accept header
 * whose value is bad_accept followed by the right value, the blank line, and
 * extra bytes.
 */
static void refused(const char *head, const char *bad_accept, const void *extra,
		    size_t extra_len, int want)
{
	struct ws_conn c;
	struct got g = { 0 };
	char req[4096], acc[64], resp[512];
	int srv, n, ret;

	start(&c, &srv, "/", NULL);
	read_request(&c, srv, req, sizeof(req));
	assert_null(strstr(req, "Sec-WebSocket-Protocol"));
	accept_for(req, acc);
	n = snprintf(resp, sizeof(resp), "%s%s%s%s\r\n", head,
		     bad_accept ? "Sec-WebSocket-Accept: " : "", bad_accept ? bad_accept : "",
		     bad_accept ? acc : "");
	if (bad_accept)
		n += snprintf(resp + n, sizeof(resp) - (size_t)n, "\r\n");
	if (extra_len)
		memcpy(resp + n, extra, extra_len);
	n += (int)extra_len;
	assert_int_equal(send(srv, resp, (size_t)n, 0), n);
	while ((ret = drive(&c, &g)) == 0)
		;
	assert_int_equal(ret, want);
	ws_conn_close(&c);
	close(srv);
}

static void test_refusals(void **state)
{
	static const char ok[] = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n";
	/* A frame longer than the client accepts (2^31 bytes). */
	static const uint8_t huge[] = { 0x82, 0x7f, 0, 0, 0, 0, 0x80, 0, 0, 0 };

	(void)state;
	refused("HTTP/1.1 403 Forbidden\r\n", "", NULL, 0, -ECONNREFUSED);
	refused(ok, "x", NULL, 0, -EPROTO);
	refused(ok, NULL, NULL, 0, -EPROTO);
	refused("HTTP/1.1 101 OK\r\n", "", NULL, 0, -EPROTO);
	refused(ok, "", huge, sizeof(huge), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_upgrade_and_frames),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
