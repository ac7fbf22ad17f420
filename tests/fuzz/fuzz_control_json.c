#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jit/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seeds name this key: 32 bytes of 0x01, "AQEB...AQE=". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_peer peer, zero = { 0 };
	struct wg_allowedip back;
	uint8_t key[WG_KEY_LEN];
	char err[160], ip[ALLOWEDIP_STRLEN];
	unsigned ttl;

	memset(key, 1, sizeof(key));
	if (control_parse_peer((const char *)data, size, key, &peer, &ttl, err, sizeof(err)) < 0) {
		/* A refusal leaves nothing behind and says why. */
		if (memcmp(&peer, &zero, sizeof(peer)) || ttl || !err[0])
			__builtin_trap();
		return 0;
	}
	if (memcmp(peer.public_key, key, WG_KEY_LEN) || ttl > CONTROL_TTL_MAX)
		__builtin_trap();
	for (size_t i = 0; i < peer.n_allowedips; i++) {
		allowedip_format(&peer.allowedips[i], ip, sizeof(ip));
		if (allowedip_parse(ip, &back) < 0 || back.family != peer.allowedips[i].family ||
		    back.cidr != peer.allowedips[i].cidr)
			__builtin_trap();
	}
	jit_peer_clear(&peer);
	return 0;
}
