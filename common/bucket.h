#ifndef COMMON_BUCKET_H
#define COMMON_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A token bucket: refills at rate tokens a second up to burst, counted in
 * thousandths of a token so that slow rates refill smoothly. A zeroed
 * bucket has never been used and starts full. rate and burst at most
 * BUCKET_MAX.
 */
#define BUCKET_MAX 1000000

struct bucket {
	int64_t at;		/* last refill, monotonic microseconds; 0: never */
	uint32_t milli;		/* thousandths of a token */
};

/* The burst wssd gives a rate of initiations: a second's worth, at least 3. */
static inline unsigned bucket_burst(unsigned rate)
{
	return rate > 3 ? rate : 3;
}

/* Takes one token at now (clock_usec): true, or false when there is none. */
bool bucket_take(struct bucket *b, unsigned rate, unsigned burst, int64_t now);

#endif
