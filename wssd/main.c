/* wssd: wires config, certificates, the WebSocket transport and the admin endpoint. */
#include "certs/certs.h"
#include "jit/peer.h"
#include "jit/wgdev.h"
#include "transport/transport.h"
#include "wssd/admin.h"
#include "wssd/config.h"
#include "wssd/ctl.h"
#include "common/log.h"
#include "common/metrics.h"
#include "wssd/notify.h"
#include "wssd/pipeline.h"
#include "wssd/privs.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>


#define SHUTDOWN_GRACE 5

struct daemon {
	struct wssd_config cfg;
	struct transport *t;
	struct pipeline *pl;
	struct admin admin;
	struct ctl ctl;
	char cert[PATH_MAX];
	char key[PATH_MAX];
	int64_t not_after;
	int sigfd;
	/* What the configuration was read from, again at each reload. */
	const char *config_path;	/* -c, or NULL: CONFIG_DEFAULT_PATH if it exists */
	char **sets;			/* -s, after the file */
	int n_sets;
};

/*
 * The keys a reload (SIGHUP, wssctl reload) applies while running. Any
 * other key whose value differs is logged and keeps its value until a
 * restart: it sizes or opens something at start (listeners, loops,
 * descriptor budget, queues, the device, the store, the JIT engine).
 */
static const char *const live_keys[] = {
	"log.level",
	"websocket.cert",
	"websocket.key",
	"websocket.self_signed",
	"websocket.max_sessions_per_ip",
	"websocket.max_pending_per_ip",
	"websocket.idle_timeout",
	"websocket.initiations_per_second",
	"websocket.refused_close_after",
	"capture.initiations_per_second",
	"jit.token_file",
};
static const char *const cert_keys[] = { "websocket.cert", "websocket.key",
					 "websocket.self_signed" };

static void usage(FILE *f)
{
	fprintf(f, "usage: wssd [-c FILE] [--check-config] [-s section.key=value ...]\n"
		"       wssd --version | --help\n\n"
		"  -c, --config FILE     the configuration (default %s when it exists)\n"
		"  --check-config        check the configuration and certificate, then exit\n"
		"  -s, --set S.KEY=VALUE set one key after the file (repeatable)\n"
		"  -V, --version         print the version\n"
		"  -h, --help            print this\n\n"
		"See wssd(8); wssctl(8) talks to the running daemon.\n", CONFIG_DEFAULT_PATH);
}

static double cert_expiry(void *arg)
{
	const struct daemon *d = arg;

	return d->not_after ? (double)(d->not_after - (int64_t)time(NULL)) : 0.0;
}

static int load_config(struct wssd_config *cfg, const char *path, char **sets, int n_sets,
		       char *err, size_t errlen)
{
	int ret;

	config_defaults(cfg);
	if (path) {
		ret = config_load(cfg, path, err, errlen);
	} else {
		ret = config_load(cfg, CONFIG_DEFAULT_PATH, err, errlen);
		if (ret == -ENOENT)
			ret = 0;
	}
	if (ret < 0)
		return ret;
	for (int i = 0; i < n_sets; i++) {
		char *eq = strchr(sets[i], '=');

		if (!eq) {
			snprintf(err, errlen, "-s %s: expected section.key=value", sets[i]);
			return -EINVAL;
		}
		*eq = '\0';
		ret = config_set(cfg, sets[i], eq + 1, err, errlen);
		*eq = '=';
		if (ret < 0)
			return ret;
	}
	return config_finish(cfg, err, errlen);
}

