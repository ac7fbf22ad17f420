/*
 * Memory back to the system after many connections end together (a
 * slowloris that stops, clients leaving at once): glibc keeps a freed heap
 * for reuse, and without this wssd would stay at its peak until it
 * restarts. Once the connections held on every loop (pending and
 * sessions) have fallen to half their peak, and by at least TRIM_DROP,
 * malloc_trim() runs on the loop that saw it a second later (lws frees a
 * connection's wsi after it has closed) if they are still that few, at
 * most once every TRIM_INTERVAL.
 */
#include "config.h"
#include "transport/internal.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <unistd.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#define TRIM_DROP 512
#define TRIM_DELAY_US (1 * LWS_US_PER_SEC)
#define TRIM_INTERVAL_US (10 * LWS_US_PER_SEC)

static unsigned held(const struct transport_shared *sh)
{
	return atomic_load(&sh->sessions) + atomic_load(&sh->pending);
}

void trim_grew(struct transport *t)
{
	struct transport_shared *sh = t->sh;
	unsigned now = held(sh), peak = atomic_load(&sh->trim_peak);

	while (now > peak && !atomic_compare_exchange_weak(&sh->trim_peak, &peak, now))
		;
}

#ifdef HAVE_MALLOC_TRIM
static long rss_kib(void)
{
	long pages = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%*d %ld", &pages) != 1)
			pages = -1;
		fclose(f);
	}
	return pages < 0 ? -1 : pages * (sysconf(_SC_PAGESIZE) / 1024);
}

static void trim_now(lws_sorted_usec_list_t *sul)
{
	struct transport *t = lws_container_of(sul, struct transport, sul_trim);
	struct transport_shared *sh = t->sh;
	int64_t now = clock_usec(), next = atomic_load(&sh->trim_next);
	unsigned peak;
	long before;

	if (now < next) {
		lws_sul_schedule(t->ctx, 0, &t->sul_trim, trim_now, next - now);
		return;
	}
	peak = atomic_load(&sh->trim_peak);
	if (held(sh) > peak / 2) {
		/* filled again meanwhile: the memory is in use */
		atomic_store(&sh->trim_scheduled, false);
		return;
	}
	atomic_store(&sh->trim_peak, held(sh));
	before = rss_kib();
	malloc_trim(0);
	log_info("event=memory_trimmed peak=%u held=%u rss_before_kib=%ld rss_kib=%ld ms=%.1f",
		 peak, held(sh), before, rss_kib(), (double)(clock_usec() - now) / 1000);
	atomic_store(&sh->trim_next, clock_usec() + TRIM_INTERVAL_US);
	atomic_store(&sh->trim_scheduled, false);
}
#endif

void trim_shrank(struct transport *t)
{
#ifdef HAVE_MALLOC_TRIM
	struct transport_shared *sh = t->sh;
	unsigned now = held(sh), peak = atomic_load(&sh->trim_peak);

	if (peak < now + TRIM_DROP || now > peak / 2 || atomic_exchange(&sh->trim_scheduled, true))
		return;
	lws_sul_schedule(t->ctx, 0, &t->sul_trim, trim_now, TRIM_DELAY_US);
#else
	(void)t;
#endif
}

/* The loop ends: a trim it had scheduled may run on another. */
void trim_close(struct transport *t)
{
	if (lws_dll2_is_detached(&t->sul_trim.list))
		return;
	lws_sul_cancel(&t->sul_trim);
	atomic_store(&t->sh->trim_scheduled, false);
}
