#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/frame.h"

#define MAX_SEEN 16

struct seen {
	size_t n;
	size_t len[MAX_SEEN];
	uint8_t data[MAX_SEEN][2048];
};

static int collect(void *ctx, const uint8_t *record, size_t len)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_SEEN);
	assert_true(len <= sizeof(s->data[0]));
	memcpy(s->data[s->n], record, len);
	s->len[s->n++] = len;
	return 0;
}

/* magic, then records of sizes 148, 0 (keepalive), 1, 1400, 92. */
static const size_t sizes[] = { 148, 0, 1, 1400, 92 };
#define N_RECORDS (sizeof(sizes) / sizeof(sizes[0]))

static size_t build_stream(uint8_t *out)
{
	size_t o = 0;

	frame_put_header(out, FRAME_MAGIC);
	o += 4;
	for (size_t r = 0; r < N_RECORDS; r++) {
		frame_put_header(out + o, (uint32_t)sizes[r]);
		o += 4;
		for (size_t i = 0; i < sizes[r]; i++)
			out[o++] = (uint8_t)(r * 31 + i * 7);
	}
	return o;
}

static void check_records(const struct seen *s)
{
	assert_int_equal(s->n, N_RECORDS);
	for (size_t r = 0; r < N_RECORDS; r++) {
		assert_int_equal(s->len[r], sizes[r]);
		for (size_t i = 0; i < sizes[r]; i++)
			assert_int_equal(s->data[r][i], (uint8_t)(r * 31 + i * 7));
	}
}

static void test_whole_stream(void **state)
{
	uint8_t stream[4096];
	size_t len = build_stream(stream);
	struct frame_decoder d;
	struct seen s = { 0 };

	(void)state;
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, stream, len, collect, &s), 0);
	check_records(&s);
	assert_false(frame_decoder_mid_record(&d));
	frame_decoder_free(&d);
}

/* Every single cut point, then every pair of cut points. */
static void test_every_split(void **state)
{
	uint8_t stream[4096];
	size_t len = build_stream(stream);
	struct seen *s = malloc(sizeof(*s));

	(void)state;
	assert_non_null(s);
	for (size_t cut = 0; cut <= len; cut++) {
		struct frame_decoder d;

		memset(s, 0, sizeof(*s));
		frame_decoder_init(&d);
		assert_int_equal(frame_decode(&d, stream, cut, collect, s), 0);
		assert_int_equal(frame_decode(&d, stream + cut, len - cut, collect, s), 0);
		check_records(s);
		frame_decoder_free(&d);
	}
	for (size_t a = 0; a <= len; a += 3) {
		for (size_t b = a; b <= len; b += 5) {
			struct frame_decoder d;

			memset(s, 0, sizeof(*s));
			frame_decoder_init(&d);
			assert_int_equal(frame_decode(&d, stream, a, collect, s), 0);
			assert_int_equal(frame_decode(&d, stream + a, b - a, collect, s), 0);
			assert_int_equal(frame_decode(&d, stream + b, len - b, collect, s), 0);
			check_records(s);
			frame_decoder_free(&d);
		}
	}
	free(s);
}

static void test_byte_at_a_time(void **state)
{
	uint8_t stream[4096];
	size_t len = build_stream(stream);
	struct frame_decoder d;
	struct seen s = { 0 };

	(void)state;
	frame_decoder_init(&d);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(frame_decode(&d, stream + i, 1, collect, &s), 0);
	check_records(&s);
	frame_decoder_free(&d);
}

static void test_bad_magic(void **state)
{
	const uint8_t wrong[] = { 0x2F, 0xAC, 0xED, 0x78, 0, 0, 0, 0 };
	const uint8_t early[] = { 0, 0, 0, 0, 0x2F, 0xAC, 0xED, 0x77 };
	struct frame_decoder d;
	struct seen s = { 0 };

	(void)state;
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, wrong, 3, collect, &s), 0);
	assert_int_equal(frame_decode(&d, wrong + 3, 5, collect, &s), FRAME_ERR_MAGIC);
	frame_decoder_free(&d);
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, early, sizeof(early), collect, &s), FRAME_ERR_MAGIC);
	frame_decoder_free(&d);
	assert_int_equal(s.n, 0);
	assert_string_equal(frame_error_reason(FRAME_ERR_MAGIC), "bad_magic");
}

