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
 * -errno. A handle is used by one thread at a time (the netlink backend
 * keeps one socket and sequence number per handle): open one per thread.
 */
enum wgdev_backend { WGDEV_AUTO, WGDEV_NETLINK, WGDEV_UAPI };

struct wgdev_device {
	char ifname[16];
	/*
	 * A key whose private half the backend does not reveal (boringtun
	 * gives only the public key) has has_private_key set and private_key
	 * all zero.
	 */
	bool has_private_key;
	uint8_t private_key[WG_KEY_LEN];	/* caller wipes it */
	uint8_t public_key[WG_KEY_LEN];
	uint16_t listen_port;
};

struct wgdev_peer_info {
	uint8_t public_key[WG_KEY_LEN];
	bool has_preshared_key;
	uint8_t preshared_key[WG_KEY_LEN];	/* wgdev_peers_free wipes it */
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
const char *wgdev_backend_name(enum wgdev_backend backend);
/*
 * How every UAPI connection is made, process-wide: by default socket() and
 * connect() on the path; a daemon that dropped its privileges gets them
 * from a helper that kept what the root-owned socket takes. connect
 * returns a connected, non-blocking stream socket or -errno.
 */
void wgdev_set_uapi_connector(int (*connect)(const char *path, void *arg), void *arg);

/* Bounds each UAPI request (connect, send, whole answer); default 5000 ms. */
void wgdev_set_timeout(struct wgdev *dev, unsigned timeout_ms);

int wgdev_get_device(struct wgdev *dev, struct wgdev_device *out);
int wgdev_set_private_key(struct wgdev *dev, const uint8_t key[WG_KEY_LEN]);
int wgdev_set_listen_port(struct wgdev *dev, uint16_t port);

/*
 * Adds or updates the peer, replacing its allowed IPs. endpoint NULL leaves
 * it as it is; keepalive < 0 leaves it, otherwise sets it (0 turns it off).
 * A peer without has_preshared_key keeps the PSK it has (none if new).
 */
int wgdev_set_peer(struct wgdev *dev, const struct jit_peer *peer,
		   const struct sockaddr *endpoint, int keepalive);
int wgdev_remove_peer(struct wgdev *dev, const uint8_t key[WG_KEY_LEN]);
int wgdev_list_peers(struct wgdev *dev, struct wgdev_peer_info **out, size_t *n);
void wgdev_peers_free(struct wgdev_peer_info *peers, size_t n);

/*
 * Several changes in one request (one UAPI exchange, or as few netlink
 * messages as fit): what the single-purpose calls above are made of.
 */
enum {
	WGDEV_SET_PRIVATE_KEY = 1U << 0,
	WGDEV_SET_LISTEN_PORT = 1U << 1,
};
enum {
	WGDEV_PEER_REMOVE = 1U << 0,
	WGDEV_PEER_REPLACE_ALLOWEDIPS = 1U << 1,
	WGDEV_PEER_HAS_PSK = 1U << 2,
	WGDEV_PEER_HAS_ENDPOINT = 1U << 3,
	WGDEV_PEER_HAS_KEEPALIVE = 1U << 4,
	WGDEV_PEER_UPDATE_ONLY = 1U << 5,	/* a peer that is not there is not created */
};

struct wgdev_set_peer {
	uint8_t public_key[WG_KEY_LEN];
	unsigned flags;
	uint8_t preshared_key[WG_KEY_LEN];
	struct sockaddr_storage endpoint;	/* AF_INET or AF_INET6 */
	uint16_t persistent_keepalive;
	const struct wg_allowedip *allowedips;
	size_t n_allowedips;
};

struct wgdev_set {
	unsigned flags;
	uint8_t private_key[WG_KEY_LEN];
	uint16_t listen_port;
	const struct wgdev_set_peer *peers;
	size_t n_peers;
};

int wgdev_apply(struct wgdev *dev, const struct wgdev_set *set);

/* The change wgdev_set_peer makes, for many of them in one wgdev_apply. */
int wgdev_peer_change(struct wgdev_set_peer *out, const struct jit_peer *peer,
		      const struct sockaddr *endpoint, int keepalive);

/*
 * Start-up: makes sure the interface exists and is usable, then opens it.
 * With create, a missing interface is created (a kernel link if the kernel
 * has WireGuard, else the userspace implementation is started: the program
 * in $WG_QUICK_USERSPACE_IMPLEMENTATION, default wireguard-go); a device
 * without a private key gets the one kept in STATE_DIR/IFNAME.key, generated
 * (0600) the first time; a created interface gets the addresses. Then the
 * listen port is set and the link brought up. On error, err says what went wrong in one line.
 */
struct wgdev_setup {
	const char *ifname;
	enum wgdev_backend backend;
	const char *uapi_socket;	/* NULL: the default path */
	bool create;
	uint16_t listen_port;		/* 0: leave it */
	const char *state_dir;
	unsigned wait_ms;		/* for a started daemon's socket; 0: 10 s */
	/* Given to an interface this call creates (not to one that exists). */
	const struct wg_allowedip *addresses;
	size_t n_addresses;
};

int wgdev_ensure(struct wgdev **out, const struct wgdev_setup *setup, char *err, size_t errlen);

#endif
