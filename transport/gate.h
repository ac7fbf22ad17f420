#ifndef TRANSPORT_GATE_H
#define TRANSPORT_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/recq.h"
#include "transport/transport.h"

/*
 * The step between decoding and relaying: each record gets a verdict
 * (FORWARD, HOLD, DROP). Once a record is held, every later record of the
 * session is held behind it, so the session's order is kept, until
 * gate_release() forwards or drops them all.
 */
struct gate {
	struct recq held;
	bool holding;
	uint32_t hold;		/* numbers the holds, so a late release can be told apart */
};

enum gate_result {
	GATE_FORWARD,		/* relay it now */
	GATE_HELD,
	GATE_DROPPED,		/* the verdict was DROP */
	GATE_HOLD_FULL,		/* to be held, but the hold queue is full: dropped */
};

void gate_init(struct gate *g, unsigned hold_max);
void gate_free(struct gate *g);

/* verdict is ignored while holding (the record queues behind the others). */
enum gate_result gate_record(struct gate *g, enum transport_verdict verdict,
			     const uint8_t *record, size_t len);

/* The number the next hold will have. */
static inline uint32_t gate_next_hold(const struct gate *g)
{
	return g->hold + 1;
}

/* True when the next record would be held whatever its verdict. */
static inline bool gate_holding(const struct gate *g)
{
	return g->holding;
}

/*
 * Ends the hold: calls deliver for each held record in order when forward
 * is true; returns how many records were delivered or discarded.
 */
unsigned gate_release(struct gate *g, bool forward,
		      void (*deliver)(void *arg, const uint8_t *record, size_t len), void *arg);

#endif
