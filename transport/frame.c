#include "transport/frame.h"

#include <stdlib.h>
#include <string.h>

/* A partial buffer up to this size is kept for the next split record. */
#define PARTIAL_KEEP 2048
/* The first allocation for a record that spans calls. */
#define PARTIAL_MIN 256

void frame_decoder_init(struct frame_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void frame_decoder_free(struct frame_decoder *d)
{
	free(d->partial);
	memset(d, 0, sizeof(*d));
}

int frame_decoder_mid_record(const struct frame_decoder *d)
{
	return d->header_have != 0 || d->have != 0 || d->need != 0;
}

const char *frame_error_reason(int error)
{
	switch (error) {
	case FRAME_ERR_MAGIC:
		return "bad_magic";
	case FRAME_ERR_LENGTH:
		return "record_too_long";
	case FRAME_ERR_NOMEM:
		return "no_memory";
	default:
		return "unknown";
	}
}

static uint32_t header_value(const uint8_t h[FRAME_HEADER_LEN])
{
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/*
 * Room for want bytes of the record being gathered. The buffer grows with
 * what has arrived (doubling, never past the announced length): a peer
 * that announces 65535 bytes and sends five costs PARTIAL_MIN, not 64 KiB.
 */
static int reserve_partial(struct frame_decoder *d, uint32_t want)
{
	uint32_t size = d->partial_cap ? d->partial_cap * 2 : PARTIAL_MIN;
	uint8_t *p;

	if (d->partial_cap >= want)
		return 0;
	if (size < want)
		size = want;
	if (size > d->need)
		size = d->need;
	p = realloc(d->partial, size);
	if (!p)
		return FRAME_ERR_NOMEM;
	d->partial = p;
	d->partial_cap = size;
	return 0;
}

static void release_partial(struct frame_decoder *d)
{
	if (d->partial_cap > PARTIAL_KEEP) {
		free(d->partial);
		d->partial = NULL;
		d->partial_cap = 0;
	}
}

int frame_decode(struct frame_decoder *d, const uint8_t *data, size_t len,
		 frame_record_fn fn, void *ctx)
{
	int ret;

	while (len) {
		if (d->header_have < FRAME_HEADER_LEN) {
			size_t take = FRAME_HEADER_LEN - d->header_have;

			if (take > len)
				take = len;
			memcpy(d->header + d->header_have, data, take);
			d->header_have = (uint8_t)(d->header_have + take);
			data += take;
			len -= take;
			if (d->header_have < FRAME_HEADER_LEN)
				return 0;
			if (!d->magic_seen) {
				if (header_value(d->header) != FRAME_MAGIC)
					return FRAME_ERR_MAGIC;
				d->magic_seen = 1;
				d->header_have = 0;
				continue;
			}
			d->need = header_value(d->header);
			if (d->need > FRAME_MAX_RECORD)
				return FRAME_ERR_LENGTH;
			d->have = 0;
			if (d->need == 0) {
				d->header_have = 0;
				ret = fn(ctx, data, 0);
				if (ret)
					return ret;
				continue;
			}
		}
		if (!len)
			return 0;	/* a header that ends the call: its bytes come with the next */
		if (d->have == 0 && len >= d->need) {
			/* The whole record is in this chunk: hand it over in place. */
			const uint8_t *record = data;
			size_t record_len = d->need;

			data += record_len;
			len -= record_len;
			d->header_have = 0;
			d->need = 0;
			ret = fn(ctx, record, record_len);
			if (ret)
				return ret;
			continue;
		}
		size_t take = d->need - d->have;

		if (take > len)
			take = len;
		ret = reserve_partial(d, d->have + (uint32_t)take);
		if (ret)
			return ret;
		memcpy(d->partial + d->have, data, take);
		d->have += (uint32_t)take;
		data += take;
		len -= take;
		if (d->have < d->need)
			return 0;
		uint32_t record_len = d->need;

		d->header_have = 0;
		d->need = 0;
		d->have = 0;
		ret = fn(ctx, d->partial, record_len);
		release_partial(d);
		if (ret)
			return ret;
	}
	return 0;
}
