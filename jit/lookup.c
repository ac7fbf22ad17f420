#include "jit/lookup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

const char *lookup_status_name(enum lookup_status status)
{
	switch (status) {
	case LOOKUP_FOUND:
		return "found";
	case LOOKUP_NOT_FOUND:
		return "not_found";
	case LOOKUP_RATE_LIMITED:
		return "rate_limited";
	case LOOKUP_UNAVAILABLE:
		return "unavailable";
	}
	return "?";
}

const char *lookup_source_name(enum lookup_source source)
{
	switch (source) {
	case LOOKUP_SOURCE_NONE:
		return "none";
	case LOOKUP_SOURCE_CACHE:
		return "cache";
	case LOOKUP_SOURCE_CONTROL:
		return "control";
	case LOOKUP_SOURCE_STALE:
		return "stale";
	}
	return "?";
}

/* The outcome, to the event log and the log; a failing event log does not fail the look-up. */
static void record(const struct lookup_options *opts, const uint8_t key[WG_KEY_LEN],
		   const struct lookup_result *out)
{
	char event[64], b64[WG_KEY_B64_LEN], q[256];

	snprintf(event, sizeof(event), "lookup_%s", lookup_status_name(out->status));
	store_event_add(opts->store, key, event, out->detail);
	key_to_base64(b64, key);
	if (out->status == LOOKUP_UNAVAILABLE)
		log_warnx("event=%s key=%s source=%s detail=%s", event, b64,
			  lookup_source_name(out->source), log_quote(q, sizeof(q), out->detail));
	else
		log_debug("event=%s key=%s source=%s detail=%s", event, b64,
			  lookup_source_name(out->source), log_quote(q, sizeof(q), out->detail));
}

/*
 * Serves the expired entry when there is one (moving it into out), else
 * fails with status; why is what kept us from asking.
 */
static void stale_or(struct lookup_result *out, struct store_cache_entry *stale, bool have_stale,
		     enum lookup_status status, const char *why)
{
	if (have_stale) {
		out->status = LOOKUP_FOUND;
		out->source = LOOKUP_SOURCE_STALE;
		out->peer = stale->peer;
		memset(&stale->peer, 0, sizeof(stale->peer));
		snprintf(out->detail, sizeof(out->detail), "served stale (expired %lld): %s",
			 (long long)stale->expires_at, why);
	} else {
		out->status = status;
		snprintf(out->detail, sizeof(out->detail), "%s", why);
	}
}

/* Asks the control plane; the reply is out's on return. */
static int ask(const struct lookup_options *opts, const uint8_t key[WG_KEY_LEN],
	       struct lookup_result *out, struct control_reply *reply)
{
	int64_t start = clock_usec();
	int ret = control_fetch(opts->control, key, reply);

	if (ret < 0)
		return ret;
	out->control_called = true;
	out->control_status = reply->status;
	out->control_seconds = (double)(clock_usec() - start) / 1e6;
	return 0;
}

static int lookup_local(const struct lookup_options *opts, const uint8_t key[WG_KEY_LEN],
			struct lookup_result *out)
{
	struct control_reply reply;
	int ret = ask(opts, key, out, &reply);

	if (ret < 0)
		return ret;
	out->source = LOOKUP_SOURCE_CONTROL;
	switch (reply.status) {
	case CONTROL_FOUND:
		out->status = LOOKUP_FOUND;
		out->peer = reply.peer;
		break;
	case CONTROL_NOT_FOUND:
		out->status = LOOKUP_NOT_FOUND;
		break;
	default:
		out->status = LOOKUP_UNAVAILABLE;
		out->source = LOOKUP_SOURCE_NONE;
		break;
	}
	snprintf(out->detail, sizeof(out->detail), "%s", reply.detail);
	return 0;
}

/* 1: a token from both buckets; 0: one is empty (why says which); -errno. */
static int take_tokens(const struct lookup_options *opts, const uint8_t key[WG_KEY_LEN],
		       double now, const char **why)
{
	char hex[WG_KEY_HEX_LEN];
	struct store_bucket b[2] = {
		{ .name = hex, .rate = opts->key_lookups_per_minute / 60.0,
		  .burst = opts->key_lookups_per_minute },
		{ .name = "global", .rate = opts->lookups_per_second,
		  .burst = opts->lookups_per_second },
	};
	size_t empty = 0;
	int ret;

	key_to_hex(hex, key);
	ret = store_ratelimit_take_all(opts->store, b, 2, now, &empty);
	if (ret == 0)
		*why = empty == 0 ? "per-key look-up rate limit" : "global look-up rate limit";
	return ret;
}

