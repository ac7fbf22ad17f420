#include "tests/unit/capture_frames.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>

#define T(...) { __VA_ARGS__ }
const struct frame_case frame_cases[] = {
	T(.name = "IPv4", .family = 4, .want = 1),
	T(.name = "IPv4, 4 bytes of options", .family = 4, .options = 4, .want = 1),
	T(.name = "IPv4, 40 bytes of options (IHL 15)", .family = 4, .options = 40, .want = 1),
	T(.name = "IPv4, don't fragment set", .family = 4, .frag = 0x4000, .want = 1),
	T(.name = "IPv4, link-layer padding after the datagram", .family = 4, .trailer = 20,
	  .want = 1),
	T(.name = "IPv6", .family = 6, .want = 1),
	T(.name = "IPv6 from a link-local address", .family = 6, .linklocal = 1, .want = 1),
	T(.name = "IPv4, second interface", .family = 4, .link = 1, .want = 1),
	T(.name = "IPv6, second interface", .family = 6, .link = 1, .want = 1),
	T(.name = "IPv6, hop-by-hop options header", .family = 6, .has_ext = 1, .ext = 0),
	T(.name = "IPv6, destination options header", .family = 6, .has_ext = 1, .ext = 60),
	T(.name = "IPv6, fragment header", .family = 6, .has_ext = 1, .ext = 44),
	T(.name = "IPv4, other destination port", .family = 4, .dport = 51821),
	T(.name = "IPv6, other destination port", .family = 6, .dport = 51821),
	T(.name = "IPv4, type 2 (response)", .family = 4, .first = { 2 }),
	T(.name = "IPv4, type 3 (cookie)", .family = 4, .first = { 3 }),
	T(.name = "IPv4, type 4 (data)", .family = 4, .first = { 4 }),
	T(.name = "IPv6, type 2", .family = 6, .first = { 2 }),
	T(.name = "IPv4, type 1 with a non-zero reserved byte", .family = 4, .first = { 1, 1 }),
	T(.name = "IPv4, payload 147 bytes", .family = 4, .payload = 147),
	T(.name = "IPv4, payload 149 bytes", .family = 4, .payload = 149),
	T(.name = "IPv6, payload 92 bytes (a response's length)", .family = 6, .payload = 92),
	T(.name = "IPv4, UDP length one more than the datagram", .family = 4, .udp_len_delta = 1),
	T(.name = "IPv4, total length one less", .family = 4, .ip_len_delta = -1),
	T(.name = "IPv6, payload length one more", .family = 6, .ip_len_delta = 1),
	T(.name = "IPv4, first fragment (MF)", .family = 4, .frag = 0x2000),
	T(.name = "IPv4, later fragment (offset 185)", .family = 4, .frag = 185),
	T(.name = "IPv4, header length 4 (invalid)", .family = 4, .ihl = 4),
	T(.name = "IPv4, header length 4, where a reader trusting it finds an initiation",
	  .family = 4, .ihl = 4, .lure = 1),
	T(.name = "IPv4 header with version 6", .family = 4, .version = 6),
	T(.name = "IPv6 header with version 4", .family = 6, .version = 4),
	T(.name = "IPv4, TCP", .family = 4, .proto = 6),
	T(.name = "IPv6, TCP", .family = 6, .proto = 6),
	T(.name = "IPv4, truncated by 10 bytes", .family = 4, .cut = 10),
	T(.name = "IPv4, only 30 bytes", .family = 4, .cut = 176 - 30),
	T(.name = "IPv6, truncated by 1 byte", .family = 6, .cut = 1),
	T(.name = "IPv6, only the header", .family = 6, .cut = 156),
	T(.name = "IPv4 labelled IPv6", .family = 4, .swap_ethertype = 1),
	T(.name = "IPv6 labelled IPv4", .family = 6, .swap_ethertype = 1),
	T(.name = "IPv4, broadcast frame", .family = 4, .mac = MAC_BROADCAST),
	T(.name = "IPv4, frame for another host", .family = 4, .mac = MAC_OTHER_HOST),
};
const size_t n_frame_cases = sizeof(frame_cases) / sizeof(frame_cases[0]);

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

void frame_source(size_t i, struct sockaddr_storage *ss)
{
	const struct frame_case *c = &frame_cases[i];
	char addr[64];

	memset(ss, 0, sizeof(*ss));
	if (c->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)(CASE_SPORT + i));
		inet_pton(AF_INET, c->link ? "198.18.1.2" : "198.18.0.2", &sin->sin_addr);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)(CASE_SPORT + i));
		strcpy(addr, c->linklocal ? "fe80::2" : c->link ? "fd00:5353:1::2" : "fd00:5353::2");
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
	}
}

