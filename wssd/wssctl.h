#ifndef WSSD_WSSCTL_H
#define WSSD_WSSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/key.h"

#define EXIT_BAD_INPUT 1
#define EXIT_USAGE 2

struct jit_peer;
struct store;
struct wssd_config;

/* Options every wssctl command sees, parsed before the command name. */
struct wssctl_options {
	const char *db_path;	/* --db, default the config's store.path */
	const char *socket;	/* --socket, default the config's admin.socket */
	const char *config;	/* -c, default CONFIG_DEFAULT_PATH when it exists */
	const struct wssd_config *cfg;	/* what wssd reads too */
	bool json;		/* --json */
};

/* Each command gets argv from its own name on (argv[0] = "peer") and returns the exit status. */
int wssctl_peer(const struct wssctl_options *opts, int argc, char **argv);
int wssctl_peer_new(const struct wssctl_options *opts, int argc, char **argv);
int wssctl_decode_initiation(const struct wssctl_options *opts, int argc, char **argv);
/* installed, sessions, stats: the daemon's table, or its JSON. */
int wssctl_table(const struct wssctl_options *opts, int argc, char **argv);
int wssctl_evict(const struct wssctl_options *opts, int argc, char **argv);
/* What SIGHUP does; prints what changed and what needs a restart. */
int wssctl_reload(const struct wssctl_options *opts, int argc, char **argv);

/*
 * Sends one request line to the daemon's control socket; on "ok" *body is
 * the rest of the answer (free it). -EREMOTEIO: the daemon said error, msg
 * holds its message; any other -errno: msg says why it could not ask.
 */
int wssctl_ask(const char *socket_path, const char *request, char **body, char *msg,
	       size_t msglen);

/* Shared by the commands (wssctl-peer.c). */
/* Base64 as wg prints it, or 64 hex digits; never all zeros. -EINVAL. */
int wssctl_parse_key(uint8_t key[WG_KEY_LEN], const char *text);
int wssctl_open_store(const struct wssctl_options *opts, struct store **s);
/* A comma-separated list of allowed IPs; the bad one is copied to bad. */
int wssctl_add_allowedips(struct jit_peer *peer, char *list, char *bad, size_t badlen);
/* 0..65535, or "off". */
int wssctl_parse_keepalive(const char *text, uint16_t *out);

#endif
