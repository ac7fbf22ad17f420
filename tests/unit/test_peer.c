#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "jit/key.h"
#include "jit/peer.h"

static void test_key_codecs(void **state)
{
	uint8_t key[WG_KEY_LEN], back[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN], hex[WG_KEY_HEX_LEN];

	(void)state;
	for (int i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 11 + 3);
	key_to_base64(b64, key);
	assert_int_equal(strlen(b64), 44);
	assert_int_equal(key_from_base64(back, b64), 0);
	assert_memory_equal(key, back, WG_KEY_LEN);
	key_to_hex(hex, key);
	assert_int_equal(key_from_hex(back, hex), 0);
	assert_memory_equal(key, back, WG_KEY_LEN);
	assert_string_equal(hex, "030e19242f3a45505b66717c87929da8b3bec9d4dfeaf5000b16212c37424d58");

	assert_int_equal(key_from_base64(back, ""), -EINVAL);
	assert_int_equal(key_from_base64(back, "AAAA"), -EINVAL);
	assert_int_equal(key_from_base64(back, "!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), -EINVAL);
	assert_int_equal(key_from_hex(back, "zz0e19242f3a45505b66717c87929da8b3bec9d4dfeaf5000b16212c37424d58"),
			 -EINVAL);
	assert_int_equal(key_from_hex(back, "030e"), -EINVAL);
	memset(key, 0, sizeof(key));
	assert_true(key_is_zero(key));
}

static void test_key_generate(void **state)
{
	uint8_t a[WG_KEY_LEN], b[WG_KEY_LEN], pub[WG_KEY_LEN], want[WG_KEY_LEN];

	(void)state;
	key_generate_private(a);
	key_generate_private(b);
	assert_memory_not_equal(a, b, WG_KEY_LEN);
	assert_int_equal(a[0] & 7, 0);
	assert_int_equal(a[31] & 0xc0, 0x40);
	/* RFC 7748 section 6.1, Alice */
	assert_int_equal(key_from_hex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"), 0);
	assert_int_equal(key_from_hex(want, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), 0);
	assert_int_equal(key_public(pub, a), 0);
	assert_memory_equal(pub, want, WG_KEY_LEN);
}

static void test_allowedip(void **state)
{
	struct wg_allowedip ip;
	char buf[ALLOWEDIP_STRLEN];

	(void)state;
	assert_int_equal(allowedip_parse("10.1.2.0/24", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(ip.cidr, 24);
	allowedip_format(&ip, buf, sizeof(buf));
	assert_string_equal(buf, "10.1.2.0/24");
	assert_int_equal(allowedip_parse("fdaa:0:1::2", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(ip.cidr, 128);
	allowedip_format(&ip, buf, sizeof(buf));
	assert_string_equal(buf, "fdaa:0:1::2/128");
	assert_int_equal(allowedip_parse("0.0.0.0/0", &ip), 0);

	assert_int_equal(allowedip_parse("10.1.2.3/24", &ip), -EINVAL);
	assert_int_equal(allowedip_parse("10.1.2.0/33", &ip), -EINVAL);
	assert_int_equal(allowedip_parse("10.1.2.0/", &ip), -EINVAL);
	assert_int_equal(allowedip_parse("10.1.2.0/-1", &ip), -EINVAL);
	assert_int_equal(allowedip_parse("fd00::/129", &ip), -EINVAL);
	assert_int_equal(allowedip_parse("example.com/32", &ip), -EINVAL);
	assert_int_equal(allowedip_parse("", &ip), -EINVAL);
}

static void test_allowedip_overlap(void **state)
{
	struct wg_allowedip a, b;
	char buf[ALLOWEDIP_STRLEN];

	(void)state;
	assert_int_equal(ifaddr_parse("10.77.0.1/24", &a), 0);
	allowedip_network(&a);
	allowedip_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "10.77.0.0/24");
	assert_int_equal(ifaddr_parse("fd00:77::1/64", &a), 0);
	allowedip_network(&a);
	allowedip_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:77::/64");

	assert_int_equal(allowedip_parse("10.77.0.0/24", &a), 0);
	assert_int_equal(allowedip_parse("10.77.0.2/32", &b), 0);
	assert_true(allowedip_overlap(&a, &b));
	assert_true(allowedip_overlap(&b, &a));
	assert_true(allowedip_overlap(&b, &b));
	assert_int_equal(allowedip_parse("10.77.1.2/32", &b), 0);
	assert_false(allowedip_overlap(&a, &b));
	assert_int_equal(allowedip_parse("10.77.0.3", &a), 0);
	assert_false(allowedip_overlap(&a, &b));
	assert_int_equal(allowedip_parse("0.0.0.0/0", &a), 0);
	assert_true(allowedip_overlap(&a, &b));
	assert_int_equal(allowedip_parse("::/0", &a), 0);
	assert_false(allowedip_overlap(&a, &b));	/* families differ */
}

static void test_endpoint_format(void **state)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char buf[ENDPOINT_STRLEN];

	(void)state;
	endpoint_format(&ss, buf, sizeof(buf));
	assert_string_equal(buf, "");
	sin->sin_family = AF_INET;
	sin->sin_port = htons(51820);
	inet_pton(AF_INET, "198.18.0.1", &sin->sin_addr);
	endpoint_format(&ss, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.0.1:51820");
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(443);
	inet_pton(AF_INET6, "fe80::1", &sin6->sin6_addr);
	endpoint_format(&ss, buf, sizeof(buf));
	assert_string_equal(buf, "[fe80::1]:443");
	sin6->sin6_scope_id = 3;
	endpoint_format(&ss, buf, sizeof(buf));
	assert_string_equal(buf, "[fe80::1%3]:443");
}

static void test_peer_copy(void **state)
{
	struct jit_peer a = { 0 }, b;
	struct wg_allowedip ip;

	(void)state;
	a.public_key[0] = 9;
	assert_int_equal(allowedip_parse("10.0.0.1", &ip), 0);
	assert_int_equal(jit_peer_add_allowedip(&a, &ip), 0);
	assert_int_equal(allowedip_parse("fd00::1", &ip), 0);
	assert_int_equal(jit_peer_add_allowedip(&a, &ip), 0);
	assert_int_equal(jit_peer_copy(&b, &a), 0);
	jit_peer_clear(&a);
	assert_int_equal(b.n_allowedips, 2);
	assert_int_equal(b.public_key[0], 9);
	assert_int_equal(b.allowedips[1].family, AF_INET6);
	jit_peer_clear(&b);
	assert_null(b.allowedips);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_codecs),
		cmocka_unit_test(test_key_generate),
		cmocka_unit_test(test_allowedip),
		cmocka_unit_test(test_allowedip_overlap),
		cmocka_unit_test(test_endpoint_format),
		cmocka_unit_test(test_peer_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