static int lookup_cached(const struct lookup_options *opts, const uint8_t key[WG_KEY_LEN],
			 double now, struct lookup_result *out)
{
	struct store_cache_entry entry;
	struct control_reply reply;
	bool have_stale = false;
	const char *why = NULL;
	char buf[128];
	int64_t until, t = (int64_t)now;
	unsigned ttl;
	int ret;

	ret = store_cache_get(opts->store, key, &entry);
	if (ret == 0 && t < entry.expires_at) {
		out->source = LOOKUP_SOURCE_CACHE;
		if (entry.negative) {
			out->status = LOOKUP_NOT_FOUND;
			snprintf(out->detail, sizeof(out->detail), "negative cache entry until %lld",
				 (long long)entry.expires_at);
		} else {
			out->status = LOOKUP_FOUND;
			out->peer = entry.peer;
			snprintf(out->detail, sizeof(out->detail), "cache entry until %lld",
				 (long long)entry.expires_at);
		}
		return 0;
	}
	if (ret == 0 && !entry.negative)
		have_stale = true;
	else if (ret == -ENOMEM)
		return ret;
	else if (ret < 0 && ret != -ENOENT)
		log_warnx("event=lookup_cache_error err=\"%s\"", strerror(-ret));

	ret = store_backoff_get(opts->store, key, &until);
	if (ret == 0 && t < until) {
		snprintf(buf, sizeof(buf), "control plane asked to retry after %lld",
			 (long long)until);
		stale_or(out, &entry, have_stale, LOOKUP_RATE_LIMITED, buf);
		goto out;
	}
	ret = take_tokens(opts, key, now, &why);
	if (ret < 0) {
		snprintf(buf, sizeof(buf), "store: %s", strerror(-ret));
		stale_or(out, &entry, have_stale, LOOKUP_UNAVAILABLE, buf);
		ret = 0;
		goto out;
	}
	if (ret == 0) {
		stale_or(out, &entry, have_stale, LOOKUP_RATE_LIMITED, why);
		goto out;
	}

	ret = ask(opts, key, out, &reply);
	if (ret < 0)
		goto out;
	switch (reply.status) {
	case CONTROL_FOUND:
		ttl = reply.ttl ? reply.ttl : opts->cache_ttl;
		if (store_cache_put(opts->store, key, &reply.peer, t, t + ttl) < 0)
			log_warnx("event=lookup_cache_put_failed");
		out->status = LOOKUP_FOUND;
		out->source = LOOKUP_SOURCE_CONTROL;
		out->peer = reply.peer;
		snprintf(out->detail, sizeof(out->detail), "%s, cached for %u s", reply.detail, ttl);
		break;
	case CONTROL_NOT_FOUND:
		if (store_cache_put(opts->store, key, NULL, t, t + opts->negative_ttl) < 0)
			log_warnx("event=lookup_cache_put_failed");
		out->status = LOOKUP_NOT_FOUND;
		out->source = LOOKUP_SOURCE_CONTROL;
		snprintf(out->detail, sizeof(out->detail), "%s, negatively cached for %u s", reply.detail,
			 opts->negative_ttl);
		break;
	case CONTROL_RETRY_LATER:
		if (store_backoff_set(opts->store, key, t + reply.retry_after) < 0)
			log_warnx("event=lookup_backoff_put_failed");
		stale_or(out, &entry, have_stale, LOOKUP_RATE_LIMITED, reply.detail);
		break;
	case CONTROL_UNAVAILABLE:
		stale_or(out, &entry, have_stale, LOOKUP_UNAVAILABLE, reply.detail);
		break;
	}
out:
	if (have_stale)
		jit_peer_clear(&entry.peer);
	return ret < 0 ? ret : 0;
}

int lookup_peer(const struct lookup_options *opts, const uint8_t key[WG_KEY_LEN], double now,
		struct lookup_result *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->status = LOOKUP_UNAVAILABLE;
	if (control_is_local(opts->control))
		ret = lookup_local(opts, key, out);
	else
		ret = lookup_cached(opts, key, now, out);
	if (ret < 0)
		return ret;
	record(opts, key, out);
	return 0;
}
