#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/session.h"

static struct session *new_session(const char *remote)
{
	struct session *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	snprintf(s->remote, sizeof(s->remote), "%s", remote);
	return s;
}

static void test_ids_and_ip_counts(void **state)
{
	struct session_table *st = calloc(1, sizeof(*st));
	struct ip_table ipt;
	struct session *s[5];
	const char *addrs[] = { "198.18.0.2", "198.18.0.2", "fd00:5353::2", "198.18.0.3",
				"198.18.0.2" };

	(void)state;
	assert_non_null(st);
	ip_table_init(&ipt);
	session_table_init(st, &ipt, 3);
	for (int i = 0; i < 5; i++) {
		s[i] = new_session(addrs[i]);
		assert_int_equal(session_add(st, s[i]), 0);
	}
	assert_int_equal(st->count, 5);
	assert_int_equal(session_ip_count(st, "198.18.0.2"), 3);
	assert_int_equal(session_ip_count(st, "fd00:5353::2"), 1);
	assert_int_equal(session_ip_count(st, "198.18.0.9"), 0);
	for (int i = 0; i < 5; i++) {
		assert_ptr_equal(session_find(st, s[i]->id), s[i]);
		assert_int_equal(transport_session_loop(s[i]->id), 3);	/* the table's loop */
		for (int j = 0; j < i; j++)
			assert_true(s[i]->id != s[j]->id);
	}

	session_remove(st, s[1]);
	session_remove(st, s[1]);	/* twice is harmless */
	assert_int_equal(st->count, 4);
	assert_null(session_find(st, s[1]->id));
	assert_int_equal(session_ip_count(st, "198.18.0.2"), 2);
	session_remove(st, s[2]);
	assert_int_equal(session_ip_count(st, "fd00:5353::2"), 0);

	/* the list of every session holds exactly the live ones */
	{
		int n = 0;

		for (struct session *p = st->all; p; p = p->next) {
			assert_true(p != s[1] && p != s[2]);
			n++;
		}
		assert_int_equal(n, 3);
	}
	/* ids are not reused, so a late release finds nothing */
	{
		uint64_t gone = s[1]->id;
		struct session *again = new_session("198.18.0.2");

		assert_int_equal(session_add(st, again), 0);
		assert_true(again->id != gone);
		assert_null(session_find(st, gone));
		session_remove(st, again);
		free(again);
	}
	for (int i = 0; i < 5; i++) {
		session_remove(st, s[i]);
		free(s[i]);
	}
	assert_int_equal(st->count, 0);
	assert_null(st->all);
	ip_table_free(&ipt);
	free(st);
}

/* Ids that share a hash bucket are told apart. */
static void test_bucket_collisions(void **state)
{
	struct session_table *st = calloc(1, sizeof(*st));
	struct ip_table ipt;
	struct session *s[3];

	(void)state;
	assert_non_null(st);
	ip_table_init(&ipt);
	session_table_init(st, &ipt, 3);
	for (int i = 0; i < 3; i++) {
		s[i] = new_session("198.18.0.2");
		st->next_id = (uint64_t)i * SESSION_BUCKETS;	/* next id lands in bucket 1 */
		assert_int_equal(session_add(st, s[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(session_find(st, s[i]->id), s[i]);
	session_remove(st, s[1]);
	assert_ptr_equal(session_find(st, s[0]->id), s[0]);
	assert_ptr_equal(session_find(st, s[2]->id), s[2]);
	assert_null(session_find(st, s[1]->id));
	for (int i = 0; i < 3; i++) {
		session_remove(st, s[i]);
		free(s[i]);
	}
	ip_table_free(&ipt);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_and_ip_counts),
		cmocka_unit_test(test_bucket_collisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
