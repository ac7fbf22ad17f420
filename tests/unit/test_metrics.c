#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/metrics.h"

static char *render(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	metrics_write(f);
	fclose(f);
	return text;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static double seven(void *arg)
{
	return *(double *)arg;
}

static void test_counters_gauges_and_labels(void **state)
{
	struct metric *a, *b, *g;
	double v = 7.5;
	char *text;

	(void)state;
	a = metric_counter("t_drops_total", "reason=\"x\"", "Drops");
	b = metric_counter("t_drops_total", "reason=\"y\"", "Drops");
	assert_ptr_equal(metric_counter("t_drops_total", "reason=\"x\"", "Drops"), a);
	assert_ptr_not_equal(a, b);
	g = metric_gauge("t_open", NULL, "Open now");
	metric_gauge_fn("t_fn", "Computed", seven, &v);
	metric_inc(a);
	metric_add(a, 41);
	metric_inc(b);
	metric_set(g, -3);
	assert_int_equal(metric_value(a), 42);

	text = render();
	assert_int_equal(count(text, "# HELP t_drops_total Drops\n"), 1);
	assert_int_equal(count(text, "# TYPE t_drops_total counter\n"), 1);
	assert_non_null(strstr(text, "t_drops_total{reason=\"x\"} 42\n"));
	assert_non_null(strstr(text, "t_drops_total{reason=\"y\"} 1\n"));
	assert_non_null(strstr(text, "# TYPE t_open gauge\nt_open -3\n"));
	assert_non_null(strstr(text, "t_fn 7.5\n"));
	/* series of one name follow their header */
	assert_true(strstr(text, "t_drops_total{reason=\"y\"}") < strstr(text, "# HELP t_open"));
	free(text);
	metrics_free();
}

static void test_histogram(void **state)
{
	static const double bounds[] = { 0.01, 0.1, 1 };
	struct metric_histogram *h;
	char *text;

	(void)state;
	h = metric_histogram("t_latency_seconds", "Latency", bounds, 3);
	metric_observe(h, 0.005);
	metric_observe(h, 0.05);
	metric_observe(h, 0.05);
	metric_observe(h, 5);
	text = render();
	assert_non_null(strstr(text, "# TYPE t_latency_seconds histogram\n"));
	assert_non_null(strstr(text, "t_latency_seconds_bucket{le=\"0.01\"} 1\n"));
	assert_non_null(strstr(text, "t_latency_seconds_bucket{le=\"0.1\"} 3\n"));
	assert_non_null(strstr(text, "t_latency_seconds_bucket{le=\"1\"} 3\n"));
	assert_non_null(strstr(text, "t_latency_seconds_bucket{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(text, "t_latency_seconds_sum 5.105\n"));
	assert_non_null(strstr(text, "t_latency_seconds_count 4\n"));
	free(text);
	metrics_free();
}

static void test_lookup(void **state)
{
	static const double bounds[] = { 1 };
	double v = 2.25, got;

	(void)state;
	metric_add(metric_counter("t_drops_total", "reason=\"x\"", "Drops"), 3);
	metric_add(metric_counter("t_drops_total", "reason=\"y\"", "Drops"), 4);
	metric_set(metric_gauge("t_open", NULL, "Open now"), -2);
	metric_gauge_fn("t_fn", "Computed", seven, &v);
	metric_observe(metric_histogram("t_seconds", "Latency", bounds, 1), 0.5);
	metric_observe(metric_histogram("t_seconds", "Latency", bounds, 1), 5);

	assert_int_equal(metric_lookup("t_drops_total", "reason=\"y\"", &got), 0);
	assert_true(got == 4);
	assert_int_equal(metric_lookup("t_drops_total", NULL, &got), 0);
	assert_true(got == 7);
	assert_int_equal(metric_lookup("t_open", "", &got), 0);
	assert_true(got == -2);
	assert_int_equal(metric_lookup("t_fn", NULL, &got), 0);
	assert_true(got == 2.25);
	assert_int_equal(metric_lookup("t_seconds", NULL, &got), 0);
	assert_true(got == 2);
	assert_int_equal(metric_lookup("t_drops_total", "reason=\"z\"", &got), -ENOENT);
	assert_true(got == 0);
	assert_int_equal(metric_lookup("t_missing", NULL, &got), -ENOENT);
	metrics_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_gauges_and_labels),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
