#ifndef TESTS_TOOLS_CBPF_H
#define TESTS_TOOLS_CBPF_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A classic BPF interpreter for the tests: the instructions the capture
 * filter uses, with the kernel's rules (a load past the end of the packet
 * ends the program with 0) and the ancillary loads of a packet socket.
 */
struct cbpf_packet {
	const uint8_t *data;	/* the network header at data[0], as SOCK_DGRAM sees it */
	size_t len;
	uint16_t protocol;	/* SKF_AD_PROTOCOL (host order) */
	uint8_t pkttype;	/* SKF_AD_PKTTYPE */
	int ifindex;		/* SKF_AD_IFINDEX */
};

/* The program's return value (bytes kept, 0 = refused); -1 for an instruction it does not know. */
int64_t cbpf_run(const struct sock_filter *prog, size_t n, const struct cbpf_packet *pkt);

#endif
