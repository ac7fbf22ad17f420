/* jit/lookup: the cache policy, against tests/tools/cp-server.py and a real database. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jit/lookup.h"
#include "tests/unit/test_control_server.h"

enum {
	L_OK = 1,
	L_TTL,
	L_404,
	L_429,
	L_STALE500,
	L_500,
	L_STALE_HANG,
	L_HANG,
	L_BADJSON,
	L_RL,
	L_STALE429,
	L_SLOW,
	L_FAST,
	L_RESTART,
	L_EVENTS,
	L_GLOBAL = 100,	/* 100..105: not in the fixture (404) */
};

#define T0 1900000000.0
#define OK_ENTRY "{\"reply\": {\"allowed_ips\": [\"10.20.0.0/16\"]}}"

static struct cp_server srv;

struct env {
	char dir[64];
	char path[96];
	struct store *store;
	struct control *control;
	struct lookup_options opts;
};

static int start_server(void **state)
{
	static char fixture[8192];

	(void)state;
	snprintf(fixture, sizeof(fixture), "{\"peers\": {");
	cp_fixture_add(fixture, sizeof(fixture), L_OK, OK_ENTRY);
	cp_fixture_add(fixture, sizeof(fixture), L_TTL, "{\"reply\": {\"ttl\": 10}}");
	cp_fixture_add(fixture, sizeof(fixture), L_404, "{\"behaviour\": \"404\"}");
	cp_fixture_add(fixture, sizeof(fixture), L_429,
		       "{\"behaviour\": \"429\", \"retry_after\": 7}");
	cp_fixture_add(fixture, sizeof(fixture), L_STALE500, OK_ENTRY);
	cp_fixture_add(fixture, sizeof(fixture), L_500, "{\"behaviour\": \"500\"}");
	cp_fixture_add(fixture, sizeof(fixture), L_STALE_HANG, OK_ENTRY);
	cp_fixture_add(fixture, sizeof(fixture), L_HANG, "{\"behaviour\": \"hang\"}");
	cp_fixture_add(fixture, sizeof(fixture), L_BADJSON, "{\"behaviour\": \"badjson\"}");
	cp_fixture_add(fixture, sizeof(fixture), L_RL, "{\"behaviour\": \"500\"}");
	cp_fixture_add(fixture, sizeof(fixture), L_STALE429, OK_ENTRY);
	cp_fixture_add(fixture, sizeof(fixture), L_SLOW, "{\"behaviour\": \"hang\"}");
	cp_fixture_add(fixture, sizeof(fixture), L_FAST, OK_ENTRY);
	cp_fixture_add(fixture, sizeof(fixture), L_RESTART, OK_ENTRY);
	strcat(fixture, "}}");
	cp_server_start(&srv, fixture);
	return 0;
}

static int stop_server(void **state)
{
	(void)state;
	cp_server_stop(&srv);
	return 0;
}

