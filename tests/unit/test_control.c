/* jit/control against tests/tools/cp-server.py, and the JSON parser on its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jit/control.h"
#include "jit/store.h"
#include "tests/unit/test_control_server.h"

#define TOKEN "s3cret"
#define PSK_B64 "d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3c="

enum {
	K_OK = 1,
	K_404,
	K_429,
	K_429_BARE,
	K_429_GARBLED,
	K_500,
	K_HANG,
	K_BADJSON,
	K_WRONGKEY,
	K_BIG,
	K_BADCIDR,
	K_ABSENT,
};

static struct cp_server srv;

static int start_server(void **state)
{
	static char fixture[8192];

	(void)state;
	snprintf(fixture, sizeof(fixture), "{\"token\": \"" TOKEN "\", \"peers\": {");
	cp_fixture_add(fixture, sizeof(fixture), K_OK,
		       "{\"reply\": {\"allowed_ips\": [\"10.1.0.1/32\", \"fd00:1::/64\"],"
		       " \"persistent_keepalive\": 25, \"preshared_key\": \"" PSK_B64 "\","
		       " \"ttl\": 10}}");
	cp_fixture_add(fixture, sizeof(fixture), K_404, "{\"behaviour\": \"404\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_429,
		       "{\"behaviour\": \"429\", \"retry_after\": 7}");
	cp_fixture_add(fixture, sizeof(fixture), K_429_BARE, "{\"behaviour\": \"429\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_429_GARBLED,
		       "{\"behaviour\": \"429\", \"retry_after\": \"soon\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_500, "{\"behaviour\": \"500\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_HANG, "{\"behaviour\": \"hang\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_BADJSON, "{\"behaviour\": \"badjson\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_WRONGKEY, "{\"behaviour\": \"wrongkey\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_BIG, "{\"behaviour\": \"big\"}");
	cp_fixture_add(fixture, sizeof(fixture), K_BADCIDR,
		       "{\"reply\": {\"allowed_ips\": [\"10.0.0.1/8\"]}}");
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

static struct control *open_http(const char *token, unsigned timeout_ms)
{
	struct control_options opts = { .source = srv.base, .token = token,
					.timeout_ms = timeout_ms };
	struct control *c;

	assert_int_equal(control_open(&c, &opts), 0);
	assert_false(control_is_local(c));
	return c;
}

static void fetch(struct control *c, uint8_t v, struct control_reply *reply)
{
	uint8_t key[WG_KEY_LEN];

	test_key(key, v);
	assert_int_equal(control_fetch(c, key, reply), 0);
}

static long count(uint8_t v)
{
	uint8_t key[WG_KEY_LEN];
	struct cp_stats st;

	test_key(key, v);
	cp_server_stats(&srv, key, &st);
	return st.count;
}

static void test_hit(void **state)
{
	struct control *c = open_http(TOKEN, 5000);
	struct control_reply r;
	uint8_t key[WG_KEY_LEN], psk[WG_KEY_LEN];
	char ip[ALLOWEDIP_STRLEN];
	struct cp_stats st;

	(void)state;
	fetch(c, K_OK, &r);
	assert_int_equal(r.status, CONTROL_FOUND);
	test_key(key, K_OK);
	assert_memory_equal(r.peer.public_key, key, WG_KEY_LEN);
	assert_int_equal(r.peer.n_allowedips, 2);
	allowedip_format(&r.peer.allowedips[0], ip, sizeof(ip));
	assert_string_equal(ip, "10.1.0.1/32");
	allowedip_format(&r.peer.allowedips[1], ip, sizeof(ip));
	assert_string_equal(ip, "fd00:1::/64");
	assert_true(r.peer.has_keepalive);
	assert_int_equal(r.peer.persistent_keepalive, 25);
	assert_true(r.peer.has_preshared_key);
	memset(psk, 0x77, sizeof(psk));
	assert_memory_equal(r.peer.preshared_key, psk, WG_KEY_LEN);
	assert_int_equal(r.ttl, 10);
	jit_peer_clear(&r.peer);

	cp_server_stats(&srv, key, &st);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.open, 0);
	assert_string_equal(st.auth, "Bearer " TOKEN);
	assert_string_equal(st.accept, "application/json");
	control_close(c);
}

static void test_token_checked(void **state)
{
	struct control *c = open_http("wrong", 5000);
	struct control_reply r;

	(void)state;
	fetch(c, K_OK, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "401"));
	control_close(c);

	c = open_http(NULL, 5000);
	fetch(c, K_OK, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "401"));
	control_close(c);
}

/* A reload's new token: the next calls carry it; a bad one leaves the old. */
static void test_set_token(void **state)
{
	struct control *c = open_http("old", 5000);
	struct control_reply r;
	uint8_t key[WG_KEY_LEN];
	struct cp_stats st;

	(void)state;
	fetch(c, K_OK, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "401"));
	assert_int_equal(control_set_token(c, TOKEN), 0);
	fetch(c, K_OK, &r);
	assert_int_equal(r.status, CONTROL_FOUND);
	jit_peer_clear(&r.peer);
	test_key(key, K_OK);
	cp_server_stats(&srv, key, &st);
	assert_string_equal(st.auth, "Bearer " TOKEN);

	assert_int_equal(control_set_token(c, "x\r\nX-Injected: 1"), -EINVAL);
	fetch(c, K_OK, &r);
	assert_int_equal(r.status, CONTROL_FOUND);
	jit_peer_clear(&r.peer);

	assert_int_equal(control_set_token(c, NULL), 0);
	fetch(c, K_OK, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	cp_server_stats(&srv, key, &st);
	assert_string_equal(st.auth, "");
	control_close(c);
}