/* Without configured files, checks the generated pair only if it exists yet. */
static int check_certs(const struct wssd_config *cfg, char *err, size_t errlen)
{
	char cert[PATH_MAX + 32], key[PATH_MAX + 32];
	struct stat st;

	if (!cfg->n_listen)
		return 0;
	if (cfg->cert[0])
		return certs_check_pair(cfg->cert, cfg->key, err, errlen);
	snprintf(cert, sizeof(cert), "%s/tls-cert.pem", cfg->state_dir);
	snprintf(key, sizeof(key), "%s/tls-key.pem", cfg->state_dir);
	if (stat(cert, &st) < 0 && stat(key, &st) < 0)
		return 0;
	return certs_check_pair(cert, key, err, errlen);
}

/* mkdir -p; the last directory is made with mode (0700 where keys live). */
static int make_dirs(const char *path, mode_t mode, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, c ? 0755 : mode) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "%s: cannot create: %s", buf, strerror(errno));
				return -errno;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* The state directory, and the database's directory when it is elsewhere. */
static int make_state_dirs(const struct wssd_config *cfg, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	int ret;

	ret = make_dirs(cfg->state_dir, 0700, err, errlen);
	if (ret < 0 || strlen(cfg->store_path) >= sizeof(dir))
		return ret;
	strcpy(dir, cfg->store_path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return make_dirs(dir, 0700, err, errlen);
}

/* The control socket's directory, which others may traverse (the socket is 0600). */
static int make_socket_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct wssd_config *)0)->admin_socket)];
	char *slash;

	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return make_dirs(dir, 0755, err, errlen);
}

/*
 * What a new user needs next: the key clients put in their config, the URL
 * they dial, and the command that makes them one.
 */
static void log_next_steps(const struct daemon *d)
{
	const struct wssd_config *cfg = &d->cfg;
	char b64[WG_KEY_B64_LEN], url[320], suggest[ALLOWEDIP_STRLEN] = "ADDRESS/32";
	uint8_t key[WG_KEY_LEN];

	pipeline_public_key(d->pl, key);
	key_to_base64(b64, key);
	config_client_url(cfg, url, sizeof(url));
	if (cfg->n_addresses && cfg->addresses[0].family == AF_INET &&
	    cfg->addresses[0].cidr < 31) {
		struct wg_allowedip next = cfg->addresses[0];

		next.ip4.s_addr = htonl(ntohl(next.ip4.s_addr) + 1);
		next.cidr = 32;
		allowedip_format(&next, suggest, sizeof(suggest));
	}
	log_info("event=gateway_ready interface=%s public_key=%s url=%s "
		 "next=\"wssctl peer new %s\"", cfg->interface, b64, url, suggest);
}

static int prepare_certs(struct daemon *d, char *err, size_t errlen)
{
	const struct wssd_config *cfg = &d->cfg;
	int ret;

	if (!cfg->cert[0] && cfg->self_signed != TRISTATE_NO) {
		ret = make_dirs(cfg->state_dir, 0700, err, errlen);
		if (ret < 0)
			return ret;
	}

	ret = certs_prepare(cfg->cert[0] ? cfg->cert : NULL, cfg->key[0] ? cfg->key : NULL,
			    cfg->state_dir, cfg->self_signed != TRISTATE_NO, d->cert,
			    sizeof(d->cert), d->key, sizeof(d->key), err, errlen);
	if (ret < 0)
		return ret;
	return certs_not_after(d->cert, &d->not_after, err, errlen);
}

/* What the daemon reads or writes as admin.user, checked once it is. */
static int check_access(const char *key, const char *path, int mode, const char *user, char *err,
			size_t errlen)
{
	if (access(path, mode) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s is not %s by admin.user \"%s\": %s", key, path,
		 mode == R_OK ? "readable" : "writable", user, strerror(errno));
	return -EACCES;
}

/*
 * After setup, before any thread starts (capabilities are per thread):
 * the state directory and the store become admin.user's, a userspace
 * WireGuard's UAPI socket (root's, connected to for each request) gets a
 * helper that connects for the daemon (privs.h), then the privileges go.
 * What SIGHUP and the JIT pipeline still open is checked at once, so what
 * the user cannot reach stops the start, not a reload.
 */
