#ifndef TESTS_UNIT_CAPTURE_FRAMES_H
#define TESTS_UNIT_CAPTURE_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Crafted datagrams for the capture tests, from the IP header on: each
 * case one way a datagram can be or fail to be a handshake initiation to
 * the WireGuard port. Sender port CASE_SPORT + index tells them apart.
 */
#define CASE_PORT 51820
#define CASE_SPORT 40000
#define CASE_FRAME_MAX 512

enum case_mac { MAC_GATEWAY, MAC_BROADCAST, MAC_OTHER_HOST };

struct frame_case {
	const char *name;
	int family;		/* 4 or 6 */
	int want;		/* captured, on an interface the capture listens on */
	int link;		/* 0: the first veth, 1: the second */
	unsigned options;	/* IPv4 option bytes (NOPs), a multiple of 4 */
	int version;		/* the header's version field; 0: right */
	int ihl;		/* IPv4 header length field; 0: right */
	int lure;		/* with ihl 4: bytes that pass for a UDP initiation at offset 16 */
	uint16_t frag;		/* IPv4 flags and fragment offset */
	uint8_t proto;		/* 0: UDP */
	int has_ext;		/* IPv6: an extension header before UDP, */
	uint8_t ext;		/* of this type */
	int linklocal;		/* IPv6: sent from fe80::2 */
	uint16_t dport;		/* 0: CASE_PORT */
	uint8_t first[4];	/* payload's first bytes; all 0: 01 00 00 00 */
	int payload;		/* payload bytes; 0: 148 */
	int udp_len_delta;	/* UDP length field minus the right one */
	int ip_len_delta;	/* IPv4 total / IPv6 payload length minus the right one */
	int cut;		/* bytes missing at the end */
	int trailer;		/* bytes after the datagram (link-layer padding) */
	int swap_ethertype;	/* IPv4 bytes labelled IPv6, or the reverse */
	enum case_mac mac;
};

extern const struct frame_case frame_cases[];
extern const size_t n_frame_cases;

/* The IP datagram of case i (and its trailer); returns its length. */
size_t frame_build(size_t i, uint8_t *buf, size_t size);
/* ETH_P_IP or ETH_P_IPV6, as the frame is labelled. */
uint16_t frame_ethertype(size_t i);
/* The source address and port case i is sent from. */
void frame_source(size_t i, struct sockaddr_storage *ss);

#endif
