/*
 * The cross-platform UAPI (PROTOCOL.md §4): "get=1" / "set=1" exchanges of
 * key=value lines on a UNIX stream socket, one connection per request.
 */
#include "jit/wgdev-uapi.h"
#include "common/addr.h"
#include "common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int (*uapi_connector)(const char *path, void *arg);
static void *uapi_connector_arg;

void wgdev_set_uapi_connector(int (*connect)(const char *path, void *arg), void *arg)
{
	uapi_connector = connect;
	uapi_connector_arg = arg;
}

#define UAPI_MAX_ANSWER (64U << 20)
#define UAPI_MAX_LINE 256

/* A growing string that wipes what it held: set requests carry keys. */
struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->p ? sb->p + sb->len : NULL, sb->p ? sb->cap - sb->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->err = -EINVAL;
			return;
		}
		if (sb->p && sb->len + (size_t)n < sb->cap) {
			sb->len += (size_t)n;
			return;
		}
		size_t cap = sb->cap ? sb->cap * 2 : 4096;
		while (cap <= sb->len + (size_t)n)
			cap *= 2;
		char *grown = malloc(cap);
		if (!grown) {
			sb->err = -ENOMEM;
			return;
		}
		if (sb->p) {
			memcpy(grown, sb->p, sb->len);
			sodium_memzero(sb->p, sb->cap);
			free(sb->p);
		}
		sb->p = grown;
		sb->cap = cap;
	}
}

static void sb_free(struct sbuf *sb)
{
	if (sb->p) {
		sodium_memzero(sb->p, sb->cap);
		free(sb->p);
	}
	memset(sb, 0, sizeof(*sb));
}

int uapi_format_set(const struct wgdev_set *set, char **out, size_t *len)
{
	struct sbuf sb = { 0 };
	char hex[WG_KEY_HEX_LEN], ep[ENDPOINT_STRLEN], ip[ALLOWEDIP_STRLEN];

	sb_printf(&sb, "set=1\n");
	if (set->flags & WGDEV_SET_PRIVATE_KEY) {
		key_to_hex(hex, set->private_key);
		sb_printf(&sb, "private_key=%s\n", hex);
	}
	if (set->flags & WGDEV_SET_LISTEN_PORT)
		sb_printf(&sb, "listen_port=%u\n", set->listen_port);
	for (size_t i = 0; i < set->n_peers; i++) {
		const struct wgdev_set_peer *p = &set->peers[i];

		key_to_hex(hex, p->public_key);
		sb_printf(&sb, "public_key=%s\n", hex);
		if (p->flags & WGDEV_PEER_REMOVE) {
			sb_printf(&sb, "remove=true\n");
			continue;
		}
		if (p->flags & WGDEV_PEER_UPDATE_ONLY)
			sb_printf(&sb, "update_only=true\n");
		if (p->flags & WGDEV_PEER_HAS_PSK) {
			key_to_hex(hex, p->preshared_key);
			sb_printf(&sb, "preshared_key=%s\n", hex);
		}
		if (p->flags & WGDEV_PEER_HAS_ENDPOINT) {
			if (p->endpoint.ss_family != AF_INET && p->endpoint.ss_family != AF_INET6) {
				sb.err = sb.err ? sb.err : -EAFNOSUPPORT;
				break;
			}
			endpoint_format(&p->endpoint, ep, sizeof(ep));
			sb_printf(&sb, "endpoint=%s\n", ep);
		}
		if (p->flags & WGDEV_PEER_HAS_KEEPALIVE)
			sb_printf(&sb, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
		if (p->flags & WGDEV_PEER_REPLACE_ALLOWEDIPS)
			sb_printf(&sb, "replace_allowed_ips=true\n");
		for (size_t j = 0; j < p->n_allowedips; j++) {
			allowedip_format(&p->allowedips[j], ip, sizeof(ip));
			sb_printf(&sb, "allowed_ip=%s\n", ip);
		}
	}
	sb_printf(&sb, "\n");
	sodium_memzero(hex, sizeof(hex));
	if (sb.err) {
		int ret = sb.err;

		sb_free(&sb);
		return ret;
	}
	*out = sb.p;
	*len = sb.len;
	return 0;
}

/* Digits only, no sign, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EPROTO;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_errno(const char *s, int *out)
{
	bool neg = *s == '-';
	uint64_t v;

	if (parse_u64(s + neg, 4095, &v))
		return -EPROTO;
	*out = (int)v;
	return 0;
}

static int parse_key(const char *s, uint8_t key[WG_KEY_LEN])
{
	return key_from_hex(key, s) ? -EPROTO : 0;
}

/*
 * Calls line(ctx, key, value) for each line up to the blank line that ends
 * the answer. Returns line's first non-zero result, or -EPROTO if there is
 * no blank line or a line is not key=value.
 */
static int for_each_line(const char *buf, size_t len,
			 int (*line)(void *ctx, const char *key, const char *value), void *ctx)
{
	char copy[UAPI_MAX_LINE];
	size_t pos = 0;
	int ret;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n;
		char *eq;

		if (!nl)
			return -EPROTO;
		n = (size_t)(nl - (buf + pos));
		if (n == 0)
			return 1;
		if (n >= sizeof(copy) || memchr(buf + pos, '\0', n))
			return -EPROTO;
		memcpy(copy, buf + pos, n);
		copy[n] = '\0';
		eq = strchr(copy, '=');
		if (!eq || eq == copy)
			return -EPROTO;
		*eq = '\0';
		ret = line(ctx, copy, eq + 1);
		sodium_memzero(copy, n);
		if (ret)
			return ret;
		pos += n + 1;
	}
	return -EPROTO;
}

