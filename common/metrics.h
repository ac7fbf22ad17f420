#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A process-wide registry of Prometheus series. Registration happens at
 * start-up (it allocates and takes a lock); updates are lock-free atomics,
 * so any thread may count. A series is a name plus an optional label set
 * written as Prometheus does, e.g. "reason=\"send_queue_full\"". Series
 * that share a name share one HELP/TYPE header.
 */
struct metric;
struct metric_histogram;

/* Returns the series, creating it once; the same name+labels returns the same series. */
struct metric *metric_counter(const char *name, const char *labels, const char *help);
struct metric *metric_gauge(const char *name, const char *labels, const char *help);

/* A gauge whose value is computed when /metrics is read. */
struct metric *metric_gauge_fn(const char *name, const char *help,
			       double (*fn)(void *arg), void *arg);

/* bounds: ascending upper bounds (the +Inf bucket is implicit). */
struct metric_histogram *metric_histogram(const char *name, const char *help,
					  const double *bounds, unsigned n_bounds);

void metric_add(struct metric *m, uint64_t n);
void metric_inc(struct metric *m);
void metric_set(struct metric *m, int64_t v);
int64_t metric_value(const struct metric *m);
void metric_observe(struct metric_histogram *h, double v);

/*
 * Reads a series by name and labels (as registered), or with labels NULL
 * the sum of every series of that name; a histogram reads as its count of
 * observations. -ENOENT when no such series is registered.
 */
int metric_lookup(const char *name, const char *labels, double *value);

/* Writes every series in the text exposition format 0.0.4. */
void metrics_write(FILE *out);

/* Frees the registry (at exit, for leak checkers). */
void metrics_free(void);

#endif
