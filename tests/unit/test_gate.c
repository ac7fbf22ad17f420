#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/gate.h"

struct delivered {
	unsigned n;
	uint8_t first[16];
	size_t len[16];
};

static void collect(void *arg, const uint8_t *record, size_t len)
{
	struct delivered *d = arg;

	assert_true(d->n < 16);
	d->first[d->n] = record[0];
	d->len[d->n++] = len;
}

static const uint8_t rec[4][148] = { { 1 }, { 2 }, { 3 }, { 4 } };

static void test_forward_and_drop_without_hold(void **state)
{
	struct gate g;

	(void)state;
	gate_init(&g, 4);
	assert_int_equal(gate_record(&g, TRANSPORT_FORWARD, rec[0], 148), GATE_FORWARD);
	assert_int_equal(gate_record(&g, TRANSPORT_DROP, rec[1], 148), GATE_DROPPED);
	assert_false(gate_holding(&g));
	assert_null(g.held.slots);	/* nothing allocated without a hold */
	gate_free(&g);
}

/* After a HOLD, later records queue behind it whatever their verdict. */
static void test_hold_keeps_order_and_forwards(void **state)
{
	struct delivered d = { 0 };
	struct gate g;

	(void)state;
	gate_init(&g, 4);
	assert_int_equal(gate_record(&g, TRANSPORT_FORWARD, rec[0], 148), GATE_FORWARD);
	assert_int_equal(gate_record(&g, TRANSPORT_HOLD, rec[1], 148), GATE_HELD);
	assert_true(gate_holding(&g));
	assert_int_equal(gate_record(&g, TRANSPORT_FORWARD, rec[2], 32), GATE_HELD);
	assert_int_equal(gate_record(&g, TRANSPORT_DROP, rec[3], 148), GATE_HELD);
	assert_int_equal(gate_release(&g, true, collect, &d), 3);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.first[0], 2);
	assert_int_equal(d.first[1], 3);
	assert_int_equal(d.len[1], 32);
	assert_int_equal(d.first[2], 4);
	assert_false(gate_holding(&g));
	assert_int_equal(gate_record(&g, TRANSPORT_FORWARD, rec[0], 148), GATE_FORWARD);
	gate_free(&g);
}

static void test_hold_is_bounded_and_release_can_drop(void **state)
{
	struct delivered d = { 0 };
	struct gate g;

	(void)state;
	gate_init(&g, 2);
	assert_int_equal(gate_record(&g, TRANSPORT_HOLD, rec[0], 148), GATE_HELD);
	assert_int_equal(gate_record(&g, TRANSPORT_HOLD, rec[1], 148), GATE_HELD);
	assert_int_equal(gate_record(&g, TRANSPORT_HOLD, rec[2], 148), GATE_HOLD_FULL);
	assert_int_equal(gate_record(&g, TRANSPORT_FORWARD, rec[3], 148), GATE_HOLD_FULL);
	assert_int_equal(gate_release(&g, false, collect, &d), 2);
	assert_int_equal(d.n, 0);
	assert_false(gate_holding(&g));
	/* a second release has nothing left */
	assert_int_equal(gate_release(&g, true, collect, &d), 0);
	/* and the gate holds again when asked */
	assert_int_equal(gate_record(&g, TRANSPORT_HOLD, rec[2], 148), GATE_HELD);
	assert_int_equal(gate_release(&g, true, collect, &d), 1);
	assert_int_equal(d.first[0], 3);
	gate_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_and_drop_without_hold),
		cmocka_unit_test(test_hold_keeps_order_and_forwards),
		cmocka_unit_test(test_hold_is_bounded_and_release_can_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
