/* Direct UDP clients: captured initiations, limited per source, to the engine. */
#include "wssd/direct.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/bucket.h"
#include "common/clock.h"
#include "common/log.h"
#include "jit/noise.h"
#include "transport/capture.h"
#include "wssd/pipeline.h"
#include "wssd/srclimit.h"

#define SOURCES 8192		/* buckets: 256 KiB whatever the number of senders */
/*
 * Initiations waiting for the engine or for their key's job: a burst of new
 * clients up to this many is not dropped, and the wait behind a full queue
 * is at most ~300 ms of unwraps (two X25519 each).
 */
#define QUEUE 4096

struct direct {
	struct capture *cap;
	struct srclimit *sources;
	struct noise_mac1 *mac1;
	struct jit_port *port;
	int64_t now;		/* of the current read */
	struct path_metrics m;
};

int direct_open(struct direct **out, const struct wssd_config *cfg,
		const uint8_t public_key[WG_KEY_LEN], char *err, size_t errlen)
{
	struct capture_params cp = { .port = cfg->wg_port, .interfaces = cfg->capture_interfaces };
	unsigned rate = cfg->capture_initiations_per_second;
	struct capture_stats st;
	struct direct *d;
	int ret;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = capture_open(&d->cap, &cp, err, errlen);
	if (ret < 0)
		goto fail;
	ret = srclimit_new(&d->sources, SOURCES, rate, bucket_burst(rate));
	if (ret == 0)
		ret = noise_mac1_new(&d->mac1, public_key);
	if (ret < 0) {
		snprintf(err, errlen, "capture: %s", strerror(-ret));
		goto fail;
	}
	path_metrics_register(&d->m, "udp");
	capture_stats(d->cap, &st);
	log_info("event=capture_opened port=%u interfaces=%s rcvbuf=%u per_source=%u/s",
		 cfg->wg_port, cfg->capture_interfaces, st.rcvbuf, rate);
	*out = d;
	return 0;
fail:
	direct_free(d);
	return ret;
}

int direct_set_rate(struct direct *d, unsigned rate)
{
	return srclimit_set_rate(d->sources, rate, bucket_burst(rate));
}

void direct_free(struct direct *d)
{
	if (!d)
		return;
	capture_close(d->cap);
	srclimit_free(d->sources);
	noise_mac1_free(d->mac1);
	free(d);
}

_Static_assert(SRCLIMIT_KEY_LEN == ADDR_KEY_LEN, "a source is a client key");

static void on_packet(void *ctx, const struct capture_packet *pkt)
{
	struct direct *d = ctx;
	uint8_t key[SRCLIMIT_KEY_LEN];
	struct jit_request req;

	metric_inc(d->m.initiations);
	/* an address, an IPv6 /64, a link-local /64 on its link (the capture's scope) */
	if (addr_client_key((const struct sockaddr *)&pkt->src, key, NULL, 0) < 0 ||
	    !srclimit_take(d->sources, key, d->now)) {
		metric_inc(d->m.limited);
		return;
	}
	if (noise_mac1_check(d->mac1, pkt->payload, pkt->len) != NOISE_OK) {
		metric_inc(d->m.mac1_failures);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = JIT_INITIATION;
	req.via = STORE_VIA_UDP;
	req.endpoint = pkt->src;
	memcpy(req.msg, pkt->payload, WG_INITIATION_LEN);
	if (jit_port_submit(d->port, &req) < 0)
		metric_inc(d->m.busy);
}

static void on_readable(void *arg)
{
	struct direct *d = arg;
	int ret;

	d->now = clock_usec();
	ret = capture_read(d->cap, on_packet, d);
	if (ret < 0) {
		errno = -ret;
		log_warn("event=capture_read_failed");
	}
}

/* The device answers the client itself; the engine has counted and logged the verdict. */
static void on_answer(void *ctx, const struct jit_answer *a)
{
	(void)ctx;
	(void)a;
}

static void on_port(void *arg)
{
	struct direct *d = arg;

	jit_port_drain(d->port, on_answer, d);
}

/* The transport closes what it watches: it gets copies of both descriptors. */
static int watch(struct transport *t, int fd, void (*fn)(void *arg), void *arg)
{
	int copy = dup(fd), ret;

	if (copy < 0)
		return -errno;
	ret = transport_watch_fd(t, copy, fn, arg);
	if (ret < 0)
		close(copy);
	return ret;
}

int direct_attach(struct direct *d, struct jit_engine *e, struct transport *t)
{
	int ret = jit_port_new(e, QUEUE, &d->port);

	if (ret == 0)
		ret = watch(t, jit_port_eventfd(d->port), on_port, d);
	if (ret == 0)
		ret = watch(t, capture_fd(d->cap), on_readable, d);
	return ret;
}
