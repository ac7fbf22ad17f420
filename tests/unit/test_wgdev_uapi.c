#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "jit/wgdev-uapi.h"

/* RFC 7748 §6.1: Alice's private key and its public key. */
#define PRIV_HEX "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define PUB_HEX "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define PEER1_HEX "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define PEER2_HEX "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define ZERO_HEX "0000000000000000000000000000000000000000000000000000000000000000"

static int parse(const char *text, struct wgdev_state *st, enum uapi_flavor *flavor)
{
	return uapi_parse_get(text, strlen(text), 1700000000, st, flavor);
}

static void test_get_wireguard_go(void **state)
{
	static const char answer[] =
		"private_key=" PRIV_HEX "\n"
		"listen_port=51820\n"
		"fwmark=0\n"
		"public_key=" PEER1_HEX "\n"
		"preshared_key=" ZERO_HEX "\n"
		"protocol_version=1\n"
		"endpoint=198.18.0.2:51821\n"
		"last_handshake_time_sec=1699999990\n"
		"last_handshake_time_nsec=123456789\n"
		"tx_bytes=1184\n"
		"rx_bytes=18446744073709551615\n"
		"persistent_keepalive_interval=25\n"
		"allowed_ip=10.0.0.2/32\n"
		"allowed_ip=fd00:5353::/64\n"
		"public_key=" PEER2_HEX "\n"
		"preshared_key=" PEER1_HEX "\n"
		"endpoint=[fd00:5353::2%7]:443\n"
		"some_future_key=whatever\n"
		"last_handshake_time_sec=0\n"
		"last_handshake_time_nsec=0\n"
		"errno=0\n"
		"\n";
	struct wgdev_state st;
	enum uapi_flavor flavor = UAPI_UNKNOWN;
	uint8_t key[WG_KEY_LEN];
	struct wgdev_peer_info *p;
	char addr[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(parse(answer, &st, &flavor), 0);
	assert_int_equal(flavor, UAPI_WIREGUARD_GO);
	assert_true(st.dev.has_private_key);
	assert_int_equal(key_from_hex(key, PRIV_HEX), 0);
	assert_memory_equal(st.dev.private_key, key, WG_KEY_LEN);
	assert_int_equal(key_from_hex(key, PUB_HEX), 0);
	assert_memory_equal(st.dev.public_key, key, WG_KEY_LEN);
	assert_int_equal(st.dev.listen_port, 51820);
	assert_int_equal(st.n_peers, 2);

	p = &st.peers[0];
	assert_int_equal(key_from_hex(key, PEER1_HEX), 0);
	assert_memory_equal(p->public_key, key, WG_KEY_LEN);
	assert_false(p->has_preshared_key);
	assert_int_equal(p->endpoint.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&p->endpoint)->sin_port), 51821);
	assert_int_equal(ntohl(((struct sockaddr_in *)&p->endpoint)->sin_addr.s_addr), 0xc6120002);
	assert_int_equal(p->last_handshake_sec, 1699999990);
	assert_int_equal(p->last_handshake_nsec, 123456789);
	assert_int_equal(p->tx_bytes, 1184);
	assert_true(p->rx_bytes == UINT64_MAX);
	assert_int_equal(p->persistent_keepalive, 25);
	assert_int_equal(p->n_allowedips, 2);
	assert_int_equal(p->allowedips[0].family, AF_INET);
	assert_int_equal(p->allowedips[0].cidr, 32);
	assert_int_equal(p->allowedips[1].family, AF_INET6);
	assert_int_equal(p->allowedips[1].cidr, 64);

	p = &st.peers[1];
	assert_true(p->has_preshared_key);
	assert_int_equal(p->endpoint.ss_family, AF_INET6);
	assert_int_equal(((struct sockaddr_in6 *)&p->endpoint)->sin6_scope_id, 7);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p->endpoint)->sin6_addr, addr, sizeof(addr));
	assert_string_equal(addr, "fd00:5353::2");
	assert_int_equal(p->last_handshake_sec, 0);
	assert_int_equal(p->n_allowedips, 0);
	wgdev_state_free(&st);

	/* no key yet */
	assert_int_equal(parse("listen_port=0\nerrno=0\n\n", &st, NULL), 0);
	assert_false(st.dev.has_private_key);
	assert_int_equal(st.n_peers, 0);
	wgdev_state_free(&st);
}

