#include "wssd/config.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/text.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum key_type { KEY_STRING, KEY_UINT, KEY_BOOL, KEY_ENUM, KEY_ADDR, KEY_ADDR_LIST, KEY_HOST };

struct key_spec {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;		/* KEY_STRING: buffer size; KEY_ADDR_LIST: offset of the count */
	unsigned long min, max; /* KEY_UINT */
	const char *const *choices; /* KEY_ENUM, index = value */
	const char *def;
};

static const char *const backend_names[] = { "auto", "netlink", "uapi", NULL };
static const char *const tristate_names[] = { "auto", "no", "yes", NULL };
static const char *const level_names[] = { "debug", "info", "warn", "error", NULL };

#define OFF(f) offsetof(struct wssd_config, f)
#define STR(n, f, d) { n, KEY_STRING, OFF(f), sizeof(((struct wssd_config *)0)->f), 0, 0, NULL, d }
#define UINT(n, f, lo, hi, d) { n, KEY_UINT, OFF(f), sizeof(((struct wssd_config *)0)->f), lo, hi, NULL, d }
#define BOOL(n, f, d) { n, KEY_BOOL, OFF(f), 0, 0, 0, NULL, d }
#define ENUM(n, f, c, d) { n, KEY_ENUM, OFF(f), 0, 0, 0, c, d }
#define ADDR(n, f, d) { n, KEY_ADDR, OFF(f), 0, 0, 0, NULL, d }
#define ADDRS(n, f, count, d) { n, KEY_ADDR_LIST, OFF(f), OFF(count), 0, 0, NULL, d }
#define HOST(n, f, d) { n, KEY_HOST, OFF(f), sizeof(((struct wssd_config *)0)->f), 0, 0, NULL, d }

static const struct key_spec keys[] = {
	STR("gateway.interface", interface, "wg0"),
	ENUM("gateway.backend", backend, backend_names, "auto"),
	STR("gateway.uapi_socket", uapi_socket, ""),
	ENUM("gateway.create", create, tristate_names, "auto"),
	HOST("gateway.wg_address", wg_address, "127.0.0.1"),
	UINT("gateway.wg_port", wg_port, 1, 65535, "51820"),
	STR("gateway.state_dir", state_dir, LOCALSTATEDIR "/lib/wssd"),
	STR("gateway.address", gateway_address, "10.77.0.1/24"),

	ADDRS("websocket.listen", listen, n_listen, "[::]:443"),
	ADDRS("websocket.plain_listen", plain_listen, n_plain_listen, ""),
	STR("websocket.cert", cert, ""),
	STR("websocket.key", key, ""),
	ENUM("websocket.self_signed", self_signed, tristate_names, "auto"),
	UINT("websocket.max_sessions", max_sessions, 1, 1000000, "20000"),
	UINT("websocket.max_sessions_per_ip", max_sessions_per_ip, 1, 1000000, "64"),
	UINT("websocket.idle_timeout", idle_timeout, 1, 86400, "60"),
	UINT("websocket.handshake_timeout", handshake_timeout, 1, 300, "5"),
	UINT("websocket.max_pending", max_pending, 1, 1000000, "1024"),
	UINT("websocket.max_pending_per_ip", max_pending_per_ip, 1, 1000000, "16"),
	UINT("websocket.send_queue", send_queue, 1, 4096, "128"),
	UINT("websocket.hold_queue", hold_queue, 1, 1024, "16"),
	UINT("websocket.hold_timeout", hold_timeout, 1, 60, "3"),
	UINT("websocket.threads", threads, 0, 16, "0"),	/* 0: the cores, at most 16 */
	UINT("websocket.initiations_per_second", initiations_per_second, 1, 1000, "2"),
	UINT("websocket.refused_close_after", refused_close_after, 1, 86400, "30"),

	BOOL("capture.enabled", capture_enabled, "on"),
	STR("capture.interfaces", capture_interfaces, "any"),
	UINT("capture.initiations_per_second", capture_initiations_per_second, 1, 1000, "20"),

	BOOL("jit.enabled", jit_enabled, "on"),
	STR("jit.control_plane", control_plane, "local"),
	STR("jit.token_file", token_file, ""),
	UINT("jit.timeout", jit_timeout, 1, 300, "2"),
	UINT("jit.cache_ttl", cache_ttl, 0, 31536000, "300"),
	UINT("jit.negative_ttl", negative_ttl, 0, 31536000, "60"),
	UINT("jit.keepalive", keepalive, 0, 65535, "25"),
	BOOL("jit.role_inversion", role_inversion, "on"),
	UINT("jit.workers", workers, 1, 256, "8"),
	UINT("jit.key_lookups_per_minute", lookups_per_key_per_minute, 1, 1000000, "12"),
	UINT("jit.lookups_per_second", lookups_per_second, 1, 1000000, "200"),

	UINT("reaper.interval", reaper_interval, 1, 3600, "60"),
	UINT("reaper.idle_after", reaper_idle_after, WG_REJECT_AFTER_TIME, 31536000, "600"),
	UINT("reaper.grace", reaper_grace, REAPER_GRACE_MIN, 31536000, "120"),

	STR("store.path", store_path, LOCALSTATEDIR "/lib/wssd/wssd.db"),

	ADDR("admin.listen", admin_listen, "127.0.0.1:9180"),
	STR("admin.socket", admin_socket, RUNSTATEDIR "/wssd/ctl.sock"),
	STR("admin.user", admin_user, ""),

	ENUM("log.level", log_level, level_names, "info"),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= CONFIG_MAX_KEYS, "CONFIG_MAX_KEYS is too small");