static int count_largest(void *ctx, const uint8_t *r, size_t len)
{
	assert_int_equal(len, 65535);
	assert_int_equal(r[0], 0xAB);
	assert_int_equal(r[65534], 0xAB);
	(*(size_t *)ctx)++;
	return 0;
}

static void test_lengths(void **state)
{
	uint8_t stream[8 + 65535 + 8];
	struct frame_decoder d;
	size_t n = 0;

	(void)state;
	frame_put_header(stream, FRAME_MAGIC);
	frame_put_header(stream + 4, 0xFFFFFFFFu);
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, stream, 8, collect, &(struct seen){ 0 }),
			 FRAME_ERR_LENGTH);
	frame_decoder_free(&d);

	frame_put_header(stream + 4, 65536);
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, stream, 8, collect, &(struct seen){ 0 }),
			 FRAME_ERR_LENGTH);
	frame_decoder_free(&d);

	/* The largest record is accepted, and across a split too. */
	frame_put_header(stream + 4, 65535);
	memset(stream + 8, 0xAB, 65535);
	for (size_t cut = 1; cut < 65535 + 8; cut += 4099) {
		frame_decoder_init(&d);
		n = 0;
		assert_int_equal(frame_decode(&d, stream, cut, count_largest, &n), 0);
		assert_int_equal(frame_decode(&d, stream + cut, 65535 + 8 - cut, count_largest, &n), 0);
		assert_int_equal(n, 1);
		frame_decoder_free(&d);
	}
}

static int stop_after_first(void *ctx, const uint8_t *record, size_t len)
{
	(void)record;
	(void)len;
	(*(int *)ctx)++;
	return 7;
}

static void test_callback_stops(void **state)
{
	uint8_t stream[4096];
	size_t len = build_stream(stream);
	struct frame_decoder d;
	int calls = 0;

	(void)state;
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, stream, len, stop_after_first, &calls), 7);
	assert_int_equal(calls, 1);
	frame_decoder_free(&d);
}

static void test_mid_record(void **state)
{
	uint8_t stream[4096];
	size_t len = build_stream(stream);
	struct frame_decoder d;
	struct seen s = { 0 };

	(void)state;
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, stream, 4, collect, &s), 0);
	assert_false(frame_decoder_mid_record(&d));
	assert_int_equal(frame_decode(&d, stream + 4, 10, collect, &s), 0);
	assert_true(frame_decoder_mid_record(&d));
	assert_int_equal(frame_decode(&d, stream + 14, len - 14, collect, &s), 0);
	assert_false(frame_decoder_mid_record(&d));
	frame_decoder_free(&d);
}

/*
 * A record announced at 65535 bytes holds only what has arrived of it:
 * five bytes cost the first small allocation, and the buffer grows with the
 * bytes that follow (at most twice them) until the record is whole.
 */
static void test_partial_grows_with_bytes(void **state)
{
	static uint8_t stream[8 + 65535];
	struct frame_decoder d;
	size_t n = 0, off;

	(void)state;
	frame_put_header(stream, FRAME_MAGIC);
	frame_put_header(stream + 4, 65535);
	memset(stream + 8, 0xAB, 65535);
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, stream, 8 + 5, count_largest, &n), 0);
	assert_true(frame_decoder_mid_record(&d));
	assert_true(d.partial_cap >= 5 && d.partial_cap <= 256);
	for (off = 8 + 5; off < sizeof(stream); off += 1000) {
		size_t take = sizeof(stream) - off < 1000 ? sizeof(stream) - off : 1000;

		assert_int_equal(frame_decode(&d, stream + off, take, count_largest, &n), 0);
		if (n == 0)
			assert_true(d.partial_cap <= 2 * (off + take - 8));
	}
	assert_int_equal(n, 1);
	assert_false(frame_decoder_mid_record(&d));
	frame_decoder_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_stream),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_mid_record),
		cmocka_unit_test(test_partial_grows_with_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
