#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jit/wgdev-uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The answer to get=1 as a daemon might send it; and the set answer parser. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wgdev_state st;
	enum uapi_flavor flavor;

	if (uapi_parse_get((const char *)data, size, 1700000000, &st, &flavor) == 0) {
		for (size_t i = 0; i < st.n_peers; i++) {
			const struct wgdev_peer_info *p = &st.peers[i];

			if (p->n_allowedips && !p->allowedips)
				__builtin_trap();
			for (size_t j = 0; j < p->n_allowedips; j++) {
				const struct wg_allowedip *ip = &p->allowedips[j];

				if (ip->family == AF_INET ? ip->cidr > 32 : ip->cidr > 128)
					__builtin_trap();
			}
		}
		wgdev_state_free(&st);
	}
	uapi_parse_errno((const char *)data, size);
	return 0;
}