static int drop_privileges(struct daemon *d, char *err, size_t errlen)
{
	const struct wssd_config *cfg = &d->cfg;
	const char *user = cfg->admin_user;
	static const char *const store_files[] = { "", "-wal", "-shm" };
	char path[PATH_MAX + 8], dir[PATH_MAX], *slash;
	struct stat st;
	bool uapi;
	int ret = 0;

	if (!user[0])
		return 0;
	if (stat(cfg->state_dir, &st) == 0)
		ret = privs_give(user, cfg->state_dir, true, err, errlen);
	for (size_t i = 0; ret == 0 && i < sizeof(store_files) / sizeof(store_files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->store_path, store_files[i]);
		if (stat(path, &st) == 0)
			ret = privs_give(user, path, false, err, errlen);
	}
	uapi = d->pl && cfg->backend != BACKEND_NETLINK && stat(cfg->uapi_socket, &st) == 0 &&
	       S_ISSOCK(st.st_mode);
	if (ret == 0 && uapi) {
		ret = privs_uapi_helper(cfg->uapi_socket, err, errlen);
		if (ret == 0)
			wgdev_set_uapi_connector(privs_uapi_connect, NULL);
	}
	if (ret == 0)
		ret = privs_drop(user, err, errlen);
	if (ret < 0)
		return ret;
	log_info("event=privileges_dropped user=%s uid=%u gid=%u kept=cap_net_admin", user,
		 (unsigned)getuid(), (unsigned)getgid());
	if (cfg->n_listen && ((ret = check_access("websocket.cert", d->cert, R_OK, user, err,
						  errlen)) < 0 ||
			      (ret = check_access("websocket.key", d->key, R_OK, user, err,
						  errlen)) < 0))
		return ret;
	snprintf(dir, sizeof(dir), "%s", cfg->store_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if (d->pl && (ret = check_access("store.path", dir, W_OK, user, err, errlen)) < 0)
		return ret;
	/* A reload reads these as the user: a start that cannot is told so, and goes on. */
	if (access(d->config_path ? d->config_path : CONFIG_DEFAULT_PATH, R_OK) < 0 &&
	    (d->config_path || errno != ENOENT))
		log_warn("event=reload_cannot_read file=%s user=%s what=configuration",
			 d->config_path ? d->config_path : CONFIG_DEFAULT_PATH, user);
	if (d->pl && cfg->token_file[0] && strcmp(cfg->control_plane, "local") &&
	    access(cfg->token_file, R_OK) < 0)
		log_warn("event=reload_cannot_read file=%s user=%s what=jit.token_file",
			 cfg->token_file, user);
	if (uapi) {
		int fd = privs_uapi_connect(cfg->uapi_socket, NULL);

		if (fd < 0) {
			snprintf(err, errlen, "gateway.uapi_socket: %s: its helper cannot connect: %s",
				 cfg->uapi_socket, strerror(-fd));
			return fd;
		}
		close(fd);
	}
	return 0;
}

/* A pair that does not load leaves the served one, its paths and its expiry. */
static int reload_certs(struct daemon *d, char *err, size_t errlen)
{
	char q[600], cert[PATH_MAX], key[PATH_MAX];
	int64_t not_after = d->not_after;
	int ret;

	memcpy(cert, d->cert, sizeof(cert));
	memcpy(key, d->key, sizeof(key));
	ret = prepare_certs(d, err, errlen);
	if (ret == 0)
		ret = transport_reload_cert(d->t, d->cert, d->key, err, errlen);
	if (ret < 0) {
		memcpy(d->cert, cert, sizeof(cert));
		memcpy(d->key, key, sizeof(key));
		d->not_after = not_after;
		log_warnx("event=cert_reload_failed error=%s", log_quote(q, sizeof(q), err));
		return ret;
	}
	log_info("event=cert_reloaded cert=%s not_after=%lld expires_in=%lld", d->cert,
		 (long long)d->not_after, (long long)(d->not_after - (int64_t)time(NULL)));
	return 0;
}

static bool is_live(const char *key)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (!strcmp(live_keys[i], key))
			return true;
	return false;
}

