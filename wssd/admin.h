#ifndef WSSD_ADMIN_H
#define WSSD_ADMIN_H

#include <time.h>

struct transport;
struct lws_protocols;

/* The admin vhost's user data: GET /metrics (Prometheus text) and GET /status (JSON). */
struct admin {
	struct transport *t;
	time_t started;
};

const struct lws_protocols *admin_protocols(void);

#endif
