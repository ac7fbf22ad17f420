/*
 * Drives jit/wgdev for the shell tests:
 *   wgdev-tool [-b auto|uapi|netlink] [-s SOCKET] [-t TIMEOUT_MS] IFACE COMMAND...
 * COMMAND: get | list | set-peer KEY [endpoint=A:P] [keepalive=N] [psk=FILE]
 * [ALLOWED_IP...] | rm-peer KEY | bulk-add N | bulk-rm |
 * ensure STATE_DIR PORT [nocreate]
 * Errors: "error: MESSAGE" on stderr and exit status 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jit/wgdev.h"
#include "common/log.h"

static int usage(void)
{
	fprintf(stderr, "usage: wgdev-tool [-b auto|uapi|netlink] [-s SOCKET] [-t MS] IFACE "
			"get|list|set-peer|rm-peer|bulk-add|bulk-rm|ensure ...\n");
	return 2;
}

static int die(const char *what, int ret)
{
	fprintf(stderr, "error: %s: %s\n", what, strerror(-ret));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_endpoint(const struct sockaddr_storage *ss)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];
	socklen_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			sizeof(struct sockaddr_in6);

	if (!ss->ss_family ||
	    getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		printf(" endpoint=none");
		return;
	}
	printf(ss->ss_family == AF_INET6 ? " endpoint=[%s]:%s" : " endpoint=%s:%s", host, port);
}

static int cmd_get(struct wgdev *dev)
{
	struct wgdev_device d;
	char b64[WG_KEY_B64_LEN];
	int ret;

	ret = wgdev_get_device(dev, &d);
	if (ret)
		return die("get", ret);
	key_to_base64(b64, d.public_key);
	printf("backend=%s has_private_key=%d public_key=%s listen_port=%u\n",
	       wgdev_backend_name(wgdev_backend(dev)), d.has_private_key,
	       d.has_private_key ? b64 : "none", d.listen_port);
	return 0;
}

static int cmd_list(struct wgdev *dev)
{
	struct wgdev_peer_info *peers;
	char b64[WG_KEY_B64_LEN], ip[ALLOWEDIP_STRLEN];
	size_t n;
	int ret;

	ret = wgdev_list_peers(dev, &peers, &n);
	if (ret)
		return die("list", ret);
	for (size_t i = 0; i < n; i++) {
		const struct wgdev_peer_info *p = &peers[i];

		key_to_base64(b64, p->public_key);
		printf("peer=%s", b64);
		print_endpoint(&p->endpoint);
		printf(" keepalive=%u psk=%d handshake=%lld rx=%llu tx=%llu allowed=",
		       p->persistent_keepalive, p->has_preshared_key, (long long)p->last_handshake_sec,
		       (unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes);
		for (size_t j = 0; j < p->n_allowedips; j++) {
			allowedip_format(&p->allowedips[j], ip, sizeof(ip));
			printf("%s%s", j ? "," : "", ip);
		}
		printf("\n");
	}
	wgdev_peers_free(peers, n);
	return 0;
}

static int parse_endpoint(const char *text, struct sockaddr_storage *ss)
{
	char host[NI_MAXHOST];
	const char *colon = strrchr(text, ':');
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_DGRAM }, *ai;
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - text);
	if (text[0] == '[' && n >= 2 && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static int cmd_set_peer(struct wgdev *dev, int argc, char **argv)
{
	struct jit_peer peer = { 0 };
	struct sockaddr_storage ep = { 0 };
	struct wg_allowedip ip;
	int keepalive = -1, ret;

	if (argc < 1 || key_from_base64(peer.public_key, argv[0]))
		return die("set-peer: public key", -EINVAL);
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "endpoint=", 9)) {
			if (parse_endpoint(argv[i] + 9, &ep))
				return die(argv[i], -EINVAL);
		} else if (!strncmp(argv[i], "keepalive=", 10)) {
			keepalive = atoi(argv[i] + 10);
		} else if (!strncmp(argv[i], "psk=", 4)) {
			if ((ret = key_read_file(peer.preshared_key, argv[i] + 4)))
				return die(argv[i], ret);
			peer.has_preshared_key = true;
		} else if (allowedip_parse(argv[i], &ip) || jit_peer_add_allowedip(&peer, &ip)) {
			jit_peer_clear(&peer);
			return die(argv[i], -EINVAL);
		}
	}
	ret = wgdev_set_peer(dev, &peer, ep.ss_family ? (struct sockaddr *)&ep : NULL, keepalive);
	jit_peer_clear(&peer);
	return ret ? die("set-peer", ret) : 0;
}

static int cmd_rm_peer(struct wgdev *dev, int argc, char **argv)
{
	uint8_t key[WG_KEY_LEN];
	int ret;

	if (argc < 1 || key_from_base64(key, argv[0]))
		return die("rm-peer: public key", -EINVAL);
	ret = wgdev_remove_peer(dev, key);
	return ret ? die("rm-peer", ret) : 0;
}

/* N peers, one wgdev_set_peer call each; keys and 198.19.128.0/17 IPs from the index. */
static int cmd_bulk_add(struct wgdev *dev, int argc, char **argv)
{
	long n = argc > 0 ? atol(argv[0]) : 0;
	double t0 = now(), dt;
	int ret;

	if (n <= 0 || n > 32766)
		return die("bulk-add: count", -EINVAL);
	for (long i = 0; i < n; i++) {
		struct wg_allowedip ip = { .family = AF_INET, .cidr = 32 };
		struct jit_peer peer = { .allowedips = &ip, .n_allowedips = 1 };

		peer.public_key[0] = 0xb1;
		peer.public_key[1] = (uint8_t)(i >> 8);
		peer.public_key[2] = (uint8_t)i;
		ip.ip4.s_addr = htonl(0xc6138000U | (uint32_t)(i + 1));
		ret = wgdev_set_peer(dev, &peer, NULL, 25);
		if (ret)
			return die("bulk-add", ret);
	}
	dt = now() - t0;
	printf("installed=%ld seconds=%.3f per_second=%.0f\n", n, dt, (double)n / dt);
	return 0;
}

