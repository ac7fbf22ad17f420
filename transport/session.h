#ifndef TRANSPORT_SESSION_H
#define TRANSPORT_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "transport/frame.h"
#include "transport/gate.h"
#include "transport/recq.h"
#include "transport/transport.h"

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
	struct ip_count *ipc;
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
	lws_sorted_usec_list_t sul_idle;
	int64_t last_record;		/* monotonic microseconds */
	int64_t started;		/* unix seconds */
	uint64_t records_in, records_out, bytes_in, bytes_out;
	char remote[48];
};

/* Per-source-address session counts. */
struct ip_count {
	struct ip_count *next;
	unsigned count;
	char addr[48];
};

#define SESSION_BUCKETS 4096
#define IP_BUCKETS 1024
/* A session's id names its loop in its low bits (transport_session_loop()). */
#define SESSION_LOOP_BITS 4

/* The per-address counts, one table for every loop of a transport. */
struct ip_table {
	pthread_mutex_t lock;
	struct ip_count *b[IP_BUCKETS];
};

void ip_table_init(struct ip_table *ipt);
void ip_table_free(struct ip_table *ipt);

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
unsigned session_ip_count(struct session_table *st, const char *addr);
int session_add(struct session_table *st, struct session *s);
void session_remove(struct session_table *st, struct session *s);
struct session *session_find(struct session_table *st, uint64_t id);

#endif
