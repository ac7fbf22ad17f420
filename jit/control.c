#include "jit/control.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* The longest base URL: it and "/peers/" and 64 hex digits fit in url[] of fetch_http. */
#define CONTROL_BASE_MAX 900
/* Idle handles kept for reuse (and their connections); more threads just make more. */
#define CONTROL_POOL 16

/* The request headers, the token among them: held by each call under way. */
struct headers {
	struct curl_slist *list;
	unsigned refs;		/* the control's own, and one per call using it */
};

struct control {
	bool local;
	struct store *store;
	char *base;		/* without a trailing '/' */
	struct headers *headers;	/* under lock; control_set_token replaces it */
	unsigned timeout_ms;
	pthread_mutex_t lock;
	CURL *pool[CONTROL_POOL];
	size_t n_pool;
};

struct body {
	char *data;
	size_t len;
	bool too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

static void headers_free(struct headers *hs)
{
	if (!hs)
		return;
	for (struct curl_slist *h = hs->list; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(hs->list);
	free(hs);
}

/* Accept, and Authorization when there is a token. -EINVAL, -ENOMEM. */
static int headers_new(const char *token, struct headers **out)
{
	struct headers *hs;
	struct curl_slist *more;
	char *auth = NULL;
	size_t n;
	int ret = -ENOMEM;

	if (token && has_control_chars(token))
		return -EINVAL;
	hs = calloc(1, sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	hs->refs = 1;
	hs->list = curl_slist_append(NULL, "Accept: application/json");
	if (!hs->list)
		goto out;
	if (token && *token) {
		n = strlen("Authorization: Bearer ") + strlen(token) + 1;
		auth = malloc(n);
		if (!auth)
			goto out;
		snprintf(auth, n, "Authorization: Bearer %s", token);
		more = curl_slist_append(hs->list, auth);
		if (!more)
			goto out;
		hs->list = more;
	}
	ret = 0;
	*out = hs;
out:
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (ret < 0)
		headers_free(hs);
	return ret;
}

static void headers_put(struct control *c, struct headers *hs)
{
	bool last;

	pthread_mutex_lock(&c->lock);
	last = --hs->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		headers_free(hs);
}

int control_open(struct control **out, const struct control_options *opts)
{
	struct control *c;
	size_t n;
	int ret = -EINVAL;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 2000;
	c->store = opts->store;
	if (!opts->source || !strcmp(opts->source, "local")) {
		c->local = true;
		if (!c->store)
			goto out;
		*out = c;
		return 0;
	}
	if (strncmp(opts->source, "http://", 7) && strncmp(opts->source, "https://", 8))
		goto out;
	if (has_control_chars(opts->source) || (opts->token && has_control_chars(opts->token)) ||
	    strlen(opts->source) > CONTROL_BASE_MAX)
		goto out;
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK) {
		ret = -EIO;
		goto out;
	}
	ret = -ENOMEM;
	c->base = strdup(opts->source);
	if (!c->base)
		goto out;
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	ret = headers_new(opts->token, &c->headers);
	if (ret == 0)
		*out = c;
out:
	if (ret < 0)
		control_close(c);
	return ret;
}

int control_set_token(struct control *c, const char *token)
{
	struct headers *hs, *old;
	int ret;

	if (c->local)
		return -EINVAL;
	ret = headers_new(token, &hs);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&c->lock);
	old = c->headers;
	c->headers = hs;
	pthread_mutex_unlock(&c->lock);
	headers_put(c, old);
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_pool; i++)
		curl_easy_cleanup(c->pool[i]);
	headers_free(c->headers);	/* no call is under way any more */
	free(c->base);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool control_is_local(const struct control *c)
{
	return c->local;
}

static size_t body_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;
	char *grown;

	if (n > CONTROL_MAX_BODY - b->len) {
		b->too_large = true;
		return 0;
	}
	grown = realloc(b->data, b->len + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + b->len, data, n);
	b->len += n;
	grown[b->len] = '\0';
	b->data = grown;
	return n;
}