/* UDP header and payload at p; returns their length. */
static size_t build_udp(const struct frame_case *c, size_t i, uint8_t *p)
{
	size_t payload = c->payload ? (size_t)c->payload : 148;
	static const uint8_t zero[4];

	put16(p, (unsigned)(CASE_SPORT + i));
	put16(p + 2, c->dport ? c->dport : CASE_PORT);
	put16(p + 4, (unsigned)((int)(8 + payload) + c->udp_len_delta));
	put16(p + 6, 0);
	for (size_t k = 0; k < payload; k++)
		p[8 + k] = (uint8_t)(0xa0 + i + k);
	if (memcmp(c->first, zero, 4))
		memcpy(p + 8, c->first, 4);
	else
		memcpy(p + 8, "\x01\x00\x00\x00", 4);
	return 8 + payload;
}

size_t frame_build(size_t i, uint8_t *buf, size_t size)
{
	const struct frame_case *c = &frame_cases[i];
	struct sockaddr_storage src;
	size_t len, hl;

	if (size < CASE_FRAME_MAX)
		return 0;
	memset(buf, 0, CASE_FRAME_MAX);
	frame_source(i, &src);
	if (c->family == 4) {
		hl = 20 + c->options;
		len = hl + build_udp(c, i, buf + hl);
		buf[0] = (uint8_t)((c->version ? c->version : 4) << 4 |
				   (c->ihl ? c->ihl : (int)hl / 4));
		put16(buf + 2, (unsigned)((int)len + c->ip_len_delta));
		put16(buf + 4, (unsigned)(0x1000 + i));
		put16(buf + 6, c->frag);
		buf[8] = 64;
		buf[9] = c->proto ? c->proto : IPPROTO_UDP;
		memcpy(buf + 12, &((struct sockaddr_in *)&src)->sin_addr, 4);
		inet_pton(AF_INET, c->link ? "198.18.1.1" : "198.18.0.1", buf + 16);
		memset(buf + 20, 1, c->options);	/* NOP options */
		if (c->lure) {
			/* read with a 16-byte header: the destination's low half is the port */
			inet_pton(AF_INET, "198.18.202.108", buf + 16);
			put16(buf + 20, 8 + 148);
			memcpy(buf + 24, "\x01\x00\x00\x00", 4);
			put16(buf + 2, 16 + 8 + 148);
		}
		put16(buf + 10, fold(sum(buf, hl, 0)));
	} else {
		size_t ext = c->has_ext ? 8 : 0;
		size_t udp;

		hl = 40 + ext;
		udp = build_udp(c, i, buf + hl);
		len = hl + udp;
		buf[0] = (uint8_t)((c->version ? c->version : 6) << 4);
		put16(buf + 4, (unsigned)((int)(len - 40) + c->ip_len_delta));
		buf[6] = ext ? c->ext : c->proto ? c->proto : IPPROTO_UDP;
		buf[7] = 64;
		memcpy(buf + 8, &((struct sockaddr_in6 *)&src)->sin6_addr, 16);
		inet_pton(AF_INET6, c->linklocal ? "fe80::1" : c->link ? "fd00:5353:1::1" :
			  "fd00:5353::1", buf + 24);
		if (ext) {
			/* next header UDP; options: a PadN filling the 8 bytes (a fragment header: offset 0) */
			buf[40] = IPPROTO_UDP;
			if (c->ext != 44) {
				buf[42] = 1;
				buf[43] = 4;
			}
		}
		{
			uint32_t acc = sum(buf + 8, 32, 0);
			uint8_t pseudo[8] = { 0 };

			put16(pseudo + 2, (unsigned)udp);
			pseudo[7] = IPPROTO_UDP;
			acc = sum(pseudo, 8, acc);
			put16(buf + hl + 6, fold(sum(buf + hl, udp, acc)));
		}
	}
	memset(buf + len, 0x55, (size_t)c->trailer);
	len += (size_t)c->trailer;
	return len - (size_t)c->cut;
}

uint16_t frame_ethertype(size_t i)
{
	const struct frame_case *c = &frame_cases[i];

	return (c->family == 4) != !!c->swap_ethertype ? ETH_P_IP : ETH_P_IPV6;
}
