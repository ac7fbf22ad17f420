/*
 * What counts as a captured initiation, written twice: as the classic BPF
 * program the kernel runs on every frame, and as the C check run on what
 * it passed. They sit together so that they stay the same rule
 * (tests/fuzz/fuzz_capture.c runs both on the same input and traps when
 * they disagree).
 */
#include "transport/capture.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <string.h>

#define WG_TYPE_INITIATION_BE 0x01000000u	/* type 1, little-endian, loaded big-endian */
#define IP_FRAG_BITS 0x3fff			/* MF and the fragment offset */
#define IP6_HLEN 40

enum label { L_NEXT, L_IF_OK, L_V4, L_V6, L_ACCEPT, L_DROP, L_COUNT };

struct bpf_asm {
	struct sock_filter *out;
	size_t max, n;
	uint8_t jt[CAPTURE_FILTER_MAX], jf[CAPTURE_FILTER_MAX];	/* labels until resolved */
	size_t at[L_COUNT];
};

static void jump(struct bpf_asm *a, uint16_t code, uint32_t k, enum label jt, enum label jf)
{
	if (a->n < a->max && a->n < CAPTURE_FILTER_MAX) {
		a->out[a->n] = (struct sock_filter)BPF_STMT(code, k);
		a->jt[a->n] = (uint8_t)jt;
		a->jf[a->n] = (uint8_t)jf;
	}
	a->n++;
}

static void op(struct bpf_asm *a, uint16_t code, uint32_t k)
{
	jump(a, code, k, L_NEXT, L_NEXT);
}

static void mark(struct bpf_asm *a, enum label l)
{
	a->at[l] = a->n;
}

static int resolve(struct bpf_asm *a)
{
	if (a->n > a->max || a->n > CAPTURE_FILTER_MAX)
		return -E2BIG;
	for (size_t i = 0; i < a->n; i++) {
		size_t t = a->jt[i] == L_NEXT ? i + 1 : a->at[a->jt[i]];
		size_t f = a->jf[i] == L_NEXT ? i + 1 : a->at[a->jf[i]];

		/* classic BPF jumps only forward, at most 255 instructions */
		if (t <= i || f <= i || t - i - 1 > 255 || f - i - 1 > 255)
			return -E2BIG;
		a->out[i].jt = (uint8_t)(t - i - 1);
		a->out[i].jf = (uint8_t)(f - i - 1);
	}
	return (int)a->n;
}

static void ip_version(struct bpf_asm *a, uint32_t version)
{
	op(a, BPF_LD | BPF_B | BPF_ABS, 0);
	op(a, BPF_ALU | BPF_AND | BPF_K, 0xf0);
	jump(a, BPF_JMP | BPF_JEQ | BPF_K, version << 4, L_NEXT, L_DROP);
}

/* The UDP header at base (BPF_IND: X + base): the port, the length, type 1. */
static void udp_initiation(struct bpf_asm *a, uint16_t mode, uint32_t base, uint16_t port)
{
	op(a, BPF_LD | BPF_H | mode, base + 2);
	jump(a, BPF_JMP | BPF_JEQ | BPF_K, port, L_NEXT, L_DROP);
	op(a, BPF_LD | BPF_H | mode, base + 4);
	jump(a, BPF_JMP | BPF_JEQ | BPF_K, CAPTURE_UDP_LEN, L_NEXT, L_DROP);
	op(a, BPF_LD | BPF_W | mode, base + 8);
	jump(a, BPF_JMP | BPF_JEQ | BPF_K, WG_TYPE_INITIATION_BE, L_NEXT, L_DROP);
}

