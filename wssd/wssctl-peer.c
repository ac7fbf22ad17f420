/* wssctl peer: the local registry, edited in the database (no daemon needed). */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jit/key.h"
#include "jit/peer.h"
#include "jit/store.h"
#include "common/log.h"
#include "common/text.h"
#include "wssd/wssctl.h"

static const char usage_text[] =
	"usage: wssctl peer new ALLOWED_IP... [--url wss://HOST[:PORT]/] [--listen ADDR:PORT]\n"
	"                       [--keepalive N]\n"
	"       wssctl peer add KEY ALLOWED_IP... [--keepalive N] [--psk-file FILE]\n"
	"       wssctl peer rm KEY\n"
	"       wssctl [--json] peer list [--json]\n"
	"       wssctl peer import FILE\n";

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "wssctl: peer: %s\n", why);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

int wssctl_parse_key(uint8_t key[WG_KEY_LEN], const char *text)
{
	if ((key_from_base64(key, text) == 0 || key_from_hex(key, text) == 0) && !key_is_zero(key))
		return 0;
	return -EINVAL;
}

/* Empty items are skipped. */
int wssctl_add_allowedips(struct jit_peer *peer, char *list, char *bad, size_t badlen)
{
	struct wg_allowedip ip;
	char *save = NULL;

	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		item = text_trim(item);
		if (!*item)
			continue;
		if (allowedip_parse(item, &ip) < 0) {
			snprintf(bad, badlen, "%s", item);
			return -EINVAL;
		}
		if (jit_peer_add_allowedip(peer, &ip) < 0)
			return -ENOMEM;
	}
	return 0;
}

int wssctl_parse_keepalive(const char *text, uint16_t *out)
{
	unsigned long v;
	char *end;

	if (!strcasecmp(text, "off")) {
		*out = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int wssctl_open_store(const struct wssctl_options *opts, struct store **s)
{
	char err[1024];

	if (store_open(s, opts->db_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "wssctl: %s\n", err);
		return -1;
	}
	return 0;
}

static int cmd_add(const struct wssctl_options *opts, int argc, char **argv)
{
	struct jit_peer peer = { 0 };
	const char *key_text = NULL, *psk_file = NULL, *keepalive = NULL;
	struct store *s = NULL;
	char bad[ALLOWEDIP_STRLEN + 16];
	int ret = EXIT_BAD_INPUT, rc;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--keepalive") || !strcmp(arg, "--psk-file")) {
			if (i + 1 >= argc) {
				ret = usage("option needs a value");
				goto out;
			}
			if (arg[2] == 'k')
				keepalive = argv[++i];
			else
				psk_file = argv[++i];
		} else if (!strncmp(arg, "--keepalive=", 12)) {
			keepalive = arg + 12;
		} else if (!strncmp(arg, "--psk-file=", 11)) {
			psk_file = arg + 11;
		} else if (arg[0] == '-' && arg[1] == '-') {
			fprintf(stderr, "wssctl: peer add: unknown option %s\n", arg);
			ret = EXIT_USAGE;
			goto out;
		} else if (!key_text) {
			key_text = arg;
			if (wssctl_parse_key(peer.public_key, arg) < 0) {
				fprintf(stderr, "wssctl: bad key \"%s\": not a WireGuard key "
						"(base64 or hex)\n", arg);
				goto out;
			}
		} else {
			char *list = strdup(arg);

			rc = list ? wssctl_add_allowedips(&peer, list, bad, sizeof(bad)) : -ENOMEM;
			free(list);
			if (rc < 0) {
				if (rc == -EINVAL)
					fprintf(stderr, "wssctl: bad allowed IP \"%s\"\n", bad);
				else
					fprintf(stderr, "wssctl: %s\n", strerror(-rc));
				goto out;
			}
		}
	}
	if (!key_text || !peer.n_allowedips) {
		ret = usage("add needs a key and at least one allowed IP");
		goto out;
	}
	if (keepalive) {
		if (wssctl_parse_keepalive(keepalive, &peer.persistent_keepalive) < 0) {
			fprintf(stderr, "wssctl: bad keepalive \"%s\": 0..65535 or off\n", keepalive);
			goto out;
		}
		peer.has_keepalive = true;
	}
	if (psk_file) {
		rc = key_read_file(peer.preshared_key, psk_file);
		if (rc < 0) {
			fprintf(stderr, "wssctl: %s: %s\n", psk_file,
				rc == -EINVAL ? "not a base64 key" : strerror(-rc));
			goto out;
		}
		peer.has_preshared_key = true;
	}
	if (wssctl_open_store(opts, &s) < 0)
		goto out;
	rc = store_registry_put(s, &peer);
	if (rc < 0) {
		fprintf(stderr, "wssctl: writing %s: %s\n", opts->db_path, strerror(-rc));
		goto out;
	}
	ret = 0;
out:
	store_close(s);
	jit_peer_clear(&peer);
	return ret;
}

