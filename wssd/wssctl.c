#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wssd/config.h"
#include "wssd/wssctl.h"

static const struct {
	const char *name;
	int (*run)(const struct wssctl_options *opts, int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "peer", wssctl_peer,
	  "peer new ALLOWED_IP... [--url wss://HOST[:PORT]/] [--listen ADDR:PORT] [--keepalive N]\n"
	  "                                a new client: register it, print its wg-quick config\n"
	  "  peer add KEY ALLOWED_IP...    add or replace a peer in the local registry\n"
	  "  peer rm KEY                   remove a peer from the local registry\n"
	  "  peer list                     list the local registry\n"
	  "  peer import FILE              import the [Peer] sections of a wg-quick file" },
	{ "installed", wssctl_table,
	  "installed [--json]            the peers wssd installed (asks the daemon)" },
	{ "evict", wssctl_evict,
	  "evict KEY                     remove a peer wssd installed from the device" },
	{ "sessions", wssctl_table,
	  "sessions [--json]             the open WebSocket sessions (asks the daemon)" },
	{ "stats", wssctl_table,
	  "stats [--json]                the daemon's counters (asks the daemon)" },
	{ "reload", wssctl_reload,
	  "reload                        read the configuration again, as SIGHUP (asks the daemon)" },
	{ "decode-initiation", wssctl_decode_initiation,
	  "decode-initiation --private-key FILE [INITIATION]\n"
	  "                                whose handshake is this? (raw or hex, file or stdin)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: wssctl [-c CONFIG] [--db PATH] [--socket PATH] [--json] COMMAND ...\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct wssd_config cfg;
	struct wssctl_options opts = { 0 };
	char err[1024];
	int c, ret;

	/* "+": options after the command name belong to the command. */
	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config = optarg;
			break;
		case 'd':
			opts.db_path = optarg;
			break;
		case 's':
			opts.socket = optarg;
			break;
		case 'j':
			opts.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* The file wssd reads, so that both use the same database and socket. */
	config_defaults(&cfg);
	ret = config_load(&cfg, opts.config ? opts.config : CONFIG_DEFAULT_PATH, err, sizeof(err));
	if (ret == -ENOENT && !opts.config)
		ret = 0;
	if (ret == 0)
		ret = config_finish(&cfg, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "wssctl: %s\n", err);
		return 1;
	}
	opts.cfg = &cfg;
	if (!opts.db_path)
		opts.db_path = cfg.store_path;
	if (!opts.socket)
		opts.socket = cfg.admin_socket;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			optind++;
			return commands[i].run(&opts, argc - optind + 1, argv + optind - 1);
		}
	}
	fprintf(stderr, "wssctl: unknown command \"%s\" (wssctl --help lists them)\n", argv[optind]);
	return 2;
}
