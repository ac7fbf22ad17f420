#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/recq.h"

#define HEADROOM 16

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
}

static void test_empty(void **state)
{
	struct recq q;

	(void)state;
	recq_init(&q, 4, HEADROOM);
	assert_null(recq_peek(&q));
	recq_pop(&q);
	assert_int_equal(q.count, 0);
	assert_null(q.slots);	/* nothing allocated until used */
	recq_free(&q);
}

static void test_fifo_and_bound(void **state)
{
	uint8_t rec[3000];
	struct recq q;
	struct recq_slot *s;

	(void)state;
	recq_init(&q, 3, HEADROOM);
	for (int i = 0; i < 3; i++) {
		fill(rec, 100 + (size_t)i * 1000, (uint8_t)i);
		assert_int_equal(recq_push(&q, rec, 100 + (size_t)i * 1000), 0);
	}
	fill(rec, 10, 9);
	assert_int_equal(recq_push(&q, rec, 10), -ENOBUFS);
	assert_int_equal(q.count, 3);
	for (int i = 0; i < 3; i++) {
		size_t len = 100 + (size_t)i * 1000;
		uint8_t *h;

		s = recq_peek(&q);
		assert_non_null(s);
		assert_int_equal(s->len, len);
		h = recq_slot_header(&q, s);
		assert_ptr_equal(h, s->buf + HEADROOM);
		assert_int_equal(((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
				  (uint32_t)h[2] << 8 | h[3]), len);
		fill(rec, len, (uint8_t)i);
		assert_memory_equal(recq_slot_record(&q, s), rec, len);
		recq_pop(&q);
	}
	assert_null(recq_peek(&q));
	recq_free(&q);
}

/* The ring wraps and slot buffers are reused rather than reallocated. */
static void test_wrap_reuses_buffers(void **state)
{
	uint8_t rec[1400];
	uint8_t *bufs[2];
	struct recq q;

	(void)state;
	recq_init(&q, 2, HEADROOM);
	fill(rec, sizeof(rec), 1);
	assert_int_equal(recq_push(&q, rec, sizeof(rec)), 0);
	assert_int_equal(recq_push(&q, rec, sizeof(rec)), 0);
	bufs[0] = q.slots[0].buf;
	bufs[1] = q.slots[1].buf;
	for (int round = 0; round < 10; round++) {
		struct recq_slot *s = recq_peek(&q);

		assert_non_null(s);
		recq_pop(&q);
		fill(rec, sizeof(rec), (uint8_t)round);
		assert_int_equal(recq_push(&q, rec, sizeof(rec)), 0);
		assert_int_equal(q.count, 2);
	}
	assert_ptr_equal(q.slots[0].buf, bufs[0]);
	assert_ptr_equal(q.slots[1].buf, bufs[1]);
	/* the newest record is the last pushed */
	recq_pop(&q);
	assert_memory_equal(recq_slot_record(&q, recq_peek(&q)), rec, sizeof(rec));
	recq_free(&q);
}

static void test_clear_and_limits(void **state)
{
	uint8_t *big = calloc(1, 70000);
	struct recq q;

	(void)state;
	assert_non_null(big);
	recq_init(&q, 2, 0);
	assert_int_equal(recq_push(&q, big, 65536), -EMSGSIZE);
	assert_int_equal(recq_push(&q, big, 65535), 0);
	assert_int_equal(recq_push(&q, big, 0), 0);
	assert_int_equal(recq_peek(&q)->len, 65535);
	recq_clear(&q);
	assert_null(recq_peek(&q));
	assert_int_equal(recq_push(&q, big, 5), 0);
	assert_int_equal(recq_peek(&q)->len, 5);
	recq_free(&q);
	free(big);
}

/* Bounded by bytes as well: one record always fits; grown slots give their buffer back. */
static void test_byte_bound(void **state)
{
	uint8_t *big = calloc(1, 60000);
	struct recq q;

	(void)state;
	assert_non_null(big);
	recq_init(&q, 128, 0);
	recq_limit_bytes(&q, 4 * 2048);
	assert_int_equal(recq_push(&q, big, 60000), 0);	/* alone, over the bound */
	assert_int_equal(recq_push(&q, big, 1), -ENOBUFS);
	assert_int_equal(q.bytes, 60000);
	recq_pop(&q);
	assert_int_equal(q.bytes, 0);
	for (unsigned i = 0; i < 128; i++)
		assert_null(q.slots[i].buf);	/* the 60,000-byte buffer went back */
	for (int i = 0; i < 4; i++)
		assert_int_equal(recq_push(&q, big, 2048), 0);
	assert_int_equal(recq_push(&q, big, 1), -ENOBUFS);
	recq_pop(&q);
	assert_int_equal(recq_push(&q, big, 2048), 0);
	assert_int_equal(q.bytes, 4 * 2048);
	recq_clear(&q);
	assert_int_equal(q.bytes, 0);
	recq_free(&q);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fifo_and_bound),
		cmocka_unit_test(test_wrap_reuses_buffers),
		cmocka_unit_test(test_clear_and_limits),
		cmocka_unit_test(test_byte_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
