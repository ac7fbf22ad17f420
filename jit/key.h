#ifndef JIT_KEY_H
#define JIT_KEY_H

#include <stdbool.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 45	/* 44 characters and the NUL */
#define WG_KEY_HEX_LEN 65

/* Decoders return 0 or -EINVAL; they accept exactly one key and nothing more. */
int key_from_base64(uint8_t key[WG_KEY_LEN], const char *base64);
int key_from_hex(uint8_t key[WG_KEY_LEN], const char *hex);
void key_to_base64(char out[WG_KEY_B64_LEN], const uint8_t key[WG_KEY_LEN]);
void key_to_hex(char out[WG_KEY_HEX_LEN], const uint8_t key[WG_KEY_LEN]);
bool key_is_zero(const uint8_t key[WG_KEY_LEN]);

/* A new private key from libsodium's generator, clamped as `wg genkey` does. */
void key_generate_private(uint8_t key[WG_KEY_LEN]);
/* The public key of a private key (`wg pubkey`). -EINVAL for a weak key. */
int key_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]);

/* Reads a base64 key from a file (as `wg genkey` writes it). -errno or -EINVAL. */
int key_read_file(uint8_t key[WG_KEY_LEN], const char *path);

#endif