int config_parse_addr(const char *text, struct config_addr *out)
{
	struct sockaddr_storage ss;
	char host[sizeof(out->host)];
	uint16_t port;

	if (addr_split(text, host, sizeof(host), &port, 0, NULL) < 0 || port == 0 ||
	    strchr(host, '%') || (*text == '[') != (strchr(host, ':') != NULL) ||
	    addr_numeric(host, port, &ss, NULL) < 0)
		return -EINVAL;
	strcpy(out->host, host);
	out->port = port;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int apply(struct wssd_config *cfg, const struct key_spec *k, const char *value,
		 char *why, size_t whylen)
{
	void *field = (char *)cfg + k->offset;

	switch (k->type) {
	case KEY_STRING:
		if (strlen(value) >= k->size) {
			snprintf(why, whylen, "value longer than %zu bytes", k->size - 1);
			return -EINVAL;
		}
		strcpy(field, value);
		return 0;
	case KEY_HOST: {
		struct sockaddr_storage probe;

		if (strlen(value) >= k->size || strchr(value, '%') ||
		    addr_numeric(value, 0, &probe, NULL) < 0) {
			snprintf(why, whylen, "\"%s\" is not a numeric IPv4 or IPv6 address", value);
			return -EINVAL;
		}
		strcpy(field, value);
		return 0;
	}
	case KEY_UINT: {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || errno || *end || v < k->min || v > k->max) {
			snprintf(why, whylen, "\"%s\" is not a whole number from %lu to %lu",
				 value, k->min, k->max);
			return -EINVAL;
		}
		if (k->size == sizeof(uint16_t))
			*(uint16_t *)field = (uint16_t)v;
		else
			*(unsigned *)field = (unsigned)v;
		return 0;
	}
	case KEY_BOOL:
		if (parse_bool(value, field) < 0) {
			snprintf(why, whylen, "\"%s\" is not on/off/yes/no/true/false", value);
			return -EINVAL;
		}
		return 0;
	case KEY_ENUM:
		for (int i = 0; k->choices[i]; i++) {
			if (!strcmp(value, k->choices[i])) {
				*(int *)field = i;
				return 0;
			}
		}
		snprintf(why, whylen, "\"%s\" is not one of:", value);
		for (int i = 0; k->choices[i]; i++)
			snprintf(why + strlen(why), whylen - strlen(why), " %s", k->choices[i]);
		return -EINVAL;
	case KEY_ADDR:
		if (config_parse_addr(value, field) < 0) {
			snprintf(why, whylen, "\"%s\" is not ADDRESS:PORT (numeric, [v6]:port for IPv6)",
				 value);
			return -EINVAL;
		}
		return 0;
	case KEY_ADDR_LIST: {
		struct config_addr parsed[CONFIG_MAX_LISTEN] = { 0 };
		unsigned n = 0;
		char copy[1024], *save = NULL, *tok;

		if (strlen(value) >= sizeof(copy)) {
			snprintf(why, whylen, "value too long");
			return -EINVAL;
		}
		strcpy(copy, value);
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *item = text_trim(tok);

			if (!*item)
				continue;
			if (n == CONFIG_MAX_LISTEN) {
				snprintf(why, whylen, "more than %d addresses", CONFIG_MAX_LISTEN);
				return -EINVAL;
			}
			if (config_parse_addr(item, &parsed[n]) < 0) {
				snprintf(why, whylen,
					 "\"%s\" is not ADDRESS:PORT (numeric, [v6]:port for IPv6)", item);
				return -EINVAL;
			}
			n++;
		}
		memcpy(field, parsed, sizeof(parsed));
		*(unsigned *)((char *)cfg + k->size) = n;
		return 0;
	}
	}
	return -EINVAL;
}

