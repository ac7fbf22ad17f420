#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/if_ether.h>

#include "transport/capture.h"
#include "tests/tools/cbpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The filter (in tests/tools/cbpf.c) and capture_parse on the same frame
 * must agree. Input: protocol selector, pkttype, ifindex, rule selector,
 * then the frame from its network header.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t protocols[] = { ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, 0 };
	struct capture_rule r = { .port = 51820, .lo_ifindex = 1 };
	struct sock_filter prog[CAPTURE_FILTER_MAX];
	struct capture_packet pkt;
	struct cbpf_packet p;
	struct capture_frame f;
	int64_t kept;
	int n, parsed;

	if (size < 4)
		return 0;
	if (data[3] & 1)
		r.ifindexes[r.n_ifindexes++] = 2;
	if (data[3] & 2)
		r.ifindexes[r.n_ifindexes++] = 3;
	p = (struct cbpf_packet){ .data = data + 4, .len = size - 4, .protocol = protocols[data[0] & 3],
				  .pkttype = data[1] & 7, .ifindex = data[2] & 3 };
	f = (struct capture_frame){ .data = p.data, .len = p.len, .protocol = p.protocol,
				    .pkttype = p.pkttype, .ifindex = p.ifindex };
	n = capture_filter(&r, prog, CAPTURE_FILTER_MAX);
	if (n <= 0)
		__builtin_trap();
	kept = cbpf_run(prog, (size_t)n, &p);
	parsed = capture_parse(&r, &f, &pkt) == 0;
	if (kept < 0 || (kept != 0) != parsed)
		__builtin_trap();
	if (parsed && (pkt.payload < f.data || pkt.payload + pkt.len > f.data + f.len ||
		       pkt.len != CAPTURE_PAYLOAD_LEN))
		__builtin_trap();
	return 0;
}
