#include "tests/unit/test_control_server.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

void test_key(uint8_t key[WG_KEY_LEN], uint8_t v)
{
	memset(key, v, WG_KEY_LEN);
}

void cp_fixture_add(char *buf, size_t size, uint8_t v, const char *entry)
{
	uint8_t key[WG_KEY_LEN];
	char hex[WG_KEY_HEX_LEN];
	size_t len = strlen(buf);

	test_key(key, v);
	key_to_hex(hex, key);
	snprintf(buf + len, size - len, "%s\"%s\": %s", buf[len - 1] == '{' ? "" : ", ", hex,
		 entry);
}

static int python_exists(void)
{
	return system("python3 -c '' >/dev/null 2>&1") == 0;
}

void cp_server_start(struct cp_server *srv, const char *fixture_json)
{
	const char *srcdir = getenv("top_srcdir");
	char script[4096], fixture[128], line[32];
	int in[2], out[2];
	ssize_t n;
	size_t got = 0;
	FILE *f;

	if (!python_exists()) {
		fprintf(stderr, "SKIP: python3 is not installed\n");
		exit(77);
	}
	memset(srv, 0, sizeof(*srv));
	snprintf(script, sizeof(script), "%s/tests/tools/cp-server.py",
		 srcdir ? srcdir : TOP_SRCDIR);
	snprintf(srv->dir, sizeof(srv->dir), "/tmp/cp-server.XXXXXX");
	assert_non_null(mkdtemp(srv->dir));
	snprintf(fixture, sizeof(fixture), "%s/fixture.json", srv->dir);
	f = fopen(fixture, "w");
	assert_non_null(f);
	assert_true(fputs(fixture_json, f) >= 0);
	assert_int_equal(fclose(f), 0);

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	srv->pid = fork();
	assert_true(srv->pid >= 0);
	if (srv->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execlp("python3", "python3", script, fixture, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	srv->stdin_fd = in[1];
	while (got < sizeof(line) - 1 && (n = read(out[0], line + got, 1)) == 1 &&
	       line[got] != '\n')
		got++;
	close(out[0]);
	line[got] = '\0';
	srv->port = (unsigned)strtoul(line, NULL, 10);
	if (!srv->port) {
		fprintf(stderr, "cp-server.py did not print a port\n");
		fail();
	}
	snprintf(srv->base, sizeof(srv->base), "http://127.0.0.1:%u", srv->port);
}

void cp_server_stop(struct cp_server *srv)
{
	char path[128];

	if (srv->pid <= 0)
		return;
	close(srv->stdin_fd);
	kill(srv->pid, SIGTERM);
	waitpid(srv->pid, NULL, 0);
	srv->pid = 0;
	snprintf(path, sizeof(path), "%s/fixture.json", srv->dir);
	unlink(path);
	rmdir(srv->dir);
}

struct buf {
	char data[4096];
	size_t len;
};

static size_t buf_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	size_t n = size * nmemb;

	if (n > sizeof(b->data) - 1 - b->len)
		return 0;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static void request(struct cp_server *srv, const char *path, const char *post, struct buf *b)
{
	char url[256];
	long code = 0;
	CURL *h = curl_easy_init();

	assert_non_null(h);
	snprintf(url, sizeof(url), "%s%s", srv->base, path);
	b->len = 0;
	b->data[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (post)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 200);
	curl_easy_cleanup(h);
}

static void copy_string(char *dst, size_t size, json_t *v)
{
	snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

void cp_server_stats(struct cp_server *srv, const uint8_t key[WG_KEY_LEN], struct cp_stats *out)
{
	char path[128], hex[WG_KEY_HEX_LEN];
	struct buf b;
	json_t *root;

	key_to_hex(hex, key);
	snprintf(path, sizeof(path), "/_stats/%s", hex);
	request(srv, path, NULL, &b);
	root = json_loads(b.data, 0, NULL);
	assert_non_null(root);
	out->count = (long)json_integer_value(json_object_get(root, "count"));
	out->open = (long)json_integer_value(json_object_get(root, "open"));
	copy_string(out->auth, sizeof(out->auth), json_object_get(root, "auth"));
	copy_string(out->accept, sizeof(out->accept), json_object_get(root, "accept"));
	json_decref(root);
}

void cp_server_post(struct cp_server *srv, const char *what, const uint8_t key[WG_KEY_LEN],
		    const char *body)
{
	char path[128], hex[WG_KEY_HEX_LEN];
	struct buf b;

	key_to_hex(hex, key);
	snprintf(path, sizeof(path), "/_%s/%s", what, hex);
	request(srv, path, body ? body : "{}", &b);
}

void cp_server_wait_open(struct cp_server *srv, const uint8_t key[WG_KEY_LEN], long n)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct cp_stats st;

	for (int i = 0; i < 500; i++) {
		cp_server_stats(srv, key, &st);
		if (st.open >= n)
			return;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "the server never saw %ld open requests\n", n);
	fail();
}
