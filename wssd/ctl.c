/* The control socket: wssctl's requests, answered on the event loop (see ctl.h). */
#include "wssd/ctl.h"

#include <errno.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/text.h"
#include "jit/engine.h"
#include "jit/key.h"
#include "transport/transport.h"
#include "wssd/pipeline.h"

#define REQUEST_TIMEOUT 5	/* seconds to send the request line */
#define ANSWER_TIMEOUT 30	/* seconds for the answer to be made and read */
#define CHUNK 16384		/* bytes written per writable callback */

enum conn_state { CONN_READING, CONN_WAITING, CONN_WRITING };

/* The per-connection data lws allocates. */
struct ctl_conn {
	struct lws *wsi;
	struct ctl *ctl;
	struct ctl_conn *next;
	uint64_t id;		/* the token of its engine command */
	uint8_t key[WG_KEY_LEN];	/* evict's */
	enum conn_state state;
	size_t len;
	char line[CTL_LINE_MAX];
	char *out;		/* the answer, out_len bytes, out_off of them sent */
	size_t out_len, out_off;
};

static void unlink_conn(struct ctl_conn *c)
{
	for (struct ctl_conn **p = &c->ctl->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			return;
		}
	}
}

static struct ctl_conn *find_conn(struct ctl *ctl, uint64_t id)
{
	for (struct ctl_conn *c = ctl->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Takes text (malloc'd, len bytes) as the answer and starts sending it. */
static void send_answer(struct ctl_conn *c, char *text, size_t len)
{
	c->out = text;
	c->out_len = len;
	c->out_off = 0;
	c->state = CONN_WRITING;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, ANSWER_TIMEOUT);
	lws_callback_on_writable(c->wsi);
}

static void kill_conn(struct ctl_conn *c)
{
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Sends a, b and c, one after the other. */
static void send_text(struct ctl_conn *conn, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *text = malloc(la + lb + lc + 1);

	if (!text) {
		kill_conn(conn);
		return;
	}
	memcpy(text, a, la);
	memcpy(text + la, b, lb);
	memcpy(text + la + lb, c, lc + 1);
	send_answer(conn, text, la + lb + lc);
}

static void answer_ok(struct ctl_conn *c, const char *body)
{
	send_text(c, "ok\n", body, "");
}

static void answer_error(struct ctl_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void answer_error(struct ctl_conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = '\0';	/* one line */
	send_text(c, "error ", msg, "\n");
}

/* Answers with what render wrote, or an error when it failed. */
static void answer_rendered(struct ctl_conn *c, int (*render)(struct ctl_conn *c, FILE *f,
							      bool json), bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f) {
		kill_conn(c);
		return;
	}
	fputs("ok\n", f);
	ret = render(c, f, json);
	if (fclose(f) != 0 && ret == 0)
		ret = -ENOMEM;
	if (ret < 0) {
		free(text);
		answer_error(c, "%s", strerror(-ret));
		return;
	}
	send_answer(c, text, len);
}

struct sessions_ctx {
	struct ctl *ctl;
	FILE *f;
	json_t *list;		/* NULL: a table */
	time_t now;
	int status;
};

static void session_row(void *arg, const struct transport_session_info *si)
{
	struct sessions_ctx *x = arg;
	char b64[WG_KEY_B64_LEN] = "-";
	uint8_t key[WG_KEY_LEN];
	bool has_key = pipeline_session_key(x->ctl->t, si->id, key);
	json_t *o;

	if (has_key)
		key_to_base64(b64, key);
	if (!x->list) {
		fprintf(x->f, "%-8llu  %-39s  %-44s  %-6s  %7llds  %10llu  %10llu  %12llu  %12llu  %4u\n",
			(unsigned long long)si->id, si->remote, b64, si->binary ? "binary" : "text",
			(long long)(x->now - si->started), (unsigned long long)si->records_in,
			(unsigned long long)si->records_out, (unsigned long long)si->bytes_in,
			(unsigned long long)si->bytes_out, si->held);
		return;
	}
	/* The fields of /status, and the key. */
	o = json_pack("{sI ss sn ss ss sI sI sI sI sI si}", "id", (json_int_t)si->id,
		      "remote", si->remote, "public_key", "listener", si->vhost ? si->vhost : "",
		      "mode", si->binary ? "binary" : "text", "started", (json_int_t)si->started,
		      "records_in", (json_int_t)si->records_in,
		      "records_out", (json_int_t)si->records_out,
		      "bytes_in", (json_int_t)si->bytes_in, "bytes_out", (json_int_t)si->bytes_out,
		      "held", (int)si->held);
	if (o && has_key)
		json_object_set_new(o, "public_key", json_string(b64));
	if (!o || json_array_append_new(x->list, o) < 0)
		x->status = -ENOMEM;
}

static int render_sessions(struct ctl_conn *c, FILE *f, bool json)
{
	struct sessions_ctx x = { c->ctl, f, NULL, time(NULL), 0 };

	if (json && !(x.list = json_array()))
		return -ENOMEM;
	if (!json)
		fprintf(f, "%-8s  %-39s  %-44s  %-6s  %8s  %10s  %10s  %12s  %12s  %4s\n", "ID",
			"REMOTE", "PUBLIC KEY", "MODE", "AGE", "RECORDS IN", "RECORDS OUT",
			"BYTES IN", "BYTES OUT", "HELD");
	transport_foreach_session(c->ctl->t, session_row, &x);
	if (json && x.status == 0 && (json_dumpf(x.list, f, JSON_INDENT(2)) < 0 || fputc('\n', f) < 0))
		x.status = -ENOMEM;
	json_decref(x.list);
	return x.status;
}

/* What `wssctl stats` shows: series of the metrics registry, summed over their labels
 * unless labels are given. Series not registered (the JIT's with jit.enabled = off)
 * are left out. */
static const struct stat_row {
	const char *key;	/* in JSON */
	const char *title;	/* in the table */
	const char *metric;
	const char *labels;
} stat_rows[] = {
	{ "sessions", "sessions open", "wssd_sessions", NULL },
	{ "sessions_total", "sessions since start", "wssd_sessions_total", NULL },
	{ "sessions_refused", "sessions refused", "wssd_sessions_refused_total", NULL },
	{ "records_in", "records in", "wssd_records_total", "dir=\"in\"" },
	{ "records_out", "records out", "wssd_records_total", "dir=\"out\"" },
	{ "bytes_in", "bytes in", "wssd_bytes_total", "dir=\"in\"" },
	{ "bytes_out", "bytes out", "wssd_bytes_total", "dir=\"out\"" },
	{ "drops", "datagrams dropped", "wssd_drops_total", NULL },
	{ "protocol_errors", "protocol errors", "wssd_protocol_errors_total", NULL },
	{ "initiations", "handshake initiations", "wssd_initiations_total", NULL },
	{ "initiations_limited", "initiations over the rate", "wssd_initiations_limited_total", NULL },
	{ "unwrap_failures", "initiations not unwrapped", "wssd_unwrap_failures_total", NULL },
	{ "held_records_dropped", "held records dropped", "wssd_held_records_dropped_total", NULL },
	{ "lookups", "look-ups", "wssd_jit_lookups_total", NULL },
	{ "control_plane_requests", "control-plane requests", "wssd_control_plane_requests_total",
	  NULL },
	{ "installs", "peers installed since start", "wssd_installs_total", NULL },
	{ "install_failures", "installs failed", "wssd_install_failures_total", NULL },
	{ "evictions", "peers evicted", "wssd_evictions_total", NULL },
	{ "peers_installed", "peers installed now", "wssd_peers_installed", NULL },
};

static int render_stats(struct ctl_conn *c, FILE *f, bool json)
{
	json_t *o = NULL;
	long long uptime = (long long)(time(NULL) - c->ctl->started);
	int ret = 0;

	if (json) {
		o = json_pack("{ss sI}", "version", WSSD_VERSION, "uptime", (json_int_t)uptime);
		if (!o)
			return -ENOMEM;
	} else {
		fprintf(f, "%-28s  %s\n%-28s  %llds\n", "version", WSSD_VERSION, "uptime", uptime);
	}
	for (size_t i = 0; i < sizeof(stat_rows) / sizeof(stat_rows[0]); i++) {
		const struct stat_row *r = &stat_rows[i];
		double v;

		if (metric_lookup(r->metric, r->labels, &v) < 0)
			continue;
		if (!json)
			fprintf(f, "%-28s  %.0f\n", r->title, v);
		else if (json_object_set_new(o, r->key, json_integer((json_int_t)v)) < 0)
			ret = -ENOMEM;
	}
	if (json && ret == 0 && (json_dumpf(o, f, JSON_INDENT(2)) < 0 || fputc('\n', f) < 0))
		ret = -ENOMEM;
	json_decref(o);
	return ret;
}

/* Commands the engine answers: installed and evict. */
static void to_engine(struct ctl_conn *c, const struct jit_request *r)
{
	int ret = pipeline_command(c->ctl->pl, c->ctl->t, r);

	if (ret == -EBUSY) {
		answer_error(c, "the JIT engine is busy; try again");
		return;
	}
	if (ret < 0) {
		answer_error(c, "the JIT engine: %s", strerror(-ret));
		return;
	}
	c->state = CONN_WAITING;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, ANSWER_TIMEOUT);
}

static void on_engine_answer(void *ctx, const struct jit_answer *a)
{
	struct ctl_conn *c = find_conn(ctx, a->token);
	char b64[WG_KEY_B64_LEN], body[WG_KEY_B64_LEN + 16];

	if (!c || c->state != CONN_WAITING)
		return;		/* its client has gone meanwhile (jit_port_drain frees text) */
	if (a->kind == JIT_INSTALLED) {
		if (a->status < 0)
			answer_error(c, "reading the installed peers: %s", strerror(-a->status));
		else
			answer_ok(c, a->text ? a->text : "");
		return;
	}
	key_to_base64(b64, c->key);
	if (a->status == 0) {
		snprintf(body, sizeof(body), "evicted %s\n", b64);
		answer_ok(c, body);
	} else if (a->status == -ENOENT) {
		answer_error(c, "%s is not installed (wssctl installed lists the peers)", b64);
	} else if (a->status == -EPERM) {
		answer_error(c, "%s was not installed by wssd (configured by hand): wssd leaves it "
		       "alone", b64);
	} else {
		answer_error(c, "evicting %s: %s", b64, strerror(-a->status));
	}
}

/* "json" or nothing; -EINVAL otherwise. */
static int json_arg(const char *arg, bool *json)
{
	*json = !strcmp(arg, "json");
	return *json || !*arg ? 0 : -EINVAL;
}

static void request(struct ctl_conn *c, char *line)
{
	static const char no_jit[] = "the JIT pipeline is off (jit.enabled = off)";
	struct jit_request r = { .token = c->id };
	char *cmd = text_trim(line), *arg = cmd + strcspn(cmd, " \t");
	char b64[WG_KEY_B64_LEN];
	bool json;

	if (*arg)
		*arg++ = '\0';
	arg = text_trim(arg);
	log_debug("event=ctl_request command=%s", *cmd ? cmd : "(none)");
	if (!strcmp(cmd, "sessions") || !strcmp(cmd, "stats") || !strcmp(cmd, "installed")) {
		if (json_arg(arg, &json) < 0)
			answer_error(c, "usage: %s [json]", cmd);
		else if (cmd[1] == 'e')
			answer_rendered(c, render_sessions, json);
		else if (cmd[1] == 't')
			answer_rendered(c, render_stats, json);
		else if (!c->ctl->pl)
			answer_error(c, "%s", no_jit);
		else {
			r.kind = JIT_INSTALLED;
			r.json = json;
			to_engine(c, &r);
		}
	} else if (!strcmp(cmd, "evict")) {
		if (!*arg)
			answer_error(c, "usage: evict KEY");
		else if ((key_from_base64(r.key, arg) < 0 && key_from_hex(r.key, arg) < 0) ||
			 key_is_zero(r.key))
			answer_error(c, "bad key \"%.64s\": not a WireGuard key (base64 or hex)", arg);
		else if (!c->ctl->pl)
			answer_error(c, "%s", no_jit);
		else {
			r.kind = JIT_EVICT;
			memcpy(c->key, r.key, WG_KEY_LEN);
			to_engine(c, &r);
		}
	} else if (!strcmp(cmd, "reload")) {
		char report[CTL_REPORT_MAX];

		if (*arg)
			answer_error(c, "usage: reload");
		else if (c->ctl->reload(c->ctl->reload_arg, report, sizeof(report)) < 0)
			answer_error(c, "%s", report);
		else
			answer_ok(c, report);
	} else if (!strcmp(cmd, "pubkey")) {
		if (!c->ctl->pl) {
			answer_error(c, "%s", no_jit);
		} else {
			pipeline_public_key(c->ctl->pl, r.key);
			key_to_base64(b64, r.key);
			snprintf(line, CTL_LINE_MAX, "%s\n", b64);
			answer_ok(c, line);
		}
	} else {
		answer_error(c, "unknown command \"%.64s\" (sessions, stats, installed, evict, pubkey, "
			     "reload)", cmd);
	}
}

/* Appends what came in; a complete line is the request. -1: close. */
static int receive(struct ctl_conn *c, const char *in, size_t len)
{
	const char *nl;
	size_t take;

	if (c->state != CONN_READING)
		return 0;	/* one request per connection: the rest is ignored */
	nl = memchr(in, '\n', len);
	take = nl ? (size_t)(nl - in) : len;
	if (take >= sizeof(c->line) - c->len) {
		log_info("event=ctl_refused reason=line_too_long max=%d", CTL_LINE_MAX);
		return -1;
	}
	memcpy(c->line + c->len, in, take);
	c->len += take;
	if (!nl)
		return 0;
	c->line[c->len] = '\0';
	c->state = CONN_WAITING;
	request(c, c->line);
	return 0;
}

static int writable(struct ctl_conn *c)
{
	unsigned char buf[LWS_PRE + CHUNK];
	size_t n;

	if (c->state != CONN_WRITING)
		return 0;
	n = c->out_len - c->out_off < CHUNK ? c->out_len - c->out_off : CHUNK;
	memcpy(buf + LWS_PRE, c->out + c->out_off, n);
	if (lws_write(c->wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < (int)n)
		return -1;
	c->out_off += n;
	if (c->out_off < c->out_len) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	return lws_raw_transaction_completed(c->wsi);
}

static int ctl_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			size_t len)
{
	struct ctl_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		c->ctl = lws_get_vhost_user(lws_get_vhost(wsi));
		c->id = ++c->ctl->next_id;
		c->next = c->ctl->conns;
		c->ctl->conns = c;
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, REQUEST_TIMEOUT);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		return receive(c, in, len);
	case LWS_CALLBACK_RAW_WRITEABLE:
		return writable(c);
	case LWS_CALLBACK_RAW_CLOSE:
		if (c && c->ctl) {
			unlink_conn(c);
			free(c->out);
			c->out = NULL;
			c->ctl = NULL;
		}
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ .name = "wssd-ctl", .callback = ctl_callback,
	  .per_session_data_size = sizeof(struct ctl_conn) },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

const struct lws_protocols *ctl_protocols(void)
{
	return protocols;
}

void ctl_attach(struct ctl *c, struct transport *t, struct pipeline *pl, time_t started)
{
	c->t = t;
	c->pl = pl;
	c->started = started;
	if (pl)
		pipeline_on_command(pl, t, on_engine_answer, c);
}