static const struct key_spec *find_key(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	}
	return NULL;
}

void config_defaults(struct wssd_config *cfg)
{
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_KEYS; i++) {
		if (apply(cfg, &keys[i], keys[i].def, why, sizeof(why)) < 0)
			fatalx("event=config_default_broken key=%s", keys[i].name);
	}
}

int config_set(struct wssd_config *cfg, const char *name, const char *value,
	       char *err, size_t errlen)
{
	const struct key_spec *k = find_key(name);
	char why[512];

	if (!k) {
		snprintf(err, errlen, "%s: unknown key", name);
		return -EINVAL;
	}
	if (apply(cfg, k, value, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct wssd_config *cfg, const char *path, char *err, size_t errlen)
{
	char line[4096], section[64] = "", why[768];
	unsigned lineno = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *name, *value, full[160];

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %zu bytes", path, lineno,
				 sizeof(line) - 2);
			ret = -EINVAL;
			goto out;
		}
		s = text_trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || close[1] != '\0' || close - s - 1 <= 0 ||
			    (size_t)(close - s - 1) >= sizeof(section)) {
				snprintf(err, errlen, "%s:%u: malformed section header", path, lineno);
				ret = -EINVAL;
				goto out;
			}
			*close = '\0';
			strcpy(section, text_trim(s + 1));
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected key = value", path, lineno);
			ret = -EINVAL;
			goto out;
		}
		*eq = '\0';
		name = text_trim(s);
		value = text_trim(eq + 1);
		if (!*section) {
			snprintf(err, errlen, "%s:%u: %s: key outside any [section]", path, lineno, name);
			ret = -EINVAL;
			goto out;
		}
		snprintf(full, sizeof(full), "%s.%s", section, name);
		const struct key_spec *k = find_key(full);
		if (!k) {
			snprintf(err, errlen, "%s:%u: %s: unknown key", path, lineno, full);
			ret = -EINVAL;
			goto out;
		}
		if (apply(cfg, k, value, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, full, why);
			ret = -EINVAL;
			goto out;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
out:
	fclose(f);
	return ret;
}

struct listener_ref {
	const char *key;
	const struct config_addr *a;
};

static void listener_sockaddr(const struct config_addr *a, struct sockaddr_storage *ss)
{
	addr_numeric(a->host, a->port, ss, NULL);
	addr_unmap(ss);
}

