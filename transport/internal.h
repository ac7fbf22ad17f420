#ifndef TRANSPORT_INTERNAL_H
#define TRANSPORT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "transport/pending.h"
#include "transport/session.h"
#include "transport/transport.h"

/*
 * What the server's files share: the transport (one lws context on one
 * libuv loop, and everything that loop owns) and the functions each file
 * offers the others.
 */
#define TRANSPORT_MAX_VHOSTS 17
#define TRANSPORT_HOLD_DEFAULT 16
#define TRANSPORT_HOLD_TIMEOUT_DEFAULT 3
/* The send queue's bytes: websocket.send_queue times this. */
#define TRANSPORT_SENDQ_SLOT_BYTES 2048
/* What one lws_write() may hand lws: the largest frame (writer.c), so lws never cuts it. */
#define TRANSPORT_WRITE_MAX (10 + 4 + 65535)

struct fd_watch {
	struct fd_watch *next;
	void (*fn)(void *arg);
	void *arg;
	struct lws *wsi;
};

/* Why an upgrade request was answered with 400 or 426 (upgrade.c). */
enum upgrade_bad {
	UPGRADE_OK = -1,
	UPGRADE_BAD_NOT_UPGRADE,	/* plain HTTP: 426 */
	UPGRADE_BAD_UPGRADE,		/* Upgrade: something else than websocket */
	UPGRADE_BAD_METHOD,
	UPGRADE_BAD_HTTP_VERSION,
	UPGRADE_BAD_HOST,
	UPGRADE_BAD_CONNECTION,
	UPGRADE_BAD_KEY,
	UPGRADE_BAD_VERSION,		/* Sec-WebSocket-Version not 13: 426 */
	UPGRADE_BAD_SUBPROTOCOL,
	UPGRADE_BAD_N
};

struct transport_metrics {
	struct metric *sessions, *sessions_total;
	struct metric *records_in, *records_out, *bytes_in, *bytes_out, *keepalives;
	struct metric *drop_send_queue, *drop_hook, *drop_udp_send, *drop_wg_unreachable,
		*drop_relay_socket, *relay_icmp;
	struct metric *held_full, *held_refused, *held_timeout;
	struct metric *refused_max, *refused_per_ip, *refused_shutdown, *refused_fds;
	struct metric *perr_magic, *perr_length, *perr_truncated, *perr_tls, *perr_nomem;
	struct metric *idle_closes, *cert_reloads;
	struct metric *perr_close_code;
	struct metric *closes[SESSION_END_N];	/* every session's end, by reason */
	struct metric *bad_upgrades[UPGRADE_BAD_N];
};

struct relay_loop;
struct loop_call;

/* What the loops of one transport share: the limits are over all of them. */
struct transport_shared {
	struct ip_table ipt;		/* sessions per address */
	struct ip_table pending_ipt;	/* connections not yet upgraded, per address */
	atomic_uint sessions;		/* open, on every loop */
	atomic_uint relay_sockets;
	atomic_uint pending;		/* not yet upgraded, on every loop */
	unsigned pending_cap;		/* at most this many pending (listen.c) */
	atomic_uint trim_peak;		/* most connections held since the last trim (trim.c) */
	atomic_bool trim_scheduled;
	_Atomic int64_t trim_next;	/* no trim before */
	unsigned fd_budget;		/* descriptors for sessions, relay sockets and pending */
	unsigned fd_limit;		/* RLIMIT_NOFILE, as raised */
	/*
	 * Given to lws as every TLS vhost's client context: left to itself, lws
	 * builds one a loop, loading the system's CA store into it (about 1 MB),
	 * for client connections wssd never makes from them.
	 */
	SSL_CTX *unused_client_ctx;
	unsigned n_loops;
	unsigned next_loop;		/* loop 0's turn for handing out connections */
	struct transport *loops[TRANSPORT_MAX_THREADS];
	pthread_t threads[TRANSPORT_MAX_THREADS];
};

struct transport {
	uv_loop_t loop;			/* lws runs on it: epoll, not lws's poll() */
	bool loop_open;
	struct lws_context *ctx;
	struct lws_vhost *internal_vhost;	/* listens nowhere: the raw descriptors' */
	struct transport_params p;
	struct transport_shared *sh;
	unsigned index;			/* which loop: 0 listens, serves admin and signals */
	uv_async_t wake;		/* calls from other loops' threads (loops.c) */
	bool wake_open;
	pthread_mutex_t call_lock;
	pthread_cond_t call_done;
	struct loop_call *calls;
	bool running;			/* its thread serves calls */
	pthread_t thread;
	struct sockaddr_storage wg_addr;
	socklen_t wg_addrlen;
	bool wg_loopback4;		/* relay sockets get a source per client (relay.c) */
	struct session_table st;
	struct pending_table pending;	/* its connections not yet upgraded */
	struct relay_loop *relay;	/* the relay's batches and buffers */
	uint8_t *wbuf;			/* frames being written to a client (writer.c) */
	uv_check_t turn_check;		/* the end of each turn (turn.c) */
	uv_idle_t turn_idle;
	bool turn_open;
	struct lws_dll2_owner tls_pending;	/* sessions whose socket was read */
	struct session *serving;	/* being served from OpenSSL's buffer */
	struct lws_dll2_owner busy;	/* sessions relaying */
	lws_sorted_usec_list_t sul_sweep;
	lws_sorted_usec_list_t sul_trim;	/* malloc_trim after many connections end (trim.c) */
	char vhost_names[TRANSPORT_MAX_VHOSTS][24];	/* lws keeps the pointers */
	SSL_CTX *ssl_ctx[TRANSPORT_MAX_VHOSTS];
	unsigned n_ssl_ctx;
	struct transport_hooks hooks;
	struct fd_watch *watches;
	bool stopping;
	bool done;
	lws_sorted_usec_list_t sul_grace;
	struct transport_metrics m;
};