int capture_filter(const struct capture_rule *r, struct sock_filter *out, size_t max)
{
	struct bpf_asm a = { .out = out, .max = max };

	if (r->n_ifindexes > CAPTURE_MAX_INTERFACES)
		return -E2BIG;
	op(&a, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
	jump(&a, BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, L_NEXT, L_DROP);
	op(&a, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_IFINDEX));
	jump(&a, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->lo_ifindex, L_DROP, L_NEXT);
	for (size_t i = 0; i < r->n_ifindexes; i++)
		jump(&a, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->ifindexes[i], L_IF_OK,
		     i + 1 == r->n_ifindexes ? L_DROP : L_NEXT);
	mark(&a, L_IF_OK);
	op(&a, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
	jump(&a, BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, L_V4, L_NEXT);
	jump(&a, BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, L_V6, L_DROP);

	mark(&a, L_V4);
	ip_version(&a, 4);
	op(&a, BPF_LD | BPF_B | BPF_ABS, 9);
	jump(&a, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, L_NEXT, L_DROP);
	op(&a, BPF_LD | BPF_H | BPF_ABS, 6);
	jump(&a, BPF_JMP | BPF_JSET | BPF_K, IP_FRAG_BITS, L_DROP, L_NEXT);
	op(&a, BPF_LDX | BPF_B | BPF_MSH, 0);		/* X = header length, options included */
	op(&a, BPF_MISC | BPF_TXA, 0);
	jump(&a, BPF_JMP | BPF_JGE | BPF_K, 20, L_NEXT, L_DROP);
	udp_initiation(&a, BPF_IND, 0, r->port);
	/* total length = header + UDP, and all of it present */
	op(&a, BPF_MISC | BPF_TXA, 0);
	op(&a, BPF_ALU | BPF_ADD | BPF_K, CAPTURE_UDP_LEN);
	op(&a, BPF_MISC | BPF_TAX, 0);
	op(&a, BPF_LD | BPF_H | BPF_ABS, 2);
	jump(&a, BPF_JMP | BPF_JEQ | BPF_X, 0, L_NEXT, L_DROP);
	op(&a, BPF_LD | BPF_W | BPF_LEN, 0);
	jump(&a, BPF_JMP | BPF_JGE | BPF_X, 0, L_ACCEPT, L_DROP);

	mark(&a, L_V6);
	ip_version(&a, 6);
	op(&a, BPF_LD | BPF_B | BPF_ABS, 6);	/* next header: UDP itself, no extension header */
	jump(&a, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, L_NEXT, L_DROP);
	op(&a, BPF_LD | BPF_H | BPF_ABS, 4);
	jump(&a, BPF_JMP | BPF_JEQ | BPF_K, CAPTURE_UDP_LEN, L_NEXT, L_DROP);
	udp_initiation(&a, BPF_ABS, IP6_HLEN, r->port);
	op(&a, BPF_LD | BPF_W | BPF_LEN, 0);
	jump(&a, BPF_JMP | BPF_JGE | BPF_K, IP6_HLEN + CAPTURE_UDP_LEN, L_ACCEPT, L_DROP);

	mark(&a, L_ACCEPT);
	op(&a, BPF_RET | BPF_K, CAPTURE_SNAPLEN);
	mark(&a, L_DROP);
	op(&a, BPF_RET | BPF_K, 0);
	return resolve(&a);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int is_initiation(const uint8_t *udp, uint16_t port)
{
	static const uint8_t type[4] = { 1, 0, 0, 0 };

	return get16(udp + 2) == port && get16(udp + 4) == CAPTURE_UDP_LEN &&
	       !memcmp(udp + 8, type, sizeof(type));
}

static int parse_v4(const struct capture_rule *r, const struct capture_frame *f,
		    struct capture_packet *out)
{
	const uint8_t *d = f->data;
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->src;
	size_t ihl;

	if (f->len < 20 || d[0] >> 4 != 4 || d[9] != IPPROTO_UDP || (get16(d + 6) & IP_FRAG_BITS))
		return -EINVAL;
	ihl = (size_t)(d[0] & 0x0f) * 4;
	if (ihl < 20 || get16(d + 2) != ihl + CAPTURE_UDP_LEN || f->len < ihl + CAPTURE_UDP_LEN ||
	    !is_initiation(d + ihl, r->port))
		return -EINVAL;
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, d + 12, 4);
	memcpy(&sin->sin_port, d + ihl, 2);
	out->payload = d + ihl + 8;
	return 0;
}

static int parse_v6(const struct capture_rule *r, const struct capture_frame *f,
		    struct capture_packet *out)
{
	const uint8_t *d = f->data;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->src;

	if (f->len < IP6_HLEN + CAPTURE_UDP_LEN || d[0] >> 4 != 6 || d[6] != IPPROTO_UDP ||
	    get16(d + 4) != CAPTURE_UDP_LEN || !is_initiation(d + IP6_HLEN, r->port))
		return -EINVAL;
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, d + 8, 16);
	memcpy(&sin6->sin6_port, d + IP6_HLEN, 2);
	/* a link-local sender is reachable only through the interface it came on */
	if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
		sin6->sin6_scope_id = (uint32_t)f->ifindex;
	out->payload = d + IP6_HLEN + 8;
	return 0;
}

int capture_parse(const struct capture_rule *r, const struct capture_frame *f,
		  struct capture_packet *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (f->pkttype != PACKET_HOST || f->ifindex == r->lo_ifindex)
		return -EINVAL;
	for (i = 0; i < r->n_ifindexes && r->ifindexes[i] != f->ifindex; i++)
		;
	if (r->n_ifindexes && i == r->n_ifindexes)
		return -EINVAL;
	out->len = CAPTURE_PAYLOAD_LEN;
	out->ifindex = f->ifindex;
	switch (f->protocol) {
	case ETH_P_IP:
		return parse_v4(r, f, out);
	case ETH_P_IPV6:
		return parse_v6(r, f, out);
	default:
		return -EINVAL;
	}
}