static bool is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/*
 * Whether two listeners would take the same address and port: "::" is
 * dual-stack (listen.c leaves IPV6_V6ONLY off for it) and takes every
 * address, "0.0.0.0" every IPv4 one.
 */
static bool listeners_collide(const struct config_addr *x, const struct config_addr *y)
{
	struct sockaddr_storage a, b;

	if (x->port != y->port)
		return false;
	listener_sockaddr(x, &a);
	listener_sockaddr(y, &b);
	if ((a.ss_family == AF_INET6 && is_any(&a)) || (b.ss_family == AF_INET6 && is_any(&b)))
		return true;
	if (a.ss_family != b.ss_family)
		return false;
	if (is_any(&a) || is_any(&b))
		return true;
	if (a.ss_family == AF_INET)
		return ((struct sockaddr_in *)&a)->sin_addr.s_addr ==
		       ((struct sockaddr_in *)&b)->sin_addr.s_addr;
	return !memcmp(&((struct sockaddr_in6 *)&a)->sin6_addr, &((struct sockaddr_in6 *)&b)->sin6_addr,
		       sizeof(struct in6_addr));
}

static bool is_any_host(const struct config_addr *x, const struct config_addr *y)
{
	return !strcmp(x->host, "::") || !strcmp(x->host, "0.0.0.0") || !strcmp(y->host, "::") ||
	       !strcmp(y->host, "0.0.0.0");
}

static const char *addr_text(const struct config_addr *a, char *buf, size_t len)
{
	snprintf(buf, len, strchr(a->host, ':') ? "[%s]:%u" : "%s:%u", a->host, a->port);
	return buf;
}

/*
 * Every listener needs an address and port of its own. The admin listener
 * also needs a port no WebSocket listener has, on any address:
 * libwebsockets moves a request to whichever listener of the same port its
 * Host header names, which would serve /metrics to a WebSocket client.
 */
