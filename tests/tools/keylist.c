#include "tests/tools/keylist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int keylist_read(const char *path, uint8_t (**keys)[WG_KEY_LEN], unsigned *n)
{
	uint8_t (*k)[WG_KEY_LEN] = NULL;
	unsigned cap = 0;
	char line[128];
	int ret = 0;
	FILE *f = fopen(path, "re");

	*n = 0;
	if (!f)
		return -errno;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (*n == cap) {
			uint8_t (*grown)[WG_KEY_LEN];

			cap = cap ? cap * 2 : 64;
			grown = realloc(k, cap * sizeof(*k));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			k = grown;
		}
		if (key_from_base64(k[*n], line) < 0)
			ret = -EINVAL;
		else
			(*n)++;
	}
	fclose(f);
	if (ret == 0 && !*n)
		ret = -EINVAL;
	if (ret < 0) {
		free(k);
		*n = 0;
		return ret;
	}
	*keys = k;
	return 0;
}