/* One key whose value the file changed. */
struct change {
	const char *key;	/* the key table's own string */
	char *from, *to;
	bool live;
	char *kept_because;	/* live, but the running value stays: why */
};

/* What a reload found: the changes, then lines for wssctl and the log. */
struct reload_report {
	char *text;
	size_t len, used;
	struct change changes[CONFIG_MAX_KEYS];
	unsigned n;
	bool no_memory;
	char outcomes[2048];	/* of the token and the certificate, after the changes */
	const struct wssd_config *next;
	struct daemon *d;
};

static void __attribute__((format(printf, 2, 3))) report(struct reload_report *r,
							 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->used >= r->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->text + r->used, r->len - r->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->used += (size_t)n < r->len - r->used ? (size_t)n : r->len - r->used - 1;
}

static void on_change(void *arg, const char *key, const char *from, const char *to)
{
	struct reload_report *r = arg;
	struct change *c = &r->changes[r->n];

	c->key = key;
	c->from = strdup(from);
	c->to = strdup(to);
	if (!c->from || !c->to) {
		free(c->from);
		free(c->to);
		r->no_memory = true;
		return;
	}
	c->live = is_live(key);
	if (c->live)
		config_copy_key(&r->d->cfg, r->next, key);
	r->n++;
}

/* A live key that could not take its new value: back to the running one. */
static void keep_running(struct reload_report *r, const struct wssd_config *old, const char *key,
			 const char *why)
{
	for (unsigned i = 0; i < r->n; i++) {
		struct change *c = &r->changes[i];

		if (strcmp(c->key, key) || c->kept_because)
			continue;
		config_copy_key(&r->d->cfg, old, key);
		c->kept_because = strdup(why);
		if (!c->kept_because)
			r->no_memory = true;
	}
}

static void __attribute__((format(printf, 2, 3))) outcome(struct reload_report *r,
							  const char *fmt, ...)
{
	size_t n = strlen(r->outcomes);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->outcomes + n, sizeof(r->outcomes) - n, fmt, ap);
	va_end(ap);
}

static void list_add(char *list, size_t size, const char *key)
{
	size_t n = strlen(list);

	snprintf(list + n, size - n, "%s%s", n ? "," : "", key);
}

/* The report's lines and the log's, once every step is done. */
static void report_changes(struct reload_report *r)
{
	char applied[1024] = "", restart[1024] = "", kept[512] = "", q1[600], q2[600];

	for (unsigned i = 0; i < r->n; i++) {
		struct change *c = &r->changes[i];

		if (c->live && !c->kept_because) {
			list_add(applied, sizeof(applied), c->key);
			report(r, "applied %s = %s (was %s)\n", c->key, c->to, c->from);
		} else if (c->live) {
			list_add(kept, sizeof(kept), c->key);
			report(r, "not applied %s = %s (running %s): %s\n", c->key, c->to, c->from,
			       c->kept_because);
		} else {
			list_add(restart, sizeof(restart), c->key);
			report(r, "restart needed %s = %s (running %s)\n", c->key, c->to, c->from);
			log_warnx("event=config_restart_needed key=%s file=%s running=%s", c->key,
				  log_quote(q1, sizeof(q1), c->to), log_quote(q2, sizeof(q2), c->from));
		}
		free(c->from);
		free(c->to);
		free(c->kept_because);
	}
	if (r->no_memory)
		report(r, "some changes are missing here: no memory\n");
	report(r, "%s", r->outcomes);
	log_info("event=config_reloaded applied=%s restart_needed=%s not_applied=%s",
		 applied[0] ? applied : "none", restart[0] ? restart : "none",
		 kept[0] ? kept : "none");
}