static int check_listeners(const struct wssd_config *cfg, char *err, size_t errlen)
{
	struct listener_ref l[2 * CONFIG_MAX_LISTEN + 1];
	char x[64], y[64];
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->n_listen; i++)
		l[n++] = (struct listener_ref){ "websocket.listen", &cfg->listen[i] };
	for (unsigned i = 0; i < cfg->n_plain_listen; i++)
		l[n++] = (struct listener_ref){ "websocket.plain_listen", &cfg->plain_listen[i] };
	l[n++] = (struct listener_ref){ "admin.listen", &cfg->admin_listen };
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = i + 1; j < n; j++) {
			bool admin = j == n - 1;

			if (listeners_collide(l[i].a, l[j].a)) {
				snprintf(err, errlen, "%s: %s takes the address and port of %s %s%s",
					 l[j].key, addr_text(l[j].a, x, sizeof(x)), l[i].key,
					 addr_text(l[i].a, y, sizeof(y)),
					 is_any_host(l[i].a, l[j].a) ?
					 " (\"0.0.0.0\" is every IPv4 address, \"::\" every address)" : "");
				return -EINVAL;
			}
			if (admin && l[i].a->port == l[j].a->port) {
				snprintf(err, errlen,
					 "admin.listen: %s has the port of %s %s: libwebsockets "
					 "routes requests among the listeners of one port by their "
					 "Host header, so WebSocket clients could reach the admin "
					 "endpoint; give it a port of its own",
					 addr_text(l[j].a, x, sizeof(x)), l[i].key,
					 addr_text(l[i].a, y, sizeof(y)));
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_user(const struct wssd_config *cfg, char *err, size_t errlen)
{
	struct passwd *pw;

	if (!cfg->admin_user[0])
		return 0;
	errno = 0;
	pw = getpwnam(cfg->admin_user);
	if (!pw) {
		snprintf(err, errlen, "admin.user: no such user \"%s\"%s%s", cfg->admin_user,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		return -EINVAL;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "admin.user: \"%s\" is root; leave admin.user unset to run "
			 "as started", cfg->admin_user);
		return -EINVAL;
	}
	return 0;
}

/* gateway.address: CIDRs with host bits, at most CONFIG_MAX_ADDRESSES. */
static int parse_addresses(struct wssd_config *cfg, char *err, size_t errlen)
{
	char copy[sizeof(cfg->gateway_address)], *save = NULL, *tok;

	cfg->n_addresses = 0;
	strcpy(copy, cfg->gateway_address);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *item = text_trim(tok);

		if (!*item)
			continue;
		if (cfg->n_addresses == CONFIG_MAX_ADDRESSES) {
			snprintf(err, errlen, "gateway.address: more than %d addresses",
				 CONFIG_MAX_ADDRESSES);
			return -EINVAL;
		}
		if (ifaddr_parse(item, &cfg->addresses[cfg->n_addresses]) < 0 ||
		    !strchr(item, '/')) {
			snprintf(err, errlen, "gateway.address: \"%s\" is not ADDRESS/PREFIX", item);
			return -EINVAL;
		}
		cfg->n_addresses++;
	}
	return 0;
}

int config_finish(struct wssd_config *cfg, char *err, size_t errlen)
{
	int ret;

	if (!cfg->uapi_socket[0])
		snprintf(cfg->uapi_socket, sizeof(cfg->uapi_socket), "/var/run/wireguard/%s.sock",
			 cfg->interface);
	if (!cfg->interface[0]) {
		snprintf(err, errlen, "gateway.interface: must not be empty");
		return -EINVAL;
	}
	if (cfg->n_listen == 0 && cfg->n_plain_listen == 0) {
		snprintf(err, errlen,
			 "websocket.listen: no listener (set websocket.listen or websocket.plain_listen)");
		return -EINVAL;
	}
	if (!cfg->cert[0] != !cfg->key[0]) {
		snprintf(err, errlen, "%s: set both websocket.cert and websocket.key, or neither",
			 cfg->cert[0] ? "websocket.key" : "websocket.cert");
		return -EINVAL;
	}
	if (cfg->n_listen && !cfg->cert[0] && cfg->self_signed == TRISTATE_NO) {
		snprintf(err, errlen,
			 "websocket.cert: TLS listeners need a certificate (or websocket.self_signed = auto)");
		return -EINVAL;
	}
	if (strcmp(cfg->control_plane, "local") && strncmp(cfg->control_plane, "http://", 7) &&
	    strncmp(cfg->control_plane, "https://", 8)) {
		snprintf(err, errlen, "jit.control_plane: \"%s\" is not local or an http(s):// URL",
			 cfg->control_plane);
		return -EINVAL;
	}
	ret = check_listeners(cfg, err, errlen);
	if (ret < 0)
		return ret;
	ret = check_user(cfg, err, errlen);
	if (ret < 0)
		return ret;
	if (parse_addresses(cfg, err, errlen) < 0)
		return -EINVAL;
	if (cfg->reaper_grace > cfg->reaper_idle_after) {
		snprintf(err, errlen, "reaper.grace: %u is longer than reaper.idle_after (%u): a peer "
			 "that never completed a handshake would outlive one that did", cfg->reaper_grace,
			 cfg->reaper_idle_after);
		return -EINVAL;
	}
	if (cfg->jit_enabled && cfg->capture_enabled && cfg->role_inversion && !cfg->keepalive) {
		snprintf(err, errlen, "jit.keepalive: 0 cannot trigger role inversion (set a keepalive, "
			 "or jit.role_inversion = off)");
		return -EINVAL;
	}
	if (cfg->max_sessions_per_ip > cfg->max_sessions)
		cfg->max_sessions_per_ip = cfg->max_sessions;
	if (cfg->max_pending_per_ip > cfg->max_pending)
		cfg->max_pending_per_ip = cfg->max_pending;
	return 0;
}

void config_client_url(const struct wssd_config *cfg, char *buf, size_t size)
{
	const struct config_addr *a = cfg->n_listen ? &cfg->listen[0] : &cfg->plain_listen[0];
	char host[256];

	/* without a name (a VM's "(none)"), the address it listens on */
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0] || !strcmp(host, "(none)"))
		snprintf(host, sizeof(host), strchr(a->host, ':') ? "[%s]" : "%s", a->host);
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, size, "%s://%s:%u/", cfg->n_listen ? "wss" : "ws", host, a->port);
}