static int cmd_rm(const struct wssctl_options *opts, int argc, char **argv)
{
	uint8_t key[WG_KEY_LEN];
	struct store *s;
	int rc;

	if (argc != 2)
		return usage("rm needs exactly one key");
	if (wssctl_parse_key(key, argv[1]) < 0) {
		fprintf(stderr, "wssctl: bad key \"%s\": not a WireGuard key (base64 or hex)\n",
			argv[1]);
		return EXIT_BAD_INPUT;
	}
	if (wssctl_open_store(opts, &s) < 0)
		return EXIT_BAD_INPUT;
	rc = store_registry_remove(s, key);
	store_close(s);
	if (rc == -ENOENT) {
		fprintf(stderr, "wssctl: peer %s is not in the registry\n", argv[1]);
		return EXIT_BAD_INPUT;
	}
	if (rc < 0) {
		fprintf(stderr, "wssctl: writing %s: %s\n", opts->db_path, strerror(-rc));
		return EXIT_BAD_INPUT;
	}
	return 0;
}

static void format_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%lld", (long long)t);
}

static int print_row(void *ctx, const struct jit_peer *peer, int64_t added_at)
{
	char b64[WG_KEY_B64_LEN], ip[ALLOWEDIP_STRLEN], when[32], keepalive[8] = "-";

	(void)ctx;
	key_to_base64(b64, peer->public_key);
	format_time(when, sizeof(when), added_at);
	if (peer->has_keepalive)
		snprintf(keepalive, sizeof(keepalive), "%u", peer->persistent_keepalive);
	printf("%-44s  %-9s  %-3s  %-20s  ", b64, keepalive, peer->has_preshared_key ? "yes" : "no",
	       when);
	for (size_t i = 0; i < peer->n_allowedips; i++) {
		allowedip_format(&peer->allowedips[i], ip, sizeof(ip));
		printf("%s%s", i ? "," : "", ip);
	}
	putchar('\n');
	return 0;
}

static int json_row(void *ctx, const struct jit_peer *peer, int64_t added_at)
{
	char b64[WG_KEY_B64_LEN], ip[ALLOWEDIP_STRLEN];
	json_t *list = ctx, *obj, *ips;

	key_to_base64(b64, peer->public_key);
	obj = json_object();
	ips = json_array();
	if (!obj || !ips || json_array_append_new(list, obj) < 0) {
		json_decref(ips);
		return -ENOMEM;
	}
	for (size_t i = 0; i < peer->n_allowedips; i++) {
		allowedip_format(&peer->allowedips[i], ip, sizeof(ip));
		json_array_append_new(ips, json_string(ip));
	}
	json_object_set_new(obj, "public_key", json_string(b64));
	json_object_set_new(obj, "allowed_ips", ips);
	if (peer->has_keepalive)
		json_object_set_new(obj, "persistent_keepalive",
				    json_integer(peer->persistent_keepalive));
	json_object_set_new(obj, "has_preshared_key", json_boolean(peer->has_preshared_key));
	json_object_set_new(obj, "added_at", json_integer(added_at));
	return 0;
}

static int cmd_list(const struct wssctl_options *opts, int argc, char **argv)
{
	bool json = opts->json;
	json_t *list = NULL;
	struct store *s;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "--json"))
		json = true;
	else if (argc != 1)
		return usage("list takes no arguments but --json");
	if (wssctl_open_store(opts, &s) < 0)
		return EXIT_BAD_INPUT;
	if (json) {
		list = json_array();
		rc = list ? store_registry_foreach(s, json_row, list) : -ENOMEM;
		if (rc == 0 && (json_dumpf(list, stdout, JSON_INDENT(2)) < 0 || putchar('\n') < 0))
			rc = -EIO;
		json_decref(list);
	} else {
		printf("%-44s  %-9s  %-3s  %-20s  %s\n", "PUBLIC KEY", "KEEPALIVE", "PSK", "ADDED",
		       "ALLOWED IPS");
		rc = store_registry_foreach(s, print_row, NULL);
	}
	store_close(s);
	if (rc < 0) {
		fprintf(stderr, "wssctl: reading %s: %s\n", opts->db_path, strerror(-rc));
		return EXIT_BAD_INPUT;
	}
	return 0;
}

struct import {
	const char *path;
	struct jit_peer *peers;
	size_t n, cap;
	size_t peer_line;	/* of the open [Peer] header, 0 outside one */
	bool in_interface;
};

/* Closes the open [Peer] section: it must have named its key. */
static int import_close_peer(struct import *im)
{
	if (!im->peer_line)
		return 0;
	if (key_is_zero(im->peers[im->n - 1].public_key)) {
		fprintf(stderr, "wssctl: %s:%zu: [Peer] without a PublicKey\n", im->path,
			im->peer_line);
		return -EINVAL;
	}
	im->peer_line = 0;
	return 0;
}

