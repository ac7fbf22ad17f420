/*
 * wssctl peer new: a new client in a few commands. Generates its key pair,
 * registers its public key in the local registry and prints its wg-quick
 * configuration, with the wssc command line that carries it to the gateway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/addr.h"
#include "jit/key.h"
#include "jit/peer.h"
#include "jit/store.h"
#include "wssd/config.h"
#include "wssd/wssctl.h"

#define DEFAULT_LISTEN "127.0.0.1:51821"
#define DEFAULT_KEEPALIVE 25	/* keeps the WebSocket under websocket.idle_timeout */
#define CLIENT_IFACE "wssd0"

static const char usage_text[] =
	"usage: wssctl peer new ALLOWED_IP... [--url wss://HOST[:PORT]/] [--listen ADDR:PORT]\n"
	"                       [--keepalive N]\n";

struct new_client {
	struct jit_peer peer;	/* what is registered: the public key, the allowed IPs */
	uint8_t private_key[WG_KEY_LEN];
	uint8_t gateway_key[WG_KEY_LEN];
	const char *url;
	char url_buf[320];
	const char *listen;
	uint16_t keepalive;
};

static int usage(const char *why)
{
	fprintf(stderr, "wssctl: peer new: %s\n%s", why, usage_text);
	return EXIT_USAGE;
}

