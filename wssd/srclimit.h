#ifndef WSSD_SRCLIMIT_H
#define WSSD_SRCLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A token bucket per source, in a table of fixed size: what anyone on the
 * internet can fill must not grow with what they send. Sources are 16-byte
 * keys (an address, or an IPv6 /64); the table is sets of 4 buckets chosen
 * by a keyed hash (SipHash, a random key), so no sender can aim at another
 * source's set. A source not in its set takes the bucket used least
 * recently: a flooding source keeps its own (it is always the newest), and
 * one that was pushed out comes back with a full bucket, which is what an
 * idle bucket holds anyway. One thread.
 */
#define SRCLIMIT_KEY_LEN 16

struct srclimit;

/* entries: rounded up to a power of two, at least 4. -ENOMEM, -EINVAL. */
int srclimit_new(struct srclimit **out, size_t entries, unsigned rate, unsigned burst);
void srclimit_free(struct srclimit *s);

/* A new rate and burst for every source, from its next take. -EINVAL as srclimit_new. */
int srclimit_set_rate(struct srclimit *s, unsigned rate, unsigned burst);

/* Takes a token from key's bucket at now (clock_usec): true, or false when it is empty. */
bool srclimit_take(struct srclimit *s, const uint8_t key[SRCLIMIT_KEY_LEN], int64_t now);

#endif