static void test_get_boringtun(void **state)
{
	static const char answer[] =
		"own_public_key=" PUB_HEX "\n"
		"listen_port=51820\n"
		"public_key=" PEER1_HEX "\n"
		"persistent_keepalive_interval=25\n"
		"endpoint=198.18.0.2:51821\n"
		"allowed_ip=10.0.0.2/32\n"
		"last_handshake_time_sec=5\n"
		"last_handshake_time_nsec=250000000\n"
		"rx_bytes=92\n"
		"tx_bytes=148\n"
		"public_key=" PEER2_HEX "\n"
		"rx_bytes=0\n"
		"tx_bytes=0\n"
		"errno=0\n"
		"\n";
	struct wgdev_state st;
	enum uapi_flavor flavor = UAPI_UNKNOWN;
	uint8_t key[WG_KEY_LEN];

	(void)state;
	assert_int_equal(parse(answer, &st, &flavor), 0);
	assert_int_equal(flavor, UAPI_BORINGTUN);
	assert_true(st.dev.has_private_key);
	assert_true(key_is_zero(st.dev.private_key));
	assert_int_equal(key_from_hex(key, PUB_HEX), 0);
	assert_memory_equal(st.dev.public_key, key, WG_KEY_LEN);
	assert_int_equal(st.n_peers, 2);
	/* "seconds since" became a time: now (1700000000) minus 5 */
	assert_int_equal(st.peers[0].last_handshake_sec, 1699999995);
	assert_int_equal(st.peers[0].rx_bytes, 92);
	assert_int_equal(st.peers[1].last_handshake_sec, 0);
	wgdev_state_free(&st);
}