static void apply_live(struct reload_report *r)
{
	struct daemon *d = r->d;
	const struct wssd_config *cfg = &d->cfg;
	struct transport_limits l = {
		.max_sessions_per_ip = cfg->max_sessions_per_ip,
		.max_pending_per_ip = cfg->max_pending_per_ip,
		.idle_timeout = cfg->idle_timeout,
	};

	log_set_level((enum log_level)cfg->log_level);
	transport_log_level_changed();
	transport_set_limits(d->t, &l);
	if (l.max_pending_per_ip < cfg->max_pending_per_ip)
		outcome(r, "websocket.max_pending_per_ip: %u in effect, all the descriptor budget "
			"leaves connections not yet upgraded\n", l.max_pending_per_ip);
	if (d->pl && pipeline_set_limits(d->pl, cfg) < 0)
		log_warnx("event=capture_rate_refused rate=%u", cfg->capture_initiations_per_second);
}

/* The HTTP control plane's token, read again at each reload (the file's path may be the same). */
static void reload_token(struct reload_report *r, const struct wssd_config *old)
{
	struct daemon *d = r->d;
	const char *file = d->cfg.token_file;
	char err[PATH_MAX + 128], q[PATH_MAX + 160];

	if (pipeline_reload_token(d->pl, file, err, sizeof(err)) < 0) {
		keep_running(r, old, "jit.token_file", err);
		log_warnx("event=token_reload_failed error=%s", log_quote(q, sizeof(q), err));
		outcome(r, "token not reloaded, the running one stays: %s\n", err);
		return;
	}
	log_info("event=token_reloaded file=%s", file[0] ? file : "none");
	outcome(r, "token %s\n", file[0] ? "read again" : "none (jit.token_file is empty)");
}

static void reload_certs_report(struct reload_report *r, const struct wssd_config *old)
{
	struct daemon *d = r->d;
	char err[1024], when[32];
	time_t until;

	if (reload_certs(d, err, sizeof(err)) < 0) {
		for (size_t i = 0; i < sizeof(cert_keys) / sizeof(cert_keys[0]); i++)
			keep_running(r, old, cert_keys[i], err);
		outcome(r, "certificate not reloaded, the running one stays: %s\n", err);
		return;
	}
	until = (time_t)d->not_after;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&until));
	outcome(r, "certificate %s, valid until %s\n", d->cert, when);
}

/*
 * SIGHUP and wssctl reload, on the first loop's thread: the file (and the
 * -s flags) read again and checked whole; the keys that can change live
 * take their new values, the others are named; then the certificate is
 * loaded again, from the new paths if they changed, and so is an HTTP
 * control plane's token (what does not load keeps the running one). A
 * file that does not load changes nothing, and the certificate is still
 * loaded again from the running paths. 0, or -errno with one line in out
 * saying why.
 */
static int reload(void *arg, char *out, size_t outlen)
{
	struct daemon *d = arg;
	struct wssd_config *next = malloc(sizeof(*next)), *old = malloc(sizeof(*old));
	struct reload_report *r = calloc(1, sizeof(*r));
	char err[1024], q[1100];
	int ret;

	out[0] = '\0';
	if (!next || !old || !r) {
		ret = -ENOMEM;
		snprintf(out, outlen, "no memory");
		goto out;
	}
	*r = (struct reload_report){ .text = out, .len = outlen, .next = next, .d = d };
	ret = load_config(next, d->config_path, d->sets, d->n_sets, err, sizeof(err));
	if (ret < 0) {
		log_warnx("event=config_reload_failed error=%s", log_quote(q, sizeof(q), err));
		report(r, "the configuration did not load, nothing changed: %s", err);
		if (d->cfg.n_listen && reload_certs(d, err, sizeof(err)) == 0)
			report(r, " (the certificate was loaded again)");
		else if (d->cfg.n_listen)
			report(r, " (the certificate did not load either: %s)", err);
		goto out;
	}
	*old = d->cfg;
	config_each_change(old, next, on_change, r);
	apply_live(r);
	if (d->pl && strcmp(d->cfg.control_plane, "local"))
		reload_token(r, old);
	if (d->cfg.n_listen)
		reload_certs_report(r, old);
	report_changes(r);
out:
	free(r);
	free(next);
	free(old);
	return ret;
}

