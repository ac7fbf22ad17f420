/* The client's frames (RFC 6455 section 5): masked out, parsed in. */
#include "transport/client-impl.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define WS_MAX_FRAME (1u << 20)

static uint32_t next_mask(struct ws_conn *c)
{
	uint32_t x = c->mask_state;	/* xorshift32: masking needs variety, not secrecy */

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	c->mask_state = x;
	return x;
}

size_t ws_frame_header(uint8_t hdr[WS_FRAME_HEADER_MAX], int op, size_t len,
		       const uint8_t mask[4])
{
	size_t h = 0;

	hdr[h++] = (uint8_t)(0x80 | op);
	if (len < 126) {
		hdr[h++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (uint8_t)(len >> 8);
		hdr[h++] = (uint8_t)len;
	} else {
		hdr[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	memcpy(hdr + h, mask, 4);
	return h + 4;
}

int ws_conn_send(struct ws_conn *c, int op, const uint8_t *data, size_t len, size_t limit)
{
	uint8_t hdr[WS_FRAME_HEADER_MAX], m[4];
	uint32_t mask;
	size_t h, start;
	int ret;

	if (ws_conn_pending(c) + len > limit)
		return -ENOBUFS;
	mask = next_mask(c);
	memcpy(m, &mask, 4);
	h = ws_frame_header(hdr, op, len, m);
	ret = ws_queue_bytes(c, hdr, h);
	if (ret)
		return ret;
	ret = ws_reserve(&c->out, &c->out_cap, c->out_len + len);
	if (ret)
		return ret;
	start = c->out_len;
	for (size_t i = 0; i < len; i++)
		c->out[start + i] = data[i] ^ m[i & 3];
	c->out_len += len;
	return 0;
}

ssize_t ws_parse_frames(struct ws_conn *c, ws_data_fn fn, void *ctx)
{
	size_t off = 0;
	int ret;

	for (;;) {
		const uint8_t *p = c->in + off;
		size_t avail = c->in_len - off, h = 2;
		uint64_t len;
		int op;
		bool masked;
		uint8_t m[4];

		if (avail < 2)
			break;
		op = p[0] & 0x0f;
		masked = p[1] & 0x80;
		len = p[1] & 0x7f;
		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)p[2] << 8 | p[3];
			h = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			h = 10;
		}
		if (len > WS_MAX_FRAME)
			return -EMSGSIZE;
		if (masked) {
			if (avail < h + 4)
				break;
			memcpy(m, p + h, 4);
			h += 4;
		}
		if (avail < h + len) {
			ret = ws_reserve(&c->in, &c->in_cap, off + h + len);
			if (ret)
				return ret;
			break;
		}
		if (masked)
			for (size_t i = 0; i < len; i++)
				c->in[off + h + i] ^= m[i & 3];
		p = c->in + off + h;
		switch (op) {
		case WS_OP_CONT:
		case WS_OP_TEXT:
		case WS_OP_BINARY:
			ret = fn(ctx, p, (size_t)len);
			if (ret)
				return ret < 0 ? ret : -EPROTO;
			break;
		case WS_OP_PING:
			ret = ws_conn_send(c, WS_OP_PONG, p, (size_t)len, SIZE_MAX);
			if (ret)
				return ret;
			break;
		case WS_OP_PONG:
			break;
		case WS_OP_CLOSE:
			ws_conn_send(c, WS_OP_CLOSE, p, len >= 2 ? 2 : 0, SIZE_MAX);
			ws_conn_flush(c);
			return -ECONNRESET;
		default:
			return -EPROTO;
		}
		off += h + (size_t)len;
	}
	return (ssize_t)off;
}
