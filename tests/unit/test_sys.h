#ifndef TESTS_UNIT_TEST_SYS_H
#define TESTS_UNIT_TEST_SYS_H

#include <stdint.h>

/* Runs a shell command (ip, ...); 0, or -1 after printing it. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One sample of the process's /metrics text ("name{labels}"); 0 when absent. */
uint64_t test_metric(const char *series);

#endif