struct fetcher {
	struct control *c;
	int found, refused;
};

static void *fetch_many(void *arg)
{
	struct fetcher *f = arg;
	struct control_reply r;
	uint8_t key[WG_KEY_LEN];

	test_key(key, K_OK);
	for (int i = 0; i < 25; i++) {
		if (control_fetch(f->c, key, &r) != 0)
			continue;
		if (r.status == CONTROL_FOUND)
			f->found++;
		else if (strstr(r.detail, "401"))
			f->refused++;
		jit_peer_clear(&r.peer);
	}
	return NULL;
}

/* Tokens replaced while calls are under way on other threads (ASan: no use after free). */
static void test_set_token_under_way(void **state)
{
	struct control *c = open_http(TOKEN, 5000);
	struct fetcher f[4];
	pthread_t th[4];
	int found = 0, refused = 0;

	(void)state;
	for (int i = 0; i < 4; i++) {
		f[i] = (struct fetcher){ .c = c };
		assert_int_equal(pthread_create(&th[i], NULL, fetch_many, &f[i]), 0);
	}
	for (int i = 0; i < 200; i++) {
		assert_int_equal(control_set_token(c, i % 2 ? TOKEN : "wrong"), 0);
		usleep(500);
	}
	assert_int_equal(control_set_token(c, TOKEN), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		found += f[i].found;
		refused += f[i].refused;
	}
	/* every call got one answer or the other, nothing else */
	assert_int_equal(found + refused, 100);
	control_close(c);
}

static void test_not_found(void **state)
{
	struct control *c = open_http(TOKEN, 5000);
	struct control_reply r;

	(void)state;
	fetch(c, K_404, &r);
	assert_int_equal(r.status, CONTROL_NOT_FOUND);
	fetch(c, K_ABSENT, &r);
	assert_int_equal(r.status, CONTROL_NOT_FOUND);
	assert_int_equal(count(K_404), 1);
	control_close(c);
}

static void test_retry_after(void **state)
{
	struct control *c = open_http(TOKEN, 5000);
	struct control_reply r;

	(void)state;
	fetch(c, K_429, &r);
	assert_int_equal(r.status, CONTROL_RETRY_LATER);
	assert_int_equal(r.retry_after, 7);
	fetch(c, K_429_BARE, &r);
	assert_int_equal(r.status, CONTROL_RETRY_LATER);
	assert_int_equal(r.retry_after, CONTROL_RETRY_AFTER_DEFAULT);
	fetch(c, K_429_GARBLED, &r);
	assert_int_equal(r.status, CONTROL_RETRY_LATER);
	assert_int_equal(r.retry_after, CONTROL_RETRY_AFTER_DEFAULT);
	control_close(c);
}

static void test_transient(void **state)
{
	struct control *c = open_http(TOKEN, 5000);
	struct control_reply r;

	(void)state;
	fetch(c, K_500, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "500"));
	fetch(c, K_BADJSON, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "bad JSON"));
	fetch(c, K_WRONGKEY, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "not the key asked for"));
	fetch(c, K_BIG, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "larger than"));
	fetch(c, K_BADCIDR, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "allowed_ips[0]"));
	assert_int_equal(r.peer.n_allowedips, 0);
	control_close(c);
}

static void test_timeout(void **state)
{
	struct control *c = open_http(TOKEN, 300);
	struct control_reply r;
	uint8_t key[WG_KEY_LEN];

	(void)state;
	fetch(c, K_HANG, &r);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "timeout"));
	/* The server still holds the request it never answered. */
	test_key(key, K_HANG);
	cp_server_wait_open(&srv, key, 1);
	cp_server_post(&srv, "release", key, NULL);
	control_close(c);
}

static void test_connection_refused(void **state)
{
	struct control_options opts = { .source = "http://127.0.0.1:1", .timeout_ms = 2000 };
	struct control_reply r;
	struct control *c;
	uint8_t key[WG_KEY_LEN];

	(void)state;
	assert_int_equal(control_open(&c, &opts), 0);
	test_key(key, K_OK);
	assert_int_equal(control_fetch(c, key, &r), 0);
	assert_int_equal(r.status, CONTROL_UNAVAILABLE);
	assert_true(r.detail[0] != '\0');
	control_close(c);
}

