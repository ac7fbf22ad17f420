#include "jit/key.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

int key_from_base64(uint8_t key[WG_KEY_LEN], const char *base64)
{
	size_t len = 0;
	const char *end;

	if (strlen(base64) != WG_KEY_B64_LEN - 1 || base64[WG_KEY_B64_LEN - 2] != '=')
		return -EINVAL;
	if (sodium_base642bin(key, WG_KEY_LEN, base64, WG_KEY_B64_LEN - 1, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != WG_KEY_LEN || *end)
		return -EINVAL;
	return 0;
}

int key_from_hex(uint8_t key[WG_KEY_LEN], const char *hex)
{
	size_t len = 0;
	const char *end;

	if (strlen(hex) != WG_KEY_HEX_LEN - 1)
		return -EINVAL;
	if (sodium_hex2bin(key, WG_KEY_LEN, hex, WG_KEY_HEX_LEN - 1, NULL, &len, &end) != 0 ||
	    len != WG_KEY_LEN || *end)
		return -EINVAL;
	return 0;
}

void key_to_base64(char out[WG_KEY_B64_LEN], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(out, WG_KEY_B64_LEN, key, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

void key_to_hex(char out[WG_KEY_HEX_LEN], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2hex(out, WG_KEY_HEX_LEN, key, WG_KEY_LEN);
}

bool key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	return sodium_is_zero(key, WG_KEY_LEN);
}

void key_generate_private(uint8_t key[WG_KEY_LEN])
{
	randombytes_buf(key, WG_KEY_LEN);
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

int key_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	return crypto_scalarmult_base(pub, priv) == 0 ? 0 : -EINVAL;
}

int key_read_file(uint8_t key[WG_KEY_LEN], const char *path)
{
	char buf[WG_KEY_B64_LEN + 8];
	ssize_t n;
	size_t len;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	ret = -errno;
	close(fd);
	if (n < 0)
		return ret;
	len = (size_t)n;
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	ret = key_from_base64(key, buf);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}
