#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jit/key.h"
#include "jit/noise.h"
#include "wssd/wssctl.h"

/* A 148-byte initiation is 296 hex digits; leave room for whitespace. */
#define INPUT_MAX 4096

static const char *const hints[NOISE_RESULT_COUNT] = {
	[NOISE_ERR_LENGTH] = "an initiation is exactly 148 bytes",
	[NOISE_ERR_TYPE] = "not a handshake initiation (type 1)",
	[NOISE_ERR_MAC1] = "mac1 does not verify: another interface's key, or corrupted",
	[NOISE_ERR_EPHEMERAL] = "the ephemeral key is a low-order point",
	[NOISE_ERR_STATIC] = "the initiator's static key does not decrypt",
	[NOISE_ERR_STATIC_KEY] = "the initiator's static key is a low-order point",
	[NOISE_ERR_TIMESTAMP] = "the timestamp does not decrypt",
	[NOISE_ERR_NOMEM] = "out of memory",
};

#define USAGE "wssctl [--json] decode-initiation --private-key FILE [INITIATION]"

static int usage_error(const char *problem, const char *arg)
{
	fprintf(stderr, "wssctl: decode-initiation: %s%s; usage: " USAGE "\n", problem, arg);
	return 2;
}

/* Reads at most INPUT_MAX bytes; -EFBIG when there is more. */
static int read_input(FILE *f, uint8_t *buf, size_t *len)
{
	size_t n = fread(buf, 1, INPUT_MAX, f);

	if (ferror(f))
		return -EIO;
	if (n == INPUT_MAX && fgetc(f) != EOF)
		return -EFBIG;
	*len = n;
	return 0;
}

/*
 * Text (only printable ASCII and whitespace) must be hex; anything else is
 * raw bytes. A raw initiation starts with 0x01, so it is never text.
 */
static int decode_input(uint8_t *buf, size_t *len)
{
	char hex[INPUT_MAX + 1];
	size_t n = 0, out_len = 0;

	for (size_t i = 0; i < *len; i++) {
		if (isspace(buf[i]))
			continue;
		if (!isprint(buf[i]))
			return 0;
		hex[n++] = (char)buf[i];
	}
	hex[n] = '\0';
	if (n % 2 || sodium_hex2bin(buf, INPUT_MAX, hex, n, NULL, &out_len, NULL) < 0 ||
	    out_len != n / 2)
		return -EINVAL;
	*len = out_len;
	return 0;
}

static void print_result(const struct wssctl_options *opts, const uint8_t *msg,
			 const uint8_t key[WG_KEY_LEN], const uint8_t ts[WG_TIMESTAMP_LEN])
{
	char b64[WG_KEY_B64_LEN], iso[NOISE_TIMESTAMP_ISO_LEN], ts_hex[2 * WG_TIMESTAMP_LEN + 1];
	uint32_t sender = (uint32_t)msg[4] | (uint32_t)msg[5] << 8 | (uint32_t)msg[6] << 16 |
			  (uint32_t)msg[7] << 24;
	int have_iso;

	key_to_base64(b64, key);
	sodium_bin2hex(ts_hex, sizeof(ts_hex), ts, WG_TIMESTAMP_LEN);
	have_iso = noise_timestamp_iso(iso, ts) == 0;
	if (opts->json) {
		printf("{\"initiator\":\"%s\",\"sender_index\":%u,\"timestamp\":", b64, sender);
		if (have_iso)
			printf("\"%s\"", iso);
		else
			printf("null");
		printf(",\"tai64n\":\"%s\"}\n", ts_hex);
	} else {
		printf("initiator=%s\nsender_index=%u\ntimestamp=%s\ntai64n=%s\n", b64, sender,
		       have_iso ? iso : "invalid", ts_hex);
	}
}

int wssctl_decode_initiation(const struct wssctl_options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "private-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t buf[INPUT_MAX], key[WG_KEY_LEN], initiator[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	struct noise_responder *r = NULL;
	const char *key_path = NULL, *input = "-";
	enum noise_result res;
	size_t len = 0;
	FILE *f;
	int c, ret = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_path = optarg;
			break;
		case 'h':
			printf("usage: " USAGE "\n");
			return 0;
		case ':':
			return usage_error("missing argument for ", argv[optind - 1]);
		default:
			return usage_error("unknown option ", argv[optind - 1]);
		}
	}
	if (!key_path)
		return usage_error("--private-key is required", "");
	if (argc - optind > 1)
		return usage_error("more than one input: ", argv[optind + 1]);
	if (optind < argc)
		input = argv[optind];

	c = key_read_file(key, key_path);
	if (c < 0) {
		fprintf(stderr, "wssctl: decode-initiation: %s: %s\n", key_path,
			c == -EINVAL ? "not a base64 WireGuard private key" : strerror(-c));
		goto out;
	}
	c = noise_responder_new_cache(&r, key, 0);
	if (c < 0) {
		fprintf(stderr, "wssctl: decode-initiation: %s: %s\n", key_path,
			c == -EINVAL ? "the private key is all zero" : strerror(-c));
		goto out;
	}

	f = strcmp(input, "-") ? fopen(input, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "wssctl: decode-initiation: %s: %s\n", input, strerror(errno));
		goto out;
	}
	c = read_input(f, buf, &len);
	if (f != stdin)
		fclose(f);
	if (c == 0)
		c = decode_input(buf, &len);
	if (c < 0) {
		fprintf(stderr, "wssctl: decode-initiation: %s: %s\n", input,
			c == -EFBIG ? "more than 4096 bytes: not an initiation" :
			c == -EINVAL ? "text that is not hex: not an initiation" : strerror(-c));
		goto out;
	}

	res = noise_unwrap(r, buf, len, initiator, ts);
	if (res == NOISE_ERR_LENGTH) {
		fprintf(stderr, "wssctl: decode-initiation: %s: rejected (%s): %zu bytes, %s\n",
			input, noise_result_name(res), len, hints[res]);
		goto out;
	}
	if (res != NOISE_OK) {
		fprintf(stderr, "wssctl: decode-initiation: %s: rejected (%s): %s\n", input,
			noise_result_name(res), hints[res]);
		goto out;
	}
	print_result(opts, buf, initiator, ts);
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	noise_responder_free(r);
	return ret;
}