static int cmd_bulk_rm(struct wgdev *dev)
{
	struct wgdev_peer_info *peers;
	double t0, t1, t2;
	size_t n;
	int ret;

	t0 = now();
	ret = wgdev_list_peers(dev, &peers, &n);
	if (ret)
		return die("list", ret);
	t1 = now();
	for (size_t i = 0; i < n; i++) {
		ret = wgdev_remove_peer(dev, peers[i].public_key);
		if (ret) {
			wgdev_peers_free(peers, n);
			return die("rm-peer", ret);
		}
	}
	t2 = now();
	printf("listed=%zu list_seconds=%.3f removed=%zu remove_seconds=%.3f\n", n, t1 - t0, n,
	       t2 - t1);
	wgdev_peers_free(peers, n);
	return 0;
}

int main(int argc, char **argv)
{
	enum wgdev_backend backend = WGDEV_AUTO;
	const char *sock = NULL, *ifname, *cmd;
	unsigned timeout = 0;
	struct wgdev *dev = NULL;
	int opt, ret;

	log_init(LOG_LEVEL_INFO, false);
	while ((opt = getopt(argc, argv, "b:s:t:")) != -1) {
		switch (opt) {
		case 'b':
			backend = !strcmp(optarg, "uapi") ? WGDEV_UAPI :
				  !strcmp(optarg, "netlink") ? WGDEV_NETLINK : WGDEV_AUTO;
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout = (unsigned)atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind < 2)
		return usage();
	ifname = argv[optind];
	cmd = argv[optind + 1];
	argc -= optind + 2;
	argv += optind + 2;

	if (!strcmp(cmd, "ensure")) {
		struct wgdev_setup s = {
			.ifname = ifname, .backend = backend, .uapi_socket = sock, .create = true,
		};
		char err[512];

		if (argc < 2)
			return usage();
		s.state_dir = argv[0];
		s.listen_port = (uint16_t)atoi(argv[1]);
		s.create = !(argc > 2 && !strcmp(argv[2], "nocreate"));
		ret = wgdev_ensure(&dev, &s, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "error: %s\n", err);
			return 1;
		}
		ret = cmd_get(dev);
		wgdev_close(dev);
		return ret;
	}

	ret = wgdev_open(&dev, backend, ifname, sock);
	if (ret)
		return die("open", ret);
	if (timeout)
		wgdev_set_timeout(dev, timeout);
	if (!strcmp(cmd, "get"))
		ret = cmd_get(dev);
	else if (!strcmp(cmd, "list"))
		ret = cmd_list(dev);
	else if (!strcmp(cmd, "set-peer"))
		ret = cmd_set_peer(dev, argc, argv);
	else if (!strcmp(cmd, "rm-peer"))
		ret = cmd_rm_peer(dev, argc, argv);
	else if (!strcmp(cmd, "bulk-add"))
		ret = cmd_bulk_add(dev, argc, argv);
	else if (!strcmp(cmd, "bulk-rm"))
		ret = cmd_bulk_rm(dev);
	else
		ret = usage();
	wgdev_close(dev);
	return ret;
}
