#include "transport/gate.h"

void gate_init(struct gate *g, unsigned hold_max)
{
	recq_init(&g->held, hold_max, 0);
	g->holding = false;
	g->hold = 0;
}

void gate_free(struct gate *g)
{
	recq_free(&g->held);
	g->holding = false;
}

enum gate_result gate_record(struct gate *g, enum transport_verdict verdict,
			     const uint8_t *record, size_t len)
{
	if (!g->holding) {
		if (verdict == TRANSPORT_FORWARD)
			return GATE_FORWARD;
		if (verdict == TRANSPORT_DROP)
			return GATE_DROPPED;
		g->holding = true;
		g->hold++;
	}
	return recq_push(&g->held, record, len) < 0 ? GATE_HOLD_FULL : GATE_HELD;
}

unsigned gate_release(struct gate *g, bool forward,
		      void (*deliver)(void *arg, const uint8_t *record, size_t len), void *arg)
{
	struct recq_slot *slot;
	unsigned n = 0;

	while ((slot = recq_peek(&g->held))) {
		if (forward)
			deliver(arg, recq_slot_record(&g->held, slot), slot->len);
		recq_pop(&g->held);
		n++;
	}
	g->holding = false;
	return n;
}
