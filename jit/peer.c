#include "jit/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jit_peer_clear(struct jit_peer *peer)
{
	free(peer->allowedips);
	sodium_memzero(peer, sizeof(*peer));
}

int jit_peer_add_allowedip(struct jit_peer *peer, const struct wg_allowedip *ip)
{
	struct wg_allowedip *grown;

	grown = realloc(peer->allowedips, (peer->n_allowedips + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[peer->n_allowedips++] = *ip;
	peer->allowedips = grown;
	return 0;
}

int jit_peer_copy(struct jit_peer *dst, const struct jit_peer *src)
{
	*dst = *src;
	dst->allowedips = NULL;
	if (src->n_allowedips) {
		dst->allowedips = malloc(src->n_allowedips * sizeof(*dst->allowedips));
		if (!dst->allowedips) {
			dst->n_allowedips = 0;
			return -ENOMEM;
		}
		memcpy(dst->allowedips, src->allowedips, src->n_allowedips * sizeof(*dst->allowedips));
	}
	return 0;
}

static bool host_bits_clear(const uint8_t *addr, unsigned bytes, unsigned cidr)
{
	for (unsigned bit = cidr; bit < bytes * 8; bit++) {
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	}
	return true;
}

static int parse_prefix(const char *text, struct wg_allowedip *out, bool host_bits)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long cidr;
	unsigned max;
	char *end;

	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, n);
	addr[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, &out->ip4) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, &out->ip6) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	cidr = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		cidr = strtoul(slash + 1, &end, 10);
		if (errno || *end || cidr > max)
			return -EINVAL;
	}
	out->cidr = (uint8_t)cidr;
	if (!host_bits && !host_bits_clear(out->family == AF_INET ? (const uint8_t *)&out->ip4
						    : (const uint8_t *)&out->ip6,
			     max / 8, out->cidr))
		return -EINVAL;
	return 0;
}

int allowedip_parse(const char *text, struct wg_allowedip *out)
{
	return parse_prefix(text, out, false);
}

int ifaddr_parse(const char *text, struct wg_allowedip *out)
{
	return parse_prefix(text, out, true);
}

static uint8_t *ip_bytes(struct wg_allowedip *ip)
{
	return ip->family == AF_INET ? (uint8_t *)&ip->ip4 : (uint8_t *)&ip->ip6;
}

void allowedip_network(struct wg_allowedip *ip)
{
	uint8_t *b = ip_bytes(ip);
	unsigned max = ip->family == AF_INET ? 32 : 128;

	for (unsigned bit = ip->cidr; bit < max; bit++)
		b[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

bool allowedip_overlap(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	struct wg_allowedip x = *a, y = *b;

	if (a->family != b->family)
		return false;
	x.cidr = y.cidr = a->cidr < b->cidr ? a->cidr : b->cidr;
	allowedip_network(&x);
	allowedip_network(&y);
	return !memcmp(ip_bytes(&x), ip_bytes(&y), x.family == AF_INET ? 4 : 16);
}

void allowedip_format(const struct wg_allowedip *ip, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(ip->family, ip->family == AF_INET ? (const void *)&ip->ip4 : (const void *)&ip->ip6,
		  addr, sizeof(addr));
	snprintf(buf, size, "%s/%u", addr, ip->cidr);
}

void endpoint_format(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(buf, size, "%s:%u", addr, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		if (sin6->sin6_scope_id)
			snprintf(buf, size, "[%s%%%" PRIu32 "]:%u", addr, sin6->sin6_scope_id,
				 ntohs(sin6->sin6_port));
		else
			snprintf(buf, size, "[%s]:%u", addr, ntohs(sin6->sin6_port));
	}
}
