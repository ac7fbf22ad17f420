/* The device state a get answers, built by both backends. */
#include "jit/wgdev-impl.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void wgdev_state_free(struct wgdev_state *st)
{
	wgdev_peers_free(st->peers, st->n_peers);
	sodium_memzero(st, sizeof(*st));
}

struct wgdev_peer_info *wgdev_state_add_peer(struct wgdev_state *st)
{
	if (st->n_peers == st->cap_peers) {
		size_t cap = st->cap_peers ? st->cap_peers * 2 : 16;
		struct wgdev_peer_info *grown = realloc(st->peers, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		st->peers = grown;
		st->cap_peers = cap;
	}
	memset(&st->peers[st->n_peers], 0, sizeof(st->peers[0]));
	return &st->peers[st->n_peers++];
}

int wgdev_peer_add_allowedip(struct wgdev_peer_info *peer, const struct wg_allowedip *ip)
{
	struct wg_allowedip *grown;
	size_t n = peer->n_allowedips;

	/* grows in powers of two: a peer with many allowed IPs stays linear */
	if ((n & (n - 1)) == 0) {
		grown = realloc(peer->allowedips, (n ? n * 2 : 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		peer->allowedips = grown;
	}
	peer->allowedips[peer->n_allowedips++] = *ip;
	return 0;
}

void wgdev_peers_free(struct wgdev_peer_info *peers, size_t n)
{
	if (!peers)
		return;
	for (size_t i = 0; i < n; i++)
		free(peers[i].allowedips);
	sodium_memzero(peers, n * sizeof(*peers));
	free(peers);
}
