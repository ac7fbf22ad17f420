#ifndef WSSD_CTL_H
#define WSSD_CTL_H

#include <stdint.h>
#include <time.h>

struct ctl_conn;
struct lws_protocols;
struct pipeline;
struct transport;

/*
 * The control socket (admin.socket), wssctl's way into the daemon: one
 * request line per connection, one answer, then the daemon closes it.
 *
 *   request:  COMMAND [ARGUMENT]\n          (at most CTL_LINE_MAX bytes)
 *   answer:   ok\n BODY                     or   error MESSAGE\n
 *
 * sessions [json], stats [json] and installed [json] answer a table (JSON
 * with "json"); evict KEY answers "evicted KEY"; pubkey the gateway's
 * public key in base64; reload does what SIGHUP does and answers what
 * changed.
 */
#define CTL_LINE_MAX 1024
#define CTL_REPORT_MAX 8192

/* The control vhost's user data. */
struct ctl {
	struct transport *t;
	struct pipeline *pl;		/* NULL with jit.enabled = off */
	time_t started;
	struct ctl_conn *conns;		/* open connections, for answers that come later */
	uint64_t next_id;
	/* The daemon's reload: a report of lines, or -errno and one line saying why. */
	int (*reload)(void *arg, char *report, size_t len);
	void *reload_arg;
};

const struct lws_protocols *ctl_protocols(void);

/* Once the transport exists (and the pipeline is attached to it). */
void ctl_attach(struct ctl *c, struct transport *t, struct pipeline *pl, time_t started);

#endif
