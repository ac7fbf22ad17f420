#ifndef TRANSPORT_RECQ_H
#define TRANSPORT_RECQ_H

#include <stddef.h>
#include <stdint.h>

/*
 * A bounded FIFO of records. Each slot keeps its buffer once allocated (if
 * of the usual size), so a busy session stops allocating after its first
 * few records and an idle one holds nothing. A slot's bytes are laid out
 * as [headroom][4-byte length][record], ready for a writer that needs
 * space in front.
 */
struct recq_slot {
	uint8_t *buf;
	uint32_t len;		/* record length */
	uint32_t size;		/* allocated bytes */
};

struct recq {
	struct recq_slot *slots;	/* cap entries, allocated on first push */
	unsigned cap;
	unsigned head;
	unsigned count;
	unsigned headroom;
	size_t bytes;		/* of the records queued */
	size_t max_bytes;	/* 0: bounded by count only */
};

void recq_init(struct recq *q, unsigned cap, unsigned headroom);
void recq_free(struct recq *q);

/*
 * Bounds the record bytes queued as well: a record that would take them
 * past max_bytes is refused, unless the queue is empty (so one record of
 * any length can always wait).
 */
static inline void recq_limit_bytes(struct recq *q, size_t max_bytes)
{
	q->max_bytes = max_bytes;
}

/* Copies the record in; -ENOBUFS when full (by count or bytes), -ENOMEM. */
int recq_push(struct recq *q, const uint8_t *record, size_t len);

/* The oldest slot, or NULL when empty. */
struct recq_slot *recq_peek(struct recq *q);

/* Drops the oldest record; a slot grown past the usual size gives its buffer back. */
void recq_pop(struct recq *q);

/* Empties the queue, keeping the buffers. */
void recq_clear(struct recq *q);

static inline uint8_t *recq_slot_header(const struct recq *q, const struct recq_slot *s)
{
	return s->buf + q->headroom;
}

static inline uint8_t *recq_slot_record(const struct recq *q, const struct recq_slot *s)
{
	return s->buf + q->headroom + 4;
}

#endif
