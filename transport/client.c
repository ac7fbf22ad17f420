#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "transport/client-impl.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_HEADERS 8192
#define WS_READ_CHUNK 65536

int ws_reserve(uint8_t **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	uint8_t *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

int ws_queue_bytes(struct ws_conn *c, const void *data, size_t len)
{
	int ret;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	ret = ws_reserve(&c->out, &c->out_cap, c->out_len + len);
	if (ret)
		return ret;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

static void accept_value(const char *key, char out[32])
{
	unsigned char digest[SHA_DIGEST_LENGTH];
	char buf[80];

	snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
	SHA1((const unsigned char *)buf, strlen(buf), digest);
	EVP_EncodeBlock((unsigned char *)out, digest, sizeof(digest));
}

int ws_conn_start(struct ws_conn *c, const struct ws_url *u, const struct addrinfo *addr,
		  SSL_CTX *ssl_ctx, const char *protocol)
{
	unsigned char nonce[16];
	char req[3072];
	struct in6_addr a6;
	struct in_addr a4;
	bool literal;
	int one = 1, n, ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->protocol = protocol;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    RAND_bytes((unsigned char *)&c->mask_state, sizeof(c->mask_state)) != 1)
		return -EIO;
	c->mask_state |= 1;
	EVP_EncodeBlock((unsigned char *)c->key, nonce, sizeof(nonce));

	c->fd = socket(addr->ai_family, addr->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       addr->ai_protocol);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, addr->ai_addr, addr->ai_addrlen) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		goto fail;
	}
	c->state = WS_CONNECTING;
	c->want_write = true;

	if (ssl_ctx) {
		c->ssl = SSL_new(ssl_ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
			ret = -ENOMEM;
			goto fail;
		}
		literal = inet_pton(AF_INET, u->host, &a4) == 1 ||
			  inet_pton(AF_INET6, u->host, &a6) == 1;
		if (!literal)
			SSL_set_tlsext_host_name(c->ssl, u->host);
		if (SSL_get_verify_mode(c->ssl) != SSL_VERIFY_NONE &&
		    (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host)
			     : SSL_set1_host(c->ssl, u->host)) != 1) {
			ret = -EINVAL;
			goto fail;
		}
		SSL_set_connect_state(c->ssl);
	}

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s%s%s%s%s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "Origin: %s\r\n"
		     "%s%s%s"
		     "\r\n",
		     u->path, strchr(u->host, ':') ? "[" : "", u->host,
		     strchr(u->host, ':') ? "]" : "",
		     strcmp(u->port, u->tls ? "443" : "80") ? ":" : "",
		     strcmp(u->port, u->tls ? "443" : "80") ? u->port : "",
		     c->key, u->origin,
		     protocol ? "Sec-WebSocket-Protocol: " : "", protocol ? protocol : "",
		     protocol ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req)) {
		ret = -ENAMETOOLONG;
		goto fail;
	}
	ret = ws_queue_bytes(c, req, (size_t)n);
	if (ret)
		goto fail;
	return 0;
fail:
	ws_conn_close(c);
	return ret;
}

void ws_conn_shutdown(struct ws_conn *c)
{
	static const uint8_t normal[2] = { 0x03, 0xe8 };

	if (c->state != WS_OPEN)
		return;
	if (ws_conn_send(c, WS_OP_CLOSE, normal, sizeof(normal), SIZE_MAX) == 0)
		ws_conn_flush(c);
	if (c->ssl)
		SSL_shutdown(c->ssl);
}

void ws_conn_close(struct ws_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->out);
	free(c->in);
	c->out = c->in = NULL;
	c->out_cap = c->out_off = c->out_len = 0;
	c->in_cap = c->in_len = 0;
	ERR_clear_error();
}

/* TLS or plain read/write: >0 bytes, 0 would block, <0 -errno (-ECONNRESET at EOF). */
static ssize_t sock_read(struct ws_conn *c, void *buf, size_t len)
{
	ssize_t n;

	if (!c->ssl) {
		n = read(c->fd, buf, len);
		if (n > 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	}
	c->read_wants_write = false;
	n = SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, (int)n)) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->read_wants_write = true;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

static ssize_t sock_write(struct ws_conn *c, const void *buf, size_t len)
{
	ssize_t n;

	if (!c->ssl) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	}
	n = SSL_write(c->ssl, buf, (int)(len > 1u << 30 ? 1u << 30 : len));
	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, (int)n)) {
	case SSL_ERROR_WANT_WRITE:
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : -EPIPE;
	default:
		return -EPROTO;
	}
}

