/*
 * The HTTP request before the upgrade: one that a WebSocket client would
 * not send (RFC 6455 section 4.2.1) gets 400, or 426 for the version; a
 * session the limits refuse gets 503 or 429 with Retry-After. Each is
 * logged (rate-limited) and counted, and the connection closed.
 */
#include "transport/internal.h"
#include "common/log.h"
#include "common/metrics.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Seconds a refused client is asked to wait; flyctl retries after 5 to 10 anyway. */
#define RETRY_AFTER "10"

static struct log_limit lim_bad, lim_refused;

static const char *const bad_names[UPGRADE_BAD_N] = {
	[UPGRADE_BAD_NOT_UPGRADE] = "not_upgrade",
	[UPGRADE_BAD_UPGRADE] = "upgrade_not_websocket",
	[UPGRADE_BAD_METHOD] = "method",
	[UPGRADE_BAD_HTTP_VERSION] = "http_version",
	[UPGRADE_BAD_HOST] = "host",
	[UPGRADE_BAD_CONNECTION] = "connection",
	[UPGRADE_BAD_KEY] = "key",
	[UPGRADE_BAD_VERSION] = "version",
	[UPGRADE_BAD_SUBPROTOCOL] = "subprotocol",
};

const char *upgrade_bad_name(enum upgrade_bad why)
{
	return bad_names[why];
}

static const char *status_text(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "";
	}
}

int transport_http_answer(struct lws *wsi, unsigned status, const struct transport_http_header *extra,
			  const char *body)
{
	uint8_t buf[LWS_PRE + 1024];
	char *start = (char *)buf + LWS_PRE, *end = (char *)buf + sizeof(buf);
	size_t blen = body ? strlen(body) : 0;
	int n;

	n = snprintf(start, (size_t)(end - start), "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n", status, status_text(status), blen);
	for (; extra && extra->name && n > 0 && n < end - start; extra++)
		n += snprintf(start + n, (size_t)(end - start - n), "%s: %s\r\n", extra->name,
			      extra->value);
	if (n > 0 && n < end - start)
		n += snprintf(start + n, (size_t)(end - start - n), "\r\n%s", body ? body : "");
	if (n <= 0 || n >= end - start)
		return -1;
	return lws_write(wsi, (uint8_t *)start, (size_t)n, LWS_WRITE_HTTP_HEADERS) == n ? 0 : -1;
}

/* Whether the header, a comma-separated list, has token (case aside). */
static bool header_has(struct lws *wsi, enum lws_token_indexes h, const char *token)
{
	char buf[256], *save = NULL;

	if (lws_hdr_copy(wsi, buf, sizeof(buf), h) <= 0)
		return false;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		t += strspn(t, " \t");
		t[strcspn(t, " \t")] = '\0';
		if (!strcasecmp(t, token))
			return true;
	}
	return false;
}

/* 16 bytes in base64, as RFC 6455 section 4.1 has clients send. */
static bool key_ok(struct lws *wsi)
{
	char key[64], raw[48];

	return lws_hdr_copy(wsi, key, sizeof(key), WSI_TOKEN_KEY) == 24 &&
	       lws_b64_decode_string(key, raw, sizeof(raw)) == 16;
}

static bool subprotocol_ok(struct lws *wsi)
{
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL))
		return true;
	for (const struct lws_protocols *p = transport_protocols; p->name; p++)
		if (header_has(wsi, WSI_TOKEN_PROTOCOL, p->name))
			return true;
	return false;
}

static enum upgrade_bad request_fault(struct lws *wsi, const char *upgrade)
{
	char ver[16];

	if (strcasecmp(upgrade, "websocket"))
		return UPGRADE_BAD_UPGRADE;
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
		return UPGRADE_BAD_METHOD;
	if (lws_hdr_copy(wsi, ver, sizeof(ver), WSI_TOKEN_HTTP) <= 0 || strcmp(ver, "HTTP/1.1"))
		return UPGRADE_BAD_HTTP_VERSION;
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_HOST))
		return UPGRADE_BAD_HOST;
	if (!header_has(wsi, WSI_TOKEN_CONNECTION, "upgrade"))
		return UPGRADE_BAD_CONNECTION;
	if (!key_ok(wsi))
		return UPGRADE_BAD_KEY;
	if (lws_hdr_copy(wsi, ver, sizeof(ver), WSI_TOKEN_VERSION) <= 0 || strcmp(ver, "13"))
		return UPGRADE_BAD_VERSION;
	if (!subprotocol_ok(wsi))
		return UPGRADE_BAD_SUBPROTOCOL;
	return UPGRADE_OK;
}

static int answer_bad(struct transport *t, struct lws *wsi, enum upgrade_bad why)
{
	static const struct transport_http_header version[] = {
		{ "Sec-WebSocket-Version", "13" }, { NULL, NULL }
	};
	static const struct transport_http_header upgrade[] = {
		{ "Upgrade", "websocket" }, { "Sec-WebSocket-Version", "13" }, { NULL, NULL }
	};
	unsigned status = why == UPGRADE_BAD_VERSION || why == UPGRADE_BAD_NOT_UPGRADE ? 426 : 400;
	char remote[48], body[64];

	session_peer_addr(wsi, remote, sizeof(remote));
	metric_inc(t->m.bad_upgrades[why]);
	log_limited(&lim_bad, LOG_LEVEL_INFO, "event=bad_upgrade remote=%s reason=%s status=%u",
		    remote, bad_names[why], status);
	pending_refused(wsi);
	snprintf(body, sizeof(body), "wssd: %s\n", bad_names[why]);
	transport_http_answer(wsi, status, why == UPGRADE_BAD_NOT_UPGRADE ? upgrade :
					   why == UPGRADE_BAD_VERSION ? version : NULL, body);
	return -1;
}

static int refuse(struct lws *wsi, const char *remote, unsigned status, struct metric *m,
		  const char *reason, unsigned limit)
{
	static const struct transport_http_header retry[] = {
		{ "Retry-After", RETRY_AFTER }, { NULL, NULL }
	};
	char body[64];

	metric_inc(m);
	log_limited(&lim_refused, LOG_LEVEL_WARN,
		    "event=session_refused remote=%s reason=%s limit=%u status=%u", remote, reason,
		    limit, status);
	pending_refused(wsi);
	snprintf(body, sizeof(body), "wssd: %s\n", reason);
	transport_http_answer(wsi, status, retry, body);
	return -1;
}

int upgrade_check(struct transport *t, struct lws *wsi, const char *upgrade)
{
	enum upgrade_bad why = request_fault(wsi, upgrade);
	char remote[48], client[ADDR_KEY_TEXT];

	if (why != UPGRADE_OK)
		return answer_bad(t, wsi, why);
	session_peer(wsi, remote, sizeof(remote), client, sizeof(client));
	if (t->stopping)
		return refuse(wsi, remote, 503, t->m.refused_shutdown, "shutting_down", 0);
	if (atomic_load(&t->sh->sessions) >= t->p.max_sessions)
		return refuse(wsi, remote, 503, t->m.refused_max, "max_sessions", t->p.max_sessions);
	if (session_ip_count(&t->st, client) >= t->p.max_sessions_per_ip)
		return refuse(wsi, remote, 429, t->m.refused_per_ip, "max_sessions_per_ip",
			      t->p.max_sessions_per_ip);
	pending_upgrading(wsi);
	return 0;
}

int upgrade_not_websocket(struct transport *t, struct lws *wsi)
{
	return answer_bad(t, wsi, UPGRADE_BAD_NOT_UPGRADE);
}
