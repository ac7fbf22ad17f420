#include "common/bucket.h"

bool bucket_take(struct bucket *b, unsigned rate, unsigned burst, int64_t now)
{
	uint64_t cap = (uint64_t)burst * 1000;

	if (!b->at || now < b->at) {
		b->milli = (uint32_t)cap;
	} else {
		/* BUCKET_MAX tokens at one a second refill in 10^12 us: longer cannot overflow */
		uint64_t us = (uint64_t)(now - b->at) < 1000000000000ULL ? (uint64_t)(now - b->at)
									 : 1000000000000ULL;
		/* microseconds times tokens a second, over 1000: thousandths */
		uint64_t t = b->milli + us * rate / 1000;

		b->milli = (uint32_t)(t < cap ? t : cap);
	}
	b->at = now ? now : 1;
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}