int ws_conn_flush(struct ws_conn *c)
{
	c->want_write = false;
	if (c->state < WS_UPGRADE)
		return 0;
	while (c->out_off < c->out_len) {
		ssize_t n = sock_write(c, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0)
			return (int)n;
		if (n == 0) {
			c->want_write = true;
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return 0;
}

short ws_conn_events(const struct ws_conn *c)
{
	short ev = POLLIN;

	if (c->state == WS_CONNECTING || c->want_write || c->read_wants_write ||
	    c->out_off < c->out_len)
		ev |= POLLOUT;
	return ev;
}

/* Parses the server's 101 answer in c->in; >0 = bytes of headers, 0 = need more. */
static ssize_t parse_upgrade(struct ws_conn *c)
{
	char want[32], *hdrs, *end, *line, *next;
	bool accepted = false, upgrade = false;
	size_t hlen;

	end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (!end)
		return c->in_len > WS_MAX_HEADERS ? -EPROTO : 0;
	hlen = (size_t)(end - (char *)c->in) + 4;
	hdrs = strndup((char *)c->in, hlen - 2);
	if (!hdrs)
		return -ENOMEM;
	accept_value(c->key, want);
	if (strncmp(hdrs, "HTTP/1.1 101", 12) != 0) {
		free(hdrs);
		return -ECONNREFUSED;
	}
	for (line = strstr(hdrs, "\r\n"); line; line = next) {
		char *colon, *val;

		line += 2;
		next = strstr(line, "\r\n");
		if (!next)
			break;
		*next = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		for (char *t = val + strlen(val); t > val && (t[-1] == ' ' || t[-1] == '\t'); t--)
			t[-1] = '\0';
		if (!strcasecmp(line, "Sec-WebSocket-Accept"))
			accepted = !strcmp(val, want);
		else if (!strcasecmp(line, "Upgrade"))
			upgrade = !strcasecmp(val, "websocket");
		else if (!strcasecmp(line, "Sec-WebSocket-Protocol"))
			c->protocol_accepted = c->protocol && !strcmp(val, c->protocol);
		*next = '\r';
	}
	free(hdrs);
	if (!accepted || !upgrade)
		return -EPROTO;
	return (ssize_t)hlen;
}

static int do_read(struct ws_conn *c, ws_data_fn fn, void *ctx)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n, used;
		int ret;

		ret = ws_reserve(&c->in, &c->in_cap, c->in_len + WS_READ_CHUNK);
		if (ret)
			return ret;
		n = sock_read(c, c->in + c->in_len, c->in_cap - c->in_len);
		if (n <= 0)
			return (int)n;
		c->in_len += (size_t)n;
		if (c->state == WS_UPGRADE) {
			used = parse_upgrade(c);
			if (used < 0)
				return (int)used;
			if (used == 0)
				continue;
			memmove(c->in, c->in + used, c->in_len - (size_t)used);
			c->in_len -= (size_t)used;
			c->state = WS_OPEN;
		}
		used = ws_parse_frames(c, fn, ctx);
		if (used < 0)
			return (int)used;
		memmove(c->in, c->in + used, c->in_len - (size_t)used);
		c->in_len -= (size_t)used;
	}
	return 0;
}

static void tls_failure(struct ws_conn *c)
{
	long verify = SSL_get_verify_result(c->ssl);
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (verify != X509_V_OK)
		snprintf(c->tls_error, sizeof(c->tls_error), "certificate: %s",
			 X509_verify_cert_error_string(verify));
	else
		snprintf(c->tls_error, sizeof(c->tls_error), "%s",
			 reason ? reason : "handshake failed");
	ERR_clear_error();
}

int ws_conn_io(struct ws_conn *c, short revents, ws_data_fn fn, void *ctx)
{
	int ret;

	if (c->state == WS_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return -errno;
		if (soerr)
			return -soerr;
		c->state = c->ssl ? WS_TLS : WS_UPGRADE;
	}
	if (c->state == WS_TLS) {
		ret = SSL_do_handshake(c->ssl);
		if (ret != 1) {
			switch (SSL_get_error(c->ssl, ret)) {
			case SSL_ERROR_WANT_READ:
				c->want_write = false;
				return 0;
			case SSL_ERROR_WANT_WRITE:
				c->want_write = true;
				return 0;
			default:
				tls_failure(c);
				return -EPROTO;
			}
		}
		c->state = WS_UPGRADE;
	}
	ret = ws_conn_flush(c);
	if (ret)
		return ret;
	if (revents & (POLLIN | POLLHUP | POLLERR) || c->ssl) {
		ret = do_read(c, fn, ctx);
		if (ret)
			return ret;
	}
	return ws_conn_flush(c);
}
