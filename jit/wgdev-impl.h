#ifndef JIT_WGDEV_IMPL_H
#define JIT_WGDEV_IMPL_H

#include <net/if.h>
#include <sys/un.h>

#include "jit/wgdev.h"

struct mnl_socket;

enum uapi_flavor { UAPI_UNKNOWN, UAPI_WIREGUARD_GO, UAPI_BORINGTUN };

/* Shared by the dispatch (wgdev.c) and the backends. */
struct wgdev {
	enum wgdev_backend backend;
	char ifname[IFNAMSIZ];

	/* uapi */
	char uapi_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned timeout_ms;
	enum uapi_flavor flavor;

	/* netlink */
	struct mnl_socket *nl;
	uint16_t family_id;
	uint32_t portid;
	uint32_t seq;
};

/* A device and its peers, as a get answers them (wgdev-state.c). */
struct wgdev_state {
	struct wgdev_device dev;
	struct wgdev_peer_info *peers;
	size_t n_peers;
	size_t cap_peers;
};

void wgdev_state_free(struct wgdev_state *st);
/* Appends a zeroed peer; NULL on ENOMEM. */
struct wgdev_peer_info *wgdev_state_add_peer(struct wgdev_state *st);
int wgdev_peer_add_allowedip(struct wgdev_peer_info *peer, const struct wg_allowedip *ip);

#endif