static int import_line(struct import *im, char *line, size_t lineno)
{
	struct jit_peer *peer;
	char *eq, *name, *value, bad[ALLOWEDIP_STRLEN + 16];
	int rc;

	line[strcspn(line, "#")] = '\0';
	line = text_trim(line);
	if (!*line)
		return 0;
	if (*line == '[') {
		if (import_close_peer(im) < 0)
			return -EINVAL;
		im->in_interface = !strcasecmp(line, "[Interface]");
		if (im->in_interface)
			return 0;
		if (strcasecmp(line, "[Peer]")) {
			fprintf(stderr, "wssctl: %s:%zu: unknown section %s\n", im->path, lineno,
				line);
			return -EINVAL;
		}
		if (im->n == im->cap) {
			size_t cap = im->cap ? im->cap * 2 : 16;
			struct jit_peer *grown = realloc(im->peers, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			im->peers = grown;
			im->cap = cap;
		}
		memset(&im->peers[im->n++], 0, sizeof(*im->peers));
		im->peer_line = lineno;
		return 0;
	}
	eq = strchr(line, '=');
	if (!eq) {
		fprintf(stderr, "wssctl: %s:%zu: expected \"Key = Value\"\n", im->path, lineno);
		return -EINVAL;
	}
	*eq = '\0';
	name = text_trim(line);
	value = text_trim(eq + 1);
	if (im->in_interface)
		return 0;
	if (!im->peer_line) {
		fprintf(stderr, "wssctl: %s:%zu: %s outside a [Peer] section\n", im->path, lineno,
			name);
		return -EINVAL;
	}
	peer = &im->peers[im->n - 1];
	if (!strcasecmp(name, "PublicKey")) {
		if (key_from_base64(peer->public_key, value) < 0 || key_is_zero(peer->public_key)) {
			fprintf(stderr, "wssctl: %s:%zu: bad PublicKey \"%s\"\n", im->path, lineno,
				value);
			return -EINVAL;
		}
	} else if (!strcasecmp(name, "PresharedKey")) {
		if (key_from_base64(peer->preshared_key, value) < 0) {
			fprintf(stderr, "wssctl: %s:%zu: bad PresharedKey\n", im->path, lineno);
			return -EINVAL;
		}
		peer->has_preshared_key = true;
	} else if (!strcasecmp(name, "PersistentKeepalive")) {
		if (wssctl_parse_keepalive(value, &peer->persistent_keepalive) < 0) {
			fprintf(stderr, "wssctl: %s:%zu: bad PersistentKeepalive \"%s\"\n", im->path,
				lineno, value);
			return -EINVAL;
		}
		peer->has_keepalive = true;
	} else if (!strcasecmp(name, "AllowedIPs")) {
		rc = wssctl_add_allowedips(peer, value, bad, sizeof(bad));
		if (rc == -EINVAL)
			fprintf(stderr, "wssctl: %s:%zu: bad AllowedIPs entry \"%s\"\n", im->path,
				lineno, bad);
		return rc;
	}
	return 0;
}

static int cmd_import(const struct wssctl_options *opts, int argc, char **argv)
{
	struct import im = { .path = NULL };
	struct store *s = NULL;
	char *line = NULL;
	size_t linecap = 0, lineno = 0;
	int ret = EXIT_BAD_INPUT, rc = 0;
	FILE *f;

	if (argc != 2)
		return usage("import needs exactly one file");
	im.path = argv[1];
	f = fopen(im.path, "re");
	if (!f) {
		fprintf(stderr, "wssctl: %s: %s\n", im.path, strerror(errno));
		return EXIT_BAD_INPUT;
	}
	while (rc == 0 && getline(&line, &linecap, f) >= 0)
		rc = import_line(&im, line, ++lineno);
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "wssctl: %s: read error\n", im.path);
		rc = -EIO;
	}
	if (rc == 0)
		rc = import_close_peer(&im);
	if (rc == -ENOMEM)
		fprintf(stderr, "wssctl: %s\n", strerror(ENOMEM));
	if (rc < 0)
		goto out;
	if (!im.n) {
		fprintf(stderr, "wssctl: %s: no [Peer] section\n", im.path);
		goto out;
	}
	if (wssctl_open_store(opts, &s) < 0)
		goto out;
	rc = store_registry_put_many(s, im.peers, im.n);
	if (rc < 0) {
		fprintf(stderr, "wssctl: writing %s: %s\n", opts->db_path, strerror(-rc));
		goto out;
	}
	printf("imported %zu peer%s from %s\n", im.n, im.n == 1 ? "" : "s", im.path);
	ret = 0;
out:
	store_close(s);
	for (size_t i = 0; i < im.n; i++)
		jit_peer_clear(&im.peers[i]);
	free(im.peers);
	free(line);
	fclose(f);
	return ret;
}

int wssctl_peer(const struct wssctl_options *opts, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct wssctl_options *opts, int argc, char **argv);
	} subs[] = {
		{ "new", wssctl_peer_new },
		{ "add", cmd_add },
		{ "rm", cmd_rm },
		{ "list", cmd_list },
		{ "import", cmd_import },
	};

	/* Routine store logs (migrations) are not for the terminal. */
	log_set_level(LOG_LEVEL_WARN);
	if (argc < 2)
		return usage(NULL);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(opts, argc - 1, argv + 1);
	}
	fprintf(stderr, "wssctl: peer: unknown subcommand \"%s\"\n", argv[1]);
	return EXIT_USAGE;
}
