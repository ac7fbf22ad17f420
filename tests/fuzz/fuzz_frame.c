#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "transport/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int consume(void *ctx, const uint8_t *record, size_t len)
{
	volatile uint8_t sink = 0;

	(void)ctx;
	if (len > FRAME_MAX_RECORD)
		__builtin_trap();
	if (len)
		sink ^= record[0] ^ record[len - 1];
	return 0;
}

/* The first byte chooses where the stream is cut into two calls. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_decoder d;
	size_t cut;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	if (cut > size)
		cut = size;
	frame_decoder_init(&d);
	if (frame_decode(&d, data, cut, consume, NULL) == 0)
		frame_decode(&d, data + cut, size - cut, consume, NULL);
	frame_decoder_free(&d);
	return 0;
}
