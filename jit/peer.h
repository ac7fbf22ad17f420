#ifndef JIT_PEER_H
#define JIT_PEER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/key.h"

struct wg_allowedip {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint8_t cidr;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

/* One client's peer config, as the control plane or the registry gives it. */
struct jit_peer {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];
	bool has_preshared_key;
	bool has_keepalive;
	uint16_t persistent_keepalive;
	struct wg_allowedip *allowedips;
	size_t n_allowedips;
};

/* Frees the allowed IPs and zeroes the whole struct (the PSK included). */
void jit_peer_clear(struct jit_peer *peer);
int jit_peer_add_allowedip(struct jit_peer *peer, const struct wg_allowedip *ip);
/* Deep copy; dst must be clear. */
int jit_peer_copy(struct jit_peer *dst, const struct jit_peer *src);

/*
 * "10.0.0.1/32", "fd00::1/128"; a bare address is a host route. Host bits
 * beyond the mask are an error (as an operator's typo usually is). -EINVAL.
 */
int allowedip_parse(const char *text, struct wg_allowedip *out);
/* An interface's address, "10.0.0.1/24": host bits are the point. -EINVAL. */
int ifaddr_parse(const char *text, struct wg_allowedip *out);

/* Clears the host bits: 10.0.0.1/24 becomes 10.0.0.0/24. */
void allowedip_network(struct wg_allowedip *ip);
/* Whether a and b share an address (one contains the other). */
bool allowedip_overlap(const struct wg_allowedip *a, const struct wg_allowedip *b);

/* Writes "ADDR/CIDR"; buf of at least ALLOWEDIP_STRLEN. */
#define ALLOWEDIP_STRLEN 64
void allowedip_format(const struct wg_allowedip *ip, char *buf, size_t size);

/* Writes "ADDR:PORT" or "[V6%SCOPE]:PORT"; "" for no address (family 0). */
#define ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 24)
void endpoint_format(const struct sockaddr_storage *ss, char *buf, size_t size);

#endif
