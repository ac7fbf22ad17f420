#ifndef TESTS_TOOLS_KEYLIST_H
#define TESTS_TOOLS_KEYLIST_H

#include <stdint.h>

#include "jit/key.h"

/*
 * Files the test tools read a line at a time. A file of base64 WireGuard keys, one a line (blank lines skipped), as the
 * test tools take their clients' private keys. 0 with *keys (free it) and
 * *n > 0, or -errno (-EINVAL: a line that is not a key, or no key at all).
 */
int keylist_read(const char *path, uint8_t (**keys)[WG_KEY_LEN], unsigned *n);

/*
 * The lines of a file to fn, without their line ends, blank ones skipped;
 * a non-zero return of fn stops the walk and is returned. -errno.
 */
int lines_foreach(const char *path, int (*fn)(void *ctx, const char *line), void *ctx);

#endif
