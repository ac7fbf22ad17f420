#ifndef TRANSPORT_CAPTURE_H
#define TRANSPORT_CAPTURE_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * A copy of every WireGuard handshake initiation sent to the gateway's
 * WireGuard port over UDP, read from an AF_PACKET socket beside the
 * device's own socket (which still receives the datagram). The classic BPF
 * filter keeps only what a WireGuard receiver would take as an initiation;
 * capture_parse checks the same rules again in C on what the filter passed.
 *
 * Passed: IPv4 (any header length) or IPv6 carrying UDP to port whose
 * length is exactly 8 + 148 and whose payload starts with the little-endian
 * type 1 (01 00 00 00), on a listed interface, addressed to this host.
 * Refused on purpose:
 * - IPv4 fragments (MF set or an offset): an initiation fits any MTU, and
 *   a fragment's UDP header is absent or unchecked.
 * - IPv6 extension headers (next header other than UDP): an initiation
 *   never carries them in practice, and walking a chain in classic BPF
 *   (no backward jumps) is unbounded; a fragment header is one of them.
 * - Packets on lo and outgoing packets (PACKET_OUTGOING), and anything not
 *   PACKET_HOST: wssd's own WebSocket relay sockets send to the WireGuard
 *   port over lo, and the device's role-inversion initiations leave towards
 *   clients whose port may be the same; neither is a client knocking.
 *   Broadcast, multicast and other hosts' frames (a promiscuous interface)
 *   are not initiations to us either.
 * Functions return 0 or -errno. One thread at a time (the event loop's).
 */
#define CAPTURE_PAYLOAD_LEN 148
#define CAPTURE_UDP_LEN (8 + CAPTURE_PAYLOAD_LEN)
#define CAPTURE_MAX_INTERFACES 64
#define CAPTURE_RCVBUF_DEFAULT (8U << 20)
#define CAPTURE_SNAPLEN 256		/* IPv4 with 40 bytes of options + UDP + payload fits */
#define CAPTURE_BATCH 32		/* datagrams per recvmmsg */
#define CAPTURE_READ_MAX 256		/* datagrams per capture_read, so a flood cannot starve a loop */

/* What the filter and capture_parse let through. */
struct capture_rule {
	uint16_t port;
	int lo_ifindex;
	size_t n_ifindexes;		/* 0: every interface but lo */
	int ifindexes[CAPTURE_MAX_INTERFACES];
};

/* A received frame: the network header at data[0], as SOCK_DGRAM gives it. */
struct capture_frame {
	const uint8_t *data;
	size_t len;
	uint16_t protocol;		/* ETH_P_IP, ETH_P_IPV6 (host order) */
	uint8_t pkttype;		/* PACKET_HOST, PACKET_OUTGOING, ... */
	int ifindex;
};

struct capture_packet {
	const uint8_t *payload;		/* the initiation, valid during the callback only */
	size_t len;			/* CAPTURE_PAYLOAD_LEN */
	struct sockaddr_storage src;	/* sockaddr_in or sockaddr_in6 (link-local: scope = ifindex) */
	int ifindex;
};

/*
 * The classic BPF program for rule: returns its length, or -E2BIG when it
 * needs more than max instructions (CAPTURE_FILTER_MAX always suffices).
 */
#define CAPTURE_FILTER_MAX (48 + CAPTURE_MAX_INTERFACES)
int capture_filter(const struct capture_rule *rule, struct sock_filter *out, size_t max);

/* The filter's rules in C: 0 and *out filled (pointing into f->data), or -EINVAL. */
int capture_parse(const struct capture_rule *rule, const struct capture_frame *f,
		  struct capture_packet *out);

struct capture_params {
	uint16_t port;			/* gateway.wg_port */
	const char *interfaces;		/* "any" (or NULL, "") or "eth0,eth1" */
	unsigned rcvbuf;		/* bytes; 0: CAPTURE_RCVBUF_DEFAULT */
};

struct capture;

/*
 * Needs CAP_NET_RAW. Interface names are resolved to indexes here: an
 * interface created or re-created later is not seen until the capture is
 * opened again. On error err says why in one line (naming an unknown
 * interface).
 */
int capture_open(struct capture **out, const struct capture_params *p, char *err, size_t errlen);
void capture_close(struct capture *c);
/* For the caller's event loop; level-triggered (what is left stays readable). */
int capture_fd(const struct capture *c);
const struct capture_rule *capture_rule(const struct capture *c);

/*
 * Reads what is pending, at most CAPTURE_READ_MAX datagrams, and calls fn
 * for each one capture_parse accepts. Returns how many, or -errno.
 */
typedef void (*capture_fn)(void *ctx, const struct capture_packet *pkt);
int capture_read(struct capture *c, capture_fn fn, void *ctx);

/* Cumulative since capture_open. */
struct capture_stats {
	uint64_t packets;	/* passed the filter (PACKET_STATISTICS), drops included */
	uint64_t drops;		/* of those, dropped by the kernel: the receive buffer was full */
	uint64_t delivered;	/* handed to capture_read's callback */
	uint64_t malformed;	/* passed the filter, refused by capture_parse */
	unsigned rcvbuf;	/* the receive buffer the kernel granted, bytes */
};
void capture_stats(struct capture *c, struct capture_stats *out);

#endif
