#include "jit/keymap.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_EMPTY = 0, SLOT_USED = 1, SLOT_TOMBSTONE = 2 };

/* A slot is the value, the key, then the state byte: values come first so
 * that they keep calloc's alignment when slots are multiples of 16. */
#define SLOT_VALUE(m, i) (&(m)->slots[(i) * (m)->slot_size])
#define SLOT_KEY(m, i) (&(m)->slots[(i) * (m)->slot_size + (m)->value_size])
#define SLOT_STATE(m, i) ((m)->slots[(i) * (m)->slot_size + (m)->value_size + WG_KEY_LEN])

static size_t slot_size_for(size_t value_size)
{
	return (value_size + WG_KEY_LEN + 1 + 15) & ~(size_t)15;
}

int keymap_init(struct keymap *m, size_t value_size)
{
	memset(m, 0, sizeof(*m));
	if (sodium_init() < 0)
		return -EIO;
	m->value_size = value_size;
	m->slot_size = slot_size_for(value_size);
	randombytes_buf(m->hash_key, sizeof(m->hash_key));
	return 0;
}

void keymap_free(struct keymap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = m->tombstones = 0;
}

static size_t bucket(const struct keymap *m, const uint8_t key[WG_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, WG_KEY_LEN, m->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (m->cap - 1));
}

/* The slot holding key, or SIZE_MAX. */
static size_t find(const struct keymap *m, const uint8_t key[WG_KEY_LEN])
{
	if (!m->cap)
		return SIZE_MAX;
	for (size_t i = bucket(m, key), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (SLOT_STATE(m, i) == SLOT_EMPTY)
			return SIZE_MAX;
		if (SLOT_STATE(m, i) == SLOT_USED && !memcmp(SLOT_KEY(m, i), key, WG_KEY_LEN))
			return i;
	}
	return SIZE_MAX;
}

static int resize(struct keymap *m, size_t cap)
{
	struct keymap grown = *m;

	grown.cap = cap;
	grown.count = grown.tombstones = 0;
	grown.slots = calloc(cap, m->slot_size);
	if (!grown.slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (SLOT_STATE(m, i) != SLOT_USED)
			continue;
		for (j = bucket(&grown, SLOT_KEY(m, i)); SLOT_STATE(&grown, j) != SLOT_EMPTY;
		     j = (j + 1) & (cap - 1))
			;
		memcpy(&grown.slots[j * m->slot_size], &m->slots[i * m->slot_size], m->slot_size);
		grown.count++;
	}
	free(m->slots);
	*m = grown;
	return 0;
}

void *keymap_get(const struct keymap *m, const uint8_t key[WG_KEY_LEN])
{
	size_t i = find(m, key);

	return i == SIZE_MAX ? NULL : SLOT_VALUE(m, i);
}

void *keymap_upsert(struct keymap *m, const uint8_t key[WG_KEY_LEN], int *created)
{
	size_t i = find(m, key);

	*created = 0;
	if (i != SIZE_MAX)
		return SLOT_VALUE(m, i);
	/* Keep the load, tombstones included, under 3/4. */
	if ((m->count + m->tombstones + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap ? m->cap : 16;

		while ((m->count + 1) * 2 > cap)
			cap *= 2;
		if (resize(m, cap) < 0)
			return NULL;
	}
	for (i = bucket(m, key); SLOT_STATE(m, i) == SLOT_USED; i = (i + 1) & (m->cap - 1))
		;
	if (SLOT_STATE(m, i) == SLOT_TOMBSTONE)
		m->tombstones--;
	SLOT_STATE(m, i) = SLOT_USED;
	memcpy(SLOT_KEY(m, i), key, WG_KEY_LEN);
	memset(SLOT_VALUE(m, i), 0, m->value_size);
	m->count++;
	*created = 1;
	return SLOT_VALUE(m, i);
}

static void remove_slot(struct keymap *m, size_t i)
{
	SLOT_STATE(m, i) = SLOT_TOMBSTONE;
	m->count--;
	m->tombstones++;
}

int keymap_remove(struct keymap *m, const uint8_t key[WG_KEY_LEN])
{
	size_t i = find(m, key);

	if (i == SIZE_MAX)
		return -ENOENT;
	remove_slot(m, i);
	return 0;
}

size_t keymap_remove_if(struct keymap *m,
			bool (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN], void *value), void *ctx)
{
	size_t removed = 0;

	for (size_t i = 0; i < m->cap; i++) {
		if (SLOT_STATE(m, i) == SLOT_USED && fn(ctx, SLOT_KEY(m, i), SLOT_VALUE(m, i))) {
			remove_slot(m, i);
			removed++;
		}
	}
	return removed;
}

void keymap_foreach(const struct keymap *m,
		    void (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN], void *value), void *ctx)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (SLOT_STATE(m, i) == SLOT_USED)
			fn(ctx, SLOT_KEY(m, i), SLOT_VALUE(m, i));
	}
}
