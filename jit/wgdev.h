#ifndef JIT_WGDEV_H
#define JIT_WGDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "jit/peer.h"

/*
 * The gateway's WireGuard device, through the kernel's netlink family or the
 * userspace UAPI socket (wireguard-go, boringtun). Functions return 0 or
 * -errno.
 */
enum wgdev_backend { WGDEV_AUTO, WGDEV_NETLINK, WGDEV_UAPI };

struct wgdev_device {
	char ifname[16];
	bool has_private_key;
	uint8_t private_key[WG_KEY_LEN];	/* caller wipes it */
	uint8_t public_key[WG_KEY_LEN];
	uint16_t listen_port;
};

struct wgdev_peer_info {
	uint8_t public_key[WG_KEY_LEN];
	struct sockaddr_storage endpoint;	/* ss_family 0: none */
	uint16_t persistent_keepalive;
	int64_t last_handshake_sec;		/* 0: never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	struct wg_allowedip *allowedips;
	size_t n_allowedips;
};

struct wgdev;

/* uapi_socket NULL: /var/run/wireguard/IFNAME.sock. AUTO: uapi if it exists. */
int wgdev_open(struct wgdev **out, enum wgdev_backend backend, const char *ifname,
	       const char *uapi_socket);
void wgdev_close(struct wgdev *dev);
enum wgdev_backend wgdev_backend(const struct wgdev *dev);

int wgdev_get_device(struct wgdev *dev, struct wgdev_device *out);
int wgdev_set_private_key(struct wgdev *dev, const uint8_t key[WG_KEY_LEN]);
int wgdev_set_listen_port(struct wgdev *dev, uint16_t port);

/*
 * Adds or updates the peer, replacing its allowed IPs. endpoint NULL leaves
 * it as it is; keepalive < 0 leaves it, otherwise sets it (0 turns it off).
 */
int wgdev_set_peer(struct wgdev *dev, const struct jit_peer *peer,
		   const struct sockaddr *endpoint, int keepalive);
int wgdev_remove_peer(struct wgdev *dev, const uint8_t key[WG_KEY_LEN]);
int wgdev_list_peers(struct wgdev *dev, struct wgdev_peer_info **out, size_t *n);
void wgdev_peers_free(struct wgdev_peer_info *peers, size_t n);

#endif
