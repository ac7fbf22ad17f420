#ifndef TRANSPORT_FRAME_H
#define TRANSPORT_FRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * flyctl's WireGuard-over-WebSocket byte stream (PROTOCOL.md section 1): the
 * 4-byte magic, then records of a 4-byte big-endian length and that many
 * bytes. Records and WebSocket messages do not line up, so the decoder keeps
 * what it has of a record across calls.
 */
#define FRAME_MAGIC 0x2FACED77u
#define FRAME_HEADER_LEN 4
#define FRAME_MAX_RECORD 65535

enum frame_error {
	FRAME_ERR_MAGIC = -1,	/* first four bytes are not the magic */
	FRAME_ERR_LENGTH = -2,	/* record longer than FRAME_MAX_RECORD */
	FRAME_ERR_NOMEM = -3,
};

struct frame_decoder {
	uint8_t header[FRAME_HEADER_LEN];
	uint8_t header_have;
	uint8_t magic_seen;
	uint32_t need;		/* payload bytes of the current record */
	uint32_t have;		/* of them, held in partial */
	uint8_t *partial;	/* only while a record spans two calls */
	uint32_t partial_cap;
};

/*
 * Called once per whole record, in order; len 0 is a keepalive. The bytes
 * are valid only during the call. A non-zero return stops decoding and is
 * returned by frame_decode.
 */
typedef int (*frame_record_fn)(void *ctx, const uint8_t *record, size_t len);

void frame_decoder_init(struct frame_decoder *d);
void frame_decoder_free(struct frame_decoder *d);

/* Returns 0, a negative enum frame_error, or the callback's non-zero return. */
int frame_decode(struct frame_decoder *d, const uint8_t *data, size_t len,
		 frame_record_fn fn, void *ctx);

/* True while the decoder holds part of a record (or of the magic). */
int frame_decoder_mid_record(const struct frame_decoder *d);

const char *frame_error_reason(int error);

static inline void frame_put_header(uint8_t out[FRAME_HEADER_LEN], uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

#endif
