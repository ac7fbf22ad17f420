#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jit/wgdev-netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A dump as received: the first byte says where the input is cut into two
 * receives. Each receive is copied to its own aligned buffer, as recv gives.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wgnl_dump d;
	size_t cut, parts[2];
	int ret = 1;

	if (size < 1)
		return 0;
	cut = data[0];
	data++;
	size--;
	cut = size ? (cut * 4) % (size + 1) : 0;
	parts[0] = cut;
	parts[1] = size - cut;
	wgnl_dump_init(&d);
	for (int i = 0; i < 2 && ret == 1; i++) {
		void *buf = malloc(parts[i] ? parts[i] : 1);

		if (!buf)
			break;
		memcpy(buf, data, parts[i]);
		ret = wgnl_dump_feed(&d, buf, parts[i], 0, 0);
		free(buf);
		data += parts[i];
	}
	/* after an error the state is only freed */
	for (size_t i = 0; ret >= 0 && i < d.st.n_peers; i++) {
		const struct wgdev_peer_info *p = &d.st.peers[i];

		/* merging leaves no two neighbours with the same key */
		if (i && !memcmp(p->public_key, d.st.peers[i - 1].public_key, WG_KEY_LEN))
			__builtin_trap();
		for (size_t j = 0; j < p->n_allowedips; j++) {
			const struct wg_allowedip *ip = &p->allowedips[j];

			if (ip->family == AF_INET ? ip->cidr > 32 :
			    ip->family == AF_INET6 ? ip->cidr > 128 : 1)
				__builtin_trap();
		}
	}
	wgnl_dump_free(&d);
	return 0;
}
