#include "tests/tools/keylist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lines_foreach(const char *path, int (*fn)(void *ctx, const char *line), void *ctx)
{
	char line[256];
	int ret = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			ret = fn(ctx, line);
	}
	fclose(f);
	return ret;
}

struct keys {
	uint8_t (*k)[WG_KEY_LEN];
	unsigned n, cap;
};

static int add_key(void *ctx, const char *line)
{
	struct keys *ks = ctx;

	if (ks->n == ks->cap) {
		unsigned cap = ks->cap ? ks->cap * 2 : 64;
		uint8_t (*grown)[WG_KEY_LEN] = realloc(ks->k, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		ks->k = grown;
		ks->cap = cap;
	}
	if (key_from_base64(ks->k[ks->n], line) < 0)
		return -EINVAL;
	ks->n++;
	return 0;
}

int keylist_read(const char *path, uint8_t (**keys)[WG_KEY_LEN], unsigned *n)
{
	struct keys ks = { 0 };
	int ret = lines_foreach(path, add_key, &ks);

	if (ret == 0 && !ks.n)
		ret = -EINVAL;
	if (ret < 0) {
		free(ks.k);
		*n = 0;
		return ret;
	}
	*keys = ks.k;
	*n = ks.n;
	return 0;
}