struct get_ctx {
	struct wgdev_state *st;
	struct wgdev_peer_info *peer;
	enum uapi_flavor flavor;
	bool have_errno;
	int err;
};

static int get_line(void *opaque, const char *key, const char *value)
{
	struct get_ctx *c = opaque;
	struct wgdev_peer_info *p = c->peer;
	struct wgdev_device *d = &c->st->dev;
	struct wg_allowedip ip;
	uint64_t v;
	int ret;

	if (c->have_errno)
		return -EPROTO;	/* errno is the last line */
	if (!strcmp(key, "errno")) {
		if (parse_errno(value, &c->err))
			return -EPROTO;
		c->have_errno = true;
		return 0;
	}
	if (!strcmp(key, "public_key")) {
		p = wgdev_state_add_peer(c->st);
		if (!p)
			return -ENOMEM;
		c->peer = p;
		return parse_key(value, p->public_key);
	}
	if (!p) {
		if (!strcmp(key, "private_key")) {
			if ((ret = parse_key(value, d->private_key)))
				return ret;
			d->has_private_key = !key_is_zero(d->private_key);
			if (d->has_private_key)
				crypto_scalarmult_base(d->public_key, d->private_key);
			else
				memset(d->public_key, 0, sizeof(d->public_key));
		} else if (!strcmp(key, "own_public_key")) {
			if ((ret = parse_key(value, d->public_key)))
				return ret;
			d->has_private_key = true;
			c->flavor = UAPI_BORINGTUN;
		} else if (!strcmp(key, "listen_port")) {
			if (parse_u64(value, 65535, &v))
				return -EPROTO;
			d->listen_port = (uint16_t)v;
		}
		/* fwmark and keys newer than this code: not needed */
		return 0;
	}
	if (!strcmp(key, "preshared_key")) {
		if ((ret = parse_key(value, p->preshared_key)))
			return ret;
		p->has_preshared_key = !key_is_zero(p->preshared_key);
	} else if (!strcmp(key, "endpoint")) {
		return addr_parse(value, &p->endpoint, NULL) < 0 ? -EPROTO : 0;
	} else if (!strcmp(key, "persistent_keepalive_interval")) {
		if (parse_u64(value, 65535, &v))
			return -EPROTO;
		p->persistent_keepalive = (uint16_t)v;
	} else if (!strcmp(key, "last_handshake_time_sec")) {
		if (parse_u64(value, INT64_MAX, &v))
			return -EPROTO;
		p->last_handshake_sec = (int64_t)v;
	} else if (!strcmp(key, "last_handshake_time_nsec")) {
		if (parse_u64(value, 999999999, &v))
			return -EPROTO;
		p->last_handshake_nsec = (int64_t)v;
	} else if (!strcmp(key, "rx_bytes")) {
		if (parse_u64(value, UINT64_MAX, &p->rx_bytes))
			return -EPROTO;
	} else if (!strcmp(key, "tx_bytes")) {
		if (parse_u64(value, UINT64_MAX, &p->tx_bytes))
			return -EPROTO;
	} else if (!strcmp(key, "allowed_ip")) {
		if (allowedip_parse(value, &ip))
			return -EPROTO;
		return wgdev_peer_add_allowedip(p, &ip);
	}
	/* protocol_version and unknown keys: skipped */
	return 0;
}