static CURL *handle_get(struct control *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->n_pool)
		h = c->pool[--c->n_pool];
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void handle_put(struct control *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->n_pool < CONTROL_POOL) {
		c->pool[c->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	curl_easy_cleanup(h);
}

static int fetch_local(struct control *c, const uint8_t key[WG_KEY_LEN], struct control_reply *out)
{
	int ret = store_registry_get(c->store, key, &out->peer);

	if (ret == 0) {
		out->status = CONTROL_FOUND;
		snprintf(out->detail, sizeof(out->detail), "registry");
	} else if (ret == -ENOENT) {
		out->status = CONTROL_NOT_FOUND;
		snprintf(out->detail, sizeof(out->detail), "not in the registry");
	} else if (ret == -ENOMEM) {
		return ret;
	} else {
		out->status = CONTROL_UNAVAILABLE;
		snprintf(out->detail, sizeof(out->detail), "registry: %s", strerror(-ret));
	}
	return 0;
}

static void handle_response(struct control_reply *out, CURL *h, long code, struct body *body,
			    const uint8_t key[WG_KEY_LEN])
{
	char err[128];
	curl_off_t retry_after = 0;

	switch (code) {
	case 200:
		if (control_parse_peer(body->data ? body->data : "", body->len, key, &out->peer,
				       &out->ttl, err, sizeof(err)) == 0) {
			out->status = CONTROL_FOUND;
			snprintf(out->detail, sizeof(out->detail), "HTTP 200");
		} else {
			snprintf(out->detail, sizeof(out->detail), "HTTP 200 with a bad body: %s", err);
		}
		break;
	case 404:
		out->status = CONTROL_NOT_FOUND;
		snprintf(out->detail, sizeof(out->detail), "HTTP 404");
		break;
	case 429:
		out->status = CONTROL_RETRY_LATER;
		if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) != CURLE_OK ||
		    retry_after <= 0)
			retry_after = CONTROL_RETRY_AFTER_DEFAULT;
		if (retry_after > CONTROL_RETRY_AFTER_MAX)
			retry_after = CONTROL_RETRY_AFTER_MAX;
		out->retry_after = (unsigned)retry_after;
		snprintf(out->detail, sizeof(out->detail), "HTTP 429, retry after %u s", out->retry_after);
		break;
	default:
		snprintf(out->detail, sizeof(out->detail), "HTTP %ld", code);
		break;
	}
}

static int fetch_http(struct control *c, const uint8_t key[WG_KEY_LEN], struct control_reply *out)
{
	char url[1024], hex[WG_KEY_HEX_LEN], errbuf[CURL_ERROR_SIZE] = "";
	struct body body = { 0 };
	struct headers *hs;
	long code = 0;
	CURLcode rc;
	CURL *h;

	key_to_hex(hex, key);
	snprintf(url, sizeof(url), "%s/peers/%s", c->base, hex);
	h = handle_get(c);
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	hs = c->headers;
	hs->refs++;
	pthread_mutex_unlock(&c->lock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs->list);
	curl_easy_setopt(h, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CONTROL_MAX_BODY);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		handle_response(out, h, code, &body, key);
	} else if (body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(out->detail, sizeof(out->detail), "reply larger than %d bytes", CONTROL_MAX_BODY);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(out->detail, sizeof(out->detail), "timeout after %u ms", c->timeout_ms);
	} else {
		snprintf(out->detail, sizeof(out->detail), "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
	}
	/* The handle must not keep pointers into this frame, nor to headers it may outlive. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	handle_put(c, h);
	headers_put(c, hs);
	free(body.data);
	return 0;
}

int control_fetch(struct control *c, const uint8_t key[WG_KEY_LEN], struct control_reply *out)
{
	memset(out, 0, sizeof(*out));
	out->status = CONTROL_UNAVAILABLE;
	if (c->local)
		return fetch_local(c, key, out);
	return fetch_http(c, key, out);
}
