#ifndef TRANSPORT_SESSION_H
#define TRANSPORT_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "common/addr.h"
#include "transport/frame.h"
#include "transport/gate.h"
#include "transport/recq.h"
#include "transport/transport.h"

/* Why a session ended: its close line's reason= and wssd_session_closes_total{reason}. */
enum session_end {
	SESSION_END_CONNECTION_LOST,	/* no close handshake: EOF, reset, lws refused a frame */
	SESSION_END_CLIENT_CLOSE,	/* the client sent a close frame */
	SESSION_END_IDLE,
	SESSION_END_HANDSHAKE_TIMEOUT,	/* no magic by the handshake deadline */
	SESSION_END_PROTOCOL_ERROR,
	SESSION_END_SHUTDOWN,
	SESSION_END_SERVER,		/* transport_session_close() */
	SESSION_END_WRITE_FAILED,
	SESSION_END_NO_MEMORY,
	SESSION_END_N
};

/* One WebSocket client: lws's per-session data (pss) of the wswg protocols. */
struct session {
	struct transport *t;
	struct lws *wsi;
	SSL *ssl;			/* from the upgrade on, when TLS */
	struct relay_sock *relay;	/* the relay socket, from the first datagram on */
	int udp_fd;
	struct sockaddr_storage relay_local;	/* the relay socket's address, once open */
	bool relay_warned;		/* relay_open_failed logged */
	uint64_t id;
	const char *listener;		/* its vhost's name */
	struct session *id_next;	/* hash chain */
	struct session *prev, *next;	/* every session */
	struct frame_decoder dec;
	struct recq sendq;		/* datagrams towards the client, while it is slow */
	bool write_failed;
	struct lws_dll2 tls_pending;	/* read from: OpenSSL may hold whole records (turn.c) */
	struct lws_dll2 busy_link;	/* relaying: keeps its TLS buffers (turn.c) */
	bool busy_seen;			/* relayed since the last sweep */
	struct gate gate;		/* records held for the record hook */
	lws_sorted_usec_list_t sul_hold;	/* the hold's deadline */
	uint8_t hook_data[TRANSPORT_HOOK_DATA];
	bool binary;
	bool registered;
	uint16_t close_code;		/* non-zero: close at the next writable */
	const char *close_reason;
	enum session_end end;
	uint16_t peer_close_code;	/* the client's close frame's */
	int64_t handshake_deadline;	/* monotonic microseconds, for the magic */
	lws_sorted_usec_list_t sul_idle;
	int64_t last_record;		/* monotonic microseconds */
	int64_t started;		/* unix seconds */
	uint64_t records_in, records_out, bytes_in, bytes_out;
	char remote[48];
	char client[ADDR_KEY_TEXT];	/* what max_sessions_per_ip counts: IPv6 by /64 */
};

/* Per-client (addr_client_key) counts. */
struct ip_count {
	struct ip_count *next;
	unsigned count;
	char addr[48];
};

#define SESSION_BUCKETS 4096
#define IP_BUCKETS 1024
/* A session's id names its loop in its low bits (transport_session_loop()). */
#define SESSION_LOOP_BITS 4

/* Per-client counts, one table for every loop of a transport (sessions; pending ones). */
struct ip_table {
	pthread_mutex_t lock;
	struct ip_count *b[IP_BUCKETS];
};

void ip_table_init(struct ip_table *ipt);
void ip_table_free(struct ip_table *ipt);
unsigned ip_table_count(struct ip_table *ipt, const char *key);
/* One more for key, unless limit (0: none) is reached: -EDQUOT then; -ENOMEM. */
int ip_table_add(struct ip_table *ipt, const char *key, unsigned limit);
void ip_table_del(struct ip_table *ipt, const char *key);

/* One loop's sessions. */
struct session_table {
	struct session *ids[SESSION_BUCKETS];
	struct ip_table *ipt;
	struct session *all;
	unsigned count;
	uint64_t next_id;
	unsigned loop;
};

void session_table_init(struct session_table *st, struct ip_table *ipt, unsigned loop);
unsigned session_ip_count(struct session_table *st, const char *client);
int session_add(struct session_table *st, struct session *s);
void session_remove(struct session_table *st, struct session *s);
struct session *session_find(struct session_table *st, uint64_t id);

#endif
