#include "tests/unit/test_sys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

int test_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		return -1;
	}
	return 0;
}

uint64_t test_metric(const char *series)
{
	char *text = NULL, *at;
	size_t len = 0, n = strlen(series);
	FILE *f = open_memstream(&text, &len);
	uint64_t v = 0;

	if (!f)
		abort();
	metrics_write(f);
	fclose(f);
	for (at = text; (at = strstr(at, series)); at += n) {
		if ((at == text || at[-1] == '\n') && at[n] == ' ') {
			v = strtoull(at + n + 1, NULL, 10);
			break;
		}
	}
	free(text);
	return v;
}
