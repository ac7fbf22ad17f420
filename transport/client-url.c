/* What a client needs before it connects: the URL and a TLS context. */
#include "transport/client.h"
#include "common/addr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

int ws_url_parse(const char *text, struct ws_url *u, char *err, size_t errlen)
{
	const char *authority, *path;
	uint16_t port;

	memset(u, 0, sizeof(*u));
	if (!strncasecmp(text, "wss://", 6)) {
		u->tls = true;
		authority = text + 6;
	} else if (!strncasecmp(text, "ws://", 5)) {
		authority = text + 5;
	} else {
		snprintf(err, errlen, "%s: URL must start with wss:// or ws://", text);
		return -EINVAL;
	}
	port = u->tls ? 443 : 80;
	if (strlen(text) >= sizeof(u->origin) ||
	    addr_split(authority, u->host, sizeof(u->host), &port, 1, &path) < 0 ||
	    port == 0 || strchr(u->host, '@') || (*path && *path != '/'))
		goto bad;
	if (!*path)
		path = "/";
	if (strlen(path) >= sizeof(u->path) || strpbrk(path, " \r\n"))
		goto bad;
	snprintf(u->port, sizeof(u->port), "%u", port);
	strcpy(u->path, path);
	strcpy(u->origin, text);
	return 0;
bad:
	snprintf(err, errlen, "%.200s: not a valid ws:// or wss:// URL", text);
	return -EINVAL;
}

SSL_CTX *ws_ssl_ctx(bool insecure, const char *ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	if (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 :
		 SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "%s: cannot load CA certificates", ca ? ca : "system store");
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

