#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "common/addr.h"

static void split_forms(void **state)
{
	char host[64];
	uint16_t port = 7;
	const char *rest;

	(void)state;
	assert_int_equal(addr_split("127.0.0.1:9180", host, sizeof(host), &port, 0, NULL), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9180);
	assert_int_equal(addr_split("[::]:443", host, sizeof(host), &port, 0, NULL), 0);
	assert_string_equal(host, "::");
	assert_int_equal(port, 443);
	assert_int_equal(addr_split("[fe80::1%eth0]:0", host, sizeof(host), &port, 0, NULL), 0);
	assert_string_equal(host, "fe80::1%eth0");
	assert_int_equal(port, 0);

	/* URL authority: the port is optional and a path may follow. */
	port = 443;
	assert_int_equal(addr_split("gw.example/x", host, sizeof(host), &port, 1, &rest), 0);
	assert_string_equal(host, "gw.example");
	assert_int_equal(port, 443);
	assert_string_equal(rest, "/x");
	assert_int_equal(addr_split("gw.example:8443/", host, sizeof(host), &port, 1, &rest), 0);
	assert_int_equal(port, 8443);
	assert_string_equal(rest, "/");
	assert_int_equal(addr_split("[::1]", host, sizeof(host), &port, 1, &rest), 0);
	assert_string_equal(host, "::1");
}

static void split_refuses(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1", ":80", "[::1]80", "[::1", "[]:80", "1.2.3.4:", "1.2.3.4:x",
		"1.2.3.4:65536", "1.2.3.4:99999999999999999999", "1.2.3.4:80x", "1.2.3.4:-1",
	};
	char host[64], small[4];
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addr_split(bad[i], host, sizeof(host), &port, 0, NULL), -EINVAL);
	assert_int_equal(addr_split("1.2.3.4:80", small, sizeof(small), &port, 0, NULL), -EINVAL);
	assert_int_equal(addr_split("gw:1x", host, sizeof(host), &port, 1, NULL), -EINVAL);
}

static void parse_numeric(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = 0;

	(void)state;
	assert_int_equal(addr_parse("198.18.0.1:51820", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(*sin));
	assert_int_equal(ntohs(sin->sin_port), 51820);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc6120001);

	assert_int_equal(addr_parse("[fe80::1%7]:1", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(*sin6));
	assert_int_equal(sin6->sin6_scope_id, 7);
	assert_int_equal(ntohs(sin6->sin6_port), 1);
	assert_int_equal(addr_parse("[fe80::1%lo]:1", &ss, NULL), 0);
	assert_true(sin6->sin6_scope_id > 0);

	assert_int_equal(addr_parse("[fe80::1%nosuchif0]:1", &ss, NULL), -EINVAL);
	assert_int_equal(addr_parse("::1:80", &ss, NULL), -EINVAL);
	assert_int_equal(addr_parse("[1.2.3.4]:80", &ss, NULL), -EINVAL);
	assert_int_equal(addr_parse("host.example:80", &ss, NULL), -EINVAL);
	assert_int_equal(addr_numeric("1.2.3.4%1", 0, &ss, NULL), -EINVAL);
}

static void client_keys(void **state)
{
	struct sockaddr_storage a, b;
	uint8_t ka[ADDR_KEY_LEN], kb[ADDR_KEY_LEN];
	char text[ADDR_KEY_TEXT];

	(void)state;
	/* IPv6: one /64 is one client. */
	assert_int_equal(addr_parse("[2001:db8:1:2::10]:443", &a, NULL), 0);
	assert_int_equal(addr_parse("[2001:db8:1:2:ffff::1]:80", &b, NULL), 0);
	assert_int_equal(addr_client_key((struct sockaddr *)&a, ka, text, sizeof(text)), 0);
	assert_string_equal(text, "2001:db8:1:2::/64");
	assert_int_equal(addr_client_key((struct sockaddr *)&b, kb, NULL, 0), 0);
	assert_memory_equal(ka, kb, ADDR_KEY_LEN);
	assert_int_equal(addr_parse("[2001:db8:1:3::10]:443", &b, NULL), 0);
	assert_int_equal(addr_client_key((struct sockaddr *)&b, kb, NULL, 0), 0);
	assert_memory_not_equal(ka, kb, ADDR_KEY_LEN);

	/* Link-local: fe80::/64 of one link is one client, of another link another. */
	assert_int_equal(addr_numeric("fe80::1%1", 443, &a, NULL), 0);
	assert_int_equal(addr_numeric("fe80::2%1", 443, &b, NULL), 0);
	assert_int_equal(addr_client_key((struct sockaddr *)&a, ka, text, sizeof(text)), 0);
	assert_string_equal(text, "fe80::/64%1");
	assert_int_equal(addr_client_key((struct sockaddr *)&b, kb, NULL, 0), 0);
	assert_memory_equal(ka, kb, ADDR_KEY_LEN);
	assert_int_equal(addr_numeric("fe80::1%2", 443, &b, NULL), 0);
	assert_int_equal(addr_client_key((struct sockaddr *)&b, kb, NULL, 0), 0);
	assert_memory_not_equal(ka, kb, ADDR_KEY_LEN);

	/* IPv4, and IPv4 seen on a dual-stack socket, are the same client. */
	assert_int_equal(addr_parse("198.18.0.2:1", &a, NULL), 0);
	assert_int_equal(addr_parse("[::ffff:198.18.0.2]:2", &b, NULL), 0);
	assert_int_equal(addr_client_key((struct sockaddr *)&a, ka, text, sizeof(text)), 0);
	assert_string_equal(text, "198.18.0.2");
	assert_int_equal(addr_client_key((struct sockaddr *)&b, kb, text, sizeof(text)), 0);
	assert_string_equal(text, "198.18.0.2");
	assert_memory_equal(ka, kb, ADDR_KEY_LEN);
	assert_int_equal(addr_parse("198.18.0.3:1", &b, NULL), 0);
	assert_int_equal(addr_client_key((struct sockaddr *)&b, kb, NULL, 0), 0);
	assert_memory_not_equal(ka, kb, ADDR_KEY_LEN);

	a.ss_family = AF_UNIX;
	assert_int_equal(addr_client_key((struct sockaddr *)&a, ka, NULL, 0), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_forms),
		cmocka_unit_test(split_refuses),
		cmocka_unit_test(parse_numeric),
		cmocka_unit_test(client_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
