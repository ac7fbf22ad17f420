/* The admin HTTP endpoint on the daemon's lws context. */
#include "wssd/admin.h"
#include "common/metrics.h"
#include "transport/transport.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct admin_pss {
	unsigned char *body;	/* LWS_PRE headroom, then len bytes */
	size_t len;
	const char *type;
};

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

struct status_ctx {
	FILE *f;
	unsigned n;
};

static void status_session(void *arg, const struct transport_session_info *si)
{
	struct status_ctx *c = arg;

	fprintf(c->f, "%s\n    {\"id\": %llu, \"remote\": ", c->n++ ? "," : "",
		(unsigned long long)si->id);
	json_string(c->f, si->remote);
	fprintf(c->f, ", \"listener\": ");
	json_string(c->f, si->vhost ? si->vhost : "");
	fprintf(c->f, ", \"mode\": \"%s\", \"started\": %lld, \"records_in\": %llu, "
		"\"records_out\": %llu, \"bytes_in\": %llu, \"bytes_out\": %llu, \"held\": %u}",
		si->binary ? "binary" : "text", (long long)si->started,
		(unsigned long long)si->records_in, (unsigned long long)si->records_out,
		(unsigned long long)si->bytes_in, (unsigned long long)si->bytes_out, si->held);
}

static void write_status(FILE *f, const struct admin *a)
{
	struct status_ctx c = { f, 0 };

	fprintf(f, "{\n  \"version\": \"%s\",\n  \"uptime\": %lld,\n  \"session_count\": %u,\n"
		"  \"sessions\": [", WSSD_VERSION, (long long)(time(NULL) - a->started),
		a->t ? transport_session_count(a->t) : 0);
	if (a->t)
		transport_foreach_session(a->t, status_session, &c);
	fprintf(f, "%s]\n}\n", c.n ? "\n  " : "");
}

/* Renders the body with LWS_PRE bytes of headroom in front. */
static int render(struct admin_pss *pss, const struct admin *a, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -1;
	if (!strcmp(path, "/metrics")) {
		metrics_write(f);
		pss->type = "text/plain; version=0.0.4";
	} else {
		write_status(f, a);
		pss->type = "application/json";
	}
	fclose(f);
	pss->body = malloc(LWS_PRE + len + 1);
	if (pss->body) {
		memcpy(pss->body + LWS_PRE, text, len);
		pss->len = len;
	}
	free(text);
	return pss->body ? 0 : -1;
}

static int admin_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct admin_pss *pss = user;
	const struct admin *a;
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
		*end = buf + sizeof(buf) - 1;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		a = lws_get_vhost_user(lws_get_vhost(wsi));
		if (strcmp(in, "/metrics") && strcmp(in, "/status")) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
			return -1;
		}
		if (render(pss, a, in) < 0)
			return -1;
		if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, pss->type, pss->len, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss->body)
			return -1;
		if (lws_write(wsi, pss->body + LWS_PRE, pss->len, LWS_WRITE_HTTP_FINAL) <
		    (int)pss->len)
			return -1;
		free(pss->body);
		pss->body = NULL;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss) {
			free(pss->body);
			pss->body = NULL;
		}
		return 0;
	default:
		break;
	}
	(void)len;
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ .name = "http", .callback = admin_callback,
	  .per_session_data_size = sizeof(struct admin_pss) },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

const struct lws_protocols *admin_protocols(void)
{
	return protocols;
}