int uapi_parse_get(const char *buf, size_t len, int64_t now_sec, struct wgdev_state *out,
		   enum uapi_flavor *flavor)
{
	struct get_ctx c = { .st = out, .flavor = UAPI_WIREGUARD_GO };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = for_each_line(buf, len, get_line, &c);
	if (ret == 1)
		ret = !c.have_errno ? -EPROTO : c.err ? -abs(c.err) : 0;
	if (ret) {
		wgdev_state_free(out);
		return ret;
	}
	if (c.flavor == UAPI_BORINGTUN) {
		/* boringtun reports the time since the handshake, when there was one */
		for (size_t i = 0; i < out->n_peers; i++) {
			struct wgdev_peer_info *p = &out->peers[i];

			if (!p->last_handshake_sec && !p->last_handshake_nsec)
				continue;
			p->last_handshake_sec = now_sec > p->last_handshake_sec ?
						now_sec - p->last_handshake_sec : 1;
			p->last_handshake_nsec = 0;
		}
	}
	if (flavor)
		*flavor = c.flavor;
	return 0;
}

static int errno_line(void *opaque, const char *key, const char *value)
{
	struct get_ctx *c = opaque;

	if (c->have_errno || strcmp(key, "errno"))
		return -EPROTO;
	if (parse_errno(value, &c->err))
		return -EPROTO;
	c->have_errno = true;
	return 0;
}

int uapi_parse_errno(const char *buf, size_t len)
{
	struct get_ctx c = { 0 };
	int ret;

	ret = for_each_line(buf, len, errno_line, &c);
	if (ret != 1)
		return ret ? ret : -EPROTO;
	return !c.have_errno ? -EPROTO : -abs(c.err);
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - clock_msec();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * One exchange: sends req, reads until the blank line that ends the answer.
 * The answer is malloc'ed and NUL-terminated.
 */
static int uapi_exchange(struct wgdev *dev, const char *req, size_t req_len, char **answer,
			 size_t *answer_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int64_t deadline = clock_msec() + dev->timeout_ms;
	char *buf = NULL;
	size_t len = 0, cap = 0, sent = 0;
	int fd, ret;

	if (uapi_connector) {
		fd = uapi_connector(dev->uapi_path, uapi_connector_arg);
		if (fd < 0)
			return fd;
		goto connected;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, dev->uapi_path, sizeof(sun.sun_path));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno != EAGAIN && errno != EINPROGRESS) {
			ret = -errno;
			goto out;
		}
		/* a full backlog: wait for room as far as the deadline */
		while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			if (errno == EISCONN)
				break;
			if (errno != EAGAIN && errno != EINPROGRESS && errno != EALREADY) {
				ret = -errno;
				goto out;
			}
			if (clock_msec() >= deadline) {
				ret = -ETIMEDOUT;
				goto out;
			}
			usleep(10000);
		}
	}
connected:
	while (sent < req_len) {
		ssize_t n = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				ret = -errno;
				goto out;
			}
			if ((ret = wait_fd(fd, POLLOUT, deadline)))
				goto out;
			continue;
		}
		sent += (size_t)n;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 4096 + 1) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *grown;

			if (ncap > UAPI_MAX_ANSWER) {
				ret = -EPROTO;
				goto out;
			}
			grown = realloc(buf, ncap);
			if (!grown) {
				ret = -ENOMEM;
				goto out;
			}
			buf = grown;
			cap = ncap;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				ret = -errno;
				goto out;
			}
			if ((ret = wait_fd(fd, POLLIN, deadline)))
				goto out;
			continue;
		}
		if (n == 0) {
			ret = -EPROTO;	/* closed before the end of the answer */
			goto out;
		}
		/* the answer ends at its first empty line */
		size_t from = len ? len - 1 : 0;

		len += (size_t)n;
		buf[len] = '\0';
		if (buf[0] == '\n') {
			ret = -EPROTO;
			goto out;
		}
		const char *end = NULL;

		for (size_t i = from; i + 1 < len && !end; i++) {
			if (buf[i] == '\n' && buf[i + 1] == '\n')
				end = buf + i;
		}
		if (end) {
			*answer_len = (size_t)(end - buf) + 2;
			*answer = buf;
			buf = NULL;
			ret = 0;
			goto out;
		}
	}
