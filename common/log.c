#include "common/log.h"
#include "common/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every thread reads it; a reload (SIGHUP) sets it on the main one. */
static _Atomic int log_min = LOG_LEVEL_INFO;
static bool log_timestamps;

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

void log_init(enum log_level min_level, bool timestamps)
{
	atomic_store_explicit(&log_min, min_level, memory_order_relaxed);
	log_timestamps = timestamps;
}

void log_set_level(enum log_level min_level)
{
	atomic_store_explicit(&log_min, min_level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_min, memory_order_relaxed);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* One fprintf per line, so lines from several threads never interleave. */
static void __attribute__((format(printf, 3, 0)))
log_vemit(enum log_level level, const char *err, const char *fmt, va_list ap)
{
	char msg[2048], stamp[40] = "", errfield[300] = "";

	if (level < log_get_level())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ldZ ",
			 ts.tv_nsec / 1000000);
	}
	if (err) {
		char quoted[280];

		snprintf(errfield, sizeof(errfield), " err=%s", log_quote(quoted, sizeof(quoted), err));
	}
	fprintf(stderr, "%slevel=%s %s%s\n", stamp, level_names[level], msg, errfield);
}

static void __attribute__((format(printf, 2, 3))) log_emit(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, NULL, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, level, with_errno)                                  \
	void name(const char *fmt, ...)                                  \
	{                                                                \
		int saved = errno;                                       \
		va_list ap;                                              \
		va_start(ap, fmt);                                       \
		log_vemit(level, with_errno ? strerror(saved) : NULL, fmt, ap); \
		va_end(ap);                                              \
		errno = saved;                                           \
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_error, LOG_LEVEL_ERROR, 0)

/* The limits' state: call sites are shared by every event loop's thread. */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

void log_limited(struct log_limit *lim, enum log_level level, const char *fmt, ...)
{
	int64_t now = clock_usec();
	unsigned suppressed;
	char msg[2048];
	va_list ap;

	if (level < log_get_level())
		return;
	pthread_mutex_lock(&limit_lock);
	if (now - lim->window_start >= (int64_t)LOG_LIMIT_SECONDS * 1000000) {
		lim->window_start = now;
		lim->lines = 0;
	}
	if (lim->lines >= LOG_LIMIT_BURST) {
		lim->suppressed++;
		pthread_mutex_unlock(&limit_lock);
		return;
	}
	lim->lines++;
	suppressed = lim->suppressed;
	lim->suppressed = 0;
	pthread_mutex_unlock(&limit_lock);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		log_emit(level, "%s suppressed=%u", msg, suppressed);
	else
		log_emit(level, "%s", msg);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *log_quote(char *buf, unsigned long size, const char *value)
{
	size_t o = 0;
	bool plain = *value != '\0';

	for (const char *p = value; *p; p++) {
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
			plain = false;
	}
	if (plain) {
		snprintf(buf, size, "%s", value);
		return buf;
	}
	if (size < 3) {
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const char *p = value; *p && o + 3 < size; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < ' ' || c == 0x7f) {
			buf[o++] = '?';
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
