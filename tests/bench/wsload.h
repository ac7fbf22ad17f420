#ifndef TESTS_BENCH_WSLOAD_H
#define TESTS_BENCH_WSLOAD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/client.h"

/* What wsload's parts share: its sessions and the closed-loop echo (wsload-echo.c). */
struct sess {
	struct ws_conn ws;
	uint32_t events;	/* registered with epoll */
	bool open;
	bool dead;
	/* the echo */
	uint64_t next_send, next_expect;
	unsigned inflight;
	double last_rx;
};

struct echo_opts {
	unsigned window;
	size_t size;
	double seconds, warmup;
	bool binary;
};

extern volatile sig_atomic_t wsload_stop;

double now_s(void);
void rearm(int ep, struct sess *s);

/*
 * Each open session keeps window records in flight and sends another as
 * each echo comes back; prints one "echo ..." line of the measured
 * seconds after warmup. Returns 0, or 1 when no session could be driven.
 */
int echo_ws(struct sess *ss, unsigned n, int ep, const struct echo_opts *o);

/* The same over plain UDP, n connected sockets to spec (HOST:PORT). */
int echo_udp(const char *spec, unsigned n, const struct echo_opts *o);

#endif
