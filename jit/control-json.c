#include "jit/control.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* control_parse_peer, in a file of its own so that the fuzzer links jansson and nothing else. */

static int json_to_peer(json_t *root, const uint8_t key[WG_KEY_LEN], struct jit_peer *out,
			unsigned *ttl, char *err, size_t errlen)
{
	json_t *v, *item;
	size_t i;
	uint8_t got[WG_KEY_LEN];

	if (!json_is_object(root)) {
		snprintf(err, errlen, "the reply is not a JSON object");
		return -EINVAL;
	}
	v = json_object_get(root, "public_key");
	if (!json_is_string(v) || key_from_base64(got, json_string_value(v)) < 0) {
		snprintf(err, errlen, "public_key is missing or not a base64 key");
		return -EINVAL;
	}
	if (memcmp(got, key, WG_KEY_LEN)) {
		snprintf(err, errlen, "public_key is not the key asked for");
		return -EINVAL;
	}
	memcpy(out->public_key, got, WG_KEY_LEN);

	v = json_object_get(root, "allowed_ips");
	if (!json_is_array(v)) {
		snprintf(err, errlen, "allowed_ips is missing or not an array");
		return -EINVAL;
	}
	json_array_foreach(v, i, item) {
		struct wg_allowedip ip;

		if (!json_is_string(item) || allowedip_parse(json_string_value(item), &ip) < 0) {
			snprintf(err, errlen, "allowed_ips[%zu] is not a valid CIDR", i);
			return -EINVAL;
		}
		if (jit_peer_add_allowedip(out, &ip) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}

	v = json_object_get(root, "persistent_keepalive");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 65535) {
			snprintf(err, errlen, "persistent_keepalive is not an integer in 0..65535");
			return -EINVAL;
		}
		out->has_keepalive = true;
		out->persistent_keepalive = (uint16_t)json_integer_value(v);
	}

	v = json_object_get(root, "preshared_key");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || key_from_base64(out->preshared_key, json_string_value(v)) < 0) {
			snprintf(err, errlen, "preshared_key is not a base64 key");
			return -EINVAL;
		}
		out->has_preshared_key = true;
	}

	*ttl = 0;
	v = json_object_get(root, "ttl");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > CONTROL_TTL_MAX) {
			snprintf(err, errlen, "ttl is not an integer in 0..%d", CONTROL_TTL_MAX);
			return -EINVAL;
		}
		*ttl = (unsigned)json_integer_value(v);
	}
	return 0;
}

int control_parse_peer(const char *json, size_t len, const uint8_t key[WG_KEY_LEN],
		       struct jit_peer *out, unsigned *ttl, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(out, 0, sizeof(*out));
	*ttl = 0;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "bad JSON at line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
		return -EINVAL;
	}
	ret = json_to_peer(root, key, out, ttl, err, errlen);
	json_decref(root);
	if (ret < 0) {
		jit_peer_clear(out);
		*ttl = 0;
	}
	return ret;
}
