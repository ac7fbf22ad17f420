#include "transport/recq.h"
#include "transport/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Most records are WireGuard datagrams under this size. */
#define RECQ_MIN_SLOT 2048

void recq_init(struct recq *q, unsigned cap, unsigned headroom)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap;
	q->headroom = headroom;
}

void recq_free(struct recq *q)
{
	if (q->slots)
		for (unsigned i = 0; i < q->cap; i++)
			free(q->slots[i].buf);
	free(q->slots);
	q->slots = NULL;
	q->head = q->count = 0;
	q->bytes = 0;
}

int recq_push(struct recq *q, const uint8_t *record, size_t len)
{
	struct recq_slot *s;
	size_t need = q->headroom + 4 + len;

	if (len > FRAME_MAX_RECORD)
		return -EMSGSIZE;
	if (q->count >= q->cap || (q->max_bytes && q->count && q->bytes + len > q->max_bytes))
		return -ENOBUFS;
	if (!q->slots) {
		q->slots = calloc(q->cap, sizeof(*q->slots));
		if (!q->slots)
			return -ENOMEM;
	}
	s = &q->slots[(q->head + q->count) % q->cap];
	if (s->size < need) {
		size_t size = need < RECQ_MIN_SLOT ? RECQ_MIN_SLOT : need;
		uint8_t *buf = realloc(s->buf, size);

		if (!buf)
			return -ENOMEM;
		s->buf = buf;
		s->size = (uint32_t)size;
	}
	s->len = (uint32_t)len;
	frame_put_header(recq_slot_header(q, s), (uint32_t)len);
	if (len)
		memcpy(recq_slot_record(q, s), record, len);
	q->count++;
	q->bytes += len;
	return 0;
}

struct recq_slot *recq_peek(struct recq *q)
{
	return q->count ? &q->slots[q->head] : NULL;
}

void recq_pop(struct recq *q)
{
	struct recq_slot *s;

	if (!q->count)
		return;
	s = &q->slots[q->head];
	q->bytes -= s->len;
	if (s->size > RECQ_MIN_SLOT) {
		free(s->buf);
		s->buf = NULL;
		s->size = 0;
	}
	q->head = (q->head + 1) % q->cap;
	q->count--;
}

void recq_clear(struct recq *q)
{
	while (q->count)
		recq_pop(q);
	q->head = 0;
}
