/* The token bucket and the per-source table of buckets the capture path uses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/bucket.h"
#include "wssd/srclimit.h"

#define SEC 1000000

static void test_bucket(void **state)
{
	struct bucket b = { 0 };
	int64_t t = 5 * SEC;
	int n = 0;

	(void)state;
	/* a new bucket is full: burst tokens at once, then none */
	while (bucket_take(&b, 2, 3, t))
		n++;
	assert_int_equal(n, 3);
	/* 2 a second: one after half a second, not before */
	assert_false(bucket_take(&b, 2, 3, t + SEC / 2 - 1000));
	assert_true(bucket_take(&b, 2, 3, t + SEC / 2));
	assert_false(bucket_take(&b, 2, 3, t + SEC / 2));
	/* an hour idle refills to burst, no more */
	t += 3600LL * SEC;
	for (n = 0; bucket_take(&b, 2, 3, t); n++)
		;
	assert_int_equal(n, 3);
	/* years idle at the largest rate neither overflows nor goes past burst */
	t += 100LL * 365 * 86400 * SEC;
	for (n = 0; bucket_take(&b, BUCKET_MAX, 5, t); n++)
		;
	assert_int_equal(n, 5);
}

static void key_of(uint8_t key[SRCLIMIT_KEY_LEN], uint32_t id)
{
	memset(key, 0, SRCLIMIT_KEY_LEN);
	memcpy(key + 12, &id, sizeof(id));
}

static int drain(struct srclimit *s, const uint8_t key[SRCLIMIT_KEY_LEN], int64_t t)
{
	int n = 0;

	while (n < 1000 && srclimit_take(s, key, t))
		n++;
	return n;
}

static void test_sources_apart(void **state)
{
	struct srclimit *s = NULL;
	uint8_t a[SRCLIMIT_KEY_LEN], b[SRCLIMIT_KEY_LEN];
	int64_t t = SEC;

	(void)state;
	assert_int_equal(srclimit_new(&s, 64, 10, 10), 0);
	key_of(a, 1);
	key_of(b, 2);
	assert_int_equal(drain(s, a, t), 10);
	assert_false(srclimit_take(s, a, t));
	/* a's flood costs b nothing */
	assert_int_equal(drain(s, b, t), 10);
	/* a tenth of a second later, one more each */
	assert_int_equal(drain(s, a, t + SEC / 10), 1);
	assert_int_equal(drain(s, b, t + SEC / 10), 1);
	srclimit_free(s);
	assert_int_equal(srclimit_new(&s, 64, 0, 10), -EINVAL);
	assert_int_equal(srclimit_new(&s, 64, 10, BUCKET_MAX + 1), -EINVAL);
}

/*
 * More senders than buckets: the table does not grow, a source that keeps
 * sending keeps its (empty) bucket through the churn, and a source pushed
 * out comes back full, as an idle bucket would be anyway.
 */
static void test_many_sources(void **state)
{
	enum { ENTRIES = 64, SPRAY = 100 * ENTRIES };
	struct srclimit *s = NULL;
	uint8_t hot[SRCLIMIT_KEY_LEN], k[SRCLIMIT_KEY_LEN];
	int64_t t = SEC;
	int passed = 0;

	(void)state;
	assert_int_equal(srclimit_new(&s, ENTRIES, 1, 5), 0);
	key_of(hot, 0xffffffff);
	assert_int_equal(drain(s, hot, t), 5);
	for (uint32_t i = 0; i < SPRAY; i++) {
		t += 10;
		passed += srclimit_take(s, hot, t);
		key_of(k, i);
		assert_true(srclimit_take(s, k, t + 5));
	}
	/* 64 ms went by: at 1 a second, not one token came back */
	assert_int_equal(passed, 0);
	/* the first sprayed sources were pushed out long ago: full again */
	key_of(k, 0);
	assert_int_equal(drain(s, k, t), 5);
	srclimit_free(s);
}

/* A reload's new rate: every source's next take goes by it; nonsense is refused. */
static void test_set_rate(void **state)
{
	struct srclimit *s = NULL;
	uint8_t a[SRCLIMIT_KEY_LEN];
	int64_t t = 10 * SEC;

	(void)state;
	key_of(a, 1);
	assert_int_equal(srclimit_new(&s, 64, 2, 3), 0);
	assert_int_equal(drain(s, a, t), 3);
	assert_int_equal(srclimit_set_rate(s, 100, 7), 0);
	/* 100 a second: one more after 10 ms, and a full new burst after a second */
	assert_int_equal(drain(s, a, t + SEC / 100), 1);
	assert_int_equal(drain(s, a, t + 2 * SEC), 7);
	assert_int_equal(srclimit_set_rate(s, 0, 7), -EINVAL);
	assert_int_equal(srclimit_set_rate(s, 5, 0), -EINVAL);
	assert_int_equal(srclimit_set_rate(s, BUCKET_MAX + 1, 3), -EINVAL);
	/* the refused ones changed nothing */
	assert_int_equal(drain(s, a, t + 4 * SEC), 7);
	srclimit_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_sources_apart),
		cmocka_unit_test(test_many_sources),
		cmocka_unit_test(test_set_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