static void on_signal(void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP: {
			char report_text[CTL_REPORT_MAX];

			notify_systemd("RELOADING=1");
			reload(d, report_text, sizeof(report_text));
			notify_systemd("READY=1");
			break;
		}
		case SIGTERM:
		case SIGINT:
			log_info("event=signal signal=%s", si.ssi_signo == SIGTERM ? "TERM" : "INT");
			notify_systemd("STOPPING=1");
			transport_shutdown(d->t, SHUTDOWN_GRACE);
			break;
		}
	}
}

static int listeners(const struct wssd_config *cfg, struct transport_listener *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->n_listen; i++)
		out[n++] = (struct transport_listener){ cfg->listen[i].host, cfg->listen[i].port, true };
	for (unsigned i = 0; i < cfg->n_plain_listen; i++)
		out[n++] = (struct transport_listener){ cfg->plain_listen[i].host,
							cfg->plain_listen[i].port, false };
	return (int)n;
}

/* websocket.threads, or one loop per core (at most TRANSPORT_MAX_THREADS). */
static unsigned event_loops(const struct wssd_config *cfg)
{
	long n = cfg->threads ? (long)cfg->threads : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > TRANSPORT_MAX_THREADS ? TRANSPORT_MAX_THREADS : (unsigned)n;
}

