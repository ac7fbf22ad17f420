/*
 * The capture filter and its C twin on crafted datagrams, without a
 * kernel: the classic BPF program runs in tests/tools/cbpf.c. Both must
 * give each case's expected verdict. (test_capture runs the same cases
 * through the kernel.)
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "transport/capture.h"
#include "tests/tools/cbpf.h"
#include "tests/unit/capture_frames.h"

#define LO 1
#define IF0 2
#define IF1 3

static const uint8_t mac_pkttype[] = {
	[MAC_GATEWAY] = PACKET_HOST,
	[MAC_BROADCAST] = PACKET_BROADCAST,
	[MAC_OTHER_HOST] = PACKET_OTHERHOST,
};

/* Runs filter and parser on case i arriving on ifindex as pkttype; checks they agree. */
static int verdict(const struct capture_rule *r, size_t i, int ifindex, uint8_t pkttype)
{
	struct sock_filter prog[CAPTURE_FILTER_MAX];
	uint8_t buf[CASE_FRAME_MAX];
	size_t len = frame_build(i, buf, sizeof(buf));
	struct cbpf_packet p = { .data = buf, .len = len, .protocol = frame_ethertype(i),
				 .pkttype = pkttype, .ifindex = ifindex };
	struct capture_frame f = { .data = buf, .len = len, .protocol = p.protocol,
				   .pkttype = pkttype, .ifindex = ifindex };
	struct capture_packet pkt;
	struct sockaddr_storage src;
	int n = capture_filter(r, prog, CAPTURE_FILTER_MAX);
	int64_t kept;
	int parsed;

	assert_true(n > 0);
	kept = cbpf_run(prog, (size_t)n, &p);
	assert_true(kept == 0 || kept == CAPTURE_SNAPLEN);
	parsed = capture_parse(r, &f, &pkt) == 0;
	if ((kept != 0) != parsed)
		fail_msg("%s: filter %s, parser %s", frame_cases[i].name, kept ? "passes" : "refuses",
			 parsed ? "passes" : "refuses");
	if (parsed) {
		frame_source(i, &src);
		if (src.ss_family == AF_INET6 && frame_cases[i].linklocal)
			((struct sockaddr_in6 *)&src)->sin6_scope_id = (uint32_t)ifindex;
		assert_memory_equal(&pkt.src, &src, sizeof(src));
		assert_int_equal(pkt.len, CAPTURE_PAYLOAD_LEN);
		assert_int_equal(pkt.ifindex, ifindex);
		assert_true(pkt.payload > buf && pkt.payload + pkt.len <= buf + len);
		assert_int_equal(pkt.payload[0], 1);
		assert_int_equal(pkt.payload[4], (uint8_t)(0xa0 + i + 4));
	}
	return parsed;
}

static void check_rule(const struct capture_rule *r, int link0_listened, int link1_listened)
{
	for (size_t i = 0; i < n_frame_cases; i++) {
		const struct frame_case *c = &frame_cases[i];
		int listened = c->link ? link1_listened : link0_listened;
		int got = verdict(r, i, c->link ? IF1 : IF0, mac_pkttype[c->mac]);

		if (got != (c->want && listened))
			fail_msg("%s: %s, expected %s", c->name, got ? "captured" : "refused",
				 got ? "refused" : "captured");
	}
}

static void test_any(void **state)
{
	struct capture_rule r = { .port = CASE_PORT, .lo_ifindex = LO };

	(void)state;
	check_rule(&r, 1, 1);
}

static void test_listed(void **state)
{
	struct capture_rule one = { .port = CASE_PORT, .lo_ifindex = LO, .n_ifindexes = 1,
				    .ifindexes = { IF0 } };
	struct capture_rule two = { .port = CASE_PORT, .lo_ifindex = LO, .n_ifindexes = 2,
				    .ifindexes = { IF1, IF0 } };
	struct capture_rule full = { .port = CASE_PORT, .lo_ifindex = LO,
				     .n_ifindexes = CAPTURE_MAX_INTERFACES };

	(void)state;
	check_rule(&one, 1, 0);
	check_rule(&two, 1, 1);
	/* the longest list: IF0 last, jumps at their farthest */
	for (size_t i = 0; i < CAPTURE_MAX_INTERFACES; i++)
		full.ifindexes[i] = (int)(100 + i);
	full.ifindexes[CAPTURE_MAX_INTERFACES - 1] = IF0;
	check_rule(&full, 1, 0);
}

/* Outgoing copies and loopback never, whatever the rest of the datagram. */
static void test_outgoing_and_loopback(void **state)
{
	struct capture_rule any = { .port = CASE_PORT, .lo_ifindex = LO };
	struct capture_rule lo_listed = { .port = CASE_PORT, .lo_ifindex = LO, .n_ifindexes = 1,
					  .ifindexes = { LO } };

	(void)state;
	assert_true(frame_cases[0].want && frame_cases[5].want && frame_cases[5].family == 6);
	assert_true(verdict(&any, 0, IF0, PACKET_HOST));
	assert_false(verdict(&any, 0, IF0, PACKET_OUTGOING));
	assert_false(verdict(&any, 5, IF0, PACKET_OUTGOING));
	assert_false(verdict(&any, 0, LO, PACKET_HOST));
	assert_false(verdict(&any, 5, LO, PACKET_HOST));
	assert_false(verdict(&lo_listed, 0, LO, PACKET_HOST));
	assert_false(verdict(&any, 0, IF0, PACKET_MULTICAST));
}

static void test_port_and_size(void **state)
{
	struct capture_rule other = { .port = 443, .lo_ifindex = LO };
	struct capture_rule too_many = { .port = CASE_PORT, .lo_ifindex = LO,
					 .n_ifindexes = CAPTURE_MAX_INTERFACES + 1 };
	struct capture_rule any = { .port = CASE_PORT, .lo_ifindex = LO };
	struct sock_filter prog[CAPTURE_FILTER_MAX];
	int n;

	(void)state;
	assert_false(verdict(&other, 0, IF0, PACKET_HOST));
	assert_int_equal(capture_filter(&too_many, prog, CAPTURE_FILTER_MAX), -E2BIG);
	n = capture_filter(&any, prog, CAPTURE_FILTER_MAX);
	assert_true(n > 0);
	assert_int_equal(capture_filter(&any, prog, (size_t)n - 1), -E2BIG);
	assert_int_equal(capture_filter(&any, prog, (size_t)n), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_listed),
		cmocka_unit_test(test_outgoing_and_loopback),
		cmocka_unit_test(test_port_and_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
