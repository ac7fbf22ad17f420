/*
 * The transport's life: one libwebsockets context on a libuv loop of ours
 * (epoll; lws's own loop is poll(), whose every wake-up costs O(sessions)),
 * its run and its shutdown, the descriptors the program asks it to watch
 * (on a vhost that listens nowhere, so no client can ask for their
 * protocol), and lws's own log lines, which go through ours.
 */
#include "transport/internal.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The raw descriptors' protocols: on the internal vhost only, no client reaches them. */
static const struct lws_protocols internal_protocols[] = {
	{ .name = "wssd-fd", .callback = transport_fd_callback },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static struct log_limit lim_lws;

/*
 * lws's lines, as ours: its errors and warnings at warn (they are mostly
 * about what a client sent), rate-limited; the rest at debug.
 */
static void lws_log_emit(int level, const char *line)
{
	char msg[512], q[540];
	size_t n = strlen(line);
	const char *name = level & LLL_ERR ? "err" : level & LLL_WARN ? "warn" :
			   level & LLL_NOTICE ? "notice" : level & LLL_INFO ? "info" : "debug";

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	snprintf(msg, sizeof(msg), "%.*s", (int)n, line);
	log_quote(q, sizeof(q), msg);
	if (level & (LLL_ERR | LLL_WARN))
		log_limited(&lim_lws, LOG_LEVEL_WARN, "event=lws lws_level=%s message=%s", name, q);
	else
		log_debug("event=lws lws_level=%s message=%s", name, q);
}

static int lws_levels(void)
{
	if (getenv("WSSD_LWS_DEBUG"))
		return 0x1f;
	return log_get_level() == LOG_LEVEL_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE
						   : LLL_ERR | LLL_WARN;
}

void transport_log_level_changed(void)
{
	lws_set_log_level(lws_levels(), lws_log_emit);
}

void transport_loop_stop(struct transport *t)
{
	t->done = true;
	uv_stop(&t->loop);
}

static void loop_destroy(struct transport *t);

static int loop_create(const struct transport_params *p, struct transport_shared *sh,
		       unsigned index, struct transport **out)
{
	struct lws_context_creation_info info;
	void *foreign_loops[1];
	struct transport *t;
	int ret;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->p = *p;
	t->sh = sh;
	t->index = index;
	pthread_mutex_init(&t->call_lock, NULL);
	pthread_cond_init(&t->call_done, NULL);
	session_table_init(&t->st, &sh->ipt, index);
	ret = addr_numeric(p->wg_host, p->wg_port, &t->wg_addr, &t->wg_addrlen);
	if (ret < 0)
		goto fail;
	t->wg_loopback4 = t->wg_addr.ss_family == AF_INET &&
		(ntohl(((struct sockaddr_in *)&t->wg_addr)->sin_addr.s_addr) >> 24) == 127;
	ret = relay_loop_new(t);
	if (ret == 0)
		ret = writer_init(t);
	if (ret < 0)
		goto fail;
	transport_metrics_register(&t->m);
	pending_metrics_register(&t->pending);

	memset(&info, 0, sizeof(info));
	/*
	 * OpenSSL's global set-up once: each time, lws 4.1 takes new ex_data
	 * indexes for its SSL and SSL_CTX objects into one global, and the
	 * contexts made before would no longer find theirs.
	 */
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       (index == 0 ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
	info.user = t;
	/* Descriptor numbers are the process's: every context may see any of them. */
	info.fd_limit_per_thread = index == 0 ? transport_fd_budget(t) : sh->fd_limit;
	info.pt_serv_buf_size = 32768;
	/* lws's own waits before the upgrade outlast ours, which are logged and counted */
	info.timeout_secs = t->p.handshake_timeout + 5;
	ret = uv_loop_init(&t->loop);
	if (ret < 0)
		goto fail;
	t->loop_open = true;
	ret = turn_init(t);
	if (ret == 0)
		ret = loop_calls_init(t);
	if (ret < 0)
		goto fail;
	info.options |= LWS_SERVER_OPTION_LIBUV;
	info.foreign_loops = foreign_loops;
	foreign_loops[0] = &t->loop;
	info.pcontext = &t->ctx;	/* lws clears it once the context is freed */
	t->ctx = lws_create_context(&info);
	if (!t->ctx) {
		log_warnx("event=lws_context_failed hint=\"its libuv plugin comes with Debian's "
			  "libwebsockets-evlib-uv\"");
		ret = -ENOMEM;
		goto fail;
	}
	ret = transport_listen(t);
	if (ret < 0)
		goto fail;
	t->internal_vhost = transport_internal_vhost(t, internal_protocols);
	if (!t->internal_vhost) {
		ret = -ENOMEM;
		goto fail;
	}
	*out = t;
	return 0;
fail:
	loop_destroy(t);
	return ret;
}

static void shared_free(struct transport_shared *sh)
{
	ip_table_free(&sh->ipt);
	ip_table_free(&sh->pending_ipt);
	SSL_CTX_free(sh->unused_client_ctx);
	free(sh);
}

int transport_create(const struct transport_params *p, struct transport **out)
{
	struct transport_params q = *p;
	struct transport_shared *sh;
	int ret;

	if (!p->n_listeners || p->n_listeners >= TRANSPORT_MAX_VHOSTS ||
	    p->threads > TRANSPORT_MAX_THREADS)
		return -EINVAL;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	ip_table_init(&sh->ipt);
	ip_table_init(&sh->pending_ipt);
	sh->unused_client_ctx = SSL_CTX_new(TLS_client_method());
	if (!sh->unused_client_ctx) {
		shared_free(sh);
		return -ENOMEM;
	}
	sh->n_loops = p->threads ? p->threads : 1;
	transport_log_level_changed();
	ret = loop_create(p, sh, 0, &sh->loops[0]);
	if (ret < 0) {
		shared_free(sh);
		return ret;
	}
	/* The others take loop 0's settings (max_sessions as fitted), without its extra vhosts. */
	q = sh->loops[0]->p;
	q.admin_protocols = NULL;
	q.ctl_protocols = NULL;
	for (unsigned i = 1; i < sh->n_loops; i++) {
		ret = loop_create(&q, sh, i, &sh->loops[i]);
		if (ret < 0) {
			sh->n_loops = i;
			transport_destroy(sh->loops[0]);
			return ret;
		}
	}
	if (sh->n_loops > 1)
		log_info("event=loops threads=%u", sh->n_loops);
	*out = sh->loops[0];
	return 0;
}

static void loop_destroy(struct transport *t)
{
	struct fd_watch *w, *next;

	/*
	 * On a foreign loop lws destroys its context in steps: the first call
	 * closes its handles, whose close callbacks run on the loop; a call
	 * after that frees what is left.
	 */
	if (t->ctx)
		lws_context_destroy(t->ctx);
	turn_close(t);
	trim_close(t);
	loop_calls_close(t);
	if (t->loop_open) {
		uv_run(&t->loop, UV_RUN_DEFAULT);
		if (t->ctx)
			lws_context_destroy(t->ctx);
		if (uv_loop_close(&t->loop) < 0)
			log_warnx("event=loop_close_failed reason=handles_left");
	}
	for (w = t->watches; w; w = next) {
		next = w->next;
		free(w);
	}
	relay_loop_free(t);
	writer_free(t);
	pthread_mutex_destroy(&t->call_lock);
	pthread_cond_destroy(&t->call_done);
	free(t);
}

/* Loop 0 last: the others' sessions may still count in what it shares. */
void transport_destroy(struct transport *t)
{
	struct transport_shared *sh;

	if (!t)
		return;
	sh = t->sh;
	loops_join(sh);
	for (unsigned i = sh->n_loops; i-- > 0;)
		loop_destroy(sh->loops[i]);
	shared_free(sh);
}

int transport_run(struct transport *t)
{
	loops_start(t->sh);
	loop_run(t);
	loops_join(t->sh);
	return 0;
}

static void grace_over(lws_sorted_usec_list_t *sul)
{
	struct transport *t = lws_container_of(sul, struct transport, sul_grace);

	log_warnx("event=shutdown_grace_over sessions=%u", t->st.count);
	transport_loop_stop(t);
}

void transport_shutdown_loop(struct transport *t, unsigned grace_seconds)
{
	if (t->stopping)
		return;
	t->stopping = true;
	log_info("event=shutdown sessions=%u", t->st.count);
	for (struct session *s = t->st.all; s; s = s->next)
		session_end(s, SESSION_END_SHUTDOWN, LWS_CLOSE_STATUS_GOINGAWAY, "shutdown");
	if (t->st.count == 0) {
		transport_loop_stop(t);
		return;
	}
	lws_sul_schedule(t->ctx, 0, &t->sul_grace, grace_over,
			 (lws_usec_t)grace_seconds * LWS_US_PER_SEC);
}

static void shutdown_call(struct transport *t, void *arg)
{
	transport_shutdown_loop(t, *(unsigned *)arg);
}

void transport_shutdown(struct transport *t, unsigned grace_seconds)
{
	for (unsigned i = 0; i < t->sh->n_loops; i++)
		loop_call(t->sh->loops[i], shutdown_call, &grace_seconds);
}

void transport_set_hooks(struct transport *t, const struct transport_hooks *hooks)
{
	t->hooks = *hooks;
}

int transport_fd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct fd_watch *w = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_RAW_RX_FILE && w)
		w->fn(w->arg);
	else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE && w)
		w->wsi = NULL;
	return 0;
}

int transport_watch_fd(struct transport *t, int fd, void (*fn)(void *arg), void *arg)
{
	lws_sock_file_fd_type desc;
	struct fd_watch *w;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	desc.filefd = fd;
	w->wsi = lws_adopt_descriptor_vhost(t->internal_vhost, LWS_ADOPT_RAW_FILE_DESC, desc,
					    "wssd-fd", NULL);
	if (!w->wsi) {
		free(w);
		return -ENOMEM;
	}
	lws_set_opaque_user_data(w->wsi, w);
	w->next = t->watches;
	t->watches = w;
	return 0;
}