static int run(struct daemon *d)
{
	struct transport_listener ls[2 * CONFIG_MAX_LISTEN];
	struct transport_params p;
	sigset_t mask;
	char err[512], q[600];
	int ret;

	if (d->cfg.n_listen) {
		ret = prepare_certs(d, err, sizeof(err));
		if (ret < 0) {
			log_error("event=startup_failed error=%s", log_quote(q, sizeof(q), err));
			return 1;
		}
		log_info("event=tls_certificate cert=%s not_after=%lld expires_in=%lld", d->cert,
			 (long long)d->not_after, (long long)(d->not_after - (int64_t)time(NULL)));
	}
	metric_gauge_fn("wssd_tls_cert_expiry_seconds",
			"Seconds until the served TLS certificate's notAfter (negative: expired)",
			cert_expiry, d);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0)
		fatal("event=signalfd_failed");

	memset(&p, 0, sizeof(p));
	p.listeners = ls;
	p.n_listeners = (unsigned)listeners(&d->cfg, ls);
	p.cert = d->cert;
	p.key = d->key;
	p.wg_host = d->cfg.wg_address;
	p.wg_port = d->cfg.wg_port;
	p.max_sessions = d->cfg.max_sessions;
	p.max_sessions_per_ip = d->cfg.max_sessions_per_ip;
	p.idle_timeout = d->cfg.idle_timeout;
	p.handshake_timeout = d->cfg.handshake_timeout;
	p.max_pending = d->cfg.max_pending;
	p.max_pending_per_ip = d->cfg.max_pending_per_ip;
	p.send_queue = d->cfg.send_queue;
	p.hold_queue = d->cfg.hold_queue;
	p.hold_timeout = d->cfg.hold_timeout;
	p.threads = event_loops(&d->cfg);
	p.admin_protocols = admin_protocols();
	p.admin_host = d->cfg.admin_listen.host;
	p.admin_port = d->cfg.admin_listen.port;
	p.admin_user = &d->admin;
	d->admin.started = time(NULL);
	if (d->cfg.admin_socket[0]) {
		ret = make_socket_dir(d->cfg.admin_socket, err, sizeof(err));
		if (ret < 0) {
			log_error("event=startup_failed error=%s", log_quote(q, sizeof(q), err));
			return 1;
		}
		p.ctl_protocols = ctl_protocols();
		p.ctl_path = d->cfg.admin_socket;
		p.ctl_user = &d->ctl;
	}

	if (d->cfg.jit_enabled) {
		ret = make_state_dirs(&d->cfg, err, sizeof(err));
		if (ret == 0)
			ret = pipeline_new(&d->pl, &d->cfg, err, sizeof(err));
		if (ret < 0) {
			log_error("event=startup_failed error=%s", log_quote(q, sizeof(q), err));
			return 1;
		}
	}
	ret = transport_create(&p, &d->t);
	if (ret < 0) {
		log_error("event=startup_failed error=\"cannot start the listeners\"");
		pipeline_free(d->pl);
		return 1;
	}
	d->admin.t = d->t;
	ret = transport_watch_fd(d->t, d->sigfd, on_signal, d);
	if (ret < 0)
		fatalx("event=startup_failed error=\"cannot watch signals\"");
	ret = drop_privileges(d, err, sizeof(err));
	if (ret < 0) {
		log_error("event=startup_failed error=%s", log_quote(q, sizeof(q), err));
		transport_destroy(d->t);
		pipeline_free(d->pl);
		return 1;
	}
	if (d->pl) {
		ret = 0;
		for (unsigned i = 0; i < transport_loops(d->t) && ret == 0; i++)
			ret = pipeline_attach(d->pl, transport_loop(d->t, i));
		if (ret == 0)
			ret = pipeline_start(d->pl);
		if (ret < 0) {
			errno = -ret;
			fatal("event=startup_failed error=\"cannot start the JIT pipeline\"");
		}
	}
	d->ctl.reload = reload;
	d->ctl.reload_arg = d;
	ctl_attach(&d->ctl, d->t, d->pl, d->admin.started);
	log_info("event=started version=%s wg=%s:%u", WSSD_VERSION, d->cfg.wg_address,
		 d->cfg.wg_port);
	ret = notify_systemd("READY=1");
	if (ret < 0) {
		errno = -ret;
		log_warn("event=notify_failed");
	}
	if (d->pl)
		log_next_steps(d);
	ret = transport_run(d->t);
	transport_destroy(d->t);	/* closes the watched signalfd too */
	pipeline_free(d->pl);
	log_info("event=stopped");
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "set", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon d;
	const char *path = NULL;
	char **sets = calloc((size_t)argc + 1, sizeof(char *));
	char err[1024], q[1100];
	int n_sets = 0, check = 0, c, ret;

	if (!sets)
		return 1;
	while ((c = getopt_long(argc, argv, "c:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 's':
			sets[n_sets++] = optarg;
			break;
		case 'V':
			printf("wssd %s\n", WSSD_VERSION);
			free(sets);
			return 0;
		case 'h':
			usage(stdout);
			free(sets);
			return 0;
		default:
			usage(stderr);
			free(sets);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		free(sets);
		return 2;
	}
	log_init(LOG_LEVEL_INFO, false);
	d.config_path = path;
	d.sets = sets;
	d.n_sets = n_sets;
	ret = load_config(&d.cfg, path, sets, n_sets, err, sizeof(err));
	if (ret == 0 && check)
		ret = check_certs(&d.cfg, err, sizeof(err));
	if (ret < 0) {
		if (check)
			fprintf(stderr, "wssd: %s\n", err);
		log_error("event=config_error error=%s", log_quote(q, sizeof(q), err));
		free(sets);
		return 1;
	}
	if (check) {
		printf("%s: ok\n", path ? path : CONFIG_DEFAULT_PATH);
		free(sets);
		return 0;
	}
	log_set_level((enum log_level)d.cfg.log_level);
	ret = run(&d);
	metrics_free();
	free(sets);
	return ret;
}
