#ifndef JIT_ENGINE_IMPL_H
#define JIT_ENGINE_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "jit/admit.h"
#include "jit/engine.h"
#include "jit/keymap.h"
#include "jit/lookup.h"

/* Shared by the engine's files: engine.c (thread, ports), engine-jit.c, engine-sync.c. */

struct jit_port {
	struct jit_engine *e;
	pthread_mutex_t lock;
	bool lock_ready;
	struct jit_request *req;	/* ring of cap */
	unsigned req_head, n_req;
	struct jit_answer *ans;		/* ring of cap */
	unsigned ans_head, n_ans;
	unsigned cap;
	unsigned outstanding;		/* submitted and not yet drained */
	int efd;			/* answers are ready */
	struct jit_port *next;
};

/* A request waiting for its key's job. */
struct waiter {
	struct jit_port *port;
	struct jit_request req;
	struct waiter *next;
};

/* A key whose job runs: since when, and who waits for it. */
struct pending {
	int64_t since;		/* monotonic microseconds */
	struct waiter *waiters;
};

enum { MOVE_DONE, MOVE_TOO_SOON, MOVE_FAILED, MOVE_RESULTS };

struct engine_metrics {
	struct metric *unwrap_failures[NOISE_RESULT_COUNT];
	struct metric *mem_installed, *mem_pending, *mem_replay;
	struct metric *lookups[4][4];		/* [source][result] */
	struct metric *refused_busy, *jobs_expired;
	struct metric *cp_requests[4];		/* by enum control_status */
	struct metric_histogram *cp_seconds, *provision_seconds;
	struct metric *installs, *install_failures, *peers_installed;
	struct metric *moves[MOVE_RESULTS];
};

struct jit_engine {
	struct jit_engine_options o;
	struct noise_responder *noise;
	struct admit *admit;
	struct provision *prov;
	struct jit_port *ports;
	pthread_t thread;
	bool running;
	volatile bool stopping;
	int wake_fd;			/* a port has requests */
	int timer_fd;
	int64_t next_prune, next_reap;

	struct keymap pending;		/* key -> struct pending */
	struct keymap installed;	/* key -> struct installed_peer: what wssd installed */
	uint8_t *adopt;			/* keys on the device at start, for admit */
	size_t n_adopt;
	unsigned installed_count;

	struct trigger *triggers, **triggers_tail;	/* engine-trigger.c, in due order */

	pthread_mutex_t carriers_lock;
	struct keymap carriers;		/* key -> unsigned: open sessions carrying it */
	bool carriers_ready;

	struct engine_metrics m;
};

/* A keepalive to set on a peer when due (engine-trigger.c). */
struct trigger {
	uint8_t key[WG_KEY_LEN];
	uint16_t keepalive;
	int64_t due;			/* monotonic microseconds */
	struct trigger *next;
};

/* A peer's endpoint, as compact as the families it can be. */
union engine_endpoint {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* What the engine remembers of a peer it installed (or found installed). */
struct installed_peer {
	int64_t installed_at;		/* unix seconds */
	int64_t moved_at;		/* monotonic microseconds: installed or last moved (0: before start) */
	union engine_endpoint endpoint;	/* as installed (family 0: none known) */
	uint16_t keepalive;		/* likewise */
	uint8_t via;			/* enum store_via */
};

void port_free(struct jit_port *p);
void port_answer(struct jit_port *p, const struct jit_answer *a);
/* Answers an initiation (or a command) with a verdict and its reason. */
void answer_request(struct jit_port *p, const struct jit_request *r, bool forward,
		    const uint8_t *key, const char *reason);

/* engine-jit.c: requests, results, pending keys, metrics */
int engine_state_init(struct jit_engine *e);
void engine_state_free(struct jit_engine *e);
void engine_metrics_register(struct jit_engine *e);
void engine_request(struct jit_engine *e, struct jit_port *p, const struct jit_request *r);
void engine_results(struct jit_engine *e);
void engine_expire_pending(struct jit_engine *e, int64_t now);

/*
 * engine-sync.c: the device against the store. After start, everything that
 * reads or changes both runs while no install is under way (provision_exclusive).
 */
int engine_reconcile(struct jit_engine *e);
void engine_reap(struct jit_engine *e);
int engine_adopt(struct jit_engine *e);
int engine_evict(struct jit_engine *e, const uint8_t key[WG_KEY_LEN]);
/* Points an installed peer at a new endpoint and makes the device initiate there. */
int engine_move(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], struct installed_peer *ip,
		const struct sockaddr *to);
char *engine_installed_text(struct jit_engine *e, bool json, int *status);

/*
 * engine-trigger.c: role inversion's keepalive, set a moment after the peer
 * went in without one. wait_ms: poll()'s timeout until the next is due.
 */
void engine_trigger(struct jit_engine *e, const uint8_t key[WG_KEY_LEN], uint16_t keepalive);
int engine_trigger_wait_ms(const struct jit_engine *e, int64_t now);
void engine_triggers_run(struct jit_engine *e, int64_t now);
void engine_triggers_free(struct jit_engine *e);

bool engine_endpoint_equal(const union engine_endpoint *a, const struct sockaddr *b);
void engine_endpoint_set(union engine_endpoint *out, const struct sockaddr *sa);

#endif