static void test_get_errors(void **state)
{
	struct wgdev_state st;

	(void)state;
	/* wireguard-go's negative errno, boringtun's positive one */
	assert_int_equal(parse("errno=-22\n\n", &st, NULL), -EINVAL);
	assert_int_equal(parse("errno=5\n\n", &st, NULL), -EIO);
	assert_int_equal(parse("errno=0\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("listen_port=1\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("listen_port=1\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("", &st, NULL), -EPROTO);
	assert_int_equal(parse("\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("HTTP/1.1 400 Bad Request\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("errno=0\nlisten_port=1\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("errno=zero\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("listen_port=65536\nerrno=0\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("listen_port=-1\nerrno=0\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("private_key=abc\nerrno=0\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("=1\nerrno=0\n\n", &st, NULL), -EPROTO);
	assert_int_equal(parse("public_key=" PEER1_HEX "\nrx_bytes=18446744073709551616\nerrno=0\n\n",
			       &st, NULL), -EPROTO);
	assert_int_equal(parse("public_key=" PEER1_HEX "\nendpoint=1.2.3.4\nerrno=0\n\n", &st, NULL),
			 -EPROTO);
	assert_int_equal(parse("public_key=" PEER1_HEX "\nendpoint=[::1:1\nerrno=0\n\n", &st, NULL),
			 -EPROTO);
	assert_int_equal(parse("public_key=" PEER1_HEX "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n", &st,
			       NULL), -EPROTO);
	assert_int_equal(parse("public_key=" PEER1_HEX "\nlast_handshake_time_nsec=1000000000\n"
			       "errno=0\n\n", &st, NULL), -EPROTO);
	/* an embedded NUL is not a line */
	assert_int_equal(uapi_parse_get("errno=0\0\n\n", 10, 0, &st, NULL), -EPROTO);

	assert_int_equal(uapi_parse_errno("errno=0\n\n", 9), 0);
	assert_int_equal(uapi_parse_errno("errno=-98\n\n", 11), -EADDRINUSE);
	assert_int_equal(uapi_parse_errno("errno=98\n\n", 10), -EADDRINUSE);
	assert_int_equal(uapi_parse_errno("errno=0\n", 8), -EPROTO);
	assert_int_equal(uapi_parse_errno("listen_port=1\nerrno=0\n\n", 23), -EPROTO);
	assert_int_equal(uapi_parse_errno("garbage\n\n", 9), -EPROTO);
}

static void test_format_set(void **state)
{
	struct wg_allowedip ips[2];
	struct wgdev_set_peer peers[2] = { 0 };
	struct wgdev_set set = { .flags = WGDEV_SET_PRIVATE_KEY | WGDEV_SET_LISTEN_PORT,
				 .listen_port = 51820, .peers = peers, .n_peers = 2 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peers[0].endpoint;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(key_from_hex(set.private_key, PRIV_HEX), 0);
	assert_int_equal(key_from_hex(peers[0].public_key, PEER1_HEX), 0);
	assert_int_equal(key_from_hex(peers[0].preshared_key, PEER2_HEX), 0);
	peers[0].flags = WGDEV_PEER_HAS_PSK | WGDEV_PEER_HAS_ENDPOINT | WGDEV_PEER_HAS_KEEPALIVE |
			 WGDEV_PEER_REPLACE_ALLOWEDIPS;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(443);
	inet_pton(AF_INET6, "fd00:5353::2", &sin6->sin6_addr);
	peers[0].persistent_keepalive = 0;
	assert_int_equal(allowedip_parse("10.0.0.2/32", &ips[0]), 0);
	assert_int_equal(allowedip_parse("fd00::/8", &ips[1]), 0);
	peers[0].allowedips = ips;
	peers[0].n_allowedips = 2;
	assert_int_equal(key_from_hex(peers[1].public_key, PEER2_HEX), 0);
	peers[1].flags = WGDEV_PEER_REMOVE;
	peers[1].allowedips = ips;	/* ignored for a removal */
	peers[1].n_allowedips = 2;

	assert_int_equal(uapi_format_set(&set, &text, &len), 0);
	assert_string_equal(text,
		"set=1\n"
		"private_key=" PRIV_HEX "\n"
		"listen_port=51820\n"
		"public_key=" PEER1_HEX "\n"
		"preshared_key=" PEER2_HEX "\n"
		"endpoint=[fd00:5353::2]:443\n"
		"persistent_keepalive_interval=0\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.2/32\n"
		"allowed_ip=fd00::/8\n"
		"public_key=" PEER2_HEX "\n"
		"remove=true\n"
		"\n");
	assert_int_equal(len, strlen(text));
	free(text);

	/* a v4 endpoint; a bad family is refused */
	struct sockaddr_in *sin = (struct sockaddr_in *)&peers[0].endpoint;

	memset(&peers[0].endpoint, 0, sizeof(peers[0].endpoint));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(51821);
	sin->sin_addr.s_addr = htonl(0xc6120002);
	set.flags = 0;
	set.n_peers = 1;
	peers[0].flags = WGDEV_PEER_HAS_ENDPOINT;
	peers[0].n_allowedips = 0;
	assert_int_equal(uapi_format_set(&set, &text, &len), 0);
	assert_string_equal(text, "set=1\npublic_key=" PEER1_HEX "\nendpoint=198.18.0.2:51821\n\n");
	free(text);
	peers[0].endpoint.ss_family = AF_UNIX;
	assert_int_equal(uapi_format_set(&set, &text, &len), -EAFNOSUPPORT);
}

/* A daemon that misbehaves in one of these ways, on a socket of its own. */
enum fake_mode { FAKE_GARBAGE, FAKE_SILENT, FAKE_CLOSE, FAKE_NO_END };

struct fake {
	int listen_fd;
	enum fake_mode mode;
	char path[108];
	pthread_t thread;
};

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	char buf[256];
	int fd = accept(f->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (read(fd, buf, sizeof(buf)) < 0)
		goto out;
	switch (f->mode) {
	case FAKE_GARBAGE:
		if (write(fd, "HTTP/1.0 200 OK\r\nhello\n\n", 24) < 0)
			goto out;
		break;
	case FAKE_NO_END:
		if (write(fd, "listen_port=1\nerrno=0\n", 22) < 0)
			goto out;
		break;
	case FAKE_SILENT:
		/* until the client gives up */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		break;
	case FAKE_CLOSE:
		break;
	}
	if (f->mode == FAKE_NO_END || f->mode == FAKE_GARBAGE)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
out:
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	f->mode = mode;
	snprintf(f->path, sizeof(f->path), "/tmp/wgdev-test-%d-%d.sock", (int)getpid(), (int)mode);
	unlink(f->path);
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	unlink(f->path);
}

static void test_bad_daemons(void **state)
{
	static const struct {
		enum fake_mode mode;
		int want;
	} cases[] = {
		{ FAKE_GARBAGE, -EPROTO },
		{ FAKE_SILENT, -ETIMEDOUT },
		{ FAKE_CLOSE, -EPROTO },
		{ FAKE_NO_END, -ETIMEDOUT },
	};
	struct wgdev_device d;
	struct wgdev *dev;
	struct fake f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_start(&f, cases[i].mode);
		assert_int_equal(wgdev_open(&dev, WGDEV_AUTO, "wgfake0", f.path), 0);
		assert_int_equal(wgdev_backend(dev), WGDEV_UAPI);
		wgdev_set_timeout(dev, 300);
		assert_int_equal(wgdev_get_device(dev, &d), cases[i].want);
		wgdev_close(dev);
		fake_stop(&f);
	}

	/* no socket: a named uapi backend says so; a stale path is refused */
	assert_int_equal(wgdev_open(&dev, WGDEV_UAPI, "wgfake0", "/tmp/wgdev-test-none.sock"),
			 -ENOENT);
	assert_int_equal(wgdev_open(&dev, WGDEV_UAPI, "wgfake0", "/dev/null"), -ENOTSOCK);
	assert_int_equal(wgdev_open(&dev, WGDEV_UAPI, "an-interface-name-too-long", NULL), -EINVAL);

	/* a socket file nobody listens on */
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/wgdev-test-%d-stale.sock", (int)getpid());
	unlink(sun.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(wgdev_open(&dev, WGDEV_UAPI, "wgfake0", sun.sun_path), 0);
	assert_int_equal(wgdev_get_device(dev, &d), -ECONNREFUSED);
	wgdev_close(dev);
	unlink(sun.sun_path);
}

/* A daemon that answers each connection with the next of its answers. */
struct scripted {
	const char *answers[6];
	size_t n;
	char requests[6][4096];
	size_t served;
	int listen_fd;
	char path[108];
	pthread_t thread;
};

static void *scripted_run(void *arg)
{
	struct scripted *sc = arg;

	for (size_t i = 0; i < sc->n; i++) {
		char *req = sc->requests[i];
		size_t len = 0;
		ssize_t n;
		int fd = accept(sc->listen_fd, NULL, NULL);

		if (fd < 0)
			return NULL;
		while (len + 1 < sizeof(sc->requests[i]) &&
		       (n = read(fd, req + len, sizeof(sc->requests[i]) - 1 - len)) > 0) {
			len += (size_t)n;
			req[len] = '\0';
			if (strstr(req, "\n\n"))
				break;
		}
		if (write(fd, sc->answers[i], strlen(sc->answers[i])) < 0)
			i = sc->n;
		close(fd);
		sc->served++;
	}
	return NULL;
}

static struct wgdev *scripted_start(struct scripted *sc)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct wgdev *dev;

	snprintf(sc->path, sizeof(sc->path), "/tmp/wgdev-test-%d-script.sock", (int)getpid());
	unlink(sc->path);
	memcpy(sun.sun_path, sc->path, strlen(sc->path) + 1);
	sc->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sc->listen_fd >= 0);
	assert_int_equal(bind(sc->listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(sc->listen_fd, 4), 0);
	assert_int_equal(pthread_create(&sc->thread, NULL, scripted_run, sc), 0);
	assert_int_equal(wgdev_open(&dev, WGDEV_UAPI, "wgfake0", sc->path), 0);
	wgdev_set_timeout(dev, 2000);
	return dev;
}

static void scripted_stop(struct scripted *sc, struct wgdev *dev)
{
	wgdev_close(dev);
	pthread_join(sc->thread, NULL);
	close(sc->listen_fd);
	unlink(sc->path);
	assert_int_equal(sc->served, sc->n);
}

static void test_set_peer_requests(void **state)
{
	struct wg_allowedip ip;
	struct jit_peer peer = { .allowedips = &ip, .n_allowedips = 1 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(51821),
				   .sin_addr.s_addr = htonl(0xc6120009) };
	struct scripted sc = { .answers = {
		"private_key=" PRIV_HEX "\npublic_key=" PEER1_HEX "\nerrno=0\n\n",
		"errno=0\n\n",
		"errno=-22\n\n",
	}, .n = 3 };
	struct wgdev *dev;

	(void)state;
	assert_int_equal(allowedip_parse("10.0.0.2/32", &ip), 0);
	assert_int_equal(key_from_hex(peer.public_key, PEER1_HEX), 0);

	/* wireguard-go: a set that leaves things is learnt to be safe once */
	dev = scripted_start(&sc);
	assert_int_equal(wgdev_set_peer(dev, &peer, NULL, -1), 0);
	assert_int_equal(wgdev_set_peer(dev, &peer, (struct sockaddr *)&sin, 25), -EINVAL);
	scripted_stop(&sc, dev);
	assert_string_equal(sc.requests[0], "get=1\n\n");
	assert_string_equal(sc.requests[1], "set=1\npublic_key=" PEER1_HEX "\n"
			    "replace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n\n");
	assert_string_equal(sc.requests[2], "set=1\npublic_key=" PEER1_HEX "\n"
			    "endpoint=198.18.0.9:51821\npersistent_keepalive_interval=25\n"
			    "replace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n\n");
}

static void test_set_peer_boringtun(void **state)
{
	struct wg_allowedip ip;
	struct jit_peer peer = { .allowedips = &ip, .n_allowedips = 1 };
	struct scripted sc = { .answers = {
		"own_public_key=" PUB_HEX "\n"
		"public_key=" PEER1_HEX "\n"
		"preshared_key=" PEER2_HEX "\n"
		"persistent_keepalive_interval=25\n"
		"endpoint=198.18.0.2:51821\n"
		"allowed_ip=10.0.0.1/32\n"
		"rx_bytes=0\ntx_bytes=0\n"
		"errno=0\n\n",
		"errno=0\n\n",
		"errno=0\n\n",
		"own_public_key=" PUB_HEX "\nerrno=0\n\n",
		"errno=0\n\n",
	}, .n = 5 };
	struct wgdev *dev;

	(void)state;
	assert_int_equal(allowedip_parse("10.0.0.2/32", &ip), 0);
	assert_int_equal(key_from_hex(peer.public_key, PEER1_HEX), 0);
	dev = scripted_start(&sc);
	/* boringtun replaces a peer set again: what is left as it is gets re-sent */
	assert_int_equal(wgdev_set_peer(dev, &peer, NULL, -1), 0);
	/* a removal leaves nothing to keep: no get first */
	assert_int_equal(wgdev_remove_peer(dev, peer.public_key), 0);
	/* a peer the device does not have: nothing to fill in */
	assert_int_equal(key_from_hex(peer.public_key, PEER2_HEX), 0);
	assert_int_equal(wgdev_set_peer(dev, &peer, NULL, 0), 0);
	scripted_stop(&sc, dev);
	assert_string_equal(sc.requests[0], "get=1\n\n");
	assert_string_equal(sc.requests[1], "set=1\npublic_key=" PEER1_HEX "\n"
			    "preshared_key=" PEER2_HEX "\nendpoint=198.18.0.2:51821\n"
			    "persistent_keepalive_interval=25\n"
			    "replace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n\n");
	assert_string_equal(sc.requests[2], "set=1\npublic_key=" PEER1_HEX "\nremove=true\n\n");
	assert_string_equal(sc.requests[3], "get=1\n\n");
	assert_string_equal(sc.requests[4], "set=1\npublic_key=" PEER2_HEX "\n"
			    "persistent_keepalive_interval=0\n"
			    "replace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_wireguard_go),
		cmocka_unit_test(test_get_boringtun),
		cmocka_unit_test(test_get_errors),
		cmocka_unit_test(test_format_set),
		cmocka_unit_test(test_bad_daemons),
		cmocka_unit_test(test_set_peer_requests),
		cmocka_unit_test(test_set_peer_boringtun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
