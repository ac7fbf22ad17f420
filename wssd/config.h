#ifndef WSSD_CONFIG_H
#define WSSD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/peer.h"

#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_KEYS 64	/* keys in the table, at most */
#define CONFIG_MAX_ADDRESSES 8
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/wssd/wssd.conf"

/*
 * WireGuard's REJECT_AFTER_TIME: a session older than this is unusable,
 * and a live peer handshakes again before it (at REKEY_AFTER_TIME, 120 s,
 * when it sends; at 165 s when it only receives). A peer whose last
 * handshake is older has no session: reaper.idle_after may not be shorter.
 */
#define WG_REJECT_AFTER_TIME 180
/* Past WireGuard's first retry (REKEY_TIMEOUT 5 s, plus up to 1/3 s of jitter), twice. */
#define REAPER_GRACE_MIN 10

/* A numeric address and port, e.g. "[::]:443" or "127.0.0.1:9180". */
struct config_addr {
	char host[46];
	uint16_t port;
};

enum config_backend { BACKEND_AUTO, BACKEND_NETLINK, BACKEND_UAPI };
enum config_tristate { TRISTATE_AUTO, TRISTATE_NO, TRISTATE_YES };

struct wssd_config {
	/* [gateway] */
	char interface[16];
	enum config_backend backend;
	char uapi_socket[108];
	enum config_tristate create;
	char wg_address[46];
	uint16_t wg_port;
	char state_dir[PATH_MAX];
	char gateway_address[512];	/* CIDRs, comma-separated */
	struct wg_allowedip addresses[CONFIG_MAX_ADDRESSES];	/* parsed by config_finish */
	unsigned n_addresses;

	/* [websocket] */
	struct config_addr listen[CONFIG_MAX_LISTEN];
	unsigned n_listen;
	struct config_addr plain_listen[CONFIG_MAX_LISTEN];
	unsigned n_plain_listen;
	char cert[PATH_MAX];
	char key[PATH_MAX];
	enum config_tristate self_signed;
	unsigned max_sessions;
	unsigned max_sessions_per_ip;
	unsigned idle_timeout;
	unsigned handshake_timeout;
	unsigned max_pending;
	unsigned max_pending_per_ip;
	unsigned send_queue;
	unsigned hold_queue;
	unsigned threads;	/* event loops; 0 = one per core, at most 16 */
	unsigned hold_timeout;
	unsigned initiations_per_second;
	unsigned refused_close_after;

	/* [capture] */
	bool capture_enabled;
	char capture_interfaces[256];
	unsigned capture_initiations_per_second;	/* per source address, IPv6 per /64 */

	/* [jit] */
	bool jit_enabled;
	char control_plane[512];
	char token_file[PATH_MAX];
	unsigned jit_timeout;
	unsigned cache_ttl;
	unsigned negative_ttl;
	unsigned keepalive;
	bool role_inversion;
	unsigned workers;
	unsigned lookups_per_key_per_minute;
	unsigned lookups_per_second;

	/* [reaper] */
	unsigned reaper_interval;
	unsigned reaper_idle_after;
	unsigned reaper_grace;

	/* [store] */
	char store_path[PATH_MAX];

	/* [admin] */
	struct config_addr admin_listen;
	char admin_socket[108];
	char admin_user[64];

	/* [log] */
	int log_level;
};

/* Fills every key with its default. */
void config_defaults(struct wssd_config *cfg);

/*
 * Reads an INI file over the current values. On error returns -errno or
 * -EINVAL and writes "FILE:LINE: key: problem" into err.
 */
int config_load(struct wssd_config *cfg, const char *path, char *err, size_t errlen);

/* Sets one "section.key" from a string, as a file line would (for flags). */
int config_set(struct wssd_config *cfg, const char *name, const char *value,
	       char *err, size_t errlen);

/*
 * Checks what only makes sense across keys (listeners that would take one
 * address and port, admin.user) and fills derived defaults.
 */
int config_finish(struct wssd_config *cfg, char *err, size_t errlen);

/* Parses "HOST:PORT" / "[V6]:PORT" with a numeric host. */
int config_parse_addr(const char *text, struct config_addr *out);

/*
 * The URL clients dial unless told otherwise: wss:// on the first TLS
 * listener (else ws:// on the first plain one), by this host's name.
 */
void config_client_url(const struct wssd_config *cfg, char *buf, size_t size);

/* Writes every key with its current value as an INI file. */
void config_dump(const struct wssd_config *cfg, void *stdio_file);

/* Calls fn for each key whose value differs between a and b, as text. */
void config_each_change(const struct wssd_config *a, const struct wssd_config *b,
			void (*fn)(void *arg, const char *key, const char *from, const char *to),
			void *arg);

/* Copies one key's value from src; -ENOENT for a name that is no key. */
int config_copy_key(struct wssd_config *dst, const struct wssd_config *src, const char *name);

#endif
