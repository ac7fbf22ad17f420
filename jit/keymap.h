#ifndef JIT_KEYMAP_H
#define JIT_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/key.h"

/*
 * A hash table from WireGuard public keys to fixed-size values, open
 * addressing with a keyed hash (SipHash via libsodium): keys are chosen by
 * clients, so the layout must not be predictable. Not thread-safe.
 */
struct keymap {
	uint8_t *slots;
	size_t slot_size;
	size_t value_size;
	size_t cap;
	size_t count;
	size_t tombstones;
	uint8_t hash_key[16];
};

int keymap_init(struct keymap *m, size_t value_size);
void keymap_free(struct keymap *m);

/* The value for key, or NULL. Valid until the next insert or remove. */
void *keymap_get(const struct keymap *m, const uint8_t key[WG_KEY_LEN]);

/*
 * The value for key, inserted zero-filled when absent (*created = 1).
 * NULL when memory runs out.
 */
void *keymap_upsert(struct keymap *m, const uint8_t key[WG_KEY_LEN], int *created);

/* 0, or -ENOENT. */
int keymap_remove(struct keymap *m, const uint8_t key[WG_KEY_LEN]);

/* Removes every entry fn says to; returns how many. */
size_t keymap_remove_if(struct keymap *m,
			bool (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN], void *value), void *ctx);

/* Calls fn for every entry; fn may not insert or remove. */
void keymap_foreach(const struct keymap *m,
		    void (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN], void *value), void *ctx);

#endif
