#include "tests/tools/cbpf.h"

static int load(const struct cbpf_packet *p, uint32_t off, unsigned size, uint32_t *out)
{
	if (off >= (uint32_t)SKF_AD_OFF) {
		if (size != 4)
			return -1;
		switch (off - (uint32_t)SKF_AD_OFF) {
		case SKF_AD_PROTOCOL:
			*out = p->protocol;
			return 0;
		case SKF_AD_PKTTYPE:
			*out = p->pkttype;
			return 0;
		case SKF_AD_IFINDEX:
			*out = (uint32_t)p->ifindex;
			return 0;
		default:
			return -1;
		}
	}
	if (off > p->len || size > p->len - off)
		return 1;
	*out = 0;
	for (unsigned i = 0; i < size; i++)
		*out = *out << 8 | p->data[off + i];
	return 0;
}

int64_t cbpf_run(const struct sock_filter *prog, size_t n, const struct cbpf_packet *pkt)
{
	uint32_t a = 0, x = 0, v, src;
	int r;

	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &prog[pc];
		unsigned size = BPF_SIZE(f->code) == BPF_W ? 4 : BPF_SIZE(f->code) == BPF_H ? 2 : 1;
		int taken;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			switch (BPF_MODE(f->code)) {
			case BPF_ABS:
			case BPF_IND:
				r = load(pkt, BPF_MODE(f->code) == BPF_IND ? x + f->k : f->k, size, &v);
				if (r)
					return r < 0 ? -1 : 0;
				a = v;
				break;
			case BPF_LEN:
				a = (uint32_t)pkt->len;
				break;
			case BPF_IMM:
				a = f->k;
				break;
			default:
				return -1;
			}
			break;
		case BPF_LDX:
			if (BPF_MODE(f->code) == BPF_MSH) {
				r = load(pkt, f->k, 1, &v);
				if (r)
					return r < 0 ? -1 : 0;
				x = (v & 0xf) * 4;
			} else if (BPF_MODE(f->code) == BPF_IMM) {
				x = f->k;
			} else {
				return -1;
			}
			break;
		case BPF_ALU:
			src = BPF_SRC(f->code) == BPF_X ? x : f->k;
			switch (BPF_OP(f->code)) {
			case BPF_ADD:
				a += src;
				break;
			case BPF_AND:
				a &= src;
				break;
			default:
				return -1;
			}
			break;
		case BPF_JMP:
			src = BPF_SRC(f->code) == BPF_X ? x : f->k;
			switch (BPF_OP(f->code)) {
			case BPF_JA:
				pc += f->k;
				continue;
			case BPF_JEQ:
				taken = a == src;
				break;
			case BPF_JGT:
				taken = a > src;
				break;
			case BPF_JGE:
				taken = a >= src;
				break;
			case BPF_JSET:
				taken = (a & src) != 0;
				break;
			default:
				return -1;
			}
			pc += taken ? f->jt : f->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : f->k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			return -1;
		}
	}
	return -1;	/* fell off the end: the kernel's checker refuses such a program */
}
