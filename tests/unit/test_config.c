#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wssd/config.h"

static char path[64];

static const char *write_conf(const char *text)
{
	FILE *f;

	strcpy(path, "/tmp/wssd-test-config.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int load(struct wssd_config *cfg, const char *text, char *err, size_t errlen)
{
	int ret;

	config_defaults(cfg);
	ret = config_load(cfg, write_conf(text), err, errlen);
	unlink(path);
	if (ret == 0)
		ret = config_finish(cfg, err, errlen);
	return ret;
}

static void test_defaults(void **state)
{
	struct wssd_config cfg;
	char err[256];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.interface, "wg0");
	assert_int_equal(cfg.backend, BACKEND_AUTO);
	assert_string_equal(cfg.uapi_socket, "/var/run/wireguard/wg0.sock");
	assert_string_equal(cfg.wg_address, "127.0.0.1");
	assert_int_equal(cfg.wg_port, 51820);
	assert_int_equal(cfg.n_listen, 1);
	assert_string_equal(cfg.listen[0].host, "::");
	assert_int_equal(cfg.listen[0].port, 443);
	assert_int_equal(cfg.n_plain_listen, 0);
	assert_int_equal(cfg.max_sessions, 20000);
	assert_int_equal(cfg.max_sessions_per_ip, 64);
	assert_int_equal(cfg.idle_timeout, 60);
	assert_true(cfg.capture_enabled);
	assert_int_equal(cfg.handshake_timeout, 5);
	assert_int_equal(cfg.max_pending, 1024);
	assert_int_equal(cfg.max_pending_per_ip, 16);
	assert_string_equal(cfg.admin_user, "");
	assert_string_equal(cfg.control_plane, "local");
	assert_int_equal(cfg.cache_ttl, 300);
	assert_int_equal(cfg.negative_ttl, 60);
	assert_int_equal(cfg.keepalive, 25);
	assert_int_equal(cfg.reaper_interval, 60);
	assert_int_equal(cfg.reaper_idle_after, 600);
	assert_int_equal(cfg.reaper_grace, 120);
	assert_true(cfg.role_inversion);
	assert_int_equal(cfg.capture_initiations_per_second, 20);
	assert_string_equal(cfg.admin_listen.host, "127.0.0.1");
	assert_int_equal(cfg.admin_listen.port, 9180);
}

static void test_full_file(void **state)
{
	struct wssd_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(load(&cfg,
			      "# comment\n"
			      "[gateway]\n"
			      "interface = wgx\n"
			      "backend = uapi\n"
			      "wg_port = 51999\n"
			      "wg_address = ::1\n"
			      "\n"
			      "[websocket]\n"
			      "listen = 0.0.0.0:8443, [::1]:9443\n"
			      "plain_listen = 127.0.0.1:8080\n"
			      "max_sessions = 10\n"
			      "max_sessions_per_ip = 99\n"
			      "[capture]\n"
			      "enabled = off\n"
			      "[jit]\n"
			      "control_plane = https://api.internal/v1\n",
			      err, sizeof(err)),
			 0);
	assert_string_equal(cfg.interface, "wgx");
	assert_int_equal(cfg.backend, BACKEND_UAPI);
	assert_string_equal(cfg.uapi_socket, "/var/run/wireguard/wgx.sock");
	assert_int_equal(cfg.wg_port, 51999);
	assert_string_equal(cfg.wg_address, "::1");
	assert_int_equal(cfg.n_listen, 2);
	assert_string_equal(cfg.listen[1].host, "::1");
	assert_int_equal(cfg.listen[1].port, 9443);
	assert_int_equal(cfg.n_plain_listen, 1);
	assert_int_equal(cfg.max_sessions_per_ip, 10);
	assert_false(cfg.capture_enabled);
}

static void expect_error(const char *text, const char *fragment)
{
	struct wssd_config cfg;
	char err[512] = "";

	assert_int_not_equal(load(&cfg, text, err, sizeof(err)), 0);
	if (!strstr(err, fragment))
		fail_msg("error \"%s\" lacks \"%s\"", err, fragment);
}

static void test_errors_name_line_and_key(void **state)
{
	(void)state;
	expect_error("[gateway]\nwg_port = 0\n", ":2: gateway.wg_port: \"0\" is not a whole number");
	expect_error("[gateway]\n\nwg_port = 70000\n", ":3: gateway.wg_port");
	expect_error("[gateway]\nwg_port = 12x\n", "gateway.wg_port");
	expect_error("[gateway]\nwg_port = -1\n", "gateway.wg_port");
	expect_error("[gateway]\nbogus = 1\n", ":2: gateway.bogus: unknown key");
	expect_error("[nosuch]\ninterface = 1\n", "nosuch.interface: unknown key");
	expect_error("interface = wg0\n", ":1: interface: key outside any [section]");
	expect_error("[gateway\n", ":1: malformed section header");
	expect_error("[gateway]\njust words\n", ":2: expected key = value");
	expect_error("[gateway]\nbackend = kernel\n", "gateway.backend: \"kernel\" is not one of: auto netlink uapi");
	expect_error("[websocket]\nlisten = localhost:443\n", "websocket.listen: \"localhost:443\"");
	expect_error("[websocket]\nlisten = 1.2.3.4\n", "websocket.listen");
	expect_error("[websocket]\nlisten = [::1:443\n", "websocket.listen");
	expect_error("[websocket]\nlisten =\n", "websocket.listen: no listener");
	expect_error("[websocket]\ncert = /x.pem\n", "websocket.key: set both");
	expect_error("[capture]\nenabled = maybe\n", "capture.enabled");
	expect_error("[jit]\ncontrol_plane = ftp://x\n", "jit.control_plane");
	expect_error("[gateway]\nwg_address = gw.example\n", "gateway.wg_address");
	expect_error("[gateway]\ninterface = aVeryLongInterfaceName\n", "gateway.interface: value longer than 15 bytes");
}

/* Two listeners on one address and port, wildcards included, name both keys. */
static void test_listener_collisions(void **state)
{
	(void)state;
	expect_error("[websocket]\nlisten = 127.0.0.1:9180\n",
		     "admin.listen: 127.0.0.1:9180 takes the address and port of websocket.listen 127.0.0.1:9180");
	expect_error("[websocket]\nlisten = 0.0.0.0:9180\n",
		     "admin.listen: 127.0.0.1:9180 takes the address and port of websocket.listen 0.0.0.0:9180");
	expect_error("[websocket]\nlisten = [::]:9180\n", "admin.listen");
	expect_error("[websocket]\nlisten = 1.2.3.4:443\nplain_listen = 1.2.3.4:443\n",
		     "websocket.plain_listen: 1.2.3.4:443 takes the address and port of websocket.listen 1.2.3.4:443");
	expect_error("[websocket]\nlisten = 1.2.3.4:443, 1.2.3.4:443\n",
		     "websocket.listen: 1.2.3.4:443 takes the address and port of websocket.listen");
	expect_error("[websocket]\nlisten = [::]:443\nplain_listen = 0.0.0.0:443\n",
		     "websocket.plain_listen: 0.0.0.0:443 takes the address and port of websocket.listen [::]:443");
	expect_error("[websocket]\nlisten = [::]:443, [2001:db8::1]:443\n", "websocket.listen");
	expect_error("[websocket]\nlisten = 0.0.0.0:443, [::ffff:10.0.0.1]:443\n", "websocket.listen");
	expect_error("[websocket]\nlisten = 10.0.0.1:9180\n",
		     "admin.listen: 127.0.0.1:9180 has the port of websocket.listen 10.0.0.1:9180");
}

static void test_listeners_apart(void **state)
{
	struct wssd_config cfg;
	char err[512] = "";

	(void)state;
	assert_int_equal(load(&cfg, "[websocket]\nlisten = 0.0.0.0:443, [2001:db8::1]:443\n"
				    "plain_listen = 10.0.0.1:80, 10.0.0.2:80\n", err, sizeof(err)), 0);
	assert_int_equal(load(&cfg, "[websocket]\nlisten = 198.18.0.1:8443, [fd00::1]:8443\n",
			      err, sizeof(err)), 0);
}

static void test_admin_user(void **state)
{
	struct wssd_config cfg;
	char err[512] = "";

	(void)state;
	expect_error("[admin]\nuser = wssd-no-such-user\n",
		     "admin.user: no such user \"wssd-no-such-user\"");
	expect_error("[admin]\nuser = root\n", "admin.user: \"root\" is root");
	assert_int_equal(load(&cfg, "[admin]\nuser = nobody\n", err, sizeof(err)), 0);
	assert_string_equal(cfg.admin_user, "nobody");
}

/* The reaper's and the capture path's keys, and what only makes sense together. */
static void test_direct_and_reaper(void **state)
{
	struct wssd_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(load(&cfg,
			      "[capture]\n"
			      "interfaces = eth0, eth1\n"
			      "initiations_per_second = 50\n"
			      "[jit]\n"
			      "role_inversion = off\n"
			      "keepalive = 0\n"
			      "[reaper]\n"
			      "interval = 1\n"
			      "idle_after = 180\n"
			      "grace = 10\n",
			      err, sizeof(err)),
			 0);
	assert_string_equal(cfg.capture_interfaces, "eth0, eth1");
	assert_int_equal(cfg.capture_initiations_per_second, 50);
	assert_false(cfg.role_inversion);
	assert_int_equal(cfg.reaper_idle_after, 180);
	assert_int_equal(cfg.reaper_grace, 10);
	/* a live peer may go 165 s without a handshake: shorter would evict it */
	expect_error("[reaper]\nidle_after = 179\n", "reaper.idle_after: \"179\" is not a whole number from 180");
	expect_error("[reaper]\ngrace = 9\n", "reaper.grace: \"9\" is not a whole number from 10");
	expect_error("[reaper]\nidle_after = 200\ngrace = 201\n",
		     "reaper.grace: 201 is longer than reaper.idle_after (200)");
	expect_error("[reaper]\ninterval = 0\n", "reaper.interval");
	expect_error("[capture]\ninitiations_per_second = 0\n", "capture.initiations_per_second");
	expect_error("[jit]\nkeepalive = 0\n", "jit.keepalive: 0 cannot trigger role inversion");
	expect_error("[jit]\nrole_inversion = sometimes\n", "jit.role_inversion");
	/* without the capture, or without JIT, a keepalive of 0 is fine */
	assert_int_equal(load(&cfg, "[jit]\nkeepalive = 0\n[capture]\nenabled = off\n", err,
			      sizeof(err)), 0);
	assert_int_equal(load(&cfg, "[jit]\nkeepalive = 0\nenabled = off\n", err, sizeof(err)), 0);
}

static void test_set_and_missing_file(void **state)
{
	struct wssd_config cfg;
	char err[512];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "websocket.idle_timeout", "5", err, sizeof(err)), 0);
	assert_int_equal(cfg.idle_timeout, 5);
	assert_int_not_equal(config_set(&cfg, "websocket.nope", "5", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "websocket.nope: unknown key"));
	assert_int_equal(config_load(&cfg, "/nonexistent/wssd.conf", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/wssd.conf"));
}

static void test_dump_round_trip(void **state)
{
	struct wssd_config a, b;
	char err[512], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	config_defaults(&a);
	assert_int_equal(config_set(&a, "websocket.listen", "[::]:443, 127.0.0.1:8443", err, sizeof(err)), 0);
	assert_int_equal(config_finish(&a, err, sizeof(err)), 0);
	config_dump(&a, f);
	fclose(f);
	assert_int_equal(load(&b, text, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	free(text);
}

struct changes {
	char text[1024];
};

static void note_change(void *arg, const char *key, const char *from, const char *to)
{
	struct changes *c = arg;
	size_t n = strlen(c->text);

	snprintf(c->text + n, sizeof(c->text) - n, "%s:%s>%s;", key, from, to);
}

/* What a reload compares: each key that differs, as text, in the table's order. */
static void test_changes_and_copy(void **state)
{
	struct wssd_config a, b;
	struct changes c = { "" };
	char err[512];

	(void)state;
	config_defaults(&a);
	assert_int_equal(config_finish(&a, err, sizeof(err)), 0);
	b = a;
	config_each_change(&a, &b, note_change, &c);
	assert_string_equal(c.text, "");
	assert_int_equal(config_set(&b, "websocket.idle_timeout", "5", err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "log.level", "debug", err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "websocket.listen", "127.0.0.1:8443, [::1]:9443", err,
				    sizeof(err)), 0);
	assert_int_equal(config_set(&b, "capture.enabled", "off", err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "gateway.wg_port", "51999", err, sizeof(err)), 0);
	config_each_change(&a, &b, note_change, &c);
	assert_string_equal(c.text, "gateway.wg_port:51820>51999;"
			    "websocket.listen:[::]:443>127.0.0.1:8443, [::1]:9443;"
			    "websocket.idle_timeout:60>5;capture.enabled:on>off;"
			    "log.level:info>debug;");

	/* Copied one by one, each key stops differing; the others stay. */
	assert_int_equal(config_copy_key(&a, &b, "websocket.idle_timeout"), 0);
	assert_int_equal(config_copy_key(&a, &b, "log.level"), 0);
	assert_int_equal(config_copy_key(&a, &b, "websocket.listen"), 0);
	assert_int_equal(config_copy_key(&a, &b, "no.such_key"), -ENOENT);
	assert_int_equal(a.idle_timeout, 5);
	assert_int_equal(a.n_listen, 2);
	c.text[0] = '\0';
	config_each_change(&a, &b, note_change, &c);
	assert_string_equal(c.text, "gateway.wg_port:51820>51999;capture.enabled:on>off;");
	assert_int_equal(config_copy_key(&a, &b, "gateway.wg_port"), 0);
	assert_int_equal(config_copy_key(&a, &b, "capture.enabled"), 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_listener_collisions),
		cmocka_unit_test(test_listeners_apart),
		cmocka_unit_test(test_admin_user),
		cmocka_unit_test(test_direct_and_reaper),
		cmocka_unit_test(test_set_and_missing_file),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_changes_and_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
