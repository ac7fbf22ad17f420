#ifndef TRANSPORT_CLIENT_H
#define TRANSPORT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netdb.h>
#include <openssl/ssl.h>

/*
 * A non-blocking WebSocket client connection (RFC 6455) over TLS or plain
 * TCP, driven by the caller's poll loop: the client half of wssc, shared with
 * the benchmark tools. All functions return 0 or -errno.
 */

#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xA

struct ws_url {
	bool tls;
	char host[256];		/* without brackets */
	char port[8];
	char path[1024];	/* starts with '/' */
	char origin[1300];	/* the URL as given */
};

/* ws://HOST[:PORT][/PATH] or wss://…; HOST may be [V6]. */
int ws_url_parse(const char *text, struct ws_url *u, char *err, size_t errlen);

enum ws_state { WS_CONNECTING, WS_TLS, WS_UPGRADE, WS_OPEN };

/* Called with the payload of each data frame, in order. */
typedef int (*ws_data_fn)(void *ctx, const uint8_t *data, size_t len);

struct ws_conn {
	int fd;
	SSL *ssl;
	enum ws_state state;
	bool want_write;	/* the socket or TLS needs POLLOUT */
	bool read_wants_write;	/* SSL_read must write before it can go on */
	const char *protocol;	/* subprotocol offered, or NULL */
	bool protocol_accepted;
	char tls_error[160];	/* why the TLS handshake failed, for the log */
	char key[32];		/* Sec-WebSocket-Key */
	uint32_t mask_state;
	uint8_t *out;		/* bytes queued for the socket: out[out_off..out_len) */
	size_t out_off, out_len, out_cap;
	uint8_t *in;		/* bytes read and not yet parsed */
	size_t in_len, in_cap;
};

/*
 * Starts a non-blocking connect to addr and queues the upgrade request.
 * ssl_ctx NULL means plain TCP.
 */
int ws_conn_start(struct ws_conn *c, const struct ws_url *u, const struct addrinfo *addr,
		  SSL_CTX *ssl_ctx, const char *protocol);

/* Sends a close frame (1000) and the TLS close_notify, as far as the socket takes them now. */
void ws_conn_shutdown(struct ws_conn *c);

/* Releases everything; the connection may be started again. */
void ws_conn_close(struct ws_conn *c);

/*
 * Drives the connection after poll reported revents on c->fd: connect, TLS
 * handshake, upgrade, then reads frames into fn and writes queued bytes.
 * Returns 0, or -errno when the connection is finished (-ECONNRESET when
 * the peer closed).
 */
int ws_conn_io(struct ws_conn *c, short revents, ws_data_fn fn, void *ctx);

/* Writes what is queued, as far as the socket takes it. */
int ws_conn_flush(struct ws_conn *c);

/* A client frame's header: FIN, opcode, the masked length, the mask. */
#define WS_FRAME_HEADER_MAX 14
size_t ws_frame_header(uint8_t hdr[WS_FRAME_HEADER_MAX], int op, size_t len,
		       const uint8_t mask[4]);

/* Queues one message (single frame) of opcode op; -ENOBUFS over limit bytes queued. */
int ws_conn_send(struct ws_conn *c, int op, const uint8_t *data, size_t len, size_t limit);

/* Bytes queued and not yet written. */
static inline size_t ws_conn_pending(const struct ws_conn *c)
{
	return c->out_len - c->out_off;
}

/* The poll events the connection needs now. */
short ws_conn_events(const struct ws_conn *c);

/* An SSL_CTX for clients: verify against ca (or the system store) unless insecure. */
SSL_CTX *ws_ssl_ctx(bool insecure, const char *ca, char *err, size_t errlen);

#endif
