#ifndef TRANSPORT_TRANSPORT_H
#define TRANSPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * The WebSocket server: one vhost per listener, one connected UDP socket
 * per session towards the WireGuard port (opened when the session first
 * has a datagram to relay), on params.threads event loops. Each loop is a
 * struct transport with a libwebsockets context of its own, on a thread of
 * its own, and serves its sessions for their whole life.
 *
 * transport_create() returns loop 0: it listens (and hands connections to
 * the loops in turn), serves the admin endpoint and the watched signals.
 * Called with loop 0, transport_run/_shutdown/_reload_cert/_destroy,
 * transport_foreach_session and transport_session_count cover every loop;
 * they are for loop 0's thread. The per-session calls and
 * transport_set_hooks/_watch_fd are per loop: a session's calls are made
 * on the thread of transport_loop(t, transport_session_loop(id)) (any
 * loop's handle will do there). The hooks of a loop run on its thread.
 */
struct transport;
struct lws_protocols;

struct transport_listener {
	const char *host;	/* numeric; "::" or "0.0.0.0" = every address */
	uint16_t port;
	bool tls;
};

#define TRANSPORT_MAX_THREADS 16

struct transport_params {
	unsigned threads;	/* event loops, each on its own thread (0 = 1) */
	const struct transport_listener *listeners;
	unsigned n_listeners;
	const char *cert;	/* PEM, for the TLS listeners */
	const char *key;
	const char *wg_host;	/* numeric relay target */
	uint16_t wg_port;
	unsigned max_sessions;
	unsigned max_sessions_per_ip;
	unsigned idle_timeout;	/* seconds without a record */
	unsigned handshake_timeout;	/* seconds from accept to the magic */
	unsigned max_pending;	/* connections accepted and not yet upgraded */
	unsigned max_pending_per_ip;	/* of them from one address (IPv6: one /64) */
	unsigned send_queue;	/* datagrams queued per session towards the client */
	unsigned hold_queue;	/* records held per session (0 = a default) */
	unsigned hold_timeout;	/* seconds a hold may last (0 = a default) */
	/* An extra plain-HTTP vhost (the admin endpoint), or NULL. */
	const struct lws_protocols *admin_protocols;
	const char *admin_host;
	uint16_t admin_port;
	void *admin_user;	/* lws_get_vhost_user() of the admin vhost */
	/*
	 * A raw-socket vhost on a UNIX socket (the daemon's control socket,
	 * mode 0600), served by the first of ctl_protocols, or NULL.
	 */
	const struct lws_protocols *ctl_protocols;
	const char *ctl_path;
	void *ctl_user;		/* lws_get_vhost_user() of the control vhost */
};

/*
 * What happens to one decoded record (never a keepalive) of a session. The
 * hook runs on the loop and must not block; HOLD keeps the record, and every
 * later one of that session, in the session's hold queue until
 * transport_session_release() names that hold, or until hold_timeout
 * passes (the held records are then dropped and counted).
 */
enum transport_verdict { TRANSPORT_FORWARD, TRANSPORT_HOLD, TRANSPORT_DROP };

/* Per session, bytes the hooks may keep: zeroed when the session opens. */
#define TRANSPORT_HOOK_DATA 64

struct transport_record {
	uint64_t session_id;
	uint32_t hold;		/* the hold's number, should the hook answer HOLD */
	const char *remote;	/* the client's address */
	void *data;		/* TRANSPORT_HOOK_DATA bytes */
};

struct transport_hooks {
	enum transport_verdict (*record)(void *arg, const struct transport_record *r,
					 const uint8_t *record, size_t len);
	/* A session has gone (after its last record); data is its hook data. */
	void (*closed)(void *arg, uint64_t session_id, void *data);
	void *arg;
};

struct transport_session_info {
	uint64_t id;
	const char *remote;	/* "ADDR" of the client */
	const char *vhost;
	bool binary;
	int64_t started;	/* unix seconds */
	uint64_t records_in, records_out, bytes_in, bytes_out;
	unsigned held;
};

/*
 * For the admin endpoint's answers: a whole HTTP/1.1 response with status,
 * the extra headers (NULL name ends them) and body (NULL: none), on a
 * connection that closes after it. 0 or -1.
 */
struct lws;
struct transport_http_header {
	const char *name, *value;
};
int transport_http_answer(struct lws *wsi, unsigned status,
			  const struct transport_http_header *extra, const char *body);

int transport_create(const struct transport_params *p, struct transport **out);
void transport_destroy(struct transport *t);

/* The loops: transport_loop(t, 0) is loop 0, and so on up to transport_loops(t) - 1. */
unsigned transport_loops(const struct transport *t);
struct transport *transport_loop(struct transport *t, unsigned i);
/* The loop that serves a session. */
static inline unsigned transport_session_loop(uint64_t session_id)
{
	return (unsigned)(session_id & (TRANSPORT_MAX_THREADS - 1));
}

/*
 * Runs loop 0 on this thread and every other loop on a thread of its own,
 * until transport_shutdown() has finished on all; returns 0 or -errno.
 */
int transport_run(struct transport *t);

/*
 * Refuses new connections, sends every session a close (1001 going away)
 * and makes transport_run() return once they are gone or after
 * grace_seconds.
 */
void transport_shutdown(struct transport *t, unsigned grace_seconds);

/*
 * Loads a new certificate + key into every TLS vhost of every loop, as a
 * pair; live sessions keep theirs.
 */
int transport_reload_cert(struct transport *t, const char *cert, const char *key,
			  char *err, size_t errlen);

/*
 * What may change while sessions run (a reload); the other parameters
 * size the descriptor budget, the libwebsockets contexts and each
 * session's queues at start.
 */
struct transport_limits {
	unsigned max_sessions_per_ip;	/* for sessions that come next; none is closed */
	unsigned max_pending_per_ip;	/* at most what the descriptor budget gave pending */
	unsigned idle_timeout;		/* seconds; every open session is checked again */
};

/* Sets them on every loop, on the loop's thread; l gets the values in effect. */
void transport_set_limits(struct transport *t, struct transport_limits *l);

/* libwebsockets' own lines follow log_get_level() again (its notices at debug). */
void transport_log_level_changed(void);

void transport_set_hooks(struct transport *t, const struct transport_hooks *hooks);

/*
 * Ends the hold numbered hold: forward=true sends the held records in
 * order, false drops them. -ENOENT when the session has gone meanwhile,
 * -ESTALE when that hold is over (timed out).
 */
int transport_session_release(struct transport *t, uint64_t session_id, uint32_t hold,
			      bool forward);

/* The session's hook data, or NULL when it has gone. */
void *transport_session_data(struct transport *t, uint64_t session_id);

/*
 * The local address of the session's relay socket (the source WireGuard
 * sees), opening the socket if the session has none yet. -ENOENT, or why
 * the socket could not be opened.
 */
int transport_session_endpoint(struct transport *t, uint64_t session_id,
			       struct sockaddr_storage *out);

/* Closes the session with a close frame of code and reason (logged). -ENOENT. */
int transport_session_close(struct transport *t, uint64_t session_id, uint16_t code,
			    const char *reason);

/*
 * Calls fn for every session, on its loop's thread: one loop after
 * another, while the caller waits.
 */
void transport_foreach_session(struct transport *t,
			       void (*fn)(void *arg, const struct transport_session_info *),
			       void *arg);
/* Sessions open on every loop. */
unsigned transport_session_count(const struct transport *t);

/*
 * Watches a readable fd (a signalfd, an eventfd) on the loop; fn runs when
 * it is readable and must drain it. The transport closes fd when destroyed.
 */
int transport_watch_fd(struct transport *t, int fd, void (*fn)(void *arg), void *arg);

#endif
