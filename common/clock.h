#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds: for deadlines and durations, never dates. */
int64_t clock_usec(void);

static inline int64_t clock_msec(void)
{
	return clock_usec() / 1000;
}

#endif