static void test_open_rejects(void **state)
{
	struct control_options opts = { .source = "ftp://example.com" };
	char long_url[1000];
	struct control *c;

	(void)state;
	assert_int_equal(control_open(&c, &opts), -EINVAL);
	assert_null(c);
	opts.source = "http://example.com";
	opts.token = "abc\r\nX-Injected: 1";
	assert_int_equal(control_open(&c, &opts), -EINVAL);
	opts.source = "local";
	opts.token = NULL;
	assert_int_equal(control_open(&c, &opts), -EINVAL);

	memset(long_url, 'a', sizeof(long_url) - 1);
	memcpy(long_url, "http://", 7);
	long_url[sizeof(long_url) - 1] = '\0';
	opts.source = long_url;
	assert_int_equal(control_open(&c, &opts), -EINVAL);
}

static void test_local(void **state)
{
	char dir[] = "/tmp/test-control.XXXXXX", path[64], err[256];
	struct control_options opts = { .source = "local" };
	struct jit_peer peer = { 0 };
	struct wg_allowedip ip;
	struct control_reply r;
	struct control *c;
	struct store *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db", dir);
	assert_int_equal(store_open(&s, path, err, sizeof(err)), 0);
	opts.store = s;
	assert_int_equal(control_open(&c, &opts), 0);
	assert_true(control_is_local(c));
	assert_int_equal(control_set_token(c, "t"), -EINVAL);

	test_key(peer.public_key, 42);
	assert_int_equal(allowedip_parse("10.9.0.0/16", &ip), 0);
	assert_int_equal(jit_peer_add_allowedip(&peer, &ip), 0);
	assert_int_equal(control_fetch(c, peer.public_key, &r), 0);
	assert_int_equal(r.status, CONTROL_NOT_FOUND);
	assert_int_equal(store_registry_put(s, &peer), 0);
	assert_int_equal(control_fetch(c, peer.public_key, &r), 0);
	assert_int_equal(r.status, CONTROL_FOUND);
	assert_int_equal(r.peer.n_allowedips, 1);
	assert_int_equal(r.peer.allowedips[0].cidr, 16);
	jit_peer_clear(&r.peer);
	jit_peer_clear(&peer);

	control_close(c);
	store_close(s);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db-shm", dir);
	unlink(path);
	rmdir(dir);
}

/* control_parse_peer: what a 200 body may and may not be. */
static int parse(const char *json, uint8_t v, struct jit_peer *peer, unsigned *ttl, char *err)
{
	uint8_t key[WG_KEY_LEN];

	test_key(key, v);
	return control_parse_peer(json, strlen(json), key, peer, ttl, err, 128);
}

/* The base64 of 32 bytes of 0x01. */
#define KEY1_B64 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

static void test_parse(void **state)
{
	static const struct {
		const char *json;
		const char *err;	/* NULL: accepted */
	} cases[] = {
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": []}", NULL },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [\"::/0\"],"
		  " \"persistent_keepalive\": null, \"preshared_key\": null, \"ttl\": 0,"
		  " \"extra\": {\"ignored\": true}}", NULL },
		{ "", "bad JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": []} x", "bad JSON" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"public_key\": \"" KEY1_B64 "\","
		  " \"allowed_ips\": []}", "bad JSON" },
		{ "{\"allowed_ips\": []}", "public_key" },
		{ "{\"public_key\": 1, \"allowed_ips\": []}", "public_key" },
		{ "{\"public_key\": \"AQEB\", \"allowed_ips\": []}", "public_key" },
		{ "{\"public_key\": \"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\","
		  " \"allowed_ips\": []}", "not the key asked for" },
		{ "{\"public_key\": \"" KEY1_B64 "\"}", "allowed_ips" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": \"10.0.0.1/32\"}",
		  "allowed_ips" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [1]}", "allowed_ips[0]" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [\"10.0.0.1/32\", \"x\"]}",
		  "allowed_ips[1]" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [],"
		  " \"persistent_keepalive\": 65536}", "persistent_keepalive" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [],"
		  " \"persistent_keepalive\": \"25\"}", "persistent_keepalive" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [],"
		  " \"preshared_key\": \"short\"}", "preshared_key" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [], \"ttl\": -1}", "ttl" },
		{ "{\"public_key\": \"" KEY1_B64 "\", \"allowed_ips\": [], \"ttl\": 1.5}", "ttl" },
	};
	struct jit_peer peer;
	unsigned ttl;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = parse(cases[i].json, 1, &peer, &ttl, err);

		if (!cases[i].err) {
			assert_int_equal(ret, 0);
			jit_peer_clear(&peer);
			continue;
		}
		if (ret != -EINVAL || !strstr(err, cases[i].err)) {
			fprintf(stderr, "case %zu: ret %d err \"%s\", wanted \"%s\"\n", i, ret, err,
				cases[i].err);
			fail();
		}
		assert_int_equal(peer.n_allowedips, 0);
		assert_null(peer.allowedips);
	}
}

int main(void)
{
	const struct CMUnitTest server_tests[] = {
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_token_checked),
		cmocka_unit_test(test_set_token),
		cmocka_unit_test(test_set_token_under_way),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_timeout),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_open_rejects),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_parse),
	};
	int failed = cmocka_run_group_tests_name("control, offline", tests, NULL, NULL);

	return failed + cmocka_run_group_tests_name("control against cp-server.py", server_tests,
						    start_server, stop_server);
}
