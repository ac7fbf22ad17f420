#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One line per event on stderr: "level=L " followed by the caller's
 * key=value fields. Callers start with "event=NAME". log_warn appends the
 * current errno as err="...".
 */
enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_init(enum log_level min_level, bool timestamps);
void log_set_level(enum log_level min_level);
int log_level_parse(const char *name, enum log_level *out);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

enum log_level log_get_level(void);

/*
 * One call site's budget of lines: at most LOG_LIMIT_BURST lines per
 * LOG_LIMIT_SECONDS; the rest are counted, and the next line written
 * carries suppressed=N. Zero-initialised; any thread may use one.
 */
#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_SECONDS 5

struct log_limit {
	int64_t window_start;	/* monotonic microseconds */
	unsigned lines;		/* written in this window */
	unsigned suppressed;	/* not written since the last line */
};

void log_limited(struct log_limit *lim, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Quotes a value for a key=value field when it needs it; returns buf. */
const char *log_quote(char *buf, unsigned long size, const char *value);

#endif
