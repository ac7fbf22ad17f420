#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wssd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct wssd_config cfg;
	char err[512];
	FILE *f;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/wssd-fuzz-config.%d", (int)getpid());
	}
	f = fopen(path, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	config_defaults(&cfg);
	if (config_load(&cfg, path, err, sizeof(err)) == 0)
		config_finish(&cfg, err, sizeof(err));
	if (!memchr(err, '\0', sizeof(err)))
		__builtin_trap();
	return 0;
}