static int parse_args(struct new_client *nc, int argc, char **argv)
{
	char bad[ALLOWEDIP_STRLEN + 16];
	const char *keepalive = NULL;
	struct sockaddr_storage ss;
	int rc;

	nc->listen = DEFAULT_LISTEN;
	nc->keepalive = DEFAULT_KEEPALIVE;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], **dst = NULL;

		if (!strcmp(arg, "--url"))
			dst = &nc->url;
		else if (!strcmp(arg, "--listen"))
			dst = &nc->listen;
		else if (!strcmp(arg, "--keepalive"))
			dst = &keepalive;
		if (dst) {
			if (++i >= argc)
				return usage("option needs a value");
			*dst = argv[i];
		} else if (arg[0] == '-' && arg[1] == '-') {
			fprintf(stderr, "wssctl: peer new: unknown option %s\n", arg);
			return EXIT_USAGE;
		} else {
			char *list = strdup(arg);

			rc = list ? wssctl_add_allowedips(&nc->peer, list, bad, sizeof(bad)) : -ENOMEM;
			free(list);
			if (rc == -EINVAL) {
				fprintf(stderr, "wssctl: bad allowed IP \"%s\"\n", bad);
				return EXIT_BAD_INPUT;
			}
			if (rc < 0) {
				fprintf(stderr, "wssctl: %s\n", strerror(-rc));
				return EXIT_BAD_INPUT;
			}
		}
	}
	if (!nc->peer.n_allowedips)
		return usage("needs at least one allowed IP (the client's tunnel address)");
	if (keepalive && wssctl_parse_keepalive(keepalive, &nc->keepalive) < 0) {
		fprintf(stderr, "wssctl: bad keepalive \"%s\": 0..65535 or off\n", keepalive);
		return EXIT_BAD_INPUT;
	}
	if (addr_parse(nc->listen, &ss, NULL) < 0) {
		fprintf(stderr, "wssctl: bad --listen \"%s\": ADDR:PORT (numeric, [v6]:port)\n",
			nc->listen);
		return EXIT_BAD_INPUT;
	}
	if (nc->url && strncmp(nc->url, "wss://", 6) && strncmp(nc->url, "ws://", 5)) {
		fprintf(stderr, "wssctl: bad --url \"%s\": wss://HOST[:PORT]/ or ws://...\n",
			nc->url);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* Registering locally does something only where wssd reads the local registry. */
static int check_control_plane(const struct wssd_config *cfg)
{
	if (!cfg->jit_enabled) {
		fprintf(stderr, "wssctl: jit.enabled is off: wssd installs no peers, so a registered "
				"client would not connect\n");
		return -EINVAL;
	}
	if (strcmp(cfg->control_plane, "local")) {
		fprintf(stderr, "wssctl: jit.control_plane is %s: wssd asks it, not the local "
				"registry; add the client there\n", cfg->control_plane);
		return -EINVAL;
	}
	if (!cfg->n_addresses) {
		fprintf(stderr, "wssctl: gateway.address is empty: the client's AllowedIPs are the "
				"gateway's networks; set it\n");
		return -EINVAL;
	}
	return 0;
}

/* The daemon's key, or when it does not run the key file it keeps for the interface. */
static int gateway_key(const struct wssctl_options *opts, uint8_t key[WG_KEY_LEN])
{
	const struct wssd_config *cfg = opts->cfg;
	char *body = NULL, msg[1024], path[PATH_MAX + 32];
	uint8_t priv[WG_KEY_LEN];
	int ret;

	ret = wssctl_ask(opts->socket, "pubkey", &body, msg, sizeof(msg));
	if (ret == 0) {
		body[strcspn(body, "\n")] = '\0';
		ret = key_from_base64(key, body);
		free(body);
		if (ret < 0)
			fprintf(stderr, "wssctl: wssd at %s: its pubkey answer is not a key\n",
				opts->socket);
		return ret;
	}
	if (ret == -EREMOTEIO) {
		fprintf(stderr, "wssctl: wssd at %s: %s\n", opts->socket, msg);
		return ret;
	}
	snprintf(path, sizeof(path), "%s/%s.key", cfg->state_dir, cfg->interface);
	ret = key_read_file(priv, path);
	if (ret == 0)
		ret = key_public(key, priv);
	sodium_memzero(priv, sizeof(priv));
	if (ret < 0)
		fprintf(stderr, "wssctl: no gateway public key: %s; and %s: %s (start wssd once: it "
			"creates %s and its key)\n", msg, path,
			ret == -EINVAL ? "not a WireGuard key" : strerror(-ret), cfg->interface);
	return ret;
}

struct overlap {
	const struct jit_peer *peer;
	char text[ALLOWEDIP_STRLEN * 2 + WG_KEY_B64_LEN + 64];
};

static int find_overlap(void *ctx, const struct jit_peer *other, int64_t added_at)
{
	struct overlap *o = ctx;
	char mine[ALLOWEDIP_STRLEN], theirs[ALLOWEDIP_STRLEN], b64[WG_KEY_B64_LEN];

	(void)added_at;
	for (size_t i = 0; i < o->peer->n_allowedips; i++) {
		for (size_t j = 0; j < other->n_allowedips; j++) {
			if (!allowedip_overlap(&o->peer->allowedips[i], &other->allowedips[j]))
				continue;
			allowedip_format(&o->peer->allowedips[i], mine, sizeof(mine));
			allowedip_format(&other->allowedips[j], theirs, sizeof(theirs));
			key_to_base64(b64, other->public_key);
			snprintf(o->text, sizeof(o->text), "%s overlaps %s of %s", mine, theirs, b64);
			return -EEXIST;
		}
	}
	return 0;
}

/* Two clients with one address would take each other's traffic. */
static int register_client(const struct wssctl_options *opts, const struct jit_peer *peer)
{
	struct overlap o = { .peer = peer };
	struct store *s;
	int rc;

	if (wssctl_open_store(opts, &s) < 0)
		return -EIO;
	rc = store_registry_foreach(s, find_overlap, &o);
	if (rc == -EEXIST)
		fprintf(stderr, "wssctl: %s in the registry (wssctl peer rm it first)\n", o.text);
	else if (rc < 0)
		fprintf(stderr, "wssctl: reading %s: %s\n", opts->db_path, strerror(-rc));
	if (rc == 0 && (rc = store_registry_put(s, peer)) < 0)
		fprintf(stderr, "wssctl: writing %s: %s\n", opts->db_path, strerror(-rc));
	store_close(s);
	return rc;
}

/* A client address outside the gateway's networks is not routed back to it. */
static void unregister_client(const struct wssctl_options *opts, const uint8_t key[WG_KEY_LEN])
{
	struct store *s;

	if (wssctl_open_store(opts, &s) == 0) {
		store_registry_remove(s, key);
		store_close(s);
	}
}

static void warn_unrouted(const struct jit_peer *peer, const struct wssd_config *cfg)
{
	char text[ALLOWEDIP_STRLEN];

	for (size_t i = 0; i < peer->n_allowedips; i++) {
		bool inside = false;

		for (size_t j = 0; j < cfg->n_addresses && !inside; j++) {
			struct wg_allowedip net = cfg->addresses[j];

			allowedip_network(&net);
			inside = net.family == peer->allowedips[i].family &&
				 net.cidr <= peer->allowedips[i].cidr &&
				 allowedip_overlap(&net, &peer->allowedips[i]);
		}
		if (inside)
			continue;
		allowedip_format(&peer->allowedips[i], text, sizeof(text));
		fprintf(stderr, "wssctl: warning: %s is outside gateway.address (%s): the gateway "
			"routes nothing to it\n", text, cfg->gateway_address);
	}
}

static void print_list(const struct wg_allowedip *ips, size_t n, bool network)
{
	char text[ALLOWEDIP_STRLEN];

	for (size_t i = 0; i < n; i++) {
		struct wg_allowedip ip = ips[i];

		if (network)
			allowedip_network(&ip);
		allowedip_format(&ip, text, sizeof(text));
		printf("%s%s", i ? ", " : "", text);
	}
	putchar('\n');
}

static int print_config(const struct new_client *nc, const struct wssctl_options *opts)
{
	const struct wssd_config *cfg = opts->cfg;
	char priv[WG_KEY_B64_LEN], pub[WG_KEY_B64_LEN], gw[WG_KEY_B64_LEN],
		ping[ALLOWEDIP_STRLEN];
	/* A self-signed certificate cannot be verified; wssc then needs --insecure. */
	bool insecure = !strncmp(nc->url, "wss://", 6) && !cfg->cert[0];

	key_to_base64(priv, nc->private_key);
	key_to_base64(pub, nc->peer.public_key);
	key_to_base64(gw, nc->gateway_key);
	allowedip_format(&cfg->addresses[0], ping, sizeof(ping));
	ping[strcspn(ping, "/")] = '\0';
	printf("# wssd client %s, registered in %s\n", pub, opts->db_path);
	printf("# On the client, as root: save this as " CLIENT_IFACE ".conf (umask 077), then\n");
	printf("#   wssc %s--listen %s %s &\n", insecure ? "--insecure " : "", nc->listen, nc->url);
	printf("#   wg-quick up ./" CLIENT_IFACE ".conf\n");
	printf("# (with WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go where the kernel has no\n"
	       "# WireGuard) and ping %s.\n", ping);
	printf("[Interface]\nPrivateKey = %s\nAddress = ", priv);
	print_list(nc->peer.allowedips, nc->peer.n_allowedips, false);
	printf("\n[Peer]\nPublicKey = %s\nAllowedIPs = ", gw);
	print_list(cfg->addresses, cfg->n_addresses, true);
	printf("Endpoint = %s\n", nc->listen);
	if (nc->keepalive)
		printf("PersistentKeepalive = %u\n", nc->keepalive);
	sodium_memzero(priv, sizeof(priv));
	if (fflush(stdout) != 0) {
		perror("wssctl: stdout");
		return -EIO;
	}
	return 0;
}

int wssctl_peer_new(const struct wssctl_options *opts, int argc, char **argv)
{
	struct new_client nc = { .url = NULL };
	int ret;

	ret = parse_args(&nc, argc, argv);
	if (ret)
		goto out;
	ret = EXIT_BAD_INPUT;
	if (check_control_plane(opts->cfg) < 0 || gateway_key(opts, nc.gateway_key) < 0)
		goto out;
	if (!nc.url) {
		config_client_url(opts->cfg, nc.url_buf, sizeof(nc.url_buf));
		nc.url = nc.url_buf;
	}
	key_generate_private(nc.private_key);
	if (key_public(nc.peer.public_key, nc.private_key) < 0 || register_client(opts, &nc.peer) < 0)
		goto out;
	warn_unrouted(&nc.peer, opts->cfg);
	if (print_config(&nc, opts) < 0) {
		unregister_client(opts, nc.peer.public_key);	/* nobody has its private key */
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(nc.private_key, sizeof(nc.private_key));
	jit_peer_clear(&nc.peer);
	return ret;
}