out:
	free(buf);
	close(fd);
	return ret;
}

int uapi_get(struct wgdev *dev, struct wgdev_state *out)
{
	static const char req[] = "get=1\n\n";
	char *answer = NULL;
	size_t len = 0;
	int ret;

	ret = uapi_exchange(dev, req, sizeof(req) - 1, &answer, &len);
	if (ret)
		return ret;
	ret = uapi_parse_get(answer, len, (int64_t)time(NULL), out, &dev->flavor);
	sodium_memzero(answer, len);
	free(answer);
	if (ret == 0)
		snprintf(out->dev.ifname, sizeof(out->dev.ifname), "%s", dev->ifname);
	return ret;
}

static const struct wgdev_peer_info *find_peer(const struct wgdev_state *st,
					       const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < st->n_peers; i++) {
		if (!memcmp(st->peers[i].public_key, key, WG_KEY_LEN))
			return &st->peers[i];
	}
	return NULL;
}

static bool leaves_something(const struct wgdev_set_peer *p)
{
	unsigned all = WGDEV_PEER_HAS_PSK | WGDEV_PEER_HAS_ENDPOINT | WGDEV_PEER_HAS_KEEPALIVE;

	return !(p->flags & WGDEV_PEER_REMOVE) && (p->flags & all) != all;
}

/*
 * boringtun replaces a peer that is set again with a new one: what the set
 * leaves as it is would be lost. Fill it in from the current state.
 */
static int boringtun_keep(struct wgdev *dev, const struct wgdev_set *set,
			  struct wgdev_set_peer **filled)
{
	struct wgdev_state st;
	bool needed = false;
	int ret;

	*filled = NULL;
	for (size_t i = 0; i < set->n_peers && !needed; i++)
		needed = leaves_something(&set->peers[i]);
	if (!needed || dev->flavor == UAPI_WIREGUARD_GO)
		return 0;
	ret = uapi_get(dev, &st);
	if (ret)
		return ret;
	if (dev->flavor != UAPI_BORINGTUN)
		goto out;
	*filled = calloc(set->n_peers, sizeof(**filled));
	if (!*filled) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set->n_peers; i++) {
		struct wgdev_set_peer *p = &(*filled)[i];
		const struct wgdev_peer_info *cur;

		*p = set->peers[i];
		if (!leaves_something(p) || !(cur = find_peer(&st, p->public_key)))
			continue;
		if (!(p->flags & WGDEV_PEER_HAS_PSK) && cur->has_preshared_key) {
			memcpy(p->preshared_key, cur->preshared_key, WG_KEY_LEN);
			p->flags |= WGDEV_PEER_HAS_PSK;
		}
		if (!(p->flags & WGDEV_PEER_HAS_ENDPOINT) && cur->endpoint.ss_family) {
			p->endpoint = cur->endpoint;
			p->flags |= WGDEV_PEER_HAS_ENDPOINT;
		}
		if (!(p->flags & WGDEV_PEER_HAS_KEEPALIVE) && cur->persistent_keepalive) {
			p->persistent_keepalive = cur->persistent_keepalive;
			p->flags |= WGDEV_PEER_HAS_KEEPALIVE;
		}
	}
out:
	wgdev_state_free(&st);
	return ret;
}

int uapi_set(struct wgdev *dev, const struct wgdev_set *set)
{
	struct wgdev_set copy = *set;
	struct wgdev_set_peer *filled;
	char *req = NULL, *answer = NULL;
	size_t req_len = 0, len = 0;
	int ret;

	ret = boringtun_keep(dev, set, &filled);
	if (ret)
		return ret;
	if (filled)
		copy.peers = filled;
	ret = uapi_format_set(&copy, &req, &req_len);
	if (filled) {
		sodium_memzero(filled, set->n_peers * sizeof(*filled));
		free(filled);
	}
	if (ret)
		return ret;
	ret = uapi_exchange(dev, req, req_len, &answer, &len);
	sodium_memzero(req, req_len);
	free(req);
	if (ret)
		return ret;
	ret = uapi_parse_errno(answer, len);
	free(answer);
	return ret;
}
