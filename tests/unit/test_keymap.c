#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jit/keymap.h"

static void make_key(uint8_t key[WG_KEY_LEN], uint32_t i)
{
	memset(key, 0, WG_KEY_LEN);
	memcpy(key, &i, sizeof(i));
	key[31] = (uint8_t)(i * 7);
}

static void count_entries(void *ctx, const uint8_t key[WG_KEY_LEN], void *value)
{
	uint32_t i;

	memcpy(&i, key, sizeof(i));
	assert_int_equal(*(uint64_t *)value, (uint64_t)i * 3);
	(*(size_t *)ctx)++;
}

static void test_insert_get_remove(void **state)
{
	struct keymap m;
	uint8_t key[WG_KEY_LEN];
	size_t seen = 0;
	int created;

	(void)state;
	assert_int_equal(keymap_init(&m, sizeof(uint64_t)), 0);
	make_key(key, 1);
	assert_null(keymap_get(&m, key));
	assert_int_equal(keymap_remove(&m, key), -ENOENT);
	for (uint32_t i = 0; i < 20000; i++) {
		uint64_t *v;

		make_key(key, i);
		v = keymap_upsert(&m, key, &created);
		assert_non_null(v);
		assert_int_equal(created, 1);
		assert_int_equal(*v, 0);
		*v = (uint64_t)i * 3;
		assert_true(((uintptr_t)v & 7) == 0);
	}
	assert_int_equal(m.count, 20000);
	make_key(key, 77);
	assert_int_equal(*(uint64_t *)keymap_upsert(&m, key, &created), 231);
	assert_int_equal(created, 0);
	keymap_foreach(&m, count_entries, &seen);
	assert_int_equal(seen, 20000);

	/* Remove every other key; the rest stay reachable past the tombstones. */
	for (uint32_t i = 0; i < 20000; i += 2) {
		make_key(key, i);
		assert_int_equal(keymap_remove(&m, key), 0);
	}
	for (uint32_t i = 0; i < 20000; i++) {
		make_key(key, i);
		if (i % 2)
			assert_int_equal(*(uint64_t *)keymap_get(&m, key), (uint64_t)i * 3);
		else
			assert_null(keymap_get(&m, key));
	}
	/* Churn: tombstones are reclaimed rather than growing the table forever. */
	for (uint32_t round = 0; round < 50; round++) {
		for (uint32_t i = 0; i < 1000; i++) {
			make_key(key, 100000 + round * 1000 + i);
			assert_non_null(keymap_upsert(&m, key, &created));
		}
		for (uint32_t i = 0; i < 1000; i++) {
			make_key(key, 100000 + round * 1000 + i);
			assert_int_equal(keymap_remove(&m, key), 0);
		}
	}
	assert_int_equal(m.count, 10000);
	assert_true(m.cap <= 65536);
	keymap_free(&m);
}

static bool is_multiple_of_three(void *ctx, const uint8_t key[WG_KEY_LEN], void *value)
{
	uint32_t i;

	(void)ctx;
	(void)value;
	memcpy(&i, key, sizeof(i));
	return i % 3 == 0;
}

static void test_remove_if(void **state)
{
	struct keymap m;
	uint8_t key[WG_KEY_LEN];
	int created;

	(void)state;
	assert_int_equal(keymap_init(&m, sizeof(uint64_t)), 0);
	assert_int_equal(keymap_remove_if(&m, is_multiple_of_three, NULL), 0);
	for (uint32_t i = 0; i < 3000; i++) {
		make_key(key, i);
		assert_non_null(keymap_upsert(&m, key, &created));
	}
	assert_int_equal(keymap_remove_if(&m, is_multiple_of_three, NULL), 1000);
	assert_int_equal(m.count, 2000);
	for (uint32_t i = 0; i < 3000; i++) {
		make_key(key, i);
		if (i % 3)
			assert_non_null(keymap_get(&m, key));
		else
			assert_null(keymap_get(&m, key));
	}
	assert_int_equal(keymap_remove_if(&m, is_multiple_of_three, NULL), 0);
	keymap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_get_remove),
		cmocka_unit_test(test_remove_if),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