static void env_control(struct env *e, const char *source, unsigned timeout_ms)
{
	struct control_options copts = { .source = source, .timeout_ms = timeout_ms,
					 .store = e->store };

	control_close(e->control);
	assert_int_equal(control_open(&e->control, &copts), 0);
	e->opts.control = e->control;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/test-lookup.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/wssd.db", e->dir);
	assert_int_equal(store_open(&e->store, e->path, err, sizeof(err)), 0);
	e->opts = (struct lookup_options){
		.store = e->store,
		.cache_ttl = 300,
		.negative_ttl = 60,
		.key_lookups_per_minute = 12,
		.lookups_per_second = 200,
	};
	env_control(e, srv.base, 5000);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	control_close(e->control);
	store_close(e->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static long count(uint8_t v)
{
	uint8_t key[WG_KEY_LEN];
	struct cp_stats st;

	test_key(key, v);
	cp_server_stats(&srv, key, &st);
	return st.count;
}

static void set_behaviour(uint8_t v, const char *entry)
{
	uint8_t key[WG_KEY_LEN];

	test_key(key, v);
	cp_server_post(&srv, "set", key, entry);
}

static void release(uint8_t v)
{
	uint8_t key[WG_KEY_LEN];

	test_key(key, v);
	cp_server_post(&srv, "release", key, NULL);
}

/* One look-up; checks status, source and whether the control plane was asked. */
static void expect(struct env *e, uint8_t v, double now, enum lookup_status status,
		   enum lookup_source source, bool called)
{
	struct lookup_result r;
	uint8_t key[WG_KEY_LEN];

	test_key(key, v);
	assert_int_equal(lookup_peer(&e->opts, key, now, &r), 0);
	if (r.status != status || r.source != source || r.control_called != called) {
		fprintf(stderr, "key %u at +%.0f: %s/%s called=%d (%s), wanted %s/%s called=%d\n",
			v, now - T0, lookup_status_name(r.status), lookup_source_name(r.source),
			r.control_called, r.detail, lookup_status_name(status),
			lookup_source_name(source), called);
		fail();
	}
	if (status == LOOKUP_FOUND) {
		assert_memory_equal(r.peer.public_key, key, WG_KEY_LEN);
		assert_true(r.peer.n_allowedips >= 1);
	} else {
		assert_int_equal(r.peer.n_allowedips, 0);
	}
	jit_peer_clear(&r.peer);
}

static void test_hit_then_cache(void **state)
{
	struct env *e = *state;

	expect(e, L_OK, T0, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	expect(e, L_OK, T0 + 299, LOOKUP_FOUND, LOOKUP_SOURCE_CACHE, false);
	assert_int_equal(count(L_OK), 1);
	expect(e, L_OK, T0 + 301, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	assert_int_equal(count(L_OK), 2);

	/* The reply's ttl wins over cache_ttl. */
	expect(e, L_TTL, T0, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	expect(e, L_TTL, T0 + 9, LOOKUP_FOUND, LOOKUP_SOURCE_CACHE, false);
	expect(e, L_TTL, T0 + 11, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	assert_int_equal(count(L_TTL), 2);
}

static void test_negative_cache(void **state)
{
	struct env *e = *state;

	expect(e, L_404, T0, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	expect(e, L_404, T0 + 1, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CACHE, false);
	expect(e, L_404, T0 + 59, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CACHE, false);
	assert_int_equal(count(L_404), 1);
	expect(e, L_404, T0 + 61, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	assert_int_equal(count(L_404), 2);
}

static void test_retry_after(void **state)
{
	struct env *e = *state;

	expect(e, L_429, T0, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, true);
	expect(e, L_429, T0 + 6, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, false);
	assert_int_equal(count(L_429), 1);
	expect(e, L_429, T0 + 8, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, true);
	assert_int_equal(count(L_429), 2);

	/* With a cached config, the stale one is served meanwhile. */
	expect(e, L_STALE429, T0, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	set_behaviour(L_STALE429, "{\"behaviour\": \"429\", \"retry_after\": 7}");
	expect(e, L_STALE429, T0 + 301, LOOKUP_FOUND, LOOKUP_SOURCE_STALE, true);
	expect(e, L_STALE429, T0 + 303, LOOKUP_FOUND, LOOKUP_SOURCE_STALE, false);
	assert_int_equal(count(L_STALE429), 2);
	set_behaviour(L_STALE429, OK_ENTRY);
	expect(e, L_STALE429, T0 + 309, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	assert_int_equal(count(L_STALE429), 3);
}

static void test_server_error(void **state)
{
	struct env *e = *state;
	struct lookup_result r;
	uint8_t key[WG_KEY_LEN];
	char ip[ALLOWEDIP_STRLEN];

	/* No cached config: fail fast, and ask again next time (nothing cached). */
	expect(e, L_500, T0, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	expect(e, L_500, T0 + 1, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	assert_int_equal(count(L_500), 2);

	/* A cached config past its TTL is served while the API fails. */
	expect(e, L_STALE500, T0, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	set_behaviour(L_STALE500, "{\"behaviour\": \"500\"}");
	test_key(key, L_STALE500);
	assert_int_equal(lookup_peer(&e->opts, key, T0 + 301, &r), 0);
	assert_int_equal(r.status, LOOKUP_FOUND);
	assert_int_equal(r.source, LOOKUP_SOURCE_STALE);
	assert_true(r.control_called);
	assert_int_equal(r.control_status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "HTTP 500"));
	assert_int_equal(r.peer.n_allowedips, 1);
	allowedip_format(&r.peer.allowedips[0], ip, sizeof(ip));
	assert_string_equal(ip, "10.20.0.0/16");
	jit_peer_clear(&r.peer);
	assert_int_equal(count(L_STALE500), 2);
}

static void test_timeout(void **state)
{
	struct env *e = *state;

	env_control(e, srv.base, 300);
	expect(e, L_HANG, T0, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	release(L_HANG);

	expect(e, L_STALE_HANG, T0, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	set_behaviour(L_STALE_HANG, "{\"behaviour\": \"hang\"}");
	expect(e, L_STALE_HANG, T0 + 301, LOOKUP_FOUND, LOOKUP_SOURCE_STALE, true);
	release(L_STALE_HANG);
	assert_int_equal(count(L_STALE_HANG), 2);
}

static void test_bad_json(void **state)
{
	struct env *e = *state;

	expect(e, L_BADJSON, T0, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	expect(e, L_BADJSON, T0 + 1, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	assert_int_equal(count(L_BADJSON), 2);
}

static void test_rate_limits(void **state)
{
	struct env *e = *state;

	/* Per key: 2 a minute, so one more every 30 s. */
	e->opts.key_lookups_per_minute = 2;
	expect(e, L_RL, T0, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	expect(e, L_RL, T0, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	expect(e, L_RL, T0, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, false);
	expect(e, L_RL, T0 + 29, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, false);
	assert_int_equal(count(L_RL), 2);
	expect(e, L_RL, T0 + 31, LOOKUP_UNAVAILABLE, LOOKUP_SOURCE_NONE, true);
	assert_int_equal(count(L_RL), 3);

	/* Global: 3 a second over different keys. */
	e->opts.key_lookups_per_minute = 12;
	e->opts.lookups_per_second = 3;
	for (uint8_t v = L_GLOBAL; v < L_GLOBAL + 3; v++)
		expect(e, v, T0 + 100, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	expect(e, L_GLOBAL + 3, T0 + 100, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, false);
	assert_int_equal(count(L_GLOBAL + 3), 0);
	expect(e, L_GLOBAL + 3, T0 + 101, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);

	/* A look-up the global limit refuses costs its key nothing. */
	e->opts.key_lookups_per_minute = 1;
	e->opts.lookups_per_second = 1;
	expect(e, L_GLOBAL + 4, T0 + 200, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	expect(e, L_GLOBAL + 5, T0 + 200, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, false);
	expect(e, L_GLOBAL + 5, T0 + 201, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
}

static void test_cache_survives_restart(void **state)
{
	struct env *e = *state;
	char err[256];

	expect(e, L_RESTART, T0, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	control_close(e->control);
	e->control = NULL;
	store_close(e->store);
	assert_int_equal(store_open(&e->store, e->path, err, sizeof(err)), 0);
	e->opts.store = e->store;
	env_control(e, srv.base, 5000);
	expect(e, L_RESTART, T0 + 1, LOOKUP_FOUND, LOOKUP_SOURCE_CACHE, false);
	assert_int_equal(count(L_RESTART), 1);
}

struct events_seen {
	int n;
	char names[4][64];
};

static int collect_event(void *ctx, const struct store_event *ev)
{
	struct events_seen *seen = ctx;

	if (seen->n < 4)
		snprintf(seen->names[seen->n], sizeof(seen->names[0]), "%s", ev->event);
	seen->n++;
	return 0;
}

static void test_event_log(void **state)
{
	struct env *e = *state;
	struct events_seen seen = { 0 };
	uint8_t key[WG_KEY_LEN];

	e->opts.key_lookups_per_minute = 1;
	e->opts.negative_ttl = 10;
	expect(e, L_EVENTS, T0, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	expect(e, L_EVENTS, T0 + 5, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CACHE, false);
	expect(e, L_EVENTS, T0 + 20, LOOKUP_RATE_LIMITED, LOOKUP_SOURCE_NONE, false);
	expect(e, L_EVENTS, T0 + 61, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	test_key(key, L_EVENTS);
	assert_int_equal(store_event_foreach(e->store, key, 0, collect_event, &seen), 0);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.names[0], "lookup_not_found");
	assert_string_equal(seen.names[1], "lookup_rate_limited");
	assert_string_equal(seen.names[2], "lookup_not_found");
	assert_string_equal(seen.names[3], "lookup_not_found");
}

struct slow {
	struct env *e;
	struct lookup_result r;
	atomic_bool done;
	int ret;
};

static void *slow_lookup(void *arg)
{
	struct slow *sl = arg;
	uint8_t key[WG_KEY_LEN];

	test_key(key, L_SLOW);
	sl->ret = lookup_peer(&sl->e->opts, key, T0, &sl->r);
	atomic_store(&sl->done, true);
	return NULL;
}

/* A look-up the server sits on does not hold up another key's. */
static void test_slow_does_not_block(void **state)
{
	struct env *e = *state;
	struct slow sl = { .e = e };
	uint8_t slow_key[WG_KEY_LEN];
	struct cp_stats st;
	pthread_t t;

	env_control(e, srv.base, 30000);
	test_key(slow_key, L_SLOW);
	assert_int_equal(pthread_create(&t, NULL, slow_lookup, &sl), 0);
	cp_server_wait_open(&srv, slow_key, 1);

	expect(e, L_FAST, T0, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	/* The fast answer came while the slow request was still open at the server. */
	cp_server_stats(&srv, slow_key, &st);
	assert_int_equal(st.open, 1);
	assert_false(atomic_load(&sl.done));

	release(L_SLOW);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sl.ret, 0);
	assert_int_equal(sl.r.status, LOOKUP_FOUND);
	assert_int_equal(sl.r.source, LOOKUP_SOURCE_CONTROL);
	jit_peer_clear(&sl.r.peer);
}

static void test_local_registry(void **state)
{
	struct env *e = *state;
	struct store_cache_entry ce;
	struct jit_peer p = { 0 };
	struct wg_allowedip ip;

	env_control(e, "local", 0);
	test_key(p.public_key, 200);
	assert_int_equal(allowedip_parse("10.200.0.1/32", &ip), 0);
	assert_int_equal(jit_peer_add_allowedip(&p, &ip), 0);
	expect(e, 200, T0, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	assert_int_equal(store_registry_put(e->store, &p), 0);
	expect(e, 200, T0 + 1, LOOKUP_FOUND, LOOKUP_SOURCE_CONTROL, true);
	/* Removal takes effect at once: the registry is not cached. */
	assert_int_equal(store_registry_remove(e->store, p.public_key), 0);
	expect(e, 200, T0 + 2, LOOKUP_NOT_FOUND, LOOKUP_SOURCE_CONTROL, true);
	assert_int_equal(store_cache_get(e->store, p.public_key, &ce), -ENOENT);
	jit_peer_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hit_then_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_registry, setup, teardown),
	};

	return cmocka_run_group_tests_name("lookup", tests, start_server, stop_server);
}