/* A key's value as a file would say it. */
static void key_text(const struct wssd_config *cfg, const struct key_spec *k, char *buf,
		     size_t len)
{
	const void *field = (const char *)cfg + k->offset;

	switch (k->type) {
	case KEY_STRING:
	case KEY_HOST:
		snprintf(buf, len, "%s", (const char *)field);
		return;
	case KEY_UINT:
		snprintf(buf, len, "%u", k->size == sizeof(uint16_t) ? *(const uint16_t *)field
								      : *(const unsigned *)field);
		return;
	case KEY_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "on" : "off");
		return;
	case KEY_ENUM:
		snprintf(buf, len, "%s", k->choices[*(const int *)field]);
		return;
	case KEY_ADDR: {
		const struct config_addr *a = field;

		snprintf(buf, len, strchr(a->host, ':') ? "[%s]:%u" : "%s:%u", a->host, a->port);
		return;
	}
	case KEY_ADDR_LIST: {
		const struct config_addr *a = field;
		unsigned n = *(const unsigned *)((const char *)cfg + k->size);
		size_t used = 0;

		buf[0] = '\0';
		for (unsigned j = 0; j < n && used < len; j++)
			used += (size_t)snprintf(buf + used, len - used,
						 strchr(a[j].host, ':') ? "%s[%s]:%u" : "%s%s:%u",
						 j ? ", " : "", a[j].host, a[j].port);
		return;
	}
	}
}

#define KEY_TEXT_MAX (PATH_MAX + 64)

void config_dump(const struct wssd_config *cfg, void *stdio_file)
{
	FILE *f = stdio_file;
	const char *prev = "";
	char text[KEY_TEXT_MAX];

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_spec *k = &keys[i];
		const char *dot = strchr(k->name, '.');
		size_t seclen = (size_t)(dot - k->name);

		if (strncmp(prev, k->name, seclen) || prev[seclen] != '.')
			fprintf(f, "%s[%.*s]\n", i ? "\n" : "", (int)seclen, k->name);
		prev = k->name;
		key_text(cfg, k, text, sizeof(text));
		fprintf(f, "%s = %s\n", dot + 1, text);
	}
}

void config_each_change(const struct wssd_config *a, const struct wssd_config *b,
			void (*fn)(void *arg, const char *key, const char *from, const char *to),
			void *arg)
{
	char x[KEY_TEXT_MAX], y[KEY_TEXT_MAX];

	for (size_t i = 0; i < N_KEYS; i++) {
		key_text(a, &keys[i], x, sizeof(x));
		key_text(b, &keys[i], y, sizeof(y));
		if (strcmp(x, y))
			fn(arg, keys[i].name, x, y);
	}
}

int config_copy_key(struct wssd_config *dst, const struct wssd_config *src, const char *name)
{
	const struct key_spec *k = find_key(name);
	size_t size;

	if (!k)
		return -ENOENT;
	switch (k->type) {
	case KEY_BOOL:
		size = sizeof(bool);
		break;
	case KEY_ENUM:
		size = sizeof(int);
		break;
	case KEY_ADDR:
		size = sizeof(struct config_addr);
		break;
	case KEY_ADDR_LIST:
		size = sizeof(struct config_addr) * CONFIG_MAX_LISTEN;
		memcpy((char *)dst + k->size, (const char *)src + k->size, sizeof(unsigned));
		break;
	default:
		size = k->size;
	}
	memcpy((char *)dst + k->offset, (const char *)src + k->offset, size);
	return 0;
}