/* context.c */
void transport_loop_stop(struct transport *t);
void transport_shutdown_loop(struct transport *t, unsigned grace_seconds);

/* loops.c: the loops' threads, and calls from one loop's thread to another's */
int loop_calls_init(struct transport *t);
void loop_calls_close(struct transport *t);
void loops_start(struct transport_shared *sh);
void loop_run(struct transport *t);
void loops_join(struct transport_shared *sh);
/* Runs fn on t's thread and waits for it (at once when that is this thread, or t has stopped). */
void loop_call(struct transport *t, void (*fn)(struct transport *t, void *arg), void *arg);
/* Hands an accepted connection of loop 0's vhost to another loop; false: serve it here. */
bool loop_hand_over(struct transport *t, struct lws *wsi, int fd);
int transport_fd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len);

/* metrics.c */
void transport_metrics_register(struct transport_metrics *m);

/* listen.c: vhosts, listeners and the descriptor budget */
unsigned transport_fd_budget(struct transport *t);
/* websocket.max_pending_per_ip as it can be: at most what pending may hold in all (logged). */
unsigned pending_per_ip_limit(const struct transport_shared *sh, unsigned want);
bool transport_fds_full(const struct transport *t);
int transport_listen(struct transport *t);
struct lws_vhost *transport_internal_vhost(struct transport *t,
					   const struct lws_protocols *protocols);

/* ws.c: the wswg protocols, all a client can reach */
extern const struct lws_protocols transport_protocols[];
struct transport *transport_of(struct lws *wsi);
void session_peer_addr(struct lws *wsi, char *out, size_t len);
/* session_peer_addr's, and the key max_sessions_per_ip counts it under (addr_client_key). */
void session_peer(struct lws *wsi, char *remote, size_t rlen, char *client, size_t clen);

/* ends.c: how sessions end */
const char *session_end_name(enum session_end why);
/* Closes with code and reason; why is what its log line and counter say. */
void session_end(struct session *s, enum session_end why, uint16_t code, const char *reason);
/* The client's close frame (LWS_CALLBACK_WS_PEER_INITIATED_CLOSE). */
int session_peer_close(struct session *s, const uint8_t *payload, size_t len);
/* The session's last line and its counter (LWS_CALLBACK_CLOSED). */
void session_log_end(struct session *s);

/* upgrade.c: the HTTP request before the upgrade */
const char *upgrade_bad_name(enum upgrade_bad why);
int upgrade_check(struct transport *t, struct lws *wsi, const char *upgrade);
int upgrade_not_websocket(struct transport *t, struct lws *wsi);

/* writer.c: what goes towards the client */
int writer_init(struct transport *t);
void writer_free(struct transport *t);
void session_send(struct session *s, const struct iovec *records, unsigned n);
void session_close(struct session *s, uint16_t code, const char *reason);
void send_close_frame(struct lws *wsi, uint16_t code, const char *reason);
int session_writable(struct session *s);

/* tls.c */
void tls_capture_ctx(struct transport *t, SSL_CTX *ssl_ctx);
int tls_info(struct transport *t, struct lws *wsi, const struct lws_ssl_info *si);
void tls_session_open(struct session *s);
void tls_session_close(struct session *s);
void tls_busy(struct session *s);
void tls_quiet(struct session *s);

/* turn.c: the end of each turn of the loop */
int turn_init(struct transport *t);
void turn_close(struct transport *t);
void turn_tls_read(struct session *s);
void turn_busy(struct session *s);
void turn_session_gone(struct session *s);

/* trim.c: memory back to the system once many connections have ended */
void trim_grew(struct transport *t);
void trim_shrank(struct transport *t);
void trim_close(struct transport *t);

/* relay.c: each session's UDP socket towards WireGuard */
int relay_loop_new(struct transport *t);
void relay_loop_free(struct transport *t);
int relay_open(struct session *s);
int relay_forward(struct session *s, const uint8_t *record, size_t len);
void relay_flush(struct transport *t);
void relay_discard(struct session *s);

#endif
