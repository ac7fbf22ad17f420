/*
 * The device interface over its two backends, the way wireguard-tools'
 * ipc.c sits in front of ipc-linux.h and ipc-uapi.h.
 */
#include "jit/wgdev.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jit/wgdev-impl.h"
#include "jit/wgdev-netlink.h"
#include "jit/wgdev-uapi.h"

#define WGDEV_DEFAULT_TIMEOUT_MS 5000

const char *wgdev_backend_name(enum wgdev_backend backend)
{
	switch (backend) {
	case WGDEV_NETLINK:
		return "netlink";
	case WGDEV_UAPI:
		return "uapi";
	default:
		return "auto";
	}
}

int wgdev_open(struct wgdev **out, enum wgdev_backend backend, const char *ifname,
	       const char *uapi_socket)
{
	struct wgdev *dev;
	struct stat st;
	int ret, n;

	*out = NULL;
	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	memcpy(dev->ifname, ifname, strlen(ifname) + 1);
	dev->timeout_ms = WGDEV_DEFAULT_TIMEOUT_MS;
	if (uapi_socket && uapi_socket[0])
		n = snprintf(dev->uapi_path, sizeof(dev->uapi_path), "%s", uapi_socket);
	else
		n = snprintf(dev->uapi_path, sizeof(dev->uapi_path), "/var/run/wireguard/%s.sock",
			     ifname);
	if (n < 0 || (size_t)n >= sizeof(dev->uapi_path)) {
		ret = -ENAMETOOLONG;
		goto fail;
	}
	if (backend == WGDEV_AUTO)
		backend = stat(dev->uapi_path, &st) == 0 && S_ISSOCK(st.st_mode) ? WGDEV_UAPI :
			  WGDEV_NETLINK;
	dev->backend = backend;
	if (backend == WGDEV_UAPI) {
		if (stat(dev->uapi_path, &st) < 0) {
			ret = -errno;
			goto fail;
		}
		if (!S_ISSOCK(st.st_mode)) {
			ret = -ENOTSOCK;
			goto fail;
		}
	} else if ((ret = wgnl_open(dev))) {
		goto fail;
	}
	*out = dev;
	return 0;
fail:
	free(dev);
	return ret;
}

void wgdev_close(struct wgdev *dev)
{
	if (!dev)
		return;
	wgnl_close(dev);
	free(dev);
}

enum wgdev_backend wgdev_backend(const struct wgdev *dev)
{
	return dev->backend;
}

void wgdev_set_timeout(struct wgdev *dev, unsigned timeout_ms)
{
	dev->timeout_ms = timeout_ms ? timeout_ms : 1;
}

static int get_state(struct wgdev *dev, struct wgdev_state *st)
{
	memset(st, 0, sizeof(*st));
	if (dev->backend == WGDEV_UAPI)
		return uapi_get(dev, st);
	if (!dev->nl) {
		int ret = wgnl_open(dev);

		if (ret)
			return ret;
	}
	return wgnl_get(dev, st);
}

int wgdev_apply(struct wgdev *dev, const struct wgdev_set *set)
{
	if (dev->backend == WGDEV_UAPI)
		return uapi_set(dev, set);
	if (!dev->nl) {
		int ret = wgnl_open(dev);

		if (ret)
			return ret;
	}
	return wgnl_set(dev, set);
}

int wgdev_get_device(struct wgdev *dev, struct wgdev_device *out)
{
	struct wgdev_state st;
	int ret;

	ret = get_state(dev, &st);
	if (ret)
		return ret;
	*out = st.dev;
	wgdev_state_free(&st);
	return 0;
}

int wgdev_set_private_key(struct wgdev *dev, const uint8_t key[WG_KEY_LEN])
{
	struct wgdev_set set = { .flags = WGDEV_SET_PRIVATE_KEY };
	int ret;

	memcpy(set.private_key, key, WG_KEY_LEN);
	ret = wgdev_apply(dev, &set);
	sodium_memzero(&set, sizeof(set));
	return ret;
}

int wgdev_set_listen_port(struct wgdev *dev, uint16_t port)
{
	struct wgdev_set set = { .flags = WGDEV_SET_LISTEN_PORT, .listen_port = port };

	return wgdev_apply(dev, &set);
}

int wgdev_peer_change(struct wgdev_set_peer *out, const struct jit_peer *peer,
		      const struct sockaddr *endpoint, int keepalive)
{
	memset(out, 0, sizeof(*out));
	if (keepalive > 65535)
		return -EINVAL;
	out->flags = WGDEV_PEER_REPLACE_ALLOWEDIPS;
	out->allowedips = peer->allowedips;
	out->n_allowedips = peer->n_allowedips;
	memcpy(out->public_key, peer->public_key, WG_KEY_LEN);
	if (peer->has_preshared_key) {
		memcpy(out->preshared_key, peer->preshared_key, WG_KEY_LEN);
		out->flags |= WGDEV_PEER_HAS_PSK;
	}
	if (endpoint) {
		if (endpoint->sa_family == AF_INET)
			memcpy(&out->endpoint, endpoint, sizeof(struct sockaddr_in));
		else if (endpoint->sa_family == AF_INET6)
			memcpy(&out->endpoint, endpoint, sizeof(struct sockaddr_in6));
		else
			return -EAFNOSUPPORT;
		out->flags |= WGDEV_PEER_HAS_ENDPOINT;
	}
	if (keepalive >= 0) {
		out->persistent_keepalive = (uint16_t)keepalive;
		out->flags |= WGDEV_PEER_HAS_KEEPALIVE;
	}
	return 0;
}

int wgdev_set_peer(struct wgdev *dev, const struct jit_peer *peer,
		   const struct sockaddr *endpoint, int keepalive)
{
	struct wgdev_set_peer p;
	struct wgdev_set set = { .peers = &p, .n_peers = 1 };
	int ret;

	ret = wgdev_peer_change(&p, peer, endpoint, keepalive);
	if (ret == 0)
		ret = wgdev_apply(dev, &set);
	sodium_memzero(&p, sizeof(p));
	return ret;
}

int wgdev_remove_peer(struct wgdev *dev, const uint8_t key[WG_KEY_LEN])
{
	struct wgdev_set_peer p = { .flags = WGDEV_PEER_REMOVE };
	struct wgdev_set set = { .peers = &p, .n_peers = 1 };

	memcpy(p.public_key, key, WG_KEY_LEN);
	return wgdev_apply(dev, &set);
}

int wgdev_list_peers(struct wgdev *dev, struct wgdev_peer_info **out, size_t *n)
{
	struct wgdev_state st;
	int ret;

	*out = NULL;
	*n = 0;
	ret = get_state(dev, &st);
	if (ret)
		return ret;
	*out = st.peers;
	*n = st.n_peers;
	st.peers = NULL;
	st.n_peers = 0;
	wgdev_state_free(&st);
	return 0;
}
