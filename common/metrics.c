#include "common/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_GAUGE_FN, METRIC_HISTOGRAM };

struct metric {
	struct metric *next;
	enum metric_type type;
	char *name;
	char *labels;
	char *help;
	int64_t value;
	double (*fn)(void *arg);
	void *arg;
	struct metric_histogram *hist;
};

struct metric_histogram {
	double *bounds;
	unsigned n_bounds;
	uint64_t *buckets;	/* n_bounds + 1, not cumulative */
	uint64_t sum_bits;	/* a double, updated with compare-and-swap */
	uint64_t count;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metric *registry_head, **registry_tail = &registry_head;

static struct metric *find_locked(const char *name, const char *labels)
{
	for (struct metric *m = registry_head; m; m = m->next)
		if (!strcmp(m->name, name) && !strcmp(m->labels, labels))
			return m;
	return NULL;
}

static struct metric *add(enum metric_type type, const char *name, const char *labels,
			  const char *help)
{
	struct metric *m;

	if (!labels)
		labels = "";
	pthread_mutex_lock(&registry_lock);
	m = find_locked(name, labels);
	if (m)
		goto out;
	m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	m->type = type;
	m->name = strdup(name);
	m->labels = strdup(labels);
	m->help = strdup(help ? help : "");
	if (!m->name || !m->labels || !m->help)
		abort();
	*registry_tail = m;
	registry_tail = &m->next;
out:
	pthread_mutex_unlock(&registry_lock);
	return m;
}

struct metric *metric_counter(const char *name, const char *labels, const char *help)
{
	return add(METRIC_COUNTER, name, labels, help);
}

struct metric *metric_gauge(const char *name, const char *labels, const char *help)
{
	return add(METRIC_GAUGE, name, labels, help);
}

struct metric *metric_gauge_fn(const char *name, const char *help,
			       double (*fn)(void *arg), void *arg)
{
	struct metric *m = add(METRIC_GAUGE_FN, name, "", help);

	pthread_mutex_lock(&registry_lock);
	m->fn = fn;
	m->arg = arg;
	pthread_mutex_unlock(&registry_lock);
	return m;
}

struct metric_histogram *metric_histogram(const char *name, const char *help,
					  const double *bounds, unsigned n_bounds)
{
	struct metric *m = add(METRIC_HISTOGRAM, name, "", help);
	struct metric_histogram *h;

	pthread_mutex_lock(&registry_lock);
	if (m->hist)
		goto out;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->bounds = calloc(n_bounds ? n_bounds : 1, sizeof(double))) ||
	    !(h->buckets = calloc(n_bounds + 1, sizeof(uint64_t))))
		abort();
	memcpy(h->bounds, bounds, n_bounds * sizeof(double));
	h->n_bounds = n_bounds;
	m->hist = h;
out:
	pthread_mutex_unlock(&registry_lock);
	return m->hist;
}

void metric_add(struct metric *m, uint64_t n)
{
	__atomic_fetch_add(&m->value, (int64_t)n, __ATOMIC_RELAXED);
}

void metric_inc(struct metric *m)
{
	metric_add(m, 1);
}

void metric_set(struct metric *m, int64_t v)
{
	__atomic_store_n(&m->value, v, __ATOMIC_RELAXED);
}

int64_t metric_value(const struct metric *m)
{
	return __atomic_load_n(&m->value, __ATOMIC_RELAXED);
}

void metric_observe(struct metric_histogram *h, double v)
{
	unsigned i = 0;
	uint64_t old, new;
	double sum;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	__atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);
	old = __atomic_load_n(&h->sum_bits, __ATOMIC_RELAXED);
	do {
		memcpy(&sum, &old, sizeof(sum));
		sum += v;
		memcpy(&new, &sum, sizeof(new));
	} while (!__atomic_compare_exchange_n(&h->sum_bits, &old, new, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
}

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_GAUGE_FN] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

static void write_histogram(FILE *out, const struct metric *m)
{
	const struct metric_histogram *h = m->hist;
	uint64_t cumulative = 0, bits = __atomic_load_n(&h->sum_bits, __ATOMIC_RELAXED);
	double sum;

	for (unsigned i = 0; i <= h->n_bounds; i++) {
		cumulative += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
		if (i < h->n_bounds)
			fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", m->name, h->bounds[i],
				(unsigned long long)cumulative);
		else
			fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n", m->name,
				(unsigned long long)cumulative);
	}
	memcpy(&sum, &bits, sizeof(sum));
	fprintf(out, "%s_sum %.9g\n%s_count %llu\n", m->name, sum, m->name,
		(unsigned long long)__atomic_load_n(&h->count, __ATOMIC_RELAXED));
}

static double series_value(const struct metric *m)
{
	switch (m->type) {
	case METRIC_COUNTER:
	case METRIC_GAUGE:
		return (double)metric_value(m);
	case METRIC_GAUGE_FN:
		return m->fn ? m->fn(m->arg) : 0.0;
	case METRIC_HISTOGRAM:
		return m->hist ? (double)__atomic_load_n(&m->hist->count, __ATOMIC_RELAXED) : 0.0;
	}
	return 0.0;
}

static void write_series(FILE *out, const struct metric *m)
{
	char lb[512] = "";

	if (m->labels[0])
		snprintf(lb, sizeof(lb), "{%s}", m->labels);
	switch (m->type) {
	case METRIC_COUNTER:
	case METRIC_GAUGE:
		fprintf(out, "%s%s %lld\n", m->name, lb, (long long)metric_value(m));
		break;
	case METRIC_GAUGE_FN:
		fprintf(out, "%s%s %.17g\n", m->name, lb, series_value(m));
		break;
	case METRIC_HISTOGRAM:
		if (m->hist)
			write_histogram(out, m);
		break;
	}
}

int metric_lookup(const char *name, const char *labels, double *value)
{
	int ret = -ENOENT;

	*value = 0.0;
	pthread_mutex_lock(&registry_lock);
	for (struct metric *m = registry_head; m; m = m->next) {
		if (strcmp(m->name, name) || (labels && strcmp(m->labels, labels)))
			continue;
		*value += series_value(m);
		ret = 0;
	}
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

void metrics_write(FILE *out)
{
	pthread_mutex_lock(&registry_lock);
	for (struct metric *m = registry_head; m; m = m->next) {
		int seen = 0;

		for (struct metric *p = registry_head; p != m; p = p->next)
			if (!strcmp(p->name, m->name))
				seen = 1;
		if (seen)
			continue;
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
			type_names[m->type]);
		for (struct metric *s = m; s; s = s->next)
			if (!strcmp(s->name, m->name))
				write_series(out, s);
	}
	pthread_mutex_unlock(&registry_lock);
}

void metrics_free(void)
{
	struct metric *m, *next;

	pthread_mutex_lock(&registry_lock);
	for (m = registry_head; m; m = next) {
		next = m->next;
		if (m->hist) {
			free(m->hist->bounds);
			free(m->hist->buckets);
			free(m->hist);
		}
		free(m->name);
		free(m->labels);
		free(m->help);
		free(m);
	}
	registry_head = NULL;
	registry_tail = &registry_head;
	pthread_mutex_unlock(&registry_lock);
}
